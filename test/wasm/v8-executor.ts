/**
 * The reference executor: Node's own WebAssembly (V8). Each command runs as
 * it comes, against a fresh `spectest` module and registry per script.
 *
 * Calls go through a generated wrapper module that imports the export and
 * re-exports it with every f32/f64 parameter and result reinterpreted as
 * i32/i64, so floats cross into JS as integers and no NaN is quieted on the
 * way. Float globals are read the same way.
 */
import { encodeModule, EXTERNREF, F32, F64, FUNCREF, I32, I64, uleb } from '../../tools/wasm2x64/wasm/builder.js';
import type { Executor, Outcome } from './executor.js';
import { type Action, type Command, readModule, resultTypes, type Script } from './spec.js';
import type { TypeName, Value } from './values.js';

const CODE: Record<TypeName, number> = { i32: I32, i64: I64, f32: F32, f64: F64, funcref: FUNCREF, externref: EXTERNREF };
/** What a type crosses the JS boundary as: floats as their bits. */
const CARRIER: Record<TypeName, number> = { i32: I32, i64: I64, f32: I32, f64: I64, funcref: FUNCREF, externref: EXTERNREF };
const REINTERPRET_IN: Partial<Record<TypeName, number>> = { f32: 0xbe, f64: 0xbf }; // f32.reinterpret_i32, f64.reinterpret_i64
const REINTERPRET_OUT: Partial<Record<TypeName, number>> = { f32: 0xbc, f64: 0xbd }; // i32.reinterpret_f32, i64.reinterpret_f64

const wrappers = new Map<string, WebAssembly.Module>();

/** `(import "m" "f" (func P -> R))` re-exported as "w" with floats as bits. */
function callWrapper(params: readonly TypeName[], results: readonly TypeName[]): WebAssembly.Module {
  const key = `${params.join()}->${results.join()}`;
  let mod = wrappers.get(key);
  if (mod) return mod;
  const code: number[] = [];
  params.forEach((t, i) => code.push(0x20, ...uleb(i), ...(REINTERPRET_IN[t] ? [REINTERPRET_IN[t]!] : [])));
  code.push(0x10, 0);
  // The results are on the stack last-on-top; park them in locals to convert each.
  for (let i = results.length - 1; i >= 0; i--) code.push(0x21, ...uleb(params.length + i));
  results.forEach((t, i) => code.push(0x20, ...uleb(params.length + i), ...(REINTERPRET_OUT[t] ? [REINTERPRET_OUT[t]!] : [])));
  mod = new WebAssembly.Module(encodeModule({
    types: [[params.map((t) => CODE[t]), results.map((t) => CODE[t])], [params.map((t) => CARRIER[t]), results.map((t) => CARRIER[t])]],
    imports: [{ module: 'm', name: 'f', desc: [0x00, 0] }],
    funcs: [1],
    exports: [{ name: 'w', kind: 0, index: 1 }],
    bodies: [{ locals: results.map((t) => [1, CODE[t]] as [number, number]), code }],
  }));
  wrappers.set(key, mod);
  return mod;
}

/** Reads a float global as bits; the import must state mutability, so both are tried. */
function floatGlobalBits(g: WebAssembly.Global, type: 'f32' | 'f64'): bigint {
  for (const mutable of [0, 1]) {
    const mod = new WebAssembly.Module(encodeModule({
      types: [[[], [CARRIER[type]]]],
      imports: [{ module: 'm', name: 'g', desc: [0x03, CODE[type], mutable] }],
      funcs: [0],
      exports: [{ name: 'r', kind: 0, index: 0 }],
      bodies: [{ code: [0x23, 0, REINTERPRET_OUT[type]!] }],
    }));
    try {
      const r = new WebAssembly.Instance(mod, { m: { g } }).exports.r as () => number | bigint;
      return BigInt.asUintN(type === 'f32' ? 32 : 64, BigInt(r()));
    } catch (e) {
      if (!(e instanceof WebAssembly.LinkError)) throw e;
    }
  }
  throw new Error('global matches neither mutability');
}

/** The `spectest` module every script may import from (spec interpreter's host module). */
function spectest(): Record<string, unknown> {
  const nop = (): void => {};
  return {
    print: nop, print_i32: nop, print_i64: nop, print_f32: nop, print_f64: nop, print_i32_f32: nop, print_f64_f64: nop,
    global_i32: new WebAssembly.Global({ value: 'i32' }, 666),
    global_i64: new WebAssembly.Global({ value: 'i64' }, 666n),
    global_f32: new WebAssembly.Global({ value: 'f32' }, 666.6),
    global_f64: new WebAssembly.Global({ value: 'f64' }, 666.6),
    table: new WebAssembly.Table({ initial: 10, maximum: 20, element: 'anyfunc' }),
    memory: new WebAssembly.Memory({ initial: 1, maximum: 2 }),
  };
}

/** One script's state: registered modules, named instances, the current one. */
class Session {
  private readonly registry = new Map<string, Record<string, unknown>>([['spectest', spectest()]]);
  private readonly named = new Map<string, WebAssembly.Instance>();
  private current: WebAssembly.Instance | null = null;
  /** Host references (`ref.extern n`) are objects, one per number. */
  private readonly hostRefs = new Map<number, object>();
  private readonly hostIds = new Map<object, number>();

  execute(cmd: Command): Outcome {
    switch (cmd.kind) {
      case 'module': {
        const out = this.instantiate(readModule(cmd.module));
        if (out instanceof WebAssembly.Instance) {
          this.current = out;
          if (cmd.name) this.named.set(cmd.name, out);
          return { kind: 'ok' };
        }
        return out;
      }
      case 'register': {
        const inst = cmd.name ? this.named.get(cmd.name) : this.current;
        if (!inst) return { kind: 'error', message: `no module ${cmd.name ?? '(current)'}` };
        this.registry.set(cmd.as, inst.exports as Record<string, unknown>);
        return { kind: 'ok' };
      }
      case 'action':
      case 'assert_return':
      case 'assert_trap':
      case 'assert_exhaustion':
        return this.perform(cmd.action, resultTypes(cmd));
      default: {
        const out = this.instantiate(readModule(cmd.module));
        return out instanceof WebAssembly.Instance ? { kind: 'ok' } : out;
      }
    }
  }

  private instantiate(bytes: Uint8Array<ArrayBuffer>): WebAssembly.Instance | Outcome {
    let mod: WebAssembly.Module;
    try {
      mod = new WebAssembly.Module(bytes);
    } catch (e) {
      return e instanceof WebAssembly.CompileError ? { kind: 'rejected', stage: 'compile', message: e.message } : error(e);
    }
    const imports: Record<string, Record<string, unknown>> = {};
    for (const { module, name } of WebAssembly.Module.imports(mod)) {
      imports[module] ??= {};
      imports[module][name] = this.registry.get(module)?.[name];
    }
    try {
      return new WebAssembly.Instance(mod, imports as WebAssembly.Imports);
    } catch (e) {
      if (e instanceof WebAssembly.LinkError) return { kind: 'rejected', stage: 'link', message: e.message };
      if (e instanceof WebAssembly.RuntimeError) return { kind: 'rejected', stage: 'instantiate', message: e.message };
      return error(e);
    }
  }

  private perform(a: Action, types: readonly TypeName[]): Outcome {
    const inst = a.module ? this.named.get(a.module) : this.current;
    if (!inst) return { kind: 'error', message: `no module ${a.module ?? '(current)'} to act on` };
    const target = inst.exports[a.field];
    if (target === undefined) return { kind: 'error', message: `no export ${JSON.stringify(a.field)}` };
    if (a.kind === 'get') {
      const g = target as WebAssembly.Global;
      const t = types[0];
      if (t === 'f32' || t === 'f64') return { kind: 'values', values: [{ type: t, bits: floatGlobalBits(g, t) }] };
      return { kind: 'values', values: [this.fromJs(t, g.value)] };
    }
    try {
      const wrap = new WebAssembly.Instance(callWrapper(a.args.map((v) => v.type), types), { m: { f: target } });
      const r = (wrap.exports.w as (...args: unknown[]) => unknown)(...a.args.map((v) => this.toJs(v)));
      const list = types.length === 1 ? [r] : types.length === 0 ? [] : (r as unknown[]);
      return { kind: 'values', values: types.map((t, i) => this.fromJs(t, list[i])) };
    } catch (e) {
      if (e instanceof WebAssembly.RuntimeError) return { kind: 'trap', message: e.message };
      if (e instanceof RangeError) return { kind: 'exhaustion', message: e.message };
      return error(e);
    }
  }

  private toJs(v: Value): unknown {
    if ('bits' in v) return v.type === 'i32' || v.type === 'f32' ? Number(BigInt.asIntN(32, v.bits)) : BigInt.asIntN(64, v.bits);
    if (v.ref === null) return null;
    if (v.type === 'funcref') throw new Error('a non-null funcref argument cannot be written in a script');
    let obj = this.hostRefs.get(v.ref as number);
    if (!obj) {
      obj = { hostRef: v.ref };
      this.hostRefs.set(v.ref as number, obj);
      this.hostIds.set(obj, v.ref as number);
    }
    return obj;
  }

  private fromJs(t: TypeName, x: unknown): Value {
    switch (t) {
      case 'i32': case 'f32': return { type: t, bits: BigInt.asUintN(32, BigInt(x as number)) };
      case 'i64': case 'f64': return { type: t, bits: BigInt.asUintN(64, BigInt(x as bigint)) };
      case 'funcref': return { type: t, ref: x === null ? null : 'func' };
      case 'externref': return { type: t, ref: x === null ? null : this.hostIds.get(x as object) ?? -1 };
    }
  }
}

function error(e: unknown): Outcome {
  return { kind: 'error', message: e instanceof Error ? `${e.name}: ${e.message}` : String(e) };
}

export const v8Executor: Executor = {
  name: `V8 ${process.versions.v8} (Node ${process.versions.node})`,

  /**
   * A script whose valid modules V8 refuses needs a feature this Node lacks;
   * running it would only report V8's gap as failures.
   */
  cannotRun(script: Script): string | null {
    for (const c of script.commands) {
      if (c.kind !== 'module') continue;
      try {
        new WebAssembly.Module(readModule(c.module));
      } catch (e) {
        return `V8 refuses the valid module at line ${c.line}: ${(e as Error).message}`;
      }
    }
    return null;
  },

  async run(script: Script): Promise<Outcome[]> {
    const s = new Session();
    return script.commands.map((c) => ('module' in c && c.module.format === 'text'
      ? { kind: 'skipped', reason: 'text-format module' }
      : s.execute(c)));
  },
};

/**
 * The compiler's executor: a whole spec script becomes one linux-user
 * program — every module compiled (labels prefixed by its command number,
 * imports resolved to the exporting module's labels), and a generated driver
 * that performs the commands in order and prints one line per command:
 *
 *   K ok                 a module instantiated
 *   K v HEX HEX...       an invocation's results (16 hex digits each, raw bits)
 *   K trap KIND FUNC     a trap (the runtime resumes the driver after it)
 *
 * The same ELF runs natively and under `emu run`; what the driver never
 * printed (a crash) becomes an `error` outcome with the exit status.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { assemble } from '../../tools/asm/index.js';
import { compileModule, type Extern, LinkError, TypeIds } from '../../tools/wasm2x64/codegen/module.js';
import { UnsupportedError } from '../../tools/wasm2x64/codegen/func.js';
import { Trap } from '../../tools/wasm2x64/codegen/ops.js';
import { runtime } from '../../tools/wasm2x64/codegen/runtime.js';
import { linuxElf, ORIGIN } from '../../tools/wasm2x64/elf/writer.js';
import { parseModule, ValType, type FuncType } from '../../tools/wasm2x64/wasm/index.js';
import type { Executor, Outcome } from './executor.js';
import { type Action, readModule, resultTypes, type Script } from './spec.js';
import type { TypeName, Value } from './values.js';

const ROOT = process.env.DAMSELFLY_ROOT ?? path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

type Exports = ReadonlyMap<string, Extern> | { skip: string };

/** How to read command K's line, or its outcome when the driver prints nothing for it. */
type Plan =
  | { kind: 'fixed'; outcome: Outcome }
  | { kind: 'instantiate'; asRejection: boolean }
  | { kind: 'invoke'; types: readonly TypeName[] };

export interface Built {
  readonly elf: Uint8Array | null;
  readonly plans: readonly Plan[];
  /** Why the whole script could not be assembled, if it could not. */
  readonly error: string | null;
}

const I32 = ValType.I32, I64 = ValType.I64, F32 = ValType.F32, F64 = ValType.F64;
const f32Bits = (x: number): number => new Uint32Array(new Float32Array([x]).buffer)[0];
const f64Bits = (x: number): bigint => new BigUint64Array(new Float64Array([x]).buffer)[0];
const fn = (params: ValType[], results: ValType[] = []): Extern => ({ kind: 'func', label: '__nop', type: { params, results } });

/** The spec interpreter's host module, as the driver's data. */
function spectest(): { exports: Map<string, Extern>; data: string } {
  const exports = new Map<string, Extern>([
    ['print', fn([])], ['print_i32', fn([I32])], ['print_i64', fn([I64])], ['print_f32', fn([F32])], ['print_f64', fn([F64])],
    ['print_i32_f32', fn([I32, F32])], ['print_f64_f64', fn([F64, F64])],
    ['global_i32', { kind: 'global', cell: '__st_gi32', type: I32, mutable: false }],
    ['global_i64', { kind: 'global', cell: '__st_gi64', type: I64, mutable: false }],
    ['global_f32', { kind: 'global', cell: '__st_gf32', type: F32, mutable: false }],
    ['global_f64', { kind: 'global', cell: '__st_gf64', type: F64, mutable: false }],
    ['table', { kind: 'table', obj: '__st_table', elem: ValType.FuncRef, size: 10, max: 20 }],
    ['memory', { kind: 'memory', obj: '__st_mem', min: 1, max: 2 }],
  ]);
  const data = `__st_gi32: .quad 666\n__st_gi64: .quad 666\n__st_gf32: .quad ${f32Bits(666.6)}\n__st_gf64: .quad ${f64Bits(666.6)}
__st_table: .quad 0, 0, 0\n__st_mem: .quad 0, 0, 0\n`;
  return { exports, data };
}

/**
 * The driver is the host, so it chooses what an externref is: `ref.extern N`
 * travels as N + 1, leaving 0 for null as in compiled code. A funcref result
 * is a pointer to a descriptor: only null or not is observable.
 */
const argBits = (v: Value): bigint => ('bits' in v ? v.bits : v.ref === null ? 0n : BigInt(v.ref as number) + 1n);
const readValue = (t: TypeName, bits: bigint): Value => {
  if (t === 'funcref') return { type: t, ref: bits === 0n ? null : 'func' };
  if (t === 'externref') return { type: t, ref: bits === 0n ? null : Number(bits - 1n) };
  return { type: t, bits: t === 'i32' || t === 'f32' ? BigInt.asUintN(32, bits) : bits };
};

export function buildScript(script: Script): Built {
  const types = new TypeIds();
  const st = spectest();
  const registry = new Map<string, Exports>([['spectest', st.exports]]);
  const named = new Map<string, Exports>();
  let current: Exports | null = null;
  const text: string[] = [];
  const data: string[] = [st.data];
  const main: string[] = ['__main:', '  lea rdi, [rip+__st_mem]', '  mov esi, 1', '  mov edx, 2', '  call __mem_new',
    '  lea rdi, [rip+__st_table]', '  mov esi, 10', '  mov edx, 20', '  call __table_new'];
  const e = (s: string): void => { main.push(`  ${s}`); };
  const plans: Plan[] = [];

  const resolver = (mod: string, name: string): Extern | null => {
    const r = registry.get(mod);
    if (!r) return null;
    if ('skip' in r) throw new UnsupportedError(`imports from a module that was skipped: ${r.skip}`);
    return (r as ReadonlyMap<string, Extern>).get(name) ?? null;
  };
  /** Compiles a module; its instantiation becomes a protected call in the driver. */
  const addModule = (k: number, bytes: Uint8Array): Exports | Outcome => {
    let m;
    try { m = parseModule(bytes); } catch (err) { return { kind: 'rejected', stage: 'compile', message: (err as Error).message }; }
    try {
      const c = compileModule(m, `M${k}_`, resolver, types);
      text.push(c.text);
      data.push(c.data);
      protectedCall(k, c.instantiate, { params: [], results: [] }, [], 'ok');
      return c.exports;
    } catch (err) {
      if (err instanceof LinkError) return { kind: 'rejected', stage: 'link', message: err.message };
      if (err instanceof UnsupportedError) return { kind: 'skipped', reason: err.message };
      throw err;
    }
  };
  function protectedCall(k: number, label: string, type: FuncType, args: readonly Value[], tag: 'ok' | 'v'): void {
    const n = Math.max(type.params.length, type.results.length);
    const room = 8 * (n + (n & 1));
    e(`mov edi, ${k}`);
    e('call __put_dec');
    e(`lea rax, [rip+.Lresume${k}]`);
    e('mov qword ptr [rip+__trap_resume], rax');
    e('mov qword ptr [rip+__trap_rsp], rsp');
    if (room) e(`sub rsp, ${room}`);
    args.forEach((v, i) => {
      e(`mov rax, ${argBits(v)}`);
      e(`mov qword ptr [rsp+${8 * i}], rax`);
    });
    e(`call ${label}`);
    e('mov qword ptr [rip+__trap_resume], 0');
    e(`lea rsi, [rip+__s_${tag}]`);
    e('call __put_str');
    for (let i = 0; i < type.results.length; i++) {
      e('lea rsi, [rip+__s_space]');
      e('call __put_str');
      e(`mov rdi, qword ptr [rsp+${8 * i}]`);
      e('call __put_hex');
    }
    if (room) e(`add rsp, ${room}`);
    e('lea rsi, [rip+__s_nl]');
    e('call __put_str');
    e('call __flush');
    main.push(`.Lresume${k}:`);
  }
  const target = (a: Action): Exports | null => (a.module ? named.get(a.module) ?? null : current);

  script.commands.forEach((c, k) => {
    const fixed = (outcome: Outcome): void => { plans.push({ kind: 'fixed', outcome }); };
    if ('module' in c && c.module.format === 'text') return fixed({ kind: 'skipped', reason: 'text-format module' });
    switch (c.kind) {
      case 'module': {
        const r = addModule(k, readModule(c.module));
        if ('kind' in r && typeof r.kind === 'string' && !(r instanceof Map)) {
          const o = r as Outcome;
          current = { skip: o.kind === 'skipped' ? o.reason : `module at line ${c.line} was ${o.kind}` };
          fixed(o);
        } else {
          current = r as Exports;
          plans.push({ kind: 'instantiate', asRejection: false });
        }
        if (c.name) named.set(c.name, current);
        return;
      }
      case 'register': {
        const x = c.name ? named.get(c.name) : current;
        if (!x) return fixed({ kind: 'error', message: 'no module to register' });
        registry.set(c.as, x);
        return fixed({ kind: 'ok' });
      }
      case 'assert_malformed': case 'assert_invalid':
        try {
          parseModule(readModule(c.module));
          return fixed({ kind: 'ok' });
        } catch (err) {
          return fixed({ kind: 'rejected', stage: 'compile', message: (err as Error).message });
        }
      case 'assert_unlinkable': case 'assert_uninstantiable': {
        const r = addModule(k, readModule(c.module));
        if (r instanceof Map) plans.push({ kind: 'instantiate', asRejection: true });
        else fixed(r as Outcome);
        return;
      }
      default: {
        const x = target(c.action);
        if (!x) return fixed({ kind: 'error', message: 'no module to act on' });
        if ('skip' in x) return fixed({ kind: 'skipped', reason: x.skip as string });
        const ex = (x as ReadonlyMap<string, Extern>).get(c.action.field);
        const rt = resultTypes(c);
        if (!ex) return fixed({ kind: 'error', message: `no export ${c.action.field}` });
        if (c.action.kind === 'get') {
          if (ex.kind !== 'global') return fixed({ kind: 'error', message: 'not a global' });
          e(`mov edi, ${k}`);
          e('call __put_dec');
          e('lea rsi, [rip+__s_v]');
          e('call __put_str');
          e('lea rsi, [rip+__s_space]');
          e('call __put_str');
          e(`mov rdi, qword ptr [rip+${ex.cell}]`);
          e('call __put_hex');
          e('lea rsi, [rip+__s_nl]');
          e('call __put_str');
          e('call __flush');
          plans.push({ kind: 'invoke', types: rt });
          return;
        }
        if (ex.kind !== 'func') return fixed({ kind: 'error', message: 'not a function' });
        protectedCall(k, ex.label, ex.type, c.action.args, 'v');
        plans.push({ kind: 'invoke', types: rt });
      }
    }
  });
  main.push('  ret');
  const src = `.intel_syntax noprefix
${runtime('__main')}
  .data
__s_ok: .asciz " ok"
__s_v: .asciz " v"
${data.join('')}
  .text
${main.join('\n')}
${text.join('')}
`;
  try {
    return { elf: linuxElf(assemble(src, { origin: ORIGIN, file: `${script.name}.s` })), plans, error: null };
  } catch (err) {
    return { elf: null, plans, error: (err as Error).message.split('\n')[0] };
  }
}

export interface RunResult { stdout: string; stderr: string; status: number | null }

/** Runs an ELF natively or under `node bin/emu.mjs run`. */
export function runElf(elf: Uint8Array, how: 'native' | 'emu'): Promise<RunResult> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wasm2x64-'));
  const file = path.join(dir, 'prog');
  fs.writeFileSync(file, elf, { mode: 0o755 });
  const [cmd, args] = how === 'native' ? [file, []] : [process.execPath, [path.join(ROOT, 'bin/emu.mjs'), 'run', file]];
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [], err: Buffer[] = [];
    p.stdout.on('data', (b: Buffer) => out.push(b));
    p.stderr.on('data', (b: Buffer) => err.push(b));
    p.on('close', (status) => {
      fs.rmSync(dir, { recursive: true, force: true });
      resolve({ stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString(), status });
    });
  });
}

/** The driver's lines mapped back to one outcome per command. */
export function outcomes(b: Built, r: RunResult): Outcome[] {
  const lines = new Map<number, string[]>();
  for (const l of r.stdout.split('\n')) {
    const w = l.split(' ');
    if (w.length >= 2 && /^\d+$/.test(w[0])) lines.set(Number(w[0]), w.slice(1));
  }
  const crash = `no output (status ${r.status}${r.stderr ? `, stderr: ${r.stderr.trim().split('\n').at(-1)}` : ''})`;
  return b.plans.map((p, k): Outcome => {
    if (p.kind === 'fixed') return p.outcome;
    if (b.error) return { kind: 'error', message: b.error };
    const w = lines.get(k);
    if (!w) return { kind: 'error', message: crash };
    if (w[0] === 'trap') {
      const kind = Number(w[1]);
      const message = `trap ${kind} in function ${w[2]}`;
      if (p.kind === 'instantiate') return { kind: 'rejected', stage: kind === Trap.Link ? 'link' : 'instantiate', message };
      return kind === Trap.Exhaustion ? { kind: 'exhaustion', message } : { kind: 'trap', message };
    }
    if (p.kind === 'instantiate') return { kind: 'ok' };
    const vals = w.slice(1).map((h) => BigInt(`0x${h}`));
    return { kind: 'values', values: p.types.map((t, i) => readValue(t, vals[i])) };
  });
}

export function x64Executor(how: 'native' | 'emu', cache = new Map<string, Built>()): Executor {
  return {
    name: `wasm2x64 ${how === 'native' ? 'natively' : 'under emu run'}`,
    cannotRun: () => null,
    async run(script) {
      let b = cache.get(script.name);
      if (!b) cache.set(script.name, b = buildScript(script));
      const r = b.elf ? await runElf(b.elf, how) : { stdout: '', stderr: b.error ?? '', status: null };
      return outcomes(b, r);
    },
  };
}

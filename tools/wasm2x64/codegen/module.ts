/**
 * A module as assembly: its functions, its globals, memory and tables as
 * labelled objects, and an instantiate routine (globals, memory, element and
 * data segments, start function). Imports are resolved before code is written
 * — to another module's labels or to the runtime's — so one program may hold
 * several linked modules (the spec executor's case) and every reference is a
 * plain rip-relative label.
 *
 * Objects: a memory is {base, bytes, max pages} (quads), a table is
 * {entries, size, max} (quads; see tables.ts for references, descriptors and
 * segments), a global one quad.
 */
import { type ConstExpr, type FuncType, type Module, Op, funcTypeName, type RefType, ValType } from '../wasm/index.js';
import { compileFunction, type FuncEnv, UnsupportedError } from './func.js';
import { Trap } from './ops.js';

/** What an export (or a resolved import) is at the assembly level. */
export type Extern =
  | { kind: 'func'; label: string; type: FuncType }
  | { kind: 'global'; cell: string; type: ValType; mutable: boolean }
  | { kind: 'memory'; obj: string; min: number; max: number | null }
  | { kind: 'table'; obj: string; elem: RefType; size: number; max: number | null }
  /** A function the operator families compile inline at each call (the kernel's `hw` imports); it has no address. */
  | { kind: 'intrinsic' };

export class LinkError extends Error {}

/** Program-wide numbering of function types, so identical signatures in different modules match. */
export class TypeIds {
  private readonly ids = new Map<string, number>();
  id(t: FuncType): number {
    const k = funcTypeName(t);
    let v = this.ids.get(k);
    if (v === undefined) this.ids.set(k, v = this.ids.size + 1);
    return v;
  }
}

export interface CompiledModule {
  readonly text: string;
  readonly data: string;
  /** Call with no arguments; returns after the start function, or traps (an out-of-bounds segment is a trap too). */
  readonly instantiate: string;
  readonly exports: ReadonlyMap<string, Extern>;
  /** How many mutable globals live per CPU (ModuleTarget.perCpuGlobal), k = 0 .. n-1. */
  readonly perCpuGlobals: number;
}

/** What differs between targets: how memory is reached, where the stack ends, where mutable globals live. */
export interface ModuleTarget {
  readonly memoryMode: FuncEnv['memoryMode'];
  readonly stackLimit: string;
  /** The operand (FuncEnv.globalOperand) of the k-th mutable global when each CPU has its own copy; null: one shared cell each. */
  readonly perCpuGlobal: ((k: number) => string) | null;
}

export const USER_TARGET: ModuleTarget = { memoryMode: 'checked', stackLimit: 'qword ptr [rip+__stack_limit]', perCpuGlobal: null };

const MAX_PAGES = 65536;
/** Elements reserved for a table without a (smaller) maximum; table.grow fails beyond (V8 allows 10M). */
const MAX_TABLE = 1 << 24;

/**
 * `resolve` answers each import with an Extern or null (unknown: a link error).
 * Throws UnsupportedError for what the code generator does not do yet and
 * LinkError for an import that does not match.
 */
export function compileModule(
  m: Module, prefix: string, resolve: (module: string, name: string) => Extern | null, types: TypeIds, target: ModuleTarget = USER_TARGET,
): CompiledModule {
  const P = prefix;
  const imported = <K extends Extern['kind']>(i: { import: { module: string; name: string } | null }, kind: K): Extract<Extern, { kind: K }> => {
    const x = resolve(i.import!.module, i.import!.name);
    if (!x || x.kind !== kind) throw new LinkError(`unknown import ${i.import!.module}.${i.import!.name}`);
    return x as Extract<Extern, { kind: K }>;
  };
  const intrinsics = new Set<number>();
  const funcs = m.funcs.map((f) => {
    if (!f.import) return `${P}f${f.index}`;
    if (resolve(f.import.module, f.import.name)?.kind === 'intrinsic') {
      intrinsics.add(f.index);
      return '';
    }
    const x = imported(f, 'func');
    if (funcTypeName(x.type) !== funcTypeName(f.type)) throw new LinkError(`incompatible import type for ${f.import.module}.${f.import.name}`);
    return x.label;
  });
  let perCpuGlobals = 0;
  /** Each global's operand (FuncEnv.globalOperand), and its cell's label unless it lives per CPU. */
  const globalOps: string[] = [];
  const globals = m.globals.map((g) => {
    if (!g.import && g.type.mutable && target.perCpuGlobal) {
      globalOps.push(target.perCpuGlobal(perCpuGlobals++));
      return null;
    }
    let cell = `${P}g${g.index}`;
    if (g.import) {
      const x = imported(g, 'global');
      if (x.type !== g.type.type || x.mutable !== g.type.mutable) throw new LinkError(`incompatible import type for ${g.import.module}.${g.import.name}`);
      cell = x.cell;
    }
    globalOps.push(`[rip+${cell}]`);
    return cell;
  });
  const memories = m.memories.map((mm) => {
    if (!mm.import) return `${P}mem${mm.index}`;
    const x = imported(mm, 'memory');
    const want = mm.type.limits;
    // The minimum is checked when instantiating: the exporter may have grown since it was declared.
    if (want.max !== null && (x.max === null || x.max > want.max)) throw new LinkError(`incompatible import type for memory`);
    return x.obj;
  });
  /** Imported tables declared smaller than the import's minimum: their current size is checked when instantiating. */
  const grownTables = new Set<number>();
  const tables = m.tables.map((t) => {
    if (!t.import) return `${P}tab${t.index}`;
    const x = imported(t, 'table');
    const want = t.type.limits;
    if (x.elem !== t.type.elem || (want.max !== null && (x.max === null || x.max > want.max))) throw new LinkError(`incompatible import type for table`);
    if (x.size < want.min) grownTables.add(t.index);
    return x.obj;
  });
  // Every function a funcref may point at (ref.func in code, globals or element segments) gets a descriptor.
  const named = new Set<number>();
  for (const x of [...m.globals.map((g) => g.init), ...m.elems.flatMap((el) => el.init), ...m.funcs.map((f) => f.code?.body)]) {
    for (const i of x ?? []) if (i.op === Op.RefFunc) named.add(i.func);
  }

  const name = (i: number): string => m.names?.funcs.get(i) ?? `#${i}`;
  /** The function being compiled, for the message about a call no family compiled. */
  let current = -1;
  const env: FuncEnv = {
    module: m,
    funcLabel: (i) => {
      if (!intrinsics.has(i)) return funcs[i];
      const { module, name: field } = m.funcs[i].import!;
      throw new UnsupportedError(`func ${current} (${name(current)}): unsupported intrinsic ${module}.${field}`);
    },
    globalOperand: (i) => globalOps[i],
    memory: memories[0] ?? null,
    memoryMode: target.memoryMode,
    stackLimit: target.stackLimit,
    tableObj: (i) => tables[i],
    funcRef: (i) => `${P}fd${i}`,
    elemSeg: (k) => `${P}eseg${k}`,
    dataSeg: (k) => `${P}dseg${k}`,
    typeId: (t) => types.id(t),
    funcName: name,
  };
  const text: string[] = [];
  for (const f of m.funcs) {
    if (!f.code) continue;
    current = f.index;
    text.push(compileFunction(env, f.index));
  }

  const data: string[] = ['  .balign 16'];
  for (const g of m.globals) if (!g.import && globals[g.index]) data.push(`${globals[g.index]}: .quad 0`);
  for (const mm of m.memories) if (!mm.import) data.push(`${memories[mm.index]}: .quad 0, 0, 0`);
  for (const t of m.tables) {
    if (t.import) continue;
    if (t.type.limits.min > MAX_TABLE) throw new UnsupportedError(`table ${t.index}: ${t.type.limits.min} elements is more than this compiler reserves`);
    data.push(`${tables[t.index]}: .quad 0, 0, 0`);
  }
  for (const i of named) {
    if (intrinsics.has(i)) throw new UnsupportedError(`func ${i} (${name(i)}): an intrinsic has no address to take`);
    data.push(`${P}fd${i}: .quad ${funcs[i]}, ${types.id(m.funcs[i].type)}`);
  }
  // Active and declarative segments are dropped once instantiated: their objects start out empty.
  m.elems.forEach((el, k) => data.push(`${P}eseg${k}: .quad ${el.mode === 'passive' ? `${P}elem${k}, ${el.init.length}` : '0, 0'}`));
  m.datas.forEach((d, k) => data.push(`${P}dseg${k}: .quad ${d.mode === 'passive' ? `${P}data${k}, ${d.bytes.length}` : '0, 0'}`));

  // Instantiation, in the spec's order: globals, then element segments, then data segments, then start.
  const init: string[] = [`${P}instantiate:`, '  push rbp', '  mov rbp, rsp'];
  const e = (s: string): void => { init.push(`  ${s}`); };
  const constExpr = (x: ConstExpr, what: string): void => {
    const i = x[0];
    switch (i.op) {
      case Op.I32Const: e(`mov eax, ${i.value}`); break;
      case Op.I64Const: case Op.F64Const: e(`mov rax, ${i.op === Op.I64Const ? i.value : BigInt.asIntN(64, i.bits)}`); break;
      case Op.F32Const: e(`mov eax, ${i.bits}`); break;
      case Op.GlobalGet: e(`mov rax, qword ptr ${globalOps[i.global]}`); break;
      case Op.RefNull: e('xor eax, eax'); break;
      case Op.RefFunc: e(`lea rax, [rip+${P}fd${i.func}]`); break;
      default: throw new UnsupportedError(`${what}: unsupported constant expression`);
    }
  };
  for (const g of m.globals) {
    if (g.import) continue;
    constExpr(g.init!, `global ${g.index}`);
    e(`mov qword ptr ${globalOps[g.index]}, rax`);
  }
  for (const mm of m.memories) {
    if (mm.import) {
      e(`mov rax, qword ptr [rip+${memories[mm.index]}+8]`);
      e(`mov rcx, ${mm.type.limits.min * 65536}`);
      e('cmp rax, rcx');
      e(`jb ${P}linktrap`);
      continue;
    }
    const lim = mm.type.limits;
    e(`lea rdi, [rip+${memories[mm.index]}]`);
    e(`mov esi, ${lim.min}`);
    e(`mov edx, ${Math.min(lim.max ?? MAX_PAGES, MAX_PAGES)}`);
    e('call __mem_new');
  }
  for (const t of m.tables) {
    const lim = t.type.limits;
    if (grownTables.has(t.index)) {
      e(`mov ecx, ${lim.min}`);
      e(`cmp qword ptr [rip+${tables[t.index]}+8], rcx`);
      e(`jb ${P}linktrap`);
    } else if (!t.import) {
      e(`lea rdi, [rip+${tables[t.index]}]`);
      e(`mov esi, ${lim.min}`);
      e(`mov edx, ${Math.min(lim.max ?? MAX_TABLE, MAX_TABLE)}`);
      e('call __table_new');
    }
  }
  // An element segment's references are data, but for global.get ones, known only now.
  m.elems.forEach((el, k) => {
    if (el.mode === 'declarative') return;
    const refs = el.init.map((x, j) => {
      const i = x[0];
      if (i.op === Op.RefFunc) return `${P}fd${i.func}`;
      if (i.op === Op.RefNull) return '0';
      if (i.op !== Op.GlobalGet) throw new UnsupportedError(`element segment ${k}: unsupported element expression`);
      e(`mov rax, qword ptr ${globalOps[i.global]}`);
      e(`mov qword ptr [rip+${P}elem${k}+${8 * j}], rax`);
      return '0';
    });
    data.push(`${P}elem${k}:`);
    for (let o = 0; o < refs.length; o += 16) data.push(`  .quad ${refs.slice(o, o + 16).join(', ')}`);
    if (el.mode !== 'active') return;
    const t = tables[el.table];
    constExpr(el.offset!, `element segment ${k}`);
    e('mov eax, eax');
    e(`lea rcx, [rax+${refs.length}]`);
    e(`cmp rcx, qword ptr [rip+${t}+8]`);
    e(`ja ${P}tabtrap`);
    if (refs.length === 0) return;
    e(`mov rdi, qword ptr [rip+${t}]`);
    e('lea rdi, [rdi+rax*8]');
    e(`lea rsi, [rip+${P}elem${k}]`);
    e(`mov ecx, ${refs.length}`);
    e('rep movsq');
  });
  m.datas.forEach((d, k) => {
    data.push(`${P}data${k}:`);
    for (let o = 0; o < d.bytes.length; o += 32) data.push(`  .byte ${[...d.bytes.subarray(o, o + 32)].join(',')}`);
    if (d.mode !== 'active') return;
    const mo = memories[d.memory];
    constExpr(d.offset!, `data segment ${k}`);
    e('mov eax, eax');
    e(`lea rcx, [rax+${d.bytes.length}]`);
    e(`cmp rcx, qword ptr [rip+${mo}+8]`);
    e(`ja ${P}inittrap`);
    if (d.bytes.length === 0) return;
    e(`mov rdi, qword ptr [rip+${mo}]`);
    e('add rdi, rax');
    e(`lea rsi, [rip+${P}data${k}]`);
    e(`mov ecx, ${d.bytes.length}`);
    e('rep movsb');
  });
  if (m.start !== null) e(`call ${funcs[m.start]}`);
  e('leave');
  e('ret');
  init.push(`${P}inittrap:`, `  mov edi, ${Trap.OutOfBounds}`, '  mov esi, -1', '  jmp __wasm_trap',
    `${P}linktrap:`, `  mov edi, ${Trap.Link}`, '  mov esi, -1', '  jmp __wasm_trap',
    `${P}tabtrap:`, `  mov edi, ${Trap.TableOutOfBounds}`, '  mov esi, -1', '  jmp __wasm_trap');

  const exports = new Map<string, Extern>();
  for (const x of m.exports) {
    switch (x.kind) {
      case 0: exports.set(x.name, { kind: 'func', label: funcs[x.index], type: m.funcs[x.index].type }); break;
      case 1: {
        const t = m.tables[x.index].type;
        exports.set(x.name, { kind: 'table', obj: tables[x.index], elem: t.elem, size: t.limits.min, max: t.limits.max });
        break;
      }
      case 2: {
        const l = m.memories[x.index].type.limits;
        exports.set(x.name, { kind: 'memory', obj: memories[x.index], min: l.min, max: l.max });
        break;
      }
      case 3: {
        const g = m.globals[x.index].type;
        const cell = globals[x.index];
        // A per-CPU global has no one cell another module could link to.
        if (cell) exports.set(x.name, { kind: 'global', cell, type: g.type, mutable: g.mutable });
        break;
      }
    }
  }
  return { text: text.join('') + init.join('\n') + '\n', data: data.join('\n') + '\n', instantiate: `${P}instantiate`, exports, perCpuGlobals };
}

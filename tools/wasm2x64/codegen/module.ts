/**
 * A module as assembly: its functions, its globals, memory and tables as
 * labelled objects, and an instantiate routine (globals, memory, element and
 * data segments, start function). Imports are resolved before code is written
 * — to another module's labels or to the runtime's — so one program may hold
 * several linked modules (the spec executor's case) and every reference is a
 * plain rip-relative label.
 *
 * Objects: a memory is {base, bytes, max pages} (quads), a table is
 * {size, max, then 16-byte entries: code address, type id}, a global one quad.
 */
import { type ConstExpr, type FuncType, type Module, Op, funcTypeName, ValType } from '../wasm/index.js';
import { compileFunction, type FuncEnv, UnsupportedError } from './func.js';
import { Trap } from './ops.js';

/** What an export (or a resolved import) is at the assembly level. */
export type Extern =
  | { kind: 'func'; label: string; type: FuncType }
  | { kind: 'global'; cell: string; type: ValType; mutable: boolean }
  | { kind: 'memory'; obj: string; min: number; max: number | null }
  | { kind: 'table'; obj: string; size: number; max: number | null };

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
}

const MAX_PAGES = 65536;

/**
 * `resolve` answers each import with an Extern or null (unknown: a link error).
 * Throws UnsupportedError for what the code generator does not do yet and
 * LinkError for an import that does not match.
 */
export function compileModule(m: Module, prefix: string, resolve: (module: string, name: string) => Extern | null, types: TypeIds): CompiledModule {
  const P = prefix;
  const imported = <K extends Extern['kind']>(i: { import: { module: string; name: string } | null }, kind: K): Extract<Extern, { kind: K }> => {
    const x = resolve(i.import!.module, i.import!.name);
    if (!x || x.kind !== kind) throw new LinkError(`unknown import ${i.import!.module}.${i.import!.name}`);
    return x as Extract<Extern, { kind: K }>;
  };
  const funcs = m.funcs.map((f) => {
    if (!f.import) return `${P}f${f.index}`;
    const x = imported(f, 'func');
    if (funcTypeName(x.type) !== funcTypeName(f.type)) throw new LinkError(`incompatible import type for ${f.import.module}.${f.import.name}`);
    return x.label;
  });
  const globals = m.globals.map((g) => {
    if (!g.import) return `${P}g${g.index}`;
    const x = imported(g, 'global');
    if (x.type !== g.type.type || x.mutable !== g.type.mutable) throw new LinkError(`incompatible import type for ${g.import.module}.${g.import.name}`);
    return x.cell;
  });
  const memories = m.memories.map((mm) => {
    if (!mm.import) return `${P}mem${mm.index}`;
    const x = imported(mm, 'memory');
    const want = mm.type.limits;
    // The minimum is checked when instantiating: the exporter may have grown since it was declared.
    if (want.max !== null && (x.max === null || x.max > want.max)) throw new LinkError(`incompatible import type for memory`);
    return x.obj;
  });
  const tables = m.tables.map((t) => {
    if (!t.import) return `${P}tab${t.index}`;
    const x = imported(t, 'table');
    const want = t.type.limits;
    if (x.size < want.min || (want.max !== null && (x.max === null || x.max > want.max))) throw new LinkError(`incompatible import type for table`);
    return x.obj;
  });
  for (const t of m.tables) if (t.type.elem !== ValType.FuncRef) throw new UnsupportedError(`table ${t.index}: externref tables are not supported yet`);
  for (const g of m.globals) {
    if (g.type.type === ValType.FuncRef || g.type.type === ValType.ExternRef) throw new UnsupportedError(`global ${g.index}: reference-typed globals are not supported yet`);
  }

  const name = (i: number): string => m.names?.funcs.get(i) ?? `#${i}`;
  const env: FuncEnv = {
    module: m,
    funcLabel: (i) => funcs[i],
    globalCell: (i) => globals[i],
    memory: memories[0] ?? null,
    tableObj: (i) => tables[i],
    typeId: (t) => types.id(t),
    funcName: name,
  };
  const text: string[] = [];
  for (const f of m.funcs) if (f.code) text.push(compileFunction(env, f.index));

  const data: string[] = ['  .balign 16'];
  for (const g of m.globals) if (!g.import) data.push(`${globals[g.index]}: .quad 0`);
  for (const mm of m.memories) if (!mm.import) data.push(`${memories[mm.index]}: .quad 0, 0, 0`);
  for (const t of m.tables) {
    if (t.import) continue;
    const size = t.type.limits.min;
    if (size > 1 << 20) throw new UnsupportedError(`table ${t.index}: ${size} elements is more than this compiler reserves`);
    data.push(`${tables[t.index]}: .quad ${size}, ${t.type.limits.max ?? 0xffffffff}`, `  .zero ${16 * size}`);
  }

  // Instantiation, in the spec's order: globals, then element segments, then data segments, then start.
  const init: string[] = [`${P}instantiate:`, '  push rbp', '  mov rbp, rsp'];
  const e = (s: string): void => { init.push(`  ${s}`); };
  const constExpr = (x: ConstExpr, what: string): void => {
    const i = x[0];
    switch (i.op) {
      case Op.I32Const: e(`mov eax, ${i.value}`); break;
      case Op.I64Const: case Op.F64Const: e(`mov rax, ${i.op === Op.I64Const ? i.value : BigInt.asIntN(64, i.bits)}`); break;
      case Op.F32Const: e(`mov eax, ${i.bits}`); break;
      case Op.GlobalGet: e(`mov rax, qword ptr [rip+${globals[i.global]}]`); break;
      case Op.RefNull: e('xor eax, eax'); break;
      case Op.RefFunc: e(`lea rax, [rip+${funcs[i.func]}]`); break;
      default: throw new UnsupportedError(`${what}: unsupported constant expression`);
    }
  };
  for (const g of m.globals) {
    if (g.import) continue;
    constExpr(g.init!, `global ${g.index}`);
    e(`mov qword ptr [rip+${globals[g.index]}], rax`);
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
  m.elems.forEach((el, k) => {
    if (el.mode !== 'active') return;
    const t = tables[el.table];
    constExpr(el.offset!, `element segment ${k}`);
    e('mov r8d, eax');
    e(`lea rcx, [r8+${el.init.length}]`);
    e(`cmp rcx, qword ptr [rip+${t}]`);
    e(`ja ${P}inittrap`);
    e(`lea r9, [rip+${t}+16]`);
    e('shl r8, 4');
    e('add r9, r8');
    el.init.forEach((x, j) => {
      const i = x[0];
      if (i.op === Op.RefFunc) {
        e(`lea rax, [rip+${funcs[i.func]}]`);
        e(`mov qword ptr [r9+${16 * j}], rax`);
        e(`mov dword ptr [r9+${16 * j + 8}], ${types.id(m.funcs[i.func].type)}`);
      } else if (i.op === Op.RefNull) {
        e(`mov qword ptr [r9+${16 * j}], 0`);
      } else throw new UnsupportedError(`element segment ${k}: unsupported element expression`);
    });
  });
  m.datas.forEach((d, k) => {
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
    data.push(`${P}data${k}:`);
    for (let o = 0; o < d.bytes.length; o += 32) data.push(`  .byte ${[...d.bytes.subarray(o, o + 32)].join(',')}`);
  });
  if (m.start !== null) e(`call ${funcs[m.start]}`);
  e('leave');
  e('ret');
  init.push(`${P}inittrap:`, `  mov edi, ${Trap.OutOfBounds}`, '  mov esi, -1', '  jmp __wasm_trap',
    `${P}linktrap:`, `  mov edi, ${Trap.Link}`, '  mov esi, -1', '  jmp __wasm_trap');

  const exports = new Map<string, Extern>();
  for (const x of m.exports) {
    switch (x.kind) {
      case 0: exports.set(x.name, { kind: 'func', label: funcs[x.index], type: m.funcs[x.index].type }); break;
      case 1: {
        const t = m.tables[x.index].type;
        exports.set(x.name, { kind: 'table', obj: tables[x.index], size: t.limits.min, max: t.limits.max });
        break;
      }
      case 2: {
        const l = m.memories[x.index].type.limits;
        exports.set(x.name, { kind: 'memory', obj: memories[x.index], min: l.min, max: l.max });
        break;
      }
      case 3: {
        const g = m.globals[x.index].type;
        exports.set(x.name, { kind: 'global', cell: globals[x.index], type: g.type, mutable: g.mutable });
        break;
      }
    }
  }
  return { text: text.join('') + init.join('\n') + '\n', data: data.join('\n') + '\n', instantiate: `${P}instantiate`, exports };
}

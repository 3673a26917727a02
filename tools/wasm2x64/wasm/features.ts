/**
 * Which post-MVP proposals a module uses. The toolchain issue names the ones
 * asc emits (everything here but reference types); the front end accepts all
 * of Wasm 2.0 except SIMD, so a code generator can ask this before starting
 * and refuse, say, externref with a clear message instead of failing later.
 */
import type { Instr } from './instr.js';
import type { Module } from './module.js';
import { Op } from './opcodes.js';
import { ExternKind, type FuncType, ValType } from './types.js';

export type Feature =
  | 'sign-extension' | 'sat-float-to-int' | 'bulk-memory' | 'multi-value' | 'mutable-globals' | 'threads'
  | 'reference-types';

/** Everything the issue asks the compiler to support. */
export const ISSUE_FEATURES: ReadonlySet<Feature> = new Set<Feature>(
  ['sign-extension', 'sat-float-to-int', 'bulk-memory', 'multi-value', 'mutable-globals', 'threads'],
);

export function featuresUsed(m: Module): Set<Feature> {
  const used = new Set<Feature>();
  const refs = (types: readonly ValType[]): void => {
    if (types.includes(ValType.ExternRef) || types.includes(ValType.FuncRef)) used.add('reference-types');
  };
  const sig = (t: FuncType): void => {
    refs(t.params);
    refs(t.results);
    if (t.results.length > 1) used.add('multi-value');
  };
  m.types.forEach(sig);
  if (m.tables.length > 1 || m.tables.some((t) => t.type.elem === ValType.ExternRef)) used.add('reference-types');
  if (m.memories.some((mem) => mem.type.limits.shared)) used.add('threads');
  for (const g of m.globals) refs([g.type.type]);
  const exported = new Set(m.exports.filter((e) => e.kind === ExternKind.Global).map((e) => e.index));
  if (m.globals.some((g) => g.type.mutable && (g.import !== null || exported.has(g.index)))) used.add('mutable-globals');
  for (const e of m.elems) {
    if (e.mode === 'declarative' || e.table !== 0 || e.exprs) used.add('reference-types');
    if (e.mode === 'passive') used.add('bulk-memory');
  }
  if (m.datas.some((d) => d.mode === 'passive') || m.dataCount !== null) used.add('bulk-memory');
  for (const f of m.funcs) {
    if (!f.code) continue;
    refs(f.code.locals);
    instrs(f.code.body, used);
  }
  return used;
}

function instrs(code: readonly Instr[], used: Set<Feature>): void {
  for (const ins of code) {
    const op = ins.op;
    if (op >= Op.I32Extend8S && op <= Op.I64Extend32S) used.add('sign-extension');
    else if (op >= Op.I32TruncSatF32S && op <= Op.I64TruncSatF64U) used.add('sat-float-to-int');
    else if (op >> 8 === 0xfe) used.add('threads');
    else if (op >= Op.MemoryInit && op <= Op.TableCopy) {
      used.add('bulk-memory');
      if ((op === Op.TableInit && ins.table !== 0) || (op === Op.TableCopy && (ins.dst !== 0 || ins.src !== 0))) used.add('reference-types');
    } else if (op === Op.TableGet || op === Op.TableSet || (op >= Op.TableGrow && op <= Op.TableFill) || op === Op.SelectT ||
      op === Op.RefNull || op === Op.RefIsNull || op === Op.RefFunc || (op === Op.CallIndirect && ins.table !== 0)) {
      used.add('reference-types');
    } else if ((op === Op.Block || op === Op.Loop || op === Op.If) && ins.typeIndex >= 0) used.add('multi-value');
  }
}

/**
 * One description of every opcode — text name, immediate kind, operand
 * types, memory access width — read by the decoder (which immediates follow),
 * the validator (what the operator pops and pushes) and, later, the code
 * generator. Regular families are generated from their names, so a name and
 * its signature cannot disagree: `f32.convert_i64_u` pops an i64 and pushes
 * an f32 because that is what its name says.
 */
import { Op } from './opcodes.js';
import { type FuncType, ValType } from './types.js';

/** What follows the opcode in the binary (spec §5.4). */
export enum Imm {
  None,
  /** 0x40, a value type, or an s33 type index. */
  BlockType,
  /** Label depth (br, br_if). */
  Label,
  /** vec(label depth) and a default depth. */
  BrTable,
  /** Function index (call, ref.func). */
  Func,
  /** Type index, then table index. */
  CallIndirect,
  Local,
  Global,
  /** Table index (table.get/set/size/grow/fill). */
  Table,
  /** Alignment exponent and offset (loads, stores, atomics). */
  MemArg,
  /** A reserved 0x00 byte standing for memory 0 (memory.size/grow/fill). */
  Memory,
  I32,
  I64,
  F32,
  F64,
  /** A reference type (ref.null). */
  RefType,
  /** vec(value type) (typed select). */
  SelectTypes,
  /** Data segment index, then a reserved 0x00 (memory.init). */
  MemoryInit,
  /** Data segment index (data.drop). */
  Data,
  /** Two reserved 0x00 bytes (memory.copy). */
  MemoryCopy,
  /** Element segment index, then table index (table.init). */
  TableInit,
  /** Element segment index (elem.drop). */
  Elem,
  /** Destination table index, then source (table.copy). */
  TableCopy,
  /** A reserved 0x00 byte (atomic.fence). */
  Fence,
}

export interface OpInfo {
  readonly op: Op;
  /** Text-format name. */
  readonly name: string;
  readonly imm: Imm;
  /**
   * Operands popped (bottom first) and results pushed, or null when they
   * depend on the context — control, variables, tables, references, drop and
   * select — and the validator treats the operator by itself.
   */
  readonly sig: FuncType | null;
  /** Bytes accessed by a load, store or atomic; 0 for everything else. */
  readonly width: number;
  /** Atomic accesses must be naturally aligned (alignment = width), not just at most. */
  readonly atomic: boolean;
}

const LETTER: Record<string, string> = { i32: 'i', i64: 'l', f32: 'f', f64: 'd' };
const TYPE: Record<string, ValType> = { i: ValType.I32, l: ValType.I64, f: ValType.F32, d: ValType.F64 };
const BYTES: Record<string, number> = { i32: 4, i64: 8, f32: 4, f64: 8 };

/** `'il:i'` is [i32 i64] -> [i32]; letters i, l, f, d stand for i32, i64, f32, f64. */
function sig(s: string): FuncType {
  const [p, r] = s.split(':');
  return { params: [...p].map((c) => TYPE[c]), results: [...r].map((c) => TYPE[c]) };
}

export function pascalName(name: string): string {
  return name.split(/[._]/).map((part) => part[0].toUpperCase() + part.slice(1)).join('');
}

const byOp = new Map<Op, OpInfo>();

function def(name: string, imm: Imm, s: string | null, width = 0, atomic = false, member = pascalName(name)): void {
  const op = Op[member as keyof typeof Op];
  if (op === undefined) throw new Error(`opinfo: no Op.${member}`);
  byOp.set(op, { op, name, imm, sig: s === null ? null : sig(s), width, atomic });
}

/** Access width of `i64.load16_s`, `i32.store8`...: the number in the name. */
function widthOf(name: string): number {
  return Number(/(?:load|store)(8|16|32)/.exec(name)![1]) / 8;
}

// Control, variables, tables and references.
def('unreachable', Imm.None, null);
def('nop', Imm.None, ':');
for (const n of ['block', 'loop', 'if']) def(n, Imm.BlockType, null);
def('else', Imm.None, null);
def('end', Imm.None, null);
def('br', Imm.Label, null);
def('br_if', Imm.Label, null);
def('br_table', Imm.BrTable, null);
def('return', Imm.None, null);
def('call', Imm.Func, null);
def('call_indirect', Imm.CallIndirect, null);
def('drop', Imm.None, null);
def('select', Imm.None, null);
def('select', Imm.SelectTypes, null, 0, false, 'SelectT');
for (const n of ['local.get', 'local.set', 'local.tee']) def(n, Imm.Local, null);
for (const n of ['global.get', 'global.set']) def(n, Imm.Global, null);
for (const n of ['table.get', 'table.set', 'table.size', 'table.grow', 'table.fill']) def(n, Imm.Table, null);
def('table.init', Imm.TableInit, null);
def('elem.drop', Imm.Elem, ':');
def('table.copy', Imm.TableCopy, null);
def('ref.null', Imm.RefType, null);
def('ref.is_null', Imm.None, null);
def('ref.func', Imm.Func, null);

// Memory.
for (const t of ['i32', 'i64', 'f32', 'f64']) {
  def(`${t}.load`, Imm.MemArg, `i:${LETTER[t]}`, BYTES[t]);
  def(`${t}.store`, Imm.MemArg, `i${LETTER[t]}:`, BYTES[t]);
}
for (const n of ['i32.load8_s', 'i32.load8_u', 'i32.load16_s', 'i32.load16_u', 'i64.load8_s', 'i64.load8_u',
  'i64.load16_s', 'i64.load16_u', 'i64.load32_s', 'i64.load32_u']) {
  def(n, Imm.MemArg, `i:${LETTER[n.slice(0, 3)]}`, widthOf(n));
}
for (const n of ['i32.store8', 'i32.store16', 'i64.store8', 'i64.store16', 'i64.store32']) {
  def(n, Imm.MemArg, `i${LETTER[n.slice(0, 3)]}:`, widthOf(n));
}
def('memory.size', Imm.Memory, ':i');
def('memory.grow', Imm.Memory, 'i:i');
def('memory.fill', Imm.Memory, 'iii:');
def('memory.copy', Imm.MemoryCopy, 'iii:');
def('memory.init', Imm.MemoryInit, 'iii:');
def('data.drop', Imm.Data, ':');

// Numeric.
def('i32.const', Imm.I32, ':i');
def('i64.const', Imm.I64, ':l');
def('f32.const', Imm.F32, ':f');
def('f64.const', Imm.F64, ':d');
for (const t of ['i32', 'i64']) {
  const x = LETTER[t];
  def(`${t}.eqz`, Imm.None, `${x}:i`);
  for (const n of ['eq', 'ne', 'lt_s', 'lt_u', 'gt_s', 'gt_u', 'le_s', 'le_u', 'ge_s', 'ge_u']) def(`${t}.${n}`, Imm.None, `${x}${x}:i`);
  for (const n of ['clz', 'ctz', 'popcnt']) def(`${t}.${n}`, Imm.None, `${x}:${x}`);
  for (const n of ['add', 'sub', 'mul', 'div_s', 'div_u', 'rem_s', 'rem_u', 'and', 'or', 'xor', 'shl', 'shr_s',
    'shr_u', 'rotl', 'rotr']) def(`${t}.${n}`, Imm.None, `${x}${x}:${x}`);
}
for (const t of ['f32', 'f64']) {
  const x = LETTER[t];
  for (const n of ['eq', 'ne', 'lt', 'gt', 'le', 'ge']) def(`${t}.${n}`, Imm.None, `${x}${x}:i`);
  for (const n of ['abs', 'neg', 'ceil', 'floor', 'trunc', 'nearest', 'sqrt']) def(`${t}.${n}`, Imm.None, `${x}:${x}`);
  for (const n of ['add', 'sub', 'mul', 'div', 'min', 'max', 'copysign']) def(`${t}.${n}`, Imm.None, `${x}${x}:${x}`);
}
// `dst.op_src`: the operand type is the name's suffix, the result its prefix.
for (const n of ['i32.wrap_i64', 'i32.trunc_f32_s', 'i32.trunc_f32_u', 'i32.trunc_f64_s', 'i32.trunc_f64_u',
  'i64.extend_i32_s', 'i64.extend_i32_u', 'i64.trunc_f32_s', 'i64.trunc_f32_u', 'i64.trunc_f64_s', 'i64.trunc_f64_u',
  'f32.convert_i32_s', 'f32.convert_i32_u', 'f32.convert_i64_s', 'f32.convert_i64_u', 'f32.demote_f64',
  'f64.convert_i32_s', 'f64.convert_i32_u', 'f64.convert_i64_s', 'f64.convert_i64_u', 'f64.promote_f32',
  'i32.reinterpret_f32', 'i64.reinterpret_f64', 'f32.reinterpret_i32', 'f64.reinterpret_i64',
  'i32.trunc_sat_f32_s', 'i32.trunc_sat_f32_u', 'i32.trunc_sat_f64_s', 'i32.trunc_sat_f64_u',
  'i64.trunc_sat_f32_s', 'i64.trunc_sat_f32_u', 'i64.trunc_sat_f64_s', 'i64.trunc_sat_f64_u']) {
  const src = /_([if](?:32|64))(?:_[su])?$/.exec(n)![1];
  def(n, Imm.None, `${LETTER[src]}:${LETTER[n.slice(0, 3)]}`);
}
for (const n of ['i32.extend8_s', 'i32.extend16_s', 'i64.extend8_s', 'i64.extend16_s', 'i64.extend32_s']) {
  const x = LETTER[n.slice(0, 3)];
  def(n, Imm.None, `${x}:${x}`);
}

// Threads: every access is atomic and must be naturally aligned.
def('memory.atomic.notify', Imm.MemArg, 'ii:i', 4, true);
def('memory.atomic.wait32', Imm.MemArg, 'iil:i', 4, true);
def('memory.atomic.wait64', Imm.MemArg, 'ill:i', 8, true);
def('atomic.fence', Imm.Fence, ':');
for (const [t, w] of [['i32', ''], ['i64', ''], ['i32', '8'], ['i32', '16'], ['i64', '8'], ['i64', '16'], ['i64', '32']]) {
  const x = LETTER[t];
  const u = w ? '_u' : '';
  const width = w ? Number(w) / 8 : BYTES[t];
  def(`${t}.atomic.load${w}${u}`, Imm.MemArg, `i:${x}`, width, true);
  def(`${t}.atomic.store${w}`, Imm.MemArg, `i${x}:`, width, true);
  for (const rmw of ['add', 'sub', 'and', 'or', 'xor', 'xchg']) def(`${t}.atomic.rmw${w}.${rmw}${u}`, Imm.MemArg, `i${x}:${x}`, width, true);
  def(`${t}.atomic.rmw${w}.cmpxchg${u}`, Imm.MemArg, `i${x}${x}:${x}`, width, true);
}

/** Every opcode we know, in opcode order. */
export const OPS: readonly OpInfo[] = [...byOp.values()].sort((a, b) => a.op - b.op);

export function opInfo(op: Op): OpInfo {
  return byOp.get(op)!;
}

/** Decoder tables: one-byte opcodes, and the sub-opcodes after the 0xFC and 0xFE prefixes. */
export const BYTE_OPS: (OpInfo | undefined)[] = new Array(256);
export const FC_OPS: (OpInfo | undefined)[] = [];
export const FE_OPS: (OpInfo | undefined)[] = [];
for (const info of OPS) {
  if (info.op < 0x100) BYTE_OPS[info.op] = info;
  else if (info.op >> 8 === 0xfc) FC_OPS[info.op & 0xff] = info;
  else FE_OPS[info.op & 0xff] = info;
}

/**
 * The integer operators that compile to one x86 instruction over a pair of
 * stack slots or one register, as tables: the function compiler reads them so
 * that each family is written once. Mnemonics are tools/asm spellings; the
 * assembler (the CPU's opcode table) chooses every encoding.
 */
import { Op } from '../wasm/index.js';

/** `a = a OP b` with a memory right operand. */
export const ALU: ReadonlyMap<Op, [string, 32 | 64]> = new Map([
  [Op.I32Add, ['add', 32]], [Op.I32Sub, ['sub', 32]], [Op.I32Mul, ['imul', 32]],
  [Op.I32And, ['and', 32]], [Op.I32Or, ['or', 32]], [Op.I32Xor, ['xor', 32]],
  [Op.I64Add, ['add', 64]], [Op.I64Sub, ['sub', 64]], [Op.I64Mul, ['imul', 64]],
  [Op.I64And, ['and', 64]], [Op.I64Or, ['or', 64]], [Op.I64Xor, ['xor', 64]],
]);

/** Shifts and rotates: the count goes in cl; x86 masks it mod 32/64 exactly as wasm does. */
export const SHIFT: ReadonlyMap<Op, [string, 32 | 64]> = new Map([
  [Op.I32Shl, ['shl', 32]], [Op.I32ShrS, ['sar', 32]], [Op.I32ShrU, ['shr', 32]], [Op.I32Rotl, ['rol', 32]], [Op.I32Rotr, ['ror', 32]],
  [Op.I64Shl, ['shl', 64]], [Op.I64ShrS, ['sar', 64]], [Op.I64ShrU, ['shr', 64]], [Op.I64Rotl, ['rol', 64]], [Op.I64Rotr, ['ror', 64]],
]);

/** Comparisons: the setcc condition. */
export const COMPARE: ReadonlyMap<Op, [string, 32 | 64]> = new Map([
  [Op.I32Eq, ['e', 32]], [Op.I32Ne, ['ne', 32]], [Op.I32LtS, ['l', 32]], [Op.I32LtU, ['b', 32]], [Op.I32GtS, ['g', 32]],
  [Op.I32GtU, ['a', 32]], [Op.I32LeS, ['le', 32]], [Op.I32LeU, ['be', 32]], [Op.I32GeS, ['ge', 32]], [Op.I32GeU, ['ae', 32]],
  [Op.I64Eq, ['e', 64]], [Op.I64Ne, ['ne', 64]], [Op.I64LtS, ['l', 64]], [Op.I64LtU, ['b', 64]], [Op.I64GtS, ['g', 64]],
  [Op.I64GtU, ['a', 64]], [Op.I64LeS, ['le', 64]], [Op.I64LeU, ['be', 64]], [Op.I64GeS, ['ge', 64]], [Op.I64GeU, ['ae', 64]],
]);

/**
 * One-operand operators as instruction lines over rax (value in, value out),
 * with rcx and rdx as scratch. They need nothing beyond baseline x86-64,
 * which is all QEMU's default CPU model has: clz/ctz go through bsr/bsf +
 * cmovz rather than lzcnt/tzcnt, and popcnt is counted in parallel within
 * the register (bit pairs, nibbles, bytes, then one multiply sums the bytes)
 * rather than with the popcnt instruction.
 */
export const UNARY: ReadonlyMap<Op, { load: 32 | 64; store: 32 | 64; code: string[] }> = new Map([
  [Op.I32Eqz, { load: 32, store: 32, code: ['test eax, eax', 'sete al', 'movzx eax, al'] }],
  [Op.I64Eqz, { load: 64, store: 32, code: ['test rax, rax', 'sete al', 'movzx eax, al'] }],
  [Op.I32Clz, { load: 32, store: 32, code: ['bsr eax, eax', 'mov ecx, 63', 'cmovz eax, ecx', 'xor eax, 31'] }],
  [Op.I64Clz, { load: 64, store: 64, code: ['bsr rax, rax', 'mov ecx, 127', 'cmovz eax, ecx', 'xor eax, 63'] }],
  [Op.I32Ctz, { load: 32, store: 32, code: ['bsf eax, eax', 'mov ecx, 32', 'cmovz eax, ecx'] }],
  [Op.I64Ctz, { load: 64, store: 64, code: ['bsf rax, rax', 'mov ecx, 64', 'cmovz rax, rcx'] }],
  [Op.I32Popcnt, {
    load: 32, store: 32, code: [
      'mov ecx, eax', 'shr ecx, 1', 'and ecx, 0x55555555', 'sub eax, ecx',
      'mov ecx, eax', 'and eax, 0x33333333', 'shr ecx, 2', 'and ecx, 0x33333333', 'add eax, ecx',
      'mov ecx, eax', 'shr ecx, 4', 'add eax, ecx', 'and eax, 0x0f0f0f0f',
      'imul eax, eax, 0x01010101', 'shr eax, 24',
    ],
  }],
  [Op.I64Popcnt, {
    load: 64, store: 64, code: [
      'mov rcx, rax', 'shr rcx, 1', 'mov rdx, 0x5555555555555555', 'and rcx, rdx', 'sub rax, rcx',
      'mov rdx, 0x3333333333333333', 'mov rcx, rax', 'and rax, rdx', 'shr rcx, 2', 'and rcx, rdx', 'add rax, rcx',
      'mov rcx, rax', 'shr rcx, 4', 'add rax, rcx', 'mov rdx, 0x0f0f0f0f0f0f0f0f', 'and rax, rdx',
      'mov rdx, 0x0101010101010101', 'imul rax, rdx', 'shr rax, 56',
    ],
  }],
  [Op.I32WrapI64, { load: 32, store: 32, code: [] }],
  [Op.I64ExtendI32S, { load: 32, store: 64, code: ['movsxd rax, eax'] }],
  [Op.I64ExtendI32U, { load: 32, store: 64, code: [] }],
  [Op.I32Extend8S, { load: 32, store: 32, code: ['movsx eax, al'] }],
  [Op.I32Extend16S, { load: 32, store: 32, code: ['movsx eax, ax'] }],
  [Op.I64Extend8S, { load: 64, store: 64, code: ['movsx rax, al'] }],
  [Op.I64Extend16S, { load: 64, store: 64, code: ['movsx rax, ax'] }],
  [Op.I64Extend32S, { load: 64, store: 64, code: ['movsxd rax, eax'] }],
  // Floats are bit patterns in slots, so reinterpretation moves nothing.
  [Op.I32ReinterpretF32, { load: 32, store: 32, code: [] }],
  [Op.I64ReinterpretF64, { load: 64, store: 64, code: [] }],
  [Op.F32ReinterpretI32, { load: 32, store: 32, code: [] }],
  [Op.F64ReinterpretI64, { load: 64, store: 64, code: [] }],
]);

/** Loads: the instruction that reads `[addr]` into rax/eax, and the access width. */
export const LOAD: ReadonlyMap<Op, [string, number]> = new Map([
  [Op.I32Load, ['mov eax, dword ptr', 4]], [Op.I64Load, ['mov rax, qword ptr', 8]],
  [Op.F32Load, ['mov eax, dword ptr', 4]], [Op.F64Load, ['mov rax, qword ptr', 8]],
  [Op.I32Load8S, ['movsx eax, byte ptr', 1]], [Op.I32Load8U, ['movzx eax, byte ptr', 1]],
  [Op.I32Load16S, ['movsx eax, word ptr', 2]], [Op.I32Load16U, ['movzx eax, word ptr', 2]],
  [Op.I64Load8S, ['movsx rax, byte ptr', 1]], [Op.I64Load8U, ['movzx eax, byte ptr', 1]],
  [Op.I64Load16S, ['movsx rax, word ptr', 2]], [Op.I64Load16U, ['movzx eax, word ptr', 2]],
  [Op.I64Load32S, ['movsxd rax, dword ptr', 4]], [Op.I64Load32U, ['mov eax, dword ptr', 4]],
]);

/** Stores: how many bits of the value they write (the access is bits / 8 bytes wide). */
export const STORE: ReadonlyMap<Op, 8 | 16 | 32 | 64> = new Map([
  [Op.I32Store, 32], [Op.I64Store, 64], [Op.F32Store, 32], [Op.F64Store, 64],
  [Op.I32Store8, 8], [Op.I32Store16, 16], [Op.I64Store8, 8], [Op.I64Store16, 16], [Op.I64Store32, 32],
]);

/** Trap kinds: the number the stubs pass to the runtime, which prints the message and exits with 100 + kind. */
export enum Trap {
  Unreachable = 1,
  DivByZero = 2,
  Overflow = 3,
  OutOfBounds = 4,
  UndefinedElement = 5,
  UninitializedElement = 6,
  SignatureMismatch = 7,
  Exhaustion = 8,
  /** Instantiation only: an imported memory smaller than the import's minimum (a link error). */
  Link = 9,
  /** A float-to-integer truncation of NaN. */
  InvalidConversion = 10,
  /** table.get/set/fill/copy/init and element segments outside a table or segment. */
  TableOutOfBounds = 11,
  /** An atomic access whose effective address is not a multiple of its width. */
  Unaligned = 12,
  /** memory.atomic.wait on a memory that is not shared. */
  Unshared = 13,
}

export const TRAP_MESSAGES: Record<Trap, string> = {
  [Trap.Unreachable]: 'unreachable',
  [Trap.DivByZero]: 'integer divide by zero',
  [Trap.Overflow]: 'integer overflow',
  [Trap.OutOfBounds]: 'out of bounds memory access',
  [Trap.UndefinedElement]: 'undefined element',
  [Trap.UninitializedElement]: 'uninitialized element',
  [Trap.SignatureMismatch]: 'indirect call type mismatch',
  [Trap.Exhaustion]: 'call stack exhausted',
  [Trap.Link]: 'incompatible import type',
  [Trap.InvalidConversion]: 'invalid conversion to integer',
  [Trap.TableOutOfBounds]: 'out of bounds table access',
  [Trap.Unaligned]: 'unaligned atomic',
  [Trap.Unshared]: 'expected shared memory',
};

/**
 * The trap messages as assembly data for a runtime: `__trapmsgs`, quads
 * indexed by trap kind (0 unused) pointing at NUL-terminated strings.
 */
export function trapMessageData(): string {
  const kinds = Object.keys(TRAP_MESSAGES);
  return [
    `__trapmsgs: .quad 0, ${kinds.map((k) => `__trapmsg${k}`).join(', ')}`,
    ...Object.entries(TRAP_MESSAGES).map(([k, v]) => `__trapmsg${k}: .asciz "${v}"`),
  ].join('\n');
}

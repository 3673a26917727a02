/**
 * A decoded instruction: its opcode, the byte offset of that opcode in the
 * module, and its immediates. A function body (and a constant expression) is
 * a flat array of these ending with the body's own `end`; structured control
 * flow is explicit through indices into that array:
 *
 *     0 block [] -> [i32]      end: 5
 *     1   i32.const 1
 *     2   br_if 0              target: 0   (the block at index 0)
 *     3   drop
 *     4   i32.const 2
 *     5 end                    block: 0
 *     6 end                    block: -1   (the function body)
 *
 * The decoder fills in the structure (`else`/`end` of each block, `block` of
 * each else/end). The validator fills in what needs types or labels:
 * `sig` of blocks given by type index, `target(s)` of branches and `type` of
 * drop and select. `parseModule` does both, so its output is complete.
 *
 * Branch semantics for a single-pass compiler: a branch to a `loop` jumps
 * back to the loop's start and carries the loop's params; a branch to a block
 * or if jumps past its `end` and carries the results; target -1 leaves the
 * function (like return).
 */
import { Op } from './opcodes.js';
import type { FuncType, RefType, ValType } from './types.js';

/** The function body as a branch target. */
export const FUNC_FRAME = -1;

/** `type` of a drop or select whose operand lies in unreachable code (any type would do). */
export const UNKNOWN_TYPE = 0;

export interface BlockInstr {
  readonly op: Op.Block | Op.Loop | Op.If;
  readonly pos: number;
  /** Type index of the block type, or -1 for the inline forms (no result, or one value type). */
  readonly typeIndex: number;
  /** The block's parameters and results. */
  sig: FuncType;
  /** Index of this if's `else`, or -1 (always -1 for block and loop). */
  else: number;
  /** Index of the matching `end`. */
  end: number;
}

export interface ElseInstr {
  readonly op: Op.Else;
  readonly pos: number;
  /** Index of the `if`. */
  if: number;
}

export interface EndInstr {
  readonly op: Op.End;
  readonly pos: number;
  /** Index of the block, loop or if this ends; FUNC_FRAME for the body's last `end`. */
  block: number;
}

export interface BrInstr {
  readonly op: Op.Br | Op.BrIf;
  readonly pos: number;
  readonly depth: number;
  /** Index of the targeted block/loop/if, or FUNC_FRAME. */
  target: number;
}

export interface BrTableInstr {
  readonly op: Op.BrTable;
  readonly pos: number;
  readonly depths: readonly number[];
  readonly defaultDepth: number;
  /** One target per entry of `depths` (block/loop/if index, or FUNC_FRAME). */
  targets: number[];
  defaultTarget: number;
}

export interface FuncRefInstr {
  readonly op: Op.Call | Op.RefFunc;
  readonly pos: number;
  readonly func: number;
}

export interface CallIndirectInstr {
  readonly op: Op.CallIndirect;
  readonly pos: number;
  readonly type: number;
  readonly table: number;
}

export interface LocalInstr {
  readonly op: Op.LocalGet | Op.LocalSet | Op.LocalTee;
  readonly pos: number;
  /** Index into params followed by declared locals. */
  readonly local: number;
}

export interface GlobalInstr {
  readonly op: Op.GlobalGet | Op.GlobalSet;
  readonly pos: number;
  readonly global: number;
}

export interface TableInstr {
  readonly op: Op.TableGet | Op.TableSet | Op.TableSize | Op.TableGrow | Op.TableFill;
  readonly pos: number;
  readonly table: number;
}

/** Loads, stores and atomics: the access is at (operand + offset) in memory 0. */
export interface MemInstr {
  readonly op: MemArgOp;
  readonly pos: number;
  /** log2 of the promised alignment. */
  readonly align: number;
  /** Unsigned 32-bit constant offset. */
  readonly offset: number;
}

export interface I32ConstInstr {
  readonly op: Op.I32Const;
  readonly pos: number;
  /** Signed 32-bit value. */
  readonly value: number;
}

export interface I64ConstInstr {
  readonly op: Op.I64Const;
  readonly pos: number;
  /** Signed 64-bit value. */
  readonly value: bigint;
}

export interface F32ConstInstr {
  readonly op: Op.F32Const;
  readonly pos: number;
  /** IEEE-754 bit pattern as an unsigned 32-bit integer (NaN payloads kept). */
  readonly bits: number;
}

export interface F64ConstInstr {
  readonly op: Op.F64Const;
  readonly pos: number;
  /** IEEE-754 bit pattern as an unsigned 64-bit BigInt. */
  readonly bits: bigint;
}

export interface RefNullInstr {
  readonly op: Op.RefNull;
  readonly pos: number;
  readonly type: RefType;
}

/** drop and the untyped select, whose operand type comes from the validator. */
export interface DropSelectInstr {
  readonly op: Op.Drop | Op.Select;
  readonly pos: number;
  /** Type of the dropped or selected value; UNKNOWN_TYPE in unreachable code. */
  type: ValType | typeof UNKNOWN_TYPE;
}

export interface SelectTInstr {
  readonly op: Op.SelectT;
  readonly pos: number;
  /** The annotation as written (valid only with exactly one type). */
  readonly types: readonly ValType[];
}

export interface DataInstr {
  readonly op: Op.MemoryInit | Op.DataDrop;
  readonly pos: number;
  readonly data: number;
}

export interface ElemInstr {
  readonly op: Op.ElemDrop;
  readonly pos: number;
  readonly elem: number;
}

export interface TableInitInstr {
  readonly op: Op.TableInit;
  readonly pos: number;
  readonly elem: number;
  readonly table: number;
}

export interface TableCopyInstr {
  readonly op: Op.TableCopy;
  readonly pos: number;
  readonly dst: number;
  readonly src: number;
}

/** Everything without immediates the code generator needs (memory.size/grow/fill/copy and atomic.fence carry only reserved zero bytes). */
export interface PlainInstr {
  readonly op: PlainOp;
  readonly pos: number;
}

/** Instructions with immediates or annotations. */
type RichInstr =
  | BlockInstr | ElseInstr | EndInstr | BrInstr | BrTableInstr | FuncRefInstr | CallIndirectInstr
  | LocalInstr | GlobalInstr | TableInstr | MemInstr | I32ConstInstr | I64ConstInstr | F32ConstInstr
  | F64ConstInstr | RefNullInstr | DropSelectInstr | SelectTInstr | DataInstr | ElemInstr | TableInitInstr
  | TableCopyInstr;

/** Narrow by `op`: `if (i.op === Op.Br) i.target` type-checks. */
export type Instr = RichInstr | PlainInstr;

export type MemArgOp =
  | Op.I32Load | Op.I64Load | Op.F32Load | Op.F64Load | Op.I32Load8S | Op.I32Load8U | Op.I32Load16S
  | Op.I32Load16U | Op.I64Load8S | Op.I64Load8U | Op.I64Load16S | Op.I64Load16U | Op.I64Load32S | Op.I64Load32U
  | Op.I32Store | Op.I64Store | Op.F32Store | Op.F64Store | Op.I32Store8 | Op.I32Store16 | Op.I64Store8
  | Op.I64Store16 | Op.I64Store32
  | Op.MemoryAtomicNotify | Op.MemoryAtomicWait32 | Op.MemoryAtomicWait64
  | Op.I32AtomicLoad | Op.I64AtomicLoad | Op.I32AtomicLoad8U | Op.I32AtomicLoad16U | Op.I64AtomicLoad8U
  | Op.I64AtomicLoad16U | Op.I64AtomicLoad32U | Op.I32AtomicStore | Op.I64AtomicStore | Op.I32AtomicStore8
  | Op.I32AtomicStore16 | Op.I64AtomicStore8 | Op.I64AtomicStore16 | Op.I64AtomicStore32
  | Op.I32AtomicRmwAdd | Op.I64AtomicRmwAdd | Op.I32AtomicRmw8AddU | Op.I32AtomicRmw16AddU | Op.I64AtomicRmw8AddU
  | Op.I64AtomicRmw16AddU | Op.I64AtomicRmw32AddU
  | Op.I32AtomicRmwSub | Op.I64AtomicRmwSub | Op.I32AtomicRmw8SubU | Op.I32AtomicRmw16SubU | Op.I64AtomicRmw8SubU
  | Op.I64AtomicRmw16SubU | Op.I64AtomicRmw32SubU
  | Op.I32AtomicRmwAnd | Op.I64AtomicRmwAnd | Op.I32AtomicRmw8AndU | Op.I32AtomicRmw16AndU | Op.I64AtomicRmw8AndU
  | Op.I64AtomicRmw16AndU | Op.I64AtomicRmw32AndU
  | Op.I32AtomicRmwOr | Op.I64AtomicRmwOr | Op.I32AtomicRmw8OrU | Op.I32AtomicRmw16OrU | Op.I64AtomicRmw8OrU
  | Op.I64AtomicRmw16OrU | Op.I64AtomicRmw32OrU
  | Op.I32AtomicRmwXor | Op.I64AtomicRmwXor | Op.I32AtomicRmw8XorU | Op.I32AtomicRmw16XorU | Op.I64AtomicRmw8XorU
  | Op.I64AtomicRmw16XorU | Op.I64AtomicRmw32XorU
  | Op.I32AtomicRmwXchg | Op.I64AtomicRmwXchg | Op.I32AtomicRmw8XchgU | Op.I32AtomicRmw16XchgU
  | Op.I64AtomicRmw8XchgU | Op.I64AtomicRmw16XchgU | Op.I64AtomicRmw32XchgU
  | Op.I32AtomicRmwCmpxchg | Op.I64AtomicRmwCmpxchg | Op.I32AtomicRmw8CmpxchgU | Op.I32AtomicRmw16CmpxchgU
  | Op.I64AtomicRmw8CmpxchgU | Op.I64AtomicRmw16CmpxchgU | Op.I64AtomicRmw32CmpxchgU;

export type PlainOp = Exclude<Op, RichInstr['op']>;

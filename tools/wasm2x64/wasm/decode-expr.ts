/**
 * Decodes an instruction sequence — a function body or a constant
 * expression — up to and including its final `end`, matching every block,
 * loop and if with its `else` and `end` on the way (instr.ts shows the
 * result). Nothing here looks at types or index ranges; that is validation.
 */
import { readRefType, readValType, unsupportedSimd } from './decode-types.js';
import type { BlockInstr, Instr } from './instr.js';
import { FUNC_FRAME, UNKNOWN_TYPE } from './instr.js';
import { Op } from './opcodes.js';
import { BYTE_OPS, FC_OPS, FE_OPS, Imm, type OpInfo } from './opinfo.js';
import type { Reader } from './reader.js';
import { type FuncType, ValType } from './types.js';

/** Placeholder signature of a block given by type index, until the validator resolves it. */
export const EMPTY_SIG: FuncType = { params: [], results: [] };
const SINGLE_RESULT = new Map<ValType, FuncType>(
  [ValType.I32, ValType.I64, ValType.F32, ValType.F64, ValType.FuncRef, ValType.ExternRef]
    .map((t) => [t, { params: [], results: [t] }]),
);

/** Facts the module decoder needs from the bodies. */
export interface ExprNotes {
  /** Offset of the first memory.init or data.drop, which require a data count section; -1 if none. */
  firstDataIndexUse: number;
}

/** Alignment exponents from 32 up do not fit the memarg flags at all. */
const MAX_ALIGN_FLAGS = 32;

export function decodeExpr(r: Reader, notes: ExprNotes): Instr[] {
  const out: Instr[] = [];
  const open: number[] = [];
  for (;;) {
    const pos = r.pos;
    const info = readOpcode(r, pos);
    const op = info.op;
    switch (info.imm) {
      case Imm.None:
        if (op === Op.Else) {
          const top = open.length > 0 ? (out[open[open.length - 1]] as BlockInstr) : null;
          if (top === null || top.op !== Op.If || top.else !== -1) throw r.fail(pos, 'END opcode expected');
          top.else = out.length;
          out.push({ op, pos, if: open[open.length - 1] });
        } else if (op === Op.End) {
          if (open.length === 0) {
            out.push({ op, pos, block: FUNC_FRAME });
            return out;
          }
          const block = open.pop()!;
          (out[block] as BlockInstr).end = out.length;
          out.push({ op, pos, block });
        } else if (op === Op.Drop || op === Op.Select) {
          out.push({ op, pos, type: UNKNOWN_TYPE });
        } else {
          out.push({ op, pos } as Instr);
        }
        break;
      case Imm.BlockType:
        open.push(out.length);
        out.push(readBlock(r, op as BlockInstr['op'], pos));
        break;
      case Imm.Label:
        out.push({ op: op as Op.Br, pos, depth: r.u32(), target: FUNC_FRAME });
        break;
      case Imm.BrTable: {
        const n = r.count();
        const depths: number[] = [];
        for (let i = 0; i < n; i++) depths.push(r.u32());
        out.push({ op: Op.BrTable, pos, depths, defaultDepth: r.u32(), targets: [], defaultTarget: FUNC_FRAME });
        break;
      }
      case Imm.Func:
        out.push({ op: op as Op.Call, pos, func: r.u32() });
        break;
      case Imm.CallIndirect: {
        const type = r.u32();
        out.push({ op: Op.CallIndirect, pos, type, table: r.u32() });
        break;
      }
      case Imm.Local:
        out.push({ op: op as Op.LocalGet, pos, local: r.u32() });
        break;
      case Imm.Global:
        out.push({ op: op as Op.GlobalGet, pos, global: r.u32() });
        break;
      case Imm.Table:
        out.push({ op: op as Op.TableGet, pos, table: r.u32() });
        break;
      case Imm.MemArg: {
        const at = r.pos;
        const align = r.u32();
        if (align >= MAX_ALIGN_FLAGS) throw r.fail(at, 'malformed memop flags');
        out.push({ op: op as Op.I32Load, pos, align, offset: r.u32() });
        break;
      }
      case Imm.Memory:
      case Imm.Fence:
        r.zeroByte();
        out.push({ op, pos } as Instr);
        break;
      case Imm.MemoryCopy:
        r.zeroByte();
        r.zeroByte();
        out.push({ op, pos } as Instr);
        break;
      case Imm.I32:
        out.push({ op: Op.I32Const, pos, value: r.s32() });
        break;
      case Imm.I64:
        out.push({ op: Op.I64Const, pos, value: r.s64() });
        break;
      case Imm.F32:
        out.push({ op: Op.F32Const, pos, bits: r.u32le() });
        break;
      case Imm.F64:
        out.push({ op: Op.F64Const, pos, bits: r.u64le() });
        break;
      case Imm.RefType:
        out.push({ op: Op.RefNull, pos, type: readRefType(r) });
        break;
      case Imm.SelectTypes: {
        const n = r.count();
        const types: ValType[] = [];
        for (let i = 0; i < n; i++) types.push(readValType(r));
        out.push({ op: Op.SelectT, pos, types });
        break;
      }
      case Imm.MemoryInit: {
        if (notes.firstDataIndexUse < 0) notes.firstDataIndexUse = pos;
        const data = r.u32();
        r.zeroByte();
        out.push({ op: Op.MemoryInit, pos, data });
        break;
      }
      case Imm.Data:
        if (notes.firstDataIndexUse < 0) notes.firstDataIndexUse = pos;
        out.push({ op: Op.DataDrop, pos, data: r.u32() });
        break;
      case Imm.TableInit: {
        const elem = r.u32();
        out.push({ op: Op.TableInit, pos, elem, table: r.u32() });
        break;
      }
      case Imm.Elem:
        out.push({ op: Op.ElemDrop, pos, elem: r.u32() });
        break;
      case Imm.TableCopy: {
        const dst = r.u32();
        out.push({ op: Op.TableCopy, pos, dst, src: r.u32() });
        break;
      }
    }
  }
}

function readOpcode(r: Reader, pos: number): OpInfo {
  const b = r.u8();
  let info: OpInfo | undefined;
  if (b === 0xfc) info = FC_OPS[r.u32()];
  else if (b === 0xfe) info = FE_OPS[r.u32()];
  else if (b === 0xfd) throw unsupportedSimd(pos, r.func);
  else info = BYTE_OPS[b];
  if (info === undefined) throw r.fail(pos, 'illegal opcode');
  return info;
}

/**
 * 0x40 is "no result", a byte that looks like a one-byte negative s33 is a
 * value type, anything else is an s33 type index — decided on the first
 * byte, as the reference interpreter does.
 */
function readBlock(r: Reader, op: BlockInstr['op'], pos: number): BlockInstr {
  const b = r.peek();
  if (b === 0x40) {
    r.u8();
    return { op, pos, typeIndex: -1, sig: EMPTY_SIG, else: -1, end: -1 };
  }
  if (b !== null && (b & 0xc0) === 0x40) {
    return { op, pos, typeIndex: -1, sig: SINGLE_RESULT.get(readValType(r))!, else: -1, end: -1 };
  }
  const index = r.sleb(33);
  return { op, pos, typeIndex: index < 0 ? index + 2 ** 32 : index, sig: EMPTY_SIG, else: -1, end: -1 };
}

/**
 * The opcode table's operand strings (table.ts, OPERAND GRAMMAR) read for
 * encoding: where each operand goes (ModRM.reg, ModRM.rm, the opcode's low
 * bits, an immediate, …), which register class and size it accepts, and the
 * memory size. Sizes follow the decoder: given the operand size a prefix
 * choice produces, `size()` is what the disassembler would print.
 */
import { operandBytes, type OpRow } from '../../emu/cpu/table.js';
import { RegClass } from './registers.js';

/** Where an operand's bits go. */
export const enum Field { None, Reg, Rm, Opcode, Imm, Rel, Moffs, Far, StrSrc, StrDst }

export interface Spec {
  text: string;
  field: Field;
  /** Register class accepted (undefined: no register form). */
  cls?: RegClass;
  /** Size letter of the register form (gpr classes only). */
  regSize?: string;
  /** Size letter of the memory form, '' for unsized; undefined: no memory form. */
  memSize?: string;
  /** Per operand size 16|32|64 memory size letters ('Mq|Mq|Mdq'). */
  memBySize?: string[];
  /** An immediate that is sign-extended to the operand size (sIb). */
  signed?: boolean;
  /** Immediate / relative / moffs size letter. */
  immSize?: string;
  /** A fixed register (AL, eAX, CL, DX, ES, XMM0, ST0): its number, class and size letter. */
  fixed?: { num: number; cls: RegClass; size: string };
  /** The constant 1 (shift by one). */
  one?: boolean;
}

const GPR_FIXED: Record<string, number> = { AX: 0, CX: 1, DX: 2, BX: 3, SP: 4, BP: 5, SI: 6, DI: 7 };
const SEG_FIXED: Record<string, number> = { ES: 0, CS: 1, SS: 2, DS: 3, FS: 4, GS: 5 };
const BYTE_FIXED: Record<string, number> = { AL: 0, CL: 1, DL: 2, BL: 3 };

const METHOD: Record<string, Pick<Spec, 'field' | 'cls'> & { reg: boolean; mem: boolean }> = {
  E: { field: Field.Rm, cls: RegClass.Gpr, reg: true, mem: true },
  M: { field: Field.Rm, reg: false, mem: true },
  R: { field: Field.Rm, cls: RegClass.Gpr, reg: true, mem: false },
  G: { field: Field.Reg, cls: RegClass.Gpr, reg: true, mem: false },
  Z: { field: Field.Opcode, cls: RegClass.Gpr, reg: true, mem: false },
  V: { field: Field.Reg, cls: RegClass.Xmm, reg: true, mem: false },
  U: { field: Field.Rm, cls: RegClass.Xmm, reg: true, mem: false },
  W: { field: Field.Rm, cls: RegClass.Xmm, reg: true, mem: true },
  P: { field: Field.Reg, cls: RegClass.Mmx, reg: true, mem: false },
  N: { field: Field.Rm, cls: RegClass.Mmx, reg: true, mem: false },
  Q: { field: Field.Rm, cls: RegClass.Mmx, reg: true, mem: true },
  S: { field: Field.Reg, cls: RegClass.Seg, reg: true, mem: false },
  C: { field: Field.Reg, cls: RegClass.Cr, reg: true, mem: false },
  D: { field: Field.Reg, cls: RegClass.Dr, reg: true, mem: false },
};

export function parseSpec(text: string): Spec {
  if (text === '1') return { text, field: Field.None, one: true };
  if (text === 'ST0') return { text, field: Field.None, fixed: { num: 0, cls: RegClass.St, size: '' } };
  if (text === 'STi') return { text, field: Field.Rm, cls: RegClass.St };
  if (text === 'XMM0') return { text, field: Field.None, fixed: { num: 0, cls: RegClass.Xmm, size: '' } };
  if (text in SEG_FIXED) return { text, field: Field.None, fixed: { num: SEG_FIXED[text], cls: RegClass.Seg, size: '' } };
  if (text in BYTE_FIXED) return { text, field: Field.None, fixed: { num: BYTE_FIXED[text], cls: RegClass.Gpr, size: 'b' } };
  if (text in GPR_FIXED) return { text, field: Field.None, fixed: { num: GPR_FIXED[text], cls: RegClass.Gpr, size: 'w' } };
  const sized = /^([erz])([A-Z]{2})$/.exec(text);
  if (sized) return { text, field: Field.None, fixed: { num: GPR_FIXED[sized[2]], cls: RegClass.Gpr, size: sized[1] === 'z' ? 'z' : 'v' } };
  if (text.includes('/')) {
    // Rd/Mw: a register of one size or memory of another.
    const [r, m] = text.split('/').map(parseSpec);
    return { ...r, text, memSize: m.memSize };
  }
  if (text.includes('|')) {
    const parts = text.split('|');
    const first = parseSpec(parts[0]);
    return { ...first, text, memBySize: parts.map((p) => p.slice(1)) };
  }
  const m = /^(s?)([A-Z])([a-z]*)$/.exec(text);
  if (m === null) throw new Error(`asm: operand form '${text}' is not in the table grammar`);
  const [, s, method, size] = m;
  switch (method) {
    case 'I': return { text, field: Field.Imm, immSize: size, signed: s === 's' };
    case 'J': return { text, field: Field.Rel, immSize: size };
    case 'O': return { text, field: Field.Moffs, memSize: size };
    case 'A': return { text, field: Field.Far, immSize: size };
    case 'X': return { text, field: Field.StrSrc, memSize: size };
    case 'Y': return { text, field: Field.StrDst, memSize: size };
  }
  const d = METHOD[method];
  if (d === undefined) throw new Error(`asm: operand method '${method}' in '${text}' is not in the table grammar`);
  return { text, field: d.field, cls: d.reg ? d.cls : undefined, regSize: d.reg ? size : undefined, memSize: d.mem ? size : undefined };
}

const specCache = new WeakMap<OpRow, Spec[]>();

export function rowSpecs(row: OpRow): Spec[] {
  let s = specCache.get(row);
  if (s === undefined) { s = row.operands.map(parseSpec); specCache.set(row, s); }
  return s;
}

/** Size letters whose meaning depends on the operand size (66, REX.W). */
export const OSZ_DEPENDENT = new Set(['v', 'z', 'y', 'p', 'a']);

/** Bytes of size letter `s` at operand size `osz`: the table's own definition. */
export const sizeOf = operandBytes;

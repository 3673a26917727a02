/**
 * The opcode table: the single source of instruction knowledge. Each family
 * file under ops/ exports rows that pair an encoding with its mnemonic, its
 * operand forms (SDM Vol.2D Appendix A notation) and its handler; the decoder,
 * the interpreter and the disassembler are all derived from these rows.
 *
 * Row keys:
 *   code   opcode bytes as one number: 0xNN, 0x0fNN, 0x0f38NN, 0x0f3aNN
 *   pfx    mandatory prefix: 0 (none, "NP"), 0x66, 0xf2, 0xf3; absent = any
 *   digit  ModRM.reg opcode extension (/0../7)
 *   rm     ModRM.rm for register-only encodings such as 0f 01 d0
 *   mod    'mem' or 'reg': the form exists only for that ModRM.mod
 *   ops    operands, e.g. 'Ev,Gv' (see OPERAND GRAMMAR below)
 *   size   'd64': operand size defaults to 64 in long mode (push, pop, …)
 *          'f64': operand size is always 64 in long mode (near branches)
 *   mode   'i64': invalid in 64-bit mode; 'o64': valid only in 64-bit mode
 *   lock   the LOCK prefix is allowed (with a memory destination)
 *   end    the instruction ends a basic block
 *   arg    small integer passed to the handler (ALU op, condition code, …)
 *   mn     mnemonic; 'a|b|c' picks by operand size 16|32|64 (cbw|cwde|cdqe)
 *   wf/uf  arithmetic flags written / left undefined by some operands (checked
 *          against the golden generator's masks in test/table-flags.test.ts)
 *   unit   'x87', 'mmx', 'sse', 'fwait' or 'fxstate': the execution unit, which
 *          CR0.TS/EM/MP and CR4.OSFXSR gate (#NM or #UD; see fpuGate in system.ts);
 *          set per family in opcodes.ts, MMX forms recognised by their P/Q/N operands
 *   specialize  optional: given the decoded instruction, a faster handler for
 *          that exact form (e.g. register-register at 32 bits), or null;
 *          it must behave exactly like `exec`, which stays the reference
 *
 * OPERAND GRAMMAR: a letter for the addressing method followed by a size.
 *   E r/m gpr or memory   G ModRM.reg gpr    M memory only     R ModRM.rm gpr (mod=3)
 *   I immediate           J relative offset  O moffs (no ModRM) Z gpr in opcode bits 2..0
 *   A far pointer immediate (Ap: offset, then selector; jmp/call far)
 *   V ModRM.reg xmm       W r/m xmm or mem   U ModRM.rm xmm     S segment reg (ModRM.reg)
 *   C control reg         D debug reg        P/Q/N mmx          X ds:rsi  Y es:rdi
 *   sizes: b w d q v(16/32/64) z(16/32, sign-extended to 64) y(32/64) dq ps pd ss sd x
 *   a (a pair of operand-size values: bound) p (far pointer: offset of the operand size and a selector) s (descriptor-table
 *   register image: 16-bit limit and a 32- or 64-bit base)
 *   fixed registers are written by name: AL, eAX (size v), zAX (size z: in/out), CL, DX, 1
 *   x87: M sizes t (80-bit real or BCD), e (14/28-byte FPU environment), f (94/108-byte
 *   FPU state); STi is ST(i) from ModRM.rm (mod=3), ST0 the stack top
 *   a register form and a memory form of different sizes are written reg/mem:
 *   Ry/Mb (pextrb: r32/r64 or m8), Udq/Md (insertps: xmm or m32); a bare M has
 *   no fixed size (lea, fxsave)
 */
import type { Handler, Insn } from './insn.js';

export interface OpDef {
  mn: string;
  code: number;
  pfx?: 0 | 0x66 | 0xf2 | 0xf3;
  digit?: number;
  rm?: number;
  mod?: 'mem' | 'reg';
  ops?: string;
  size?: 'd64' | 'f64';
  mode?: 'i64' | 'o64';
  lock?: boolean;
  end?: boolean;
  arg?: number;
  wf?: string;
  uf?: string;
  exec: Handler;
  specialize?: (i: Insn) => Handler | null;
  unit?: Unit;
}

export type Unit = 'x87' | 'fwait' | 'mmx' | 'sse' | 'fxstate';

/**
 * Bytes of an operand of size letter `s` (OPERAND GRAMMAR) at operand size
 * `osz`; 0 for operands with no fixed size (lea's M, the x87 environment and
 * state images, a descriptor-table image). The disassembler and the
 * assembler both read sizes through this.
 */
export function operandBytes(s: string, osz: number): number {
  switch (s) {
    case '': case 'e': case 'f': case 's': return 0;
    case 'b': return 1;
    case 'w': return 2;
    case 'd': case 'ss': return 4;
    case 'q': case 'sd': return 8;
    case 't': return 10;
    case 'dq': case 'x': case 'ps': case 'pd': return 16;
    case 'v': return osz;
    case 'z': return osz === 2 ? 2 : 4;
    // A far pointer: an offset of the operand size and a 16-bit selector.
    case 'p': return osz + 2;
    // A pair of operand-size values (bound's limits).
    case 'a': return osz * 2;
    case 'y': return osz === 8 ? 8 : 4;
  }
  throw new Error(`operand size letter '${s}' is not in the table grammar`);
}

/** Immediate kinds, in the order the bytes follow the ModRM/SIB/displacement. */
export const enum Imm { None = 0, B, W, Z, V, D, Moffs, Offset }

export interface OpRow extends OpDef {
  map: number;
  opcode: number;
  hasModrm: boolean;
  /** The first operand is a byte operand: the instruction's operand size is 1. */
  byteOp: boolean;
  imm1: Imm;
  imm2: Imm;
  operands: string[];
}

export function operandList(ops: string | undefined): string[] {
  return ops ? ops.split(',').map((s) => s.trim()).filter((s) => s.length > 0) : [];
}

/** An addressing method that needs ModRM, followed by a lower-case size ('CL' and 'DX' are fixed registers). */
const MODRM_OPERAND = /^[EGMRVWUSCDPQN][a-z]/;

function immKind(op: string): Imm {
  switch (op) {
    case 'Ib': case 'Jb': case 'sIb': return Imm.B;
    case 'Iw': return Imm.W;
    case 'Iz': case 'Jz': return Imm.Z;
    case 'Iv': return Imm.V;
    case 'Id': return Imm.D;
    case 'Ob': case 'Ov': return Imm.Moffs;
    default: return Imm.None;
  }
}

export function makeRow(d: OpDef): OpRow {
  const code = d.code;
  let map = 0, opcode = code;
  if (code > 0xffff) { map = ((code >> 8) & 0xff) === 0x38 ? 2 : 3; opcode = code & 0xff; }
  else if (code > 0xff) { map = 1; opcode = code & 0xff; }
  const operands = operandList(d.ops);
  const hasModrm = d.digit !== undefined || d.rm !== undefined || d.mod !== undefined ||
    operands.some((o) => MODRM_OPERAND.test(o));
  // A far pointer (Ap) is an offset of the operand size followed by a 16-bit selector.
  const imms = operands.flatMap((o) => o === 'Ap' ? [Imm.Offset, Imm.W] : [immKind(o)]).filter((k) => k !== Imm.None);
  const byteClass = (o: string): boolean => /^[EGZOXYRM]b$/.test(o) || o === 'AL';
  // out/outs name the port first: then the data operand, second, gives the size.
  const [first = '', second = ''] = operands;
  const byteOp = byteClass(first) || ((first === 'DX' || first === 'Ib') && byteClass(second));
  return { ...d, map, opcode, hasModrm, byteOp, imm1: imms[0] ?? Imm.None, imm2: imms[1] ?? Imm.None, operands };
}

/**
 * In an SSE family, forms on MMX registers (P, Q, N operands) are MMX; forms
 * with no vector register at all (movnti, crc32) use only general registers
 * and are not gated by CR0.TS/EM or CR4.OSFXSR.
 */
function unitOf(row: OpRow, family: Unit): Unit | undefined {
  if (family !== 'sse') return family;
  if (row.operands.some((o) => /^[PQN]/.test(o))) return 'mmx';
  return row.operands.some((o) => /^[VWU]/.test(o)) ? 'sse' : undefined;
}

/** Decoder lookup: per opcode map, per opcode byte, the candidate rows. */
export class OpTable {
  readonly rows: OpRow[] = [];
  readonly maps: (OpRow[] | undefined)[][] = [[], [], [], []];

  /** Adds a family; `unit` is its execution unit, refined per row (MMX forms of SSE families, explicit `unit` fields). */
  add(defs: OpDef[], unit?: Unit): void {
    for (const d of defs) {
      const row = makeRow(d);
      if (row.unit === undefined && unit !== undefined) row.unit = unitOf(row, unit);
      this.rows.push(row);
      const slot = (this.maps[row.map][row.opcode] ??= []);
      const clash = slot.find((o) => o.pfx === row.pfx && o.digit === row.digit && o.rm === row.rm && o.mod === row.mod && o.mode === row.mode);
      if (clash) throw new Error(`opcode table: ${row.mn} duplicates ${clash.mn} at ${row.code.toString(16)}`);
      if (slot.length > 0 && slot[0].hasModrm !== row.hasModrm) {
        throw new Error(`opcode table: ${row.mn} and ${slot[0].mn} disagree on ModRM at ${row.code.toString(16)}`);
      }
      slot.push(row);
    }
  }
}

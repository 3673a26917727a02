/**
 * Operands against table rows: for each row a mnemonic may encode as, and
 * each choice of the prefixes that set the operand size (none, 66, REX.W),
 * the decoder's rules give the operand size and the table's operand strings
 * then say which operands fit. Every fit becomes a Plan with its length in
 * bytes; the caller keeps the shortest, the first in table order on a tie,
 * which is what GNU as picks:
 *   - `add eax, 1` takes 83 /0 ib over 05 id and 81 /0 id (sign-extended imm8),
 *   - `add eax, 0x100` takes 05 id over 81 /0 id (the accumulator form),
 *   - `mov eax, ebx` takes 89 (Ev,Gv) over 8b (Gv,Ev): the earlier row,
 *   - `mov eax, 1` takes b8+r over c7 /0; `mov rax, 1` c7 /0 (imm32 sign-extended)
 *     over b8+r with an imm64; `shl eax, 1` d1 /4 over c1 /4 ib,
 *   - REX only when a register, REX.W or a byte register needs it; 66 and 67
 *     only when the operand or address size differs from the mode's.
 * Memory operands are laid out in address.ts.
 */
import type { OpRow } from '../../emu/cpu/table.js';
import { fail, type Loc } from './errors.js';
import type { Expr } from './expr.js';
import type { Form } from './forms.js';
import type { MemOperand, Operand } from './operands.js';
import { RegClass, type Reg } from './registers.js';
import { Field, OSZ_DEPENDENT, rowSpecs, sizeOf, type Spec } from './spec.js';
import { addressOf, addressSize, type Address } from './address.js';

export type Mode = 16 | 32 | 64;

/** An immediate, displacement or relative field: its width and, when known while parsing, its value. */
export interface ValueField {
  expr: Expr;
  value?: bigint;
  size: number;
  /** Sign-extended to a wider operand (sIb, Iz at 64 bits, disp): the range check is signed. */
  signed: boolean;
}

export interface Plan {
  row: OpRow;
  form: Form;
  osz: number;
  asz: number;
  p66: boolean;
  p67: boolean;
  rexW: boolean;
  /** REX.R, REX.X, REX.B bits, and whether a REX byte is needed at all for spl..dil. */
  rexRXB: number;
  rex40: boolean;
  noRex: boolean;
  /** ModRM.reg, the r/m register, or the memory operand; the opcode's register (+r). */
  reg: number;
  rmReg: number;
  mem?: Address;
  opReg: number;
  /** Segment override prefix byte, or 0. */
  seg: number;
  imms: ValueField[];
  /** The branch displacement (J operands). */
  rel?: ValueField;
  /** Size of an unsized memory operand, as this row would read it. */
  guessedSize?: number;
  len: number;
}

/** How the caller knows values: a known constant, or undefined (relocatable, not yet defined). */
export type ValueOf = (e: Expr) => bigint | undefined;

export interface Request {
  mnemonic: string;
  mode: Mode;
  forms: Form[];
  operands: Operand[];
  valueOf: ValueOf;
  /** A bare expression that is a symbol's address (±constant), which Intel syntax reads as memory. */
  isAddress: (e: Expr) => boolean;
  /** The mnemonic has branch forms: a bare expression is a branch target, never memory. */
  branch: boolean;
  /** The address size an addr16/addr32 prefix word asks for, if any. */
  asz?: number;
  loc: Loc;
}

export interface MatchResult {
  plans: Plan[];
  /** Some row would fit if the size of an unsized memory operand were known. */
  ambiguous: boolean;
  /** The most telling reason a row did not fit, for the error message: from the row that got furthest. */
  reason?: string;
  reasonScore?: number;
}

interface Variant { p66: boolean; rexW: boolean }

function variants(row: OpRow, mode: Mode): Variant[] {
  const out: Variant[] = [{ p66: false, rexW: false }];
  // A mandatory 66 is part of the opcode; with an NP row a 66 would select another row.
  if (row.pfx !== 0x66 && row.pfx !== 0) out.push({ p66: true, rexW: false });
  if (mode === 64 && row.size === undefined && !row.byteOp) out.push({ p66: false, rexW: true });
  return out;
}

/** The decoder's operand size (decode.ts) for a prefix choice. */
function operandSize(row: OpRow, mode: Mode, v: Variant): number {
  if (row.byteOp) return 1;
  if (mode === 64) {
    if (row.size === 'f64' || v.rexW) return 8;
    if (row.size === 'd64') return v.p66 ? 2 : 8;
    return v.p66 ? 2 : 4;
  }
  return (mode === 32) !== v.p66 ? 4 : 2;
}

/** GNU as takes the two operands of these in either order (its templates list both). */
const SYMMETRIC = new Set(['xchg', 'test']);

export function match(req: Request): MatchResult {
  const result: MatchResult = { plans: [], ambiguous: false };
  matchOrder(req, result);
  // The written order first, so that on a tie it wins (xchg ebx, ecx is 87 cb).
  if (req.operands.length === 2 && SYMMETRIC.has(req.mnemonic)) matchOrder({ ...req, operands: [req.operands[1], req.operands[0]] }, result);
  return result;
}

function matchOrder(req: Request, result: MatchResult): void {
  for (const form of req.forms) {
    const row = form.row;
    if (row.mode === 'i64' && req.mode === 64) { noteReason(result, `${row.mn.split('|')[0]} is not valid in 64-bit mode`, 0); continue; }
    if (row.mode === 'o64' && req.mode !== 64) { noteReason(result, `${row.mn.split('|')[0]} is valid only in 64-bit mode`, 0); continue; }
    for (const v of variants(row, req.mode)) {
      const osz = operandSize(row, req.mode, v);
      if (form.osz !== undefined && !form.osz.includes(fixed64(row, req.mode) ? 8 : osz)) continue;
      if (form.asz !== undefined && !(req.mode === 64 ? [4, 8] : [2, 4]).includes(form.asz)) continue;
      new Fitter(req, form, v, osz, result).run();
    }
  }
}

/** Keeps `reason` if it comes from a row that got further than the one kept so far. */
function noteReason(result: MatchResult, reason: string, score: number): void {
  if (result.reasonScore === undefined || score > result.reasonScore) {
    result.reason = reason;
    result.reasonScore = score;
  }
}

/** Fits one row at one operand size; adds a Plan to the result if every operand fits. */
class Fitter {
  private readonly row: OpRow;
  private readonly plan: Plan;
  /** The operand size is fixed by something other than an unsized memory operand. */
  private determined: boolean;
  private pendingGuess?: { size: number; dependent: boolean; far: boolean };

  constructor(private readonly req: Request, private readonly form: Form, private readonly v: Variant,
    private readonly osz: number, private readonly result: MatchResult) {
    this.row = form.row;
    this.determined = form.osz !== undefined || ((this.row.size === 'd64' || this.row.size === 'f64') && !v.p66 && !v.rexW);
    this.plan = {
      row: this.row, form, osz, asz: form.asz ?? req.asz ?? defaultAsz(req.mode), p66: v.p66, p67: false, rexW: v.rexW,
      rexRXB: 0, rex40: false, noRex: false, reg: -1, rmReg: -1, opReg: -1, seg: 0, imms: [], len: 0,
    };
  }

  /** Operands fitted so far, plus a half when the current one has the right kind but not the right size or value. */
  private depth = 0;

  private no(reason: string, partial = false): false {
    noteReason(this.result, reason, this.depth + (partial ? 0.5 : 0));
    return false;
  }

  run(): void {
    const specs = rowSpecs(this.row);
    if (this.form.implicit && this.req.operands.length > 0) { this.no(`${this.row.mn} takes its operands written out, or none`); return; }
    const ops = this.form.implicit ? this.impliedOperands(specs) : this.req.operands;
    const used = this.align(specs, ops);
    if (used === null) return;
    for (let k = 0; k < specs.length; k++) {
      const op = used[k];
      if (op === undefined) continue;
      if (!this.fit(specs[k], op, k)) return;
      this.depth++;
    }
    if (this.form.movabs && !this.isMovabs(specs)) return;
    if (this.form.xchg && !this.xchgIsNotNop()) return;
    const p = this.plan;
    if (p.noRex && (p.rex40 || p.rexW || p.rexRXB !== 0)) { this.no('ah, bh, ch or dh cannot be used with a REX prefix', true); return; }
    // Nothing written fixes the operand size (push 1, jmp label): it is the mode's, never a prefixed one.
    if (!this.determined && (this.v.p66 || this.v.rexW)) return;
    if (this.pendingGuess !== undefined) {
      if (this.pendingGuess.dependent && !this.determined) {
        // Unless a register fixes it (lds) a far pointer is never guessed: jmp [rax] is near.
        if (!this.pendingGuess.far) this.result.ambiguous = true;
        return;
      }
      p.guessedSize = this.pendingGuess.size;
    }
    if ((p.rexW || p.rexRXB !== 0 || p.rex40) && this.req.mode !== 64) { this.no('REX registers exist only in 64-bit mode', true); return; }
    p.p67 = p.asz !== defaultAsz(this.req.mode);
    p.len = planLength(p);
    this.result.plans.push(p);
  }

  /**
   * Pairs operands with the row's operand strings. GNU as lets the implicit
   * ones go unwritten: the 1 of a shift, blendv's XMM0, the ST0 of x87 forms.
   */
  private align(specs: Spec[], ops: Operand[]): (Operand | undefined)[] | null {
    if (ops.length === specs.length) return ops;
    if (ops.length > specs.length) { this.no(`${this.row.mn.split('|')[0]} takes ${specs.length} operand${specs.length === 1 ? '' : 's'}`); return null; }
    const omissible = (s: Spec): boolean => s.one === true || s.fixed?.cls === RegClass.Xmm || s.fixed?.cls === RegClass.St;
    const out: (Operand | undefined)[] = [];
    let k = 0;
    let missing = specs.length - ops.length;
    for (const s of specs) {
      if (missing > 0 && omissible(s) && (k >= ops.length || !this.couldBe(s, ops[k]))) { out.push(undefined); missing--; continue; }
      out.push(ops[k++]);
    }
    if (k !== ops.length || missing !== 0) { this.no(`${this.row.mn.split('|')[0]} takes ${specs.length} operands`); return null; }
    return out;
  }

  private couldBe(s: Spec, op: Operand): boolean {
    if (s.fixed !== undefined) return op.k === 'reg' && op.reg.cls === s.fixed.cls && op.reg.num === s.fixed.num;
    return false;
  }

  /** movsb, lodsq, nop, …: the operands the instruction implies, at the mode's address size. */
  private impliedOperands(specs: Spec[]): Operand[] {
    const asz = this.req.asz ?? defaultAsz(this.req.mode);
    const names = asz === 8 ? ['rsi', 'rdi'] : asz === 4 ? ['esi', 'edi'] : ['si', 'di'];
    return specs.map((s): Operand => {
      if (s.field === Field.StrSrc) return { k: 'mem', scale: 1, base: { name: names[0], cls: RegClass.Gpr, num: 6, size: asz } };
      if (s.field === Field.StrDst) return { k: 'mem', scale: 1, seg: 0, base: { name: names[1], cls: RegClass.Gpr, num: 7, size: asz } };
      if (s.field === Field.Opcode) return { k: 'reg', reg: { name: '', cls: RegClass.Gpr, num: this.row.opcode & 7, size: sizeOf(s.regSize!, this.osz) } };
      const f = s.fixed!;
      return { k: 'reg', reg: { name: '', cls: f.cls, num: f.num, size: f.size === '' ? 0 : sizeOf(f.size, this.osz) } };
    });
  }

  private fit(s: Spec, op: Operand, k: number): boolean {
    switch (op.k) {
      case 'reg': return this.fitReg(s, op.reg, k);
      case 'mem': return this.fitMem(s, op);
      case 'imm': return this.fitImm(s, op.expr, op.size);
      case 'far': return this.fitFar(s, op.sel, op.off);
      case 'bare': {
        if (s.field === Field.Rel) return this.fitRel(s, op.expr);
        if (this.req.branch) return this.no('a branch target where the row wants another operand');
        if (this.req.isAddress(op.expr)) return this.fitMem(s, { k: 'mem', scale: 1, disp: op.expr });
        return this.fitImm(s, op.expr, undefined);
      }
    }
  }

  private regSizeOk(letter: string | undefined, reg: Reg): boolean {
    if (reg.cls !== RegClass.Gpr || letter === undefined || letter === '') return true;
    if (OSZ_DEPENDENT.has(letter)) this.determined = true;
    return sizeOf(letter, this.osz) === reg.size;
  }

  private useRegister(reg: Reg, rexBit: number): void {
    if (reg.num >= 8) this.plan.rexRXB |= rexBit;
    if (reg.needsRex) this.plan.rex40 = true;
    if (reg.high8) this.plan.noRex = true;
  }

  private fitReg(s: Spec, reg: Reg, k: number): boolean {
    const p = this.plan;
    if (s.fixed !== undefined) {
      const f = s.fixed;
      if (reg.cls !== f.cls || reg.num !== f.num || reg.high8) return this.no(`${reg.name} where the row wants ${s.text}`);
      if (!this.regSizeOk(f.size, reg)) return this.no(`${reg.name} has the wrong size for ${s.text}`, true);
      return true;
    }
    if (s.cls === undefined || reg.cls !== s.cls) return this.no(`${reg.name} where the row wants ${s.text}`);
    if (reg.cls === RegClass.Gpr && reg.size === 8 && this.req.mode !== 64) return this.no('64-bit registers exist only in 64-bit mode', true);
    if (reg.num >= 8 && this.req.mode !== 64) return this.no(`${reg.name} exists only in 64-bit mode`, true);
    if (s.regSize === 'v' && s.memSize === 'w') {
      // Rv/Mw moves a word (the memory form says so): as the source any register will do,
      // as the destination a 64-bit register is written like its zero-extended 32-bit half.
      if (reg.size === 1 || (k === 0 && (reg.size === 2) !== (this.osz === 2))) return this.no(`${reg.name} has the wrong size for ${s.text}`, true);
      if (k === 0) this.determined = true;
    } else if (!this.regSizeOk(s.regSize, reg)) return this.no(`${reg.name} has the wrong size for ${s.text}`, true);
    switch (s.field) {
      case Field.Reg: p.reg = reg.num; this.useRegister(reg, 4); break;
      case Field.Rm: p.rmReg = reg.num; this.useRegister(reg, 1); break;
      case Field.Opcode:
        if ((this.row.opcode & 7) !== (reg.num & 7)) return false;
        p.opReg = reg.num;
        this.useRegister(reg, 1);
        break;
      default: return false;
    }
    return true;
  }

  /** The memory size this row reads for operand string `s`. */
  private memSizeOf(s: Spec): { size: number; dependent: boolean } | undefined {
    if (s.memBySize !== undefined) {
      const letter = s.memBySize[this.osz === 2 ? 0 : this.osz === 4 ? 1 : 2];
      return { size: sizeOf(letter, this.osz), dependent: true };
    }
    if (s.memSize === undefined) return undefined;
    return { size: sizeOf(s.memSize, this.osz), dependent: OSZ_DEPENDENT.has(s.memSize) };
  }

  private fitMem(s: Spec, m: MemOperand): boolean {
    const want = this.memSizeOf(s);
    if (want === undefined) return this.no(`memory where the row wants ${s.text}`);
    if (m.size !== undefined) {
      if (want.size !== 0 && m.size !== want.size) return this.no(`a ${m.size}-byte memory operand where the row wants ${s.text}`, true);
      if (want.dependent) this.determined = true;
    } else if (want.size !== 0) {
      this.pendingGuess = { ...want, far: s.memSize === 'p' };
    }
    const p = this.plan;
    const asz = addressSize(m, this.req.mode, this.req.asz);
    if (typeof asz === 'string') return this.no(asz, true);
    p.asz = asz;
    if (s.field === Field.StrSrc || s.field === Field.StrDst) return this.fitString(s, m);
    if (s.field === Field.Moffs) {
      if (m.base !== undefined || m.index !== undefined || m.disp === undefined) return this.no('moffs needs an absolute address');
      const value = this.req.valueOf(m.disp);
      if (value !== undefined && !fitsUnsigned(value, asz * 8)) return this.no('address out of range', true);
      p.imms.push({ expr: m.disp, value, size: asz, signed: false });
      p.seg = this.segPrefix(m.seg, false);
      return true;
    }
    if (s.field !== Field.Rm) return this.no(`memory where the row wants ${s.text}`);
    if (this.row.mod === 'reg' || this.row.rm !== undefined) return this.no(`memory where the row wants a register`);
    const a = addressOf(m, asz, this.req.mode, this.req.valueOf);
    if (typeof a === 'string') return this.no(a, true);
    p.mem = a;
    p.rexRXB |= a.rex;
    p.seg = this.segPrefix(m.seg, a.ssDefault);
    return true;
  }

  /** The override byte for `seg` (a Seg number), or 0 where it is the default segment anyway. */
  private segPrefix(seg: number | undefined, ssDefault: boolean): number {
    if (seg === undefined) return 0;
    if (seg === (ssDefault ? 2 : 3)) return 0;
    return [0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65][seg];
  }

  private fitString(s: Spec, m: MemOperand): boolean {
    const want = s.field === Field.StrSrc ? 6 : 7;
    if (m.base === undefined || m.base.num !== want || m.index !== undefined || m.disp !== undefined) {
      return this.no(`${s.field === Field.StrSrc ? 'ds:[rsi]' : 'es:[rdi]'} where the row wants ${s.text}`);
    }
    if (s.field === Field.StrDst) {
      if (m.seg !== undefined && m.seg !== 0) return this.no('the destination of a string instruction is always es:');
      return true;
    }
    const seg = this.segPrefix(m.seg, false);
    if (seg !== 0) {
      if (this.plan.seg !== 0 && this.plan.seg !== seg) return this.no('two segment overrides');
      this.plan.seg = seg;
    }
    return true;
  }

  private fitImm(s: Spec, expr: Expr, size: number | undefined): boolean {
    let value = this.req.valueOf(expr);
    // Outside 64-bit code GNU as reads 0x80000000..0xffffffff as the negative 32-bit values they are.
    if (value !== undefined && this.req.mode !== 64 && value >= 1n << 31n && value < 1n << 32n) value -= 1n << 32n;
    if (s.one) {
      if (value !== 1n) return this.no('the row wants the constant 1');
      return true;
    }
    if (s.field !== Field.Imm) return this.no(`an immediate where the row wants ${s.text}`);
    const letter = s.immSize!;
    const osz = this.osz;
    let bytes: number, signed = false, ok: boolean;
    if (s.signed) {
      // sIb: an imm8 the CPU sign-extends to the operand size; only a known value can take it.
      bytes = 1;
      signed = true;
      ok = value !== undefined && fitsUnsigned(value, osz * 8) && inSigned(BigInt.asIntN(osz * 8, value), 8);
    } else if (letter === 'z' && osz === 8) {
      bytes = 4;
      signed = true;
      ok = value === undefined || inSigned(value, 32);
    } else {
      bytes = letter === 'z' ? (osz === 2 ? 2 : 4) : letter === 'v' ? osz : sizeOf(letter, osz);
      ok = value === undefined || fitsUnsigned(value, bytes * 8);
    }
    if (size !== undefined) {
      // push DWORD PTR 1: the size written fixes the operand size.
      if (size !== (s.signed || letter === 'z' || letter === 'v' ? osz : bytes)) return this.no(`a ${size}-byte immediate where the row wants ${s.text}`, true);
      this.determined = true;
    }
    if (!ok) return this.no(value === undefined ? `${s.text} needs a value known at this point` : `value ${value} does not fit ${s.text}`, true);
    this.plan.imms.push({ expr, value, size: bytes, signed });
    return true;
  }

  private fitRel(s: Spec, expr: Expr): boolean {
    const bytes = s.immSize === 'b' ? 1 : this.osz === 2 ? 2 : 4;
    this.plan.rel = { expr, value: undefined, size: bytes, signed: true };
    return true;
  }

  private fitFar(s: Spec, sel: Expr, off: Expr): boolean {
    if (s.field !== Field.Far) return this.no(`a far pointer where the row wants ${s.text}`);
    const bytes = this.osz === 2 ? 2 : 4;
    const o = this.req.valueOf(off), g = this.req.valueOf(sel);
    if (o !== undefined && !fitsUnsigned(o, bytes * 8)) return this.no('far pointer offset out of range', true);
    if (g !== undefined && !fitsUnsigned(g, 16)) return this.no('selector out of range', true);
    this.plan.imms.push({ expr: off, value: o, size: bytes, signed: false }, { expr: sel, value: g, size: 2, signed: false });
    return true;
  }

  /** movabs: the row's Iv at 64 bits, or a 64-bit moffs. */
  private isMovabs(specs: Spec[]): boolean {
    const moffs = specs.some((s) => s.field === Field.Moffs);
    return moffs ? this.plan.asz === 8 : this.osz === 8;
  }

  /** xchg via 90+r: with eAX itself at 32 bits in 64-bit mode it would be nop, which does not zero-extend. */
  private xchgIsNotNop(): boolean {
    const p = this.plan;
    return !(p.opReg === 0 && this.osz === 4 && this.req.mode === 64);
  }
}

/**
 * In 64-bit mode near branches and descriptor-table images (lgdt's m16&64)
 * are 64-bit whatever the prefixes say, as the disassembler prints them: a
 * spelling that names another size (sgdtd, lgdtw) does not exist there.
 */
function fixed64(row: OpRow, mode: Mode): boolean {
  return mode === 64 && (row.size === 'f64' || rowSpecs(row).some((s) => s.memSize === 's'));
}

export function defaultAsz(mode: Mode): number {
  return mode === 64 ? 8 : mode === 32 ? 4 : 2;
}

export function inSigned(v: bigint, bits: number): boolean {
  const lim = 1n << BigInt(bits - 1);
  return v >= -lim && v < lim;
}

/** A value that fits `bits` bits read either as signed or as unsigned. */
export function fitsUnsigned(v: bigint, bits: number): boolean {
  if (bits >= 64) return true;
  return v >= -(1n << BigInt(bits - 1)) && v < 1n << BigInt(bits);
}

/** Bytes of a plan: prefixes, REX, opcode, ModRM, SIB, displacement, immediates. */
export function planLength(p: Plan): number {
  const row = p.row;
  let n = (p.form.wait ? 1 : 0) + (p.seg ? 1 : 0) + (p.p67 ? 1 : 0) + (p.p66 || row.pfx === 0x66 ? 1 : 0);
  if (row.pfx === 0xf2 || row.pfx === 0xf3) n++;
  if (p.rexW || p.rexRXB !== 0 || p.rex40) n++;
  n += row.map === 0 ? 1 : row.map === 1 ? 2 : 3;
  if (row.hasModrm) {
    n++;
    if (p.mem !== undefined) n += (p.mem.sib !== undefined ? 1 : 0) + (p.mem.disp?.size ?? 0);
  }
  for (const imm of p.imms) n += imm.size;
  if (p.rel !== undefined) n += p.rel.size;
  return n;
}

/**
 * The best plan: the shortest; on a tie the one without 66/REX.W choosing its
 * size (movq xmm, m64 is f3 0f 7e, not 66 REX.W 0f 6e), then the one with
 * the shorter immediate (add ax, 0x7f is 66 83 /0 ib, not 66 05 iw), then
 * the first in table order.
 */
export function best(plans: Plan[]): Plan | undefined {
  let out: Plan | undefined;
  const sizePrefixes = (p: Plan): number => (p.p66 ? 1 : 0) + (p.rexW ? 1 : 0);
  const immBytes = (p: Plan): number => p.imms.reduce((n, f) => n + f.size, 0);
  for (const p of plans) {
    if (out === undefined || p.len < out.len) { out = p; continue; }
    if (p.len > out.len) continue;
    const d = sizePrefixes(p) - sizePrefixes(out);
    if (d < 0 || (d === 0 && immBytes(p) < immBytes(out))) out = p;
  }
  return out;
}

export function noMatch(loc: Loc, mnemonic: string, r: MatchResult): never {
  if (r.ambiguous) fail(loc, `ambiguous operand size for '${mnemonic}' (say BYTE/WORD/DWORD/QWORD PTR)`);
  fail(loc, `no form of '${mnemonic}' takes these operands${r.reason ? ` (${r.reason})` : ''}`);
}

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
 *
 * Fitting is the costly part, and most rows of a mnemonic cannot take the
 * operands at all (mov: 32 rows, 79 row and prefix choices): what each row
 * accepts is read from the table once, as bits per operand string, and only
 * the rows whose bits admit the operands' kinds are fitted; which rows those
 * are is remembered per mnemonic, mode and sequence of operand kinds.
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

/**
 * Operand kinds as bits: a general register by size, other registers by
 * class, memory by PTR size, immediates (with a PTR size or not), far
 * pointers, branch targets. A row whose operand string accepts none of an
 * operand's bits cannot take it, which rules out most rows without fitting
 * them (see Candidate). Registers also have a bit for their number's low
 * three bits, for the rows that name one register (eAX, CL) or encode it in
 * the opcode (b8+r).
 */
const GPR_BITS: Record<number, number> = { 1: 1 << 0, 2: 1 << 1, 4: 1 << 2, 8: 1 << 3 };
const ALL_GPR = 0xf;
const regBit = (cls: RegClass): number => 1 << (3 + cls);
const MEM_BITS: Record<number, number> = { 1: 1 << 12, 2: 1 << 13, 4: 1 << 14, 6: 1 << 15, 8: 1 << 16, 10: 1 << 17, 16: 1 << 18 };
const MEM_UNSIZED = 1 << 11, MEM_OTHER = 1 << 19, ALL_MEM = 0xff800, SIZED_MEM = ALL_MEM & ~MEM_UNSIZED;
const IMM = 1 << 20, SIZED_IMM = 1 << 21, FAR = 1 << 22, REL = 1 << 23;
const ALL_NUMS = 0xff;

const memBit = (size: number | undefined): number => (size === undefined ? MEM_UNSIZED : MEM_BITS[size] ?? MEM_OTHER);

/** The memory size a row reads for operand string `s` at operand size `osz`; undefined if it takes no memory. */
function memSizeOf(s: Spec, osz: number): { size: number; dependent: boolean } | undefined {
  if (s.memBySize !== undefined) {
    const letter = s.memBySize[osz === 2 ? 0 : osz === 4 ? 1 : 2];
    return { size: sizeOf(letter, osz), dependent: true };
  }
  if (s.memSize === undefined) return undefined;
  return { size: sizeOf(s.memSize, osz), dependent: OSZ_DEPENDENT.has(s.memSize) };
}

/**
 * What the Fitter could accept for operand string `s` (k-th of the row) at
 * operand size `osz`, always a superset: `kinds`, the register numbers
 * (`nums`, low three bits), and the kinds that would fix the operand size
 * (`fixing`: a register or a PTR size where the size letter depends on it).
 */
function specBits(row: OpRow, s: Spec, k: number, osz: number): { kinds: number; nums: number; fixing: number } {
  let kinds = 0, nums = ALL_NUMS, fixing = 0;
  const dependent = (letter: string | undefined): boolean => letter !== undefined && OSZ_DEPENDENT.has(letter);
  if (s.fixed !== undefined) {
    const f = s.fixed;
    kinds |= f.cls !== RegClass.Gpr ? regBit(f.cls) : f.size === '' ? ALL_GPR : GPR_BITS[sizeOf(f.size, osz)] ?? 0;
    nums = 1 << (f.num & 7);
    if (f.cls === RegClass.Gpr && dependent(f.size)) fixing |= ALL_GPR;
  } else if (s.cls !== undefined && (s.field === Field.Reg || s.field === Field.Rm || s.field === Field.Opcode)) {
    if (s.cls !== RegClass.Gpr) kinds |= regBit(s.cls);
    else if (s.regSize === 'v' && s.memSize === 'w') {
      kinds |= GPR_BITS[2] | GPR_BITS[4] | GPR_BITS[8];
      if (k === 0) fixing |= ALL_GPR;
    } else {
      kinds |= s.regSize === undefined || s.regSize === '' ? ALL_GPR : GPR_BITS[sizeOf(s.regSize, osz)] ?? 0;
      if (dependent(s.regSize)) fixing |= ALL_GPR;
    }
    if (s.field === Field.Opcode) nums = 1 << (row.opcode & 7);
  }
  const want = memSizeOf(s, osz);
  const memField = s.field === Field.StrSrc || s.field === Field.StrDst || s.field === Field.Moffs ||
    (s.field === Field.Rm && row.mod !== 'reg' && row.rm === undefined);
  if (want !== undefined && memField) {
    kinds |= want.size === 0 ? ALL_MEM : MEM_UNSIZED | memBit(want.size);
    if (want.dependent) fixing |= SIZED_MEM;
  }
  if (s.one || s.field === Field.Imm) kinds |= IMM | SIZED_IMM;
  if (s.field === Field.Imm) fixing |= SIZED_IMM;
  if (s.field === Field.Far) kinds |= FAR;
  if (s.field === Field.Rel) kinds |= REL;
  return { kinds, nums, fixing };
}

/**
 * A row at one prefix choice the mode allows, or (`invalid`) a row the mode
 * rules out, kept for the error message. Per operand string, the specBits;
 * `kinds` is null for a string instruction spelled without operands.
 * `needsFixing`: a 66 or REX.W variant, which fits only if an operand fixes
 * the operand size (else the size is the mode's: push 1, jmp label).
 */
interface Candidate {
  form: Form; v: Variant; osz: number;
  kinds: number[] | null; nums: number[]; fixing: number[]; needsFixing: boolean;
  invalid?: string;
}

/**
 * The candidates plausible for operands of given kinds, found once per
 * sequence of Fact codes (kind and number bits): a tree with one level per operand.
 */
interface Survivors { next: Map<number, Survivors>; list?: Candidate[] }

interface Prepared {
  /** By mode: 16, 32, 64. */
  byMode: ({ all: Candidate[]; survivors: Survivors } | undefined)[];
  /** The mnemonic has branch forms: a bare expression is a branch target, never memory. */
  branch: boolean;
}

/** What each form list needs per mode, derived from the table once: formsOf returns one array per mnemonic. */
const prepared = new WeakMap<Form[], Prepared>();

function prepare(forms: Form[]): Prepared {
  let p = prepared.get(forms);
  if (p === undefined) {
    p = { byMode: [], branch: forms.some((f) => rowSpecs(f.row).some((s) => s.field === Field.Rel)) };
    prepared.set(forms, p);
  }
  return p;
}

/** The mnemonic has branch forms: a bare expression operand is a branch target, not evaluated while matching. */
export function isBranch(forms: Form[]): boolean {
  return prepare(forms).branch;
}

function candidates(p: Prepared, forms: Form[], mode: Mode): { all: Candidate[]; survivors: Survivors } {
  const slot = mode === 16 ? 0 : mode === 32 ? 1 : 2;
  let c = p.byMode[slot];
  if (c === undefined) p.byMode[slot] = c = { all: candidatesFor(forms, mode), survivors: { next: new Map() } };
  return c;
}

function candidatesFor(forms: Form[], mode: Mode): Candidate[] {
  const out: Candidate[] = [];
  const invalid = (form: Form, why: string): Candidate =>
    ({ form, v: NO_PREFIX, osz: 0, kinds: null, nums: [], fixing: [], needsFixing: false, invalid: `${form.row.mn.split('|')[0]} ${why}` });
  for (const form of forms) {
    const row = form.row;
    if (row.mode === 'i64' && mode === 64) { out.push(invalid(form, 'is not valid in 64-bit mode')); continue; }
    if (row.mode === 'o64' && mode !== 64) { out.push(invalid(form, 'is valid only in 64-bit mode')); continue; }
    for (const v of variants(row, mode)) {
      const osz = operandSize(row, mode, v);
      if (form.osz !== undefined && !form.osz.includes(fixed64(row, mode) ? 8 : osz)) continue;
      if (form.asz !== undefined && !(mode === 64 ? [4, 8] : [2, 4]).includes(form.asz)) continue;
      const bits = rowSpecs(row).map((s, k) => specBits(row, s, k, osz));
      out.push({
        form, v, osz, kinds: form.implicit ? null : bits.map((b) => b.kinds), nums: bits.map((b) => b.nums), fixing: bits.map((b) => b.fixing),
        needsFixing: (v.p66 || v.rexW) && form.osz === undefined,
      });
    }
  }
  return out;
}

/** The candidates plausible for `facts`, in table order. */
function survivors(c: { all: Candidate[]; survivors: Survivors }, facts: Fact[]): Candidate[] {
  let node = c.survivors;
  for (const f of facts) {
    const code = f.kind + f.num * 2 ** 24;
    let next = node.next.get(code);
    if (next === undefined) node.next.set(code, (next = { next: new Map() }));
    node = next;
  }
  return (node.list ??= c.all.filter((x) => x.invalid === undefined && plausible(x, facts)));
}

const NO_PREFIX: Variant = { p66: false, rexW: false };

/** Can candidate `c` take operands of these kinds (only their kind and num bits count)? False only where the Fitter would refuse them too. */
function plausible(c: Candidate, facts: Fact[]): boolean {
  if (c.kinds === null) return facts.length === 0;
  const n = c.kinds.length;
  // Fewer operands than operand strings: the Fitter works out which ones were left implicit.
  if (facts.length !== n) return facts.length < n;
  let fixed = !c.needsFixing;
  for (let k = 0; k < n; k++) {
    const f = facts[k];
    if ((c.kinds[k] & f.kind) === 0 || (c.nums[k] & f.num) === 0) return false;
    if ((c.fixing[k] & f.kind) !== 0) fixed = true;
  }
  return fixed;
}

/**
 * An operand with what every row asks of it, worked out once: its kind and
 * number bits and the value of its expression (in operand order, as fitting
 * the rows one after another would first evaluate them).
 */
interface Fact {
  op: Operand;
  kind: number;
  num: number;
  /** An immediate's value, a memory operand's displacement (0 when none), a bare expression's; undefined if not known yet. */
  value?: bigint;
  /** A bare expression read as memory (a symbol's address), and as that operand. */
  mem?: MemOperand;
}

function factOf(op: Operand, req: Request, branch: boolean): Fact {
  switch (op.k) {
    case 'reg': return { op, kind: op.reg.cls === RegClass.Gpr ? GPR_BITS[op.reg.size] ?? 0 : regBit(op.reg.cls), num: 1 << (op.reg.num & 7) };
    case 'mem': return { op, kind: memBit(op.size), num: ALL_NUMS, value: op.disp === undefined ? 0n : req.valueOf(op.disp) };
    case 'imm': return { op, kind: op.size === undefined ? IMM : SIZED_IMM, num: ALL_NUMS, value: req.valueOf(op.expr) };
    case 'far': return { op, kind: FAR, num: ALL_NUMS };
    case 'bare': {
      if (branch) return { op, kind: REL, num: ALL_NUMS };
      if (req.isAddress(op.expr)) return { op, kind: REL | MEM_UNSIZED, num: ALL_NUMS, value: req.valueOf(op.expr), mem: { k: 'mem', scale: 1, disp: op.expr } };
      return { op, kind: REL | IMM, num: ALL_NUMS, value: req.valueOf(op.expr) };
    }
  }
}

/** GNU as takes the two operands of these in either order (its templates list both). */
const SYMMETRIC = new Set(['xchg', 'test']);

/**
 * Every plan for the request. Rows that cannot take the operands' kinds are
 * skipped unless `all`, which fits every row to find the most telling reason
 * for an error message; the plans and `ambiguous` are the same either way.
 */
export function match(req: Request, all = false): MatchResult {
  const result: MatchResult = { plans: [], ambiguous: false };
  const p = prepare(req.forms);
  const c = candidates(p, req.forms, req.mode);
  const facts = req.operands.map((op) => factOf(op, req, p.branch));
  matchOrder(req, all ? c.all : survivors(c, facts), facts, p.branch, result);
  // The written order first, so that on a tie it wins (xchg ebx, ecx is 87 cb).
  if (facts.length === 2 && SYMMETRIC.has(req.mnemonic)) {
    const swapped = [facts[1], facts[0]];
    matchOrder(req, all ? c.all : survivors(c, swapped), swapped, p.branch, result);
  }
  return result;
}

function matchOrder(req: Request, list: Candidate[], facts: Fact[], branch: boolean, result: MatchResult): void {
  for (const c of list) {
    if (c.invalid !== undefined) noteReason(result, c.invalid, 0);
    else new Fitter(req, c.form, c.v, c.osz, result, facts, branch).run();
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
    private readonly osz: number, private readonly result: MatchResult, private readonly facts: Fact[], private readonly branch: boolean) {
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
    if (this.form.implicit && this.facts.length > 0) { this.no(`${this.row.mn} takes its operands written out, or none`); return; }
    const ops = this.form.implicit ? this.impliedOperands(specs) : this.facts;
    const used = this.align(specs, ops);
    if (used === null) return;
    for (let k = 0; k < specs.length; k++) {
      const f = used[k];
      if (f === undefined) continue;
      if (!this.fit(specs[k], f, k)) return;
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
  private align(specs: Spec[], ops: Fact[]): (Fact | undefined)[] | null {
    if (ops.length === specs.length) return ops;
    if (ops.length > specs.length) { this.no(`${this.row.mn.split('|')[0]} takes ${specs.length} operand${specs.length === 1 ? '' : 's'}`); return null; }
    const omissible = (s: Spec): boolean => s.one === true || s.fixed?.cls === RegClass.Xmm || s.fixed?.cls === RegClass.St;
    const out: (Fact | undefined)[] = [];
    let k = 0;
    let missing = specs.length - ops.length;
    for (const s of specs) {
      if (missing > 0 && omissible(s) && (k >= ops.length || !this.couldBe(s, ops[k].op))) { out.push(undefined); missing--; continue; }
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
  private impliedOperands(specs: Spec[]): Fact[] {
    const asz = this.req.asz ?? defaultAsz(this.req.mode);
    const names = asz === 8 ? ['rsi', 'rdi'] : asz === 4 ? ['esi', 'edi'] : ['si', 'di'];
    return specs.map((s): Operand => {
      if (s.field === Field.StrSrc) return { k: 'mem', scale: 1, base: { name: names[0], cls: RegClass.Gpr, num: 6, size: asz } };
      if (s.field === Field.StrDst) return { k: 'mem', scale: 1, seg: 0, base: { name: names[1], cls: RegClass.Gpr, num: 7, size: asz } };
      if (s.field === Field.Opcode) return { k: 'reg', reg: { name: '', cls: RegClass.Gpr, num: this.row.opcode & 7, size: sizeOf(s.regSize!, this.osz) } };
      const f = s.fixed!;
      return { k: 'reg', reg: { name: '', cls: f.cls, num: f.num, size: f.size === '' ? 0 : sizeOf(f.size, this.osz) } };
    }).map((op) => factOf(op, this.req, this.branch));
  }

  private fit(s: Spec, f: Fact, k: number): boolean {
    const op = f.op;
    switch (op.k) {
      case 'reg': return this.fitReg(s, op.reg, k);
      case 'mem': return this.fitMem(s, op, f.value);
      case 'imm': return this.fitImm(s, op.expr, f.value, op.size);
      case 'far': return this.fitFar(s, op.sel, op.off);
      case 'bare': {
        if (s.field === Field.Rel) return this.fitRel(s, op.expr);
        if (this.branch) return this.no('a branch target where the row wants another operand');
        if (f.mem !== undefined) return this.fitMem(s, f.mem, f.value);
        return this.fitImm(s, op.expr, f.value, undefined);
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

  /** `value`: the displacement's, 0 without one, undefined if not known yet. */
  private fitMem(s: Spec, m: MemOperand, value: bigint | undefined): boolean {
    const want = memSizeOf(s, this.osz);
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
      if (value !== undefined && !fitsUnsigned(value, asz * 8)) return this.no('address out of range', true);
      p.imms.push({ expr: m.disp, value, size: asz, signed: false });
      p.seg = this.segPrefix(m.seg, false);
      return true;
    }
    if (s.field !== Field.Rm) return this.no(`memory where the row wants ${s.text}`);
    if (this.row.mod === 'reg' || this.row.rm !== undefined) return this.no(`memory where the row wants a register`);
    const a = addressOf(m, value, asz, this.req.mode);
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

  private fitImm(s: Spec, expr: Expr, known: bigint | undefined, size: number | undefined): boolean {
    let value = known;
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

/** 2**n for n up to 64, made once: range checks run for every immediate and displacement. */
const POW2: bigint[] = Array.from({ length: 65 }, (_, n) => 1n << BigInt(n));
const NEG_POW2: bigint[] = POW2.map((p) => -p);

export function inSigned(v: bigint, bits: number): boolean {
  return v >= NEG_POW2[bits - 1] && v < POW2[bits - 1];
}

/** A value that fits `bits` bits read either as signed or as unsigned. */
export function fitsUnsigned(v: bigint, bits: number): boolean {
  if (bits >= 64) return true;
  return v >= NEG_POW2[bits - 1] && v < POW2[bits];
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
  for (const p of plans) {
    if (out === undefined || p.len < out.len) { out = p; continue; }
    if (p.len > out.len) continue;
    const d = sizePrefixes(p) - sizePrefixes(out);
    if (d < 0 || (d === 0 && immBytes(p) < immBytes(out))) out = p;
  }
  return out;
}

const sizePrefixes = (p: Plan): number => (p.p66 ? 1 : 0) + (p.rexW ? 1 : 0);

function immBytes(p: Plan): number {
  let n = 0;
  for (const f of p.imms) n += f.size;
  return n;
}

export function noMatch(loc: Loc, mnemonic: string, r: MatchResult): never {
  if (r.ambiguous) fail(loc, `ambiguous operand size for '${mnemonic}' (say BYTE/WORD/DWORD/QWORD PTR)`);
  fail(loc, `no form of '${mnemonic}' takes these operands${r.reason ? ` (${r.reason})` : ''}`);
}

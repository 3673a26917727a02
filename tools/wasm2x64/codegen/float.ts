/**
 * The float operators — f32/f64 arithmetic, comparisons and conversions — as
 * an operator family over SSE2 and SSE4.1 (roundss/roundsd). Every operator
 * is described by its text name, as opinfo.ts defines it: the prefix gives
 * the result type, the stem picks the family's table row, and a `_f64`,
 * `_i32_u`… suffix names the operand of a conversion. So `f64.floor` is
 * UNARY's `floor` row at width 64, and `i32.trunc_sat_f32_u` a saturating
 * truncation from 32 to 32 bits, unsigned.
 *
 * SSE arithmetic returns the first NaN operand quieted, or the default NaN
 * (sign set, quiet bit only) when it makes one: wasm's arithmetic and
 * canonical NaNs allow exactly that. abs, neg and copysign must not touch a
 * NaN's payload or quiet it, so they are integer operations on the bits.
 */
import { OPS, type Instr } from '../wasm/index.js';
import { type Gp, type OpContext, r32, type Xmm } from './context.js';
import type { Family } from './families.js';
import { Trap } from './ops.js';

type Width = 32 | 64;

/** `a = a OP b`, one instruction each. */
const ARITH = new Set(['add', 'sub', 'mul', 'div']);

/** One operand in place: the mnemonic stem and, for roundss/roundsd, the rounding-mode immediate (0 is round-half-even). */
const UNARY = new Map<string, [string, number?]>([
  ['sqrt', ['sqrt']], ['nearest', ['round', 0]], ['floor', ['round', 1]], ['ceil', ['round', 2]], ['trunc', ['round', 3]],
]);

/**
 * minss/maxss return the second operand for a NaN or for two zeros, so those
 * cases are taken apart: a NaN operand goes through an add (which propagates
 * it), and equal operands combine bitwise — min(-0, +0) = -0 is the OR of
 * their bits, max(-0, +0) = +0 the AND (equal nonzero values are identical).
 */
const MINMAX = new Map<string, string>([['min', 'or'], ['max', 'and']]);

/**
 * Comparisons, and whether the operands swap. The orderings become flags
 * (`ucomiss a, b` sets "above" only for an ordered a > b, "above or equal"
 * only for an ordered a >= b, so NaN makes all four false as wasm requires),
 * which a following br_if, if or select uses directly. eq and ne need two
 * flags (ZF and PF), so they take a cmpss/cmpsd predicate instead: eq 0, and
 * neq 4, which is true for unordered operands as wasm's `ne` must be.
 */
const COMPARE = new Map<string, { cc: string; swap: boolean } | { pred: number }>([
  ['eq', { pred: 0 }], ['ne', { pred: 4 }],
  ['lt', { cc: 'a', swap: true }], ['gt', { cc: 'a', swap: false }], ['le', { cc: 'ae', swap: true }], ['ge', { cc: 'ae', swap: false }],
]);

/** The sign operators on the bits in a general register: A the value (and result), B the sign source, H the sign bit's index. */
const SIGN = new Map<string, string[]>([
  ['abs', ['btr A, H']],
  ['neg', ['btc A, H']],
  ['copysign', ['btr A, H', 'shr B, H', 'shl B, H', 'or A, B']],
]);

const ss = (w: Width): string => (w === 32 ? 'ss' : 'sd');
const reg = (g: Gp, w: Width): string => (w === 32 ? r32(g) : g);

function floatBits(w: Width, x: number): bigint {
  return w === 32 ? BigInt(new Uint32Array(new Float32Array([x]).buffer)[0]) : new BigUint64Array(new Float64Array([x]).buffer)[0];
}

/** k = the float x, through g: x86 has no float immediates. */
function loadFloat(c: OpContext, k: Xmm, g: Gp, w: Width, x: number): void {
  c.emit(`mov ${reg(g, w)}, ${floatBits(w, x)}`);
  c.emit(`mov${w === 32 ? 'd' : 'q'} ${k}, ${reg(g, w)}`);
}

function arith(c: OpContext, w: Width, mn: string): void {
  const b = c.popXmm(), a = c.popXmm();
  c.emit(`${mn}${ss(w)} ${a}, ${b}`);
  c.free(b);
  c.pushXmm(a);
}

function unary(c: OpContext, w: Width, [mn, imm]: [string, number?]): void {
  const x = c.popXmm();
  c.emit(`${mn}${ss(w)} ${x}, ${x}${imm === undefined ? '' : `, ${imm}`}`);
  c.pushXmm(x);
}

function minmax(c: OpContext, w: Width, mn: string, equal: string): void {
  const b = c.popXmm(), a = c.popXmm();
  const nan = c.fresh(), eq = c.fresh(), done = c.fresh();
  c.emit(`ucomi${ss(w)} ${a}, ${b}`);
  c.emit(`jp ${nan}`);
  c.emit(`je ${eq}`);
  c.emit(`${mn}${ss(w)} ${a}, ${b}`);
  c.emit(`jmp ${done}`);
  c.label(nan);
  c.emit(`add${ss(w)} ${a}, ${b}`);
  c.emit(`jmp ${done}`);
  c.label(eq);
  c.emit(`${equal}p${ss(w)[1]} ${a}, ${b}`);
  c.label(done);
  c.free(b);
  c.pushXmm(a);
}

function compare(c: OpContext, w: Width, how: { cc: string; swap: boolean } | { pred: number }): void {
  const b = c.popXmm(), a = c.popXmm();
  if ('cc' in how) {
    const [l, r] = how.swap ? [b, a] : [a, b];
    c.emit(`ucomis${ss(w).slice(1)} ${l}, ${r}`);
    c.free(a);
    c.free(b);
    c.pushCond(how.cc);
    return;
  }
  const g = c.tmpGp();
  c.emit(`cmp${ss(w)} ${a}, ${b}, ${how.pred}`);
  c.emit(`movd ${r32(g)}, ${a}`);
  c.emit(`and ${r32(g)}, 1`);
  c.free(a);
  c.free(b);
  c.pushGp(g);
}

function sign(c: OpContext, w: Width, code: string[]): void {
  const b = code.some((l) => l.includes('B')) ? c.popGp() : null;
  const a = c.popGp();
  for (const l of code) c.emit(l.replace('A', reg(a, w)).replace('B', b ? reg(b, w) : '').replace('H', String(w - 1)));
  if (b) c.free(b);
  c.pushGp(a);
}

/**
 * fw.convert_iN_s/u. An unsigned i32 is converted as a non-negative i64,
 * which it already is: the value stack keeps i32 values zero-extended.
 */
function convert(c: OpContext, w: Width, n: Width, signed: boolean): void {
  const g = c.popGp();
  const x = c.tmpXmm();
  // cvtsi2sd/ss write only the low lane: without the xor, each conversion would wait for whatever last wrote x.
  c.emit(`xorps ${x}, ${x}`);
  const cvt = `cvtsi2${ss(w)} ${x}`;
  if (signed || n === 32) {
    c.emit(`${cvt}, ${signed ? reg(g, n) : g}`);
  } else {
    // At 2^63 and above: halve (keeping the lost bit as a sticky bit, so the one rounding stays correct), convert, double.
    const t = c.tmpGp();
    const big = c.fresh(), done = c.fresh();
    c.emit(`test ${g}, ${g}`);
    c.emit(`js ${big}`);
    c.emit(`${cvt}, ${g}`);
    c.emit(`jmp ${done}`);
    c.label(big);
    c.emit(`mov ${r32(t)}, ${r32(g)}`);
    c.emit(`and ${r32(t)}, 1`);
    c.emit(`shr ${g}, 1`);
    c.emit(`or ${g}, ${t}`);
    c.emit(`${cvt}, ${g}`);
    c.emit(`add${ss(w)} ${x}, ${x}`);
    c.label(done);
    c.free(t);
  }
  c.free(g);
  c.pushXmm(x);
}

/**
 * iN.trunc(_sat)_fw_s/u. The operand is truncated first, so one pair of
 * exact power-of-two bounds, lo <= t < hi, decides the range for every form
 * (a fraction below lo, like -2147483648.5 → i32, truncates into range).
 * Out of range, the trapping forms trap and the saturating ones jump to a
 * stub loading the saturated value (NaN saturates to 0).
 */
function truncate(c: OpContext, n: Width, w: Width, signed: boolean, sat: boolean): void {
  const x = c.popXmm(), k = c.tmpXmm(), g = c.tmpGp();
  const s = ss(w);
  const [lo, hi] = signed ? [-(2 ** (n - 1)), 2 ** (n - 1)] : [0, 2 ** n];
  const stubs = new Map<bigint, string>();
  const stub = (v: bigint): string => stubs.get(v) ?? stubs.set(v, c.fresh()).get(v)!;
  const [nan, low, high] = sat
    ? [stub(0n), stub(BigInt(lo)), stub(BigInt(hi) - 1n)]
    : [c.trap(Trap.InvalidConversion), c.trap(Trap.Overflow), c.trap(Trap.Overflow)];
  c.emit(`round${s} ${x}, ${x}, 3`);
  c.emit(`ucomi${s} ${x}, ${x}`);
  c.emit(`jp ${nan}`);
  loadFloat(c, k, g, w, lo);
  c.emit(`ucomi${s} ${x}, ${k}`);
  c.emit(`jb ${low}`);
  loadFloat(c, k, g, w, hi);
  c.emit(`ucomi${s} ${x}, ${k}`);
  c.emit(`jae ${high}`);
  // An unsigned i32 converts as an i64 (up to 2^32 fits, and the high half comes out zero); a signed
  // one at 32 bits, since an i32 must be zero-extended in its register.
  const cvt = `cvtt${s}2si ${signed ? reg(g, n) : g}, ${x}`;
  const done = c.fresh();
  if (n === 64 && !signed) {
    // cvtt converts to signed i64 only: from 2^63 up, convert t - 2^63 and put the top bit back.
    const big = c.fresh();
    loadFloat(c, k, g, w, 2 ** 63);
    c.emit(`ucomi${s} ${x}, ${k}`);
    c.emit(`jae ${big}`);
    c.emit(cvt);
    c.emit(`jmp ${done}`);
    c.label(big);
    c.emit(`sub${s} ${x}, ${k}`);
    c.emit(cvt);
    c.emit(`btc ${g}, 63`);
  } else c.emit(cvt);
  if (stubs.size) c.emit(`jmp ${done}`);
  [...stubs].forEach(([v, l], i) => {
    c.label(l);
    c.emit(`mov ${reg(g, n)}, ${BigInt.asIntN(n, v)}`);
    if (i < stubs.size - 1) c.emit(`jmp ${done}`);
  });
  c.label(done);
  c.free(x);
  c.free(k);
  c.pushGp(g);
}

/** f32.demote_f64 and f64.promote_f32: cvtsd2ss/cvtss2sd quiet a NaN and keep its payload's top bits. */
function resize(c: OpContext, w: Width, from: Width): void {
  const x = c.popXmm();
  c.emit(`cvt${ss(from)}2${ss(w)} ${x}, ${x}`);
  c.pushXmm(x);
}

/** The code for an operator, from its name; null when it is not a float operator this family compiles. */
function describe(name: string): ((c: OpContext) => void) | null {
  const m = /^([if])(32|64)\.([a-z_]+?)(?:_([if])(32|64))?(?:_([su]))?$/.exec(name);
  if (!m) return null;
  const [, kind, width, stem, fromKind, fromWidth, su] = m;
  const w = Number(width) as Width, from = Number(fromWidth) as Width, signed = su === 's';
  if (!fromKind) {
    if (kind !== 'f') return null;
    if (ARITH.has(stem)) return (c) => arith(c, w, stem);
    const u = UNARY.get(stem), mm = MINMAX.get(stem), cmp = COMPARE.get(stem), sg = SIGN.get(stem);
    if (u) return (c) => unary(c, w, u);
    if (mm) return (c) => minmax(c, w, stem, mm);
    if (cmp) return (c) => compare(c, w, cmp);
    if (sg) return (c) => sign(c, w, sg);
    return null;
  }
  if (stem === 'convert' && kind === 'f' && fromKind === 'i') return (c) => convert(c, w, from, signed);
  if ((stem === 'trunc' || stem === 'trunc_sat') && fromKind === 'f') return (c) => truncate(c, w, from, signed, stem === 'trunc_sat');
  if (stem === 'demote' || stem === 'promote') return (c) => resize(c, w, from);
  return null;
}

const CODE = new Map(OPS.flatMap(({ op, name }) => {
  const f = describe(name);
  return f ? [[op, f] as const] : [];
}));

export const float: Family = (ins: Instr, c: OpContext): boolean => {
  const f = CODE.get(ins.op);
  if (!f) return false;
  f(c);
  return true;
};

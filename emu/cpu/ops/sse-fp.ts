/**
 * IEEE-754 binary32/binary64 core for the SSE instructions: MXCSR, NaN
 * rules, rounding in all four modes, and the six exception flags.
 *
 * MXCSR (SDM Vol.1 §10.2.3, Figure 10-3):
 *
 *   31..16  15   14 13  12 11 10  9  8  7   6   5  4  3  2  1  0
 *  ┌──────┬───┬──────┬──┬──┬──┬──┬──┬──┬───┬──┬──┬──┬──┬──┬──┐
 *  │ rsvd │FZ │  RC  │PM│UM│OM│ZM│DM│IM│DAZ│PE│UE│OE│ZE│DE│IE│
 *  └──────┴───┴──────┴──┴──┴──┴──┴──┴──┴───┴──┴──┴──┴──┴──┴──┘
 *
 * How an operation is computed: JS arithmetic gives d = RN(exact) in
 * binary64. An error-free transformation (TwoSum, Dekker's product) gives
 * s = sign(exact − d), which is all that directed rounding and the
 * precision flag need; binary32 results are RN(d) corrected at midpoints
 * by s. That covers normal results. Anything near the edges of the format
 * (tiny, overflowing, or operands outside the transformations' safe
 * range) is recomputed exactly with BigInt significands and rounded by
 * roundExact, which implements tininess after rounding, FTZ and overflow.
 *
 * Exceptions (SDM Vol.1 §11.5.3): an instruction first collects the
 * pre-computation conditions (IE, DE, ZE) of all its elements, then the
 * post-computation ones (OE, UE, PE). If any pre-computation condition is
 * unmasked, only those flags are set and #XM is raised; otherwise all flags
 * are set and #XM is raised if a post-computation one is unmasked. In both
 * cases the destination is left unchanged, so handlers compute into scratch
 * and call fpEnd before writing back.
 *
 * Where the SDM leaves room, the behaviour follows the AMD Zen CPU the
 * golden cases come from (test/golden/insn), checked there and by a
 * differential run of ~10^6 random operations with random MXCSR: tininess
 * after rounding; FTZ flushes any tiny result with UE and PE; DE is not
 * reported for an element that raised IE or ZE; with OE or UE unmasked, PE
 * means "inexact at full precision with unbounded exponent".
 */
import type { Cpu } from '../cpu.js';
import { CpuFault, Vector } from '../fault.js';

export const enum Mx {
  IE = 1 << 0, DE = 1 << 1, ZE = 1 << 2, OE = 1 << 3, UE = 1 << 4, PE = 1 << 5,
  DAZ = 1 << 6, MASK_SHIFT = 7, RC_SHIFT = 13, FTZ = 1 << 15,
  /** Bits ldmxcsr accepts (MXCSR_MASK as fxsave reports it). */
  WRITABLE = 0xffff,
}

export const enum Rc { Nearest = 0, Down = 1, Up = 2, Zero = 3 }

/** The arithmetic operations that round. */
export const enum Op { Add, Sub, Mul, Div, Sqrt }

/** The smallest normal and largest finite magnitudes of binary32 and binary64. */
export const MIN32 = 2 ** -126, MAX32 = (2 - 2 ** -23) * 2 ** 127;
export const MIN64 = 2 ** -1022, MAX64 = Number.MAX_VALUE;

/** A destination format: precision, smallest normal exponent, largest finite value. */
export interface Fmt { p: number; emin: number; max: number }
export const F32: Fmt = { p: 24, emin: -126, max: MAX32 };
export const F64: Fmt = { p: 53, emin: -1022, max: MAX64 };

/** The environment of the instruction being executed and the flags it has raised so far. */
export const fp = { rc: Rc.Nearest as number, daz: false, ftz: false, masks: 0, pre: 0, post: 0, lazyPE: false };

export function fpBegin(cpu: Cpu): void {
  const m = cpu.mxcsr;
  fp.rc = (m >> Mx.RC_SHIFT) & 3;
  fp.daz = (m & Mx.DAZ) !== 0;
  fp.ftz = (m & Mx.FTZ) !== 0;
  fp.masks = (m >> Mx.MASK_SHIFT) & 0x3f;
  fp.pre = 0; fp.post = 0;
  // With PE already set and masked, round-to-nearest results need no exactness test.
  fp.lazyPE = fp.rc === Rc.Nearest && (m & Mx.PE) !== 0 && (fp.masks & Mx.PE) !== 0;
}

/** Commits the flags; throws #XM (destination untouched) if an unmasked exception occurred. */
export function fpEnd(cpu: Cpu): void {
  if (fp.pre & ~fp.masks) {
    cpu.mxcsr |= fp.pre;
    throw new CpuFault(Vector.XM, -1, 0, `SIMD floating-point exception (mxcsr 0x${cpu.mxcsr.toString(16)})`);
  }
  const all = fp.pre | fp.post;
  cpu.mxcsr |= all;
  if (all & ~fp.masks) throw new CpuFault(Vector.XM, -1, 0, `SIMD floating-point exception (mxcsr 0x${cpu.mxcsr.toString(16)})`);
}

// ---- bit patterns ------------------------------------------------------------------

const cvt = new Float64Array(1);
const cvtI = new Int32Array(cvt.buffer);
const cvtF = new Float32Array(cvt.buffer);

/** The default NaN ("QNaN floating-point indefinite"): 0xFFC00000 and 0xFFF8000000000000. */
export const QNAN32 = 0xffc00000 | 0;
export const QNAN64_HI = 0xfff80000 | 0;

export function isNaN32(b: number): boolean { return (b & 0x7fffffff) > 0x7f800000; }
export function isSNaN32(b: number): boolean { return isNaN32(b) && (b & 0x00400000) === 0; }
export function isNaN64(hi: number, lo: number): boolean {
  const h = hi & 0x7fffffff;
  return h > 0x7ff00000 || (h === 0x7ff00000 && lo !== 0);
}
export function isSNaN64(hi: number, lo: number): boolean { return isNaN64(hi, lo) && (hi & 0x00080000) === 0; }

/** NaN propagation for two operands (SDM Vol.1 Table 4-7, SSE column): the first NaN wins, quieted. */
export function nanPick32(x: number, y: number): number {
  if (isSNaN32(x) || isSNaN32(y)) fp.pre |= Mx.IE;
  return (isNaN32(x) ? x : y) | 0x00400000;
}

/** As nanPick32 for binary64; the high dword is returned, the low dword is the chosen operand's. */
export function nanPick64(xh: number, xl: number, yh: number, yl: number): boolean {
  if (isSNaN64(xh, xl) || isSNaN64(yh, yl)) fp.pre |= Mx.IE;
  return isNaN64(xh, xl);
}

/** DAZ replaces a denormal operand by a zero of its sign; otherwise it raises DE. */
export function in32(x: number): number {
  if (x !== 0 && x < MIN32 && x > -MIN32) {
    if (fp.daz) return x < 0 ? -0 : 0;
    fp.pre |= Mx.DE;
  }
  return x;
}

export function in64(x: number): number {
  if (x !== 0 && x < MIN64 && x > -MIN64) {
    if (fp.daz) return x < 0 ? -0 : 0;
    fp.pre |= Mx.DE;
  }
  return x;
}

/**
 * DAZ alone, without DE: for the instructions that never report DE
 * (conversions to integer, round*) and for an operand returned as is.
 */
export function flush32(x: number): number { return fp.daz && x !== 0 && x < MIN32 && x > -MIN32 ? (x < 0 ? -0 : 0) : x; }
export function flush64(x: number): number { return fp.daz && x !== 0 && x < MIN64 && x > -MIN64 ? (x < 0 ? -0 : 0) : x; }

/** The next binary32 (dir > 0: up, else down) after a finite float32 value. */
function stepF32(q: number, dir: number): number {
  cvtF[0] = q;
  const b = cvtI[0];
  if (q === 0) cvtI[0] = dir > 0 ? 1 : 0x80000001 | 0;
  else cvtI[0] = (q > 0) === (dir > 0) ? b + 1 : b - 1;
  return cvtF[0];
}

function stepF64(d: number, dir: number): number {
  cvt[0] = d;
  let lo = cvtI[0] >>> 0, hi = cvtI[1];
  if (d === 0) { lo = 1; hi = dir > 0 ? 0 : 0x80000000 | 0; }
  else if ((d > 0) === (dir > 0)) { lo += 1; if (lo === 4294967296) { lo = 0; hi++; } }
  else { if (lo === 0) { lo = 4294967295; hi--; } else lo -= 1; }
  cvtI[0] = lo | 0; cvtI[1] = hi;
  return cvt[0];
}

/** Moves a round-to-nearest result one step when a directed mode says so; dir = sign(exact − q). */
function directed(q: number, dir: number, f: Fmt): number {
  const rc = fp.rc;
  if (rc === Rc.Nearest) return q;
  const away = rc === Rc.Up ? dir > 0 : rc === Rc.Down ? dir < 0 : (q > 0 ? dir < 0 : dir > 0);
  if (!away) return q;
  const step = rc === Rc.Zero ? (q > 0 ? -1 : 1) : dir;
  return f === F32 ? stepF32(q, step) : stepF64(q, step);
}

/**
 * The result in format f of an exact value known as d = RN64(exact) and
 * s = sign(exact − d), for normal results; NaN asks for the exact path.
 */
export function finish(d: number, s: number, f: Fmt): number {
  if (f === F64) {
    const m = d < 0 ? -d : d;
    if (!(m > MIN64 && m < MAX64)) return NaN;
    if (s === 0) return d;
    fp.post |= Mx.PE;
    return directed(d, s, f);
  }
  let q = Math.fround(d);
  const m = q < 0 ? -q : q;
  if (!(m > MIN32 && m < MAX32)) return NaN;
  let dir = d > q ? 1 : d < q ? -1 : s;
  if (d !== q && s === dir && fp.rc === Rc.Nearest) {
    // A tie in binary64 broken to even by fround is no tie for the exact value.
    const other = stepF32(q, dir);
    if (d === (q + other) / 2) { q = other; dir = -dir; }
  }
  if (dir === 0) return q;
  fp.post |= Mx.PE;
  return directed(q, dir, f);
}

// ---- error-free transformations ---------------------------------------------------

let prodErr = 0;

/** Dekker's product: returns RN(a·b) and leaves the exact error in prodErr (no overflow/underflow). */
function twoProd(a: number, b: number): number {
  const p = a * b;
  let c = 134217729 * a;
  const ah = c - (c - a), al = a - ah;
  c = 134217729 * b;
  const bh = c - (c - b), bl = b - bh;
  prodErr = ((ah * bh - p) + ah * bl + al * bh) + al * bl;
  return p;
}

function sign(x: number): number { return x > 0 ? 1 : x < 0 ? -1 : 0; }

/** The exact sum of two zeros or of x and −x: +0, or −0 when both are −0 or rounding is downward. */
function zeroSum(a: number, b: number): number {
  if (a === 0 && b === 0 && (1 / a < 0) === (1 / b < 0)) return a;
  return fp.rc === Rc.Down ? -0 : 0;
}

/**
 * a op b for operands that are neither NaN nor denormal-under-DAZ, in
 * format f. Invalid operations (∞−∞, 0·∞, 0/0, ∞/∞, √negative) set IE and
 * return NaN, for which the caller writes the default NaN.
 */
export function arith(op: Op, a: number, b: number, f: Fmt): number {
  if (op === Op.Sub) { b = -b; op = Op.Add; }
  let d: number, s = 0;
  switch (op) {
    case Op.Add:
      d = a + b;
      if (d !== d) { fp.pre |= Mx.IE; return NaN; }
      if (a - a !== 0 || b - b !== 0) return d;          // an infinite operand: exact
      if (d === 0) return zeroSum(a, b);
      if (d - d !== 0) break;                               // overflow
      if (!fp.lazyPE) { const t = d - a; s = sign((a - (d - t)) + (b - t)); }
      break;
    case Op.Mul:
      d = a * b;
      if (d !== d) { fp.pre |= Mx.IE; return NaN; }
      if (a === 0 || b === 0 || a - a !== 0 || b - b !== 0) return d;
      if (f === F32 || fp.lazyPE) break;
      if (!(d < 1e300 && d > -1e300 && (d > 1e-270 || d < -1e-270)) || a > 1e297 || a < -1e297 || b > 1e297 || b < -1e297) return exact(op, a, b, f);
      twoProd(a, b);
      s = sign(prodErr);
      break;
    case Op.Div:
      d = a / b;
      if (d !== d) { fp.pre |= Mx.IE; return NaN; }
      if (b === 0) { if (a - a === 0) fp.pre |= Mx.ZE; return d; }
      if (a === 0 || a - a !== 0 || b - b !== 0) return d;
      if (fp.lazyPE && f === F32) break;
      if (!(a < 1e300 && a > -1e300 && (a > 1e-270 || a < -1e-270)) || d > 1e297 || d < -1e297 || b > 1e297 || b < -1e297) return exact(op, a, b, f);
      if (!fp.lazyPE) {
        const p = twoProd(d, b);
        s = sign((a - p) - prodErr) * sign(b);
      }
      break;
    default:
      if (a < 0) { fp.pre |= Mx.IE; return NaN; }
      d = Math.sqrt(a);
      if (a === 0 || a - a !== 0) return d;
      if (fp.lazyPE && f === F32) break;
      if (!(a < 1e300 && a > 1e-270)) return exact(op, a, b, f);
      if (!fp.lazyPE) { const p = twoProd(d, d); s = sign((a - p) - prodErr); }
  }
  const r = finish(d, s, f);
  return r === r ? r : exact(op, a, b, f);
}

/** Rounds a value exact in binary64 (a conversion) to format f. */
export function roundTo(d: number, s: number, f: Fmt): number {
  if (d === 0 || d - d !== 0) return d;
  const r = finish(d, s, f);
  if (r === r) return r;
  const x = decompose(d);
  return roundExact(d < 0, x.m, x.e, s !== 0, f);
}

// ---- the exact path -------------------------------------------------------------------

interface Dec { m: bigint; e: number }

/** |x| = m · 2^e for finite x. */
function decompose(x: number): Dec {
  cvt[0] = x;
  const hi = cvtI[1], lo = cvtI[0] >>> 0;
  const exp = (hi >>> 20) & 0x7ff;
  const mant = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  return exp === 0 ? { m: mant, e: -1074 } : { m: mant | (1n << 52n), e: exp - 1075 };
}

function bitLength(m: bigint): number { return m === 0n ? 0 : m.toString(2).length; }

function isqrt(n: bigint): bigint {
  if (n < 2n) return n;
  let x = BigInt(Math.floor(Math.sqrt(Number(n))));
  for (;;) {
    const y = (x + n / x) >> 1n;
    if (y >= x) { while (x * x > n) x--; while ((x + 1n) * (x + 1n) <= n) x++; return x; }
    x = y;
  }
}

function exact(op: Op, a: number, b: number, f: Fmt): number {
  const x = decompose(a);
  const negA = a < 0 || (a === 0 && 1 / a < 0);
  if (op === Op.Sqrt) {
    let m = x.m, e = x.e;
    if (e & 1) { m <<= 1n; e -= 1; }
    const grow = Math.max(0, 2 * f.p + 8 - bitLength(m));
    const k = grow + (grow & 1);
    m <<= BigInt(k); e -= k;
    const root = isqrt(m);
    return roundExact(false, root, e / 2, root * root !== m, f);
  }
  const y = decompose(b);
  const negB = b < 0;
  if (op === Op.Mul) return roundExact(negA !== negB, x.m * y.m, x.e + y.e, false, f);
  if (op === Op.Div) {
    const k = f.p + 8 + bitLength(y.m) - bitLength(x.m);
    const num = x.m << BigInt(k);
    return roundExact(negA !== negB, num / y.m, x.e - y.e - k, num % y.m !== 0n, f);
  }
  const e = Math.min(x.e, y.e);
  const sum = (negA ? -x.m : x.m) * (1n << BigInt(x.e - e)) + (negB ? -y.m : y.m) * (1n << BigInt(y.e - e));
  if (sum === 0n) return zeroSum(a, b);
  return roundExact(sum < 0n, sum < 0n ? -sum : sum, e, false, f);
}

let inexactFlag = false;

/** m · 2^e (plus a nonzero remainder below m's last bit when `sticky`) rounded to a multiple of 2^lsb, in units of 2^lsb. */
function roundAt(neg: boolean, m: bigint, e: number, sticky: boolean, lsb: number): bigint {
  if (lsb <= e) { inexactFlag = sticky; return m << BigInt(e - lsb); }
  const shift = BigInt(lsb - e);
  const k = m >> shift;
  const rem = m - (k << shift);
  const half = 1n << (shift - 1n);
  inexactFlag = rem !== 0n || sticky;
  if (!inexactFlag) return k;
  let up: boolean;
  switch (fp.rc) {
    case Rc.Nearest: up = rem > half || (rem === half && (sticky || (k & 1n) === 1n)); break;
    case Rc.Up: up = !neg; break;
    case Rc.Down: up = neg; break;
    default: up = false;
  }
  return up ? k + 1n : k;
}

/**
 * Rounds ±m·2^e to format f with the MXCSR rules: overflow gives ∞ or the
 * largest finite number by rounding direction (OE, PE); a result is tiny if
 * rounding it with unbounded exponent leaves it below the smallest normal
 * (tininess after rounding); a tiny result raises UE when also inexact, or
 * always when UE is unmasked; FTZ (UE masked) returns a signed zero instead.
 * With OE or UE unmasked, PE reports whether the result rounded to full
 * precision with unbounded exponent (what a trap handler would be given)
 * is inexact, as the hardware does; the destination is not written anyway.
 */
export function roundExact(neg: boolean, m: bigint, e: number, sticky: boolean, f: Fmt): number {
  const top = e + bitLength(m) - 1;
  const qmin = f.emin - f.p + 1;
  let tiny = false, wideInexact = false;
  if (top < f.emin) {
    const u = roundAt(neg, m, e, sticky, top - f.p + 1);
    tiny = bitLength(u) + (top - f.p + 1) - 1 < f.emin;
    wideInexact = inexactFlag;
  }
  const lsb = Math.max(top - f.p + 1, qmin);
  const k = roundAt(neg, m, e, sticky, lsb);
  const inexact = inexactFlag;
  const mag = Number(k) * 2 ** lsb;
  if (mag > f.max) {
    fp.post |= (fp.masks & Mx.OE) === 0 && !inexact ? Mx.OE : Mx.OE | Mx.PE;
    const rc = fp.rc;
    const inf = rc === Rc.Nearest || (rc === Rc.Up && !neg) || (rc === Rc.Down && neg);
    const v = inf ? Infinity : f.max;
    return neg ? -v : v;
  }
  if (tiny) {
    if ((fp.masks & Mx.UE) === 0) { fp.post |= wideInexact ? Mx.UE | Mx.PE : Mx.UE; return neg ? -mag : mag; }
    if (fp.ftz) { fp.post |= Mx.UE | Mx.PE; return neg ? -0 : 0; }
    else if (inexact) fp.post |= Mx.UE;
  }
  if (inexact) fp.post |= Mx.PE;
  return neg ? -mag : mag;
}

// ---- rounding to integers ----------------------------------------------------------------

/** x rounded to an integral value in mode rc (round-to-nearest is ties-to-even); keeps the sign of zero. */
export function roundInt(x: number, rc: number): number {
  switch (rc) {
    case Rc.Down: return Math.floor(x);
    case Rc.Up: return Math.ceil(x);
    case Rc.Zero: return Math.trunc(x);
    default: {
      if (!(x < 4503599627370496 && x > -4503599627370496)) return x;
      const fl = Math.floor(x);
      const diff = x - fl;
      const r = diff > 0.5 || (diff === 0.5 && fl % 2 !== 0) ? fl + 1 : fl;
      return r === 0 && (x < 0 || 1 / x < 0) ? -0 : r;
    }
  }
}

/**
 * cvt(t)ss2si and friends: x converted to a `bits`-wide integer, or NaN
 * for the "integer indefinite" result (IE) when x is NaN or out of range.
 */
export function toInteger(x: number, bits: number, truncate: boolean): number {
  if (x !== x) { fp.pre |= Mx.IE; return NaN; }
  const r = truncate ? Math.trunc(x) : roundInt(x, fp.rc);
  const lim = bits === 32 ? 2147483648 : 9223372036854775808;
  if (!(r >= -lim && r < lim)) { fp.pre |= Mx.IE; return NaN; }
  if (r !== x) fp.post |= Mx.PE;
  return r;
}

/** A signed 64-bit integer (lo, hi dwords) rounded to format f (cvtsi2ss/sd with REX.W). */
export function fromInt64(lo: number, hi: number, f: Fmt): number {
  const a = hi * 4294967296, b = lo >>> 0;
  const d = a + b;
  const t = d - a;
  return roundTo(d, sign((a - (d - t)) + (b - t)), f);
}

/** binary32 NaN bits widened to binary64 (quieted): the high dword; the low dword is nanLo. */
export let nanLo = 0;
export function nan32to64(b: number): number {
  const mant = b & 0x7fffff;
  nanLo = mant << 29;
  return (b & 0x80000000) | 0x7ff80000 | (mant >>> 3);
}

/** binary64 NaN bits narrowed to binary32 (quieted). */
export function nan64to32(hi: number, lo: number): number {
  return (hi & 0x80000000) | 0x7fc00000 | ((hi & 0xfffff) << 3) | (lo >>> 29);
}

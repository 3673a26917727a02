/**
 * x87 arithmetic on 80-bit values: add, multiply, divide and square root
 * (rounded to FCW.PC), compare, and the exact operations frndint, fscale,
 * fxtract and the partial remainders fprem/fprem1. Special operands follow
 * SDM Vol.1 §4.8.3 and the instruction pages of Vol.2A; each function
 * returns null when an unmasked exception forbids writing the result.
 */
import {
  type F80, type FpEnv, Cls, Exc, Rc, BIAS, FMT80,
  classify, propagateNaN, invalid, raise, denormalStops, round, exact, pcFormat,
  lsbExp, topExp, bitLength, zero, inf, f80,
} from './softfloat80.js';

function isNaNish(c: Cls): boolean { return c >= Cls.QNaN; }

/** Below this gap between lowest bits the smaller addend only acts as a sticky bit. */
const STICKY_GAP = 200;

/** a + b, or a - b when `negB`. */
export function add(env: FpEnv, a: F80, b: F80, negB: boolean): F80 | null {
  const ca = classify(a), cb = classify(b);
  const sb = negB ? b.sign ^ 1 : b.sign;
  if (isNaNish(ca) || isNaNish(cb)) return propagateNaN(env, a, ca, b, cb);
  if (ca === Cls.Inf || cb === Cls.Inf) {
    if (ca === Cls.Inf && cb === Cls.Inf && a.sign !== sb) return invalid(env);
    if (denormalStops(env, ca, cb)) return null;
    return inf(ca === Cls.Inf ? a.sign : sb);
  }
  if (denormalStops(env, ca, cb)) return null;
  const rc = (env.cw >> 10) & 3;
  if (ca === Cls.Zero && cb === Cls.Zero) return zero(a.sign === sb ? a.sign : rc === Rc.Down ? 1 : 0);
  const fmt = pcFormat(env.cw);
  if (ca === Cls.Zero) return round(env, sb, b.sig, lsbExp(b), fmt);
  if (cb === Cls.Zero) return round(env, a.sign, a.sig, lsbExp(a), fmt);
  let ea = lsbExp(a), eb = lsbExp(b), ma = a.sig, mb = b.sig;
  if (ea - eb > STICKY_GAP) { mb = 1n; eb = ea - STICKY_GAP; }
  if (eb - ea > STICKY_GAP) { ma = 1n; ea = eb - STICKY_GAP; }
  const e = Math.min(ea, eb);
  const va = ma << BigInt(ea - e), vb = mb << BigInt(eb - e);
  let sum = (a.sign ? -va : va) + (sb ? -vb : vb);
  if (sum === 0n) return zero(rc === Rc.Down ? 1 : 0);
  const sign = sum < 0n ? 1 : 0;
  if (sign) sum = -sum;
  return round(env, sign, sum, e, fmt);
}

export function mul(env: FpEnv, a: F80, b: F80): F80 | null {
  const ca = classify(a), cb = classify(b);
  const sign = a.sign ^ b.sign;
  if (isNaNish(ca) || isNaNish(cb)) return propagateNaN(env, a, ca, b, cb);
  if ((ca === Cls.Inf && cb === Cls.Zero) || (ca === Cls.Zero && cb === Cls.Inf)) return invalid(env);
  if (denormalStops(env, ca, cb)) return null;
  if (ca === Cls.Inf || cb === Cls.Inf) return inf(sign);
  if (ca === Cls.Zero || cb === Cls.Zero) return zero(sign);
  return round(env, sign, a.sig * b.sig, lsbExp(a) + lsbExp(b), pcFormat(env.cw));
}

/** A finite nonzero value as m × 2^e with m's bit 63 set. */
function normalized(a: F80): [bigint, number] {
  const s = 64 - bitLength(a.sig);
  return [a.sig << BigInt(s), lsbExp(a) - s];
}

export function div(env: FpEnv, a: F80, b: F80): F80 | null {
  const ca = classify(a), cb = classify(b);
  const sign = a.sign ^ b.sign;
  if (isNaNish(ca) || isNaNish(cb)) return propagateNaN(env, a, ca, b, cb);
  if ((ca === Cls.Inf && cb === Cls.Inf) || (ca === Cls.Zero && cb === Cls.Zero)) return invalid(env);
  if (cb === Cls.Zero && ca !== Cls.Inf) return raise(env, Exc.ZE, inf(sign));
  if (denormalStops(env, ca, cb)) return null;
  if (ca === Cls.Inf) return inf(sign);
  if (cb === Cls.Inf) return zero(sign);
  if (ca === Cls.Zero) return zero(sign);
  const [ma, ea] = normalized(a), [mb, eb] = normalized(b);
  const n = ma << 66n;
  const q = n / mb;
  const sticky = q * mb !== n ? 1n : 0n;
  return round(env, sign, (q << 1n) | sticky, ea - eb - 67, pcFormat(env.cw));
}

/** Integer square root of a positive BigInt (floor). */
export function isqrt(n: bigint): bigint {
  // Newton's iteration decreases monotonically from any start above the root.
  let x = BigInt(Math.ceil(Math.sqrt(Number(n)) * (1 + 2 ** -40))) + 1n;
  for (;;) {
    const y = (x + n / x) >> 1n;
    if (y >= x) return x;
    x = y;
  }
}

export function sqrt(env: FpEnv, a: F80): F80 | null {
  const ca = classify(a);
  if (isNaNish(ca)) return propagateNaN(env, a, ca);
  if (ca === Cls.Zero) return a;
  if (a.sign) return invalid(env);
  if (ca === Cls.Inf) return a;
  if (denormalStops(env, ca)) return null;
  let [m, e] = normalized(a);
  // Radicand of 2·67 bits so the root carries 67 bits plus a sticky bit.
  let shift = 134 - 64;
  if ((e - shift) & 1) shift++;
  m <<= BigInt(shift); e -= shift;
  const r = isqrt(m);
  const sticky = r * r !== m ? 1n : 0n;
  return round(env, 0, (r << 1n) | sticky, e / 2 - 1, pcFormat(env.cw));
}

// ---- comparison --------------------------------------------------------------------

/** Comparison outcomes, numbered so that C3 C2 C0 and ZF PF CF read off the same bits. */
export const enum Rel { Greater = 0, Less = 1, Equal = 4, Unordered = 7 }

/**
 * a compared with b. `quiet` is the fucom family: only SNaNs and unsupported
 * encodings raise IE; the fcom family raises it for QNaNs as well.
 */
export function compare(env: FpEnv, a: F80, b: F80, quiet: boolean): Rel {
  const ca = classify(a), cb = classify(b);
  if (isNaNish(ca) || isNaNish(cb)) {
    const signaling = !quiet || ca === Cls.SNaN || cb === Cls.SNaN || ca === Cls.Unsupported || cb === Cls.Unsupported;
    if (signaling) env.exc |= Exc.IE;
    return Rel.Unordered;
  }
  // An unmasked DE does not stop a comparison: the condition codes are still written (host-checked).
  if (ca === Cls.Denormal || cb === Cls.Denormal) env.exc |= Exc.DE;
  const c = compareFinite(a, ca, b, cb);
  return c === 0 ? Rel.Equal : c < 0 ? Rel.Less : Rel.Greater;
}

/** Signed order of two non-NaN values: -1, 0 or 1. */
function compareFinite(a: F80, ca: Cls, b: F80, cb: Cls): number {
  if (ca === Cls.Zero && cb === Cls.Zero) return 0;
  if (ca === Cls.Zero) return b.sign ? 1 : -1;
  if (cb === Cls.Zero) return a.sign ? -1 : 1;
  if (a.sign !== b.sign) return a.sign ? -1 : 1;
  const mag = compareMagnitude(a, ca, b, cb);
  return a.sign ? -mag : mag;
}

function compareMagnitude(a: F80, ca: Cls, b: F80, cb: Cls): number {
  if (ca === Cls.Inf || cb === Cls.Inf) return ca === cb ? 0 : ca === Cls.Inf ? 1 : -1;
  const ta = topExp(a), tb = topExp(b);
  if (ta !== tb) return ta > tb ? 1 : -1;
  const [ma] = normalized(a), [mb] = normalized(b);
  return ma === mb ? 0 : ma > mb ? 1 : -1;
}

// ---- exact operations ----------------------------------------------------------------

/** frndint: round to an integer per RC (PE and C1 when inexact). */
export function roundToInt(env: FpEnv, a: F80): F80 | null {
  const ca = classify(a);
  if (isNaNish(ca)) return propagateNaN(env, a, ca);
  if (ca === Cls.Zero || ca === Cls.Inf) return a;
  if (denormalStops(env, ca)) return null;
  const e = lsbExp(a);
  if (e >= 0) return a;
  const q = roundShift(env, a.sign, a.sig, -e);
  return exact(a.sign, q, 0);
}

/** m / 2^shift rounded to an integer per env.cw.RC, with PE and C1. */
export function roundShift(env: FpEnv, sign: number, m: bigint, shift: number): bigint {
  const rc = (env.cw >> 10) & 3;
  if (shift > 70) {
    env.exc |= Exc.PE;
    const up = (rc === Rc.Up && sign === 0) || (rc === Rc.Down && sign === 1);
    if (up) env.exc |= Exc.C1;
    return up ? 1n : 0n;
  }
  const s = BigInt(shift);
  const q = m >> s, rem = m - (q << s);
  if (rem === 0n) return q;
  env.exc |= Exc.PE;
  const half = 1n << (s - 1n);
  let up: boolean;
  switch (rc) {
    case Rc.Nearest: up = rem > half || (rem === half && (q & 1n) === 1n); break;
    case Rc.Down: up = sign === 1; break;
    case Rc.Up: up = sign === 0; break;
    default: up = false;
  }
  if (up) env.exc |= Exc.C1;
  return up ? q + 1n : q;
}

/** fscale: a × 2^trunc(b). */
export function scale(env: FpEnv, a: F80, b: F80): F80 | null {
  const ca = classify(a), cb = classify(b);
  if (isNaNish(ca) || isNaNish(cb)) return propagateNaN(env, a, ca, b, cb);
  if (cb === Cls.Inf) {
    if ((ca === Cls.Zero && !b.sign) || (ca === Cls.Inf && b.sign)) return invalid(env);
    if (denormalStops(env, ca)) return null;
    if (ca === Cls.Zero || ca === Cls.Inf) return a;
    return b.sign ? zero(a.sign) : inf(a.sign);
  }
  if (denormalStops(env, ca, cb)) return null;
  if (ca === Cls.Zero || ca === Cls.Inf) return a;
  let n = 0;
  if (cb !== Cls.Zero) {
    const t = topExp(b);
    // Beyond ±2^20 every finite a over- or underflows; the clamp keeps the arithmetic small.
    n = t > 20 ? 1 << 20 : t < 0 ? 0 : Number(b.sig >> BigInt(-lsbExp(b)));
    if (b.sign) n = -n;
  }
  return round(env, a.sign, a.sig, lsbExp(a) + n, FMT80);
}

/** fxtract: [exponent, significand] of a (the significand is pushed on top). */
export function extract(env: FpEnv, a: F80): [F80, F80] | null {
  const ca = classify(a);
  if (isNaNish(ca)) { const r = propagateNaN(env, a, ca); return r && [r, r]; }
  if (ca === Cls.Zero) {
    const r = raise(env, Exc.ZE, inf(1));
    return r && [r, a];
  }
  if (ca === Cls.Inf) return [inf(0), a];
  if (denormalStops(env, ca)) return null;
  const t = topExp(a);
  const [m] = normalized(a);
  return [exact(t < 0 ? 1 : 0, BigInt(Math.abs(t)), 0), f80(a.sign, BIAS, m)];
}

export interface Remainder { value: F80; partial: boolean; quotient: number }

/**
 * fprem (truncating quotient) and fprem1 (IEEE, nearest quotient). When the
 * exponents differ by 64 or more the reduction is partial (C2): it removes
 * D - N bits with N = 32 + D mod 32, as AMD documents and the host does.
 * `quotient` holds the low three quotient bits for C0 C3 C1.
 */
export function remainder(env: FpEnv, a: F80, b: F80, ieee: boolean): Remainder | null {
  const ca = classify(a), cb = classify(b);
  if (isNaNish(ca) || isNaNish(cb)) {
    const r = propagateNaN(env, a, ca, b, cb);
    return r && { value: r, partial: false, quotient: 0 };
  }
  if (ca === Cls.Inf || cb === Cls.Zero) {
    const r = invalid(env);
    return r && { value: r, partial: false, quotient: 0 };
  }
  if (denormalStops(env, ca, cb)) return null;
  if (ca === Cls.Zero) return { value: a, partial: false, quotient: 0 };
  if (cb === Cls.Inf) return finish(a.sign, a.sig, lsbExp(a), false, 0);
  const d = topExp(a) - topExp(b);
  const ea = lsbExp(a), eb = lsbExp(b);
  if (d >= 64) {
    const drop = d - (32 + (d % 32));
    // b scaled by 2^drop divides a with a truncated quotient; all arithmetic stays exact.
    const e = Math.min(ea, eb + drop);
    const A = a.sig << BigInt(ea - e), B = b.sig << BigInt(eb + drop - e);
    return finish(a.sign, A % B, e, true, 0);
  }
  const e = Math.min(ea, eb);
  const A = a.sig << BigInt(ea - e), B = b.sig << BigInt(eb - e);
  let q = A / B, r = A - q * B, sign = a.sign;
  if (ieee && (2n * r > B || (2n * r === B && (q & 1n) === 1n))) { q += 1n; r = B - r; sign ^= 1; }
  if (r === 0n) sign = a.sign;
  return finish(sign, r, e, false, Number(q & 7n));

  /** The remainder is exact, but a tiny one still underflows (wrapped when UE is unmasked). */
  function finish(sign: number, m: bigint, e: number, partial: boolean, quotient: number): Remainder | null {
    const value = m === 0n ? zero(sign) : round(env, sign, m, e, FMT80);
    return value && { value, partial, quotient };
  }
}

/** fxam classes as C3 C2 C0 in the bit order of Rel (bit 0 C0, bit 1 C2, bit 2 C3). */
export function examine(a: F80, empty: boolean): number {
  if (empty) return 5;
  switch (classify(a)) {
    case Cls.Unsupported: return 0;
    case Cls.QNaN: case Cls.SNaN: return 1;
    case Cls.Normal: return 2;
    case Cls.Inf: return 3;
    case Cls.Zero: return 4;
    default: return 6;
  }
}

/**
 * Conversions between the 80-bit format and memory formats: binary32 and
 * binary64 (loads exact, stores rounded per RC), two's complement integers
 * (loads exact, stores rounded per RC or truncated for fisttp) and 18-digit
 * packed BCD (SDM Vol.1 §4.2, §4.7, §8.2; Vol.2A FLD/FST/FILD/FIST/FBLD/FBSTP).
 * Stores do not report denormal operands (host-checked); loads of denormals do.
 * Memory images are BigInt bit patterns; null means "store nothing".
 */
import {
  type F80, type FpEnv, Cls, Exc, BIAS, FMT32, FMT64, J_BIT,
  classify, propagateNaN, invalid, round, exact, lsbExp, zero, inf, f80,
} from './softfloat80.js';
import { roundShift } from './softfloat80-arith.js';

/** An IEEE binary format's field widths. */
interface Ieee { fracBits: number; expBits: number; bias: number }
const BIN64: Ieee = { fracBits: 52, expBits: 11, bias: 1023 };
const BIN32: Ieee = { fracBits: 23, expBits: 8, bias: 127 };

/** fld m32/m64: exact; SNaN → IE and quieted, denormal → DE. */
function fromIeee(env: FpEnv, bits: bigint, f: Ieee): F80 | null {
  const fb = BigInt(f.fracBits);
  const sign = Number(bits >> (fb + BigInt(f.expBits)));
  const exp = Number((bits >> fb) & ((1n << BigInt(f.expBits)) - 1n));
  const frac = bits & ((1n << fb) - 1n);
  const maxExp = (1 << f.expBits) - 1;
  const up = BigInt(63 - f.fracBits);
  if (exp === maxExp) {
    if (frac === 0n) return inf(sign);
    const nan = f80(sign, 0x7fff, J_BIT | (frac << up));
    return propagateNaN(env, nan, classify(nan));
  }
  if (exp === 0) {
    if (frac === 0n) return zero(sign);
    // Even an unmasked DE lets the load complete (host-checked on AMD; the SDM is silent).
    env.exc |= Exc.DE;
    return exact(sign, frac, 1 - f.bias - f.fracBits);
  }
  return f80(sign, exp - f.bias + BIAS, J_BIT | (frac << up));
}

export function fromF64(env: FpEnv, bits: bigint): F80 | null { return fromIeee(env, bits, BIN64); }
export function fromF32(env: FpEnv, bits: bigint): F80 | null { return fromIeee(env, bits, BIN32); }

/** fst m32/m64: rounded per RC (not PC); NaNs keep their top fraction bits. */
function toIeee(env: FpEnv, a: F80, f: Ieee): bigint | null {
  const fb = BigInt(f.fracBits);
  const signBit = BigInt(a.sign) << (fb + BigInt(f.expBits));
  const expAll = BigInt((1 << f.expBits) - 1) << fb;
  const ca = classify(a);
  switch (ca) {
    case Cls.Zero: return signBit;
    case Cls.Inf: return signBit | expAll;
    case Cls.QNaN: case Cls.SNaN: case Cls.Unsupported: {
      const r = propagateNaN(env, a, ca);
      if (r === null) return null;
      const frac = (r.sig >> BigInt(63 - f.fracBits)) & ((1n << fb) - 1n);
      return (BigInt(r.sign) << (fb + BigInt(f.expBits))) | expAll | frac;
    }
  }
  const r = round(env, a.sign, a.sig, lsbExp(a), f === BIN64 ? FMT64 : FMT32);
  if (r === null) return null;
  if (r.exp === 0x7fff) return signBit | expAll;
  if (r.sig === 0n) return signBit;
  const e = r.exp - BIAS;
  const minExp = 1 - f.bias;
  if (e >= minExp) return signBit | (BigInt(e + f.bias) << fb) | ((r.sig >> BigInt(63 - f.fracBits)) & ((1n << fb) - 1n));
  return signBit | (r.sig >> BigInt(63 - f.fracBits + minExp - e));
}

export function toF64(env: FpEnv, a: F80): bigint | null { return toIeee(env, a, BIN64); }
export function toF32(env: FpEnv, a: F80): bigint | null { return toIeee(env, a, BIN32); }

/** fild: any two's complement integer is exact in 64 bits of significand. */
export function fromInt(v: bigint): F80 {
  return v < 0n ? exact(1, -v, 0) : exact(0, v, 0);
}

/**
 * fist/fistp (`truncate` false: RC) and fisttp (true: toward zero) to a
 * `bits`-wide integer. NaN, infinity and out-of-range values raise IE; the
 * masked response is the integer indefinite (only the sign bit set).
 */
export function toInt(env: FpEnv, a: F80, bits: number, truncate: boolean): bigint | null {
  const ca = classify(a);
  const indefinite = -(1n << BigInt(bits - 1));
  const bad = (): bigint | null => (invalid(env) === null ? null : indefinite);
  if (ca === Cls.Zero) return 0n;
  if (ca >= Cls.Inf) return bad();
  const e = lsbExp(a);
  if (e > 0) return bad();
  const sub: FpEnv = truncate ? { cw: env.cw | (3 << 10), exc: 0 } : env;
  const mag = roundShift(sub, a.sign, a.sig, -e);
  if (sub !== env) env.exc |= sub.exc;
  const limit = 1n << BigInt(bits - 1);
  if (a.sign ? mag > limit : mag >= limit) {
    env.exc &= ~(Exc.PE | Exc.C1);
    return bad();
  }
  return a.sign ? -mag : mag;
}

/**
 * fbld: 18 BCD digits in bytes 0..8 (two per byte, low digit in the low
 * nibble), sign in bit 79. Non-decimal nibbles give an undefined result on
 * hardware; here they simply weigh in at their binary value.
 */
export function fromBcd(bits: bigint): F80 {
  let v = 0n;
  for (let k = 17; k >= 0; k--) v = v * 10n + ((bits >> BigInt(4 * k)) & 15n);
  const sign = Number(bits >> 79n) & 1;
  return v === 0n ? zero(sign) : exact(sign, v, 0);
}

/** The packed BCD indefinite: sign and bytes 9..7 set to FF FF C0 (Vol.1 §4.7). */
export const BCD_INDEFINITE = 0xffffc0n << 56n;

/** fbstp: round per RC to an integer of at most 18 digits; else IE and the BCD indefinite. */
export function toBcd(env: FpEnv, a: F80): bigint | null {
  const ca = classify(a);
  const bad = (): bigint | null => (invalid(env) === null ? null : BCD_INDEFINITE);
  const signBit = BigInt(a.sign) << 79n;
  if (ca === Cls.Zero) return signBit;
  if (ca >= Cls.Inf) return bad();
  const e = lsbExp(a);
  const mag = e >= 0 ? a.sig << BigInt(e) : roundShift(env, a.sign, a.sig, -e);
  if (mag >= 10n ** 18n) { env.exc &= ~(Exc.PE | Exc.C1); return bad(); }
  let out = 0n, v = mag;
  for (let k = 0; k < 18; k++) { out |= (v % 10n) << BigInt(4 * k); v /= 10n; }
  return out | signBit;
}

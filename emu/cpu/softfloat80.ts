/**
 * Soft-float core for the x87's 80-bit double extended format (SDM Vol.1
 * §4.2.2, §8.2): operand classes, the one rounding routine every operation
 * ends in, NaN propagation and the exception flags. Arithmetic lives in
 * softfloat80-arith.ts, conversions in softfloat80-convert.ts.
 *
 *   79  78 ........ 64  63  62 ............................................ 0
 *  ┌───┬──────────────┬───┬───────────────────────────────────────────────┐
 *  │ S │ exponent(15) │ J │ fraction (63)                                 │
 *  └───┴──────────────┴───┴───────────────────────────────────────────────┘
 *   bias 16383; J is the explicit integer bit. exp 0: zero or denormal
 *   (J = 1 there is a pseudo-denormal, read as exp 1); exp 7fff with J = 1:
 *   infinity (fraction 0), QNaN (bit 62 set) or SNaN; J = 0 with exp ≠ 0 is
 *   an unsupported encoding (unnormal, pseudo-infinity, pseudo-NaN) and is an
 *   invalid operand (Vol.1 §8.2.2, Table 8-3).
 *
 * Significands are BigInt: operations need 128-bit products and quotients,
 * and x87 code is rare enough (long double, printf) that exactness wins over
 * speed. Every operation takes an FpEnv: the control word it obeys and the
 * status bits it accumulates (FSW bit positions, so the caller ORs them in).
 * An operation returns null when an unmasked exception forbids writing the
 * destination (SDM Vol.1 §8.5: IE, DE, ZE always; OE and UE for memory).
 *
 * The behaviours pinned down on real hardware (and in the tests): tininess is
 * detected after rounding; C1 reports that the magnitude was rounded up; a
 * NaN operand suppresses DE; for two NaNs the QNaN, else the larger
 * significand wins, the positive one on a tie; with PC < 64 even denormal
 * results keep only PC bits below the smallest normal.
 */

export interface F80 {
  sign: number;
  /** Biased exponent, 0..0x7fff. */
  exp: number;
  /** 64-bit significand including the explicit integer bit. */
  sig: bigint;
}

/** FSW bits an operation can report (SDM Vol.1 §8.1.3, Figure 8-4). */
export const enum Exc {
  IE = 1 << 0,  // invalid operation
  DE = 1 << 1,  // denormal operand
  ZE = 1 << 2,  // divide by zero
  OE = 1 << 3,  // overflow
  UE = 1 << 4,  // underflow
  PE = 1 << 5,  // precision (inexact)
  SF = 1 << 6,  // stack fault (with IE)
  C1 = 1 << 9,  // rounded up / stack overflow
  ALL = 0x3f,
}

/** FCW.RC (bits 11..10). */
export const enum Rc { Nearest = 0, Down = 1, Up = 2, Zero = 3 }

export interface FpEnv {
  /** Control word: exception masks 5..0, PC 9..8, RC 11..10. */
  cw: number;
  /** Accumulated Exc bits. */
  exc: number;
}

export const enum Cls { Zero, Normal, Denormal, Inf, QNaN, SNaN, Unsupported }

/** A destination format: significand bits and the normal exponent range (unbiased). */
export interface Format { prec: number; emin: number; emax: number }
export const FMT80: Format = { prec: 64, emin: -16382, emax: 16383 };
export const FMT64: Format = { prec: 53, emin: -1022, emax: 1023 };
export const FMT32: Format = { prec: 24, emin: -126, emax: 127 };
/** FCW.PC narrows the significand, not the exponent range (Vol.1 §8.1.5.2); 01 is reserved and acts as 64. */
const PC_FORMATS: Format[] = [
  { prec: 24, emin: -16382, emax: 16383 }, FMT80, { prec: 53, emin: -16382, emax: 16383 }, FMT80,
];
export function pcFormat(cw: number): Format { return PC_FORMATS[(cw >> 8) & 3]; }

export const BIAS = 16383;
/** Exponent of a significand's lowest bit for exp field 1 (and 0): 1 - 16383 - 63. */
export const EMIN_LSB = -16445;
/** Masked-response bias adjust for unmasked OE/UE on register results (Vol.1 §4.9.1.4). */
const WRAP = 24576;
export const J_BIT = 1n << 63n;
const QUIET_BIT = 1n << 62n;
export const MASK64 = (1n << 64n) - 1n;

export const INDEFINITE: F80 = { sign: 1, exp: 0x7fff, sig: 0xc000000000000000n };

export function f80(sign: number, exp: number, sig: bigint): F80 { return { sign, exp, sig }; }
export function zero(sign: number): F80 { return { sign, exp: 0, sig: 0n }; }
export function inf(sign: number): F80 { return { sign, exp: 0x7fff, sig: J_BIT }; }

export function classify(a: F80): Cls {
  const j = (a.sig & J_BIT) !== 0n;
  if (a.exp === 0) return a.sig === 0n ? Cls.Zero : Cls.Denormal;
  if (!j) return Cls.Unsupported;
  if (a.exp !== 0x7fff) return Cls.Normal;
  if (a.sig === J_BIT) return Cls.Inf;
  return (a.sig & QUIET_BIT) !== 0n ? Cls.QNaN : Cls.SNaN;
}

export function isNaNOrUnsupported(c: Cls): boolean { return c >= Cls.QNaN; }

/** Number of significant bits of a positive BigInt. */
export function bitLength(m: bigint): number {
  let n = Math.floor(Math.log2(Number(m))) + 1;
  while (m >> BigInt(n) !== 0n) n++;
  while (n > 0 && m >> BigInt(n - 1) === 0n) n--;
  return n;
}

/** Exponent of the significand's lowest bit: a finite value is sig × 2^lsbExp(a). */
export function lsbExp(a: F80): number { return (a.exp === 0 ? 1 : a.exp) - BIAS - 63; }

/** Unbiased exponent of the leading 1 bit of a finite nonzero value (denormals included). */
export function topExp(a: F80): number { return lsbExp(a) + bitLength(a.sig) - 1; }

// ---- exceptions ---------------------------------------------------------------

/** Raises `flag`; the masked response is `value`, an unmasked one writes nothing. */
export function raise(env: FpEnv, flag: number, value: F80): F80 | null {
  env.exc |= flag;
  return (env.cw & flag) !== 0 ? value : null;
}

export function invalid(env: FpEnv): F80 | null { return raise(env, Exc.IE, INDEFINITE); }

/** DE for denormal operands; true when the unmasked exception stops the operation. */
export function denormalStops(env: FpEnv, ...ops: Cls[]): boolean {
  if (!ops.includes(Cls.Denormal)) return false;
  env.exc |= Exc.DE;
  return (env.cw & Exc.DE) === 0;
}

function quiet(a: F80): F80 { return { sign: a.sign, exp: a.exp, sig: a.sig | QUIET_BIT }; }

/** The result of an operation with a NaN or unsupported operand (SDM Vol.1 Table 4-7, x87 column). */
export function propagateNaN(env: FpEnv, a: F80, ca: Cls, b?: F80, cb = Cls.Normal): F80 | null {
  if (ca === Cls.Unsupported || cb === Cls.Unsupported) return invalid(env);
  if (ca === Cls.SNaN || cb === Cls.SNaN) env.exc |= Exc.IE;
  let r: F80;
  if (b === undefined || cb < Cls.QNaN) r = a;
  else if (ca < Cls.QNaN) r = b;
  else if (ca !== cb) r = ca === Cls.QNaN ? a : b;
  else {
    const sa = a.sig | QUIET_BIT, sb = b.sig | QUIET_BIT;
    r = sa > sb ? a : sb > sa ? b : a.sign === 0 ? a : b;
  }
  return (env.exc & Exc.IE & ~env.cw) !== 0 ? null : quiet(r);
}

// ---- rounding -------------------------------------------------------------------

let inexact = false;
let roundedUp = false;

/** m / 2^shift rounded per RC for a value of sign `sign`; sets `inexact` and `roundedUp`. */
function shiftRound(m: bigint, shift: number, sign: number, rc: number): bigint {
  roundedUp = false;
  if (shift <= 0) { inexact = false; return m << BigInt(-shift); }
  const s = BigInt(shift);
  const q = m >> s;
  const rem = m - (q << s);
  inexact = rem !== 0n;
  if (!inexact) return q;
  let up: boolean;
  switch (rc) {
    case Rc.Nearest: { const half = 1n << (s - 1n); up = rem > half || (rem === half && (q & 1n) === 1n); break; }
    case Rc.Down: up = sign === 1; break;
    case Rc.Up: up = sign === 0; break;
    default: up = false;
  }
  roundedUp = up;
  return up ? q + 1n : q;
}

/**
 * Rounds sign × m × 2^e (m > 0, exact or with a sticky low bit) to `fmt`
 * under env.cw.RC and returns it as an 80-bit value; values of the narrower
 * formats come back exactly representable there. Formats with the 80-bit
 * exponent range are register destinations: unmasked OE/UE there deliver
 * the result with the exponent wrapped by 24576, elsewhere they store nothing.
 */
export function round(env: FpEnv, sign: number, m: bigint, e: number, fmt: Format): F80 | null {
  const rc = (env.cw >> 10) & 3;
  const toRegister = fmt.emax === FMT80.emax;
  const prec = fmt.prec;
  const top = e + bitLength(m) - 1;
  let lsb = top - prec + 1;
  let wrap = 0;
  if (top < fmt.emin) {
    // Tiny after rounding: the result rounded with an unbounded exponent is below the smallest normal.
    const tiny = top < fmt.emin - 1 || bitLength(shiftRound(m, lsb - e, sign, rc)) <= prec;
    if (tiny && (env.cw & Exc.UE) === 0) {
      env.exc |= Exc.UE;
      if (!toRegister) return null;
      wrap = WRAP;
    } else {
      lsb = fmt.emin - prec + 1;
      shiftRound(m, lsb - e, sign, rc);
      if (tiny && inexact) env.exc |= Exc.UE;
    }
  }
  let q = shiftRound(m, lsb - e, sign, rc);
  if (inexact) env.exc |= Exc.PE;
  if (roundedUp) env.exc |= Exc.C1;
  if (q === 0n) return zero(sign);
  let n = bitLength(q);
  const newTop = lsb + n - 1;
  if (newTop > fmt.emax) {
    env.exc |= Exc.OE;
    if ((env.cw & Exc.OE) === 0) {
      if (!toRegister) return null;
      wrap = -WRAP;
    } else {
      env.exc |= Exc.PE;
      const toInf = rc === Rc.Nearest || (rc === Rc.Up && sign === 0) || (rc === Rc.Down && sign === 1);
      if (toInf) { env.exc |= Exc.C1; return inf(sign); }
      env.exc &= ~Exc.C1;
      q = (1n << BigInt(prec)) - 1n;
      lsb = fmt.emax - prec + 1;
      n = prec;
    }
  }
  const topFinal = lsb + n - 1;
  if (wrap !== 0 && (topFinal + BIAS + wrap < 1 || topFinal + BIAS + wrap > 0x7ffe)) {
    // Too far out even for the wrapped exponent (fscale): hardware delivers ±0 or ±∞ whatever RC says.
    if (wrap > 0) { env.exc = (env.exc & ~Exc.C1) | Exc.PE; return zero(sign); }
    env.exc |= Exc.PE | Exc.C1;
    return inf(sign);
  }
  if (topFinal < FMT80.emin && wrap === 0) return { sign, exp: 0, sig: q << BigInt(lsb - EMIN_LSB) };
  return { sign, exp: topFinal + BIAS + wrap, sig: q << BigInt(64 - n) };
}

/** An exact finite value sign × m × 2^e (m ≥ 0) as an 80-bit register value; used where no rounding can occur. */
export function exact(sign: number, m: bigint, e: number): F80 {
  if (m === 0n) return zero(sign);
  const env: FpEnv = { cw: 0x37f, exc: 0 };
  return round(env, sign, m, e, FMT80) as F80;
}

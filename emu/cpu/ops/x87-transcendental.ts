/**
 * The x87 transcendentals (SDM Vol.2A): f2xm1 fyl2x fyl2xp1 fptan fpatan
 * fsin fcos fsincos. Special operands (zeros, infinities, NaNs, domain
 * errors) follow the instruction pages' tables exactly; finite results are
 * computed in binary64 with the 80-bit exponent handled apart, so they
 * carry about 53 correct bits instead of the hardware's ~64 (KNOWN
 * INACCURACY: long double libm results differ in the last 11 bits; the
 * arithmetic and conversions that printf depends on are exact). Two places
 * are done exactly where binary64 would break down: tiny operands (x·ln2,
 * x·log2e, sin x ≈ x are rounded from 128-bit constants) and the reduction
 * of fsin/fcos/fptan arguments by π/2, which uses a 256-bit π, so large
 * arguments keep their 53 bits. |x| ≥ 2^63 sets C2 and leaves ST0 alone,
 * and f2xm1 leaves |x| > 1 alone, as the host does.
 */
import type { Cpu } from '../cpu.js';
import type { Insn } from '../insn.js';
import type { OpDef } from '../table.js';
import {
  type F80, type FpEnv, Cls, Exc, INDEFINITE, classify, propagateNaN, invalid, raise, denormalStops,
  topExp, lsbExp, bitLength, zero, inf, round, FMT80, J_BIT,
} from '../softfloat80.js';
import { fromF64 } from '../softfloat80-convert.js';
import { CONSTANTS, Const } from '../softfloat80-const.js';
import { begin, finish, getST, setST, isEmpty, pop, push, underflow, overflow, Sw } from './x87-stack.js';

const scratch = new DataView(new ArrayBuffer(8));

/** A finite nonzero value as m × 2^k with m a double in ±[1, 2) (the top 53 bits, truncated). */
function split(x: F80): [number, number] {
  const n = bitLength(x.sig);
  const top53 = n > 53 ? x.sig >> BigInt(n - 53) : x.sig << BigInt(53 - n);
  const m = Number(top53) / 2 ** 52;
  return [x.sign ? -m : m, topExp(x)];
}

function toDouble(x: F80): number {
  if (classify(x) === Cls.Zero) return x.sign ? -0 : 0;
  const [m, k] = split(x);
  return m * 2 ** k;
}

/** A finite binary64 result as an 80-bit value, inexact (PE) unless it is 0 or ±1. */
function fromDouble(env: FpEnv, d: number): F80 {
  scratch.setFloat64(0, d);
  const v = fromF64({ cw: env.cw, exc: 0 }, scratch.getBigUint64(0)) as F80;
  if (d !== 0 && Math.abs(d) !== 1) env.exc |= Exc.PE;
  return v;
}

/** |x| < 2^63: the trigonometric instructions' operand range. */
function inTrigRange(x: F80): boolean { return classify(x) === Cls.Zero || topExp(x) < 63; }

/** π/2 × 2^256, truncated; with |x| < 2^63 the reduction error stays below 2^-190. */
const PIO2 = 0x3243f6a8885a308d313198a2e03707344a4093822299f31d0082efa98ec4e6c89n >> 1n;

/** x = k·π/2 + r with |r| ≤ π/4: returns [r as a double, k mod 4]. */
function reduce(x: F80): [number, number] {
  const X = x.sig << BigInt(256 + lsbExp(x));
  const k = (X + (PIO2 >> 1n)) / PIO2;
  const r = X - k * PIO2;
  const mag = r < 0n ? -r : r;
  const shift = Math.max(0, bitLength(mag || 1n) - 60);
  const d = Number(mag >> BigInt(shift)) * 2 ** (shift - 256);
  const q = Number(k & 3n);
  return [(r < 0n) !== (x.sign === 1) ? -d : d, x.sign ? (4 - q) & 3 : q];
}

/** A result still to be rounded into env: ST writes call it once. */
type Approx = (env: FpEnv) => F80;

/** A binary64 approximation: inexact, so it rounds with a sticky bit. */
const near = (d: number): Approx => (env) => scaled(env, d, 0) as F80;

/** ±(1 - d) for a small d known to binary64 precision: keeps all 64 bits of cos near 0. */
const oneMinus = (d: number, sign: number): Approx => (env) => {
  const m = (1n << 121n) - (BigInt(Math.floor(d * 2 ** 120)) << 1n) - 1n;
  return round(env, sign, m, -121, FMT80) as F80;
};

/** sin and cos of x from the reduced argument and quadrant; cos r as 1 - 2 sin²(r/2). */
function sinCos(x: F80): [Approx, Approx, number] {
  const [r, q] = reduce(x);
  const s = Math.sin(r), h = Math.sin(r / 2), d = 2 * h * h;
  const t = (q & 1 ? -(1 - d) / s : s / (1 - d));
  switch (q) {
    case 0: return [near(s), oneMinus(d, 0), t];
    case 1: return [oneMinus(d, 0), near(-s), t];
    case 2: return [near(-s), oneMinus(d, 1), t];
    default: return [oneMinus(d, 1), near(s), t];
  }
}

// ---- the operations ----------------------------------------------------------------

function f2xm1Value(env: FpEnv, x: F80): F80 | null {
  const c = classify(x);
  if (c >= Cls.QNaN) return propagateNaN(env, x, c);
  if (c === Cls.Zero) return x;
  if (c === Cls.Inf) return x.sign ? fromDouble(env, -1) : x;
  if (denormalStops(env, c)) return null;
  const t = topExp(x);
  // Outside [-1, 1] the SDM leaves the result undefined; the host leaves ST0 as it was.
  if (t > 0 || (t === 0 && x.sig !== J_BIT)) { env.exc |= Exc.PE; return x; }
  if (t < -60) return timesConstant(env, x, Const.Ln2);
  return fromDouble(env, Math.expm1(toDouble(x) * Math.LN2));
}

/** x × a 128-bit constant, correctly rounded: the first-order term of a function at a tiny x. */
function timesConstant(env: FpEnv, x: F80, c: Const): F80 | null {
  const [m, e] = CONSTANTS[c];
  return round(env, x.sign, x.sig * m, lsbExp(x) + e, FMT80);
}

/** y × log2(x) (fyl2x), or y × log2(1 + x) (fyl2xp1). */
function ylog(env: FpEnv, x: F80, y: F80, plusOne: boolean): F80 | null {
  const cx = classify(x), cy = classify(y);
  if (cx >= Cls.QNaN || cy >= Cls.QNaN) return propagateNaN(env, x, cx, y, cy);
  if (plusOne) {
    if (cx === Cls.Zero) return cy === Cls.Inf ? invalid(env) : zero(x.sign ^ y.sign);
    if (cx === Cls.Inf) return x.sign || cy === Cls.Zero ? invalid(env) : inf(y.sign);
    if (denormalStops(env, cx, cy)) return null;
    if (cy === Cls.Zero) return zero(x.sign ^ y.sign);
    // For x ≤ -1 the host hands x back as the result.
    if (x.sign && topExp(x) >= 0) { env.exc |= Exc.PE; return x; }
    if (cy === Cls.Inf) return inf(x.sign ^ y.sign);
    if (topExp(x) > 60) return ylog(env, x, y, false);
    if (topExp(x) < -70) {
      // log2(1 + x) = x·log2(e) to far beyond 64 bits here.
      const [m, e] = CONSTANTS[Const.L2e];
      return round(env, x.sign ^ y.sign, x.sig * y.sig * m, lsbExp(x) + lsbExp(y) + e, FMT80);
    }
    const [my, ky] = split(y);
    return scaled(env, (Math.log1p(toDouble(x)) / Math.LN2) * my, ky);
  }
  if (x.sign && cx !== Cls.Zero) return invalid(env);
  if (cx === Cls.Zero) {
    if (cy === Cls.Zero) return invalid(env);
    if (denormalStops(env, cy)) return null;
    return cy === Cls.Inf ? inf(y.sign ^ 1) : raise(env, Exc.ZE, inf(y.sign ^ 1));
  }
  if (cx === Cls.Inf) return cy === Cls.Zero ? invalid(env) : denormalStops(env, cy) ? null : inf(y.sign);
  const [m, k] = split(x);
  const log = k + Math.log2(m);
  if (log === 0 && cy === Cls.Inf) return invalid(env);
  if (denormalStops(env, cx, cy)) return null;
  if (log === 0) return zero(y.sign);
  if (cy === Cls.Inf) return inf(y.sign ^ (log < 0 ? 1 : 0));
  if (cy === Cls.Zero) return zero(y.sign ^ (log < 0 ? 1 : 0));
  const [my, ky] = split(y);
  return scaled(env, log * my, ky);
}

/**
 * p × 2^k for a finite double p and a possibly large k, rounded to 80 bits;
 * p is an inexact approximation, so a sticky bit makes tiny results report UE.
 */
function scaled(env: FpEnv, p: number, k: number): F80 | null {
  const r = fromDouble(env, p);
  if (r.exp === 0 && r.sig === 0n) return r;
  return round(env, r.sign, (r.sig << 1n) | 1n, lsbExp(r) - 1 + k, FMT80);
}

/** atan2(y, x) with the special cases of the FPATAN table. */
function patan(env: FpEnv, x: F80, y: F80): F80 | null {
  const cx = classify(x), cy = classify(y);
  if (cx >= Cls.QNaN || cy >= Cls.QNaN) return propagateNaN(env, x, cx, y, cy);
  if (denormalStops(env, cx, cy)) return null;
  const fy = cy === Cls.Inf ? (y.sign ? -Infinity : Infinity) : null;
  const fx = cx === Cls.Inf ? (x.sign ? -Infinity : Infinity) : null;
  if (fx !== null || fy !== null || cx === Cls.Zero || cy === Cls.Zero) {
    return fromDouble(env, Math.atan2(fy ?? (cy === Cls.Zero ? (y.sign ? -0 : 0) : y.sign ? -1 : 1),
      fx ?? (cx === Cls.Zero ? (x.sign ? -0 : 0) : x.sign ? -1 : 1)));
  }
  const [mx, kx] = split(x), [my, ky] = split(y);
  const d = ky - kx;
  if (d < -1000) {
    // |y/x| far below binary64's range: atan2 is y/x (or ±π when x < 0).
    if (x.sign) return fromDouble(env, y.sign ? -Math.PI : Math.PI);
    return scaled(env, my / mx, d);
  }
  return fromDouble(env, Math.atan2(my * 2 ** Math.min(d, 1000), mx));
}

// ---- handlers ---------------------------------------------------------------------------

function f2xm1(cpu: Cpu, i: Insn): void {
  const env = begin(cpu, i);
  if (isEmpty(cpu, 0)) { if (underflow(env)) setST(cpu, 0, INDEFINITE); }
  else { const r = f2xm1Value(env, getST(cpu, 0)); if (r) setST(cpu, 0, r); }
  finish(cpu, env);
}

/** fyl2x (arg 0), fyl2xp1 (arg 1), fpatan (arg 2): ST1 = f(ST0, ST1), then pop. */
function binaryPop(cpu: Cpu, i: Insn): void {
  const env = begin(cpu, i);
  let r: F80 | null;
  if (isEmpty(cpu, 0) || isEmpty(cpu, 1)) r = underflow(env) ? INDEFINITE : null;
  else r = i.arg === 2 ? patan(env, getST(cpu, 0), getST(cpu, 1)) : ylog(env, getST(cpu, 0), getST(cpu, 1), i.arg === 1);
  if (r !== null) { setST(cpu, 1, r); pop(cpu); }
  finish(cpu, env);
}

const enum Trig { Sin, Cos, Tan, SinCos }

/**
 * sin, cos, tan of a finite x, to be rounded. Below 2^-33 the cubic term is
 * under half an ulp: sin x = x - x³/6 and tan x = x + x³/3 are rounded from
 * x nudged by a sticky bit in the right direction, cos x from just below 1.
 */
function trigValues(x: F80, c: Cls): [Approx, Approx, Approx] {
  const one: Approx = (env) => fromDouble(env, 1);
  if (c === Cls.Zero) return [() => x, one, () => x];
  if (topExp(x) < -33) {
    const nudged = (dir: bigint): Approx => (env) => round(env, x.sign, (x.sig << 64n) + dir, lsbExp(x) - 64, FMT80) as F80;
    return [nudged(-1n), oneMinus(0, 0), nudged(1n)];
  }
  const [sin, cos, t] = sinCos(x);
  return [sin, cos, near(t)];
}

/** fsin fcos fptan fsincos: C2 = 1 and ST0 unchanged when |ST0| ≥ 2^63. */
function trig(cpu: Cpu, i: Insn): void {
  const env = begin(cpu, i);
  const pushes = i.arg === Trig.Tan || i.arg === Trig.SinCos;
  cpu.fsw &= ~Sw.C2;
  if (isEmpty(cpu, 0)) {
    if (underflow(env)) { setST(cpu, 0, INDEFINITE); if (pushes && isEmpty(cpu, 7)) push(cpu, INDEFINITE); }
  } else if (pushes && !isEmpty(cpu, 7)) {
    if (overflow(env)) { setST(cpu, 0, INDEFINITE); push(cpu, INDEFINITE); }
  } else {
    const x = getST(cpu, 0);
    const c = classify(x);
    if (c >= Cls.QNaN || c === Cls.Inf) {
      const r = c === Cls.Inf ? invalid(env) : propagateNaN(env, x, c);
      if (r) { setST(cpu, 0, r); if (pushes) push(cpu, r); }
    } else if (!inTrigRange(x)) {
      cpu.fsw |= Sw.C2;
    } else if (!denormalStops(env, c)) {
      const [sin, cos, tan] = trigValues(x, c);
      switch (i.arg) {
        case Trig.Sin: setST(cpu, 0, sin(env)); break;
        case Trig.Cos: setST(cpu, 0, cos(env)); break;
        case Trig.Tan: setST(cpu, 0, tan(env)); push(cpu, fromDouble(env, 1)); break;
        default: { const v = sin(env); setST(cpu, 0, v); push(cpu, cos(env)); }
      }
    }
  }
  finish(cpu, env);
}

export const rows: OpDef[] = [
  { mn: 'f2xm1', code: 0xd9, digit: 6, rm: 0, exec: f2xm1 },
  { mn: 'fyl2x', code: 0xd9, digit: 6, rm: 1, exec: binaryPop, arg: 0 },
  { mn: 'fptan', code: 0xd9, digit: 6, rm: 2, exec: trig, arg: Trig.Tan },
  { mn: 'fpatan', code: 0xd9, digit: 6, rm: 3, exec: binaryPop, arg: 2 },
  { mn: 'fyl2xp1', code: 0xd9, digit: 7, rm: 1, exec: binaryPop, arg: 1 },
  { mn: 'fsincos', code: 0xd9, digit: 7, rm: 3, exec: trig, arg: Trig.SinCos },
  { mn: 'fsin', code: 0xd9, digit: 7, rm: 6, exec: trig, arg: Trig.Sin },
  { mn: 'fcos', code: 0xd9, digit: 7, rm: 7, exec: trig, arg: Trig.Cos },
];

/**
 * Multiply and divide (SDM Vol.2A DIV, IDIV, IMUL; Vol.2B MUL).
 * The one-operand forms work on the accumulator pair AX, DX:AX, EDX:EAX or
 * RDX:RAX; imul also has the truncating two- and three-operand forms.
 *
 * Products and quotients are exact at every width without BigInt: a 32×32
 * product is built from 16-bit limbs, a 64×64 product from four of those, a
 * 64/32 quotient by long division in 16-bit digits (every partial remainder
 * stays below 2^48, exact in a double), and a 128/64 quotient in 16-bit
 * digits when the divisor fits 32 bits, else bit by bit.
 *
 * Undefined flags follow Intel cores (as box64's Intel mode models them):
 * mul/imul set SF from the low half of the result, PF from its low byte, and
 * clear ZF and AF; a successful div clears CF OF SF AF and sets ZF and PF;
 * idiv leaves all flags as they were. #DE leaves every register and flag alone.
 */
import type { Cpu } from '../cpu.js';
import type { Insn } from '../insn.js';
import type { OpDef } from '../table.js';
import { F, PARITY } from '../flags.js';
import { CpuFault, Vector } from '../fault.js';
import { R } from '../regs.js';
import { mulHi, smul32, umul32 } from '../mul32.js';

const TWO32 = 4294967296;

// ---- exact multiplication ------------------------------------------------------

/** High dword of the last 64-bit quotient. */
let mHi = 0;

/** The last 128-bit product, least significant dword first. */
const W = new Int32Array(4);

function umul64(aLo: number, aHi: number, bLo: number, bHi: number): void {
  const l0 = umul32(aLo, bLo), h0 = mulHi;
  const l1 = umul32(aLo, bHi), h1 = mulHi;
  const l2 = umul32(aHi, bLo), h2 = mulHi;
  const l3 = umul32(aHi, bHi), h3 = mulHi;
  const t1 = (h0 >>> 0) + (l1 >>> 0) + (l2 >>> 0);
  const t2 = (h1 >>> 0) + (h2 >>> 0) + (l3 >>> 0) + Math.floor(t1 / TWO32);
  W[0] = l0;
  W[1] = t1 | 0;
  W[2] = t2 | 0;
  W[3] = (h3 + Math.floor(t2 / TWO32)) | 0;
}

/** Signed 64×64 → 128, corrected from the unsigned product as smul32 is. */
function smul64(aLo: number, aHi: number, bLo: number, bHi: number): void {
  umul64(aLo, aHi, bLo, bHi);
  if (aHi < 0) subHigh(bLo, bHi);
  if (bHi < 0) subHigh(aLo, aHi);
}

function subHigh(lo: number, hi: number): void {
  const d = (W[2] >>> 0) - (lo >>> 0);
  W[2] = d | 0;
  W[3] = (W[3] - hi - (d < 0 ? 1 : 0)) | 0;
}

/** mul/imul flags: CF = OF = the product did not fit; SF/PF from the truncated result, ZF AF clear (Intel). */
function mulFlags(cpu: Cpu, signBit: boolean, lowByte: number, overflow: boolean): void {
  cpu.setArith(PARITY[lowByte & 0xff] | (signBit ? F.SF : 0) | (overflow ? F.CF | F.OF : 0));
}

// ---- exact division ------------------------------------------------------------

function divideError(what: string): never {
  throw new CpuFault(Vector.DE, -1, 0, what);
}

/** Remainder of the last udivDigits/udiv128 call (low dword in qR, high in qRHi). */
let qR = 0, qRHi = 0;

/**
 * (r·2^32 + word) / d for r < d < 2^32, as two 16-bit digits; returns the
 * quotient dword and leaves the remainder in qR. Each partial dividend is
 * below 2^48 and each digit below 2^16, so the rounding error of the double
 * division (at most 2^-38) is smaller than any fraction r/d can come short
 * of 1 (at least 2^-32), and floor() gives the exact digit.
 */
function udivDigits(r: number, word: number, d: number): number {
  let q = 0;
  for (let shift = 16; shift >= 0; shift -= 16) {
    const cur = r * 65536 + ((word >>> shift) & 0xffff);
    const digit = Math.floor(cur / d);
    r = cur - digit * d;
    q = q * 65536 + digit;
  }
  qR = r;
  return q | 0;
}

/**
 * Unsigned n3:n2:n1:n0 / dHi:dLo with n3:n2 < dHi:dLo, so that the quotient
 * fits 64 bits; returns its low dword with the high dword in mHi, and the
 * remainder in qR:qRHi.
 */
function udiv128(n0: number, n1: number, n2: number, n3: number, dLo: number, dHi: number): number {
  if (dHi === 0) {
    const d = dLo >>> 0;
    mHi = udivDigits(n2 >>> 0, n1, d);
    const lo = udivDigits(qR, n0, d);
    qRHi = 0;
    qR |= 0;
    return lo;
  }
  // Restoring division, one quotient bit per step; the remainder may need 65 bits.
  let r0 = n2, r1 = n3, q0 = n0, q1 = n1;
  const uHi = dHi >>> 0, uLo = dLo >>> 0;
  for (let k = 0; k < 64; k++) {
    const carry = r1 >>> 31;
    r1 = (r1 << 1) | (r0 >>> 31);
    r0 = (r0 << 1) | (q1 >>> 31);
    q1 = (q1 << 1) | (q0 >>> 31);
    q0 <<= 1;
    if (carry || (r1 >>> 0) > uHi || ((r1 >>> 0) === uHi && (r0 >>> 0) >= uLo)) {
      const t = (r0 >>> 0) - uLo;
      r0 = t | 0;
      r1 = (r1 - dHi - (t < 0 ? 1 : 0)) | 0;
      q0 |= 1;
    }
  }
  qR = r0; qRHi = r1;
  mHi = q1;
  return q0;
}

/** Unsigned a:aHi < b:bHi. */
function ult64(a: number, aHi: number, b: number, bHi: number): boolean {
  return aHi !== bHi ? (aHi >>> 0) < (bHi >>> 0) : (a >>> 0) < (b >>> 0);
}

// ---- handlers ------------------------------------------------------------------

function sx8(v: number): number { return (v << 24) >> 24; }
function sx16(v: number): number { return (v << 16) >> 16; }

/** F6/F7 /4 */
function mul(cpu: Cpu, i: Insn): void {
  const size = i.osz;
  const b = cpu.readE(i, size), bHi = cpu.hi;
  switch (size) {
    case 1: {
      const p = cpu.get8(R.AX) * b;
      cpu.set16(R.AX, p);
      mulFlags(cpu, (p & 0x80) !== 0, p, p > 0xff);
      return;
    }
    case 2: {
      const p = (cpu.get64lo(R.AX) & 0xffff) * b;
      cpu.set16(R.AX, p);
      cpu.set16(R.DX, p >>> 16);
      mulFlags(cpu, (p & 0x8000) !== 0, p, p > 0xffff);
      return;
    }
    case 4: {
      const lo = umul32(cpu.get64lo(R.AX), b), hi = mulHi;
      cpu.set32(R.AX, lo);
      cpu.set32(R.DX, hi);
      mulFlags(cpu, lo < 0, lo, hi !== 0);
      return;
    }
    default: {
      umul64(cpu.get64lo(R.AX), cpu.get64hi(R.AX), b, bHi);
      cpu.set64(R.AX, W[0], W[1]);
      cpu.set64(R.DX, W[2], W[3]);
      mulFlags(cpu, W[1] < 0, W[0], (W[2] | W[3]) !== 0);
    }
  }
}

/** F6/F7 /5: the one-operand signed multiply into the accumulator pair. */
function imul1(cpu: Cpu, i: Insn): void {
  const size = i.osz;
  const b = cpu.readE(i, size), bHi = cpu.hi;
  switch (size) {
    case 1: {
      const p = sx8(cpu.get8(R.AX)) * sx8(b);
      cpu.set16(R.AX, p);
      mulFlags(cpu, (p & 0x80) !== 0, p, p !== sx8(p));
      return;
    }
    case 2: {
      const p = sx16(cpu.get64lo(R.AX)) * sx16(b);
      cpu.set16(R.AX, p);
      cpu.set16(R.DX, p >> 16);
      mulFlags(cpu, (p & 0x8000) !== 0, p, p !== sx16(p));
      return;
    }
    case 4: {
      const lo = smul32(cpu.get64lo(R.AX), b), hi = mulHi;
      cpu.set32(R.AX, lo);
      cpu.set32(R.DX, hi);
      mulFlags(cpu, lo < 0, lo, hi !== lo >> 31);
      return;
    }
    default: {
      smul64(cpu.get64lo(R.AX), cpu.get64hi(R.AX), b, bHi);
      cpu.set64(R.AX, W[0], W[1]);
      cpu.set64(R.DX, W[2], W[3]);
      const s = W[1] >> 31;
      mulFlags(cpu, s < 0, W[0], W[2] !== s || W[3] !== s);
    }
  }
}

/** Gv = Ev × y, truncated to the operand size (0F AF, 69, 6B). */
function imulTrunc(cpu: Cpu, i: Insn, y: number, yHi: number): void {
  const size = i.osz;
  const x = cpu.readE(i, size), xHi = cpu.hi;
  switch (size) {
    case 2: {
      const p = sx16(x) * sx16(y);
      cpu.writeG(i, 2, p, 0);
      mulFlags(cpu, (p & 0x8000) !== 0, p, p !== sx16(p));
      return;
    }
    case 4: {
      const lo = Math.imul(x, y);
      cpu.writeG(i, 4, lo, 0);
      // A product that does not fit int32 cannot equal an int32, exact or rounded.
      mulFlags(cpu, lo < 0, lo, x * y !== lo);
      return;
    }
    default: {
      smul64(x, xHi, y, yHi);
      cpu.writeG(i, 8, W[0], W[1]);
      const s = W[1] >> 31;
      mulFlags(cpu, s < 0, W[0], W[2] !== s || W[3] !== s);
    }
  }
}

function imulGE(cpu: Cpu, i: Insn): void {
  const y = cpu.readG(i, i.osz);
  imulTrunc(cpu, i, y, cpu.hi);
}

function imulGEI(cpu: Cpu, i: Insn): void { imulTrunc(cpu, i, i.imm, i.immHi); }

/** F6/F7 /6 */
function div(cpu: Cpu, i: Insn): void {
  const size = i.osz;
  const d = cpu.readE(i, size), dHi = cpu.hi;
  if (size === 8 ? (d | dHi) === 0 : d === 0) divideError('divide by zero');
  switch (size) {
    case 1: {
      const n = cpu.get64lo(R.AX) & 0xffff;
      const q = Math.floor(n / d);
      if (q > 0xff) divideError('quotient overflow');
      cpu.set16(R.AX, q | ((n - q * d) << 8));
      break;
    }
    case 2: {
      const n = (((cpu.get64lo(R.DX) & 0xffff) << 16) | (cpu.get64lo(R.AX) & 0xffff)) >>> 0;
      const q = Math.floor(n / d);
      if (q > 0xffff) divideError('quotient overflow');
      cpu.set16(R.AX, q);
      cpu.set16(R.DX, n - q * d);
      break;
    }
    case 4: {
      const hi = cpu.get64lo(R.DX);
      if ((hi >>> 0) >= (d >>> 0)) divideError('quotient overflow');
      const q = udivDigits(hi >>> 0, cpu.get64lo(R.AX), d >>> 0);
      cpu.set32(R.AX, q);
      cpu.set32(R.DX, qR);
      break;
    }
    default: {
      const n2 = cpu.get64lo(R.DX), n3 = cpu.get64hi(R.DX);
      if (!ult64(n2, n3, d, dHi)) divideError('quotient overflow');
      const q = udiv128(cpu.get64lo(R.AX), cpu.get64hi(R.AX), n2, n3, d, dHi);
      cpu.set64(R.AX, q, mHi);
      cpu.set64(R.DX, qR, qRHi);
    }
  }
  cpu.setArith(F.ZF | F.PF);
}

/** 128-bit two's complement negation of W, in place. */
function neg128(): void {
  let carry = 1;
  for (let k = 0; k < 4; k++) {
    const v = (~W[k] >>> 0) + carry;
    W[k] = v | 0;
    carry = v > 0xffffffff ? 1 : 0;
  }
}

/**
 * F6/F7 /7. The quotient truncates toward zero and the remainder takes the
 * dividend's sign; a quotient outside the signed range (INT_MIN / -1
 * included) is #DE.
 */
function idiv(cpu: Cpu, i: Insn): void {
  const size = i.osz;
  const d = cpu.readE(i, size), dHi = cpu.hi;
  if (size === 8 ? (d | dHi) === 0 : d === 0) divideError('divide by zero');
  switch (size) {
    case 1: {
      const n = sx16(cpu.get64lo(R.AX)), v = sx8(d);
      const q = Math.trunc(n / v);
      if (q !== sx8(q)) divideError('quotient overflow');
      cpu.set16(R.AX, (q & 0xff) | ((n - q * v) << 8));
      return;
    }
    case 2: {
      const n = ((cpu.get64lo(R.DX) & 0xffff) << 16) | (cpu.get64lo(R.AX) & 0xffff), v = sx16(d);
      const q = Math.trunc(n / v);
      if (q !== sx16(q)) divideError('quotient overflow');
      cpu.set16(R.AX, q);
      cpu.set16(R.DX, n - q * v);
      return;
    }
    case 4: {
      // |EDX:EAX| / |d| in 32-bit digits; EDX:EAX is negated as a 64-bit value.
      let lo = cpu.get64lo(R.AX), hi = cpu.get64lo(R.DX);
      const nNeg = hi < 0;
      if (nNeg) { lo = -lo | 0; hi = (~hi + (lo === 0 ? 1 : 0)) | 0; }
      const ud = Math.abs(d);
      if ((hi >>> 0) >= ud) divideError('quotient overflow');
      const uq = udivDigits(hi >>> 0, lo, ud) >>> 0;
      const qNeg = nNeg !== d < 0;
      if (uq > (qNeg ? 0x80000000 : 0x7fffffff)) divideError('quotient overflow');
      cpu.set32(R.AX, qNeg ? -uq : uq);
      cpu.set32(R.DX, nNeg ? -qR : qR);
      return;
    }
    default: {
      W[0] = cpu.get64lo(R.AX); W[1] = cpu.get64hi(R.AX); W[2] = cpu.get64lo(R.DX); W[3] = cpu.get64hi(R.DX);
      const nNeg = W[3] < 0;
      if (nNeg) neg128();
      let dl = d, dh = dHi;
      const dNeg = dh < 0;
      if (dNeg) { dl = -dl | 0; dh = (~dh + (dl === 0 ? 1 : 0)) | 0; }
      if (!ult64(W[2], W[3], dl, dh)) divideError('quotient overflow');
      let ql = udiv128(W[0], W[1], W[2], W[3], dl, dh), qh = mHi;
      const qNeg = nNeg !== dNeg;
      // The magnitude may reach 2^63 only when the quotient is negative.
      if (qh < 0 && !(qNeg && qh === (0x80000000 | 0) && ql === 0)) divideError('quotient overflow');
      if (qNeg) { ql = -ql | 0; qh = (~qh + (ql === 0 ? 1 : 0)) | 0; }
      let rl = qR, rh = qRHi;
      if (nNeg) { rl = -rl | 0; rh = (~rh + (rl === 0 ? 1 : 0)) | 0; }
      cpu.set64(R.AX, ql, qh);
      cpu.set64(R.DX, rl, rh);
    }
  }
}

const OSZAPC = 'OSZAPC';

export const rows: OpDef[] = [
  { mn: 'mul', code: 0xf6, digit: 4, ops: 'Eb', exec: mul, wf: OSZAPC, uf: 'SZAP' },
  { mn: 'mul', code: 0xf7, digit: 4, ops: 'Ev', exec: mul, wf: OSZAPC, uf: 'SZAP' },
  { mn: 'imul', code: 0xf6, digit: 5, ops: 'Eb', exec: imul1, wf: OSZAPC, uf: 'SZAP' },
  { mn: 'imul', code: 0xf7, digit: 5, ops: 'Ev', exec: imul1, wf: OSZAPC, uf: 'SZAP' },
  { mn: 'div', code: 0xf6, digit: 6, ops: 'Eb', exec: div, wf: OSZAPC, uf: OSZAPC },
  { mn: 'div', code: 0xf7, digit: 6, ops: 'Ev', exec: div, wf: OSZAPC, uf: OSZAPC },
  { mn: 'idiv', code: 0xf6, digit: 7, ops: 'Eb', exec: idiv, wf: OSZAPC, uf: OSZAPC },
  { mn: 'idiv', code: 0xf7, digit: 7, ops: 'Ev', exec: idiv, wf: OSZAPC, uf: OSZAPC },
  { mn: 'imul', code: 0x0faf, ops: 'Gv,Ev', exec: imulGE, wf: OSZAPC, uf: 'SZAP' },
  { mn: 'imul', code: 0x69, ops: 'Gv,Ev,Iz', exec: imulGEI, wf: OSZAPC, uf: 'SZAP' },
  { mn: 'imul', code: 0x6b, ops: 'Gv,Ev,sIb', exec: imulGEI, wf: OSZAPC, uf: 'SZAP' },
];

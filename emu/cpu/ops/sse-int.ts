/**
 * MMX/SSE2 integer arithmetic on packed bytes, words, dwords and qwords:
 * wrapping and saturating add/sub, multiplies, averages, sum of absolute
 * differences, min/max, compares, bitwise logic and shifts. Each operation
 * is one lane function over A and B (sse-lanes.ts) serving both the MMX
 * (NP, n = 8) and the XMM (66, n = 16) row. Typed-array stores wrap, so the
 * wrapping forms need no masking.
 */
import type { Cpu } from '../cpu.js';
import type { Insn } from '../insn.js';
import type { OpDef } from '../table.js';
import { mulHi, smul32, umul32 } from '../mul32.js';
import { A, B, T, type LaneOp, pair, getX, putX, getMm, putMm, enterMmx } from './sse-lanes.js';

// ---- element-wise operations ------------------------------------------------------

type View = 'u8' | 'i8' | 'u16' | 'i16' | 'u32' | 'i32';

/** Element operations; saturating ones clamp to the element type's range. */
export const enum IOp { Add, Sub, AddSat, SubSat, Min, Max, Eq, Gt, Avg, MulLo, MulHi, MulHiRS, Sign, And, AndN, Or, Xor }

/**
 * A = op(A, B) element-wise on the elements of view `v`. Elements are read
 * through one view per width (u8, u16, i32) so that each loop sees few
 * array types, sign- or zero-extended where the operation cares; the store
 * wraps to the element width.
 */
export function lanes(v: View, op: IOp): LaneOp {
  const size = v.endsWith('8') ? 1 : v.endsWith('16') ? 2 : 4;
  const signed = v[0] === 'i', bits = 8 * size, sh = 32 - bits;
  const lo = signed ? -(2 ** (bits - 1)) : 0, hi = signed ? 2 ** (bits - 1) - 1 : 2 ** bits - 1;
  const a = size === 1 ? A.u8 : size === 2 ? A.u16 : A.i32;
  const b = size === 1 ? B.u8 : size === 2 ? B.u16 : B.i32;
  const ext = (x: number): number => (signed ? (x << sh) >> sh : x >>> 0);
  return (n) => {
    const c = n / size;
    let k = 0;
    switch (op) {
      case IOp.Add: for (; k < c; k++) a[k] = a[k] + b[k]; return;
      case IOp.Sub: for (; k < c; k++) a[k] = a[k] - b[k]; return;
      case IOp.And: for (; k < c; k++) a[k] = a[k] & b[k]; return;
      case IOp.AndN: for (; k < c; k++) a[k] = ~a[k] & b[k]; return;
      case IOp.Or: for (; k < c; k++) a[k] = a[k] | b[k]; return;
      case IOp.Xor: for (; k < c; k++) a[k] = a[k] ^ b[k]; return;
      case IOp.Eq: for (; k < c; k++) a[k] = a[k] === b[k] ? -1 : 0; return;
      case IOp.Avg: for (; k < c; k++) a[k] = (a[k] + b[k] + 1) >>> 1; return;
      case IOp.MulLo: for (; k < c; k++) a[k] = Math.imul(a[k], b[k]); return;
      case IOp.Gt: for (; k < c; k++) a[k] = ext(a[k]) > ext(b[k]) ? -1 : 0; return;
      case IOp.Min: for (; k < c; k++) { const x = ext(a[k]), y = ext(b[k]); a[k] = x < y ? x : y; } return;
      case IOp.Max: for (; k < c; k++) { const x = ext(a[k]), y = ext(b[k]); a[k] = x > y ? x : y; } return;
      case IOp.AddSat: for (; k < c; k++) { const r = ext(a[k]) + ext(b[k]); a[k] = r > hi ? hi : r < lo ? lo : r; } return;
      case IOp.SubSat: for (; k < c; k++) { const r = ext(a[k]) - ext(b[k]); a[k] = r > hi ? hi : r < lo ? lo : r; } return;
      case IOp.MulHi: for (; k < c; k++) a[k] = Math.floor((ext(a[k]) * ext(b[k])) / 65536); return;
      case IOp.MulHiRS: for (; k < c; k++) a[k] = (((ext(a[k]) * ext(b[k])) >> 14) + 1) >> 1; return;
      default: for (; k < c; k++) { const x = ext(a[k]), y = ext(b[k]); a[k] = y < 0 ? -x : y === 0 ? 0 : x; }
    }
  };
}

/** 64-bit lanes as dword pairs; sub when `neg`. */
function addq(neg: boolean): LaneOp {
  return (n) => {
    const a = A.i32, b = B.i32;
    for (let k = 0; k < n >> 2; k += 2) {
      const lo = neg ? (a[k] >>> 0) - (b[k] >>> 0) : (a[k] >>> 0) + (b[k] >>> 0);
      const carry = neg ? (lo < 0 ? -1 : 0) : (lo > 0xffffffff ? 1 : 0);
      a[k] = lo;
      a[k + 1] = (neg ? a[k + 1] - b[k + 1] : a[k + 1] + b[k + 1]) + carry;
    }
  };
}

// ---- multiplies ------------------------------------------------------------------

/** pmuludq (signed = false) / pmuldq (SSE4.1): the low dword of each qword, multiplied to 64 bits. */
export function mulDq(signed: boolean): LaneOp {
  return (n) => {
    const a = A.i32, b = B.i32;
    for (let k = 0; k < n >> 2; k += 2) {
      const x = a[k], y = b[k];
      a[k] = signed ? smul32(x, y) : umul32(x, y);
      a[k + 1] = mulHi;
    }
  };
}

const pmaddwd: LaneOp = (n) => {
  const a = A.i16, b = B.i16;
  for (let k = 0; k < n >> 2; k++) T.i32[k] = a[2 * k] * b[2 * k] + a[2 * k + 1] * b[2 * k + 1];
  for (let k = 0; k < n >> 2; k++) A.i32[k] = T.i32[k];
};

const psadbw: LaneOp = (n) => {
  const a = A.u8, b = B.u8;
  for (let q = 0; q < n; q += 8) {
    let s = 0;
    for (let k = q; k < q + 8; k++) s += Math.abs(a[k] - b[k]);
    A.i32[q >> 2] = s; A.i32[(q >> 2) + 1] = 0;
  }
};

// ---- shifts -------------------------------------------------------------------------

/** Shift kinds in the order of the 0F 71..73 group's /digit: /2 logical right, /4 arithmetic right, /6 left. */
const enum Sh { Right = 2, Arith = 4, Left = 6 }

/** Shifts A's elements of `bits` width by count (any non-negative number). */
function shiftLanes(n: number, bits: number, kind: number, count: number): void {
  if (bits === 64) {
    const a = A.i32;
    for (let k = 0; k < n >> 2; k += 2) {
      let lo = a[k], hi = a[k + 1];
      if (count > 63) { lo = 0; hi = 0; }
      else if (count >= 32) { if (kind === Sh.Left) { hi = lo << (count - 32); lo = 0; } else { lo = hi >>> (count - 32); hi = 0; } }
      else if (count > 0) {
        if (kind === Sh.Left) { hi = (hi << count) | (lo >>> (32 - count)); lo <<= count; }
        else { lo = (lo >>> count) | (hi << (32 - count)); hi >>>= count; }
      }
      a[k] = lo; a[k + 1] = hi;
    }
    return;
  }
  const v = bits === 16 ? (kind === Sh.Arith ? A.i16 : A.u16) : A.i32;
  const c = n / (bits >> 3);
  if (count >= bits) {
    if (kind !== Sh.Arith) { v.fill(0, 0, c); return; }
    count = bits - 1;
  }
  for (let k = 0; k < c; k++) {
    const x = v[k];
    v[k] = kind === Sh.Left ? x << count : kind === Sh.Arith ? x >> count : x >>> count;
  }
}

/** psrl/psra/psll by the 64-bit count in B (mm/m64 or xmm/m128). */
function shiftBy(bits: number, kind: Sh): LaneOp {
  return (n) => {
    const count = B.i32[1] !== 0 || B.i32[0] < 0 ? 1 << 30 : B.i32[0];
    shiftLanes(n, bits, kind, count);
  };
}

/** Byte shifts of the whole xmm register: pslldq (left) and psrldq. */
function shiftBytes(left: boolean, count: number): void {
  const a = A.u8;
  if (count > 15) { a.fill(0); return; }
  if (left) { a.copyWithin(count, 0, 16 - count); a.fill(0, 0, count); }
  else { a.copyWithin(0, count, 16); a.fill(0, 16 - count); }
}

/**
 * 0F 71/72/73 /digit ib: shift the r/m register (mm, or xmm with 66) by
 * imm8. arg is the element width in bits; 73 /3 and /7 are the byte shifts.
 */
function shiftImm(cpu: Cpu, i: Insn): void {
  const digit = (i.row.digit ?? 0), count = i.imm & 0xff;
  if (i.row.pfx === 0) {
    const r = i.rm & 7;
    enterMmx(cpu);
    getMm(cpu, r, A);
    shiftLanes(8, i.arg, digit, count);
    putMm(cpu, r, A);
    return;
  }
  getX(cpu, i.rm, A);
  if (digit === 3 || digit === 7) shiftBytes(digit === 7, count);
  else shiftLanes(16, i.arg, digit, count);
  putX(cpu, i.rm, A);
}

const SHIFT_GROUPS: [number, number, [number, string][]][] = [
  [0x0f71, 16, [[Sh.Right, 'psrlw'], [Sh.Arith, 'psraw'], [Sh.Left, 'psllw']]],
  [0x0f72, 32, [[Sh.Right, 'psrld'], [Sh.Arith, 'psrad'], [Sh.Left, 'pslld']]],
  [0x0f73, 64, [[Sh.Right, 'psrlq'], [Sh.Left, 'psllq']]],
];

function shiftImmRows(): OpDef[] {
  const rows: OpDef[] = [];
  for (const [code, bits, forms] of SHIFT_GROUPS) {
    for (const [digit, mn] of forms) {
      rows.push({ mn, code, digit, pfx: 0, mod: 'reg', ops: 'Nq,Ib', exec: shiftImm, arg: bits });
      rows.push({ mn, code, digit, pfx: 0x66, mod: 'reg', ops: 'Ux,Ib', exec: shiftImm, arg: bits });
    }
  }
  rows.push({ mn: 'psrldq', code: 0x0f73, digit: 3, pfx: 0x66, mod: 'reg', ops: 'Ux,Ib', exec: shiftImm, arg: 128 });
  rows.push({ mn: 'pslldq', code: 0x0f73, digit: 7, pfx: 0x66, mod: 'reg', ops: 'Ux,Ib', exec: shiftImm, arg: 128 });
  return rows;
}

/** emms: every x87 tag empty, leaving MMX state (SDM Vol.2A EMMS). */
function emms(cpu: Cpu): void { cpu.ftw = 0xffff; }

export const rows: OpDef[] = [
  ...pair('paddb', 0x0ffc, lanes('u8', IOp.Add)),
  ...pair('paddw', 0x0ffd, lanes('u16', IOp.Add)),
  ...pair('paddd', 0x0ffe, lanes('i32', IOp.Add)),
  ...pair('paddq', 0x0fd4, addq(false)),
  ...pair('psubb', 0x0ff8, lanes('u8', IOp.Sub)),
  ...pair('psubw', 0x0ff9, lanes('u16', IOp.Sub)),
  ...pair('psubd', 0x0ffa, lanes('i32', IOp.Sub)),
  ...pair('psubq', 0x0ffb, addq(true)),
  ...pair('paddsb', 0x0fec, lanes('i8', IOp.AddSat)),
  ...pair('paddsw', 0x0fed, lanes('i16', IOp.AddSat)),
  ...pair('paddusb', 0x0fdc, lanes('u8', IOp.AddSat)),
  ...pair('paddusw', 0x0fdd, lanes('u16', IOp.AddSat)),
  ...pair('psubsb', 0x0fe8, lanes('i8', IOp.SubSat)),
  ...pair('psubsw', 0x0fe9, lanes('i16', IOp.SubSat)),
  ...pair('psubusb', 0x0fd8, lanes('u8', IOp.SubSat)),
  ...pair('psubusw', 0x0fd9, lanes('u16', IOp.SubSat)),
  ...pair('pmullw', 0x0fd5, lanes('i16', IOp.MulLo)),
  ...pair('pmulhw', 0x0fe5, lanes('i16', IOp.MulHi)),
  ...pair('pmulhuw', 0x0fe4, lanes('u16', IOp.MulHi)),
  ...pair('pmuludq', 0x0ff4, mulDq(false)),
  ...pair('pmaddwd', 0x0ff5, pmaddwd),
  ...pair('pavgb', 0x0fe0, lanes('u8', IOp.Avg)),
  ...pair('pavgw', 0x0fe3, lanes('u16', IOp.Avg)),
  ...pair('psadbw', 0x0ff6, psadbw),
  ...pair('pminub', 0x0fda, lanes('u8', IOp.Min)),
  ...pair('pmaxub', 0x0fde, lanes('u8', IOp.Max)),
  ...pair('pminsw', 0x0fea, lanes('i16', IOp.Min)),
  ...pair('pmaxsw', 0x0fee, lanes('i16', IOp.Max)),
  ...pair('pcmpeqb', 0x0f74, lanes('u8', IOp.Eq)),
  ...pair('pcmpeqw', 0x0f75, lanes('u16', IOp.Eq)),
  ...pair('pcmpeqd', 0x0f76, lanes('i32', IOp.Eq)),
  ...pair('pcmpgtb', 0x0f64, lanes('i8', IOp.Gt)),
  ...pair('pcmpgtw', 0x0f65, lanes('i16', IOp.Gt)),
  ...pair('pcmpgtd', 0x0f66, lanes('i32', IOp.Gt)),
  ...pair('pand', 0x0fdb, lanes('i32', IOp.And)),
  ...pair('pandn', 0x0fdf, lanes('i32', IOp.AndN)),
  ...pair('por', 0x0feb, lanes('i32', IOp.Or)),
  ...pair('pxor', 0x0fef, lanes('i32', IOp.Xor)),
  ...pair('psrlw', 0x0fd1, shiftBy(16, Sh.Right)),
  ...pair('psrld', 0x0fd2, shiftBy(32, Sh.Right)),
  ...pair('psrlq', 0x0fd3, shiftBy(64, Sh.Right)),
  ...pair('psraw', 0x0fe1, shiftBy(16, Sh.Arith)),
  ...pair('psrad', 0x0fe2, shiftBy(32, Sh.Arith)),
  ...pair('psllw', 0x0ff1, shiftBy(16, Sh.Left)),
  ...pair('pslld', 0x0ff2, shiftBy(32, Sh.Left)),
  ...pair('psllq', 0x0ff3, shiftBy(64, Sh.Left)),
  ...shiftImmRows(),
  { mn: 'emms', code: 0x0f77, pfx: 0, exec: emms, unit: 'mmx' },
];

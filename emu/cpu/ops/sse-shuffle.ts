/**
 * Element rearrangement: shufps/shufpd, the float and integer unpacks
 * (interleave the low or high halves of two operands), the saturating
 * packs, pshufd/pshuflw/pshufhw/pshufw, and word insert/extract. MMX forms
 * of the integer ones share the lane code (n = 8 bytes); the MMX unpack of
 * the low halves reads only 4 bytes of memory (SDM Vol.2B PUNPCKLBW).
 */
import type { Cpu } from '../cpu.js';
import type { Insn } from '../insn.js';
import type { OpDef } from '../table.js';
import { A, B, T, type LaneOp, pair, xmmOp, mmxOp, xmmRow, getX, putX, getMm, putMm, enterMmx } from './sse-lanes.js';

// ---- float shuffles --------------------------------------------------------------

const shufps: LaneOp = (_n, imm) => {
  const a = A.i32, b = B.i32;
  const r0 = a[imm & 3], r1 = a[(imm >> 2) & 3], r2 = b[(imm >> 4) & 3], r3 = b[(imm >> 6) & 3];
  a[0] = r0; a[1] = r1; a[2] = r2; a[3] = r3;
};

const shufpd: LaneOp = (_n, imm) => {
  const a = A.i32, b = B.i32, s = (imm & 1) << 1, t = ((imm >> 1) & 1) << 1;
  const r0 = a[s], r1 = a[s + 1], r2 = b[t], r3 = b[t + 1];
  a[0] = r0; a[1] = r1; a[2] = r2; a[3] = r3;
};

// ---- unpacks ---------------------------------------------------------------------

/**
 * Interleaves elements of `size` bytes from the low (high = false) or high
 * halves of A and B: A0 B0 A1 B1 … into A.
 */
function unpack(size: number, high: boolean): LaneOp {
  return (n) => {
    const half = n >> 1, base = high ? half : 0;
    const a = A.u8, b = B.u8, t = T.u8;
    for (let k = 0, o = 0; k < half; k += size, o += 2 * size) {
      for (let j = 0; j < size; j++) { t[o + j] = a[base + k + j]; t[o + size + j] = b[base + k + j]; }
    }
    a.set(t.subarray(0, n));
  };
}

// ---- packs -----------------------------------------------------------------------

const satS8 = (v: number): number => (v > 127 ? 127 : v < -128 ? -128 : v);
const satU8 = (v: number): number => (v > 255 ? 255 : v < 0 ? 0 : v);
const satS16 = (v: number): number => (v > 32767 ? 32767 : v < -32768 ? -32768 : v);
const satU16 = (v: number): number => (v > 65535 ? 65535 : v < 0 ? 0 : v);

/** Signed words of A then B, saturated to bytes. */
function packWords(sat: (v: number) => number): LaneOp {
  return (n) => {
    const w = n >> 1;
    for (let k = 0; k < w; k++) T.u8[k] = sat(A.i16[k]);
    for (let k = 0; k < w; k++) T.u8[w + k] = sat(B.i16[k]);
    A.u8.set(T.u8.subarray(0, n));
  };
}

/** Signed dwords of A then B, saturated to words. */
export function packDwords(sat: (v: number) => number): LaneOp {
  return (n) => {
    const d = n >> 2;
    for (let k = 0; k < d; k++) T.u16[k] = sat(A.i32[k]);
    for (let k = 0; k < d; k++) T.u16[d + k] = sat(B.i32[k]);
    A.u8.set(T.u8.subarray(0, n));
  };
}
export const packusdw = packDwords(satU16);

// ---- integer shuffles -----------------------------------------------------------

const pshufd: LaneOp = (_n, imm) => {
  for (let k = 0; k < 4; k++) A.i32[k] = B.i32[(imm >> (2 * k)) & 3];
};

/** pshuflw (base 0) / pshufhw (base 4): four words shuffled, the other qword copied; pshufw is the MMX base 0. */
function pshufWords(base: number): LaneOp {
  return (n, imm) => {
    A.i32[0] = B.i32[0]; A.i32[1] = B.i32[1];
    if (n === 16) { A.i32[2] = B.i32[2]; A.i32[3] = B.i32[3]; }
    for (let k = 0; k < 4; k++) A.u16[base + k] = B.u16[base + ((imm >> (2 * k)) & 3)];
  };
}

/** pinsrw mm/xmm, r32/m16, imm8: the word index is imm8 mod the element count. */
function pinsrw(cpu: Cpu, i: Insn): void {
  const v = cpu.readE(i, 2);
  if (i.arg === 8) {
    enterMmx(cpu);
    getMm(cpu, i.reg & 7, A);
    A.u16[i.imm & 3] = v;
    putMm(cpu, i.reg & 7, A);
  } else {
    getX(cpu, i.reg, A);
    A.u16[i.imm & 7] = v;
    putX(cpu, i.reg, A);
  }
}

/** pextrw r32, mm/xmm, imm8 (register source only), zero-extended. */
function pextrw(cpu: Cpu, i: Insn): void {
  if (i.arg === 8) { getMm(cpu, i.rm & 7, A); enterMmx(cpu); cpu.set32(i.reg, A.u16[i.imm & 3]); }
  else { getX(cpu, i.rm, A); cpu.set32(i.reg, A.u16[i.imm & 7]); }
}

const UNPACK: [string, number, number, boolean][] = [
  ['punpcklbw', 0x0f60, 1, false], ['punpcklwd', 0x0f61, 2, false], ['punpckldq', 0x0f62, 4, false],
  ['punpckhbw', 0x0f68, 1, true], ['punpckhwd', 0x0f69, 2, true], ['punpckhdq', 0x0f6a, 4, true],
];

export const rows: OpDef[] = [
  { mn: 'shufps', code: 0x0fc6, pfx: 0, ops: 'Vps,Wps,Ib', exec: xmmOp(shufps) },
  { mn: 'shufpd', code: 0x0fc6, pfx: 0x66, ops: 'Vpd,Wpd,Ib', exec: xmmOp(shufpd) },
  { mn: 'unpcklps', code: 0x0f14, pfx: 0, ops: 'Vps,Wps', exec: xmmOp(unpack(4, false)) },
  { mn: 'unpcklpd', code: 0x0f14, pfx: 0x66, ops: 'Vpd,Wpd', exec: xmmOp(unpack(8, false)) },
  { mn: 'unpckhps', code: 0x0f15, pfx: 0, ops: 'Vps,Wps', exec: xmmOp(unpack(4, true)) },
  { mn: 'unpckhpd', code: 0x0f15, pfx: 0x66, ops: 'Vpd,Wpd', exec: xmmOp(unpack(8, true)) },
  ...UNPACK.flatMap(([mn, code, size, high]) => pair(mn, code, unpack(size, high), { mmxMem: high ? 8 : 4 })),
  xmmRow('punpcklqdq', 0x0f6c, unpack(8, false)),
  xmmRow('punpckhqdq', 0x0f6d, unpack(8, true)),
  ...pair('packsswb', 0x0f63, packWords(satS8)),
  ...pair('packuswb', 0x0f67, packWords(satU8)),
  ...pair('packssdw', 0x0f6b, packDwords(satS16)),
  { mn: 'pshufw', code: 0x0f70, pfx: 0, ops: 'Pq,Qq,Ib', exec: mmxOp(pshufWords(0)) },
  { mn: 'pshufd', code: 0x0f70, pfx: 0x66, ops: 'Vx,Wx,Ib', exec: xmmOp(pshufd) },
  { mn: 'pshufhw', code: 0x0f70, pfx: 0xf3, ops: 'Vx,Wx,Ib', exec: xmmOp(pshufWords(4)) },
  { mn: 'pshuflw', code: 0x0f70, pfx: 0xf2, ops: 'Vx,Wx,Ib', exec: xmmOp(pshufWords(0)) },
  { mn: 'pinsrw', code: 0x0fc4, pfx: 0, ops: 'Pq,Rd/Mw,Ib', exec: pinsrw, arg: 8 },
  { mn: 'pinsrw', code: 0x0fc4, pfx: 0x66, ops: 'Vdq,Rd/Mw,Ib', exec: pinsrw, arg: 16 },
  { mn: 'pextrw', code: 0x0fc5, pfx: 0, mod: 'reg', ops: 'Gd,Nq,Ib', exec: pextrw, arg: 8 },
  { mn: 'pextrw', code: 0x0fc5, pfx: 0x66, mod: 'reg', ops: 'Gd,Udq,Ib', exec: pextrw, arg: 16 },
];

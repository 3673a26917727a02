/**
 * SSE/SSE2 conversions between binary32, binary64 and integers (SDM Vol.1
 * §11.4.5, Figure 11-8). Float → integer conversions round by MXCSR.RC, or
 * truncate in the cvtt forms; a NaN or out-of-range source gives the
 * "integer indefinite" 0x80000000 / 0x8000000000000000 and IE. Float →
 * narrower float rounds by MXCSR.RC; widening is exact. The mm-register
 * forms (cvtpi2ps, cvtps2pi, …) put the x87 unit in MMX state, except
 * cvtpi2ps/cvtpi2pd with a memory source (SDM Vol.2A CVTPI2PS).
 */
import type { Cpu } from '../cpu.js';
import type { Insn } from '../insn.js';
import type { OpDef } from '../table.js';
import { A, B, getX, putX, srcX, srcMm, putMm, enterMmx, mmxPending } from './sse-lanes.js';
import {
  F32, F64, Mx, fp, fpBegin, fpEnd, in32, in64, isNaN32, isSNaN32, isNaN64, isSNaN64, roundTo, fromInt64,
  toInteger, nan32to64, nan64to32, nanLo, flush32, flush64,
} from './sse-fp.js';

const TWO32 = 4294967296;

// ---- float ↔ float ----------------------------------------------------------------

/** A binary32 lane of x widened into binary64 lane kr of A. */
function widen(kr: number, b: number, v: number): void {
  if (isNaN32(b)) {
    if (isSNaN32(b)) fp.pre |= Mx.IE;
    A.i32[2 * kr + 1] = nan32to64(b); A.i32[2 * kr] = nanLo;
    return;
  }
  A.f64[kr] = in32(v);
}

/** A binary64 value (hi, lo, v) rounded into binary32 lane kr of A. */
function narrow(kr: number, hi: number, lo: number, v: number): void {
  if (isNaN64(hi, lo)) {
    if (isSNaN64(hi, lo)) fp.pre |= Mx.IE;
    A.i32[kr] = nan64to32(hi, lo);
    return;
  }
  A.f32[kr] = roundTo(in64(v), 0, F32);
}

function cvtps2pd(): void {
  const b0 = B.i32[0], b1 = B.i32[1], v0 = B.f32[0], v1 = B.f32[1];
  widen(0, b0, v0); widen(1, b1, v1);
}

function cvtpd2ps(): void {
  narrow(0, B.i32[1], B.i32[0], B.f64[0]);
  narrow(1, B.i32[3], B.i32[2], B.f64[1]);
  A.i32[2] = 0; A.i32[3] = 0;
}

function cvtss2sd(): void { widen(0, B.i32[0], B.f32[0]); }
function cvtsd2ss(): void { narrow(0, B.i32[1], B.i32[0], B.f64[0]); }

// ---- integer → float --------------------------------------------------------------

function cvtdq2ps(): void { for (let k = 0; k < 4; k++) A.f32[k] = roundTo(B.i32[k], 0, F32); }
function cvtdq2pd(): void { const x = B.i32[0], y = B.i32[1]; A.f64[0] = x; A.f64[1] = y; }

/** cvtsi2ss / cvtsi2sd xmm, r/m32|64 (arg 4 or 8: the destination element size). */
function cvtsi2s(cpu: Cpu, i: Insn): void {
  const wide = i.osz === 8;
  const lo = cpu.readE(i, wide ? 8 : 4), hi = cpu.hi;
  getX(cpu, i.reg, A);
  fpBegin(cpu);
  const f = i.arg === 4 ? F32 : F64;
  const v = wide ? fromInt64(lo, hi, f) : roundTo(lo, 0, f);
  fpEnd(cpu);
  if (i.arg === 4) A.f32[0] = v; else A.f64[0] = v;
  putX(cpu, i.reg, A);
}

/** cvtpi2ps (arg 4) / cvtpi2pd (arg 8) xmm, mm/m64. */
function cvtpi2p(cpu: Cpu, i: Insn): void {
  srcMm(cpu, i, B, 8);
  if (!i.isMem) mmxPending(cpu);
  getX(cpu, i.reg, A);
  fpBegin(cpu);
  if (i.arg === 4) { A.f32[0] = roundTo(B.i32[0], 0, F32); A.f32[1] = roundTo(B.i32[1], 0, F32); }
  else cvtdq2pd();
  fpEnd(cpu);
  if (!i.isMem) enterMmx(cpu);
  putX(cpu, i.reg, A);
}

// ---- float → integer ----------------------------------------------------------------

function int32Of(x: number, truncate: boolean): number {
  const r = toInteger(x, 32, truncate);
  return r === r ? r | 0 : 0x80000000 | 0;
}

function lane32(k: number, truncate: boolean): number {
  return isNaN32(B.i32[k]) ? int32Of(NaN, truncate) : int32Of(flush32(B.f32[k]), truncate);
}

function lane64(k: number, truncate: boolean): number {
  return isNaN64(B.i32[2 * k + 1], B.i32[2 * k]) ? int32Of(NaN, truncate) : int32Of(flush64(B.f64[k]), truncate);
}

const cvtps2dq = (t: boolean) => (): void => { for (let k = 0; k < 4; k++) A.i32[k] = lane32(k, t); };
const cvtpd2dq = (t: boolean) => (): void => { A.i32[0] = lane64(0, t); A.i32[1] = lane64(1, t); A.i32[2] = 0; A.i32[3] = 0; };

/**
 * cvt(t)ss2si / cvt(t)sd2si r32|64, xmm/m. arg: bit 0 binary64 source,
 * bit 1 truncate.
 */
function cvts2si(cpu: Cpu, i: Insn): void {
  const dbl = (i.arg & 1) !== 0, truncate = (i.arg & 2) !== 0;
  srcX(cpu, i, B, dbl ? 8 : 4);
  fpBegin(cpu);
  // DAZ applies to conversions too, but a denormal source raises no DE (SDM Vol.2A CVTSS2SI).
  const x = dbl ? (isNaN64(B.i32[1], B.i32[0]) ? NaN : flush64(B.f64[0]))
    : (isNaN32(B.i32[0]) ? NaN : flush32(B.f32[0]));
  const bits = i.osz === 8 ? 64 : 32;
  const r = toInteger(x, bits, truncate);
  fpEnd(cpu);
  if (bits === 32) cpu.set32(i.reg, r === r ? r | 0 : 0x80000000 | 0);
  else if (r !== r) cpu.set64(i.reg, 0, 0x80000000 | 0);
  else { const hi = Math.floor(r / TWO32); cpu.set64(i.reg, (r - hi * TWO32) | 0, hi | 0); }
}

/** cvt(t)ps2pi / cvt(t)pd2pi mm, xmm/m: arg bit 0 binary64 source, bit 1 truncate. */
function cvtp2pi(cpu: Cpu, i: Insn): void {
  const dbl = (i.arg & 1) !== 0, truncate = (i.arg & 2) !== 0;
  srcX(cpu, i, B, dbl ? 16 : 8);
  mmxPending(cpu);
  fpBegin(cpu);
  const r0 = dbl ? lane64(0, truncate) : lane32(0, truncate);
  const r1 = dbl ? lane64(1, truncate) : lane32(1, truncate);
  fpEnd(cpu);
  A.i32[0] = r0; A.i32[1] = r1;
  enterMmx(cpu);
  putMm(cpu, i.reg & 7, A);
}

// ---- rows -----------------------------------------------------------------------------

/** xmm ← conversion(xmm/m) under MXCSR; the lane function writes A from B. */
function conv(fn: () => void, mem: number) {
  return (cpu: Cpu, i: Insn): void => {
    srcX(cpu, i, B, mem);
    getX(cpu, i.reg, A);
    fpBegin(cpu);
    fn();
    fpEnd(cpu);
    putX(cpu, i.reg, A);
  };
}

export const rows: OpDef[] = [
  { mn: 'cvtpi2ps', code: 0x0f2a, pfx: 0, ops: 'Vps,Qq', exec: cvtpi2p, arg: 4 },
  { mn: 'cvtpi2pd', code: 0x0f2a, pfx: 0x66, ops: 'Vpd,Qq', exec: cvtpi2p, arg: 8 },
  { mn: 'cvtsi2ss', code: 0x0f2a, pfx: 0xf3, ops: 'Vss,Ey', exec: cvtsi2s, arg: 4 },
  { mn: 'cvtsi2sd', code: 0x0f2a, pfx: 0xf2, ops: 'Vsd,Ey', exec: cvtsi2s, arg: 8 },
  { mn: 'cvttps2pi', code: 0x0f2c, pfx: 0, ops: 'Pq,Wq', exec: cvtp2pi, arg: 2 },
  { mn: 'cvttpd2pi', code: 0x0f2c, pfx: 0x66, ops: 'Pq,Wpd', exec: cvtp2pi, arg: 3 },
  { mn: 'cvttss2si', code: 0x0f2c, pfx: 0xf3, ops: 'Gy,Wss', exec: cvts2si, arg: 2 },
  { mn: 'cvttsd2si', code: 0x0f2c, pfx: 0xf2, ops: 'Gy,Wsd', exec: cvts2si, arg: 3 },
  { mn: 'cvtps2pi', code: 0x0f2d, pfx: 0, ops: 'Pq,Wq', exec: cvtp2pi, arg: 0 },
  { mn: 'cvtpd2pi', code: 0x0f2d, pfx: 0x66, ops: 'Pq,Wpd', exec: cvtp2pi, arg: 1 },
  { mn: 'cvtss2si', code: 0x0f2d, pfx: 0xf3, ops: 'Gy,Wss', exec: cvts2si, arg: 0 },
  { mn: 'cvtsd2si', code: 0x0f2d, pfx: 0xf2, ops: 'Gy,Wsd', exec: cvts2si, arg: 1 },
  { mn: 'cvtps2pd', code: 0x0f5a, pfx: 0, ops: 'Vpd,Wq', exec: conv(cvtps2pd, 8) },
  { mn: 'cvtpd2ps', code: 0x0f5a, pfx: 0x66, ops: 'Vps,Wpd', exec: conv(cvtpd2ps, 16) },
  { mn: 'cvtss2sd', code: 0x0f5a, pfx: 0xf3, ops: 'Vsd,Wss', exec: conv(cvtss2sd, 4) },
  { mn: 'cvtsd2ss', code: 0x0f5a, pfx: 0xf2, ops: 'Vss,Wsd', exec: conv(cvtsd2ss, 8) },
  { mn: 'cvtdq2ps', code: 0x0f5b, pfx: 0, ops: 'Vps,Wdq', exec: conv(cvtdq2ps, 16) },
  { mn: 'cvtps2dq', code: 0x0f5b, pfx: 0x66, ops: 'Vdq,Wps', exec: conv(cvtps2dq(false), 16) },
  { mn: 'cvttps2dq', code: 0x0f5b, pfx: 0xf3, ops: 'Vdq,Wps', exec: conv(cvtps2dq(true), 16) },
  { mn: 'cvttpd2dq', code: 0x0fe6, pfx: 0x66, ops: 'Vdq,Wpd', exec: conv(cvtpd2dq(true), 16) },
  { mn: 'cvtdq2pd', code: 0x0fe6, pfx: 0xf3, ops: 'Vpd,Wq', exec: conv(cvtdq2pd, 8) },
  { mn: 'cvtpd2dq', code: 0x0fe6, pfx: 0xf2, ops: 'Vdq,Wpd', exec: conv(cvtpd2dq(false), 16) },
];

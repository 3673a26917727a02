/**
 * SSE4.1 floating-point: round to integral value with the rounding mode
 * from imm8 or MXCSR, and the dot products dpps/dppd (SDM Vol.2B ROUNDPS,
 * DPPS). The other SSE4.1 instructions are in sse41.ts.
 *
 * round imm8: bits 1:0 rounding mode, bit 2 use MXCSR.RC instead, bit 3
 * suppress the precision exception. Only an SNaN raises IE; denormals are
 * flushed under DAZ but never raise DE.
 */
import type { Cpu } from '../cpu.js';
import type { Insn } from '../insn.js';
import type { OpDef } from '../table.js';
import { A, B, T, Vec, type LaneOp, getX, putX, srcX } from './sse-lanes.js';
import { Op, Mx, fp, fpBegin, fpEnd, roundInt, flush32, flush64, isNaN32, isSNaN32, isNaN64, isSNaN64 } from './sse-fp.js';
import { bin32, bin64, fpOp } from './sse-float.js';

function mode(imm: number): number { return imm & 4 ? fp.rc : imm & 3; }

function round32(k: number, imm: number): void {
  const b = B.i32[k];
  if (isNaN32(b)) { if (isSNaN32(b)) fp.pre |= Mx.IE; A.i32[k] = b | 0x00400000; return; }
  const x = flush32(B.f32[k]);
  const r = roundInt(x, mode(imm));
  if (r !== x && !(imm & 8)) fp.post |= Mx.PE;
  A.f32[k] = r;
}

function round64(k: number, imm: number): void {
  const lo = B.i32[2 * k], hi = B.i32[2 * k + 1];
  if (isNaN64(hi, lo)) { if (isSNaN64(hi, lo)) fp.pre |= Mx.IE; A.i32[2 * k] = lo; A.i32[2 * k + 1] = hi | 0x00080000; return; }
  const x = flush64(B.f64[k]);
  const r = roundInt(x, mode(imm));
  if (r !== x && !(imm & 8)) fp.post |= Mx.PE;
  A.f64[k] = r;
}

const roundps: LaneOp = (_n, imm) => { for (let k = 0; k < 4; k++) round32(k, imm); };
const roundpd: LaneOp = (_n, imm) => { round64(0, imm); round64(1, imm); };
const roundss: LaneOp = (_n, imm) => round32(0, imm);
const roundsd: LaneOp = (_n, imm) => round64(0, imm);

/** Partial sums of the dot products. */
const S = new Vec();

/**
 * dpps (arg 4): products of the elements selected by imm8[7:4] (+0.0 for
 * the others), summed as (p0 + p1) + (p2 + p3), each step rounded; the sum
 * goes to the elements selected by imm8[3:0], +0.0 to the rest. dppd (arg
 * 8) is the same for two binary64 elements with imm8[5:4] and imm8[1:0].
 * The multiplies, the first adds and the last add are separate steps, each
 * reporting its own exceptions: an unmasked one stops the instruction
 * there, with the earlier steps' flags already set (SDM Vol.2B DPPS).
 */
function dp(cpu: Cpu, i: Insn): void {
  srcX(cpu, i, B, 16);
  getX(cpu, i.reg, A);
  const imm = i.imm & 0xff;
  if (i.arg === 4) {
    fpBegin(cpu);
    for (let k = 0; k < 4; k++) {
      if ((imm >> (4 + k)) & 1) bin32(Op.Mul, T, k, A, k, B, k);
      else T.i32[k] = 0;
    }
    fpEnd(cpu);
    fpBegin(cpu);
    bin32(Op.Add, S, 0, T, 0, T, 1);
    bin32(Op.Add, S, 1, T, 2, T, 3);
    fpEnd(cpu);
    fpBegin(cpu);
    bin32(Op.Add, S, 2, S, 0, S, 1);
    fpEnd(cpu);
    for (let k = 0; k < 4; k++) A.i32[k] = (imm >> k) & 1 ? S.i32[2] : 0;
  } else {
    fpBegin(cpu);
    for (let k = 0; k < 2; k++) {
      if ((imm >> (4 + k)) & 1) bin64(Op.Mul, T, k, A, k, B, k);
      else { T.i32[2 * k] = 0; T.i32[2 * k + 1] = 0; }
    }
    fpEnd(cpu);
    fpBegin(cpu);
    bin64(Op.Add, S, 0, T, 0, T, 1);
    fpEnd(cpu);
    for (let k = 0; k < 2; k++) {
      const on = (imm >> k) & 1;
      A.i32[2 * k] = on ? S.i32[0] : 0; A.i32[2 * k + 1] = on ? S.i32[1] : 0;
    }
  }
  putX(cpu, i.reg, A);
}

export const rows: OpDef[] = [
  { mn: 'roundps', code: 0x0f3a08, pfx: 0x66, ops: 'Vps,Wps,Ib', exec: fpOp(roundps, 16) },
  { mn: 'roundpd', code: 0x0f3a09, pfx: 0x66, ops: 'Vpd,Wpd,Ib', exec: fpOp(roundpd, 16) },
  { mn: 'roundss', code: 0x0f3a0a, pfx: 0x66, ops: 'Vss,Wss,Ib', exec: fpOp(roundss, 4) },
  { mn: 'roundsd', code: 0x0f3a0b, pfx: 0x66, ops: 'Vsd,Wsd,Ib', exec: fpOp(roundsd, 8) },
  { mn: 'dpps', code: 0x0f3a40, pfx: 0x66, ops: 'Vps,Wps,Ib', exec: dp, arg: 4 },
  { mn: 'dppd', code: 0x0f3a41, pfx: 0x66, ops: 'Vpd,Wpd,Ib', exec: dp, arg: 8 },
];

/**
 * SSE4.1 integer and data-movement instructions (SDM Vol.1 §12.10): the
 * extra min/max and multiplies, pcmpeqq, packusdw, sign/zero extension
 * (pmovsx*, pmovzx*), ptest, blends (by imm8 or by the sign bits of the
 * implicit XMM0), element extract/insert, phminposuw, mpsadbw and the
 * non-temporal aligned load movntdqa. All are 66-prefixed and XMM-only;
 * the rounding and dot-product instructions are in sse41-fp.ts.
 */
import type { Cpu } from '../cpu.js';
import type { Insn } from '../insn.js';
import type { OpDef } from '../table.js';
import { F } from '../flags.js';
import { A, B, T, type LaneOp, xmmOp, xmmRow, getX, putX, srcX } from './sse-lanes.js';
import { IOp, lanes, mulDq } from './sse-int.js';
import { packusdw } from './sse-shuffle.js';
import { loadAligned } from './sse-move.js';

// ---- sign / zero extension --------------------------------------------------------

type IntView = 'i8' | 'u8' | 'i16' | 'u16' | 'i32' | 'u32';

/**
 * pmovsx/pmovzx: the low elements of the source widened from `from` to
 * `to` bytes. The memory operand is exactly the bytes consumed (16·from/to).
 */
function extend(v: IntView, to: number): LaneOp {
  return () => {
    const src = B[v], c = 16 / to;
    for (let k = 0; k < c; k++) {
      const x = src[k];
      if (to === 8) { A.i32[2 * k] = x; A.i32[2 * k + 1] = v[0] === 'i' ? x >> 31 : 0; }
      else if (to === 4) A.i32[k] = x;
      else A.i16[k] = x;
    }
  };
}

const EXTEND: [string, number, IntView, number][] = [
  ['bw', 0x20, 'i8', 2], ['bd', 0x21, 'i8', 4], ['bq', 0x22, 'i8', 8],
  ['wd', 0x23, 'i16', 4], ['wq', 0x24, 'i16', 8], ['dq', 0x25, 'i32', 8],
];

function extendRows(): OpDef[] {
  const rows: OpDef[] = [];
  for (const [suffix, code, v, to] of EXTEND) {
    const from = v === 'i8' ? 1 : v === 'i16' ? 2 : 4;
    const mem = (16 * from) / to;
    const ops = `Vx,W${mem === 8 ? 'q' : mem === 4 ? 'd' : 'w'}`;
    rows.push(xmmRow('pmovsx' + suffix, 0x0f3800 + code, extend(v, to), ops, mem));
    rows.push(xmmRow('pmovzx' + suffix, 0x0f3810 + code, extend(v.replace('i', 'u') as IntView, to), ops, mem));
  }
  return rows;
}

// ---- 64-bit compares ---------------------------------------------------------------

/** pcmpeqq (gt = false) and pcmpgtq (SSE4.2): qword compares, signed for gt. */
export function cmpq(gt: boolean): LaneOp {
  return () => {
    const a = A.i32, b = B.i32;
    for (let k = 0; k < 4; k += 2) {
      const t = gt ? a[k + 1] > b[k + 1] || (a[k + 1] === b[k + 1] && (a[k] >>> 0) > (b[k] >>> 0))
        : a[k] === b[k] && a[k + 1] === b[k + 1];
      a[k] = a[k + 1] = t ? -1 : 0;
    }
  };
}

// ---- ptest and blends ----------------------------------------------------------------

/** ptest: ZF when A AND B is zero, CF when (NOT A) AND B is zero; the other flags cleared. */
function ptest(cpu: Cpu, i: Insn): void {
  srcX(cpu, i, B, 16);
  getX(cpu, i.reg, A);
  let and = 0, andn = 0;
  for (let k = 0; k < 4; k++) { and |= A.i32[k] & B.i32[k]; andn |= ~A.i32[k] & B.i32[k]; }
  cpu.setArith((and === 0 ? F.ZF : 0) | (andn === 0 ? F.CF : 0));
}

/** Blend by imm8: element k comes from B when bit k of imm8 is set. */
function blendImm(size: number): LaneOp {
  return (_n, imm) => {
    const c = 16 / size, words = size / 2;
    for (let k = 0; k < c; k++) if ((imm >> k) & 1) for (let w = 0; w < words; w++) A.u16[k * words + w] = B.u16[k * words + w];
  };
}

/** Blend by the top bit of each element of XMM0 (pblendvb, blendvps, blendvpd); arg is the element size. */
function blendv(cpu: Cpu, i: Insn): void {
  srcX(cpu, i, B, 16);
  getX(cpu, i.reg, A);
  getX(cpu, 0, T);
  const size = i.arg;
  for (let k = 0; k < 16; k += size) if (T.u8[k + size - 1] & 0x80) for (let j = k; j < k + size; j++) A.u8[j] = B.u8[j];
  putX(cpu, i.reg, A);
}

// ---- extract / insert -----------------------------------------------------------------

/**
 * pextrb/pextrw/pextrd/pextrq r/m, xmm, imm8: arg is the element size, 4
 * meaning 8 (pextrq) with REX.W; extractps always moves a dword. A register
 * destination is zero-extended; memory gets just the element.
 */
function pextr(cpu: Cpu, i: Insn): void { extract(cpu, i, i.arg === 4 && i.osz === 8 ? 8 : i.arg); }
function extractps(cpu: Cpu, i: Insn): void { extract(cpu, i, 4); }

function extract(cpu: Cpu, i: Insn, size: number): void {
  getX(cpu, i.reg, A);
  const k = i.imm & (16 / size - 1);
  let lo: number, hi = 0;
  switch (size) {
    case 1: lo = A.u8[k]; break;
    case 2: lo = A.u16[k]; break;
    case 4: lo = A.i32[k]; break;
    default: lo = A.i32[2 * k]; hi = A.i32[2 * k + 1];
  }
  if (i.isMem) cpu.writeMem(size, cpu.ea(i), lo, hi);
  else if (size === 8) cpu.set64(i.rm, lo, hi);
  else cpu.set32(i.rm, lo);
}

/** pinsrb/pinsrd/pinsrq xmm, r/m, imm8: arg is the element size (4 means 8 with REX.W). */
function pinsr(cpu: Cpu, i: Insn): void {
  const size = i.arg === 4 && i.osz === 8 ? 8 : i.arg;
  // pinsrb's register operand is r32, not a byte register: encoding 4 is esp's low byte, never ah.
  const lo = size === 1 && !i.isMem ? cpu.get64lo(i.rm) : cpu.readE(i, size), hi = cpu.hi;
  getX(cpu, i.reg, A);
  const k = i.imm & (16 / size - 1);
  if (size === 1) A.u8[k] = lo;
  else if (size === 4) A.i32[k] = lo;
  else { A.i32[2 * k] = lo; A.i32[2 * k + 1] = hi; }
  putX(cpu, i.reg, A);
}

/**
 * insertps xmm, xmm/m32, imm8: the source dword (imm8[7:6] of a register,
 * or the m32) goes to dword imm8[5:4]; then dwords in imm8[3:0] are zeroed.
 */
function insertps(cpu: Cpu, i: Insn): void {
  const imm = i.imm & 0xff;
  let v: number;
  if (i.isMem) v = cpu.mmu.read32(cpu.ea(i));
  else { getX(cpu, i.rm, B); v = B.i32[imm >> 6]; }
  getX(cpu, i.reg, A);
  A.i32[(imm >> 4) & 3] = v;
  for (let k = 0; k < 4; k++) if ((imm >> k) & 1) A.i32[k] = 0;
  putX(cpu, i.reg, A);
}

// ---- horizontal ---------------------------------------------------------------------

/** phminposuw: the smallest unsigned word of the source and its (lowest) index; the rest zeroed. */
const phminposuw: LaneOp = () => {
  let min = B.u16[0], at = 0;
  for (let k = 1; k < 8; k++) if (B.u16[k] < min) { min = B.u16[k]; at = k; }
  A.i32[0] = min | (at << 16); A.i32[1] = 0; A.i32[2] = 0; A.i32[3] = 0;
};

/**
 * mpsadbw: eight sums of absolute differences between the 4-byte block of
 * B at imm8[1:0]·4 and the sliding 4-byte windows of A starting at
 * imm8[2]·4 + k.
 */
const mpsadbw: LaneOp = (_n, imm) => {
  const a = (imm & 4), b = (imm & 3) * 4;
  for (let k = 0; k < 8; k++) {
    let s = 0;
    for (let j = 0; j < 4; j++) s += Math.abs(A.u8[a + k + j] - B.u8[b + j]);
    T.u16[k] = s;
  }
  A.i32.set(T.i32);
};

function movntdqa(cpu: Cpu, i: Insn): void {
  loadAligned(cpu, i);
  putX(cpu, i.reg, A);
}

const MINMAX: [string, number, IntView, boolean][] = [
  ['pminsb', 0x38, 'i8', false], ['pminsd', 0x39, 'i32', false], ['pminuw', 0x3a, 'u16', false], ['pminud', 0x3b, 'u32', false],
  ['pmaxsb', 0x3c, 'i8', true], ['pmaxsd', 0x3d, 'i32', true], ['pmaxuw', 0x3e, 'u16', true], ['pmaxud', 0x3f, 'u32', true],
];

export const rows: OpDef[] = [
  ...extendRows(),
  ...MINMAX.map(([mn, code, v, max]) => xmmRow(mn, 0x0f3800 + code, lanes(v, max ? IOp.Max : IOp.Min))),
  xmmRow('pmuldq', 0x0f3828, mulDq(true)),
  xmmRow('pcmpeqq', 0x0f3829, cmpq(false)),
  xmmRow('packusdw', 0x0f382b, packusdw),
  xmmRow('pmulld', 0x0f3840, lanes('i32', IOp.MulLo)),
  xmmRow('phminposuw', 0x0f3841, phminposuw),
  { mn: 'movntdqa', code: 0x0f382a, pfx: 0x66, mod: 'mem', ops: 'Vx,Mx', exec: movntdqa },
  { mn: 'ptest', code: 0x0f3817, pfx: 0x66, ops: 'Vx,Wx', exec: ptest, wf: 'OSZAPC' },
  { mn: 'pblendvb', code: 0x0f3810, pfx: 0x66, ops: 'Vx,Wx,XMM0', exec: blendv, arg: 1 },
  { mn: 'blendvps', code: 0x0f3814, pfx: 0x66, ops: 'Vps,Wps,XMM0', exec: blendv, arg: 4 },
  { mn: 'blendvpd', code: 0x0f3815, pfx: 0x66, ops: 'Vpd,Wpd,XMM0', exec: blendv, arg: 8 },
  { mn: 'blendps', code: 0x0f3a0c, pfx: 0x66, ops: 'Vps,Wps,Ib', exec: xmmOp(blendImm(4)) },
  { mn: 'blendpd', code: 0x0f3a0d, pfx: 0x66, ops: 'Vpd,Wpd,Ib', exec: xmmOp(blendImm(8)) },
  { mn: 'pblendw', code: 0x0f3a0e, pfx: 0x66, ops: 'Vx,Wx,Ib', exec: xmmOp(blendImm(2)) },
  { mn: 'pextrb', code: 0x0f3a14, pfx: 0x66, ops: 'Rd/Mb,Vdq,Ib', exec: pextr, arg: 1 },
  { mn: 'pextrw', code: 0x0f3a15, pfx: 0x66, ops: 'Rd/Mw,Vdq,Ib', exec: pextr, arg: 2 },
  { mn: 'pextrd|pextrd|pextrq', code: 0x0f3a16, pfx: 0x66, ops: 'Ey,Vdq,Ib', exec: pextr, arg: 4 },
  { mn: 'extractps', code: 0x0f3a17, pfx: 0x66, ops: 'Ed,Vdq,Ib', exec: extractps },
  { mn: 'pinsrb', code: 0x0f3a20, pfx: 0x66, ops: 'Vdq,Rd/Mb,Ib', exec: pinsr, arg: 1 },
  { mn: 'insertps', code: 0x0f3a21, pfx: 0x66, ops: 'Vdq,Udq/Md,Ib', exec: insertps },
  { mn: 'pinsrd|pinsrd|pinsrq', code: 0x0f3a22, pfx: 0x66, ops: 'Vdq,Ey,Ib', exec: pinsr, arg: 4 },
  xmmRow('mpsadbw', 0x0f3a42, mpsadbw, 'Vdq,Wdq,Ib'),
];

/**
 * SSE/SSE2 floating-point arithmetic: add sub mul div sqrt min max in
 * packed and scalar binary32/binary64 forms, cmpps/cmppd/cmpss/cmpsd with
 * the eight predicates, comiss/ucomiss/comisd/ucomisd, rcp/rsqrt and the
 * bitwise and/andn/or/xor. The lane helpers here are reused by SSE3
 * (addsub, hadd) and SSE4.1 (dpps, dppd); IEEE details are in sse-fp.ts.
 *
 * Scalar forms compute element 0 and keep the rest of the destination;
 * their memory operand is 4 or 8 bytes and needs no alignment.
 */
import type { Cpu } from '../cpu.js';
import type { Insn, Handler } from '../insn.js';
import type { OpDef } from '../table.js';
import { F } from '../flags.js';
import { A, B, Vec, type LaneOp, getX, putX, srcX } from './sse-lanes.js';
import {
  Op, F32, F64, type Fmt, Mx, fp, fpBegin, fpEnd, arith, in32, in64, isNaN32, isSNaN32, isNaN64, isSNaN64,
  nanPick32, nanPick64, flush32, flush64, QNAN32, QNAN64_HI, MIN32,
} from './sse-fp.js';

// ---- lanes ----------------------------------------------------------------------

/**
 * One element's arithmetic with DE reported only when the element raised
 * neither IE nor ZE, which outrank it (AMD64 APM Vol.1 Table 4-12): a
 * denormal divided by zero is ZE alone, the root of a negative denormal IE
 * alone.
 */
function element(op: Op, a: number, b: number, f: Fmt): number {
  const outer = fp.pre;
  fp.pre = 0;
  const v = f === F32 ? arith(op, in32(a), in32(b), f) : arith(op, in64(a), in64(b), f);
  if (fp.pre & (Mx.IE | Mx.ZE)) fp.pre &= ~Mx.DE;
  fp.pre |= outer;
  return v;
}

/** r[kr] = x[kx] op y[ky] in binary32. */
export function bin32(op: Op, r: Vec, kr: number, x: Vec, kx: number, y: Vec, ky: number): void {
  const xb = x.i32[kx], yb = y.i32[ky];
  if (isNaN32(xb) || isNaN32(yb)) { r.i32[kr] = nanPick32(xb, yb); return; }
  const v = element(op, x.f32[kx], y.f32[ky], F32);
  if (v !== v) r.i32[kr] = QNAN32; else r.f32[kr] = v;
}

/** r[kr] = x[kx] op y[ky] in binary64. */
export function bin64(op: Op, r: Vec, kr: number, x: Vec, kx: number, y: Vec, ky: number): void {
  const xl = x.i32[2 * kx], xh = x.i32[2 * kx + 1], yl = y.i32[2 * ky], yh = y.i32[2 * ky + 1];
  if (isNaN64(xh, xl) || isNaN64(yh, yl)) {
    const first = nanPick64(xh, xl, yh, yl);
    r.i32[2 * kr] = first ? xl : yl;
    r.i32[2 * kr + 1] = (first ? xh : yh) | 0x00080000;
    return;
  }
  const v = element(op, x.f64[kx], y.f64[ky], F64);
  if (v !== v) { r.i32[2 * kr] = 0; r.i32[2 * kr + 1] = QNAN64_HI; } else r.f64[kr] = v;
}

function sqrt32(r: Vec, k: number, y: Vec, ky: number): void {
  const b = y.i32[ky];
  if (isNaN32(b)) { if (isSNaN32(b)) fp.pre |= Mx.IE; r.i32[k] = b | 0x00400000; return; }
  const v = element(Op.Sqrt, y.f32[ky], 0, F32);
  if (v !== v) r.i32[k] = QNAN32; else r.f32[k] = v;
}

function sqrt64(r: Vec, k: number, y: Vec, ky: number): void {
  const lo = y.i32[2 * ky], hi = y.i32[2 * ky + 1];
  if (isNaN64(hi, lo)) { if (isSNaN64(hi, lo)) fp.pre |= Mx.IE; r.i32[2 * k] = lo; r.i32[2 * k + 1] = hi | 0x00080000; return; }
  const v = element(Op.Sqrt, y.f64[ky], 0, F64);
  if (v !== v) { r.i32[2 * k] = 0; r.i32[2 * k + 1] = QNAN64_HI; } else r.f64[k] = v;
}

/**
 * min/max return the second operand when either is a NaN (either kind
 * raises IE) or when both are zeros of any sign (SDM Vol.2B MINPS, MAXPS),
 * so min(a, b) is exactly `a < b ? a : b`. Beside a NaN, a denormal second
 * operand raises no DE but is still flushed by DAZ.
 */
function minmax32(max: boolean, k: number): void {
  const xb = A.i32[k], yb = B.i32[k];
  if (isNaN32(xb) || isNaN32(yb)) { fp.pre |= Mx.IE; A.i32[k] = yb; if (!isNaN32(yb)) A.f32[k] = flush32(A.f32[k]); return; }
  const a = in32(A.f32[k]), b = in32(B.f32[k]);
  A.f32[k] = (max ? a > b : a < b) ? a : b;
}

function minmax64(max: boolean, k: number): void {
  const xl = A.i32[2 * k], xh = A.i32[2 * k + 1], yl = B.i32[2 * k], yh = B.i32[2 * k + 1];
  if (isNaN64(xh, xl) || isNaN64(yh, yl)) {
    fp.pre |= Mx.IE;
    A.i32[2 * k] = yl; A.i32[2 * k + 1] = yh;
    if (!isNaN64(yh, yl)) A.f64[k] = flush64(A.f64[k]);
    return;
  }
  const a = in64(A.f64[k]), b = in64(B.f64[k]);
  A.f64[k] = (max ? a > b : a < b) ? a : b;
}

/**
 * The cmpps predicates in imm8 order (SDM Vol.2A CMPPS, Table 3-7): EQ LT
 * LE UNORD NEQ NLT NLE ORD. LT, LE, NLT and NLE are signalling: a QNaN
 * operand raises IE too; the others raise it for SNaN only.
 */
function predicate(p: number, a: number, b: number): boolean {
  switch (p) {
    case 0: return a === b;
    case 1: return a < b;
    case 2: return a <= b;
    case 3: return a !== a || b !== b;
    case 4: return !(a === b);
    case 5: return !(a < b);
    case 6: return !(a <= b);
    default: return a === a && b === b;
  }
}

const SIGNALLING = 0b01100110;

function cmp32(p: number, k: number): void {
  const xb = A.i32[k], yb = B.i32[k];
  let a: number, b: number;
  if (isNaN32(xb) || isNaN32(yb)) {
    if (isSNaN32(xb) || isSNaN32(yb) || (SIGNALLING >> p) & 1) fp.pre |= Mx.IE;
    a = NaN; b = NaN;
  } else { a = in32(A.f32[k]); b = in32(B.f32[k]); }
  A.i32[k] = predicate(p, a, b) ? -1 : 0;
}

function cmp64(p: number, k: number): void {
  const xl = A.i32[2 * k], xh = A.i32[2 * k + 1], yl = B.i32[2 * k], yh = B.i32[2 * k + 1];
  let a: number, b: number;
  if (isNaN64(xh, xl) || isNaN64(yh, yl)) {
    if (isSNaN64(xh, xl) || isSNaN64(yh, yl) || (SIGNALLING >> p) & 1) fp.pre |= Mx.IE;
    a = NaN; b = NaN;
  } else { a = in64(A.f64[k]); b = in64(B.f64[k]); }
  const m = predicate(p, a, b) ? -1 : 0;
  A.i32[2 * k] = m; A.i32[2 * k + 1] = m;
}

/**
 * rcp and rsqrt: the architecture promises a relative error ≤ 1.5·2^-12;
 * this gives the correctly rounded value, which is within that bound but
 * not bit-identical to any particular CPU's table. Zero and denormal inputs
 * give ∞ of their sign, tiny reciprocals flush to zero, and no flags are
 * raised (SDM Vol.2B RCPPS, RSQRTPS).
 */
function rcpLane(k: number, rsqrt: boolean): void {
  const b = B.i32[k];
  if (isNaN32(b)) { A.i32[k] = b | 0x00400000; return; }
  let x = B.f32[k];
  if (x < MIN32 && x > -MIN32) x = x < 0 || 1 / x < 0 ? -0 : 0;
  let r: number;
  if (rsqrt) r = x < 0 ? NaN : 1 / Math.sqrt(x);
  else r = 1 / x;
  if (r !== r) { A.i32[k] = QNAN32; return; }
  r = Math.fround(r);
  if (r < MIN32 && r > -MIN32) r = r < 0 ? -0 : 0;
  A.f32[k] = r;
}

// ---- handler shapes ------------------------------------------------------------------

/** xmm ← op(xmm, xmm/m) with the MXCSR environment around it. */
export function fpOp(op: LaneOp, mem: number): Handler {
  return (cpu, i) => {
    srcX(cpu, i, B, mem);
    getX(cpu, i.reg, A);
    fpBegin(cpu);
    op(16, i.imm & 0xff);
    fpEnd(cpu);
    putX(cpu, i.reg, A);
  };
}

const ps = (op: Op): LaneOp => () => { for (let k = 0; k < 4; k++) bin32(op, A, k, A, k, B, k); };
const pd = (op: Op): LaneOp => () => { bin64(op, A, 0, A, 0, B, 0); bin64(op, A, 1, A, 1, B, 1); };
const ss = (op: Op): LaneOp => () => bin32(op, A, 0, A, 0, B, 0);
const sd = (op: Op): LaneOp => () => bin64(op, A, 0, A, 0, B, 0);

/** The four rows (ps pd ss sd) of one arithmetic opcode. */
function quad(mn: string, code: number, f: { ps: LaneOp; pd: LaneOp; ss: LaneOp; sd: LaneOp }, imm = ''): OpDef[] {
  return [
    { mn: mn + 'ps', code, pfx: 0, ops: 'Vps,Wps' + imm, exec: fpOp(f.ps, 16) },
    { mn: mn + 'pd', code, pfx: 0x66, ops: 'Vpd,Wpd' + imm, exec: fpOp(f.pd, 16) },
    { mn: mn + 'ss', code, pfx: 0xf3, ops: 'Vss,Wss' + imm, exec: fpOp(f.ss, 4) },
    { mn: mn + 'sd', code, pfx: 0xf2, ops: 'Vsd,Wsd' + imm, exec: fpOp(f.sd, 8) },
  ];
}

const arithRows = (mn: string, code: number, op: Op): OpDef[] => quad(mn, code, { ps: ps(op), pd: pd(op), ss: ss(op), sd: sd(op) });

const sqrtLanes = {
  ps: () => { for (let k = 0; k < 4; k++) sqrt32(A, k, B, k); },
  pd: () => { sqrt64(A, 0, B, 0); sqrt64(A, 1, B, 1); },
  ss: () => sqrt32(A, 0, B, 0),
  sd: () => sqrt64(A, 0, B, 0),
};

const minmaxLanes = (max: boolean) => ({
  ps: () => { for (let k = 0; k < 4; k++) minmax32(max, k); },
  pd: () => { minmax64(max, 0); minmax64(max, 1); },
  ss: () => minmax32(max, 0),
  sd: () => minmax64(max, 0),
});

const cmpLanes = {
  ps: (_n: number, imm: number) => { for (let k = 0; k < 4; k++) cmp32(imm & 7, k); },
  pd: (_n: number, imm: number) => { cmp64(imm & 7, 0); cmp64(imm & 7, 1); },
  ss: (_n: number, imm: number) => cmp32(imm & 7, 0),
  sd: (_n: number, imm: number) => cmp64(imm & 7, 0),
};

/**
 * comis/ucomis: ZF PF CF = 111 unordered, 000 greater, 001 less, 100
 * equal; OF SF AF cleared. comis signals IE for any NaN, ucomis for SNaN.
 * arg: bit 0 set for the binary64 forms, bit 1 set for comis.
 */
function comis(cpu: Cpu, i: Insn): void {
  const dbl = (i.arg & 1) !== 0;
  srcX(cpu, i, B, dbl ? 8 : 4);
  getX(cpu, i.reg, A);
  fpBegin(cpu);
  let nan: boolean, snan: boolean;
  if (dbl) { nan = isNaN64(A.i32[1], A.i32[0]) || isNaN64(B.i32[1], B.i32[0]); snan = isSNaN64(A.i32[1], A.i32[0]) || isSNaN64(B.i32[1], B.i32[0]); }
  else { nan = isNaN32(A.i32[0]) || isNaN32(B.i32[0]); snan = isSNaN32(A.i32[0]) || isSNaN32(B.i32[0]); }
  let bits: number;
  if (nan) {
    if (snan || (i.arg & 2)) fp.pre |= Mx.IE;
    bits = F.ZF | F.PF | F.CF;
  } else {
    const a = dbl ? in64(A.f64[0]) : in32(A.f32[0]);
    const b = dbl ? in64(B.f64[0]) : in32(B.f32[0]);
    bits = a > b ? 0 : a < b ? F.CF : F.ZF;
  }
  fpEnd(cpu);
  cpu.setArith(bits);
}

// ---- bitwise ------------------------------------------------------------------------

export const andLanes: LaneOp = () => { for (let k = 0; k < 4; k++) A.i32[k] &= B.i32[k]; };
export const andnLanes: LaneOp = () => { for (let k = 0; k < 4; k++) A.i32[k] = ~A.i32[k] & B.i32[k]; };
export const orLanes: LaneOp = () => { for (let k = 0; k < 4; k++) A.i32[k] |= B.i32[k]; };
export const xorLanes: LaneOp = () => { for (let k = 0; k < 4; k++) A.i32[k] ^= B.i32[k]; };

function bitwise(cpu: Cpu, i: Insn): void {
  srcX(cpu, i, B, 16);
  getX(cpu, i.reg, A);
  BITWISE[i.arg](16, 0);
  putX(cpu, i.reg, A);
}
const BITWISE = [andLanes, andnLanes, orLanes, xorLanes];
const BITWISE_NAMES = ['and', 'andn', 'or', 'xor'];

function rcpHandler(rsqrt: boolean, scalar: boolean): Handler {
  return (cpu, i) => {
    srcX(cpu, i, B, scalar ? 4 : 16);
    getX(cpu, i.reg, A);
    for (let k = 0; k < (scalar ? 1 : 4); k++) rcpLane(k, rsqrt);
    putX(cpu, i.reg, A);
  };
}

export const rows: OpDef[] = [
  ...arithRows('add', 0x0f58, Op.Add),
  ...arithRows('mul', 0x0f59, Op.Mul),
  ...arithRows('sub', 0x0f5c, Op.Sub),
  ...arithRows('div', 0x0f5e, Op.Div),
  ...quad('sqrt', 0x0f51, sqrtLanes),
  ...quad('min', 0x0f5d, minmaxLanes(false)),
  ...quad('max', 0x0f5f, minmaxLanes(true)),
  ...quad('cmp', 0x0fc2, cmpLanes, ',Ib'),
  { mn: 'rsqrtps', code: 0x0f52, pfx: 0, ops: 'Vps,Wps', exec: rcpHandler(true, false) },
  { mn: 'rsqrtss', code: 0x0f52, pfx: 0xf3, ops: 'Vss,Wss', exec: rcpHandler(true, true) },
  { mn: 'rcpps', code: 0x0f53, pfx: 0, ops: 'Vps,Wps', exec: rcpHandler(false, false) },
  { mn: 'rcpss', code: 0x0f53, pfx: 0xf3, ops: 'Vss,Wss', exec: rcpHandler(false, true) },
  { mn: 'ucomiss', code: 0x0f2e, pfx: 0, ops: 'Vss,Wss', exec: comis, arg: 0, wf: 'OSZAPC' },
  { mn: 'ucomisd', code: 0x0f2e, pfx: 0x66, ops: 'Vsd,Wsd', exec: comis, arg: 1, wf: 'OSZAPC' },
  { mn: 'comiss', code: 0x0f2f, pfx: 0, ops: 'Vss,Wss', exec: comis, arg: 2, wf: 'OSZAPC' },
  { mn: 'comisd', code: 0x0f2f, pfx: 0x66, ops: 'Vsd,Wsd', exec: comis, arg: 3, wf: 'OSZAPC' },
  ...BITWISE_NAMES.flatMap((mn, n): OpDef[] => [
    { mn: mn + 'ps', code: 0x0f54 + n, pfx: 0, ops: 'Vps,Wps', exec: bitwise, arg: n },
    { mn: mn + 'pd', code: 0x0f54 + n, pfx: 0x66, ops: 'Vpd,Wpd', exec: bitwise, arg: n },
  ]),
];

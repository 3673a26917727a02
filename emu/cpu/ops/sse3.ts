/**
 * SSE3: horizontal add/sub, addsub, the duplicating moves and lddqu
 * (SDM Vol.1 §12.3). fisttp, also SSE3, is with the x87 stores; monitor
 * and mwait have their own CPUID bit and are not provided.
 *
 * Horizontal operations pair adjacent elements of one operand:
 *   haddps  A0+A1  A2+A3  B0+B1  B2+B3      haddpd  A0+A1  B0+B1
 *   addsubps  A0−B0  A1+B1  A2−B2  A3+B3    addsubpd  A0−B0  A1+B1
 */
import type { OpDef } from '../table.js';
import { A, B, T, type LaneOp, xmmOp } from './sse-lanes.js';
import { Op } from './sse-fp.js';
import { bin32, bin64, fpOp } from './sse-float.js';

function hps(op: Op): LaneOp {
  return () => {
    bin32(op, T, 0, A, 0, A, 1); bin32(op, T, 1, A, 2, A, 3);
    bin32(op, T, 2, B, 0, B, 1); bin32(op, T, 3, B, 2, B, 3);
    A.i32.set(T.i32);
  };
}

function hpd(op: Op): LaneOp {
  return () => {
    bin64(op, T, 0, A, 0, A, 1); bin64(op, T, 1, B, 0, B, 1);
    A.i32.set(T.i32);
  };
}

const addsubps: LaneOp = () => { for (let k = 0; k < 4; k++) bin32(k & 1 ? Op.Add : Op.Sub, A, k, A, k, B, k); };
const addsubpd: LaneOp = () => { bin64(Op.Sub, A, 0, A, 0, B, 0); bin64(Op.Add, A, 1, A, 1, B, 1); };

/** movddup: the low qword of the source twice (its memory operand is m64). */
const movddup: LaneOp = () => { A.i32[0] = B.i32[0]; A.i32[1] = B.i32[1]; A.i32[2] = B.i32[0]; A.i32[3] = B.i32[1]; };
/** movsldup (odd = 0) / movshdup (odd = 1): the even or odd dwords, each duplicated. */
const movdup = (odd: number): LaneOp => () => {
  const a = B.i32[odd], b = B.i32[2 + odd];
  A.i32[0] = a; A.i32[1] = a; A.i32[2] = b; A.i32[3] = b;
};
const copy: LaneOp = () => A.i32.set(B.i32);

export const rows: OpDef[] = [
  { mn: 'haddpd', code: 0x0f7c, pfx: 0x66, ops: 'Vpd,Wpd', exec: fpOp(hpd(Op.Add), 16) },
  { mn: 'haddps', code: 0x0f7c, pfx: 0xf2, ops: 'Vps,Wps', exec: fpOp(hps(Op.Add), 16) },
  { mn: 'hsubpd', code: 0x0f7d, pfx: 0x66, ops: 'Vpd,Wpd', exec: fpOp(hpd(Op.Sub), 16) },
  { mn: 'hsubps', code: 0x0f7d, pfx: 0xf2, ops: 'Vps,Wps', exec: fpOp(hps(Op.Sub), 16) },
  { mn: 'addsubpd', code: 0x0fd0, pfx: 0x66, ops: 'Vpd,Wpd', exec: fpOp(addsubpd, 16) },
  { mn: 'addsubps', code: 0x0fd0, pfx: 0xf2, ops: 'Vps,Wps', exec: fpOp(addsubps, 16) },
  { mn: 'movddup', code: 0x0f12, pfx: 0xf2, ops: 'Vx,Wq', exec: xmmOp(movddup, 8) },
  { mn: 'movsldup', code: 0x0f12, pfx: 0xf3, ops: 'Vx,Wx', exec: xmmOp(movdup(0)) },
  { mn: 'movshdup', code: 0x0f16, pfx: 0xf3, ops: 'Vx,Wx', exec: xmmOp(movdup(1)) },
  { mn: 'lddqu', code: 0x0ff0, pfx: 0xf2, mod: 'mem', ops: 'Vx,M', exec: xmmOp(copy, 16, true) },
];

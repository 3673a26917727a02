/**
 * SSE/SSE2/MMX data movement: whole-register moves (aligned and unaligned),
 * the scalar and half-register moves, moves between general, MMX and XMM
 * registers, non-temporal stores, masked stores and the sign-mask
 * extractions. None of them touches MXCSR flags: a float move copies bits,
 * so an SNaN stays signalling.
 *
 * The half/scalar rules (SDM Vol.2B MOVSS/MOVSD/MOVLPS/MOVHPS/MOVQ):
 *   movss/movsd xmm, mem   zero the rest of the register
 *   movss/movsd xmm, xmm   keep the rest of the destination
 *   movq xmm, xmm/m64      (F3 0F 7E, 66 0F D6) zero the high qword
 *   movlps/movhps …        replace one qword, keep the other
 */
import type { Cpu } from '../cpu.js';
import type { Insn } from '../insn.js';
import type { OpDef } from '../table.js';
import { Seg, R } from '../regs.js';
import { A, B, getX, putX, getMm, putMm, enterMmx, mmxPending, srcX, srcMm, load128, store128, ea16 } from './sse-lanes.js';

// ---- whole xmm register ---------------------------------------------------------

/** movaps/movapd/movdqa (arg 0) and movups/movupd/movdqu (arg 1) loads. */
function movXW(cpu: Cpu, i: Insn): void {
  srcX(cpu, i, A, 16, i.arg === 1);
  putX(cpu, i.reg, A);
}

/** The store direction; also movntps/movntpd/movntdq (aligned). */
function movWX(cpu: Cpu, i: Insn): void {
  getX(cpu, i.reg, A);
  if (!i.isMem) { putX(cpu, i.rm, A); return; }
  store128(cpu, i.arg === 1 ? cpu.ea(i) : ea16(cpu, i), A);
}

// ---- scalar and half moves --------------------------------------------------------

/** movss (arg 4) / movsd (arg 8) load. */
function movsLoad(cpu: Cpu, i: Insn): void {
  const x = cpu.xmm, d = i.reg << 2;
  if (i.isMem) {
    const lin = cpu.ea(i);
    if (i.arg === 4) { x[d] = cpu.mmu.read32(lin); x[d + 1] = 0; }
    else { x[d] = cpu.mmu.read64(lin); x[d + 1] = cpu.mmu.hi; }
    x[d + 2] = 0; x[d + 3] = 0;
    return;
  }
  const s = i.rm << 2;
  x[d] = x[s];
  if (i.arg === 8) x[d + 1] = x[s + 1];
}

function movsStore(cpu: Cpu, i: Insn): void {
  const x = cpu.xmm, s = i.reg << 2;
  if (i.isMem) {
    const lin = cpu.ea(i);
    if (i.arg === 4) cpu.mmu.write32(lin, x[s]);
    else cpu.mmu.write64(lin, x[s], x[s + 1]);
    return;
  }
  const d = i.rm << 2;
  x[d] = x[s];
  if (i.arg === 8) x[d + 1] = x[s + 1];
}

/** movlps/movlpd (arg 0) and movhps/movhpd (arg 2) loads: one qword from memory. */
function movHalfLoad(cpu: Cpu, i: Insn): void {
  const lo = cpu.mmu.read64(cpu.ea(i)), hi = cpu.mmu.hi;
  const d = (i.reg << 2) + i.arg;
  cpu.xmm[d] = lo; cpu.xmm[d + 1] = hi;
}

function movHalfStore(cpu: Cpu, i: Insn): void {
  const s = (i.reg << 2) + i.arg;
  cpu.mmu.write64(cpu.ea(i), cpu.xmm[s], cpu.xmm[s + 1]);
}

/** movhlps (high qword of the source to the low qword) and movlhps (low to high). */
function movhlps(cpu: Cpu, i: Insn): void {
  const x = cpu.xmm, d = i.reg << 2, s = i.rm << 2;
  x[d] = x[s + 2]; x[d + 1] = x[s + 3];
}

function movlhps(cpu: Cpu, i: Insn): void {
  const x = cpu.xmm, d = i.reg << 2, s = i.rm << 2;
  x[d + 2] = x[s]; x[d + 3] = x[s + 1];
}

/** movq xmm, xmm/m64 (F3 0F 7E): the low qword, high qword zeroed. */
function movqLoad(cpu: Cpu, i: Insn): void {
  srcX(cpu, i, A, 8);
  A.i32[2] = 0; A.i32[3] = 0;
  putX(cpu, i.reg, A);
}

/** movq xmm/m64, xmm (66 0F D6): a register destination gets its high qword zeroed. */
function movqStore(cpu: Cpu, i: Insn): void {
  const x = cpu.xmm, s = i.reg << 2;
  if (i.isMem) { cpu.mmu.write64(cpu.ea(i), x[s], x[s + 1]); return; }
  const d = i.rm << 2;
  x[d] = x[s]; x[d + 1] = x[s + 1]; x[d + 2] = 0; x[d + 3] = 0;
}

// ---- general registers ↔ xmm / mm -----------------------------------------------

/** movd/movq xmm, r/m32|64 (66 0F 6E): zero-extends into the whole register. */
function movdXE(cpu: Cpu, i: Insn): void {
  const size = i.osz === 8 ? 8 : 4;
  const lo = cpu.readE(i, size);
  const x = cpu.xmm, d = i.reg << 2;
  x[d] = lo; x[d + 1] = size === 8 ? cpu.hi : 0; x[d + 2] = 0; x[d + 3] = 0;
}

/** movd/movq r/m32|64, xmm (66 0F 7E). */
function movdEX(cpu: Cpu, i: Insn): void {
  const x = cpu.xmm, s = i.reg << 2;
  if (i.osz === 8) cpu.writeE(i, 8, x[s], x[s + 1]);
  else cpu.writeE(i, 4, x[s], 0);
}

/** movd/movq mm, r/m32|64 (0F 6E). */
function movdPE(cpu: Cpu, i: Insn): void {
  const size = i.osz === 8 ? 8 : 4;
  const lo = cpu.readE(i, size);
  A.i32[0] = lo; A.i32[1] = size === 8 ? cpu.hi : 0;
  enterMmx(cpu);
  putMm(cpu, i.reg & 7, A);
}

/** movd/movq r/m32|64, mm (0F 7E). */
function movdEP(cpu: Cpu, i: Insn): void {
  getMm(cpu, i.reg & 7, A);
  mmxPending(cpu);
  if (i.osz === 8) cpu.writeE(i, 8, A.i32[0], A.i32[1]);
  else cpu.writeE(i, 4, A.i32[0], 0);
  enterMmx(cpu);
}

/** movq mm, mm/m64 (0F 6F). */
function movqPQ(cpu: Cpu, i: Insn): void {
  srcMm(cpu, i, A, 8);
  enterMmx(cpu);
  putMm(cpu, i.reg & 7, A);
}

/** movq mm/m64, mm (0F 7F) and movntq (0F E7). */
function movqQP(cpu: Cpu, i: Insn): void {
  getMm(cpu, i.reg & 7, A);
  mmxPending(cpu);
  if (i.isMem) cpu.mmu.write64(cpu.ea(i), A.i32[0], A.i32[1]);
  enterMmx(cpu);
  if (!i.isMem) putMm(cpu, i.rm & 7, A);
}

/** movq2dq xmm, mm: the mm register zero-extended. */
function movq2dq(cpu: Cpu, i: Insn): void {
  getMm(cpu, i.rm & 7, A);
  A.i32[2] = 0; A.i32[3] = 0;
  enterMmx(cpu);
  putX(cpu, i.reg, A);
}

/** movdq2q mm, xmm: the low qword. */
function movdq2q(cpu: Cpu, i: Insn): void {
  getX(cpu, i.rm, A);
  enterMmx(cpu);
  putMm(cpu, i.reg & 7, A);
}

/** movnti m32|64, r32|64. */
function movnti(cpu: Cpu, i: Insn): void {
  const size = i.osz === 8 ? 8 : 4;
  const v = cpu.readG(i, size);
  cpu.writeMem(size, cpu.ea(i), v, cpu.hi);
}

// ---- sign masks -------------------------------------------------------------------

/** movmskps (arg 4) / movmskpd (arg 8): one bit per element's sign, zero-extended into the GPR. */
function movmsk(cpu: Cpu, i: Insn): void {
  const x = cpu.xmm, s = i.rm << 2;
  let m: number;
  if (i.arg === 4) m = (x[s] >>> 31) | ((x[s + 1] >>> 31) << 1) | ((x[s + 2] >>> 31) << 2) | ((x[s + 3] >>> 31) << 3);
  else m = (x[s + 1] >>> 31) | ((x[s + 3] >>> 31) << 1);
  cpu.set32(i.reg, m);
}

function byteSigns(n: number): number {
  let m = 0;
  for (let k = 0; k < n; k++) m |= (A.u8[k] >> 7) << k;
  return m;
}

/** pmovmskb r32|64, xmm. */
function pmovmskbX(cpu: Cpu, i: Insn): void {
  getX(cpu, i.rm, A);
  cpu.set32(i.reg, byteSigns(16));
}

/** pmovmskb r32|64, mm. */
function pmovmskbP(cpu: Cpu, i: Insn): void {
  getMm(cpu, i.rm & 7, A);
  enterMmx(cpu);
  cpu.set32(i.reg, byteSigns(8));
}

// ---- masked stores ---------------------------------------------------------------

/**
 * maskmovq / maskmovdqu: store the bytes of the first operand whose mask byte
 * (second operand) has its top bit set, to DS:rDI (FS/GS overrides apply).
 * Bytes with a clear mask are not accessed, so they cannot fault.
 */
function maskmov(cpu: Cpu, i: Insn): void {
  const n = i.arg;
  if (n === 8) { getMm(cpu, i.reg & 7, A); getMm(cpu, i.rm & 7, B); mmxPending(cpu); }
  else { getX(cpu, i.reg, A); getX(cpu, i.rm, B); }
  let base: number;
  if (i.asz === 8) base = cpu.regNum(R.DI);
  else base = i.asz === 4 ? cpu.get64lo(R.DI) >>> 0 : cpu.get64lo(R.DI) & 0xffff;
  if (i.seg === Seg.FS || i.seg === Seg.GS) base += cpu.segBase[i.seg];
  for (let k = 0; k < n; k++) if (B.u8[k] & 0x80) cpu.mmu.write8(base + k, A.u8[k]);
  if (n === 8) enterMmx(cpu);
}

/** 16 bytes straight from memory (aligned) into A: movntdqa's load. */
export function loadAligned(cpu: Cpu, i: Insn): void {
  load128(cpu, ea16(cpu, i), A);
}

export const rows: OpDef[] = [
  { mn: 'movups', code: 0x0f10, pfx: 0, ops: 'Vps,Wps', exec: movXW, arg: 1 },
  { mn: 'movupd', code: 0x0f10, pfx: 0x66, ops: 'Vpd,Wpd', exec: movXW, arg: 1 },
  { mn: 'movss', code: 0x0f10, pfx: 0xf3, ops: 'Vss,Wss', exec: movsLoad, arg: 4 },
  { mn: 'movsd', code: 0x0f10, pfx: 0xf2, ops: 'Vsd,Wsd', exec: movsLoad, arg: 8 },
  { mn: 'movups', code: 0x0f11, pfx: 0, ops: 'Wps,Vps', exec: movWX, arg: 1 },
  { mn: 'movupd', code: 0x0f11, pfx: 0x66, ops: 'Wpd,Vpd', exec: movWX, arg: 1 },
  { mn: 'movss', code: 0x0f11, pfx: 0xf3, ops: 'Wss,Vss', exec: movsStore, arg: 4 },
  { mn: 'movsd', code: 0x0f11, pfx: 0xf2, ops: 'Wsd,Vsd', exec: movsStore, arg: 8 },
  { mn: 'movlps', code: 0x0f12, pfx: 0, mod: 'mem', ops: 'Vq,Mq', exec: movHalfLoad, arg: 0 },
  { mn: 'movhlps', code: 0x0f12, pfx: 0, mod: 'reg', ops: 'Vq,Uq', exec: movhlps },
  { mn: 'movlpd', code: 0x0f12, pfx: 0x66, mod: 'mem', ops: 'Vq,Mq', exec: movHalfLoad, arg: 0 },
  { mn: 'movlps', code: 0x0f13, pfx: 0, mod: 'mem', ops: 'Mq,Vq', exec: movHalfStore, arg: 0 },
  { mn: 'movlpd', code: 0x0f13, pfx: 0x66, mod: 'mem', ops: 'Mq,Vq', exec: movHalfStore, arg: 0 },
  { mn: 'movhps', code: 0x0f16, pfx: 0, mod: 'mem', ops: 'Vq,Mq', exec: movHalfLoad, arg: 2 },
  { mn: 'movlhps', code: 0x0f16, pfx: 0, mod: 'reg', ops: 'Vq,Uq', exec: movlhps },
  { mn: 'movhpd', code: 0x0f16, pfx: 0x66, mod: 'mem', ops: 'Vq,Mq', exec: movHalfLoad, arg: 2 },
  { mn: 'movhps', code: 0x0f17, pfx: 0, mod: 'mem', ops: 'Mq,Vq', exec: movHalfStore, arg: 2 },
  { mn: 'movhpd', code: 0x0f17, pfx: 0x66, mod: 'mem', ops: 'Mq,Vq', exec: movHalfStore, arg: 2 },
  { mn: 'movaps', code: 0x0f28, pfx: 0, ops: 'Vps,Wps', exec: movXW, arg: 0 },
  { mn: 'movapd', code: 0x0f28, pfx: 0x66, ops: 'Vpd,Wpd', exec: movXW, arg: 0 },
  { mn: 'movaps', code: 0x0f29, pfx: 0, ops: 'Wps,Vps', exec: movWX, arg: 0 },
  { mn: 'movapd', code: 0x0f29, pfx: 0x66, ops: 'Wpd,Vpd', exec: movWX, arg: 0 },
  { mn: 'movntps', code: 0x0f2b, pfx: 0, mod: 'mem', ops: 'Mps,Vps', exec: movWX, arg: 0 },
  { mn: 'movntpd', code: 0x0f2b, pfx: 0x66, mod: 'mem', ops: 'Mpd,Vpd', exec: movWX, arg: 0 },
  { mn: 'movmskps', code: 0x0f50, pfx: 0, mod: 'reg', ops: 'Gd,Ups', exec: movmsk, arg: 4 },
  { mn: 'movmskpd', code: 0x0f50, pfx: 0x66, mod: 'reg', ops: 'Gd,Upd', exec: movmsk, arg: 8 },
  { mn: 'movd|movd|movq', code: 0x0f6e, pfx: 0, ops: 'Pq,Ey', exec: movdPE },
  { mn: 'movd|movd|movq', code: 0x0f6e, pfx: 0x66, ops: 'Vy,Ey', exec: movdXE },
  { mn: 'movq', code: 0x0f6f, pfx: 0, ops: 'Pq,Qq', exec: movqPQ },
  { mn: 'movdqa', code: 0x0f6f, pfx: 0x66, ops: 'Vx,Wx', exec: movXW, arg: 0 },
  { mn: 'movdqu', code: 0x0f6f, pfx: 0xf3, ops: 'Vx,Wx', exec: movXW, arg: 1 },
  { mn: 'movd|movd|movq', code: 0x0f7e, pfx: 0, ops: 'Ey,Pq', exec: movdEP },
  { mn: 'movd|movd|movq', code: 0x0f7e, pfx: 0x66, ops: 'Ey,Vy', exec: movdEX },
  { mn: 'movq', code: 0x0f7e, pfx: 0xf3, ops: 'Vq,Wq', exec: movqLoad },
  { mn: 'movq', code: 0x0f7f, pfx: 0, ops: 'Qq,Pq', exec: movqQP },
  { mn: 'movdqa', code: 0x0f7f, pfx: 0x66, ops: 'Wx,Vx', exec: movWX, arg: 0 },
  { mn: 'movdqu', code: 0x0f7f, pfx: 0xf3, ops: 'Wx,Vx', exec: movWX, arg: 1 },
  { mn: 'movnti', code: 0x0fc3, pfx: 0, mod: 'mem', ops: 'My,Gy', exec: movnti },
  { mn: 'movq', code: 0x0fd6, pfx: 0x66, ops: 'Wq,Vq', exec: movqStore },
  { mn: 'movq2dq', code: 0x0fd6, pfx: 0xf3, mod: 'reg', ops: 'Vdq,Nq', exec: movq2dq },
  { mn: 'movdq2q', code: 0x0fd6, pfx: 0xf2, mod: 'reg', ops: 'Pq,Uq', exec: movdq2q },
  { mn: 'pmovmskb', code: 0x0fd7, pfx: 0, mod: 'reg', ops: 'Gd,Nq', exec: pmovmskbP },
  { mn: 'pmovmskb', code: 0x0fd7, pfx: 0x66, mod: 'reg', ops: 'Gd,Ux', exec: pmovmskbX },
  { mn: 'movntq', code: 0x0fe7, pfx: 0, mod: 'mem', ops: 'Mq,Pq', exec: movqQP },
  { mn: 'movntdq', code: 0x0fe7, pfx: 0x66, mod: 'mem', ops: 'Mx,Vx', exec: movWX, arg: 0 },
  { mn: 'maskmovq', code: 0x0ff7, pfx: 0, mod: 'reg', ops: 'Pq,Nq', exec: maskmov, arg: 8 },
  { mn: 'maskmovdqu', code: 0x0ff7, pfx: 0x66, mod: 'reg', ops: 'Vdq,Udq', exec: maskmov, arg: 16 },
];

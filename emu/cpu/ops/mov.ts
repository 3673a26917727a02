/**
 * Data movement that touches no flags: mov in all its forms, movzx/movsx,
 * lea, xchg, cmovcc, setcc, bswap, movbe, the accumulator sign extensions,
 * and the multi-byte NOP space.
 */
import type { Cpu } from '../cpu.js';
import type { Handler, Insn } from '../insn.js';
import type { OpDef } from '../table.js';
import { Seg } from '../regs.js';
import { CpuFault, Vector } from '../fault.js';

export const CC_NAMES = ['o', 'no', 'b', 'ae', 'e', 'ne', 'be', 'a', 's', 'ns', 'p', 'np', 'l', 'ge', 'le', 'g'];

function movEG(cpu: Cpu, i: Insn): void { const v = cpu.readG(i, i.osz); cpu.writeE(i, i.osz, v, cpu.hi); }
function movGE(cpu: Cpu, i: Insn): void { const v = cpu.readE(i, i.osz); cpu.writeG(i, i.osz, v, cpu.hi); }
/* The commonest moves at 32 and 64 bits, without the generic operand dispatch. */
function movLoad64(cpu: Cpu, i: Insn): void {
  const lo = cpu.mmu.read64(cpu.ea(i));
  cpu.regs[i.reg << 1] = lo; cpu.regs[(i.reg << 1) | 1] = cpu.mmu.hi;
}
function movStore64(cpu: Cpu, i: Insn): void {
  cpu.mmu.write64(cpu.ea(i), cpu.regs[i.reg << 1], cpu.regs[(i.reg << 1) | 1]);
}
function movLoad32(cpu: Cpu, i: Insn): void {
  const v = cpu.mmu.read32(cpu.ea(i));
  cpu.regs[i.reg << 1] = v; cpu.regs[(i.reg << 1) | 1] = 0;
}
function movStore32(cpu: Cpu, i: Insn): void { cpu.mmu.write32(cpu.ea(i), cpu.regs[i.reg << 1]); }
function movRR(cpu: Cpu, i: Insn): void {
  const regs = cpu.regs;
  const d = i.row.code === 0x8b ? i.reg : i.rm, s = i.row.code === 0x8b ? i.rm : i.reg;
  regs[d << 1] = regs[s << 1];
  regs[(d << 1) | 1] = i.osz === 8 ? regs[(s << 1) | 1] : 0;
}
function specializeMov(i: Insn): Handler | null {
  if (i.osz !== 4 && i.osz !== 8) return null;
  if (!i.isMem) return movRR;
  if (i.row.code === 0x8b) return i.osz === 8 ? movLoad64 : movLoad32;
  return i.osz === 8 ? movStore64 : movStore32;
}

function movEI(cpu: Cpu, i: Insn): void { cpu.writeE(i, i.osz, i.imm, i.immHi); }

/** mov moffs: the address is an absolute offset (plus FS/GS base when overridden). */
function moffsAddr(cpu: Cpu, i: Insn): number {
  const off = i.asz === 8 ? ((i.immHi << 16) >> 16) * 4294967296 + (i.imm >>> 0) : i.imm >>> 0;
  if ((i.immHi << 16) >> 16 !== i.immHi && i.asz === 8) throw new CpuFault(Vector.GP, 0, 0, 'non-canonical moffs');
  return cpu.segLinear(i.seg === Seg.None ? Seg.DS : i.seg, off);
}
function movAO(cpu: Cpu, i: Insn): void { const v = cpu.readMem(i.osz, moffsAddr(cpu, i)); cpu.setReg(i.osz, 0, v, cpu.hi); }
function movOA(cpu: Cpu, i: Insn): void { const v = cpu.getReg(i.osz, 0); cpu.writeMem(i.osz, moffsAddr(cpu, i), v, cpu.hi); }

/** movzx/movsx: arg is the source size (1 or 2); bit 2 of arg set means sign-extend. */
export function movx(cpu: Cpu, i: Insn): void {
  const srcSize = i.arg & 3;
  let v = cpu.readE(i, srcSize);
  if (i.arg & 4) v = srcSize === 1 ? (v << 24) >> 24 : (v << 16) >> 16;
  cpu.writeG(i, i.osz, v, v >> 31);
}

/** movsxd: with a 64-bit operand size the dword is sign-extended; otherwise it is a plain move. */
function movsxd(cpu: Cpu, i: Insn): void {
  const v = cpu.readE(i, 4);
  if (i.osz === 8) cpu.writeG(i, 8, v, v >> 31);
  else cpu.writeG(i, i.osz, v, 0);
}

export function lea(cpu: Cpu, i: Insn): void {
  let lo = cpu.leaOffset(i);
  let hi = cpu.hi;
  if (i.asz === 4) hi = 0;
  else if (i.asz === 2) { lo &= 0xffff; hi = 0; }
  cpu.writeG(i, i.osz, lo, hi);
}

/** xchg with memory is locked whether or not LOCK is given (SDM Vol.2B XCHG). */
function xchgEG(cpu: Cpu, i: Insn): void {
  const size = i.osz;
  const a = cpu.rmwRead(i, size), aHi = cpu.hi;
  const b = cpu.readG(i, size), bHi = cpu.hi;
  cpu.rmwWrite(i, size, b, bHi);
  cpu.writeG(i, size, a, aHi);
}

/** 90+r: xchg with the accumulator; plain 90 (no REX.B) is NOP and touches nothing. */
function xchgAZ(cpu: Cpu, i: Insn): void {
  // 90 is NOP even as xchg eax, eax: unlike 87 c0 it does not zero-extend rax.
  if (i.reg === 0) return;
  const size = i.osz;
  const a = cpu.getReg(size, 0), aHi = cpu.hi;
  const b = cpu.getReg(size, i.reg), bHi = cpu.hi;
  cpu.setReg(size, 0, b, bHi);
  cpu.setReg(size, i.reg, a, aHi);
}

/**
 * cmovcc reads its source even when the condition is false, and a 32-bit
 * form zero-extends the destination either way (SDM Vol.2A CMOVcc).
 */
function cmov(cpu: Cpu, i: Insn): void {
  const v = cpu.readE(i, i.osz), hi = cpu.hi;
  if (cpu.cond(i.arg)) cpu.writeG(i, i.osz, v, hi);
  else if (i.osz === 4) cpu.set32(i.reg, cpu.get64lo(i.reg));
}

function setcc(cpu: Cpu, i: Insn): void { cpu.writeE(i, 1, cpu.cond(i.arg) ? 1 : 0, 0); }

const swap32 = (v: number): number => ((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24);

function bswap(cpu: Cpu, i: Insn): void {
  if (i.osz === 8) cpu.set64(i.reg, swap32(cpu.get64hi(i.reg)), swap32(cpu.get64lo(i.reg)));
  else if (i.osz === 4) cpu.set32(i.reg, swap32(cpu.get64lo(i.reg)));
  // bswap of a 16-bit register is undefined (SDM); hardware zeroes it.
  else cpu.set16(i.reg, 0);
}

function movbeLoad(cpu: Cpu, i: Insn): void {
  const v = cpu.readE(i, i.osz), hi = cpu.hi;
  cpu.writeG(i, i.osz, ...byteSwap(i.osz, v, hi));
}
function movbeStore(cpu: Cpu, i: Insn): void {
  const v = cpu.readG(i, i.osz), hi = cpu.hi;
  cpu.writeE(i, i.osz, ...byteSwap(i.osz, v, hi));
}
function byteSwap(size: number, v: number, hi: number): [number, number] {
  if (size === 2) return [((v & 0xff) << 8) | ((v >> 8) & 0xff), 0];
  if (size === 4) return [swap32(v), 0];
  return [swap32(hi), swap32(v)];
}

/** cbw / cwde / cdqe: sign-extend the accumulator's lower half into the whole. */
function cbw(cpu: Cpu, i: Insn): void {
  const a = cpu.get64lo(0);
  if (i.osz === 2) cpu.set16(0, (a << 24) >> 24);
  else if (i.osz === 4) cpu.set32(0, (a << 16) >> 16);
  else cpu.set64(0, a, a >> 31);
}

/** cwd / cdq / cqo: fill rDX with the sign of rAX. */
function cwd(cpu: Cpu, i: Insn): void {
  const a = cpu.get64lo(0);
  if (i.osz === 2) cpu.set16(2, (a << 16) >> 31);
  else if (i.osz === 4) cpu.set32(2, a >> 31);
  else { const s = cpu.get64hi(0) >> 31; cpu.set64(2, s, s); }
}

function nop(): void {}

export const rows: OpDef[] = [
  { mn: 'mov', code: 0x88, ops: 'Eb,Gb', exec: movEG },
  { mn: 'mov', code: 0x89, ops: 'Ev,Gv', exec: movEG, specialize: specializeMov },
  { mn: 'mov', code: 0x8a, ops: 'Gb,Eb', exec: movGE },
  { mn: 'mov', code: 0x8b, ops: 'Gv,Ev', exec: movGE, specialize: specializeMov },
  { mn: 'mov', code: 0xc6, digit: 0, ops: 'Eb,Ib', exec: movEI },
  { mn: 'mov', code: 0xc7, digit: 0, ops: 'Ev,Iz', exec: movEI },
  ...Array.from({ length: 8 }, (_, r): OpDef => ({ mn: 'mov', code: 0xb0 + r, ops: 'Zb,Ib', exec: movEI })),
  ...Array.from({ length: 8 }, (_, r): OpDef => ({ mn: 'mov', code: 0xb8 + r, ops: 'Zv,Iv', exec: movEI })),
  { mn: 'mov', code: 0xa0, ops: 'AL,Ob', exec: movAO },
  { mn: 'mov', code: 0xa1, ops: 'eAX,Ov', exec: movAO },
  { mn: 'mov', code: 0xa2, ops: 'Ob,AL', exec: movOA },
  { mn: 'mov', code: 0xa3, ops: 'Ov,eAX', exec: movOA },
  { mn: 'movzx', code: 0x0fb6, ops: 'Gv,Eb', exec: movx, arg: 1 },
  { mn: 'movzx', code: 0x0fb7, ops: 'Gv,Ew', exec: movx, arg: 2 },
  { mn: 'movsx', code: 0x0fbe, ops: 'Gv,Eb', exec: movx, arg: 5 },
  { mn: 'movsx', code: 0x0fbf, ops: 'Gv,Ew', exec: movx, arg: 6 },
  { mn: 'movsxd', code: 0x63, ops: 'Gv,Ed', exec: movsxd, mode: 'o64' },
  { mn: 'lea', code: 0x8d, ops: 'Gv,M', mod: 'mem', exec: lea },
  { mn: 'xchg', code: 0x86, ops: 'Eb,Gb', exec: xchgEG, lock: true },
  { mn: 'xchg', code: 0x87, ops: 'Ev,Gv', exec: xchgEG, lock: true },
  ...Array.from({ length: 8 }, (_, r): OpDef => ({ mn: r === 0 ? 'nop' : 'xchg', code: 0x90 + r, ops: 'Zv,eAX', exec: xchgAZ })),
  { mn: 'pause', code: 0x90, pfx: 0xf3, exec: nop },
  ...CC_NAMES.map((cc, n): OpDef => ({ mn: 'cmov' + cc, code: 0x0f40 + n, ops: 'Gv,Ev', exec: cmov, arg: n })),
  ...CC_NAMES.map((cc, n): OpDef => ({ mn: 'set' + cc, code: 0x0f90 + n, ops: 'Eb', exec: setcc, arg: n })),
  ...Array.from({ length: 8 }, (_, r): OpDef => ({ mn: 'bswap', code: 0x0fc8 + r, ops: 'Zv', exec: bswap })),
  { mn: 'movbe', code: 0x0f38f0, ops: 'Gv,Mv', mod: 'mem', exec: movbeLoad },
  { mn: 'movbe', code: 0x0f38f1, ops: 'Mv,Gv', mod: 'mem', exec: movbeStore },
  { mn: 'cbw|cwde|cdqe', code: 0x98, exec: cbw },
  { mn: 'cwd|cdq|cqo', code: 0x99, exec: cwd },
  // 0f 18..1f: prefetch hints (0f 18 /0../3 with memory) and reserved NOPs. 0f 1f, the
  // NOP the SDM documents, comes first: an assembler takes the first of equal encodings.
  ...['prefetchnta', 'prefetcht0', 'prefetcht1', 'prefetcht2'].map((mn, d): OpDef => ({ mn, code: 0x0f18, digit: d, mod: 'mem', ops: 'Mb', exec: nop })),
  ...[0x1f, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e].map((b): OpDef => ({ mn: 'nop', code: 0x0f00 + b, ops: 'Ev', exec: nop })),
  // CET is not enabled: endbr and rdssp are the NOPs they are encoded over (SDM Vol.1 §18.3).
  { mn: 'endbr64', code: 0x0f1e, pfx: 0xf3, digit: 7, rm: 2, exec: nop },
  { mn: 'endbr32', code: 0x0f1e, pfx: 0xf3, digit: 7, rm: 3, exec: nop },
  { mn: 'rdsspd|rdsspd|rdsspq', code: 0x0f1e, pfx: 0xf3, digit: 1, mod: 'reg', ops: 'Ry', exec: nop },
  { mn: 'prefetch', code: 0x0f0d, mod: 'mem', ops: 'Mb', exec: nop },
  { mn: 'prefetchw', code: 0x0f0d, digit: 1, mod: 'mem', ops: 'Mb', exec: nop },
  { mn: 'prefetchwt1', code: 0x0f0d, digit: 2, mod: 'mem', ops: 'Mb', exec: nop },
];

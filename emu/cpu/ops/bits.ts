/**
 * Single-bit operations and bit scans: bt bts btr btc (SDM Vol.2A BT, BTC,
 * BTR, BTS), bsf bsr, popcnt, lzcnt, and tzcnt's encoding.
 *
 * With a register bit offset and a memory operand the offset is signed and
 * unbounded: the operand address is a "bit base" and the instruction reaches
 * the operand-sized unit at EA + size·(offset SAR log2(width)), which may lie
 * far from EA. An immediate offset, or a register operand, takes the offset
 * modulo the width.
 *
 * Undefined flags follow Intel cores: the bit tests leave OF SF AF PF as
 * they were (only CF is written); bsf/bsr clear CF OF SF AF and set PF from
 * the result index, as box64's Intel mode models them; lzcnt clears OF SF AF PF.
 */
import type { Cpu } from '../cpu.js';
import { CANONICAL_LIMIT } from '../mmu.js';
import type { Insn } from '../insn.js';
import type { OpDef } from '../table.js';
import { F, PARITY } from '../flags.js';
import { CpuFault, Vector } from '../fault.js';
import { Mode } from '../decode.js';
import { R, Seg } from '../regs.js';

const TWO32 = 4294967296;
const CANON = CANONICAL_LIMIT;

const enum BitOp { Test = 0, Set, Reset, Complement }

// ---- bit-base addressing -------------------------------------------------------

/** A linear address outside canonical space: #SS for stack references, else #GP(0), as ea() decides. */
function nonCanonical(i: Insn): never {
  const stack = i.seg === Seg.SS || i.base === R.SP || i.base === R.BP;
  throw new CpuFault(stack ? Vector.SS : Vector.GP, 0, 0, 'non-canonical bit-base address');
}

/**
 * Linear address of the unit dLo:dHi bytes from the memory operand. The
 * displacement joins the effective address before it wraps to the address
 * size and before the segment base is added (SDM Vol.1 §3.7.5), so only the
 * final address is checked: the operand's own EA may be anywhere.
 */
function bitBase(cpu: Cpu, i: Insn, dLo: number, dHi: number): number {
  const eLo = cpu.leaOffset(i), eHi = cpu.hi;
  const s = (eLo >>> 0) + (dLo >>> 0);
  const lo = s | 0, hi = (eHi + dHi + (s >= TWO32 ? 1 : 0)) | 0;
  const seg = i.seg;
  const fsgs = seg === Seg.FS || seg === Seg.GS;
  if (cpu.mode === Mode.Long64) {
    let lin: number;
    if (i.asz === 8) {
      if (((hi << 16) >> 16) !== hi) nonCanonical(i);
      lin = hi * TWO32 + (lo >>> 0);
    } else {
      lin = lo >>> 0;
    }
    if (!fsgs) return lin;
    lin += cpu.segBase[seg];
    if (lin < -CANON || lin >= CANON) nonCanonical(i);
    return lin;
  }
  const off = i.asz === 4 ? lo >>> 0 : lo & 0xffff;
  return (off + cpu.segBase[seg === Seg.None ? Seg.DS : seg]) % TWO32;
}

// ---- bt / bts / btr / btc -------------------------------------------------------

/** Tests bit `k` of v:vHi, records it in CF, and returns the low dword after `op` (high in cpu.hi). */
function bitOp(cpu: Cpu, op: number, k: number, v: number, vHi: number): number {
  const inHi = k >= 32;
  const mask = 1 << (k & 31);
  const w = inHi ? vHi : v;
  cpu.setCF((w & mask) !== 0);
  let r = w;
  if (op === BitOp.Set) r = w | mask;
  else if (op === BitOp.Reset) r = w & ~mask;
  else if (op === BitOp.Complement) r = w ^ mask;
  cpu.hi = inHi ? r : vHi;
  return inHi ? v : r;
}

function bitOnReg(cpu: Cpu, i: Insn, k: number): void {
  const size = i.osz;
  const v = cpu.getReg(size, i.rm);
  const r = bitOp(cpu, i.arg, k, v, cpu.hi);
  if (i.arg !== BitOp.Test) cpu.setReg(size, i.rm, r, cpu.hi);
}

function bitOnMem(cpu: Cpu, i: Insn, addr: number, k: number): void {
  const size = i.osz;
  const v = cpu.readMem(size, addr);
  const r = bitOp(cpu, i.arg, k, v, cpu.hi);
  if (i.arg !== BitOp.Test) cpu.writeMem(size, addr, r, cpu.hi);
}

/** 0F A3/AB/B3/BB: the bit offset comes from the G register. */
function bitEG(cpu: Cpu, i: Insn): void {
  const size = i.osz;
  const off = cpu.getReg(size, i.reg), offHi = cpu.hi;
  if (!i.isMem) { bitOnReg(cpu, i, off & ((size << 3) - 1)); return; }
  // The unit's displacement in bytes: size × (offset SAR log2(width)), as a 64-bit dLo:dHi.
  let dLo: number, dHi: number;
  if (size === 2) { dLo = ((off << 16) >> 20) << 1; dHi = dLo >> 31; }
  else if (size === 4) { dLo = (off >> 5) << 2; dHi = dLo >> 31; }
  else {
    const qLo = (off >>> 6) | (offHi << 26), qHi = offHi >> 6;
    dLo = qLo << 3; dHi = (qHi << 3) | (qLo >>> 29);
  }
  bitOnMem(cpu, i, bitBase(cpu, i, dLo, dHi), off & ((size << 3) - 1));
}

/** 0F BA /4../7: the immediate offset is taken modulo the operand width, memory or not. */
function bitEI(cpu: Cpu, i: Insn): void {
  const k = i.imm & ((i.osz << 3) - 1);
  if (i.isMem) bitOnMem(cpu, i, cpu.ea(i), k);
  else bitOnReg(cpu, i, k);
}

// ---- scans and counts -------------------------------------------------------------

/** Index of the lowest set bit of a non-zero int32. */
function ctz32(v: number): number { return 31 - Math.clz32(v & -v); }

function popcnt32(v: number): number {
  v = v - ((v >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return Math.imul((v + (v >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24;
}

/**
 * bsf (arg 0) / bsr (arg 1). A zero source sets ZF and leaves the
 * destination alone, except that Intel cores still write a 32-bit
 * destination with its old value, clearing bits 63..32 (AMD leaves them; the
 * Linux bitops.h comment on ffs() records the Intel architects' answer).
 */
function bitScan(cpu: Cpu, i: Insn): void {
  const size = i.osz;
  const v = cpu.readE(i, size);
  const vHi = size === 8 ? cpu.hi : 0;
  if ((v | vHi) === 0) {
    if (size === 4) cpu.set32(i.reg, cpu.get64lo(i.reg));
    cpu.setArith(F.ZF | PARITY[0]);
    return;
  }
  let idx: number;
  if (i.arg === 0) idx = v !== 0 ? ctz32(v) : 32 + ctz32(vHi);
  else idx = vHi !== 0 ? 63 - Math.clz32(vHi) : 31 - Math.clz32(v);
  cpu.writeG(i, size, idx, 0);
  cpu.setArith(PARITY[idx]);
}

/** F3 0F BD. A zero source gives the operand width and sets CF; a result of 0 sets ZF. */
function lzcnt(cpu: Cpu, i: Insn): void {
  const size = i.osz;
  const v = cpu.readE(i, size);
  let n: number;
  if (size === 8) n = cpu.hi !== 0 ? Math.clz32(cpu.hi) : 32 + Math.clz32(v);
  else n = Math.clz32(v) - (32 - (size << 3));
  cpu.writeG(i, size, n, 0);
  cpu.setArith((n === size << 3 ? F.CF : 0) | (n === 0 ? F.ZF : 0));
}

/** F3 0F B8: every flag but ZF (source zero) is cleared. */
function popcnt(cpu: Cpu, i: Insn): void {
  const size = i.osz;
  const v = cpu.readE(i, size);
  const n = size === 8 ? popcnt32(v) + popcnt32(cpu.hi) : popcnt32(v);
  cpu.writeG(i, size, n, 0);
  cpu.setArith(n === 0 ? F.ZF : 0);
}

const BT_NAMES = ['bt', 'bts', 'btr', 'btc'];
// bt only reads; the others may be LOCKed with a memory destination.
const btRows = (op: number): OpDef[] => [
  { mn: BT_NAMES[op], code: 0x0fa3 + (op << 3), ops: 'Ev,Gv', exec: bitEG, arg: op, lock: op !== BitOp.Test, wf: 'OSAPC', uf: 'OSAP' },
  { mn: BT_NAMES[op], code: 0x0fba, digit: 4 + op, ops: 'Ev,Ib', exec: bitEI, arg: op, lock: op !== BitOp.Test, wf: 'OSAPC', uf: 'OSAP' },
];

export const rows: OpDef[] = [
  ...[0, 1, 2, 3].flatMap(btRows),
  { mn: 'bsf', code: 0x0fbc, ops: 'Gv,Ev', exec: bitScan, arg: 0, wf: 'OSZAPC', uf: 'OSAPC' },
  { mn: 'bsr', code: 0x0fbd, ops: 'Gv,Ev', exec: bitScan, arg: 1, wf: 'OSZAPC', uf: 'OSAPC' },
  // F3 0F BC is tzcnt only with BMI1, which CPUID does not advertise (andn,
  // bextr, … are not implemented); a CPU without BMI1 ignores the F3 and
  // executes bsf, and so do we.
  { mn: 'tzcnt', code: 0x0fbc, pfx: 0xf3, ops: 'Gv,Ev', exec: bitScan, arg: 0, wf: 'OSZAPC', uf: 'OSAPC' },
  { mn: 'lzcnt', code: 0x0fbd, pfx: 0xf3, ops: 'Gv,Ev', exec: lzcnt, wf: 'OSZAPC', uf: 'OSAP' },
  { mn: 'popcnt', code: 0x0fb8, pfx: 0xf3, ops: 'Gv,Ev', exec: popcnt, wf: 'OSZAPC' },
];

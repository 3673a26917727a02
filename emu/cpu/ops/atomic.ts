/**
 * The read-modify-write primitives that LOCK makes atomic: xadd, cmpxchg,
 * cmpxchg8b and cmpxchg16b (SDM Vol.2A CMPXCHG, CMPXCHG8B/CMPXCHG16B; Vol.2D
 * XADD). Each instruction runs to completion before any other CPU's, so
 * atomicity needs nothing more here; what matters is which registers each
 * outcome writes.
 *
 * A memory destination is always stored to, with its old value when a
 * compare fails (SDM: "the destination operand receives a write cycle
 * without regard to the result of the comparison"), so a read-only page
 * faults either way. Stores to memory come before register updates, so a
 * fault on the store leaves the registers untouched.
 */
import type { Cpu } from '../cpu.js';
import type { Insn } from '../insn.js';
import type { OpDef } from '../table.js';
import { F } from '../flags.js';
import { CpuFault, Vector } from '../fault.js';
import { R } from '../regs.js';
import { alu, alu64, AluOp } from './alu.js';

/** 0F C0/C1: TEMP = SRC + DEST; SRC = DEST; DEST = TEMP. With one register as both, it ends holding the sum. */
function xadd(cpu: Cpu, i: Insn): void {
  const size = i.osz;
  const d = cpu.rmwRead(i, size), dHi = cpu.hi;
  const s = cpu.readG(i, size), sHi = cpu.hi;
  const sum = size === 8 ? alu64(cpu, AluOp.Add, d, dHi, s, sHi) : alu(cpu, AluOp.Add, size, d, s);
  const sumHi = cpu.hi;
  // The memory store comes first so that a fault leaves the register alone;
  // with a register destination the sum is written last and wins.
  if (i.isMem) {
    cpu.rmwWrite(i, size, sum, sumHi);
    cpu.writeG(i, size, d, dHi);
  } else {
    cpu.writeG(i, size, d, dHi);
    cpu.rmwWrite(i, size, sum, sumHi);
  }
}

/**
 * 0F B0/B1: compare the accumulator with DEST (flags as cmp acc, dest). Equal:
 * DEST = SRC and the accumulator is not written. Different: the accumulator
 * takes DEST. A 32-bit register destination is zero-extended only when it is
 * written, i.e. on success; on failure it is left whole while RAX, which is
 * written, is zero-extended.
 */
function cmpxchg(cpu: Cpu, i: Insn): void {
  const size = i.osz;
  const d = cpu.rmwRead(i, size), dHi = cpu.hi;
  const acc = cpu.getReg(size, R.AX), accHi = cpu.hi;
  if (size === 8) alu64(cpu, AluOp.Cmp, acc, accHi, d, dHi); else alu(cpu, AluOp.Cmp, size, acc, d);
  if (cpu.zf()) {
    const s = cpu.readG(i, size), sHi = cpu.hi;
    cpu.rmwWrite(i, size, s, sHi);
  } else {
    // A failing locked compare still writes memory back (SDM Vol.2A CMPXCHG); a register is left alone.
    if (i.isMem) cpu.rmwWrite(i, size, d, dHi);
    cpu.setReg(size, R.AX, d, dHi);
  }
}

/**
 * 0F C7 /1: cmpxchg8b compares EDX:EAX with m64 (REX.W: cmpxchg16b, RDX:RAX
 * with an m128 that must be 16-byte aligned, else #GP(0)). Equal: ZF = 1 and
 * the memory takes ECX:EBX (RCX:RBX). Different: ZF = 0 and EDX:EAX (RDX:RAX)
 * take the memory, so RAX and RDX are zero-extended only in the 8-byte form's
 * failure. Only ZF is written.
 */
function cmpxchgWide(cpu: Cpu, i: Insn): void {
  const addr = cpu.ea(i);
  let eq: boolean;
  if (i.rex & 8) {
    if ((addr & 15) !== 0) throw new CpuFault(Vector.GP, 0, 0, 'cmpxchg16b operand not 16-byte aligned');
    const m0 = cpu.readMem(8, addr), m0Hi = cpu.hi;
    const m1 = cpu.readMem(8, addr + 8), m1Hi = cpu.hi;
    eq = m0 === cpu.get64lo(R.AX) && m0Hi === cpu.get64hi(R.AX) && m1 === cpu.get64lo(R.DX) && m1Hi === cpu.get64hi(R.DX);
    if (eq) {
      cpu.writeMem(8, addr, cpu.get64lo(R.BX), cpu.get64hi(R.BX));
      cpu.writeMem(8, addr + 8, cpu.get64lo(R.CX), cpu.get64hi(R.CX));
    } else {
      cpu.writeMem(8, addr, m0, m0Hi);
      cpu.writeMem(8, addr + 8, m1, m1Hi);
      cpu.set64(R.AX, m0, m0Hi);
      cpu.set64(R.DX, m1, m1Hi);
    }
  } else {
    const lo = cpu.readMem(8, addr), hi = cpu.hi;
    eq = lo === cpu.get64lo(R.AX) && hi === cpu.get64lo(R.DX);
    if (eq) {
      cpu.writeMem(8, addr, cpu.get64lo(R.BX), cpu.get64lo(R.CX));
    } else {
      cpu.writeMem(8, addr, lo, hi);
      cpu.set32(R.AX, lo);
      cpu.set32(R.DX, hi);
    }
  }
  cpu.setArith((cpu.getFlags() & ~F.ZF) | (eq ? F.ZF : 0));
}

export const rows: OpDef[] = [
  { mn: 'xadd', code: 0x0fc0, ops: 'Eb,Gb', exec: xadd, lock: true, wf: 'OSZAPC' },
  { mn: 'xadd', code: 0x0fc1, ops: 'Ev,Gv', exec: xadd, lock: true, wf: 'OSZAPC' },
  { mn: 'cmpxchg', code: 0x0fb0, ops: 'Eb,Gb', exec: cmpxchg, lock: true, wf: 'OSZAPC' },
  { mn: 'cmpxchg', code: 0x0fb1, ops: 'Ev,Gv', exec: cmpxchg, lock: true, wf: 'OSZAPC' },
  // The memory operand is m64, or m128 with REX.W.
  { mn: 'cmpxchg8b|cmpxchg8b|cmpxchg16b', code: 0x0fc7, digit: 1, mod: 'mem', ops: 'Mq|Mq|Mdq', exec: cmpxchgWide, lock: true, wf: 'Z' },
];

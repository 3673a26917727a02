/** push, pop, pushf/popf, enter/leave: the stack operations of the integer ISA. */
import type { Cpu } from '../cpu.js';
import type { Insn } from '../insn.js';
import type { OpDef } from '../table.js';
import { F } from '../flags.js';
import { R } from '../regs.js';
import { Mode } from '../decode.js';

export function pushZ(cpu: Cpu, i: Insn): void { const v = cpu.getReg(i.osz, i.reg); cpu.push(i.osz, v, cpu.hi); }
export function popZ(cpu: Cpu, i: Insn): void { const v = cpu.pop(i.osz); cpu.setReg(i.osz, i.reg, v, cpu.hi); }
function pushI(cpu: Cpu, i: Insn): void { cpu.push(i.osz, i.imm, i.immHi); }
function pushE(cpu: Cpu, i: Insn): void { const v = cpu.readE(i, i.osz); cpu.push(i.osz, v, cpu.hi); }

/**
 * pop to memory: RSP is incremented before the destination address is
 * computed (SDM Vol.2B POP), so [rsp] addressing sees the popped RSP.
 */
function popE(cpu: Cpu, i: Insn): void {
  const sp = cpu.get64lo(R.SP), spHi = cpu.get64hi(R.SP);
  const v = cpu.pop(i.osz), hi = cpu.hi;
  try {
    cpu.writeE(i, i.osz, v, hi);
  } catch (e) {
    cpu.set64(R.SP, sp, spHi);
    throw e;
  }
}

function pushf(cpu: Cpu, i: Insn): void {
  // VM and RF are never pushed (SDM Vol.2B PUSHF).
  cpu.push(i.osz, cpu.getFlags() & ~(F.VM | F.RF), 0);
}

/**
 * popf changes only what the privilege level allows: IOPL only at CPL 0,
 * IF only when CPL <= IOPL; VM, VIF, VIP are never loaded this way.
 */
function popf(cpu: Cpu, i: Insn): void {
  const v = cpu.pop(i.osz);
  const cpl = cpu.mmu.cpl;
  const iopl = (cpu.getFlags() & F.IOPL) >> 12;
  let mutable = F.ARITH | F.TF | F.DF | F.NT | F.AC | F.ID;
  if (cpl === 0) mutable |= F.IOPL;
  if (cpl <= iopl) mutable |= F.IF;
  if (i.osz === 2) mutable &= 0xffff;
  cpu.setFlags((cpu.getFlags() & ~mutable) | (v & mutable));
}

function leave(cpu: Cpu, i: Insn): void {
  if (cpu.mode === Mode.Long64) cpu.set64(R.SP, cpu.get64lo(R.BP), cpu.get64hi(R.BP));
  else cpu.set32(R.SP, cpu.get64lo(R.BP));
  const v = cpu.pop(i.osz);
  cpu.setReg(i.osz, R.BP, v, cpu.hi);
}

/** enter Iw, Ib: allocate a frame of imm bytes with imm2 (mod 32) nesting levels. */
function enter(cpu: Cpu, i: Insn): void {
  const size = i.osz;
  const level = i.imm2 & 31;
  const bp = cpu.getReg(size, R.BP), bpHi = cpu.hi;
  cpu.push(size, bp, bpHi);
  const frame = cpu.getReg(size, R.SP), frameHi = cpu.hi;
  if (level > 0) {
    let p = cpu.regNum(R.BP);
    for (let k = 1; k < level; k++) {
      p -= size;
      const v = cpu.readMem(size, p);
      cpu.push(size, v, cpu.hi);
    }
    cpu.push(size, frame, frameHi);
  }
  cpu.setReg(size, R.BP, frame, frameHi);
  // The frame is allocated at the stack-address size (all of RSP in long mode), not the operand size.
  const sp = cpu.regNum(R.SP) - (i.imm & 0xffff);
  if (cpu.mode === Mode.Long64) cpu.set64(R.SP, sp | 0, Math.floor(sp / 4294967296) | 0);
  else cpu.set32(R.SP, sp | 0);
}

export const rows: OpDef[] = [
  ...Array.from({ length: 8 }, (_, r): OpDef => ({ mn: 'push', code: 0x50 + r, ops: 'Zv', size: 'd64', exec: pushZ })),
  ...Array.from({ length: 8 }, (_, r): OpDef => ({ mn: 'pop', code: 0x58 + r, ops: 'Zv', size: 'd64', exec: popZ })),
  { mn: 'pushw|push|push', code: 0x68, ops: 'Iz', size: 'd64', exec: pushI },
  { mn: 'pushw|push|push', code: 0x6a, ops: 'sIb', size: 'd64', exec: pushI },
  { mn: 'push', code: 0xff, digit: 6, ops: 'Ev', size: 'd64', exec: pushE },
  { mn: 'pop', code: 0x8f, digit: 0, ops: 'Ev', size: 'd64', exec: popE },
  { mn: 'pushfw|pushf|pushf', code: 0x9c, size: 'd64', exec: pushf },
  // popf ends a block: a TF it sets must be seen before the next instruction (see interp.ts).
  { mn: 'popfw|popf|popf', code: 0x9d, size: 'd64', exec: popf, end: true },
  { mn: 'leave', code: 0xc9, size: 'd64', exec: leave },
  { mn: 'enter', code: 0xc8, ops: 'Iw,Ib', size: 'd64', exec: enter },
];

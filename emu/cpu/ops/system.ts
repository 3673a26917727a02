/**
 * The system-flavoured instructions a user program can execute: syscall,
 * cpuid, rdtsc/rdtscp, int3/int/ud2, hlt (which faults outside ring 0), and
 * the fences. Privileged ones are the machine issue's; here they raise #GP
 * at CPL 3 and #UD otherwise, loudly.
 */
import type { Cpu } from '../cpu.js';
import type { Insn } from '../insn.js';
import type { OpDef } from '../table.js';
import { CpuFault, Vector } from '../fault.js';
import { cpuid } from '../cpuid.js';
import { R } from '../regs.js';

function syscall(cpu: Cpu): void { cpu.host.syscall(cpu); }

function doCpuid(cpu: Cpu): void {
  const [a, b, c, d] = cpuid(cpu.get64lo(R.AX), cpu.get64lo(R.CX), 0);
  cpu.set32(R.AX, a); cpu.set32(R.BX, b); cpu.set32(R.CX, c); cpu.set32(R.DX, d);
}

function rdtsc(cpu: Cpu): void {
  const [lo, hi] = cpu.host.rdtsc(cpu);
  cpu.set32(R.AX, lo); cpu.set32(R.DX, hi);
}

function rdtscp(cpu: Cpu): void {
  rdtsc(cpu);
  cpu.set32(R.CX, 0); // IA32_TSC_AUX: the CPU number
}

/** int3 is a trap: the saved RIP is the next instruction's. */
function int3(): void { throw new CpuFault(Vector.BP, -1, 0, 'int3', true); }
function intN(cpu: Cpu, i: Insn): void {
  // Without an IDT in user mode, a software interrupt to a non-user gate is #GP(vector*8+2).
  throw new CpuFault(Vector.GP, ((i.imm & 0xff) << 3) | 2, 0, `int 0x${(i.imm & 0xff).toString(16)}`);
}
function ud(): void { throw new CpuFault(Vector.UD, -1, 0, 'ud2'); }
function privileged(cpu: Cpu, i: Insn): void {
  if (cpu.mmu.cpl !== 0) throw new CpuFault(Vector.GP, 0, 0, `${i.row.mn} at CPL ${cpu.mmu.cpl}`);
  throw new CpuFault(Vector.UD, -1, 0, `${i.row.mn} is not implemented in ring 0 yet`);
}
function fence(): void {}

export const rows: OpDef[] = [
  { mn: 'syscall', code: 0x0f05, exec: syscall, end: true, mode: 'o64' },
  { mn: 'cpuid', code: 0x0fa2, exec: doCpuid },
  { mn: 'rdtsc', code: 0x0f31, exec: rdtsc },
  { mn: 'rdtscp', code: 0x0f01, rm: 1, digit: 7, exec: rdtscp },
  { mn: 'int3', code: 0xcc, exec: int3, end: true },
  { mn: 'int', code: 0xcd, ops: 'Ib', exec: intN, end: true },
  { mn: 'ud2', code: 0x0f0b, exec: ud, end: true },
  { mn: 'hlt', code: 0xf4, exec: privileged, end: true },
  { mn: 'lfence', code: 0x0fae, digit: 5, mod: 'reg', exec: fence },
  // INCSSP is #UD while CR4.CET is clear (SDM Vol.2A INCSSP), here always.
  { mn: 'incsspd|incsspd|incsspq', code: 0x0fae, pfx: 0xf3, digit: 5, mod: 'reg', ops: 'Ry', exec: ud },
  { mn: 'mfence', code: 0x0fae, digit: 6, mod: 'reg', exec: fence },
  { mn: 'sfence', code: 0x0fae, digit: 7, mod: 'reg', exec: fence },
  { mn: 'clflush', code: 0x0fae, digit: 7, mod: 'mem', ops: 'Mb', exec: fence },
];

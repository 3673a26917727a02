/**
 * The system-flavoured instructions any ring may execute: syscall, cpuid,
 * rdtsc/rdtscp, ud2 and the fences. Ring-0 instructions are privileged.ts,
 * software interrupts interrupt.ts.
 */
import type { Cpu } from '../cpu.js';
import type { Insn } from '../insn.js';
import type { OpDef } from '../table.js';
import { CpuFault, Vector } from '../fault.js';
import { cpuid, Leaf1Edx } from '../cpuid.js';
import { R } from '../regs.js';
import { Cr4 } from '../system.js';

function syscall(cpu: Cpu): void { cpu.host.syscall(cpu); }

function doCpuid(cpu: Cpu): void {
  const p = cpu.platform;
  const leaf = cpu.get64lo(R.AX);
  const [a, b, c, d] = cpuid(leaf, cpu.get64lo(R.CX), p ? p.apicId : 0, p ? p.cpuCount : 1);
  cpu.set32(R.AX, a); cpu.set32(R.BX, b); cpu.set32(R.CX, c);
  // A globally disabled local APIC disappears from CPUID.
  cpu.set32(R.DX, leaf === 1 && p && !p.apic.hwEnabled ? d & ~Leaf1Edx.APIC : d);
}

/** CR4.TSD makes the TSC privileged (SDM Vol.2B RDTSC). */
function rdtsc(cpu: Cpu): void {
  if ((cpu.cr4 & Cr4.TSD) && cpu.mmu.cpl !== 0) throw new CpuFault(Vector.GP, 0, 0, 'rdtsc with CR4.TSD at CPL > 0');
  const [lo, hi] = cpu.host.rdtsc(cpu);
  cpu.set32(R.AX, lo); cpu.set32(R.DX, hi);
}

/** rdtscp also returns IA32_TSC_AUX, which kernels set to the CPU number. */
function rdtscp(cpu: Cpu): void {
  rdtsc(cpu);
  cpu.set32(R.CX, cpu.tscAux);
}

function ud(): void { throw new CpuFault(Vector.UD, -1, 0, 'ud2'); }
function fence(): void {}

export const rows: OpDef[] = [
  { mn: 'syscall', code: 0x0f05, exec: syscall, end: true, mode: 'o64' },
  { mn: 'cpuid', code: 0x0fa2, exec: doCpuid },
  { mn: 'rdtsc', code: 0x0f31, exec: rdtsc },
  { mn: 'rdtscp', code: 0x0f01, rm: 1, digit: 7, exec: rdtscp },
  { mn: 'ud2', code: 0x0f0b, exec: ud, end: true },
  { mn: 'lfence', code: 0x0fae, digit: 5, mod: 'reg', exec: fence },
  // INCSSP is #UD while CR4.CET is clear (SDM Vol.2A INCSSP), here always.
  { mn: 'incsspd|incsspd|incsspq', code: 0x0fae, pfx: 0xf3, digit: 5, mod: 'reg', ops: 'Ry', exec: ud },
  { mn: 'mfence', code: 0x0fae, digit: 6, mod: 'reg', exec: fence },
  { mn: 'sfence', code: 0x0fae, digit: 7, mod: 'reg', exec: fence },
  { mn: 'clflush', code: 0x0fae, digit: 7, mod: 'mem', ops: 'Mb', exec: fence },
];

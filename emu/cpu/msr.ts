/**
 * Model-specific registers: RDMSR/WRMSR (SDM Vol.4 for the numbers, Vol.3A
 * for the semantics). Only MSRs of features CPUID advertises exist; any other
 * index is #GP(0), as on hardware, and logged under `-d unimp` so that a
 * kernel probing for something missing is visible.
 */
import type { Cpu } from './cpu.js';
import { CpuFault, Vector } from './fault.js';
import { Seg } from './regs.js';
import { CANONICAL_LIMIT } from './mmu.js';
import { writeEfer } from './system.js';

export const enum Msr {
  TSC = 0x10,
  APIC_BASE = 0x1b,
  MTRRCAP = 0xfe,
  MISC_ENABLE = 0x1a0,
  PAT = 0x277,
  TSC_DEADLINE = 0x6e0,
  EFER = 0xc0000080,
  STAR = 0xc0000081,
  LSTAR = 0xc0000082,
  CSTAR = 0xc0000083,
  FMASK = 0xc0000084,
  FS_BASE = 0xc0000100,
  GS_BASE = 0xc0000101,
  KERNEL_GS_BASE = 0xc0000102,
  TSC_AUX = 0xc0000103,
}

const TWO32 = 4294967296;

function gp(why: string): never { throw new CpuFault(Vector.GP, 0, 0, why); }

function toNumber(lo: number, hi: number): number { return hi * TWO32 + (lo >>> 0); }
function split(v: number): [number, number] { return [v | 0, Math.floor(v / TWO32) | 0]; }

/** A 64-bit MSR value that holds a linear address must be canonical. */
function canonical(lo: number, hi: number, name: string): number {
  const v = (hi | 0) * TWO32 + (lo >>> 0);
  if (v < -CANONICAL_LIMIT || v >= CANONICAL_LIMIT) gp(`non-canonical ${name}`);
  return v;
}

function apic(cpu: Cpu, index: number) {
  const p = cpu.platform;
  if (!p) return unknown(cpu, index, 'rdmsr');
  return p.apic;
}

function unknown(cpu: Cpu, index: number, what: string): never {
  cpu.platform?.log('unimp', `${what} of unknown MSR 0x${(index >>> 0).toString(16)}: #GP`);
  return gp(`${what} of unknown MSR 0x${(index >>> 0).toString(16)}`);
}

export function rdmsr(cpu: Cpu, index: number): [number, number] {
  switch (index >>> 0) {
    case Msr.TSC: return split(cpu.platform ? cpu.platform.tsc() : cpu.icount);
    case Msr.APIC_BASE: return apic(cpu, index).readApicBaseMsr();
    // No variable-range MTRRs, no fixed ranges, no write-combining: MTRRs are not advertised.
    case Msr.MTRRCAP: return [0, 0];
    // Fast-string operations enabled, as firmware leaves it.
    case Msr.MISC_ENABLE: return [1, 0];
    case Msr.PAT: return [cpu.patLo, cpu.patHi];
    case Msr.TSC_DEADLINE: return split(apic(cpu, index).readTscDeadline());
    case Msr.EFER: return [cpu.efer, 0];
    case Msr.STAR: return [cpu.starLo, cpu.starHi];
    case Msr.LSTAR: return split(cpu.lstar);
    case Msr.CSTAR: return split(cpu.cstar);
    case Msr.FMASK: return [cpu.fmask, 0];
    case Msr.FS_BASE: return split(cpu.segBase[Seg.FS]);
    case Msr.GS_BASE: return split(cpu.segBase[Seg.GS]);
    case Msr.KERNEL_GS_BASE: return split(cpu.kernelGsBase);
    case Msr.TSC_AUX: return [cpu.tscAux, 0];
  }
  return unknown(cpu, index, 'rdmsr');
}

/** PAT entries may hold only the memory types 0, 1, 4, 5, 6 and 7 (SDM Vol.3A §11.12.2). */
function validPat(lo: number, hi: number): boolean {
  for (const d of [lo, hi]) for (let k = 0; k < 32; k += 8) if ([2, 3].includes((d >>> k) & 0xff) || ((d >>> k) & 0xff) > 7) return false;
  return true;
}

export function wrmsr(cpu: Cpu, index: number, lo: number, hi: number): void {
  switch (index >>> 0) {
    case Msr.TSC: if (!cpu.platform) break; cpu.platform.setTsc(toNumber(lo, hi >>> 0)); return;
    case Msr.APIC_BASE: if (!apic(cpu, index).writeApicBaseMsr(lo, hi)) gp('APIC_BASE reserved bits'); cpu.attention = true; return;
    case Msr.MISC_ENABLE: return;
    case Msr.PAT: if (!validPat(lo, hi)) gp('invalid PAT memory type'); cpu.patLo = lo; cpu.patHi = hi; return;
    case Msr.TSC_DEADLINE: apic(cpu, index).writeTscDeadline(toNumber(lo, hi >>> 0)); return;
    case Msr.EFER: writeEfer(cpu, lo, hi); return;
    case Msr.STAR: cpu.starLo = lo; cpu.starHi = hi; return;
    case Msr.LSTAR: cpu.lstar = canonical(lo, hi, 'LSTAR'); return;
    case Msr.CSTAR: cpu.cstar = canonical(lo, hi, 'CSTAR'); return;
    case Msr.FMASK: if (hi) gp('FMASK reserved bits'); cpu.fmask = lo >>> 0; return;
    case Msr.FS_BASE: cpu.segBase[Seg.FS] = canonical(lo, hi, 'FS base'); return;
    case Msr.GS_BASE: cpu.segBase[Seg.GS] = canonical(lo, hi, 'GS base'); return;
    case Msr.KERNEL_GS_BASE: cpu.kernelGsBase = canonical(lo, hi, 'KERNEL_GS_BASE'); return;
    case Msr.TSC_AUX: if (hi) gp('TSC_AUX reserved bits'); cpu.tscAux = lo >>> 0; return;
  }
  unknown(cpu, index, 'wrmsr');
}

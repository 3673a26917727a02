/**
 * SIMD and x87 state as a whole: ldmxcsr/stmxcsr (0F AE /2 /3) and
 * fxsave/fxrstor (0F AE /0 /1, with REX.W the 64-bit-pointer forms).
 *
 * FXSAVE area, 512 bytes, 16-byte aligned (SDM Vol.1 §10.5.1, Table 10-2;
 * REX.W form in Table 10-3):
 *
 *   byte  0    2    4   5    6    8            16           24      28
 *        ┌────┬────┬───┬───┬────┬────────────┬────────────┬───────┬──────────┐
 *     0  │FCW │FSW │FTW│ - │FOP │FIP (+FCS)  │FDP (+FDS)  │MXCSR  │MXCSR_MASK│
 *        ├────┴────┴───┴───┴────┴────────────┴────────────┴───────┴──────────┤
 *    32  │ ST0/MM0 (10 bytes, 6 reserved) … ST7/MM7 at 144                    │
 *   160  │ XMM0 … XMM15 at 400 (XMM8..15 only in 64-bit mode)               │
 *   416  │ reserved; 464..511 free for software: never written                │
 *        └────────────────────────────────────────────────────────────────────┘
 *
 * FTW here is the abridged tag: bit i is 1 when physical register i is not
 * empty; fxrstor rebuilds the full tags from the register contents. The
 * ST slots are in stack order: slot i holds ST(i), physical (TOP + i) mod 8.
 * FCS and FDS are saved as zero (deprecated, CPUID.7.0:EBX[13]).
 */
import type { Cpu } from '../cpu.js';
import type { Insn } from '../insn.js';
import type { OpDef } from '../table.js';
import { CpuFault, Vector } from '../fault.js';
import { Mode } from '../decode.js';
import { probeWrite } from './sse-lanes.js';
import { Mx } from './sse-fp.js';

const TWO32 = 4294967296;

/** XMM8..15 exist, and are saved, only in 64-bit mode. */
function xmmCount(cpu: Cpu): number { return cpu.mode === Mode.Long64 ? 16 : 8; }

function reservedMxcsr(v: number): never {
  throw new CpuFault(Vector.GP, 0, 0, `reserved MXCSR bits in 0x${(v >>> 0).toString(16)}`);
}

function ldmxcsr(cpu: Cpu, i: Insn): void {
  const v = cpu.mmu.read32(cpu.ea(i));
  if (v & ~Mx.WRITABLE) reservedMxcsr(v);
  cpu.mxcsr = v;
}

function stmxcsr(cpu: Cpu, i: Insn): void { cpu.mmu.write32(cpu.ea(i), cpu.mxcsr); }

function area(cpu: Cpu, i: Insn): number {
  const lin = cpu.ea(i);
  if (lin & 15) throw new CpuFault(Vector.GP, 0, 0, `${i.row.mn}: save area not 16-byte aligned`);
  return lin;
}

/** A linear address as lo/hi dwords (it may be negative, i.e. in the upper canonical half). */
function split(lin: number): [number, number] {
  const hi = Math.floor(lin / TWO32);
  return [(lin - hi * TWO32) | 0, hi | 0];
}

function fxsave(cpu: Cpu, i: Insn): void {
  const base = area(cpu, i);
  probeWrite(cpu, base, 416);
  const mmu = cpu.mmu;
  const wide = (i.rex & 8) !== 0;
  let abridged = 0;
  for (let p = 0; p < 8; p++) if (((cpu.ftw >> (2 * p)) & 3) !== 3) abridged |= 1 << p;
  const [fipLo, fipHi] = split(cpu.fip), [fdpLo, fdpHi] = split(cpu.fdp);
  mmu.write32(base, (cpu.fcw & 0xffff) | ((cpu.fsw & 0xffff) << 16));
  mmu.write32(base + 4, abridged | ((cpu.fop & 0x7ff) << 16));
  mmu.write64(base + 8, fipLo, wide ? fipHi : 0);
  mmu.write64(base + 16, fdpLo, wide ? fdpHi : 0);
  mmu.write32(base + 24, cpu.mxcsr);
  mmu.write32(base + 28, Mx.WRITABLE);
  const top = (cpu.fsw >> 11) & 7;
  for (let s = 0; s < 8; s++) {
    const k = ((top + s) & 7) * 3, at = base + 32 + 16 * s;
    mmu.write64(at, cpu.fpr[k], cpu.fpr[k + 1]);
    mmu.write64(at + 8, cpu.fpr[k + 2] & 0xffff, 0);
  }
  for (let r = 0; r < xmmCount(cpu); r++) {
    const at = base + 160 + 16 * r, x = cpu.xmm;
    mmu.write64(at, x[4 * r], x[4 * r + 1]);
    mmu.write64(at + 8, x[4 * r + 2], x[4 * r + 3]);
  }
}

/** The full 2-bit tag of a non-empty register from its contents (SDM Vol.1 §8.1.7): valid, zero or special. */
function tagFor(sigLo: number, sigHi: number, signExp: number): number {
  const exp = signExp & 0x7fff;
  if (exp === 0x7fff) return 2;
  if (exp === 0) return (sigLo | sigHi) === 0 ? 1 : 2;
  return sigHi < 0 ? 0 : 2;
}

/** Reads the whole area before changing anything, so a fault or a bad MXCSR leaves the state intact. */
function fxrstor(cpu: Cpu, i: Insn): void {
  const base = area(cpu, i);
  const mmu = cpu.mmu;
  const wide = (i.rex & 8) !== 0;
  const words = new Int32Array(104);
  for (let k = 0; k < 104; k++) words[k] = mmu.read32(base + 4 * k);
  const mxcsr = words[6];
  if (mxcsr & ~Mx.WRITABLE) reservedMxcsr(mxcsr);
  cpu.fcw = words[0] & 0xffff;
  cpu.fsw = (words[0] >>> 16) & 0xffff;
  const abridged = words[1] & 0xff;
  cpu.fop = (words[1] >>> 16) & 0x7ff;
  cpu.fip = wide ? words[3] * TWO32 + (words[2] >>> 0) : words[2] >>> 0;
  cpu.fdp = wide ? words[5] * TWO32 + (words[4] >>> 0) : words[4] >>> 0;
  cpu.mxcsr = mxcsr;
  const top = (cpu.fsw >> 11) & 7;
  let ftw = 0;
  for (let s = 0; s < 8; s++) {
    const p = (top + s) & 7, k = p * 3, w = 8 + 4 * s;
    cpu.fpr[k] = words[w]; cpu.fpr[k + 1] = words[w + 1]; cpu.fpr[k + 2] = words[w + 2] & 0xffff;
    const tag = abridged & (1 << p) ? tagFor(words[w], words[w + 1], words[w + 2]) : 3;
    ftw |= tag << (2 * p);
  }
  cpu.ftw = ftw;
  cpu.xmm.set(words.subarray(40, 40 + 4 * xmmCount(cpu)));
}

export const rows: OpDef[] = [
  { mn: 'fxsave|fxsave|fxsave64', code: 0x0fae, digit: 0, pfx: 0, mod: 'mem', ops: 'M', exec: fxsave, unit: 'fxstate' },
  { mn: 'fxrstor|fxrstor|fxrstor64', code: 0x0fae, digit: 1, pfx: 0, mod: 'mem', ops: 'M', exec: fxrstor, unit: 'fxstate' },
  { mn: 'ldmxcsr', code: 0x0fae, digit: 2, pfx: 0, mod: 'mem', ops: 'Md', exec: ldmxcsr, unit: 'sse' },
  { mn: 'stmxcsr', code: 0x0fae, digit: 3, pfx: 0, mod: 'mem', ops: 'Md', exec: stmxcsr, unit: 'sse' },
];

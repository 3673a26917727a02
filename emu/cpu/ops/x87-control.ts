/**
 * x87 control instructions (SDM Vol.2A; Vol.1 §8.1.10): fninit fnclex fwait
 * fnop, fnstsw AX/m16, fnstcw/fldcw, fnstenv/fldenv and fnsave/frstor.
 * The fn* forms do not wait, so they neither raise a pending #MF nor
 * update FIP/FDP/FOP; fldcw, fldenv, frstor and fwait do check first.
 *
 * Protected-mode environment image, the one 32- and 64-bit code use
 * (Vol.1 Figure 8-9; with a 66 prefix the 14-byte Figure 8-11 form):
 *
 *   offset  32-bit (28 bytes)                       16-bit (14 bytes)
 *     0     FCW            | FFFF                   FCW
 *     4/2   FSW            | FFFF                   FSW
 *     8/4   FTW            | FFFF                   FTW
 *    12/6   FIP 31..0                               FIP 15..0
 *    16/8   FCS  | FOP 10..0 in bits 26..16         FCS
 *    20/10  FDP 31..0                               FDP 15..0
 *    24/12  FDS            | FFFF                   FDS
 *
 * The reserved halves read back as FFFF on the host. fnsave appends ST0..ST7
 * as 10-byte images (108 or 94 bytes in all) and then does fninit.
 */
import type { Cpu } from '../cpu.js';
import type { Insn } from '../insn.js';
import type { OpDef } from '../table.js';
import { Exc } from '../softfloat80.js';
import { Seg } from '../regs.js';
import { begin, finish, checkPending, updateSummary, readPhys, writePhys, phys, physTag, Tag, Sw } from './x87-stack.js';
import { read80, write80 } from './x87-load-store.js';

/** fldcw keeps bits 12..8 and 5..0; bit 6 reads as 1 (host-checked). */
const FCW_WRITABLE = 0x1f3f;
const FCW_ONES = 0x40;

export function fpuReset(cpu: Cpu): void {
  cpu.fcw = 0x37f; cpu.fsw = 0; cpu.ftw = 0xffff;
  cpu.fip = 0; cpu.fdp = 0; cpu.fop = 0;
}

function fninit(cpu: Cpu): void { fpuReset(cpu); }

function fnclex(cpu: Cpu): void { cpu.fsw &= ~(Exc.ALL | Exc.SF | Sw.ES | Sw.B); }

function fwait(cpu: Cpu): void { checkPending(cpu); }

function fnop(cpu: Cpu, i: Insn): void { finish(cpu, begin(cpu, i)); }

function fnstswAX(cpu: Cpu): void { cpu.set16(0, cpu.fsw); }
function fnstswM(cpu: Cpu, i: Insn): void { cpu.mmu.write16(cpu.ea(i), cpu.fsw); }
function fnstcw(cpu: Cpu, i: Insn): void { cpu.mmu.write16(cpu.ea(i), cpu.fcw); }

function fldcw(cpu: Cpu, i: Insn): void {
  checkPending(cpu);
  cpu.fcw = (cpu.mmu.read16(cpu.ea(i)) & FCW_WRITABLE) | FCW_ONES;
  cpu.fsw = updateSummary(cpu.fsw, cpu.fcw);
}

/** Writes the environment image at addr; returns its size. */
function storeEnv(cpu: Cpu, addr: number, osz: number): number {
  const w16 = (off: number, v: number): void => cpu.mmu.write16(addr + off, v);
  const w32 = (off: number, v: number): void => cpu.mmu.write32(addr + off, v);
  const fcs = cpu.segSel[Seg.CS], fds = cpu.segSel[Seg.DS];
  if (osz === 2) {
    w16(0, cpu.fcw); w16(2, cpu.fsw); w16(4, cpu.ftw);
    w16(6, cpu.fip); w16(8, fcs); w16(10, cpu.fdp); w16(12, fds);
    return 14;
  }
  w32(0, cpu.fcw | 0xffff0000); w32(4, cpu.fsw | 0xffff0000); w32(8, cpu.ftw | 0xffff0000);
  w32(12, low32(cpu.fip)); w32(16, fcs | ((cpu.fop & 0x7ff) << 16));
  w32(20, low32(cpu.fdp)); w32(24, fds | 0xffff0000);
  return 28;
}

function low32(v: number): number { return Number(BigInt.asUintN(32, BigInt(v))) | 0; }

/** Reads an environment image; tags other than empty are recomputed from the registers. */
function loadEnv(cpu: Cpu, addr: number, osz: number): number {
  const r16 = (off: number): number => cpu.mmu.read16(addr + off);
  const wide = osz !== 2;
  const step = wide ? 4 : 2;
  cpu.fcw = (r16(0) & FCW_WRITABLE) | FCW_ONES;
  const fsw = r16(step);
  const ftw = r16(2 * step);
  cpu.fip = wide ? cpu.mmu.read32(addr + 12) >>> 0 : r16(6);
  if (wide) cpu.fop = r16(18) & 0x7ff;
  cpu.fdp = wide ? cpu.mmu.read32(addr + 20) >>> 0 : r16(10);
  cpu.fsw = updateSummary(fsw, cpu.fcw);
  cpu.ftw = ftw;
  for (let p = 0; p < 8; p++) {
    if (physTag(cpu, p) !== Tag.Empty) writePhys(cpu, p, readPhys(cpu, p));
  }
  return wide ? 28 : 14;
}

function fnstenv(cpu: Cpu, i: Insn): void {
  storeEnv(cpu, cpu.ea(i), i.osz);
  cpu.fcw |= Exc.ALL;
}

function fldenv(cpu: Cpu, i: Insn): void {
  checkPending(cpu);
  loadEnv(cpu, cpu.ea(i), i.osz);
}

function fnsave(cpu: Cpu, i: Insn): void {
  const addr = cpu.ea(i);
  const n = storeEnv(cpu, addr, i.osz);
  for (let k = 0; k < 8; k++) write80(cpu, addr + n + 10 * k, readPhys(cpu, phys(cpu, k)));
  fpuReset(cpu);
}

function frstor(cpu: Cpu, i: Insn): void {
  checkPending(cpu);
  const addr = cpu.ea(i);
  // Registers first: loadEnv recomputes tags from them.
  const n = i.osz === 2 ? 14 : 28;
  const top = (cpu.mmu.read16(addr + (n === 14 ? 2 : 4)) >> 11) & 7;
  for (let k = 0; k < 8; k++) writePhys(cpu, (top + k) & 7, read80(cpu, addr + n + 10 * k));
  loadEnv(cpu, addr, i.osz);
}

export const rows: OpDef[] = [
  { mn: 'fninit', code: 0xdb, digit: 4, rm: 3, exec: fninit },
  { mn: 'fnclex', code: 0xdb, digit: 4, rm: 2, exec: fnclex },
  { mn: 'fwait', code: 0x9b, exec: fwait, unit: 'fwait' },
  { mn: 'fnop', code: 0xd9, digit: 2, rm: 0, exec: fnop },
  { mn: 'fnstsw', code: 0xdf, digit: 4, rm: 0, ops: 'AX', exec: fnstswAX },
  { mn: 'fnstsw', code: 0xdd, digit: 7, mod: 'mem', ops: 'Mw', exec: fnstswM },
  { mn: 'fnstcw', code: 0xd9, digit: 7, mod: 'mem', ops: 'Mw', exec: fnstcw },
  { mn: 'fldcw', code: 0xd9, digit: 5, mod: 'mem', ops: 'Mw', exec: fldcw },
  { mn: 'fnstenv', code: 0xd9, digit: 6, mod: 'mem', ops: 'Me', exec: fnstenv },
  { mn: 'fldenv', code: 0xd9, digit: 4, mod: 'mem', ops: 'Me', exec: fldenv },
  { mn: 'fnsave', code: 0xdd, digit: 6, mod: 'mem', ops: 'Mf', exec: fnsave },
  { mn: 'frstor', code: 0xdd, digit: 4, mod: 'mem', ops: 'Mf', exec: frstor },
];

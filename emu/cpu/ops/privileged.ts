/**
 * Ring-0 instructions: control and debug registers, MSRs, TLB and cache
 * control, hlt, cli/sti and swapgs (SDM Vol.2). Each checks CPL 0 first
 * (#GP(0) otherwise), so in the user-mode runner they fault as on Linux.
 */
import type { Cpu } from '../cpu.js';
import type { Insn } from '../insn.js';
import type { OpDef } from '../table.js';
import { CpuFault, Vector } from '../fault.js';
import { F } from '../flags.js';
import { Mode } from '../decode.js';
import { R, Seg } from '../regs.js';
import { Cr0, Cr4, requireCpl0, updateMode, writeCr0, writeCr3, writeCr4 } from '../system.js';
import { rdmsr, wrmsr } from '../msr.js';

const TWO32 = 4294967296;

function ud(why: string): never { throw new CpuFault(Vector.UD, -1, 0, why); }

/** mov r, crN: 64 bits in 64-bit mode, else 32; CR8 is the APIC's TPR bits 7:4. */
function movFromCr(cpu: Cpu, i: Insn): void {
  requireCpl0(cpu, 'mov from CR');
  let lo: number, hi = 0;
  switch (i.reg) {
    case 0: lo = cpu.cr0; break;
    case 2: lo = cpu.cr2 | 0; hi = Math.floor(cpu.cr2 / TWO32) | 0; break;
    case 3: lo = cpu.mmu.cr3 | 0; hi = Math.floor(cpu.mmu.cr3 / TWO32) | 0; break;
    case 4: lo = cpu.cr4; break;
    case 8: if (cpu.mode !== Mode.Long64) ud('CR8 outside 64-bit mode'); lo = cpu.platform ? cpu.platform.apic.tpr : 0; break;
    default: ud(`CR${i.reg} does not exist`);
  }
  if (cpu.mode === Mode.Long64) cpu.set64(i.rm, lo, hi);
  else cpu.set32(i.rm, lo);
}

function movToCr(cpu: Cpu, i: Insn): void {
  requireCpl0(cpu, 'mov to CR');
  const lo = cpu.get64lo(i.rm), hi = cpu.mode === Mode.Long64 ? cpu.get64hi(i.rm) : 0;
  switch (i.reg) {
    case 0: if (hi) throw new CpuFault(Vector.GP, 0, 0, 'CR0 bits 63:32'); writeCr0(cpu, lo); return;
    case 2: cpu.cr2 = hi * TWO32 + (lo >>> 0); return;
    case 3: writeCr3(cpu, lo, hi); return;
    case 4: if (hi) throw new CpuFault(Vector.GP, 0, 0, 'CR4 bits 63:32'); writeCr4(cpu, lo); return;
    case 8: {
      if (cpu.mode !== Mode.Long64) ud('CR8 outside 64-bit mode');
      if (hi || (lo & ~0xf)) throw new CpuFault(Vector.GP, 0, 0, 'CR8 reserved bits');
      if (cpu.platform) cpu.platform.apic.tpr = lo;
      cpu.attention = true;
      return;
    }
  }
  ud(`CR${i.reg} does not exist`);
}

/**
 * Debug registers are stored and read back; breakpoints are not modelled,
 * so enabling one in DR7 is logged rather than silently ignored.
 */
function debugIndex(cpu: Cpu, i: Insn): number {
  requireCpl0(cpu, 'mov DR');
  const n = i.reg;
  if (n > 7) ud(`DR${n} does not exist`);
  if (n === 4 || n === 5) {
    if (cpu.cr4 & Cr4.DE) ud(`DR${n} with CR4.DE set`);
    return n + 2;
  }
  return n;
}

function movFromDr(cpu: Cpu, i: Insn): void {
  const v = cpu.dr[debugIndex(cpu, i)];
  if (cpu.mode === Mode.Long64) cpu.set64(i.rm, v | 0, Math.floor(v / TWO32) | 0);
  else cpu.set32(i.rm, v | 0);
}

function movToDr(cpu: Cpu, i: Insn): void {
  const n = debugIndex(cpu, i);
  const v = cpu.mode === Mode.Long64 ? cpu.regNum(i.rm) : cpu.get64lo(i.rm) >>> 0;
  if (n === 7 && (v & 0xff) && cpu.platform) cpu.platform.log('unimp', `DR7=0x${v.toString(16)} enables breakpoints, which are not modelled`);
  cpu.dr[n] = n === 6 ? (v | 0xffff0ff0) >>> 0 : n === 7 ? ((v | 0x400) >>> 0) : v;
}

function clts(cpu: Cpu): void { requireCpl0(cpu, 'clts'); cpu.cr0 &= ~Cr0.TS; updateMode(cpu); }

/** lmsw loads PE, MP, EM and TS from the low 4 bits; it can set PE but never clear it. */
function lmsw(cpu: Cpu, i: Insn): void {
  requireCpl0(cpu, 'lmsw');
  const v = cpu.readE(i, 2);
  writeCr0(cpu, (cpu.cr0 & ~0xe) | (v & 0xf) | (cpu.cr0 & Cr0.PE));
}

function smsw(cpu: Cpu, i: Insn): void {
  if (i.isMem) cpu.writeMem(2, cpu.ea(i), cpu.cr0 & 0xffff, 0);
  else cpu.setReg(i.osz, i.rm, cpu.cr0, 0);
}

function invlpg(cpu: Cpu, i: Insn): void {
  requireCpl0(cpu, 'invlpg');
  cpu.mmu.invlpg(cpu.ea(i));
}

/** There are no caches to write back; the privilege check is what remains. */
function cacheControl(cpu: Cpu, i: Insn): void { requireCpl0(cpu, i.row.mn); }

function hlt(cpu: Cpu): void {
  requireCpl0(cpu, 'hlt');
  cpu.halted = true;
}

/** cli/sti obey IOPL in protected mode (SDM Vol.2A CLI; VME/PVI are not offered). */
function checkIopl(cpu: Cpu, what: string): void {
  if (!(cpu.cr0 & Cr0.PE)) return;
  const iopl = (cpu.flags & F.IOPL) >> 12;
  if (cpu.mmu.cpl > iopl) throw new CpuFault(Vector.GP, 0, 0, `${what} at CPL ${cpu.mmu.cpl} with IOPL ${iopl}`);
}

function cli(cpu: Cpu): void { checkIopl(cpu, 'cli'); cpu.flags &= ~F.IF; }

/** sti enables interrupts after the next instruction (the STI shadow), so `sti; hlt` cannot miss a wakeup. */
function sti(cpu: Cpu): void {
  checkIopl(cpu, 'sti');
  if (!(cpu.flags & F.IF)) cpu.inhibitUntil = cpu.icount + 2;
  cpu.flags |= F.IF;
  cpu.attention = true;
}

function doRdmsr(cpu: Cpu): void {
  requireCpl0(cpu, 'rdmsr');
  const [lo, hi] = rdmsr(cpu, cpu.get64lo(R.CX));
  cpu.set32(R.AX, lo); cpu.set32(R.DX, hi);
}

function doWrmsr(cpu: Cpu): void {
  requireCpl0(cpu, 'wrmsr');
  wrmsr(cpu, cpu.get64lo(R.CX), cpu.get64lo(R.AX), cpu.get64lo(R.DX));
}

function swapgs(cpu: Cpu): void {
  requireCpl0(cpu, 'swapgs');
  const gs = cpu.segBase[Seg.GS];
  cpu.segBase[Seg.GS] = cpu.kernelGsBase;
  cpu.kernelGsBase = gs;
}

export const rows: OpDef[] = [
  // The mod field of mov to/from CR and DR is ignored by hardware; only register forms are decoded here.
  { mn: 'mov', code: 0x0f20, mod: 'reg', ops: 'Ry,Cy', size: 'f64', exec: movFromCr },
  { mn: 'mov', code: 0x0f22, mod: 'reg', ops: 'Cy,Ry', size: 'f64', exec: movToCr, end: true },
  { mn: 'mov', code: 0x0f21, mod: 'reg', ops: 'Ry,Dy', size: 'f64', exec: movFromDr },
  { mn: 'mov', code: 0x0f23, mod: 'reg', ops: 'Dy,Ry', size: 'f64', exec: movToDr },
  { mn: 'clts', code: 0x0f06, exec: clts, end: true },
  { mn: 'smsw', code: 0x0f01, digit: 4, ops: 'Rv/Mw', exec: smsw },
  { mn: 'lmsw', code: 0x0f01, digit: 6, ops: 'Ew', exec: lmsw, end: true },
  { mn: 'invlpg', code: 0x0f01, digit: 7, mod: 'mem', ops: 'Mb', exec: invlpg, end: true },
  { mn: 'swapgs', code: 0x0f01, digit: 7, rm: 0, mode: 'o64', exec: swapgs },
  { mn: 'invd', code: 0x0f08, exec: cacheControl },
  { mn: 'wbinvd', code: 0x0f09, exec: cacheControl },
  { mn: 'hlt', code: 0xf4, exec: hlt, end: true },
  { mn: 'cli', code: 0xfa, exec: cli },
  { mn: 'sti', code: 0xfb, exec: sti, end: true },
  { mn: 'rdmsr', code: 0x0f32, exec: doRdmsr },
  { mn: 'wrmsr', code: 0x0f30, exec: doWrmsr, end: true },
];

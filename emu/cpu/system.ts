/**
 * The CPU's system state: control registers, EFER, descriptor tables, the
 * hidden (cached) part of the segment registers, and the rules that move the
 * CPU between real mode, protected mode and long mode (SDM Vol.3A ch.2–3,
 * §9.8 and §9.9).
 *
 * A segment register's hidden part is kept as base, limit and the attribute
 * bits exactly as they sit in the descriptor's high dword (Attr below), so a
 * descriptor read from the GDT is cached without reshuffling. A null selector
 * loaded in protected mode leaves the register "unusable" (attributes 0).
 */
import type { Cpu } from './cpu.js';
import { CpuFault, Vector } from './fault.js';
import { Mode } from './decode.js';
import { Seg } from './regs.js';
import { F } from './flags.js';
import type { Unit } from './table.js';
import { CANONICAL_LIMIT } from './mmu.js';

export const enum Cr0 {
  PE = 1 << 0, MP = 1 << 1, EM = 1 << 2, TS = 1 << 3, ET = 1 << 4, NE = 1 << 5,
  WP = 1 << 16, AM = 1 << 18, NW = 1 << 29, CD = 1 << 30, PG = 1 << 31,
}
export const enum Cr4 {
  VME = 1 << 0, PVI = 1 << 1, TSD = 1 << 2, DE = 1 << 3, PSE = 1 << 4, PAE = 1 << 5, MCE = 1 << 6,
  PGE = 1 << 7, PCE = 1 << 8, OSFXSR = 1 << 9, OSXMMEXCPT = 1 << 10,
}
export const enum Efer { SCE = 1 << 0, LME = 1 << 8, LMA = 1 << 10, NXE = 1 << 11 }

/** Segment-descriptor attribute bits in their high-dword positions (SDM Vol.3A §3.4.5, Figure 3-8). */
export const enum Attr {
  A = 1 << 8, RW = 1 << 9, EC = 1 << 10, CODE = 1 << 11, S = 1 << 12,
  DPL_SHIFT = 13, DPL = 3 << 13, P = 1 << 15, AVL = 1 << 20, L = 1 << 21, DB = 1 << 22, G = 1 << 23,
  MASK = 0x00f0ff00,
  TYPE = 0xf00,
}

/** CR0 bits software may set; ET is hard-wired to 1 on every CPU since the i486. */
const CR0_WRITABLE = Cr0.PE | Cr0.MP | Cr0.EM | Cr0.TS | Cr0.NE | Cr0.WP | Cr0.AM | Cr0.NW | Cr0.CD | Cr0.PG;
/** CR4 bits for features CPUID advertises; any other bit set is #GP (SDM Vol.3A §2.5). */
const CR4_WRITABLE = Cr4.TSD | Cr4.DE | Cr4.PSE | Cr4.PAE | Cr4.MCE | Cr4.PGE | Cr4.PCE | Cr4.OSFXSR | Cr4.OSXMMEXCPT;
const EFER_WRITABLE = Efer.SCE | Efer.LME | Efer.NXE;

const TWO32 = 4294967296;

function gp(code: number, why: string): never { throw new CpuFault(Vector.GP, code, 0, why); }

/** Power-on / INIT state (SDM Vol.3A §9.1.1, Table 9-1), apart from RIP and CS which the caller sets. */
export function resetSystemState(cpu: Cpu): void {
  cpu.cr0 = Cr0.ET | Cr0.CD | Cr0.NW;
  cpu.cr2 = 0;
  cpu.cr4 = 0;
  cpu.efer = 0;
  cpu.mmu.cr3 = 0;
  cpu.gdtBase = 0; cpu.gdtLimit = 0xffff;
  cpu.idtBase = 0; cpu.idtLimit = 0xffff;
  cpu.ldtSel = 0; cpu.ldtBase = 0; cpu.ldtLimit = 0xffff;
  cpu.trSel = 0; cpu.trBase = 0; cpu.trLimit = 0xffff; cpu.trAttr = Attr.P | (0xb << 8);
  cpu.dr.fill(0); cpu.dr[6] = 0xffff0ff0; cpu.dr[7] = 0x400;
  for (let s = 0; s < 6; s++) setSegment(cpu, s, 0, 0, 0xffff, Attr.P | Attr.S | Attr.RW | Attr.A | (s === Seg.CS ? Attr.CODE : 0));
  cpu.setFlags(0);
  cpu.mmu.cpl = 0;
  updateMode(cpu);
}

export function setSegment(cpu: Cpu, seg: number, sel: number, base: number, limit: number, attr: number): void {
  cpu.segSel[seg] = sel;
  cpu.segBase[seg] = base;
  cpu.segLimit[seg] = limit;
  cpu.segAttr[seg] = attr & Attr.MASK;
}

/** Real-mode segment load: the base is selector × 16; limit and attributes stay cached (that is "unreal mode"). */
export function setRealSegment(cpu: Cpu, seg: number, sel: number): void {
  cpu.segSel[seg] = sel & 0xffff;
  cpu.segBase[seg] = (sel & 0xffff) * 16;
}

export function descriptorBase(lo: number, hi: number): number {
  return ((lo >>> 16) | ((hi & 0xff) << 16) | (hi & 0xff000000)) >>> 0;
}

/** The limit in bytes: with G set the 20-bit limit counts 4 KiB units. */
export function descriptorLimit(lo: number, hi: number): number {
  const raw = (lo & 0xffff) | (hi & 0xf0000);
  return hi & Attr.G ? raw * 4096 + 0xfff : raw;
}

/**
 * Derives the decoder mode, paging structure depth and CPL-independent MMU
 * settings from CR0, CR4, EFER and CS. Called after any of them changes.
 */
export function updateMode(cpu: Cpu): void {
  const cr0 = cpu.cr0, cs = cpu.segAttr[Seg.CS];
  const lma = (cpu.efer & Efer.LMA) !== 0;
  const mode = lma && (cs & Attr.L) ? Mode.Long64 : (cs & Attr.DB ? Mode.Prot32 : Mode.Real);
  if (mode !== cpu.mode) cpu.mode = mode;
  const key = mode | (fpuState(cr0, cpu.cr4) << 8);
  const mmu = cpu.mmu;
  // Decoded code depends on the mode and the FPU gates; the interpreter keeps one cache per key.
  if (key !== cpu.decodeKey) { cpu.decodeKey = key; mmu.gen++; }
  const paging = (cr0 & Cr0.PG) !== 0;
  const levels = lma ? 4 : cpu.cr4 & Cr4.PAE ? 3 : 2;
  const pse = (cpu.cr4 & Cr4.PSE) !== 0, pge = (cpu.cr4 & Cr4.PGE) !== 0;
  if (paging !== mmu.paging || levels !== mmu.levels || pse !== mmu.pse || pge !== mmu.pge) {
    mmu.paging = paging; mmu.levels = levels; mmu.pse = pse; mmu.pge = pge;
    mmu.flushAll();
  }
  mmu.wp = (cr0 & Cr0.WP) !== 0;
  mmu.am = (cr0 & Cr0.AM) !== 0;
  mmu.ac = (cpu.flags & F.AC) !== 0;
  mmu.updateAlignCheck();
  mmu.nxe = (cpu.efer & Efer.NXE) !== 0;
}

/** The CR0/CR4 bits that gate the x87, MMX and SSE units, packed: 0 when nothing is gated. */
function fpuState(cr0: number, cr4: number): number {
  return (cr0 & Cr0.TS ? 1 : 0) | (cr0 & Cr0.EM ? 2 : 0) | ((cr0 & (Cr0.TS | Cr0.MP)) === (Cr0.TS | Cr0.MP) ? 4 : 0) |
    (cr4 & Cr4.OSFXSR ? 0 : 8);
}

/**
 * The exception an instruction of execution unit `unit` raises under the
 * decode key's FPU state, or -1 (SDM Vol.3A Table 2-2 and §13.1): EM makes
 * x87 instructions #NM and SIMD ones #UD, TS makes them all #NM (fwait only
 * with MP), and SSE without CR4.OSFXSR is #UD.
 */
export function fpuGate(unit: Unit, key: number): number {
  const s = key >> 8;
  if (s === 0) return -1;
  const ts = (s & 1) !== 0, em = (s & 2) !== 0;
  switch (unit) {
    case 'x87': case 'fxstate': return ts || em ? Vector.NM : -1;
    case 'fwait': return s & 4 ? Vector.NM : -1;
    case 'mmx': return em ? Vector.UD : ts ? Vector.NM : -1;
    case 'sse': return em || (s & 8) ? Vector.UD : ts ? Vector.NM : -1;
  }
}

/** MOV to CR0 (SDM Vol.3A §2.5, and §9.8.5 for the long-mode activation rules). */
export function writeCr0(cpu: Cpu, v: number): void {
  v = ((v & CR0_WRITABLE) | Cr0.ET) | 0;
  if ((v & Cr0.PG) && !(v & Cr0.PE)) gp(0, 'CR0.PG without CR0.PE');
  if ((v & Cr0.NW) && !(v & Cr0.CD)) gp(0, 'CR0.NW without CR0.CD');
  const old = cpu.cr0;
  let efer = cpu.efer;
  if ((v & Cr0.PG) && !(old & Cr0.PG) && (efer & Efer.LME)) {
    if (!(cpu.cr4 & Cr4.PAE)) gp(0, 'enabling long mode paging without CR4.PAE');
    if (cpu.segAttr[Seg.CS] & Attr.L) gp(0, 'enabling paging with CS.L set');
    efer |= Efer.LMA;
  }
  if (!(v & Cr0.PG) && (old & Cr0.PG) && (efer & Efer.LMA)) {
    if (cpu.mode === Mode.Long64) gp(0, 'disabling paging in 64-bit mode');
    efer &= ~Efer.LMA;
  }
  cpu.cr0 = v;
  cpu.efer = efer;
  // Changing PG, WP or CD flushes translations on a real CPU as well.
  if (((old ^ v) & (Cr0.PG | Cr0.WP | Cr0.PE))) cpu.mmu.flushAll();
  updateMode(cpu);
}

export function writeCr3(cpu: Cpu, lo: number, hi: number): void {
  // Bits above MAXPHYADDR (40) are reserved in IA-32e mode.
  if ((cpu.efer & Efer.LMA) && (hi & 0xffffff00)) gp(0, 'CR3 reserved bits');
  cpu.mmu.cr3 = (cpu.efer & Efer.LMA ? (hi & 0xff) * TWO32 : 0) + (lo >>> 0);
  cpu.mmu.flushNonGlobal();
}

export function writeCr4(cpu: Cpu, v: number): void {
  if (v & ~CR4_WRITABLE) gp(0, `CR4 bits 0x${(v & ~CR4_WRITABLE).toString(16)} are not supported`);
  if ((cpu.efer & Efer.LMA) && !(v & Cr4.PAE)) gp(0, 'clearing CR4.PAE in long mode');
  const old = cpu.cr4;
  cpu.cr4 = v;
  // A PGE, PAE or PSE change flushes the whole TLB, global entries included (SDM Vol.3A §4.10.4.1).
  if ((old ^ v) & (Cr4.PGE | Cr4.PAE | Cr4.PSE)) cpu.mmu.flushAll();
  updateMode(cpu);
}

export function writeEfer(cpu: Cpu, lo: number, hi: number): void {
  if ((lo & ~(EFER_WRITABLE | Efer.LMA)) || hi) gp(0, 'EFER reserved bits');
  if (((lo ^ cpu.efer) & Efer.LME) && (cpu.cr0 & Cr0.PG)) gp(0, 'changing EFER.LME with paging on');
  // LMA is read-only: it follows CR0.PG while LME is set.
  cpu.efer = (lo & EFER_WRITABLE) | (cpu.efer & Efer.LMA);
  updateMode(cpu);
}

// ---- descriptor tables ---------------------------------------------------------

/**
 * Reads the 8-byte descriptor `sel` names from the GDT or LDT, as a
 * supervisor access; a selector beyond the table's limit is #GP(selector).
 */
export function readDescriptor(cpu: Cpu, sel: number, fault: Vector = Vector.GP): [number, number] {
  const addr = descriptorAddress(cpu, sel, fault);
  return cpu.mmu.supervisor(() => [cpu.mmu.read32(addr), cpu.mmu.read32(addr + 4)]);
}

function descriptorAddress(cpu: Cpu, sel: number, fault: Vector): number {
  const ldt = (sel & 4) !== 0;
  if (ldt && (cpu.ldtSel & 0xfffc) === 0) throw new CpuFault(fault, sel & 0xfffc, 0, `selector 0x${sel.toString(16)} refers to a null LDT`);
  const base = ldt ? cpu.ldtBase : cpu.gdtBase, limit = ldt ? cpu.ldtLimit : cpu.gdtLimit;
  if ((sel | 7) > limit) throw new CpuFault(fault, sel & 0xfffc, 0, `selector 0x${sel.toString(16)} beyond the ${ldt ? 'LDT' : 'GDT'} limit`);
  return base + (sel & 0xfff8);
}

/** Sets the accessed bit in a descriptor the CPU has just loaded, as the hardware does. */
export function markAccessed(cpu: Cpu, sel: number, hi: number): void {
  if (hi & Attr.A) return;
  const addr = descriptorAddress(cpu, sel, Vector.GP) + 4;
  cpu.mmu.supervisor(() => cpu.mmu.write32(addr, hi | Attr.A));
}

/**
 * The upper half of a 16-byte system descriptor in IA-32e mode: bits 63:32
 * of the base or offset, and the dword whose type field must be zero.
 */
export function readDescriptorHigh(cpu: Cpu, sel: number): [number, number] {
  const addr = descriptorAddress(cpu, sel + 8, Vector.GP);
  return cpu.mmu.supervisor(() => [cpu.mmu.read32(addr), cpu.mmu.read32(addr + 4)]);
}

/**
 * MOV/POP to DS, ES, FS, GS or SS, and the segment half of LDS & co., with
 * the protected-mode checks of SDM Vol.2B MOV (segment register).
 */
export function loadSegment(cpu: Cpu, seg: number, sel: number): void {
  sel &= 0xffff;
  if (!(cpu.cr0 & Cr0.PE)) { setRealSegment(cpu, seg, sel); return; }
  const cpl = cpu.mmu.cpl, rpl = sel & 3;
  if ((sel & 0xfffc) === 0) {
    // A null SS is allowed only in 64-bit mode below ring 3, with RPL = CPL.
    if (seg === Seg.SS && (cpu.mode !== Mode.Long64 || cpl === 3 || rpl !== cpl)) gp(0, 'null SS');
    setSegment(cpu, seg, sel, 0, 0, 0);
    return;
  }
  const [lo, hi] = readDescriptor(cpu, sel);
  const dpl = (hi & Attr.DPL) >> Attr.DPL_SHIFT;
  const code = (hi & Attr.CODE) !== 0;
  if (!(hi & Attr.S)) gp(sel & 0xfffc, `selector 0x${sel.toString(16)} is a system descriptor`);
  if (seg === Seg.SS) {
    const [base, limit, attr] = checkStackDescriptor(cpu, sel, lo, hi, cpl);
    setSegment(cpu, seg, sel, base, limit, attr);
    return;
  }
  if (code && !(hi & Attr.RW)) gp(sel & 0xfffc, `selector 0x${sel.toString(16)} is an execute-only code segment`);
  const conforming = code && (hi & Attr.EC) !== 0;
  if (!conforming && (rpl > dpl || cpl > dpl)) gp(sel & 0xfffc, `selector 0x${sel.toString(16)} privilege`);
  if (!(hi & Attr.P)) throw new CpuFault(Vector.NP, sel & 0xfffc, 0, `selector 0x${sel.toString(16)} not present`);
  markAccessed(cpu, sel, hi);
  setSegment(cpu, seg, sel, descriptorBase(lo, hi), descriptorLimit(lo, hi), hi | Attr.A);
}

/**
 * What a non-null selector must be to become SS at privilege `cpl` (MOV SS,
 * and RETF or IRET to an outer ring): a present, writable data segment with
 * RPL = DPL = `cpl`, else #GP(selector), or #SS(selector) if not present.
 * Returns its hidden part (base, limit, attributes) without loading it, and
 * marks the descriptor accessed.
 */
export function stackSegment(cpu: Cpu, sel: number, cpl: number): [number, number, number] {
  const [lo, hi] = readDescriptor(cpu, sel);
  if (!(hi & Attr.S)) gp(sel & 0xfffc, `selector 0x${sel.toString(16)} is a system descriptor`);
  return checkStackDescriptor(cpu, sel, lo, hi, cpl);
}

function checkStackDescriptor(cpu: Cpu, sel: number, lo: number, hi: number, cpl: number): [number, number, number] {
  const dpl = (hi & Attr.DPL) >> Attr.DPL_SHIFT;
  if ((sel & 3) !== cpl || dpl !== cpl) gp(sel & 0xfffc, `SS selector 0x${sel.toString(16)} privilege`);
  if ((hi & Attr.CODE) || !(hi & Attr.RW)) gp(sel & 0xfffc, `SS selector 0x${sel.toString(16)} is not a writable data segment`);
  if (!(hi & Attr.P)) throw new CpuFault(Vector.SS, sel & 0xfffc, 0, `SS selector 0x${sel.toString(16)} not present`);
  markAccessed(cpu, sel, hi);
  return [descriptorBase(lo, hi), descriptorLimit(lo, hi), hi | Attr.A];
}

/** The code segment whose descriptor's high dword is `hi` runs as 64-bit code: IA-32e mode is active and its L bit is set. */
export function isLongCode(cpu: Cpu, hi: number): boolean {
  return (cpu.efer & Efer.LMA) !== 0 && (hi & Attr.L) !== 0;
}

/**
 * A far transfer's new RIP fits the code segment it goes to: canonical for
 * 64-bit code, within the limit otherwise. Callers raise #GP(0) before
 * anything changes when it does not.
 */
export function fitsCodeSegment(cpu: Cpu, lo: number, hi: number, target: number): boolean {
  return isLongCode(cpu, hi) ? target >= -CANONICAL_LIMIT && target < CANONICAL_LIMIT : target <= descriptorLimit(lo, hi);
}

/**
 * Checks a code-segment descriptor as the target of a far transfer at
 * privilege `cpl` and returns the CPL the transfer lands at (SDM Vol.2A JMP,
 * CALL; Vol.3A §5.8). Gates and task switches are refused loudly by callers.
 */
export function checkCodeTarget(cpu: Cpu, sel: number, hi: number, cpl: number): number {
  const dpl = (hi & Attr.DPL) >> Attr.DPL_SHIFT, rpl = sel & 3;
  if (!(hi & Attr.S) || !(hi & Attr.CODE)) gp(sel & 0xfffc, `selector 0x${sel.toString(16)} is not a code segment`);
  if (hi & Attr.EC) {
    if (dpl > cpl) gp(sel & 0xfffc, `conforming code selector 0x${sel.toString(16)} DPL ${dpl} > CPL ${cpl}`);
  } else if (rpl > cpl || dpl !== cpl) {
    gp(sel & 0xfffc, `code selector 0x${sel.toString(16)} privilege (RPL ${rpl}, DPL ${dpl}, CPL ${cpl})`);
  }
  if (!(hi & Attr.P)) throw new CpuFault(Vector.NP, sel & 0xfffc, 0, `code selector 0x${sel.toString(16)} not present`);
  if ((cpu.efer & Efer.LMA) && (hi & Attr.L) && (hi & Attr.DB)) gp(sel & 0xfffc, 'code segment with both L and D set');
  return cpl;
}

/** Loads CS from a checked descriptor; the selector's RPL becomes the CPL. */
export function loadCs(cpu: Cpu, sel: number, lo: number, hi: number, cpl: number): void {
  markAccessed(cpu, sel, hi);
  setSegment(cpu, Seg.CS, (sel & 0xfffc) | cpl, descriptorBase(lo, hi), descriptorLimit(lo, hi), hi | Attr.A);
  cpu.mmu.cpl = cpl;
  updateMode(cpu);
}

/**
 * After a return to an outer privilege level, data segment registers the new
 * CPL may not use become null (SDM Vol.2A RET, IRET: "validate segments").
 */
export function dropInaccessibleSegments(cpu: Cpu): void {
  const cpl = cpu.mmu.cpl;
  for (const seg of [Seg.ES, Seg.DS, Seg.FS, Seg.GS]) {
    const attr = cpu.segAttr[seg];
    const dpl = (attr & Attr.DPL) >> Attr.DPL_SHIFT;
    const conformingCode = (attr & Attr.CODE) && (attr & Attr.EC);
    if (!conformingCode && dpl < cpl) {
      // In 64-bit mode FS and GS keep their bases (they come from MSRs there).
      const base = cpu.mode === Mode.Long64 && seg >= Seg.FS ? cpu.segBase[seg] : 0;
      setSegment(cpu, seg, 0, base, 0, 0);
    }
  }
}

/** Fault unless the CPU runs at CPL 0 (protected or long mode); real mode is always ring 0. */
export function requireCpl0(cpu: Cpu, what: string): void {
  if (cpu.mmu.cpl !== 0) gp(0, `${what} at CPL ${cpu.mmu.cpl}`);
}

/**
 * Delivering exceptions and interrupts through the IVT (real mode) or the
 * IDT (protected and IA-32e mode), escalating to #DF and to a triple fault,
 * and IRET, which undoes a delivery (SDM Vol.3A §6.12–6.15, §20.1.4; Vol.2A
 * INT n, IRET).
 *
 * Every delivery reads and checks everything first and writes the new stack
 * frame before any register changes, so a fault on the way (a missing gate, a
 * stack page not present) leaves the CPU as it was, ready to deliver that
 * fault instead.
 */
import type { Cpu } from './cpu.js';
import { CpuFault, Vector, VECTOR_NAMES } from './fault.js';
import { F } from './flags.js';
import { Mode } from './decode.js';
import { R, Seg } from './regs.js';
import {
  Attr, Cr0, Efer, descriptorBase, descriptorLimit, dropInaccessibleSegments, fitsCodeSegment, isLongCode, loadCs,
  markAccessed, readDescriptor, setRealSegment, setSegment, stackSegment, updateMode,
} from './system.js';
import { CANONICAL_LIMIT } from './mmu.js';

const TWO32 = 4294967296;

/** Where an event comes from: it decides the DPL check and the EXT bit of error codes. */
export const enum Source { Exception, External, Software, Nmi }

/** Vectors that push an error code (SDM Vol.3A Table 6-1). */
function hasErrorCode(v: number): boolean {
  return v === 8 || (v >= 10 && v <= 14) || v === 17 || v === 21;
}

/** SDM Vol.3A Table 6-4: #DE, #TS, #NP, #SS, #GP are contributory. */
function contributory(v: number): boolean { return v === 0 || (v >= 10 && v <= 13); }

/** The machine's fault handler: delivers a CpuFault raised by an instruction. */
export function raise(cpu: Cpu, f: CpuFault): void {
  if (f.vector === Vector.PF) cpu.cr2 = f.address;
  const source = f.soft ? Source.Software : Source.Exception;
  deliverEvent(cpu, f.vector, source, hasErrorCode(f.vector) ? f.errorCode : -1, f.message);
}

/**
 * Delivers one event; a fault during the delivery is delivered in its place,
 * or becomes #DF when both are contributory or page faults (Table 6-5), and a
 * fault while delivering #DF shuts the CPU down (a triple fault).
 */
export function deliverEvent(cpu: Cpu, vector: number, source: Source, errorCode: number, why = ''): void {
  try {
    deliver(cpu, vector, source, errorCode, why);
  } catch (e) {
    if (!(e instanceof CpuFault)) throw e;
    if (e.vector === Vector.PF) cpu.cr2 = e.address;
    // A fault while delivering INT n is a fault of the INT instruction: it restarts from there.
    if (source === Source.Software) cpu.rip = cpu.ip;
    const first = source === Source.Exception ? vector : -1;
    if (first === Vector.DF) { shutdown(cpu, `triple fault: ${e.message} while delivering #DF`); return; }
    const second = e.vector;
    const double = (contributory(first) && contributory(second)) ||
      (first === Vector.PF && (second === Vector.PF || contributory(second)));
    if (double) deliverEvent(cpu, Vector.DF, Source.Exception, 0, `${e.message} while delivering ${name(vector)}`);
    else deliverEvent(cpu, second, Source.Exception, hasErrorCode(second) ? e.errorCode : -1, e.message);
  }
}

function shutdown(cpu: Cpu, reason: string): void {
  cpu.halted = true;
  if (cpu.platform) cpu.platform.shutdown(reason);
  else throw new Error(reason);
}

function name(v: number): string { return VECTOR_NAMES[v] ?? `vector 0x${v.toString(16)}`; }

function logDelivery(cpu: Cpu, vector: number, source: Source, errorCode: number, why: string): void {
  const p = cpu.platform;
  if (!p) return;
  const hex = (v: number, w: number): string => (v < 0 ? BigInt.asUintN(64, BigInt(v)) : BigInt(v)).toString(16).padStart(w, '0');
  p.log('int', `v=${hex(vector, 2)} e=${hex(errorCode < 0 ? 0 : errorCode, 4)} i=${source === Source.Software ? 1 : 0} cpl=${cpu.mmu.cpl} ` +
    `IP=${hex(cpu.segSel[Seg.CS], 4)}:${hex(cpu.rip, 16)}${p.symbolize?.(cpu.codeLinear(cpu.rip)) ?? ''} SP=${hex(cpu.segSel[Seg.SS], 4)}:${hex(cpu.regNum(R.SP), 16)} ` +
    `CR2=${hex(cpu.cr2, 16)}${why ? ` (${why})` : ''}`);
}

function deliver(cpu: Cpu, vector: number, source: Source, errorCode: number, why: string): void {
  logDelivery(cpu, vector, source, errorCode, why);
  cpu.halted = false;
  if (!(cpu.cr0 & Cr0.PE)) deliverReal(cpu, vector);
  else if (cpu.efer & Efer.LMA) deliverLong(cpu, vector, source, errorCode);
  else deliverProtected(cpu, vector, source, errorCode);
  if (vector === Vector.NMI && source === Source.Nmi) cpu.nmiBlocked = true;
}

/** Real mode: the IVT holds CS:IP pairs; FLAGS, CS and IP go on the stack (SDM Vol.3A §20.1.4). */
function deliverReal(cpu: Cpu, vector: number): void {
  if (vector * 4 + 3 > cpu.idtLimit) throw new CpuFault(Vector.GP, 0, 0, `vector ${vector} beyond the IVT limit`);
  const entry = cpu.mmu.read32(cpu.idtBase + vector * 4);
  const flags = cpu.getFlags();
  const sp = cpu.regs[R.SP << 1] & 0xffff, ss = cpu.segBase[Seg.SS];
  writeStack(cpu, ss, sp, 2, 2, [flags & 0xffff, cpu.segSel[Seg.CS], cpu.rip & 0xffff], 0xffff);
  cpu.set16(R.SP, (sp - 6) & 0xffff);
  cpu.flags = flags & ~(F.IF | F.TF | F.AC | F.RF);
  setRealSegment(cpu, Seg.CS, entry >>> 16);
  cpu.rip = entry & 0xffff;
}

/** Gate checks common to both IDT formats; returns the gate's selector and the target CS descriptor. */
function checkGate(cpu: Cpu, vector: number, source: Source, lo: number, hi: number, ext: number): [number, number, number] {
  const idtCode = (vector << 3) | 2 | ext;
  const dpl = (hi >> 13) & 3;
  if (source === Source.Software && dpl < cpu.mmu.cpl) {
    throw new CpuFault(Vector.GP, idtCode, 0, `int 0x${vector.toString(16)} through a gate of DPL ${dpl} at CPL ${cpu.mmu.cpl}`);
  }
  if (!(hi & Attr.P)) throw new CpuFault(Vector.NP, idtCode, 0, `IDT gate ${vector} not present`);
  const sel = lo >>> 16;
  if ((sel & 0xfffc) === 0) throw new CpuFault(Vector.GP, ext, 0, `IDT gate ${vector} has a null selector`);
  const [clo, chi] = readDescriptor(cpu, sel);
  const cdpl = (chi >> 13) & 3;
  if (!(chi & Attr.S) || !(chi & Attr.CODE) || cdpl > cpu.mmu.cpl) {
    throw new CpuFault(Vector.GP, (sel & 0xfffc) | ext, 0, `IDT gate ${vector} selector 0x${sel.toString(16)} is not a usable code segment`);
  }
  if (!(chi & Attr.P)) throw new CpuFault(Vector.NP, (sel & 0xfffc) | ext, 0, `code segment 0x${sel.toString(16)} not present`);
  return [sel, clo, chi];
}

/**
 * The stack a 32-bit TSS names for ring `newCpl`, checked as an inner-privilege
 * interrupt or call-gate transfer checks it (#TS, or #SS if not present).
 */
export function innerStack32(cpu: Cpu, newCpl: number, ext: number): { sel: number; base: number; limit: number; attr: number; sp: number } {
  const sel = readTss(cpu, 8 + newCpl * 8, 2, ext);
  const sp = readTss(cpu, 4 + newCpl * 8, 4, ext);
  if ((sel & 0xfffc) === 0) throw new CpuFault(Vector.TS, ext, 0, 'null SS in the TSS');
  const [lo, hi] = readDescriptor(cpu, sel, Vector.TS);
  if ((sel & 3) !== newCpl || ((hi >> 13) & 3) !== newCpl || !(hi & Attr.S) || (hi & Attr.CODE) || !(hi & Attr.RW)) {
    throw new CpuFault(Vector.TS, (sel & 0xfffc) | ext, 0, `TSS stack selector 0x${sel.toString(16)} is unusable at CPL ${newCpl}`);
  }
  if (!(hi & Attr.P)) throw new CpuFault(Vector.SS, (sel & 0xfffc) | ext, 0, 'TSS stack segment not present');
  markAccessed(cpu, sel, hi);
  return { sel, base: descriptorBase(lo, hi), limit: descriptorLimit(lo, hi), attr: hi | Attr.A, sp };
}

export function readTss(cpu: Cpu, offset: number, size: 2 | 4 | 8, ext: number): number {
  if (offset + size - 1 > cpu.trLimit) throw new CpuFault(Vector.TS, (cpu.trSel & 0xfffc) | ext, 0, `TSS too short for offset 0x${offset.toString(16)}`);
  const a = cpu.trBase + offset;
  return cpu.mmu.supervisor(() => {
    if (size === 2) return cpu.mmu.read16(a);
    if (size === 4) return cpu.mmu.read32(a) >>> 0;
    const lo = cpu.mmu.read64(a);
    return cpu.mmu.hi * TWO32 + (lo >>> 0);
  });
}

/**
 * Writes `values` (first pushed first) below `sp` on the stack at `base`,
 * `size` bytes each, with the access rights of `cpl`, wrapping the offset
 * with `mask`. Memory only: registers are the caller's to commit.
 */
export function writeStack(cpu: Cpu, base: number, sp: number, size: number, cpl: number, values: number[], mask: number): void {
  const write = (): void => {
    let p = sp;
    for (const v of values) {
      p = mask === 0 ? p - size : (p - size) & mask;
      const lin = mask === 0 ? p : (base + (p >>> 0)) % TWO32;
      if (size === 8) cpu.mmu.write64(lin, v | 0, Math.floor(v / TWO32) | 0);
      else if (size === 4) cpu.mmu.write32(lin, v | 0);
      else cpu.mmu.write16(lin, v);
    }
  };
  if (cpl < 3 && cpu.mmu.cpl === 3) cpu.mmu.supervisor(write);
  else write();
}

/** Protected mode (32-bit IDT, 8-byte gates; SDM Vol.3A §6.12.1). */
function deliverProtected(cpu: Cpu, vector: number, source: Source, errorCode: number): void {
  const ext = source === Source.Software ? 0 : 1;
  if (vector * 8 + 7 > cpu.idtLimit) throw new CpuFault(Vector.GP, (vector << 3) | 2 | ext, 0, `vector ${vector} beyond the IDT limit`);
  const [lo, hi] = cpu.mmu.supervisor(() => [cpu.mmu.read32(cpu.idtBase + vector * 8), cpu.mmu.read32(cpu.idtBase + vector * 8 + 4)]);
  const type = (hi >> 8) & 0x1f;
  if (type === 5) throw new Error(`task gates are not supported (IDT vector ${vector})`);
  if (type !== 6 && type !== 7 && type !== 0xe && type !== 0xf) {
    throw new CpuFault(Vector.GP, (vector << 3) | 2 | ext, 0, `IDT entry ${vector} is not an interrupt or trap gate`);
  }
  if (cpu.getFlags() & F.VM) throw new Error('interrupts from virtual-8086 mode are not supported');
  const [sel, clo, chi] = checkGate(cpu, vector, source, lo, hi, ext);
  const gate32 = type >= 0xe;
  const size = gate32 ? 4 : 2;
  const offset = gate32 ? ((lo & 0xffff) | (hi & 0xffff0000)) >>> 0 : lo & 0xffff;
  const cpl = cpu.mmu.cpl;
  const conforming = (chi & Attr.EC) !== 0;
  const newCpl = conforming ? cpl : (chi >> 13) & 3;
  if (offset > descriptorLimit(clo, chi)) throw new CpuFault(Vector.GP, ext, 0, `IDT gate ${vector} offset beyond its segment limit`);
  const flags = cpu.getFlags();
  const frame: number[] = [];
  let ssSel = cpu.segSel[Seg.SS], ssBase = cpu.segBase[Seg.SS], ssLimit = cpu.segLimit[Seg.SS], ssAttr = cpu.segAttr[Seg.SS];
  let sp = cpu.regs[R.SP << 1] >>> 0;
  if (newCpl < cpl) {
    const inner = innerStack32(cpu, newCpl, ext);
    frame.push(ssSel, sp);
    ({ sel: ssSel, base: ssBase, limit: ssLimit, attr: ssAttr, sp } = inner);
  }
  frame.push(flags, cpu.segSel[Seg.CS], cpu.rip >>> 0);
  if (errorCode >= 0) frame.push(errorCode);
  const mask = ssAttr & Attr.DB ? 0xffffffff : 0xffff;
  writeStack(cpu, ssBase, mask === 0xffff ? sp & 0xffff : sp, size, newCpl, frame, mask);
  const newSp = (sp - frame.length * size) & mask;
  if (newCpl < cpl) setSegment(cpu, Seg.SS, ssSel, ssBase, ssLimit, ssAttr);
  if (mask === 0xffff) cpu.set16(R.SP, newSp); else cpu.set32(R.SP, newSp);
  loadCs(cpu, sel, clo, chi, newCpl);
  cpu.flags = flags & ~(F.TF | F.NT | F.VM | F.RF | (type & 1 ? 0 : F.IF));
  cpu.rip = offset;
}

/** IA-32e mode (16-byte gates, IST stacks, an aligned 64-bit frame; SDM Vol.3A §6.14). */
function deliverLong(cpu: Cpu, vector: number, source: Source, errorCode: number): void {
  const ext = source === Source.Software ? 0 : 1;
  if (vector * 16 + 15 > cpu.idtLimit) throw new CpuFault(Vector.GP, (vector << 3) | 2 | ext, 0, `vector ${vector} beyond the IDT limit`);
  const base = cpu.idtBase + vector * 16;
  const [lo, hi, hi2] = cpu.mmu.supervisor(() => [cpu.mmu.read32(base), cpu.mmu.read32(base + 4), cpu.mmu.read32(base + 8)]);
  const type = (hi >> 8) & 0x1f;
  if (type !== 0xe && type !== 0xf) throw new CpuFault(Vector.GP, (vector << 3) | 2 | ext, 0, `IDT entry ${vector} is not a 64-bit interrupt or trap gate`);
  const [sel, clo, chi] = checkGate(cpu, vector, source, lo, hi, ext);
  if (!(chi & Attr.L) || (chi & Attr.DB)) throw new CpuFault(Vector.GP, (sel & 0xfffc) | ext, 0, `IDT gate ${vector} target is not a 64-bit code segment`);
  const target = hi2 * TWO32 + (((lo & 0xffff) | (hi & 0xffff0000)) >>> 0);
  if (target < -CANONICAL_LIMIT || target >= CANONICAL_LIMIT) throw new CpuFault(Vector.GP, ext, 0, `IDT gate ${vector} target is not canonical`);
  const cpl = cpu.mmu.cpl;
  const newCpl = chi & Attr.EC ? cpl : (chi >> 13) & 3;
  const ist = hi & 7;
  let rsp = cpu.regNum(R.SP);
  if (ist !== 0) rsp = signed64(readTss(cpu, 0x24 + (ist - 1) * 8, 8, ext));
  else if (newCpl < cpl) rsp = signed64(readTss(cpu, 4 + newCpl * 8, 8, ext));
  if (rsp < -CANONICAL_LIMIT || rsp >= CANONICAL_LIMIT) throw new CpuFault(Vector.SS, ext, 0, 'non-canonical interrupt stack');
  // The frame starts 16-byte aligned (SDM Vol.3A §6.14.2).
  rsp -= ((rsp % 16) + 16) % 16;
  const flags = cpu.getFlags();
  const frame = [cpu.segSel[Seg.SS], cpu.regNum(R.SP), flags, cpu.segSel[Seg.CS], cpu.rip];
  if (errorCode >= 0) frame.push(errorCode);
  writeStack(cpu, 0, rsp, 8, newCpl, frame, 0);
  rsp -= frame.length * 8;
  if (newCpl < cpl) setSegment(cpu, Seg.SS, newCpl, 0, 0, (newCpl << Attr.DPL_SHIFT) | Attr.P | Attr.S | Attr.RW);
  cpu.set64(R.SP, rsp | 0, Math.floor(rsp / TWO32) | 0);
  loadCs(cpu, sel, clo, chi, newCpl);
  cpu.flags = flags & ~(F.TF | F.NT | F.VM | F.RF | (type & 1 ? 0 : F.IF));
  cpu.rip = target;
}

export function signed64(v: number): number { return v >= 9223372036854775808 ? v - 18446744073709551616 : v; }

// ---- IRET -------------------------------------------------------------------------

/** RFLAGS bits IRET may change at privilege `cpl` (SDM Vol.2A IRET, the EFLAGS rules). */
function iretFlags(cpu: Cpu, popped: number, size: number, cpl: number): number {
  const old = cpu.getFlags();
  const iopl = (old & F.IOPL) >> 12;
  let mutable = F.ARITH | F.TF | F.DF | F.NT | F.RF | F.AC | F.ID;
  if (cpl === 0) mutable |= F.IOPL | F.VIF | F.VIP;
  if (cpl <= iopl) mutable |= F.IF;
  if (size === 2) mutable &= 0xffff;
  return (old & ~mutable) | (popped & mutable);
}

export function iret(cpu: Cpu, osz: number): void {
  if (!(cpu.cr0 & Cr0.PE)) { iretReal(cpu, osz); return; }
  if (cpu.getFlags() & F.NT) {
    if (cpu.efer & Efer.LMA) throw new CpuFault(Vector.GP, 0, 0, 'IRET with NT set in IA-32e mode');
    throw new Error('IRET with NT set (a task return) is not supported');
  }
  const long64 = cpu.mode === Mode.Long64;
  const cpl = cpu.mmu.cpl;
  // Read the frame first: a fault here leaves everything as it was.
  const ssBase = long64 ? 0 : cpu.segBase[Seg.SS];
  const stack32 = long64 || (cpu.segAttr[Seg.SS] & Attr.DB) !== 0;
  let sp = long64 ? cpu.regNum(R.SP) : stack32 ? cpu.regs[R.SP << 1] >>> 0 : cpu.regs[R.SP << 1] & 0xffff;
  const pop = (): number => {
    const lin = long64 ? sp : (ssBase + sp) % TWO32;
    let v: number;
    if (osz === 8) { const lo = cpu.mmu.read64(lin); v = cpu.mmu.hi * TWO32 + (lo >>> 0); }
    else if (osz === 4) v = cpu.mmu.read32(lin) >>> 0;
    else v = cpu.mmu.read16(lin);
    sp = long64 ? sp + osz : stack32 ? (sp + osz) % TWO32 : (sp + osz) & 0xffff;
    return v;
  };
  const rip = pop(), csSel = pop() & 0xffff, popped = pop();
  if (!(cpu.efer & Efer.LMA) && (popped & F.VM) && cpl === 0) throw new Error('IRET to virtual-8086 mode is not supported');
  if ((csSel & 0xfffc) === 0) throw new CpuFault(Vector.GP, 0, 0, 'IRET to a null CS');
  const rpl = csSel & 3;
  if (rpl < cpl) throw new CpuFault(Vector.GP, csSel & 0xfffc, 0, 'IRET to an inner privilege level');
  const [clo, chi] = readDescriptor(cpu, csSel);
  if (!(chi & Attr.S) || !(chi & Attr.CODE)) throw new CpuFault(Vector.GP, csSel & 0xfffc, 0, 'IRET CS is not a code segment');
  const cdpl = (chi >> 13) & 3;
  if (chi & Attr.EC ? cdpl > rpl : cdpl !== rpl) throw new CpuFault(Vector.GP, csSel & 0xfffc, 0, 'IRET CS privilege');
  if (!(chi & Attr.P)) throw new CpuFault(Vector.NP, csSel & 0xfffc, 0, 'IRET CS not present');
  const toLong = isLongCode(cpu, chi);
  const target = toLong ? signed64(rip) : rip % TWO32;
  if (!fitsCodeSegment(cpu, clo, chi, target)) throw new CpuFault(Vector.GP, 0, 0, toLong ? 'IRET to a non-canonical RIP' : 'IRET EIP beyond the CS limit');
  // 64-bit mode always pops SS:RSP; elsewhere only a return to an outer ring does.
  if (long64 || rpl > cpl) {
    const newSp = pop(), ssSel = pop() & 0xffff;
    let ss: [number, number, number, number];
    if ((ssSel & 0xfffc) === 0) {
      // A null SS is allowed when returning to 64-bit code below ring 3.
      if (!toLong || rpl === 3) throw new CpuFault(Vector.GP, 0, 0, 'IRET to a null SS');
      ss = [ssSel, 0, 0, (rpl << Attr.DPL_SHIFT) | Attr.P | Attr.S | Attr.RW];
    } else {
      ss = [ssSel, ...stackSegment(cpu, ssSel, rpl)];
    }
    cpu.setFlags(iretFlags(cpu, popped, osz, cpl));
    loadCs(cpu, csSel, clo, chi, rpl);
    setSegment(cpu, Seg.SS, ss[0], ss[1], ss[2], ss[3]);
    const spv = osz === 8 ? signed64(newSp) : newSp;
    if (toLong || cpu.mode === Mode.Long64) cpu.set64(R.SP, spv | 0, Math.floor(spv / TWO32) | 0);
    else if (ss[3] & Attr.DB) cpu.set32(R.SP, spv | 0);
    else cpu.set16(R.SP, spv);
    if (rpl > cpl) dropInaccessibleSegments(cpu);
  } else {
    cpu.setFlags(iretFlags(cpu, popped, osz, cpl));
    loadCs(cpu, csSel, clo, chi, rpl);
    if (stack32) cpu.set32(R.SP, sp | 0); else cpu.set16(R.SP, sp);
  }
  cpu.rip = target;
  iretDone(cpu);
}

function iretReal(cpu: Cpu, osz: number): void {
  const size = osz === 8 ? 4 : osz;
  const big = (cpu.segAttr[Seg.SS] & Attr.DB) !== 0;
  let sp = big ? cpu.regs[R.SP << 1] >>> 0 : cpu.regs[R.SP << 1] & 0xffff;
  const base = cpu.segBase[Seg.SS];
  const pop = (): number => {
    const lin = (base + sp) % TWO32;
    const v = size === 4 ? cpu.mmu.read32(lin) >>> 0 : cpu.mmu.read16(lin);
    sp = big ? (sp + size) % TWO32 : (sp + size) & 0xffff;
    return v;
  };
  const ip = pop(), cs = pop() & 0xffff, flags = pop();
  if (ip > cpu.segLimit[Seg.CS]) throw new CpuFault(Vector.GP, 0, 0, 'IRET IP beyond the CS limit');
  // VM, VIP and VIF are not loaded by a real-mode IRET (SDM Vol.2A IRET).
  const mutable = (size === 4 ? 0x257fd5 : 0xffff) & ~(F.VM | F.VIP | F.VIF);
  cpu.setFlags((cpu.getFlags() & ~mutable) | (flags & mutable));
  setRealSegment(cpu, Seg.CS, cs);
  if (big) cpu.set32(R.SP, sp | 0); else cpu.set16(R.SP, sp);
  cpu.rip = ip;
  iretDone(cpu);
}

/** IRET ends NMI blocking, and may have set IF: the run loop must look for pending interrupts. */
function iretDone(cpu: Cpu): void {
  cpu.nmiBlocked = false;
  cpu.attention = true;
  updateMode(cpu);
}

// ---- the run loop's event check ---------------------------------------------------------

/**
 * Called between blocks while `cpu.attention` is set: delivers a pending NMI,
 * or the highest-priority maskable interrupt if IF is set and no STI/MOV SS
 * shadow holds it off. Clears `attention` when nothing more can be taken.
 */
export function serviceEvents(cpu: Cpu): void {
  if (cpu.nmiPending && !cpu.nmiBlocked) {
    cpu.nmiPending = false;
    deliverEvent(cpu, Vector.NMI, Source.Nmi, -1);
    return;
  }
  const apic = cpu.platform?.apic;
  if (apic && (cpu.flags & F.IF)) {
    if (cpu.icount < cpu.inhibitUntil) return;
    if (apic.pendingVector() >= 0) {
      const vector = apic.acknowledge();
      deliverEvent(cpu, vector, Source.External, -1);
      return;
    }
  }
  // With IF clear, STI, POPF and IRET set `attention` again when they enable interrupts.
  cpu.attention = cpu.nmiPending && !cpu.nmiBlocked;
}

/**
 * Segment registers and descriptor tables: mov to/from segment registers,
 * push/pop of them, lds & co., far jmp/call/ret, lgdt/lidt/sgdt/sidt,
 * lldt/sldt, ltr/str (SDM Vol.2; protection rules in system.ts).
 */
import type { Cpu } from '../cpu.js';
import type { Insn } from '../insn.js';
import type { OpDef } from '../table.js';
import { CpuFault, Vector } from '../fault.js';
import { Mode } from '../decode.js';
import { R, Seg } from '../regs.js';
import { innerStack32, readTss, signed64, writeStack } from '../interrupt.js';
import {
  Attr, Cr0, Efer, checkCodeTarget, descriptorBase, descriptorLimit, dropInaccessibleSegments, fitsCodeSegment, isLongCode,
  loadCs, loadSegment, markAccessed, readDescriptor, readDescriptorHigh, requireCpl0, setRealSegment, setSegment, stackSegment,
} from '../system.js';
import { CANONICAL_LIMIT } from '../mmu.js';

const TWO32 = 4294967296;

function ud(why: string): never { throw new CpuFault(Vector.UD, -1, 0, why); }

/** Loading SS holds off interrupts for one instruction, so that a following load of rSP completes the switch. */
function loadSeg(cpu: Cpu, seg: number, sel: number): void {
  loadSegment(cpu, seg, sel);
  if (seg === Seg.SS) cpu.inhibitUntil = cpu.icount + 2;
}

function movSE(cpu: Cpu, i: Insn): void {
  const seg = i.reg & 7;
  if (seg === Seg.CS || seg > Seg.GS) ud('mov to CS or a segment register that does not exist');
  loadSeg(cpu, seg, cpu.readE(i, 2));
}

/** A register destination receives the selector zero-extended to the operand size; memory gets 16 bits. */
function movES(cpu: Cpu, i: Insn): void {
  const seg = i.reg & 7;
  if (seg > Seg.GS) ud('mov from a segment register that does not exist');
  const v = cpu.segSel[seg];
  if (i.isMem) cpu.writeMem(2, cpu.ea(i), v, 0);
  else cpu.setReg(i.osz === 2 ? 2 : i.osz === 8 ? 8 : 4, i.rm, v, 0);
}

function pushSeg(cpu: Cpu, i: Insn): void { cpu.push(i.osz, cpu.segSel[i.arg], 0); }

function popSeg(cpu: Cpu, i: Insn): void {
  const sp = cpu.get64lo(R.SP), spHi = cpu.get64hi(R.SP);
  const v = cpu.pop(i.osz);
  try {
    loadSeg(cpu, i.arg, v & 0xffff);
  } catch (e) {
    cpu.set64(R.SP, sp, spHi);
    throw e;
  }
}

/** A far pointer in memory: the offset (operand size) followed by a 16-bit selector. */
function farPointer(cpu: Cpu, i: Insn): [number, number] {
  const a = cpu.ea(i);
  let off: number;
  if (i.osz === 8) { const lo = cpu.readMem(8, a); off = cpu.hi * TWO32 + (lo >>> 0); }
  else off = i.osz === 4 ? cpu.readMem(4, a) >>> 0 : cpu.readMem(2, a);
  return [off, cpu.readMem(2, a + i.osz)];
}

/** lds, les, lss, lfs, lgs: the segment is loaded first, so a fault leaves the register untouched. */
function loadFar(cpu: Cpu, i: Insn): void {
  const [off, sel] = farPointer(cpu, i);
  loadSeg(cpu, i.arg, sel);
  cpu.setReg(i.osz, i.reg, off | 0, Math.floor(off / TWO32) | 0);
}

/** Pushes a far call's return CS:rIP; if the second push faults, rSP is as it was, so the call restarts cleanly. */
function pushFarReturn(cpu: Cpu, size: number, cs: number, ip: number): void {
  const sp = cpu.get64lo(R.SP), spHi = cpu.get64hi(R.SP);
  try {
    cpu.push(size, cs, 0);
    cpu.push(size, ip | 0, size === 8 ? Math.floor(ip / TWO32) | 0 : 0);
  } catch (e) {
    cpu.set64(R.SP, sp, spHi);
    throw e;
  }
}

/**
 * jmp/call far to `sel:off`. In protected mode the target must be a code
 * segment at the current privilege (or conforming); call gates and task
 * switches are not modelled and stop the machine with a message.
 */
function farTransfer(cpu: Cpu, i: Insn, sel: number, off: number, call: boolean): void {
  const size = i.osz;
  const retCs = cpu.segSel[Seg.CS], retIp = cpu.rip;
  if (!(cpu.cr0 & Cr0.PE)) {
    if (call) pushFarReturn(cpu, size, retCs, retIp);
    setRealSegment(cpu, Seg.CS, sel);
    cpu.rip = size === 2 ? off & 0xffff : off >>> 0;
    return;
  }
  if ((sel & 0xfffc) === 0) throw new CpuFault(Vector.GP, 0, 0, 'far transfer to a null selector');
  const [lo, hi] = readDescriptor(cpu, sel);
  if (!(hi & Attr.S)) {
    const type = (hi >> 8) & 0xf;
    if (type === 0xc || type === 4) { throughCallGate(cpu, i, sel, lo, hi, call); return; }
    if (type === 5 || type === 1 || type === 9) throw new Error(`far ${call ? 'call' : 'jmp'} to a task gate or TSS (type ${type}): task switches are not supported`);
    throw new CpuFault(Vector.GP, sel & 0xfffc, 0, `far ${call ? 'call' : 'jmp'} to system descriptor type ${type}`);
  }
  const cpl = checkCodeTarget(cpu, sel, hi, cpu.mmu.cpl);
  const target = isLongCode(cpu, hi) ? off : size === 2 ? off & 0xffff : off >>> 0;
  if (!fitsCodeSegment(cpu, lo, hi, target)) throw new CpuFault(Vector.GP, 0, 0, 'far transfer outside the target code segment');
  // Pushes happen on the current stack in the current mode, before anything changes.
  if (call) pushFarReturn(cpu, size, retCs, retIp);
  loadCs(cpu, sel, lo, hi, cpl);
  cpu.rip = target;
}

/**
 * A far call or jmp through a call gate (SDM Vol.3A §5.8.3–5.8.6, Vol.2A
 * CALL). The gate names the entry point; a call to a more privileged
 * non-conforming segment switches to the stack the TSS names for that ring
 * and copies the gate's parameter count of stack entries (none for 64-bit
 * gates), so that a far return to the outer ring unwinds it.
 */
function throughCallGate(cpu: Cpu, i: Insn, gateSel: number, lo: number, hi: number, call: boolean): void {
  const cpl = cpu.mmu.cpl, long = (cpu.efer & Efer.LMA) !== 0;
  const gateDpl = (hi >> 13) & 3;
  if (long && (hi & 0x1f00) !== 0xc00) throw new CpuFault(Vector.GP, gateSel & 0xfffc, 0, 'only 64-bit call gates exist in IA-32e mode');
  if (gateDpl < cpl || gateDpl < (gateSel & 3)) throw new CpuFault(Vector.GP, gateSel & 0xfffc, 0, `call gate 0x${gateSel.toString(16)} DPL ${gateDpl} below CPL ${cpl} or RPL`);
  if (!(hi & Attr.P)) throw new CpuFault(Vector.NP, gateSel & 0xfffc, 0, `call gate 0x${gateSel.toString(16)} not present`);
  let target = ((lo & 0xffff) | (hi & 0xffff0000)) >>> 0;
  const gateSize = long ? 8 : (hi & 0x800) ? 4 : 2;
  if (gateSize === 2) target &= 0xffff;
  if (long) {
    const [upper, type] = readDescriptorHigh(cpu, gateSel);
    if ((type >> 8) & 0x1f) throw new CpuFault(Vector.GP, gateSel & 0xfffc, 0, 'the upper half of a 64-bit call gate has a non-zero type');
    target = signed64((upper >>> 0) * TWO32 + target);
  }
  const codeSel = lo >>> 16;
  if ((codeSel & 0xfffc) === 0) throw new CpuFault(Vector.GP, 0, 0, 'call gate with a null code selector');
  const [clo, chi] = readDescriptor(cpu, codeSel);
  const dpl = (chi >> 13) & 3;
  const conforming = (chi & Attr.EC) !== 0;
  // The SDM's order (Vol.2A CALL, JMP): type and privilege, then the 64-bit
  // code requirement, then presence, then the entry point.
  if (!(chi & Attr.S) || !(chi & Attr.CODE) || dpl > cpl) throw new CpuFault(Vector.GP, codeSel & 0xfffc, 0, `call gate target 0x${codeSel.toString(16)} is not a code segment at or above CPL ${cpl}`);
  if (!call && !conforming && dpl !== cpl) throw new CpuFault(Vector.GP, codeSel & 0xfffc, 0, 'jmp through a call gate cannot change privilege');
  if (long && (!(chi & Attr.L) || (chi & Attr.DB))) throw new CpuFault(Vector.GP, codeSel & 0xfffc, 0, 'a 64-bit call gate must lead to 64-bit code');
  if (!(chi & Attr.P)) throw new CpuFault(Vector.NP, codeSel & 0xfffc, 0, `call gate target 0x${codeSel.toString(16)} not present`);
  const inner = call && !conforming && dpl < cpl;
  const newCpl = inner ? dpl : cpl;
  // The entry point must be canonical (64-bit gates) or within the target's limit: #GP(0), nothing pushed.
  const badTarget = !fitsCodeSegment(cpu, clo, chi, target);
  const retCs = cpu.segSel[Seg.CS], retIp = cpu.rip;
  if (!inner) {
    if (badTarget) throw new CpuFault(Vector.GP, 0, 0, `call gate entry point 0x${target.toString(16)} outside the target segment`);
    if (call) pushFarReturn(cpu, gateSize, retCs, retIp);
    loadCs(cpu, codeSel, clo, chi, cpl);
    cpu.rip = target;
    return;
  }
  const oldSs = cpu.segSel[Seg.SS];
  if (long) {
    let rsp = signed64(readTss(cpu, 4 + newCpl * 8, 8, 0));
    if (rsp < -CANONICAL_LIMIT || rsp >= CANONICAL_LIMIT) throw new CpuFault(Vector.SS, 0, 0, 'non-canonical call-gate stack');
    if (badTarget) throw new CpuFault(Vector.GP, 0, 0, `call gate entry point 0x${target.toString(16)} not canonical`);
    const frame = [oldSs, cpu.regNum(R.SP), retCs, retIp];
    writeStack(cpu, 0, rsp, 8, newCpl, frame, 0);
    rsp -= frame.length * 8;
    setSegment(cpu, Seg.SS, newCpl, 0, 0, (newCpl << Attr.DPL_SHIFT) | Attr.P | Attr.S | Attr.RW);
    cpu.set64(R.SP, rsp | 0, Math.floor(rsp / TWO32) | 0);
  } else {
    const stack = innerStack32(cpu, newCpl, 0);
    if (badTarget) throw new CpuFault(Vector.GP, 0, 0, `call gate entry point 0x${target.toString(16)} beyond the target's limit`);
    const oldBig = (cpu.segAttr[Seg.SS] & Attr.DB) !== 0;
    const oldSp = oldBig ? cpu.get64lo(R.SP) >>> 0 : cpu.get64lo(R.SP) & 0xffff;
    // Parameters are copied from the caller's stack, deepest first, so they keep their order.
    const params: number[] = [];
    for (let k = (hi & 0x1f) - 1; k >= 0; k--) {
      const off = oldBig ? (oldSp + k * gateSize) % TWO32 : (oldSp + k * gateSize) & 0xffff;
      params.push(gateSize === 4 ? cpu.readMem(4, cpu.segLinear(Seg.SS, off)) >>> 0 : cpu.readMem(2, cpu.segLinear(Seg.SS, off)));
    }
    const frame = [oldSs, oldSp, ...params, retCs, retIp >>> 0];
    const mask = stack.attr & Attr.DB ? 0xffffffff : 0xffff;
    writeStack(cpu, stack.base, stack.sp & mask, gateSize, newCpl, frame, mask);
    setSegment(cpu, Seg.SS, stack.sel, stack.base, stack.limit, stack.attr);
    const sp = (stack.sp - frame.length * gateSize) & mask;
    if (mask === 0xffff) cpu.set16(R.SP, sp); else cpu.set32(R.SP, sp);
  }
  loadCs(cpu, codeSel, clo, chi, newCpl);
  cpu.rip = target;
}

function jmpFarImm(cpu: Cpu, i: Insn): void { farTransfer(cpu, i, i.imm2 & 0xffff, i.imm >>> 0, false); }
function callFarImm(cpu: Cpu, i: Insn): void { farTransfer(cpu, i, i.imm2 & 0xffff, i.imm >>> 0, true); }
function jmpFarMem(cpu: Cpu, i: Insn): void { const [off, sel] = farPointer(cpu, i); farTransfer(cpu, i, sel, signedIfWide(off, i), false); }
function callFarMem(cpu: Cpu, i: Insn): void { const [off, sel] = farPointer(cpu, i); farTransfer(cpu, i, sel, signedIfWide(off, i), true); }

function signedIfWide(off: number, i: Insn): number {
  return i.osz === 8 && off >= 9223372036854775808 ? off - 18446744073709551616 : off;
}

/**
 * Far return: pops rIP and CS; a return to an outer ring also pops rSP and
 * SS (SDM Vol.2B RET). The immediate releases that many bytes of parameters
 * from each stack.
 */
function retFar(cpu: Cpu, i: Insn): void {
  const size = i.osz;
  const release = i.imm & 0xffff;
  const pop = (): number => {
    if (size === 8) { const lo = cpu.pop(8); return cpu.hi * TWO32 + (lo >>> 0); }
    return size === 4 ? cpu.pop(4) >>> 0 : cpu.pop(2);
  };
  const addSp = (n: number): void => {
    if (n === 0) return;
    if (cpu.mode === Mode.Long64) { const v = cpu.regNum(R.SP) + n; cpu.set64(R.SP, v | 0, Math.floor(v / TWO32) | 0); }
    else if (cpu.segAttr[Seg.SS] & Attr.DB) cpu.set32(R.SP, (cpu.get64lo(R.SP) + n) | 0);
    else cpu.set16(R.SP, cpu.get64lo(R.SP) + n);
  };
  const savedSp = [cpu.get64lo(R.SP), cpu.get64hi(R.SP)];
  try {
    const off = pop(), sel = pop() & 0xffff;
    if (!(cpu.cr0 & Cr0.PE)) {
      setRealSegment(cpu, Seg.CS, sel);
      cpu.rip = off & (size === 2 ? 0xffff : 0xffffffff);
      addSp(release);
      return;
    }
    if ((sel & 0xfffc) === 0) throw new CpuFault(Vector.GP, 0, 0, 'far return to a null selector');
    const cpl = cpu.mmu.cpl, rpl = sel & 3;
    if (rpl < cpl) throw new CpuFault(Vector.GP, sel & 0xfffc, 0, 'far return to an inner ring');
    const [lo, hi] = readDescriptor(cpu, sel);
    checkCodeTarget(cpu, sel, hi, rpl);
    const long = isLongCode(cpu, hi);
    const target = long ? signedIfWide(off, i) : off % TWO32;
    const outsideCs = (): CpuFault => new CpuFault(Vector.GP, 0, 0, 'far return outside the return code segment');
    if (rpl === cpl) {
      if (!fitsCodeSegment(cpu, lo, hi, target)) throw outsideCs();
      addSp(release);
      loadCs(cpu, sel, lo, hi, rpl);
      cpu.rip = target;
      return;
    }
    // To an outer ring: everything about the new SS and the return address is
    // checked before CS, SS or the CPL change (SDM Vol.2B RET).
    addSp(release);
    const sp = pop(), ssSel = pop() & 0xffff;
    let ss: [number, number, number];
    if ((ssSel & 0xfffc) === 0) {
      // A null SS is allowed only for 64-bit code below ring 3, with RPL = the new CPL.
      if (!long || rpl === 3 || (ssSel & 3) !== rpl) throw new CpuFault(Vector.GP, 0, 0, 'null SS');
      ss = [0, 0, 0];
    } else {
      ss = stackSegment(cpu, ssSel, rpl);
    }
    if (!fitsCodeSegment(cpu, lo, hi, target)) throw outsideCs();
    loadCs(cpu, sel, lo, hi, rpl);
    setSegment(cpu, Seg.SS, ssSel, ss[0], ss[1], ss[2]);
    if (long) cpu.set64(R.SP, sp | 0, Math.floor(sp / TWO32) | 0);
    else if (ss[2] & Attr.DB) cpu.set32(R.SP, sp | 0);
    else cpu.set16(R.SP, sp);
    addSp(release);
    dropInaccessibleSegments(cpu);
    cpu.rip = target;
  } catch (e) {
    cpu.set64(R.SP, savedSp[0], savedSp[1]);
    throw e;
  }
}

// ---- descriptor-table registers -------------------------------------------------

/** lgdt/lidt: a 16-bit limit, then a base of 24 (16-bit operand), 32 or, in 64-bit mode, 64 bits. */
function loadTable(cpu: Cpu, i: Insn): void {
  requireCpl0(cpu, i.row.mn);
  const a = cpu.ea(i);
  const limit = cpu.readMem(2, a);
  let base: number;
  if (cpu.mode === Mode.Long64) {
    const lo = cpu.readMem(8, a + 2);
    base = cpu.hi * TWO32 + (lo >>> 0);
    if (base >= 9223372036854775808) base -= 18446744073709551616;
  } else {
    base = (cpu.readMem(4, a + 2) >>> 0) & (i.osz === 2 ? 0xffffff : 0xffffffff);
  }
  if (i.arg === 0) { cpu.gdtBase = base; cpu.gdtLimit = limit; } else { cpu.idtBase = base; cpu.idtLimit = limit; }
}

function storeTable(cpu: Cpu, i: Insn): void {
  const a = cpu.ea(i);
  const base = i.arg === 0 ? cpu.gdtBase : cpu.idtBase, limit = i.arg === 0 ? cpu.gdtLimit : cpu.idtLimit;
  cpu.writeMem(2, a, limit, 0);
  if (cpu.mode === Mode.Long64) cpu.writeMem(8, a + 2, base | 0, Math.floor(base / TWO32) | 0);
  else cpu.writeMem(4, a + 2, base | 0, 0);
}

/** System descriptors are 16 bytes in IA-32e mode: base bits 63:32 follow. */
function systemBase(cpu: Cpu, sel: number, lo: number, hi: number): number {
  const base = descriptorBase(lo, hi);
  if (cpu.mode !== Mode.Long64) return base;
  const [upper, type] = readDescriptorHigh(cpu, sel);
  if ((type >> 8) & 0x1f) throw new CpuFault(Vector.GP, sel & 0xfffc, 0, 'the upper half of a 16-byte system descriptor has a non-zero type');
  const v = (upper | 0) * TWO32 + base;
  if (v < -CANONICAL_LIMIT || v >= CANONICAL_LIMIT) throw new CpuFault(Vector.GP, sel & 0xfffc, 0, 'system descriptor base is not canonical');
  return v;
}

function lldt(cpu: Cpu, i: Insn): void {
  requireCpl0(cpu, 'lldt');
  const sel = cpu.readE(i, 2);
  if ((sel & 0xfffc) === 0) { cpu.ldtSel = sel; cpu.ldtBase = 0; cpu.ldtLimit = 0; return; }
  if (sel & 4) throw new CpuFault(Vector.GP, sel & 0xfffc, 0, 'lldt selector points into the LDT');
  const [lo, hi] = readDescriptor(cpu, sel);
  if ((hi & Attr.S) || ((hi >> 8) & 0xf) !== 2) throw new CpuFault(Vector.GP, sel & 0xfffc, 0, 'lldt selector is not an LDT descriptor');
  if (!(hi & Attr.P)) throw new CpuFault(Vector.NP, sel & 0xfffc, 0, 'LDT descriptor not present');
  cpu.ldtBase = systemBase(cpu, sel, lo, hi);
  cpu.ldtLimit = descriptorLimit(lo, hi);
  cpu.ldtSel = sel;
}

/** ltr: an available TSS (type 9) becomes the task register and is marked busy in the GDT. */
function ltr(cpu: Cpu, i: Insn): void {
  requireCpl0(cpu, 'ltr');
  const sel = cpu.readE(i, 2);
  if ((sel & 0xfffc) === 0) throw new CpuFault(Vector.GP, 0, 0, 'ltr with a null selector');
  if (sel & 4) throw new CpuFault(Vector.GP, sel & 0xfffc, 0, 'ltr selector points into the LDT');
  const [lo, hi] = readDescriptor(cpu, sel);
  const type = (hi >> 8) & 0xf;
  if (type === 1) throw new Error('16-bit TSS descriptors are not supported');
  if ((hi & Attr.S) || type !== 9) throw new CpuFault(Vector.GP, sel & 0xfffc, 0, 'ltr selector is not an available TSS');
  if (!(hi & Attr.P)) throw new CpuFault(Vector.NP, sel & 0xfffc, 0, 'TSS descriptor not present');
  const base = systemBase(cpu, sel, lo, hi);
  markAccessed(cpu, sel, hi);
  cpu.trSel = sel; cpu.trBase = base; cpu.trLimit = descriptorLimit(lo, hi); cpu.trAttr = (hi | Attr.A) & Attr.MASK;
}

function sldt(cpu: Cpu, i: Insn): void { storeSelector(cpu, i, cpu.ldtSel); }
function str(cpu: Cpu, i: Insn): void { storeSelector(cpu, i, cpu.trSel); }

function storeSelector(cpu: Cpu, i: Insn, sel: number): void {
  if (!(cpu.cr0 & Cr0.PE)) ud(`${i.row.mn} in real mode`);
  if (i.isMem) cpu.writeMem(2, cpu.ea(i), sel, 0);
  else cpu.setReg(i.osz, i.rm, sel, 0);
}

function protectedOnly(cpu: Cpu, i: Insn, fn: (cpu: Cpu, i: Insn) => void): void {
  if (!(cpu.cr0 & Cr0.PE)) ud(`${i.row.mn} in real mode`);
  fn(cpu, i);
}

export const rows: OpDef[] = [
  { mn: 'mov', code: 0x8e, ops: 'Sw,Rv/Mw', exec: movSE },
  { mn: 'mov', code: 0x8c, ops: 'Rv/Mw,Sw', exec: movES },
  { mn: 'pushw|push|push', code: 0x06, ops: 'ES', size: 'd64', mode: 'i64', exec: pushSeg, arg: Seg.ES },
  { mn: 'popw|pop|pop', code: 0x07, ops: 'ES', size: 'd64', mode: 'i64', exec: popSeg, arg: Seg.ES },
  { mn: 'pushw|push|push', code: 0x0e, ops: 'CS', size: 'd64', mode: 'i64', exec: pushSeg, arg: Seg.CS },
  { mn: 'pushw|push|push', code: 0x16, ops: 'SS', size: 'd64', mode: 'i64', exec: pushSeg, arg: Seg.SS },
  { mn: 'popw|pop|pop', code: 0x17, ops: 'SS', size: 'd64', mode: 'i64', exec: popSeg, arg: Seg.SS },
  { mn: 'pushw|push|push', code: 0x1e, ops: 'DS', size: 'd64', mode: 'i64', exec: pushSeg, arg: Seg.DS },
  { mn: 'popw|pop|pop', code: 0x1f, ops: 'DS', size: 'd64', mode: 'i64', exec: popSeg, arg: Seg.DS },
  { mn: 'pushw|push|push', code: 0x0fa0, ops: 'FS', size: 'd64', exec: pushSeg, arg: Seg.FS },
  { mn: 'popw|pop|pop', code: 0x0fa1, ops: 'FS', size: 'd64', exec: popSeg, arg: Seg.FS },
  { mn: 'pushw|push|push', code: 0x0fa8, ops: 'GS', size: 'd64', exec: pushSeg, arg: Seg.GS },
  { mn: 'popw|pop|pop', code: 0x0fa9, ops: 'GS', size: 'd64', exec: popSeg, arg: Seg.GS },
  { mn: 'les', code: 0xc4, mod: 'mem', ops: 'Gz,Mp', mode: 'i64', exec: loadFar, arg: Seg.ES },
  { mn: 'lds', code: 0xc5, mod: 'mem', ops: 'Gz,Mp', mode: 'i64', exec: loadFar, arg: Seg.DS },
  { mn: 'lss', code: 0x0fb2, mod: 'mem', ops: 'Gv,Mp', exec: loadFar, arg: Seg.SS },
  { mn: 'lfs', code: 0x0fb4, mod: 'mem', ops: 'Gv,Mp', exec: loadFar, arg: Seg.FS },
  { mn: 'lgs', code: 0x0fb5, mod: 'mem', ops: 'Gv,Mp', exec: loadFar, arg: Seg.GS },
  { mn: 'jmp', code: 0xea, ops: 'Ap', mode: 'i64', exec: jmpFarImm, end: true },
  { mn: 'call', code: 0x9a, ops: 'Ap', mode: 'i64', exec: callFarImm, end: true },
  { mn: 'jmp', code: 0xff, digit: 5, mod: 'mem', ops: 'Mp', exec: jmpFarMem, end: true },
  { mn: 'call', code: 0xff, digit: 3, mod: 'mem', ops: 'Mp', exec: callFarMem, end: true },
  { mn: 'retfw|retf|retfq', code: 0xcb, exec: retFar, end: true },
  { mn: 'retfw|retf|retfq', code: 0xca, ops: 'Iw', exec: retFar, end: true },
  { mn: 'sgdtw|sgdtd|sgdt', code: 0x0f01, digit: 0, mod: 'mem', ops: 'Ms', exec: storeTable, arg: 0 },
  { mn: 'sidtw|sidtd|sidt', code: 0x0f01, digit: 1, mod: 'mem', ops: 'Ms', exec: storeTable, arg: 1 },
  { mn: 'lgdtw|lgdtd|lgdt', code: 0x0f01, digit: 2, mod: 'mem', ops: 'Ms', exec: loadTable, arg: 0 },
  { mn: 'lidtw|lidtd|lidt', code: 0x0f01, digit: 3, mod: 'mem', ops: 'Ms', exec: loadTable, arg: 1 },
  { mn: 'sldt', code: 0x0f00, digit: 0, ops: 'Rv/Mw', exec: sldt },
  { mn: 'str', code: 0x0f00, digit: 1, ops: 'Rv/Mw', exec: str },
  { mn: 'lldt', code: 0x0f00, digit: 2, ops: 'Ew', exec: (cpu, i) => protectedOnly(cpu, i, lldt) },
  { mn: 'ltr', code: 0x0f00, digit: 3, ops: 'Ew', exec: (cpu, i) => protectedOnly(cpu, i, ltr) },
];

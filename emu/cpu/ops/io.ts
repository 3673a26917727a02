/**
 * Port I/O: in, out, ins, outs (SDM Vol.2A IN, Vol.1 §19.5). Outside real
 * mode a CPL above IOPL needs the port's bits clear in the TSS I/O
 * permission bitmap; the ports themselves belong to the machine (Platform).
 */
import type { Cpu } from '../cpu.js';
import type { Insn } from '../insn.js';
import type { OpDef } from '../table.js';
import { CpuFault, Vector } from '../fault.js';
import { F } from '../flags.js';
import { R, Seg } from '../regs.js';
import { Cr0 } from '../system.js';
import { getIdx, linear, setIdx } from './string.js';

type Width = 1 | 2 | 4;

function checkPort(cpu: Cpu, port: number, size: number): void {
  if (!(cpu.cr0 & Cr0.PE)) return;
  const iopl = (cpu.flags & F.IOPL) >> 12;
  if (cpu.mmu.cpl <= iopl && !(cpu.flags & F.VM)) return;
  // The bitmap's offset is at TSS+0x66; every bit of the access must be clear and inside the TSS limit.
  const deny = (): never => { throw new CpuFault(Vector.GP, 0, 0, `I/O port 0x${port.toString(16)} denied at CPL ${cpu.mmu.cpl}`); };
  if (cpu.trLimit < 0x67) deny();
  const mmu = cpu.mmu;
  const base = mmu.supervisor(() => mmu.read16(cpu.trBase + 0x66));
  const at = base + (port >> 3);
  if (at + 1 > cpu.trLimit) deny();
  const bits = mmu.supervisor(() => mmu.read16(cpu.trBase + at));
  const mask = ((1 << size) - 1) << (port & 7);
  if (bits & mask) deny();
}

function platform(cpu: Cpu) {
  const p = cpu.platform;
  if (!p) throw new CpuFault(Vector.GP, 0, 0, 'port I/O without a machine');
  return p;
}

function portIn(cpu: Cpu, port: number, size: Width): number {
  checkPort(cpu, port, size);
  return platform(cpu).portRead(port, size);
}

function portOut(cpu: Cpu, port: number, size: Width, v: number): void {
  checkPort(cpu, port, size);
  platform(cpu).portWrite(port, size, size === 4 ? v >>> 0 : v & ((1 << (size * 8)) - 1));
}

/** in/out move 8, 16 or 32 bits; a 64-bit operand size still moves 32 (there is no 64-bit port access). */
function width(i: Insn): Width { return i.osz === 1 ? 1 : i.osz === 2 ? 2 : 4; }

function inImm(cpu: Cpu, i: Insn): void { cpu.setReg(width(i), R.AX, portIn(cpu, i.imm & 0xff, width(i)), 0); }
function inDx(cpu: Cpu, i: Insn): void { cpu.setReg(width(i), R.AX, portIn(cpu, cpu.get64lo(R.DX) & 0xffff, width(i)), 0); }
function outImm(cpu: Cpu, i: Insn): void { portOut(cpu, i.imm & 0xff, width(i), cpu.get64lo(R.AX)); }
function outDx(cpu: Cpu, i: Insn): void { portOut(cpu, cpu.get64lo(R.DX) & 0xffff, width(i), cpu.get64lo(R.AX)); }

/** ins: port DX to ES:rDI, repeated rCX times with REP. */
function ins(cpu: Cpu, i: Insn): void {
  const size = width(i), asz = i.asz;
  const step = (cpu.getFlags() & F.DF) ? -size : size;
  const port = cpu.get64lo(R.DX) & 0xffff;
  for (;;) {
    if (i.rep !== 0 && getIdx(cpu, R.CX, asz) === 0) return;
    const di = getIdx(cpu, R.DI, asz);
    const lin = linear(cpu, Seg.ES, di, asz);
    // The destination is probed before the port is read: a fault must not lose a byte from the device.
    cpu.writeMem(size, lin, cpu.readMem(size, lin), 0);
    cpu.writeMem(size, lin, portIn(cpu, port, size), 0);
    setIdx(cpu, R.DI, asz, di + step);
    if (i.rep === 0) return;
    setIdx(cpu, R.CX, asz, getIdx(cpu, R.CX, asz) - 1);
  }
}

/** outs: DS:rSI (segment overridable) to port DX. */
function outs(cpu: Cpu, i: Insn): void {
  const size = width(i), asz = i.asz;
  const step = (cpu.getFlags() & F.DF) ? -size : size;
  const port = cpu.get64lo(R.DX) & 0xffff;
  const seg = i.seg === Seg.None ? Seg.DS : i.seg;
  for (;;) {
    if (i.rep !== 0 && getIdx(cpu, R.CX, asz) === 0) return;
    const si = getIdx(cpu, R.SI, asz);
    portOut(cpu, port, size, cpu.readMem(size, linear(cpu, seg, si, asz)));
    setIdx(cpu, R.SI, asz, si + step);
    if (i.rep === 0) return;
    setIdx(cpu, R.CX, asz, getIdx(cpu, R.CX, asz) - 1);
  }
}

export const rows: OpDef[] = [
  { mn: 'in', code: 0xe4, ops: 'AL,Ib', exec: inImm },
  { mn: 'in', code: 0xe5, ops: 'zAX,Ib', exec: inImm },
  { mn: 'in', code: 0xec, ops: 'AL,DX', exec: inDx },
  { mn: 'in', code: 0xed, ops: 'zAX,DX', exec: inDx },
  { mn: 'out', code: 0xe6, ops: 'Ib,AL', exec: outImm },
  { mn: 'out', code: 0xe7, ops: 'Ib,zAX', exec: outImm },
  { mn: 'out', code: 0xee, ops: 'DX,AL', exec: outDx },
  { mn: 'out', code: 0xef, ops: 'DX,zAX', exec: outDx },
  { mn: 'ins', code: 0x6c, ops: 'Yb,DX', exec: ins },
  { mn: 'ins', code: 0x6d, ops: 'Yz,DX', exec: ins },
  { mn: 'outs', code: 0x6e, ops: 'DX,Xb', exec: outs },
  { mn: 'outs', code: 0x6f, ops: 'DX,Xz', exec: outs },
];

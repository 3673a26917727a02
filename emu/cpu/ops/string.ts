/**
 * String instructions with REP/REPE/REPNE (SDM Vol.1 §7.3.9): movs, cmps,
 * stos, lods, scas. rSI/rDI/rCX are used at the address size; the source
 * segment may be overridden, the destination is always ES. Registers are
 * written back after each element, so a fault mid-string restarts correctly.
 */
import type { Cpu } from '../cpu.js';
import type { Insn } from '../insn.js';
import type { OpDef } from '../table.js';
import { F } from '../flags.js';
import { R, Seg } from '../regs.js';
import { alu, alu64, AluOp } from './alu.js';

const TWO32 = 4294967296;

export function getIdx(cpu: Cpu, r: number, asz: number): number {
  if (asz === 8) return cpu.regNum(r);
  return asz === 4 ? cpu.get64lo(r) >>> 0 : cpu.get64lo(r) & 0xffff;
}

export function setIdx(cpu: Cpu, r: number, asz: number, v: number): void {
  if (asz === 8) cpu.set64(r, v | 0, Math.floor(v / TWO32) | 0);
  else if (asz === 4) cpu.set32(r, v | 0);
  else cpu.set16(r, v);
}

export function linear(cpu: Cpu, seg: number, off: number, asz: number): number {
  if (asz !== 8) off = asz === 4 ? ((off % TWO32) + TWO32) % TWO32 : ((off % 65536) + 65536) % 65536;
  return cpu.segLinear(seg, off);
}

const enum Kind { Movs, Cmps, Stos, Lods, Scas }

function str(cpu: Cpu, i: Insn): void {
  const kind: Kind = i.arg;
  const size = i.osz, asz = i.asz;
  const step = (cpu.getFlags() & F.DF) ? -size : size;
  const srcSeg = i.seg === Seg.None ? Seg.DS : i.seg;
  const rep = i.rep;
  const compares = kind === Kind.Cmps || kind === Kind.Scas;
  for (;;) {
    if (rep !== 0) {
      const n = getIdx(cpu, R.CX, asz);
      if (n === 0) return;
    }
    switch (kind) {
      case Kind.Movs: {
        const si = getIdx(cpu, R.SI, asz), di = getIdx(cpu, R.DI, asz);
        const v = cpu.readMem(size, linear(cpu, srcSeg, si, asz));
        cpu.writeMem(size, linear(cpu, Seg.ES, di, asz), v, cpu.hi);
        setIdx(cpu, R.SI, asz, si + step);
        setIdx(cpu, R.DI, asz, di + step);
        break;
      }
      case Kind.Stos: {
        const di = getIdx(cpu, R.DI, asz);
        const v = cpu.getReg(size, 0);
        cpu.writeMem(size, linear(cpu, Seg.ES, di, asz), v, cpu.hi);
        setIdx(cpu, R.DI, asz, di + step);
        break;
      }
      case Kind.Lods: {
        const si = getIdx(cpu, R.SI, asz);
        const v = cpu.readMem(size, linear(cpu, srcSeg, si, asz));
        cpu.setReg(size, 0, v, cpu.hi);
        setIdx(cpu, R.SI, asz, si + step);
        break;
      }
      case Kind.Cmps: {
        const si = getIdx(cpu, R.SI, asz), di = getIdx(cpu, R.DI, asz);
        const a = cpu.readMem(size, linear(cpu, srcSeg, si, asz)), aHi = cpu.hi;
        const b = cpu.readMem(size, linear(cpu, Seg.ES, di, asz)), bHi = cpu.hi;
        if (size === 8) alu64(cpu, AluOp.Cmp, a, aHi, b, bHi); else alu(cpu, AluOp.Cmp, size, a, b);
        setIdx(cpu, R.SI, asz, si + step);
        setIdx(cpu, R.DI, asz, di + step);
        break;
      }
      default: {
        const di = getIdx(cpu, R.DI, asz);
        const b = cpu.readMem(size, linear(cpu, Seg.ES, di, asz)), bHi = cpu.hi;
        const a = cpu.getReg(size, 0);
        if (size === 8) alu64(cpu, AluOp.Cmp, a, cpu.hi, b, bHi); else alu(cpu, AluOp.Cmp, size, a, b);
        setIdx(cpu, R.DI, asz, di + step);
        break;
      }
    }
    if (rep === 0) return;
    setIdx(cpu, R.CX, asz, getIdx(cpu, R.CX, asz) - 1);
    // REPE stops on a mismatch, REPNE on a match; only cmps and scas test ZF.
    if (compares && (rep === 0xf3 ? !cpu.zf() : cpu.zf())) return;
  }
}

const NAMES = ['movs', 'cmps', 'stos', 'lods', 'scas'];
const CODES = [0xa4, 0xa6, 0xaa, 0xac, 0xae];
const OPS = [['Yb,Xb', 'Yv,Xv'], ['Xb,Yb', 'Xv,Yv'], ['Yb,AL', 'Yv,eAX'], ['AL,Xb', 'eAX,Xv'], ['AL,Yb', 'eAX,Yv']];

export const rows: OpDef[] = NAMES.flatMap((mn, k): OpDef[] => [
  { mn, code: CODES[k], ops: OPS[k][0], exec: str, arg: k, wf: k === Kind.Cmps || k === Kind.Scas ? 'OSZAPC' : undefined },
  { mn, code: CODES[k] + 1, ops: OPS[k][1], exec: str, arg: k, wf: k === Kind.Cmps || k === Kind.Scas ? 'OSZAPC' : undefined },
]);

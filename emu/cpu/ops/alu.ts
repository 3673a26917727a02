/**
 * The eight classic ALU operations, numbered as ModRM /digit and opcode bits
 * 5..3 number them (add or adc sbb and sub xor cmp), plus test, inc, dec, neg
 * and not. Flags are left lazy (see flags.ts).
 */
import type { Cpu } from '../cpu.js';
import type { Handler, Insn } from '../insn.js';
import type { OpDef } from '../table.js';
import { Lazy, MASK } from '../flags.js';

export const enum AluOp { Add = 0, Or, Adc, Sbb, And, Sub, Xor, Cmp }
const NAMES = ['add', 'or', 'adc', 'sbb', 'and', 'sub', 'xor', 'cmp'];
const TWO32 = 4294967296;

/** Applies `op` to operands of 1, 2 or 4 bytes; returns the result masked to the size. */
export function alu(cpu: Cpu, op: number, size: number, a: number, b: number): number {
  const m = MASK[size];
  a &= m; b &= m;
  let res: number, kind: Lazy;
  switch (op) {
    case AluOp.Add: res = (a + b) & m; kind = Lazy.Add; break;
    case AluOp.Or: res = a | b; kind = Lazy.Logic; break;
    case AluOp.Adc: { const c = cpu.cf() ? 1 : 0; cpu.lazyCarry = c; res = (a + b + c) & m; kind = Lazy.Adc; break; }
    case AluOp.Sbb: { const c = cpu.cf() ? 1 : 0; cpu.lazyCarry = c; res = (a - b - c) & m; kind = Lazy.Sbb; break; }
    case AluOp.And: res = a & b; kind = Lazy.Logic; break;
    case AluOp.Xor: res = a ^ b; kind = Lazy.Logic; break;
    default: res = (a - b) & m; kind = Lazy.Sub; break;
  }
  cpu.setLazy(kind, size, a, 0, b, 0, res, 0);
  return res;
}

/** Applies `op` to 64-bit operands as lo/hi pairs; returns the low dword, high dword in cpu.hi. */
export function alu64(cpu: Cpu, op: number, a: number, aHi: number, b: number, bHi: number): number {
  let lo: number, hi: number, kind: Lazy;
  switch (op) {
    case AluOp.Add: case AluOp.Adc: {
      const c = op === AluOp.Adc ? (cpu.cf() ? 1 : 0) : 0;
      cpu.lazyCarry = c;
      const s = (a >>> 0) + (b >>> 0) + c;
      lo = s | 0; hi = (aHi + bHi + (s >= TWO32 ? 1 : 0)) | 0;
      kind = op === AluOp.Adc ? Lazy.Adc : Lazy.Add;
      break;
    }
    case AluOp.Sub: case AluOp.Sbb: case AluOp.Cmp: {
      const c = op === AluOp.Sbb ? (cpu.cf() ? 1 : 0) : 0;
      cpu.lazyCarry = c;
      const s = (a >>> 0) - (b >>> 0) - c;
      lo = s | 0; hi = (aHi - bHi - (s < 0 ? 1 : 0)) | 0;
      kind = op === AluOp.Sbb ? Lazy.Sbb : Lazy.Sub;
      break;
    }
    case AluOp.Or: lo = a | b; hi = aHi | bHi; kind = Lazy.Logic; break;
    case AluOp.And: lo = a & b; hi = aHi & bHi; kind = Lazy.Logic; break;
    default: lo = a ^ b; hi = aHi ^ bHi; kind = Lazy.Logic; break;
  }
  cpu.setLazy(kind, 8, a, aHi, b, bHi, lo, hi);
  cpu.hi = hi;
  return lo;
}

/** Read-modify-write of the r/m operand with `op` and source b:bHi. */
function aluOnE(cpu: Cpu, i: Insn, op: number, b: number, bHi: number): void {
  const size = i.osz;
  const a = cpu.rmwRead(i, size);
  const r = size === 8 ? alu64(cpu, op, a, cpu.hi, b, bHi) : alu(cpu, op, size, a, b);
  if (op !== AluOp.Cmp) cpu.rmwWrite(i, size, r, cpu.hi);
}

function aluEG(cpu: Cpu, i: Insn): void {
  const b = cpu.readG(i, i.osz);
  aluOnE(cpu, i, i.arg, b, cpu.hi);
}

function aluGE(cpu: Cpu, i: Insn): void {
  const size = i.osz;
  const b = cpu.readE(i, size), bHi = cpu.hi;
  const a = cpu.readG(i, size);
  const r = size === 8 ? alu64(cpu, i.arg, a, cpu.hi, b, bHi) : alu(cpu, i.arg, size, a, b);
  if (i.arg !== AluOp.Cmp) cpu.writeG(i, size, r, cpu.hi);
}

function aluAI(cpu: Cpu, i: Insn): void {
  const size = i.osz;
  const a = cpu.getReg(size, 0);
  const r = size === 8 ? alu64(cpu, i.arg, a, cpu.hi, i.imm, i.immHi) : alu(cpu, i.arg, size, a, i.imm);
  if (i.arg !== AluOp.Cmp) cpu.setReg(size, 0, r, cpu.hi);
}

function aluEI(cpu: Cpu, i: Insn): void {
  aluOnE(cpu, i, i.arg, i.imm, i.immHi);
}

function testEG(cpu: Cpu, i: Insn): void {
  const size = i.osz;
  const a = cpu.readE(i, size), aHi = cpu.hi;
  const b = cpu.readG(i, size);
  if (size === 8) alu64(cpu, AluOp.And, a, aHi, b, cpu.hi); else alu(cpu, AluOp.And, size, a, b);
}

function testAI(cpu: Cpu, i: Insn): void {
  const size = i.osz;
  const a = cpu.getReg(size, 0);
  if (size === 8) alu64(cpu, AluOp.And, a, cpu.hi, i.imm, i.immHi); else alu(cpu, AluOp.And, size, a, i.imm);
}

function testEI(cpu: Cpu, i: Insn): void {
  const size = i.osz;
  const a = cpu.readE(i, size);
  if (size === 8) alu64(cpu, AluOp.And, a, cpu.hi, i.imm, i.immHi); else alu(cpu, AluOp.And, size, a, i.imm);
}

/** inc and dec keep CF (SDM Vol.2A INC/DEC); the lazy record carries the old CF. */
export function incDec(cpu: Cpu, i: Insn): void {
  const size = i.osz;
  const cf = cpu.cf() ? 1 : 0;
  const a = cpu.rmwRead(i, size);
  const dec = i.arg === 1;
  let r: number, rHi = 0;
  if (size === 8) {
    const aHi = cpu.hi;
    if (dec) { r = (a - 1) | 0; rHi = a === 0 ? (aHi - 1) | 0 : aHi; }
    else { r = (a + 1) | 0; rHi = r === 0 ? (aHi + 1) | 0 : aHi; }
    cpu.setLazy(dec ? Lazy.Dec : Lazy.Inc, 8, a, aHi, 1, 0, r, rHi);
  } else {
    const m = MASK[size];
    const av = a & m;
    r = (dec ? av - 1 : av + 1) & m;
    cpu.setLazy(dec ? Lazy.Dec : Lazy.Inc, size, av, 0, 1, 0, r, 0);
  }
  cpu.lazyCarry = cf;
  cpu.rmwWrite(i, size, r, rHi);
}

function neg(cpu: Cpu, i: Insn): void {
  const size = i.osz;
  const a = cpu.rmwRead(i, size);
  const r = size === 8 ? alu64(cpu, AluOp.Sub, 0, 0, a, cpu.hi) : alu(cpu, AluOp.Sub, size, 0, a);
  cpu.rmwWrite(i, size, r, cpu.hi);
}

function not(cpu: Cpu, i: Insn): void {
  const size = i.osz;
  const a = cpu.rmwRead(i, size);
  cpu.rmwWrite(i, size, ~a, ~cpu.hi);
}

/*
 * Register-register forms at 32 and 64 bits are most of what compiled code
 * runs; these skip the operand-size and memory dispatch of the generic path.
 */
function aluRR32(cpu: Cpu, i: Insn): void {
  const regs = cpu.regs;
  const d = i.row.code & 2 ? i.reg : i.rm, s = i.row.code & 2 ? i.rm : i.reg;
  const r = alu(cpu, i.arg, 4, regs[d << 1], regs[s << 1]);
  if (i.arg !== AluOp.Cmp) { regs[d << 1] = r; regs[(d << 1) | 1] = 0; }
}

function aluRR64(cpu: Cpu, i: Insn): void {
  const regs = cpu.regs;
  const d = i.row.code & 2 ? i.reg : i.rm, s = i.row.code & 2 ? i.rm : i.reg;
  const r = alu64(cpu, i.arg, regs[d << 1], regs[(d << 1) | 1], regs[s << 1], regs[(s << 1) | 1]);
  if (i.arg !== AluOp.Cmp) { regs[d << 1] = r; regs[(d << 1) | 1] = cpu.hi; }
}

function specializeRR(i: Insn): Handler | null {
  if (i.isMem) return null;
  return i.osz === 4 ? aluRR32 : i.osz === 8 ? aluRR64 : null;
}

const OSZAPC = 'OSZAPC';

function aluRows(): OpDef[] {
  const rows: OpDef[] = [];
  for (let op = 0; op < 8; op++) {
    const mn = NAMES[op];
    const base = op << 3;
    const lock = op !== AluOp.Cmp;
    const flags = { wf: OSZAPC, uf: op === AluOp.And || op === AluOp.Or || op === AluOp.Xor ? 'A' : '' };
    rows.push(
      { mn, code: base + 0, ops: 'Eb,Gb', exec: aluEG, arg: op, lock, ...flags },
      { mn, code: base + 1, ops: 'Ev,Gv', exec: aluEG, arg: op, lock, specialize: specializeRR, ...flags },
      { mn, code: base + 2, ops: 'Gb,Eb', exec: aluGE, arg: op, ...flags },
      { mn, code: base + 3, ops: 'Gv,Ev', exec: aluGE, arg: op, specialize: specializeRR, ...flags },
      { mn, code: base + 4, ops: 'AL,Ib', exec: aluAI, arg: op, ...flags },
      { mn, code: base + 5, ops: 'eAX,Iz', exec: aluAI, arg: op, ...flags },
      { mn, code: 0x80, digit: op, ops: 'Eb,Ib', exec: aluEI, arg: op, lock, ...flags },
      { mn, code: 0x81, digit: op, ops: 'Ev,Iz', exec: aluEI, arg: op, lock, ...flags },
      { mn, code: 0x82, digit: op, ops: 'Eb,Ib', exec: aluEI, arg: op, lock, mode: 'i64', ...flags },
      { mn, code: 0x83, digit: op, ops: 'Ev,sIb', exec: aluEI, arg: op, lock, ...flags },
    );
  }
  return rows;
}

export const rows: OpDef[] = [
  ...aluRows(),
  { mn: 'test', code: 0x84, ops: 'Eb,Gb', exec: testEG, wf: OSZAPC, uf: 'A' },
  { mn: 'test', code: 0x85, ops: 'Ev,Gv', exec: testEG, wf: OSZAPC, uf: 'A' },
  { mn: 'test', code: 0xa8, ops: 'AL,Ib', exec: testAI, wf: OSZAPC, uf: 'A' },
  { mn: 'test', code: 0xa9, ops: 'eAX,Iz', exec: testAI, wf: OSZAPC, uf: 'A' },
  { mn: 'test', code: 0xf6, digit: 0, ops: 'Eb,Ib', exec: testEI, wf: OSZAPC, uf: 'A' },
  { mn: 'test', code: 0xf6, digit: 1, ops: 'Eb,Ib', exec: testEI, wf: OSZAPC, uf: 'A' },
  { mn: 'test', code: 0xf7, digit: 0, ops: 'Ev,Iz', exec: testEI, wf: OSZAPC, uf: 'A' },
  { mn: 'test', code: 0xf7, digit: 1, ops: 'Ev,Iz', exec: testEI, wf: OSZAPC, uf: 'A' },
  { mn: 'not', code: 0xf6, digit: 2, ops: 'Eb', exec: not, lock: true },
  { mn: 'not', code: 0xf7, digit: 2, ops: 'Ev', exec: not, lock: true },
  { mn: 'neg', code: 0xf6, digit: 3, ops: 'Eb', exec: neg, lock: true, wf: OSZAPC },
  { mn: 'neg', code: 0xf7, digit: 3, ops: 'Ev', exec: neg, lock: true, wf: OSZAPC },
  { mn: 'inc', code: 0xfe, digit: 0, ops: 'Eb', exec: incDec, arg: 0, lock: true, wf: 'OSZAP' },
  { mn: 'dec', code: 0xfe, digit: 1, ops: 'Eb', exec: incDec, arg: 1, lock: true, wf: 'OSZAP' },
  { mn: 'inc', code: 0xff, digit: 0, ops: 'Ev', exec: incDec, arg: 0, lock: true, wf: 'OSZAP' },
  { mn: 'dec', code: 0xff, digit: 1, ops: 'Ev', exec: incDec, arg: 1, lock: true, wf: 'OSZAP' },
  ...Array.from({ length: 8 }, (_, r): OpDef => ({ mn: 'inc', code: 0x40 + r, ops: 'Zv', exec: incDec, arg: 0, mode: 'i64', wf: 'OSZAP' })),
  ...Array.from({ length: 8 }, (_, r): OpDef => ({ mn: 'dec', code: 0x48 + r, ops: 'Zv', exec: incDec, arg: 1, mode: 'i64', wf: 'OSZAP' })),
];

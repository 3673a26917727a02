/** Near jumps, calls, returns, Jcc and the loop family. Every row ends a basic block. */
import type { Cpu } from '../cpu.js';
import type { Insn } from '../insn.js';
import type { OpDef } from '../table.js';
import { CC_NAMES } from './mov.js';
import { Mode } from '../decode.js';
import { R } from '../regs.js';

export function jcc(cpu: Cpu, i: Insn): void { if (cpu.cond(i.arg)) cpu.jumpRel(i.imm, i.osz); }
function jmpRel(cpu: Cpu, i: Insn): void { cpu.jumpRel(i.imm, i.osz); }
function jmpE(cpu: Cpu, i: Insn): void { const lo = cpu.readE(i, i.osz); cpu.jumpTo(lo, i.osz === 8 ? cpu.hi : 0); }

/* A call checks its target before pushing, so a #GP leaves the stack untouched;
   a #PF on the push is restarted from the call itself (the run loop restores RIP). */
function callRel(cpu: Cpu, i: Insn): void {
  const ret = cpu.rip;
  cpu.jumpRel(i.imm, i.osz);
  pushRip(cpu, i.osz, ret);
}

function callE(cpu: Cpu, i: Insn): void {
  const lo = cpu.readE(i, i.osz), hi = i.osz === 8 ? cpu.hi : 0;
  const ret = cpu.rip;
  cpu.jumpTo(lo, hi);
  pushRip(cpu, i.osz, ret);
}

function pushRip(cpu: Cpu, size: number, rip: number): void {
  cpu.push(size, rip | 0, size === 8 ? Math.floor(rip / 4294967296) | 0 : 0);
}

/** ret checks its target before releasing the stack, so a #GP leaves RSP as it was. */
function ret(cpu: Cpu, i: Insn): void {
  const sp = cpu.get64lo(R.SP), spHi = cpu.get64hi(R.SP);
  const lo = cpu.pop(i.osz), hi = i.osz === 8 ? cpu.hi : 0;
  try {
    cpu.jumpTo(lo, hi);
  } catch (e) {
    cpu.set64(R.SP, sp, spHi);
    throw e;
  }
  if (i.imm !== 0) {
    const top = cpu.regNum(R.SP) + (i.imm & 0xffff);
    if (cpu.mode === Mode.Long64) cpu.set64(R.SP, top | 0, Math.floor(top / 4294967296) | 0);
    else cpu.set32(R.SP, top | 0);
  }
}

/** loop/loope/loopne/jrcxz count in rCX at the address size (SDM Vol.2A LOOPcc). */
function loop(cpu: Cpu, i: Insn): void {
  const asz = i.asz;
  let taken: boolean;
  if (i.arg === 3) {
    taken = asz === 8 ? (cpu.get64lo(R.CX) | cpu.get64hi(R.CX)) === 0 : asz === 4 ? cpu.get64lo(R.CX) === 0 : (cpu.get64lo(R.CX) & 0xffff) === 0;
  } else {
    let zero: boolean;
    if (asz === 8) {
      const lo = cpu.get64lo(R.CX), hi = cpu.get64hi(R.CX);
      const nlo = (lo - 1) | 0, nhi = lo === 0 ? (hi - 1) | 0 : hi;
      cpu.set64(R.CX, nlo, nhi);
      zero = (nlo | nhi) === 0;
    } else if (asz === 4) {
      const n = (cpu.get64lo(R.CX) - 1) | 0;
      cpu.set32(R.CX, n);
      zero = n === 0;
    } else {
      const n = (cpu.get64lo(R.CX) - 1) & 0xffff;
      cpu.set16(R.CX, n);
      zero = n === 0;
    }
    taken = !zero && (i.arg === 2 || (i.arg === 1 ? cpu.zf() : !cpu.zf()));
  }
  if (taken) cpu.jumpRel(i.imm, i.osz);
}

export const rows: OpDef[] = [
  ...CC_NAMES.map((cc, n): OpDef => ({ mn: 'j' + cc, code: 0x70 + n, ops: 'Jb', size: 'f64', exec: jcc, arg: n, end: true })),
  ...CC_NAMES.map((cc, n): OpDef => ({ mn: 'j' + cc, code: 0x0f80 + n, ops: 'Jz', size: 'f64', exec: jcc, arg: n, end: true })),
  { mn: 'jmp', code: 0xeb, ops: 'Jb', size: 'f64', exec: jmpRel, end: true },
  { mn: 'jmp', code: 0xe9, ops: 'Jz', size: 'f64', exec: jmpRel, end: true },
  { mn: 'jmp', code: 0xff, digit: 4, ops: 'Ev', size: 'f64', exec: jmpE, end: true },
  { mn: 'call', code: 0xe8, ops: 'Jz', size: 'f64', exec: callRel, end: true },
  { mn: 'call', code: 0xff, digit: 2, ops: 'Ev', size: 'f64', exec: callE, end: true },
  { mn: 'ret', code: 0xc3, size: 'f64', exec: ret, end: true },
  { mn: 'ret', code: 0xc2, ops: 'Iw', size: 'f64', exec: ret, end: true },
  { mn: 'loopne', code: 0xe0, ops: 'Jb', size: 'f64', exec: loop, arg: 0, end: true },
  { mn: 'loope', code: 0xe1, ops: 'Jb', size: 'f64', exec: loop, arg: 1, end: true },
  { mn: 'loop', code: 0xe2, ops: 'Jb', size: 'f64', exec: loop, arg: 2, end: true },
  { mn: 'jcxz|jecxz|jrcxz', code: 0xe3, ops: 'Jb', size: 'f64', exec: loop, arg: 3, end: true },
];

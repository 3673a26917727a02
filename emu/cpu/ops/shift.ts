/**
 * Shifts and rotates (SDM Vol.2B SAL/SAR/SHL/SHR, RCL/RCR/ROL/ROR) in their
 * by-imm8, by-1 and by-CL forms, and the double shifts SHLD/SHRD. Operations
 * are numbered as the group-2 ModRM /digit numbers them, so the digit is the
 * row's `arg`; /6 is an undocumented alias of /4 and behaves as SHL.
 *
 * The count is masked to 5 bits (6 with a 64-bit operand). A masked count of
 * 0 leaves every flag alone, but the destination is still written, so a
 * 32-bit register destination is zero-extended and a memory destination gets
 * its store, as the hardware's read-modify-write does.
 *
 * Where the SDM leaves a flag undefined we follow what Intel cores do (as
 * measured by box64's Intel mode and Bochs): AF is cleared by the shifts, and
 * OF is the SDM's 1-bit formula applied to the first bit step of the operation
 * whatever the count — for SHL that is the xor of the operand's top two bits,
 * not MSB(result) xor CF as on AMD. Flags are computed eagerly: the lazy
 * record in flags.ts has no shift kind.
 */
import type { Cpu } from '../cpu.js';
import type { Insn } from '../insn.js';
import type { OpDef } from '../table.js';
import { F, MASK, PARITY, SIGN } from '../flags.js';
import { R } from '../regs.js';

export const enum ShiftOp { Rol = 0, Ror, Rcl, Rcr, Shl, Shr, Sal, Sar }
const NAMES = ['rol', 'ror', 'rcl', 'rcr', 'shl', 'shr', 'shl', 'sar'];

// ---- 64-bit helpers on int32 lo/hi pairs -----------------------------------

/** High dword of the last 64-bit helper result. */
let sHi = 0;

/** lo:hi << c for 0 < c < 64. */
function shl64(lo: number, hi: number, c: number): number {
  if (c < 32) { sHi = (hi << c) | (lo >>> (32 - c)); return lo << c; }
  sHi = lo << (c - 32);
  return 0;
}

/** lo:hi >>> c for 0 < c < 64. */
function shr64(lo: number, hi: number, c: number): number {
  if (c < 32) { sHi = hi >>> c; return (lo >>> c) | (hi << (32 - c)); }
  sHi = 0;
  return (hi >>> (c - 32)) | 0;
}

/** lo:hi >> c (arithmetic) for 0 < c < 64. */
function sar64(lo: number, hi: number, c: number): number {
  if (c < 32) { sHi = hi >> c; return (lo >>> c) | (hi << (32 - c)); }
  sHi = hi >> 31;
  return hi >> (c - 32);
}

function bit64(lo: number, hi: number, k: number): number {
  return k < 32 ? (lo >>> k) & 1 : (hi >>> (k - 32)) & 1;
}

// ---- flags -------------------------------------------------------------------

/** Shifts: SF ZF PF from the result, CF and OF as given, AF cleared (Intel). */
function shiftFlags(cpu: Cpu, size: number, res: number, resHi: number, cf: number, of: number): void {
  let bits = PARITY[res & 0xff] | (cf ? F.CF : 0) | (of ? F.OF : 0);
  if (size === 8) {
    if ((res | resHi) === 0) bits |= F.ZF;
    if (resHi < 0) bits |= F.SF;
  } else {
    if ((res & MASK[size]) === 0) bits |= F.ZF;
    if (res & SIGN[size]) bits |= F.SF;
  }
  cpu.setArith(bits);
}

/** Rotates write only CF and OF (SDM: SF ZF AF PF are unaffected). */
function rotateFlags(cpu: Cpu, cf: number, of: number): void {
  cpu.setArith((cpu.getFlags() & ~(F.CF | F.OF)) | (cf ? F.CF : 0) | (of ? F.OF : 0));
}

// ---- the operations ------------------------------------------------------------

/** `op` on a 1-, 2- or 4-byte value by a raw count; returns the result masked to `size`. */
export function shift(cpu: Cpu, op: number, size: number, a: number, count: number): number {
  const bits = size << 3, msb = bits - 1, m = MASK[size];
  a &= m;
  let c = count & 31;
  // RCL/RCR rotate through size+1 bits: 9 and 17 for bytes and words.
  if (op === ShiftOp.Rcl || op === ShiftOp.Rcr) {
    if (size === 1) c %= 9; else if (size === 2) c %= 17;
  }
  if (c === 0) return a;
  const top = (a >>> msb) & 1, next = (a >>> (msb - 1)) & 1;
  switch (op) {
    case ShiftOp.Rol: {
      // A count that is a multiple of the width still sets CF and OF (SDM pseudocode).
      const r = c & msb;
      const res = r === 0 ? a : ((a << r) | (a >>> (bits - r))) & m;
      rotateFlags(cpu, res & 1, top ^ next);
      return res;
    }
    case ShiftOp.Ror: {
      const r = c & msb;
      const res = r === 0 ? a : ((a >>> r) | (a << (bits - r))) & m;
      rotateFlags(cpu, (res >>> msb) & 1, top ^ (a & 1));
      return res;
    }
    case ShiftOp.Rcl: {
      const cin = cpu.cf() ? 1 : 0;
      const res = ((a << c) | (cin << (c - 1)) | (c > 1 ? a >>> (bits + 1 - c) : 0)) & m;
      rotateFlags(cpu, (a >>> (bits - c)) & 1, top ^ next);
      return res;
    }
    case ShiftOp.Rcr: {
      const cin = cpu.cf() ? 1 : 0;
      const res = ((a >>> c) | (cin << (bits - c)) | (c > 1 ? a << (bits + 1 - c) : 0)) & m;
      rotateFlags(cpu, (a >>> (c - 1)) & 1, top ^ cin);
      return res;
    }
    case ShiftOp.Shr: {
      const res = a >>> c;
      shiftFlags(cpu, size, res, 0, (a >>> (c - 1)) & 1, top);
      return res;
    }
    case ShiftOp.Sar: {
      const sa = (a << (32 - bits)) >> (32 - bits);
      const res = (sa >> c) & m;
      shiftFlags(cpu, size, res, 0, (sa >> (c - 1)) & 1, 0);
      return res;
    }
    default: {
      // SHL/SAL. Bytes and words can be shifted past their width: the result
      // is 0 and the last bit out is bit 0 at exactly the width, else 0.
      const res = (a << c) & m;
      shiftFlags(cpu, size, res, 0, c <= bits ? (a >>> (bits - c)) & 1 : 0, top ^ next);
      return res;
    }
  }
}

/** `op` on a 64-bit value lo:hi; returns the low dword, high dword in cpu.hi. */
export function shift64(cpu: Cpu, op: number, lo: number, hi: number, count: number): number {
  const c = count & 63;
  if (c === 0) { cpu.hi = hi; return lo; }
  const top = hi >>> 31, next = (hi >>> 30) & 1;
  let rLo: number, rHi: number;
  switch (op) {
    case ShiftOp.Rol: {
      rLo = shl64(lo, hi, c); rHi = sHi;
      rLo |= shr64(lo, hi, 64 - c); rHi |= sHi;
      rotateFlags(cpu, rLo & 1, top ^ next);
      break;
    }
    case ShiftOp.Ror: {
      rLo = shr64(lo, hi, c); rHi = sHi;
      rLo |= shl64(lo, hi, 64 - c); rHi |= sHi;
      rotateFlags(cpu, rHi >>> 31, top ^ (lo & 1));
      break;
    }
    case ShiftOp.Rcl: {
      const cin = cpu.cf() ? 1 : 0;
      rLo = shl64(lo, hi, c); rHi = sHi;
      if (c > 1) { rLo |= shr64(lo, hi, 65 - c); rHi |= sHi; }
      if (c <= 32) rLo |= cin << (c - 1); else rHi |= cin << (c - 33);
      rotateFlags(cpu, bit64(lo, hi, 64 - c), top ^ next);
      break;
    }
    case ShiftOp.Rcr: {
      const cin = cpu.cf() ? 1 : 0;
      rLo = shr64(lo, hi, c); rHi = sHi;
      if (c > 1) { rLo |= shl64(lo, hi, 65 - c); rHi |= sHi; }
      if (c > 32) rLo |= cin << (64 - c); else rHi |= cin << (32 - c);
      rotateFlags(cpu, bit64(lo, hi, c - 1), top ^ cin);
      break;
    }
    case ShiftOp.Shr:
      rLo = shr64(lo, hi, c); rHi = sHi;
      shiftFlags(cpu, 8, rLo, rHi, bit64(lo, hi, c - 1), top);
      break;
    case ShiftOp.Sar:
      rLo = sar64(lo, hi, c); rHi = sHi;
      shiftFlags(cpu, 8, rLo, rHi, bit64(lo, hi, c - 1), 0);
      break;
    default:
      rLo = shl64(lo, hi, c); rHi = sHi;
      shiftFlags(cpu, 8, rLo, rHi, bit64(lo, hi, 64 - c), top ^ next);
      break;
  }
  cpu.hi = rHi;
  return rLo;
}

/** Read-modify-write of the r/m operand by `count`. */
function shiftE(cpu: Cpu, i: Insn, count: number): void {
  const size = i.osz;
  const a = cpu.rmwRead(i, size);
  const r = size === 8 ? shift64(cpu, i.arg, a, cpu.hi, count) : shift(cpu, i.arg, size, a, count);
  cpu.rmwWrite(i, size, r, cpu.hi);
}

export function shiftIb(cpu: Cpu, i: Insn): void { shiftE(cpu, i, i.imm); }
export function shift1(cpu: Cpu, i: Insn): void { shiftE(cpu, i, 1); }
function shiftCL(cpu: Cpu, i: Insn): void { shiftE(cpu, i, cpu.get64lo(R.CX)); }

// ---- SHLD / SHRD -----------------------------------------------------------------

/**
 * shld (arg 0) / shrd (arg 1) of the r/m operand with bits from the G register.
 * A 16-bit count above 16 is undefined in the SDM; P6 and later Intel cores
 * rotate the 32-bit concatenation, so the destination's own bits come round
 * again after the source's (Bochs notes the same), and CF is the bit that
 * rotation leaves at the far end. OF is the sign change of the first bit
 * step: the top two destination bits for SHLD, source bit 0 against the
 * destination's sign for SHRD.
 */
function doubleShift(cpu: Cpu, i: Insn, count: number): void {
  const size = i.osz;
  const a = cpu.rmwRead(i, size), aHi = cpu.hi;
  const b = cpu.getReg(size, i.reg), bHi = cpu.hi;
  const left = i.arg === 0;
  const c = count & (size === 8 ? 63 : 31);
  let r = a, rHi = aHi;
  if (c !== 0) {
    let cf: number, of: number;
    if (size === 2) {
      if (left) {
        const v = (a << 16) | b;
        const rot = (v << c) | (v >>> (32 - c));
        r = rot >>> 16; cf = rot & 1; of = ((a >>> 15) ^ (a >>> 14)) & 1;
      } else {
        const v = (b << 16) | a;
        const rot = (v >>> c) | (v << (32 - c));
        r = rot & 0xffff; cf = rot >>> 31; of = (b ^ (a >>> 15)) & 1;
      }
    } else if (size === 4) {
      if (left) { r = (a << c) | (b >>> (32 - c)); cf = (a >>> (32 - c)) & 1; of = ((a >>> 31) ^ (a >>> 30)) & 1; }
      else { r = (a >>> c) | (b << (32 - c)); cf = (a >>> (c - 1)) & 1; of = (b ^ (a >>> 31)) & 1; }
    } else if (left) {
      r = shl64(a, aHi, c); rHi = sHi;
      r |= shr64(b, bHi, 64 - c); rHi |= sHi;
      cf = bit64(a, aHi, 64 - c); of = ((aHi >>> 31) ^ (aHi >>> 30)) & 1;
    } else {
      r = shr64(a, aHi, c); rHi = sHi;
      r |= shl64(b, bHi, 64 - c); rHi |= sHi;
      cf = bit64(a, aHi, c - 1); of = (b ^ (aHi >>> 31)) & 1;
    }
    shiftFlags(cpu, size, r, rHi, cf, of);
  }
  cpu.rmwWrite(i, size, r, rHi);
}

function doubleShiftIb(cpu: Cpu, i: Insn): void { doubleShift(cpu, i, i.imm); }
function doubleShiftCL(cpu: Cpu, i: Insn): void { doubleShift(cpu, i, cpu.get64lo(R.CX)); }

/*
 * Flag masks: rotates write only CF and OF; OF is undefined unless the count
 * is 1, so the by-1 forms define it. For SHL/SHR the SDM also leaves CF
 * undefined when a byte or word is shifted by its width or more, and a 16-bit
 * SHLD/SHRD by more than 16 leaves the result and all flags undefined; those
 * cases depend on the count and are described at the handlers above.
 */
function group2(): OpDef[] {
  const rows: OpDef[] = [];
  for (let op = 0; op < 8; op++) {
    const mn = NAMES[op];
    const rotate = op < ShiftOp.Shl;
    const wf = rotate ? 'OC' : 'OSZAPC';
    // SHL/SHR leave CF undefined when a byte or word is shifted by its width or more (SDM Vol.2B SAL/SAR/SHL/SHR).
    const shlShr = op === ShiftOp.Shl || op === ShiftOp.Sal || op === ShiftOp.Shr;
    const uf = rotate ? 'O' : shlShr ? 'OAC' : 'OA', uf1 = rotate ? '' : 'A';
    rows.push(
      { mn, code: 0xc0, digit: op, ops: 'Eb,Ib', exec: shiftIb, arg: op, wf, uf },
      { mn, code: 0xc1, digit: op, ops: 'Ev,Ib', exec: shiftIb, arg: op, wf, uf },
      { mn, code: 0xd0, digit: op, ops: 'Eb,1', exec: shift1, arg: op, wf, uf: uf1 },
      { mn, code: 0xd1, digit: op, ops: 'Ev,1', exec: shift1, arg: op, wf, uf: uf1 },
      { mn, code: 0xd2, digit: op, ops: 'Eb,CL', exec: shiftCL, arg: op, wf, uf },
      { mn, code: 0xd3, digit: op, ops: 'Ev,CL', exec: shiftCL, arg: op, wf, uf },
    );
  }
  return rows;
}

export const rows: OpDef[] = [
  ...group2(),
  // A word shifted by more than 16 leaves the result and every flag undefined (SDM Vol.2B SHLD/SHRD).
  { mn: 'shld', code: 0x0fa4, ops: 'Ev,Gv,Ib', exec: doubleShiftIb, arg: 0, wf: 'OSZAPC', uf: 'OSZAPC' },
  { mn: 'shld', code: 0x0fa5, ops: 'Ev,Gv,CL', exec: doubleShiftCL, arg: 0, wf: 'OSZAPC', uf: 'OSZAPC' },
  { mn: 'shrd', code: 0x0fac, ops: 'Ev,Gv,Ib', exec: doubleShiftIb, arg: 1, wf: 'OSZAPC', uf: 'OSZAPC' },
  { mn: 'shrd', code: 0x0fad, ops: 'Ev,Gv,CL', exec: doubleShiftCL, arg: 1, wf: 'OSZAPC', uf: 'OSZAPC' },
];

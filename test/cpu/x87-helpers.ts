/**
 * Tiny x87 test kit: encodes the handful of forms the tests use (memory
 * operands are [rbx + disp8]), runs them in a Sandbox and reads results
 * back as bit patterns. Also an exact BigInt reference for rounding a
 * rational to the 80-bit format under round-to-nearest-even.
 */
import { Sandbox } from '../../emu/cpu/sandbox.js';
import { R } from '../../emu/cpu/regs.js';

export const CODE = 0x1000;
export const DATA = 0x8000;

/** Memory form `op /digit [rbx + disp]`. */
export const mem = (op: number, digit: number, disp = 0): number[] => [op, 0x40 | (digit << 3) | 3, disp];
/** Register form `op` with ModRM 11 digit i. */
export const reg = (op: number, digit: number, i = 0): number[] => [op, 0xc0 | (digit << 3) | i];

export class X87 {
  readonly s = new Sandbox();
  /** Each run gets fresh code bytes: the decode cache never sees a rewritten address. */
  private pc = CODE;

  constructor() { this.s.setReg(R.BX, BigInt(DATA)); }

  /** Runs the instructions; returns the fault vectors seen (none when all ran). */
  run(...insns: number[][]): number[] {
    const code = insns.flat();
    const start = this.pc;
    this.pc += code.length;
    this.s.faults = [];
    this.s.load(start, code);
    while (this.s.cpu.rip < start + code.length && this.s.faults.length === 0) this.s.step(1);
    return this.s.faults.map((f) => f.vector);
  }

  setU64(off: number, v: bigint): void { this.s.phys.bytes.set(bytesOf(BigInt.asUintN(64, v), 8), DATA + off); }
  setU16(off: number, v: number): void { this.s.phys.bytes.set(bytesOf(BigInt(v & 0xffff), 2), DATA + off); }
  setF64(off: number, d: number): void { const b = new DataView(new ArrayBuffer(8)); b.setFloat64(0, d, true); this.s.phys.bytes.set(new Uint8Array(b.buffer), DATA + off); }
  /** An 80-bit image: sign|exponent and significand. */
  set80(off: number, se: number, sig: bigint): void { this.setU64(off, sig); this.setU16(off + 8, se); }

  u64(off: number): bigint { return read(this.s.phys.bytes, DATA + off, 8); }
  u32(off: number): bigint { return read(this.s.phys.bytes, DATA + off, 4); }
  u16(off: number): number { return Number(read(this.s.phys.bytes, DATA + off, 2)); }
  f64(off: number): number { return new DataView(this.s.phys.bytes.buffer, this.s.phys.bytes.byteOffset).getFloat64(DATA + off, true); }
  /** The 80-bit image at off as "seee ssssssssssssssss". */
  hex80(off: number): string { return `${this.u16(off + 8).toString(16).padStart(4, '0')} ${this.u64(off).toString(16).padStart(16, '0')}`; }

  get fsw(): number { return this.s.cpu.fsw; }
  get top(): number { return (this.s.cpu.fsw >> 11) & 7; }
}

function bytesOf(v: bigint, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let k = 0; k < n; k++) out[k] = Number((v >> BigInt(8 * k)) & 0xffn);
  return out;
}

function read(b: Uint8Array, at: number, n: number): bigint {
  let v = 0n;
  for (let k = n - 1; k >= 0; k--) v = (v << 8n) | BigInt(b[at + k]);
  return v;
}

/** num/den (positive) rounded to 64 significant bits, nearest-even, as "seee ssss…" (normal range only). */
export function refDiv(num: bigint, den: bigint): string {
  let e = 0;
  while (num >= den << 64n) { den <<= 1n; e++; }
  while (num < den << 63n) { num <<= 1n; e--; }
  let q = num / den;
  const r = num - q * den;
  if (2n * r > den || (2n * r === den && (q & 1n) === 1n)) q++;
  if (q === 1n << 64n) { q >>= 1n; e++; }
  return `${(16383 + 63 + e).toString(16).padStart(4, '0')} ${q.toString(16).padStart(16, '0')}`;
}

// Opcodes as named by the tests.
export const FLD_M64 = (d = 0): number[] => mem(0xdd, 0, d);
export const FSTP_M64 = (d = 0): number[] => mem(0xdd, 3, d);
export const FST_M64 = (d = 0): number[] => mem(0xdd, 2, d);
export const FLD_M32 = (d = 0): number[] => mem(0xd9, 0, d);
export const FSTP_M32 = (d = 0): number[] => mem(0xd9, 3, d);
export const FLD_M80 = (d = 0): number[] => mem(0xdb, 5, d);
export const FSTP_M80 = (d = 0): number[] => mem(0xdb, 7, d);
export const FILD_M64 = (d = 0): number[] => mem(0xdf, 5, d);
export const FILD_M32 = (d = 0): number[] => mem(0xdb, 0, d);
export const FISTP_M64 = (d = 0): number[] => mem(0xdf, 7, d);
export const FISTTP_M64 = (d = 0): number[] => mem(0xdd, 1, d);
export const FIST_M32 = (d = 0): number[] => mem(0xdb, 2, d);
export const FLDCW = (d = 0): number[] => mem(0xd9, 5, d);
export const FNSTCW = (d = 0): number[] => mem(0xd9, 7, d);
export const FMUL_M64 = (d = 0): number[] => mem(0xdc, 1, d);
export const FDIV_M64 = (d = 0): number[] => mem(0xdc, 6, d);
export const FNSTSW_AX = [0xdf, 0xe0];
export const FNINIT = [0xdb, 0xe3];
export const FNCLEX = [0xdb, 0xe2];
export const FWAIT = [0x9b];
export const FRNDINT = [0xd9, 0xfc];
export const FLD1 = [0xd9, 0xe8];
export const FLDZ = [0xd9, 0xee];
export const FLDPI = [0xd9, 0xeb];
export const FPREM = [0xd9, 0xf8];
export const FXAM = [0xd9, 0xe5];
export const FDIVP = [0xde, 0xf9];

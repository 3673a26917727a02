/**
 * Plumbing shared by the SSE and MMX families: operand access and the row
 * shapes. Every vector handler works the same way: copy the operands into
 * two 16-byte scratch vectors A (destination, first source) and B (second
 * source), run a pure lane function over them, then copy A back. The lane
 * function sees typed views of every element width, so register and memory
 * forms, and 8-byte MMX and 16-byte XMM forms, share one implementation.
 *
 * Register files: xmm n is cpu.xmm[4n..4n+3]; mm n is the significand of x87
 * physical register n (cpu.fpr[3n], cpu.fpr[3n+1]), SDM Vol.1 §9.2.
 *
 * Alignment: a legacy-SSE 16-byte memory operand must be 16-byte aligned,
 * else #GP(0) (the Vol.2 exception tables), unless the instruction is an
 * explicitly unaligned one: movups, movupd, movdqu, lddqu (Vol.3A,
 * interrupt 17) and the SSE4.2 string compares. Narrower memory operands
 * and MMX operands have no alignment requirement.
 */
import type { Cpu } from '../cpu.js';
import type { Insn, Handler } from '../insn.js';
import type { OpDef } from '../table.js';
import { Access } from '../mmu.js';
import { CpuFault, Vector } from '../fault.js';

/** A 16-byte vector with a view for every element type. */
export class Vec {
  readonly buf = new ArrayBuffer(16);
  readonly u8 = new Uint8Array(this.buf);
  readonly i8 = new Int8Array(this.buf);
  readonly u16 = new Uint16Array(this.buf);
  readonly i16 = new Int16Array(this.buf);
  readonly u32 = new Uint32Array(this.buf);
  readonly i32 = new Int32Array(this.buf);
  readonly f32 = new Float32Array(this.buf);
  readonly f64 = new Float64Array(this.buf);
}

/** Scratch operands: A is the destination (and first source), B the second source, T a temporary. */
export const A = new Vec();
export const B = new Vec();
export const T = new Vec();

/** A lane function: n is the vector width in bytes (8 for MMX, 16 for XMM), imm the imm8 if any. */
export type LaneOp = (n: number, imm: number) => void;

// ---- register files ---------------------------------------------------------

export function getX(cpu: Cpu, r: number, v: Vec): void {
  const x = cpu.xmm, k = r << 2, d = v.i32;
  d[0] = x[k]; d[1] = x[k + 1]; d[2] = x[k + 2]; d[3] = x[k + 3];
}

export function putX(cpu: Cpu, r: number, v: Vec): void {
  const x = cpu.xmm, k = r << 2, s = v.i32;
  x[k] = s[0]; x[k + 1] = s[1]; x[k + 2] = s[2]; x[k + 3] = s[3];
}

export function getMm(cpu: Cpu, r: number, v: Vec): void {
  const f = cpu.fpr, k = r * 3;
  v.i32[0] = f[k]; v.i32[1] = f[k + 1];
}

/** Writing an MMX register sets the aliased x87 register's sign and exponent to all ones (SDM Vol.1 §9.5.1). */
export function putMm(cpu: Cpu, r: number, v: Vec): void {
  const f = cpu.fpr, k = r * 3;
  f[k] = v.i32[0]; f[k + 1] = v.i32[1]; f[k + 2] = 0xffff;
}

/**
 * An MMX instruction first raises #MF for a pending unmasked x87 exception
 * (FSW.ES), like a waiting x87 instruction (the MMX instructions' exception
 * tables). Stores call this before writing memory, then enterMmx.
 */
export function mmxPending(cpu: Cpu): void {
  if (cpu.fsw & 0x80) throw new CpuFault(Vector.MF, -1, 0, `x87 exception pending (fsw ${cpu.fsw.toString(16)})`);
}

/**
 * Every MMX instruction but emms puts the x87 unit in MMX state: TOP = 0 and
 * all tags valid (SDM Vol.1 §9.5.1). Handlers call it after their
 * memory reads and before any register write.
 */
export function enterMmx(cpu: Cpu): void {
  mmxPending(cpu);
  cpu.ftw = 0;
  cpu.fsw &= ~0x3800;
}

// ---- memory -------------------------------------------------------------------

function misaligned(i: Insn): never {
  throw new CpuFault(Vector.GP, 0, 0, `${i.row.mn}: misaligned 16-byte memory operand`);
}

/** Reads 16 bytes at `lin` into v. */
export function load128(cpu: Cpu, lin: number, v: Vec): void {
  const mmu = cpu.mmu;
  v.i32[0] = mmu.read64(lin); v.i32[1] = mmu.hi;
  v.i32[2] = mmu.read64(lin + 8); v.i32[3] = mmu.hi;
}

/** Writes 16 bytes; a store that crosses a page checks both pages before writing either. */
export function store128(cpu: Cpu, lin: number, v: Vec): void {
  probeWrite(cpu, lin, 16);
  const mmu = cpu.mmu;
  mmu.write64(lin, v.i32[0], v.i32[1]);
  mmu.write64(lin + 8, v.i32[2], v.i32[3]);
}

/** Faults now if any page of [lin, lin+size) is not writable, so a multi-part store is all or nothing. */
export function probeWrite(cpu: Cpu, lin: number, size: number): void {
  // Within one page the first write faults before anything has changed.
  if ((lin & 0xfff) + size <= 4096) return;
  const end = lin + size - 1;
  cpu.mmu.translate(lin, Access.Write);
  for (let p = lin - (lin & 0xfff) + 4096; p <= end; p += 4096) cpu.mmu.translate(p, Access.Write);
}

/** The effective address of a 16-byte operand that must be aligned. */
export function ea16(cpu: Cpu, i: Insn): number {
  const lin = cpu.ea(i);
  if (lin & 15) misaligned(i);
  return lin;
}

/**
 * Loads the r/m source: an xmm register, or `size` bytes of memory into the
 * low bytes of v (16-byte reads are alignment-checked unless `unaligned`).
 */
export function srcX(cpu: Cpu, i: Insn, v: Vec, size: number, unaligned = false): void {
  if (!i.isMem) { getX(cpu, i.rm, v); return; }
  readMemTo(cpu, i, cpu.ea(i), v, size, unaligned);
}

function readMemTo(cpu: Cpu, i: Insn, lin: number, v: Vec, size: number, unaligned: boolean): void {
  const mmu = cpu.mmu;
  switch (size) {
    case 16:
      if (!unaligned && (lin & 15)) misaligned(i);
      load128(cpu, lin, v);
      return;
    case 8: v.i32[0] = mmu.read64(lin); v.i32[1] = mmu.hi; return;
    case 4: v.i32[0] = mmu.read32(lin); return;
    case 2: v.u16[0] = mmu.read16(lin); return;
    default: v.u8[0] = mmu.read8(lin);
  }
}

/** Loads the r/m source of an MMX form: mm register (REX.B is ignored) or `size` bytes of memory. */
export function srcMm(cpu: Cpu, i: Insn, v: Vec, size: number): void {
  if (!i.isMem) { getMm(cpu, i.rm & 7, v); return; }
  readMemTo(cpu, i, cpu.ea(i), v, size, true);
}

// ---- handler shapes ---------------------------------------------------------------

/** xmm ← op(xmm, xmm/m): the 66-prefixed (or SSE) form. */
export function xmmOp(op: LaneOp, mem = 16, unaligned = false): Handler {
  return (cpu, i) => {
    srcX(cpu, i, B, mem, unaligned);
    getX(cpu, i.reg, A);
    op(16, i.imm & 0xff);
    putX(cpu, i.reg, A);
  };
}

/** mm ← op(mm, mm/m): the unprefixed MMX form. */
export function mmxOp(op: LaneOp, mem = 8): Handler {
  return (cpu, i) => {
    srcMm(cpu, i, B, mem);
    enterMmx(cpu);
    const r = i.reg & 7;
    getMm(cpu, r, A);
    op(8, i.imm & 0xff);
    putMm(cpu, r, A);
  };
}

export interface PairOpts {
  /** Memory operand size of the MMX form: 8, or 4 for the low-half unpacks. */
  mmxMem?: number;
  /** The form takes an imm8. */
  imm?: boolean;
}

/** The NP (MMX) and 66 (XMM) rows of one integer operation, e.g. 0F FC paddb. */
export function pair(mn: string, code: number, op: LaneOp, o: PairOpts = {}): OpDef[] {
  const ib = o.imm ? ',Ib' : '';
  return [
    { mn, code, pfx: 0, ops: `Pq,Q${o.mmxMem === 4 ? 'd' : 'q'}${ib}`, exec: mmxOp(op, o.mmxMem ?? 8) },
    { mn, code, pfx: 0x66, ops: `Vx,Wx${ib}`, exec: xmmOp(op) },
  ];
}

/** Just the 66 (XMM) row, for operations that have no MMX form. */
export function xmmRow(mn: string, code: number, op: LaneOp, ops = 'Vx,Wx', mem = 16): OpDef {
  return { mn, code, pfx: 0x66, ops, exec: xmmOp(op, mem) };
}

/**
 * SSE4.2 (SDM Vol.1 §12.12): the packed string compares pcmpestri,
 * pcmpestrm, pcmpistri, pcmpistrm, the qword compare pcmpgtq, and crc32
 * (CRC-32C, polynomial 0x1EDC6F41). crc32 shares 0F 38 F0/F1 with movbe,
 * told apart by the mandatory F2.
 *
 * String compare control byte (SDM Vol.2B §4.1):
 *
 *     7    6       5  4       3  2         1  0
 *   ┌───┬───────┬─────────┬─────────────┬──────────┐
 *   │ 0 │ output│ polarity│ aggregation │ format   │
 *   └───┴───────┴─────────┴─────────────┴──────────┘
 *   format: 00 ubyte 01 uword 10 sbyte 11 sword
 *   aggregation: 00 equal any, 01 ranges, 10 equal each, 11 equal ordered
 *   polarity: 00 +, 01 − (negate all), 10 masked + , 11 masked − (negate valid only)
 *   output: index — 0 lowest set bit, 1 highest; mask — 0 bit mask, 1 element mask
 *
 * The first operand (xmm1) holds the set, ranges or needle; the second
 * (xmm2/m128, no alignment required) holds the string searched. Lengths
 * are explicit (EAX/EDX, RAX/RDX with REX.W, absolute value saturated to
 * the element count) or implicit (up to the first zero element).
 * Flags: CF result ≠ 0, ZF string shorter than a full register, SF set
 * shorter than a full register, OF result bit 0, AF = PF = 0.
 */
import type { Cpu } from '../cpu.js';
import type { Insn } from '../insn.js';
import type { OpDef } from '../table.js';
import { F } from '../flags.js';
import { R } from '../regs.js';
import { A, B, Vec, getX, putX, srcX, xmmRow } from './sse-lanes.js';
import { cmpq } from './sse41.js';

function element(v: Vec, k: number, imm: number): number {
  switch (imm & 3) {
    case 0: return v.u8[k];
    case 1: return v.u16[k];
    case 2: return v.i8[k];
    default: return v.i16[k];
  }
}

function implicitLength(v: Vec, n: number, imm: number): number {
  for (let k = 0; k < n; k++) if (element(v, k, imm) === 0) return k;
  return n;
}

function explicitLength(cpu: Cpu, r: number, wide: boolean, n: number): number {
  const v = Math.abs(wide ? cpu.regNum(r) : cpu.get64lo(r));
  return v > n ? n : v;
}

/** IntRes1 of the aggregation, before polarity. */
function aggregate(imm: number, n: number, la: number, lb: number): number {
  let res = 0;
  switch ((imm >> 2) & 3) {
    case 0:
      for (let j = 0; j < lb; j++) {
        const b = element(B, j, imm);
        for (let k = 0; k < la; k++) if (element(A, k, imm) === b) { res |= 1 << j; break; }
      }
      break;
    case 1:
      for (let j = 0; j < lb; j++) {
        const b = element(B, j, imm);
        for (let k = 0; k + 1 < la; k += 2) if (element(A, k, imm) <= b && b <= element(A, k + 1, imm)) { res |= 1 << j; break; }
      }
      break;
    case 2:
      for (let j = 0; j < n; j++) {
        const va = j < la, vb = j < lb;
        if (va !== vb ? false : !va || element(A, j, imm) === element(B, j, imm)) res |= 1 << j;
      }
      break;
    default:
      // Equal ordered: a needle element past its length matches anything; a
      // string element past its length matches nothing.
      for (let j = 0; j < n; j++) {
        let match = true;
        for (let k = 0; k < n - j && k < la; k++) {
          if (j + k >= lb || element(A, k, imm) !== element(B, j + k, imm)) { match = false; break; }
        }
        if (match) res |= 1 << j;
      }
  }
  return res;
}

/** arg: bit 0 explicit lengths (pcmpestr*), bit 1 mask output (pcmp?strm). */
function pcmpstr(cpu: Cpu, i: Insn): void {
  srcX(cpu, i, B, 16, true);
  getX(cpu, i.reg, A);
  const imm = i.imm & 0xff;
  const n = imm & 1 ? 8 : 16;
  const all = (1 << n) - 1;
  const wide = (i.rex & 8) !== 0;
  const la = i.arg & 1 ? explicitLength(cpu, R.AX, wide, n) : implicitLength(A, n, imm);
  const lb = i.arg & 1 ? explicitLength(cpu, R.DX, wide, n) : implicitLength(B, n, imm);
  let res = aggregate(imm, n, la, lb);
  switch ((imm >> 4) & 3) {
    case 1: res = ~res & all; break;
    case 3: res ^= (1 << lb) - 1; break;
  }
  if (i.arg & 2) {
    if (imm & 0x40) {
      const size = 16 / n;
      for (let k = 0; k < n; k++) for (let j = 0; j < size; j++) A.u8[k * size + j] = (res >> k) & 1 ? 0xff : 0;
    } else { A.i32[0] = res; A.i32[1] = 0; A.i32[2] = 0; A.i32[3] = 0; }
    putX(cpu, 0, A);
  } else {
    const index = res === 0 ? n : imm & 0x40 ? 31 - Math.clz32(res) : 31 - Math.clz32(res & -res);
    cpu.set32(R.CX, index);
  }
  cpu.setArith((res !== 0 ? F.CF : 0) | (lb < n ? F.ZF : 0) | (la < n ? F.SF : 0) | (res & 1 ? F.OF : 0));
}

// ---- crc32 ------------------------------------------------------------------------

/** CRC-32C table, reflected polynomial 0x82F63B78. */
const CRC32C = new Int32Array(256);
for (let n = 0; n < 256; n++) {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  CRC32C[n] = c;
}

function crcBytes(crc: number, v: number, count: number): number {
  for (let k = 0; k < count; k++) { crc = CRC32C[(crc ^ v) & 0xff] ^ (crc >>> 8); v >>>= 8; }
  return crc;
}

/** crc32 r32|64, r/m8|16|32|64: arg 1 for the byte source form; the result is zero-extended. */
function crc32(cpu: Cpu, i: Insn): void {
  const size = i.arg === 1 ? 1 : i.osz;
  const lo = cpu.readE(i, size), hi = cpu.hi;
  let crc = cpu.get64lo(i.reg);
  crc = crcBytes(crc, lo, size === 8 ? 4 : size);
  if (size === 8) crc = crcBytes(crc, hi, 4);
  cpu.set32(i.reg, crc);
}

export const rows: OpDef[] = [
  xmmRow('pcmpgtq', 0x0f3837, cmpq(true)),
  { mn: 'pcmpestrm', code: 0x0f3a60, pfx: 0x66, ops: 'Vdq,Wdq,Ib', exec: pcmpstr, arg: 3, wf: 'OSZAPC' },
  { mn: 'pcmpestri', code: 0x0f3a61, pfx: 0x66, ops: 'Vdq,Wdq,Ib', exec: pcmpstr, arg: 1, wf: 'OSZAPC' },
  { mn: 'pcmpistrm', code: 0x0f3a62, pfx: 0x66, ops: 'Vdq,Wdq,Ib', exec: pcmpstr, arg: 2, wf: 'OSZAPC' },
  { mn: 'pcmpistri', code: 0x0f3a63, pfx: 0x66, ops: 'Vdq,Wdq,Ib', exec: pcmpstr, arg: 0, wf: 'OSZAPC' },
  { mn: 'crc32', code: 0x0f38f0, pfx: 0xf2, ops: 'Gy,Eb', exec: crc32, arg: 1 },
  { mn: 'crc32', code: 0x0f38f1, pfx: 0xf2, ops: 'Gy,Ev', exec: crc32, arg: 0 },
];

/**
 * A Plan (match.ts) as bytes. Prefixes go in GNU as's slot order, whatever
 * order the source wrote them in: FWAIT, segment, 67, 66 (also a mandatory
 * 66), F2/F3 (also mandatory ones), LOCK, REX; then the opcode map escape
 * (0f, 0f 38, 0f 3a), the opcode, ModRM, SIB, displacement and immediates
 * (SDM Vol.2A §2.1, Figure 2-1). Fields whose value is not known yet are
 * left zero and returned as fixups for the assembler to fill after layout.
 */
import type { Loc } from './errors.js';
import type { Plan, ValueField } from './match.js';

/** Prefix bytes written as words before the mnemonic (lock, rep, cs, data16, rex.W, …), by slot. */
export interface Prefixes { seg?: number; addr?: number; data?: number; rep?: number; lock?: number; rex?: number }

export interface Fixup {
  /** Offset of the field in the instruction's bytes. */
  at: number;
  field: ValueField;
  /** PC-relative: the field holds target − (end of instruction). */
  pcrel: boolean;
  /** Bytes from the field's start to the end of the instruction. */
  toEnd: number;
  /** A branch displacement (jmp, jcc, call, loop): an object file relocates it as a branch (PLT32). */
  branch: boolean;
  /** The statement it came from. */
  loc: Loc;
  /** The code size where it was written (.code16/32/64). */
  mode: number;
}

export interface Encoded { bytes: number[]; fixups: Fixup[] }

/**
 * The written prefixes that the instruction does not already have, or why
 * they collide with its own: a segment word naming the operand's override,
 * addr32 where the address needs 67 anyway, are the same prefix; REX bits
 * add to the ones the operands need unless they name the same bit.
 */
export function mergePrefixes(p: Plan, x: Prefixes): Prefixes | string {
  const out = { ...x };
  if (x.seg !== undefined && p.seg !== 0) {
    if (x.seg !== p.seg) return 'two segment prefixes';
    delete out.seg;
  }
  if (x.addr !== undefined && p.p67) delete out.addr;
  if (x.data !== undefined && (p.p66 || p.row.pfx === 0x66)) return 'the operand-size prefix twice';
  if (x.rep !== undefined && (p.row.pfx === 0xf2 || p.row.pfx === 0xf3)) return 'a repeat prefix on an instruction that has F2/F3 as its opcode';
  if (x.rex !== undefined && (x.rex & ((p.rexW ? 8 : 0) | p.rexRXB)) !== 0) return 'REX bits the operands set already';
  return out;
}

/** Appends the instruction's bytes to `out` and its fixups, with offsets in `out`, to `fixups`. */
export function encode(p: Plan, x: Prefixes, loc: Loc, mode: number, out: number[], fixups: Fixup[]): void {
  const row = p.row;
  const first = fixups.length;
  if (p.form.wait) out.push(0x9b);
  if (p.seg || x.seg !== undefined) out.push(p.seg || x.seg!);
  if (p.p67 || x.addr !== undefined) out.push(0x67);
  if (p.p66 || row.pfx === 0x66 || x.data !== undefined) out.push(0x66);
  if (row.pfx === 0xf2 || row.pfx === 0xf3) out.push(row.pfx);
  else if (x.rep !== undefined) out.push(x.rep);
  if (x.lock !== undefined) out.push(0xf0);
  if (p.rexW || p.rexRXB !== 0 || p.rex40 || x.rex !== undefined) out.push(0x40 | (p.rexW ? 8 : 0) | p.rexRXB | (x.rex ?? 0));
  if (row.map === 1) out.push(0x0f);
  else if (row.map === 2) out.push(0x0f, 0x38);
  else if (row.map === 3) out.push(0x0f, 0x3a);
  out.push(row.opcode);
  if (row.hasModrm) {
    const reg = row.digit ?? (p.reg >= 0 ? p.reg & 7 : 0);
    if (p.mem !== undefined) {
      const m = p.mem;
      out.push((m.mod << 6) | (reg << 3) | m.rm);
      if (m.sib !== undefined) out.push(m.sib);
      if (m.disp !== undefined) field(out, fixups, m.disp, m.rip && m.disp.value === undefined, false, loc, mode);
    } else {
      const rm = row.rm ?? (p.rmReg >= 0 ? p.rmReg & 7 : 0);
      out.push(0xc0 | (reg << 3) | rm);
    }
  }
  for (const f of p.imms) field(out, fixups, f, false, false, loc, mode);
  if (p.rel !== undefined) field(out, fixups, p.rel, true, true, loc, mode);
  for (let k = first; k < fixups.length; k++) fixups[k].toEnd = out.length - fixups[k].at;
}

/** Appends a field's bytes (0 while its value is not known, or PC-relative) and the fixup that will fill them. */
function field(out: number[], fixups: Fixup[], f: ValueField, pcrel: boolean, branch: boolean, loc: Loc, mode: number): void {
  const at = out.length;
  putLE(out, at, f.value ?? 0n, f.size);
  if (f.value === undefined || pcrel) fixups.push({ at, field: f, pcrel, toEnd: 0, branch, loc, mode });
}

const MIN_I32 = -(1n << 31n), MAX_U32 = (1n << 32n) - 1n;

/** Stores the `size` low bytes of `v`, little-endian, at `at` (a number[] grows). */
export function putLE(out: number[] | Uint8Array, at: number, v: bigint, size: number): void {
  // Nearly every value fits 32 bits: Number arithmetic then, not a BigInt shift per byte.
  if (v >= MIN_I32 && v <= MAX_U32) {
    const fill = v < 0n ? 0xff : 0;
    let w = Number(v);
    for (let k = 0; k < size; k++) { out[at + k] = k < 4 ? w & 0xff : fill; w >>= 8; }
    return;
  }
  for (let k = 0; k < size; k++) out[at + k] = Number((v >> BigInt(8 * k)) & 0xffn);
}

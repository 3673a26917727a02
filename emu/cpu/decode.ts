/**
 * The one decoder for every mode: prefixes → REX → opcode map → ModRM/SIB →
 * displacement → immediates (SDM Vol.2A §2.1, Figure 2-1). Default operand
 * and address sizes are parameters, so 16-, 32- and 64-bit code share it.
 */
import { Insn } from './insn.js';
import { Imm, type OpRow, type OpTable } from './table.js';
import { CpuFault, Vector } from './fault.js';
import { Seg, R } from './regs.js';

/** Reads the byte at offset k from the instruction's first byte (may throw #PF). */
export type Fetch = (k: number) => number;

export const enum Mode { Real = 16, Prot32 = 32, Long64 = 64 }

const MAX_LEN = 15;

/** 16-bit ModRM r/m encodings: base and index registers (SDM Vol.2A Table 2-1). */
const MODRM16_BASE = [R.BX, R.BX, R.BP, R.BP, R.SI, R.DI, R.BP, R.BX];
const MODRM16_INDEX = [R.SI, R.DI, R.SI, R.DI, -1, -1, -1, -1];

export class Decoder {
  constructor(private readonly table: OpTable) {}

  /**
   * Fills `i` from the bytes `fetch` returns. `mode` is 64 for long mode, else
   * the default operand/address size given by CS.D (32) or real mode (16).
   */
  decode(fetch: Fetch, mode: Mode, i: Insn): void {
    let n = 0;
    const byte = (): number => {
      if (n >= MAX_LEN) throw new CpuFault(Vector.GP, 0, 0, 'instruction longer than 15 bytes');
      return fetch(n++);
    };
    let rex = 0, rep = 0, opsize = false, adsize = false, lock = false, seg: number = Seg.None;
    let b: number;
    for (;;) {
      b = byte();
      switch (b) {
        case 0x66: opsize = true; rex = 0; continue;
        case 0x67: adsize = true; rex = 0; continue;
        case 0xf2: case 0xf3: rep = b; rex = 0; continue;
        case 0xf0: lock = true; rex = 0; continue;
        case 0x26: case 0x2e: case 0x36: case 0x3e:
          // ES/CS/SS/DS overrides are ignored in 64-bit mode (SDM Vol.1 §3.3.7.1).
          if (mode !== Mode.Long64) seg = (b >> 3) & 3;
          rex = 0;
          continue;
        case 0x64: seg = Seg.FS; rex = 0; continue;
        case 0x65: seg = Seg.GS; rex = 0; continue;
      }
      if (mode === Mode.Long64 && (b & 0xf0) === 0x40) { rex = b; continue; }
      break;
    }
    let map = 0;
    if (b === 0x0f) {
      b = byte();
      map = 1;
      if (b === 0x38) { map = 2; b = byte(); } else if (b === 0x3a) { map = 3; b = byte(); }
    }
    const candidates = this.table.maps[map][b];
    if (candidates === undefined) throw new CpuFault(Vector.UD, -1, 0, `opcode ${mapName(map)}${hex(b)}`);

    const long = mode === Mode.Long64;
    const rexW = (rex & 8) !== 0, rexR = (rex & 4) << 1, rexX = (rex & 2) << 2, rexB = (rex & 1) << 3;
    let modrm = -1;
    if (candidates[0].hasModrm) modrm = byte();
    const mod = modrm >> 6 & 3, regField = modrm >> 3 & 7, rmField = modrm & 7;

    const row = pick(candidates, modrm, rep, opsize);
    if (row === null) throw new CpuFault(Vector.UD, -1, 0, `no form of ${mapName(map)}${hex(b)}${modrm >= 0 ? ` /${regField}` : ''}`);
    if (row.mode === 'i64' && long) throw new CpuFault(Vector.UD, -1, 0, `${row.mn} is invalid in 64-bit mode`);
    if (row.mode === 'o64' && !long) throw new CpuFault(Vector.UD, -1, 0, `${row.mn} is valid only in 64-bit mode`);
    // A mandatory prefix is part of the opcode, not an operand-size or repeat prefix.
    if (row.pfx === 0x66) opsize = false;
    if (row.pfx === 0xf2 || row.pfx === 0xf3) rep = 0;

    // LOCK is #UD unless the form allows it and the destination is memory (SDM Vol.2A, LOCK).
    if (lock && (!row.lock || mod === 3 || modrm < 0)) throw new CpuFault(Vector.UD, -1, 0, `lock prefix on ${row.mn}`);
    i.row = row;
    i.exec = row.exec;
    i.arg = row.arg ?? 0;
    i.rex = rex;
    i.rep = rep;
    i.lock = lock;
    i.seg = seg;
    i.opsizePrefix = opsize;

    let osz: number;
    if (long) {
      if (row.size === 'f64') osz = 8;
      else if (rexW) osz = 8;
      else if (row.size === 'd64') osz = opsize ? 2 : 8;
      else osz = opsize ? 2 : 4;
    } else {
      const d = mode === Mode.Prot32;
      osz = d !== opsize ? 4 : 2;
    }
    if (row.byteOp) osz = 1;
    i.osz = osz;
    const asz = long ? (adsize ? 4 : 8) : (mode === Mode.Prot32) !== adsize ? 4 : 2;
    i.asz = asz;

    i.mod = 3; i.isMem = false; i.ripRel = false;
    i.base = -1; i.index = -1; i.scale = 0; i.disp = 0;
    if (modrm >= 0) {
      i.mod = mod;
      i.reg = regField | rexR;
      i.regB = byteReg(regField, rexR, rex);
      if (mod === 3) {
        i.rm = rmField | rexB;
        i.rmB = byteReg(rmField, rexB, rex);
      } else {
        i.isMem = true;
        i.rm = rmField;
        if (asz === 2) {
          i.base = MODRM16_BASE[rmField];
          i.index = MODRM16_INDEX[rmField];
          if (mod === 0 && rmField === 6) i.base = -1;
          if (mod === 1 || (mod === 0 && rmField === 6) || mod === 2) {
            i.disp = mod === 1 ? (byte() << 24) >> 24 : (byte() | (byte() << 8)) << 16 >> 16;
          }
          if (i.base === R.BP && i.seg === Seg.None) i.seg = Seg.SS;
        } else {
          let base = rmField;
          if (rmField === 4) {
            const sib = byte();
            i.scale = sib >> 6;
            const idx = ((sib >> 3) & 7) | rexX;
            i.index = idx === 4 ? -1 : idx;
            base = sib & 7;
            if (base === 5 && mod === 0) i.base = -1;
            else i.base = base | rexB;
          } else if (rmField === 5 && mod === 0) {
            i.base = -1;
            i.ripRel = long;
          } else {
            i.base = base | rexB;
          }
          if (mod === 1) i.disp = (byte() << 24) >> 24;
          else if (mod === 2 || (mod === 0 && i.base === -1)) i.disp = byte() | (byte() << 8) | (byte() << 16) | (byte() << 24);
          if ((i.base === R.SP || i.base === R.BP) && i.seg === Seg.None && !long) i.seg = Seg.SS;
        }
      }
    } else if (row.operands.length > 0 && row.operands[0][0] === 'Z') {
      // The register named by the opcode serves as both reg and r/m, so E-operand handlers work on it.
      i.reg = i.rm = (b & 7) | rexB;
      i.regB = i.rmB = byteReg(b & 7, rexB, rex);
    }

    i.imm = readImm(row.imm1, byte, osz, asz, i);
    if (row.imm2 !== Imm.None) {
      const hi = i.immHi;
      i.imm2 = readImm(row.imm2, byte, osz, asz, i);
      i.immHi = hi;
    }
    i.len = n;
    if (row.specialize) i.exec = row.specialize(i) ?? row.exec;
  }
}

function readImm(kind: Imm, byte: () => number, osz: number, asz: number, i: Insn): number {
  switch (kind) {
    case Imm.None: i.immHi = 0; return 0;
    case Imm.B: { const v = (byte() << 24) >> 24; i.immHi = v >> 31; return v; }
    case Imm.W: i.immHi = 0; return byte() | (byte() << 8);
    case Imm.D: { const v = byte() | (byte() << 8) | (byte() << 16) | (byte() << 24); i.immHi = v >> 31; return v; }
    case Imm.Z: {
      if (osz === 2) { const v = (byte() | (byte() << 8)) << 16 >> 16; i.immHi = v >> 31; return v; }
      const v = byte() | (byte() << 8) | (byte() << 16) | (byte() << 24);
      i.immHi = v >> 31;
      return v;
    }
    case Imm.V: {
      if (osz === 2) { i.immHi = 0; return byte() | (byte() << 8); }
      const v = byte() | (byte() << 8) | (byte() << 16) | (byte() << 24);
      i.immHi = osz === 8 ? byte() | (byte() << 8) | (byte() << 16) | (byte() << 24) : 0;
      return v;
    }
    case Imm.Offset: {
      i.immHi = 0;
      if (osz === 2) return byte() | (byte() << 8);
      return byte() | (byte() << 8) | (byte() << 16) | (byte() << 24);
    }
    case Imm.Moffs: {
      if (asz === 2) { i.immHi = 0; return byte() | (byte() << 8); }
      const v = byte() | (byte() << 8) | (byte() << 16) | (byte() << 24);
      i.immHi = asz === 8 ? byte() | (byte() << 8) | (byte() << 16) | (byte() << 24) : 0;
      return v;
    }
  }
}

/** Without REX, byte registers 4..7 are AH CH DH BH (codes 16..19). */
function byteReg(field: number, rexExt: number, rex: number): number {
  if (rex === 0 && field >= 4) return 16 + field - 4;
  return field | rexExt;
}

/**
 * Chooses among the rows sharing an opcode byte. F2/F3 outrank 66 as a
 * mandatory prefix (SDM Vol.2A §2.1.2), rows with an exact rm or digit outrank
 * generic ones.
 */
function pick(rows: OpRow[], modrm: number, rep: number, opsize: boolean): OpRow | null {
  const mod = modrm >> 6 & 3, reg = modrm >> 3 & 7, rm = modrm & 7;
  let best: OpRow | null = null;
  let bestScore = -1;
  for (const r of rows) {
    if (r.digit !== undefined && r.digit !== reg) continue;
    if (r.rm !== undefined && (mod !== 3 || r.rm !== rm)) continue;
    if (r.mod === 'mem' && mod === 3) continue;
    if (r.mod === 'reg' && mod !== 3) continue;
    let score = 0;
    if (r.pfx !== undefined) {
      const want = rep !== 0 ? rep : opsize ? 0x66 : 0;
      if (r.pfx !== want) continue;
      score += 8;
    }
    if (r.rm !== undefined) score += 4;
    if (r.digit !== undefined) score += 2;
    if (r.mod !== undefined) score += 1;
    if (score > bestScore) { best = r; bestScore = score; }
  }
  return best;
}

function hex(b: number): string { return b.toString(16).padStart(2, '0'); }
function mapName(map: number): string { return ['', '0f ', '0f 38 ', '0f 3a '][map]; }

/**
 * Intel-syntax disassembly in the dialect of GNU `objdump -M intel`, derived
 * from the opcode table: the mnemonic is the row's `mn` ('a|b|c' picks by
 * operand size 16|32|64) and every operand is rendered from the row's operand
 * string (table.ts, OPERAND GRAMMAR), so a new row disassembles with no change
 * here. test/golden/disasm holds objdump's text for every row as the oracle.
 *
 * objdump's conventions, reproduced:
 *   - numbers are hex; an immediate is masked to its operand size after sign
 *     extension ('sIb' marks an imm8 that is sign-extended; a plain Ib is a
 *     byte), a displacement is signed, an absolute address is unsigned;
 *   - memory operands carry a size (`DWORD PTR`) unless the operand string has
 *     none (lea's M); `ds:` is spelled out for an absolute address;
 *   - prefixes are words before the mnemonic (lock, rep/repz/repnz, bnd,
 *     notrack, data16, addr32, rex.WB, cs, …) unless the instruction used them:
 *     a mandatory prefix, 66 or REX.W that chose the operand size, 67 that
 *     chose the address size, REX bits that named a register, a segment
 *     override shown in a memory operand (in 64-bit mode only FS and GS are);
 *   - GNU spells a mov with a 64-bit immediate or absolute address `movabs`;
 *   - a far pointer immediate is `selector:offset`; one in memory is a DWORD
 *     (16-bit offset) or FWORD (32-bit), and with REX.W the TBYTE (m16:64)
 *     Intel reads, where objdump follows AMD and still says FWORD, so the
 *     golden data has no such case; a descriptor-table image (sgdt's) has no size;
 *   - a rip-relative operand is followed by a comment with its target.
 *
 * The instruction's bytes are needed besides the decoded fields, for the
 * prefixes: their order, repeats and the overrides the decoder discards.
 */
import type { Insn } from './insn.js';
import { operandBytes, type OpRow } from './table.js';
import { Mode } from './decode.js';
import { GPR8, GPR16, GPR32, GPR64, R, SEGS, Seg } from './regs.js';

const PTR: Record<number, string> = { 1: 'BYTE', 2: 'WORD', 4: 'DWORD', 6: 'FWORD', 8: 'QWORD', 10: 'TBYTE', 16: 'XMMWORD' };

/** REX bits; Prefix stands for the REX byte itself, which selects spl..dil. */
const enum Rex { B = 1, X = 2, R = 4, W = 8, Prefix = 0x40 }

const SEG_PREFIX: Record<number, Seg> = { 0x26: Seg.ES, 0x2e: Seg.CS, 0x36: Seg.SS, 0x3e: Seg.DS, 0x64: Seg.FS, 0x65: Seg.GS };
const LEGACY_PREFIXES = new Set([0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65, 0x66, 0x67, 0xf0, 0xf2, 0xf3]);

/** Hex bytes as objdump lists them: '48 01 d8'. */
export function formatBytes(bytes: ArrayLike<number>, len = bytes.length): string {
  const out: string[] = [];
  for (let k = 0; k < len; k++) out.push(bytes[k].toString(16).padStart(2, '0'));
  return out.join(' ');
}

/**
 * The instruction `i`, decoded in `mode` from `bytes` (at least i.len of
 * them) at address `addr`, as objdump would print it: 'add    rax,rbx'.
 */
export function disassemble(i: Insn, bytes: ArrayLike<number>, addr: number | bigint, mode: Mode = Mode.Long64): string {
  return new Printer(i, bytes, BigInt.asUintN(64, BigInt(addr)), mode).text();
}

const hex = (v: bigint): string => '0x' + v.toString(16);
const u64 = (lo: number, hi: number): bigint => (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);

class Printer {
  private readonly row: OpRow;
  /** Number of prefix bytes (legacy and REX) before the opcode. */
  private readonly nPrefix: number;
  /** The segment override in force: the last one, where 64-bit mode ignores ES/CS/SS/DS. */
  private readonly seg: Seg;
  private readonly addrMask: bigint;
  /**
   * The operand size 66 and REX.W cannot change: 64 in 64-bit mode for a near
   * branch (f64) and for a descriptor-table image (size s), whose base is then
   * 64 bits whatever the prefixes (SDM Vol.2A LGDT/LIDT, SGDT).
   */
  private readonly fixed64: boolean;
  /** The operand size the text shows: the decoder's, or 8 where fixed64. */
  private readonly osz: number;
  // What the operands used; a prefix nothing used is printed by name.
  private rexUsed = 0;
  private osUsed = false;
  private asUsed = false;
  private segUsed = false;
  private immIndex = 0;
  private movabs = false;
  private comment = '';

  constructor(private readonly i: Insn, private readonly bytes: ArrayLike<number>,
    private readonly addr: bigint, private readonly mode: Mode) {
    this.row = i.row;
    let n = 0, seg = Seg.None;
    for (; n < i.len; n++) {
      const b = bytes[n];
      if (!LEGACY_PREFIXES.has(b) && !(mode === Mode.Long64 && (b & 0xf0) === 0x40)) break;
      // An ignored ES/CS/SS/DS after FS or GS leaves that in force (65 26: gs), as in the decoder.
      if (b in SEG_PREFIX && (mode !== Mode.Long64 || b === 0x64 || b === 0x65)) seg = SEG_PREFIX[b];
    }
    this.nPrefix = n;
    this.seg = seg;
    this.addrMask = mode === Mode.Long64 ? (1n << 64n) - 1n : 0xffffffffn;
    this.fixed64 = mode === Mode.Long64 && (this.row.size === 'f64' || this.row.operands.some((o) => /^[A-Z]s$/.test(o)));
    this.osz = this.fixed64 ? 8 : i.osz;
  }

  text(): string {
    const row = this.row, i = this.i;
    const names = row.mn.split('|');
    let mn = names[0];
    let ops: string[];
    if (mn === 'nop' && row.operands[0]?.[0] === 'Z') {
      // The nop row is 90, xchg eAX,eAX; objdump calls it xchg once 66 or REX.B makes it one.
      ops = i.opsizePrefix || (i.rex & Rex.B) !== 0 ? row.operands.map((o) => this.operand(o)) : [];
      if (ops.length > 0) mn = 'xchg';
    } else {
      ops = row.operands.map((o) => this.operand(o));
      if (names.length === 3) {
        mn = this.bySize(names);
        this.useOperandSize(names[0] !== names[1], names[2] !== names[1]);
      }
      if (mn === 'mov' && this.movabs) mn = 'movabs';
    }
    const head = [...this.prefixNames(), mn].join(' ');
    if (ops.length === 0) return head;
    return `${head.padEnd(6)} ${ops.join(',')}${this.comment}`;
  }

  private prefixNames(): string[] {
    const { i, row, bytes, nPrefix } = this;
    const lastIndex = (match: (b: number) => boolean): number => {
      for (let k = nPrefix - 1; k >= 0; k--) if (match(bytes[k])) return k;
      return -1;
    };
    const last66 = lastIndex((b) => b === 0x66), last67 = lastIndex((b) => b === 0x67);
    const lastRep = lastIndex((b) => b === 0xf2 || b === 0xf3), lastSeg = lastIndex((b) => b in SEG_PREFIX);
    const strings = row.operands.some((o) => /^[XY][a-z]/.test(o));
    const nearBranch = row.end === true && row.size === 'f64';
    const rexUsed = this.rexUsed !== 0 ? this.rexUsed | Rex.Prefix : 0;
    const out: string[] = [];
    for (let k = 0; k < nPrefix; k++) {
      const b = bytes[k];
      switch (b) {
        case 0x66:
          if (k === last66 && (this.osUsed || row.pfx === 0x66)) continue;
          out.push(this.mode === Mode.Real ? 'data32' : 'data16');
          break;
        case 0x67:
          if (k === last67 && this.asUsed) continue;
          out.push(this.mode === Mode.Prot32 ? 'addr16' : 'addr32');
          break;
        case 0xf0:
          out.push('lock');
          break;
        case 0xf2: case 0xf3:
          if (k === lastRep && row.pfx === b) continue;
          if (b === 0xf3) out.push(strings && row.wf === undefined ? 'rep' : 'repz');
          else out.push(nearBranch ? 'bnd' : 'repnz');
          break;
        default:
          if (b in SEG_PREFIX) {
            // objdump counts the last segment prefix as the one used, even an ignored one (65 26: gs).
            if (k === lastSeg && this.segUsed) continue;
            const indirect = nearBranch && row.operands[0]?.[0] === 'E';
            out.push(b === 0x3e && indirect ? 'notrack' : SEGS[SEG_PREFIX[b]]);
          } else if (k !== nPrefix - 1 || (i.rex & ~rexUsed) !== 0) {
            // A REX byte the operands did not fully use, or one a later prefix cancelled.
            const bits = (b & Rex.W ? 'W' : '') + (b & Rex.R ? 'R' : '') + (b & Rex.X ? 'X' : '') + (b & Rex.B ? 'B' : '');
            out.push(bits ? `rex.${bits}` : 'rex');
          }
      }
    }
    return out;
  }

  /**
   * The one of three spellings ('a|b|c') for operand size 16|32|64. 'Xw|X|Xq'
   * is a mnemonic whose size objdump shows only when a prefix changed it
   * (pushw, retfq): in 16-bit code the bare X is 16 bits and 66 makes it Xd.
   */
  private bySize(names: string[]): string {
    const k = this.osz === 2 ? 0 : this.osz === 4 ? 1 : 2;
    if (this.mode === Mode.Real && names[0] === names[1] + 'w') return [names[1], names[1] + 'd', names[2]][k];
    return names[k];
  }

  /** Records that the text depends on the operand size that 66 (`by66`) or REX.W (`byW`) selects. */
  private useOperandSize(by66: boolean, byW: boolean): void {
    const { i, row } = this;
    const sizedByW = row.size === undefined && !this.fixed64 && (i.rex & Rex.W) !== 0;
    if (sizedByW && byW) this.rexUsed |= Rex.W;
    if (by66 && !sizedByW && !this.fixed64) this.osUsed = true;
  }

  private useRex(bit: Rex): void {
    if (this.i.rex & bit) this.rexUsed |= bit;
  }

  /**
   * Bytes of an operand of size letter `s` (table.ts OPERAND GRAMMAR); 0 for
   * none, and for the x87 environment (e) and state (f) images and the
   * descriptor-table image (s), which objdump prints without a size.
   */
  private size(s: string): number {
    switch (s) {
      case 'v': case 'p': case 'a': this.useOperandSize(true, true); break;
      // z stops at 32 bits, so REX.W leaves it alone (ins, outs); it does sign-extend an Iz, see immediate().
      case 'z': this.useOperandSize(true, false); break;
      case 'y': this.useOperandSize(false, true); break;
    }
    return operandBytes(s, this.osz);
  }

  private operand(spec: string): string {
    const i = this.i;
    // 'Ry/Mw': the register and the memory form differ; 'Mq|Mq|Mdq': the operand sizes do.
    let op = spec.includes('/') ? spec.split('/').find((o) => (o[0] === 'M') === i.isMem) ?? spec : spec;
    if (op.includes('|')) {
      const names = op.split('|');
      op = this.bySize(names);
      this.useOperandSize(names[0] !== names[1], names[2] !== names[1]);
    }
    if (op === '1') return '1';
    if (op === 'ST0') return 'st';
    if (op === 'STi') return `st(${i.rm & 7})`;
    if (/^[A-Z]{2}[A-Z0-9]*$/.test(op)) return op.toLowerCase();
    // A sized fixed register: eAX and rAX follow the operand size (v), zAX stops at 32 bits (z; in, out).
    const fixed = /^([erz])([A-Z]{2})$/.exec(op);
    if (fixed !== null) return this.gpr(this.size(fixed[1] === 'z' ? 'z' : 'v'), GPR16.indexOf(fixed[2].toLowerCase()), 0);
    const m = /^(s?)([A-Z])([a-z]*)$/.exec(op);
    if (m === null) throw new Error(`disasm: operand '${op}' of ${this.row.mn}`);
    const [, signed, method, s] = m;
    switch (method) {
      case 'E': return i.isMem ? this.memory(s) : this.gpr(this.size(s), s === 'b' ? i.rmB : i.rm, Rex.B);
      case 'M': return this.memory(s);
      case 'G': return this.gpr(this.size(s), s === 'b' ? i.regB : i.reg, Rex.R);
      case 'R': return this.gpr(this.size(s), i.rm, Rex.B);
      case 'Z': return this.gpr(this.size(s), s === 'b' ? i.regB : i.reg, Rex.B);
      case 'V': return this.xmm(i.reg, Rex.R);
      case 'U': return this.xmm(i.rm, Rex.B);
      case 'W': return i.isMem ? this.memory(s) : this.xmm(i.rm, Rex.B);
      case 'P': return `mm${i.reg & 7}`;
      case 'N': return `mm${i.rm & 7}`;
      case 'Q': return i.isMem ? this.memory(s) : `mm${i.rm & 7}`;
      case 'S': return SEGS[i.reg & 7];
      case 'C': this.useRex(Rex.R); return `cr${i.reg}`;
      case 'D': this.useRex(Rex.R); return `dr${i.reg}`;
      case 'I': return this.immediate(s, signed === 's');
      case 'J': return this.branchTarget(s);
      case 'A': return this.farPointer(s);
      case 'O': return this.moffs(s);
      case 'X': return this.stringOperand(s, R.SI, this.segOverride() || 'ds:');
      case 'Y': return this.stringOperand(s, R.DI, 'es:');
    }
    throw new Error(`disasm: operand '${op}' of ${this.row.mn}`);
  }

  private gpr(size: number, code: number, rexBit: Rex | 0): string {
    if (rexBit !== 0) this.useRex(rexBit);
    switch (size) {
      case 1:
        if (this.i.rex !== 0 && code >= 4 && code < 8) this.rexUsed |= Rex.Prefix;
        return GPR8[code];
      case 2: return GPR16[code];
      case 4: return GPR32[code];
      case 8: return GPR64[code];
    }
    throw new Error(`disasm: register of size ${size} in ${this.row.mn}`);
  }

  private xmm(n: number, rexBit: Rex): string {
    this.useRex(rexBit);
    return `xmm${n}`;
  }

  /** The next of the row's immediates (I, J and O operands take them in order), sign-extended. */
  private nextImm(): bigint {
    const i = this.i;
    return this.immIndex++ === 0 ? BigInt.asIntN(64, u64(i.imm, i.immHi)) : BigInt(i.imm2);
  }

  private immediate(s: string, signExtended: boolean): string {
    const v = this.nextImm();
    // Iz and sIb are sign-extended to the operand size, Iv fills it; the rest keep their own width.
    const toOperandSize = signExtended || s === 'z' || s === 'v';
    if (toOperandSize) this.useOperandSize(true, true);
    const bits = toOperandSize ? this.osz * 8 : this.size(s) * 8;
    if (s === 'v' && bits === 64) this.movabs = true;
    return hex(BigInt.asUintN(bits, v));
  }

  private branchTarget(s: string): string {
    const i = this.i;
    this.size(s);
    const next = this.addr + BigInt(i.len);
    let t = next + this.nextImm();
    if (s === 'z' && this.osz === 2) {
      // A 16-bit target: with 66 the whole address wraps to 16 bits, in 16-bit code only the offset in its 64K.
      t = i.opsizePrefix ? t & 0xffffn : (t & 0xffffn) | (next & ~0xffffn);
    }
    return hex(t & this.addrMask);
  }

  /** A far pointer immediate: the offset, of the operand size, then the selector; shown selector:offset. */
  private farPointer(s: string): string {
    this.size(s);
    const offset = BigInt.asUintN(this.osz * 8, this.nextImm());
    return `${hex(this.nextImm())}:${hex(offset)}`;
  }

  private moffs(s: string): string {
    const i = this.i;
    this.size(s);
    const v = BigInt.asUintN(i.asz * 8, this.nextImm());
    if (i.asz === 8) this.movabs = true;
    return (this.segOverride() || 'ds:') + hex(v);
  }

  private stringOperand(s: string, reg: R, seg: string): string {
    const i = this.i;
    this.asUsed = true;
    // objdump counts any segment prefix as used once a DS:rSI operand is printed.
    if (reg === R.SI) this.segUsed = true;
    const names = i.asz === 8 ? GPR64 : i.asz === 4 ? GPR32 : GPR16;
    return `${PTR[this.size(s)]} PTR ${seg}[${names[reg]}]`;
  }

  private segOverride(): string {
    if (this.seg === Seg.None) return '';
    this.segUsed = true;
    return SEGS[this.seg] + ':';
  }

  private memory(s: string): string {
    const size = this.size(s);
    // objdump calls 16 bytes an XMMWORD in SSE instructions and an OWORD elsewhere (cmpxchg16b).
    const name = size === 16 && !this.row.operands.some((o) => /^[VWU]/.test(o)) ? 'OWORD' : PTR[size];
    const ptr = size === 0 ? '' : `${name} PTR `;
    this.useRex(Rex.B);
    const seg = this.segOverride();
    return ptr + (this.i.asz === 2 ? this.address16(seg) : this.address(seg));
  }

  /** 32- and 64-bit addressing: [base+index*scale±disp], [rip+disp], or seg:absolute. */
  private address(seg: string): string {
    const i = this.i;
    const wide = i.asz === 8;
    const names = wide ? GPR64 : GPR32;
    const sib = i.rm === 4;
    if (sib) this.useRex(Rex.X);
    const haveBase = i.base >= 0, haveIndex = i.index >= 0;
    // A SIB byte with neither base nor index shows an index (eiz) except in plain 64-bit addressing.
    const needIndex = sib && !haveBase && !haveIndex && this.mode !== Mode.Real && (this.mode !== Mode.Long64 || !wide);
    const relative = haveBase || needIndex || (sib && (haveIndex || i.scale !== 0));
    // 67 counts as used unless the address is absolute, which outside 64-bit mode it shows no sign of.
    if (relative || i.ripRel || (sib && this.mode === Mode.Long64)) this.asUsed = true;
    let disp = BigInt(i.disp);
    if (needIndex && this.mode === Mode.Long64) disp = BigInt(i.disp >>> 0);
    if (!relative && !i.ripRel) return (seg || 'ds:') + hex(BigInt.asUintN(this.mode === Mode.Long64 ? 64 : 32, disp));
    let out = '[';
    if (i.ripRel) out += wide ? 'rip' : 'eip';
    if (haveBase) out += names[i.base];
    if (sib && (i.scale !== 0 || needIndex || haveIndex || (haveBase && (i.base & 7) !== R.SP))) {
      if (haveBase) out += '+';
      out += `${haveIndex ? names[i.index] : wide ? 'riz' : 'eiz'}*${1 << i.scale}`;
    }
    if (i.disp !== 0 || i.mod !== 0 || !haveBase) {
      if (!relative) out += '+' + hex(BigInt.asUintN(64, disp));
      else out += disp < 0n ? '-' + hex(-disp) : '+' + hex(disp);
    }
    out += ']';
    if (i.ripRel) this.comment = `        # ${hex((this.addr + BigInt(i.len) + disp) & this.addrMask)}`;
    return seg + out;
  }

  /** 16-bit addressing: [bx+si±disp] and friends, or seg:absolute. */
  private address16(seg: string): string {
    const i = this.i;
    const disp = BigInt(i.disp);
    this.asUsed = true;
    if (i.base < 0 && i.index < 0) return (seg || 'ds:') + hex(BigInt.asUintN(16, disp));
    let out = '[' + GPR16[i.base] + (i.index >= 0 ? '+' + GPR16[i.index] : '');
    if (i.disp !== 0 || i.mod !== 0) out += disp < 0n ? '-' + hex(-disp) : '+' + hex(disp);
    return seg + out + ']';
  }
}

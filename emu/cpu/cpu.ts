/**
 * Architectural state of one x86-64 CPU and the accessors every handler uses:
 * registers, lazy flags, effective addresses, memory and the stack.
 *
 * GPRs are int32 lo/hi pairs in one Int32Array (register r is at 2r, 2r+1):
 * BigInt arithmetic measured 3–4× slower. A 64-bit value crossing a function
 * boundary travels as the low dword returned plus the high dword in `hi`.
 */
import { F, Lazy, PARITY, SIGN, MASK } from './flags.js';
import { CANONICAL_LIMIT, Mmu } from './mmu.js';
import { CpuFault, Vector } from './fault.js';
import type { Insn } from './insn.js';
import { Mode } from './decode.js';
import { Seg, R } from './regs.js';
import { Attr } from './system.js';
import type { Platform } from './platform.js';

const TWO32 = 4294967296;
const DATA = Attr.P | Attr.S | Attr.RW | Attr.A | Attr.DB;
const CODE64 = Attr.P | Attr.S | Attr.RW | Attr.A | Attr.CODE | Attr.L;

/** Host services that system instructions need (the runner or the machine provides them). */
export interface CpuHost {
  /** `syscall` in a user-mode runner; the machine issue gives it the MSR semantics. */
  syscall(cpu: Cpu): void;
  /** Retired-instruction-derived time stamp counter. */
  rdtsc(cpu: Cpu): [number, number];
}

export class Cpu {
  readonly regs = new Int32Array(32);
  /** RIP of the next instruction, in signed canonical form. */
  rip = 0;
  /** RIP of the instruction being executed (faults restart from here). */
  ip = 0;
  mode: Mode = Mode.Long64;
  /**
   * What decoded code depends on besides the bytes: the mode, and the FPU
   * gates of CR0/CR4 (system.ts fpuGate). Kept by system.ts updateMode.
   */
  decodeKey: number = Mode.Long64;

  /** RFLAGS; the arithmetic bits are stale while `lazyOp` != Lazy.None. */
  flags: number = F.FIXED1;
  lazyOp: Lazy = Lazy.None;
  lazySize = 4;
  lazyA = 0; lazyAHi = 0;
  lazyB = 0; lazyBHi = 0;
  lazyRes = 0; lazyResHi = 0;
  /** Carry in for ADC/SBB; the preserved CF for INC/DEC. */
  lazyCarry = 0;

  /** Segment bases as linear numbers; in 64-bit mode only FS and GS apply. */
  readonly segBase = [0, 0, 0, 0, 0, 0];
  readonly segSel = new Uint16Array(6);
  /**
   * The rest of each segment register's hidden part (system.ts): the limit
   * in bytes and the descriptor attribute bits. The defaults describe the
   * flat segments of a 64-bit user process; the machine resets them.
   */
  readonly segLimit = [0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff];
  readonly segAttr = [DATA, CODE64, DATA, DATA, DATA, DATA];

  // ---- system state (system.ts, msr.ts, interrupt.ts) -----------------------
  /** CR0, CR4 and EFER default to those of a 64-bit process under a paging kernel. */
  cr0 = 0x80050033;
  cr2 = 0;
  cr4 = 0x6a0;
  efer = 0xd01;
  readonly dr = [0, 0, 0, 0, 0, 0, 0xffff0ff0, 0x400];
  gdtBase = 0; gdtLimit = 0xffff;
  idtBase = 0; idtLimit = 0xffff;
  ldtSel = 0; ldtBase = 0; ldtLimit = 0xffff;
  trSel = 0; trBase = 0; trLimit = 0xffff; trAttr = Attr.P | (0xb << 8);
  kernelGsBase = 0;
  starLo = 0; starHi = 0;
  lstar = 0; cstar = 0; fmask = 0;
  tscAux = 0;
  patLo = 0x00070406; patHi = 0x00070406;
  /** Machine: the vCPU sleeps in HLT until an interrupt, NMI, INIT or SIPI arrives. */
  halted = false;
  /**
   * Set whenever an event may need the run loop's attention (an APIC IRR
   * change, NMI, INIT, SIPI); cleared by interrupt.ts when nothing is pending.
   */
  attention = false;
  /** Maskable interrupts are held off until `icount` reaches this (the STI and MOV SS shadows). */
  inhibitUntil = 0;
  nmiPending = false;
  /** An NMI handler is running: further NMIs wait for the next IRET (SDM Vol.3A §6.7.1). */
  nmiBlocked = false;
  platform: Platform | null = null;

  /** XMM0..15, four int32 lanes each (xmm n at 4n). */
  readonly xmm = new Int32Array(64);
  mxcsr = 0x1f80;

  /**
   * x87 data registers R0..R7 by physical number (ST(i) is R[(TOP+i) & 7]),
   * three int32 per register: significand low dword, significand high dword,
   * sign (bit 15) and exponent (bits 14..0). MMX registers alias the
   * significands (SDM Vol.1 §9.2).
   */
  readonly fpr = new Int32Array(8 * 3);
  /** FPU control word, status word (TOP in bits 13..11) and full tag word (2 bits per register). */
  fcw = 0x37f;
  fsw = 0;
  ftw = 0xffff;
  /** Last non-control x87 instruction: its linear address, its operand's linear address, and opcode bits 10..0. */
  fip = 0;
  fdp = 0;
  fop = 0;

  /** Scratch: the high dword of the last 64-bit value a helper returned. */
  hi = 0;
  /** Instructions retired. */
  icount = 0;

  constructor(readonly mmu: Mmu, readonly host: CpuHost) {}

  // ---- registers -----------------------------------------------------------

  get64lo(r: number): number { return this.regs[r << 1]; }
  get64hi(r: number): number { return this.regs[(r << 1) | 1]; }
  set64(r: number, lo: number, hi: number): void { this.regs[r << 1] = lo; this.regs[(r << 1) | 1] = hi; }
  /** A 32-bit write zero-extends into the full register (SDM Vol.1 §3.4.1.1). */
  set32(r: number, v: number): void { this.regs[r << 1] = v; this.regs[(r << 1) | 1] = 0; }
  set16(r: number, v: number): void { const k = r << 1; this.regs[k] = (this.regs[k] & ~0xffff) | (v & 0xffff); }
  get8(code: number): number {
    return code < 16 ? this.regs[code << 1] & 0xff : (this.regs[(code - 16) << 1] >> 8) & 0xff;
  }
  set8(code: number, v: number): void {
    if (code < 16) { const k = code << 1; this.regs[k] = (this.regs[k] & ~0xff) | (v & 0xff); }
    else { const k = (code - 16) << 1; this.regs[k] = (this.regs[k] & ~0xff00) | ((v & 0xff) << 8); }
  }

  /** Register value at an operand size; 8-byte values leave the high dword in `hi`. */
  getReg(size: number, r: number): number {
    switch (size) {
      case 1: return this.get8(r);
      case 2: return this.regs[r << 1] & 0xffff;
      case 4: return this.regs[r << 1];
      default: this.hi = this.regs[(r << 1) | 1]; return this.regs[r << 1];
    }
  }

  /** Byte registers take a byte-register code (Insn.regB/rmB). */
  setReg(size: number, r: number, lo: number, hi: number): void {
    switch (size) {
      case 1: this.set8(r, lo); return;
      case 2: this.set16(r, lo); return;
      case 4: this.set32(r, lo); return;
      default: this.set64(r, lo, hi);
    }
  }

  /** A register as a signed JS number (exact below 2^53; used for addresses and counts). */
  regNum(r: number): number { return this.regs[(r << 1) | 1] * TWO32 + (this.regs[r << 1] >>> 0); }

  // ---- effective addresses -------------------------------------------------

  /**
   * The linear address of a memory operand (SDM Vol.1 §3.7.5). 64-bit
   * addressing wraps modulo 2^64 and must be canonical (#GP, or #SS for
   * stack references); narrower address sizes wrap modulo 2^32 or 2^16.
   */
  ea(i: Insn): number {
    // Fast path: 64-bit addressing without FS/GS. Register halves within
    // ±2^16 keep every term below 2^51, so the double sum is exact and
    // only its canonical range needs checking.
    if (i.asz === 8 && i.seg !== Seg.FS && i.seg !== Seg.GS) {
      const regs = this.regs;
      let a = i.ripRel ? this.rip + i.disp : i.disp;
      let ok = true;
      if (i.base >= 0) {
        const h = regs[(i.base << 1) | 1];
        a += h * TWO32 + (regs[i.base << 1] >>> 0);
        ok = h >= -0x10000 && h < 0x10000;
      }
      if (i.index >= 0) {
        const h = regs[(i.index << 1) | 1];
        a += (h * TWO32 + (regs[i.index << 1] >>> 0)) * (1 << i.scale);
        ok = ok && h >= -0x10000 && h < 0x10000;
      }
      if (ok && a >= -CANONICAL_LIMIT && a < CANONICAL_LIMIT) return a;
    }
    return this.eaSlow(i);
  }

  private eaSlow(i: Insn): number {
    if (i.ripRel) {
      // With a 67 prefix the sum is EIP-relative: truncated to 32 bits before any FS/GS base.
      let lin = this.rip + i.disp;
      if (i.asz === 4) lin = ((lin % TWO32) + TWO32) % TWO32;
      return this.canonical(i.seg === Seg.FS || i.seg === Seg.GS ? lin + this.segBase[i.seg] : lin, i.seg);
    }
    let lo = this.offsetSum(i), hi = this.hi;
    if (i.asz === 8) {
      // The FS/GS base is added modulo 2^64 before the canonical check (SDM Vol.3A §3.4.4).
      if (i.seg === Seg.FS || i.seg === Seg.GS) {
        const base = this.segBase[i.seg], baseHi = Math.floor(base / TWO32);
        lo += base - baseHi * TWO32;
        hi += baseHi;
      }
      const carry = Math.floor(lo / TWO32);
      lo -= carry * TWO32;
      hi = (hi + carry) | 0;
      const sext = (hi << 16) >> 16;
      if (sext !== hi) this.nonCanonical(i.seg, i.base);
      return sext * TWO32 + lo;
    }
    const off = i.asz === 4 ? lo % TWO32 : lo % 65536;
    if (this.mode === Mode.Long64) {
      return i.seg === Seg.FS || i.seg === Seg.GS ? this.canonical(off + this.segBase[i.seg], i.seg) : off;
    }
    return this.segLinear(i.seg === Seg.None ? Seg.DS : i.seg, off);
  }

  /**
   * The linear address of offset `off` (already wrapped to the address size)
   * in segment `seg`, for instructions that address memory without ModRM
   * (moffs, string operands): only FS and GS have a base in 64-bit mode.
   */
  segLinear(seg: number, off: number): number {
    if (this.mode === Mode.Long64) return seg === Seg.FS || seg === Seg.GS ? off + this.segBase[seg] : off;
    this.checkLimit(seg, off);
    return (off + this.segBase[seg]) % TWO32;
  }

  /** The linear address of a code offset in CS (a RIP), unchecked: for traces and log lines. */
  codeLinear(ip: number): number {
    return this.mode === Mode.Long64 ? ip : (ip + this.segBase[Seg.CS]) % TWO32;
  }

  /**
   * Outside IA-32e mode every access is checked against its segment: an
   * unusable (null) segment or an offset beyond the limit is #GP(0), or
   * #SS(0) for SS (SDM Vol.3A §5.3). Only the first byte's offset is checked.
   */
  private checkLimit(seg: number, off: number): void {
    const attr = this.segAttr[seg], limit = this.segLimit[seg];
    const expandDown = (attr & (Attr.CODE | Attr.EC)) === Attr.EC;
    const bad = !(attr & Attr.P) || (expandDown ? off <= limit || off > (attr & Attr.DB ? 0xffffffff : 0xffff) : off > limit);
    if (bad) throw new CpuFault(seg === Seg.SS ? Vector.SS : Vector.GP, 0, 0, `offset 0x${off.toString(16)} outside segment ${seg}`);
  }

  /** The offset part only, as lea computes it: lo in the return value, high dword in `hi`. */
  leaOffset(i: Insn): number {
    if (i.ripRel) {
      const v = this.rip + i.disp;
      this.hi = Math.floor(v / TWO32) | 0;
      return v | 0;
    }
    const lo = this.offsetSum(i);
    const carry = Math.floor(lo / TWO32);
    this.hi = (this.hi + carry) | 0;
    return (lo - carry * TWO32) | 0;
  }

  /**
   * disp + base + index << scale as a pair of exact double sums, not yet
   * normalised: the low-dword sum is returned, the high-dword sum left in `hi`.
   */
  private offsetSum(i: Insn): number {
    const regs = this.regs;
    let lo = i.disp >>> 0, hi = i.disp >> 31;
    if (i.base >= 0) { lo += regs[i.base << 1] >>> 0; hi += regs[(i.base << 1) | 1]; }
    if (i.index >= 0) {
      const s = i.scale;
      lo += (regs[i.index << 1] >>> 0) * (1 << s);
      hi += s === 0 ? regs[(i.index << 1) | 1] : (regs[(i.index << 1) | 1] << s);
    }
    this.hi = hi;
    return lo;
  }

  private canonical(lin: number, seg: number): number {
    if (lin >= -CANONICAL_LIMIT && lin < CANONICAL_LIMIT) return lin;
    // Wrap modulo 2^64 first: a sum that wrapped may be canonical again.
    const m = ((lin % 18446744073709551616) + 18446744073709551616) % 18446744073709551616;
    const v = m >= 9223372036854775808 ? m - 18446744073709551616 : m;
    if (v >= -CANONICAL_LIMIT && v < CANONICAL_LIMIT) return v;
    return this.nonCanonical(seg, -1);
  }

  private nonCanonical(seg: number, base: number): never {
    const stack = seg === Seg.SS || base === R.SP || base === R.BP;
    throw new CpuFault(stack ? Vector.SS : Vector.GP, 0, 0, 'non-canonical address');
  }

  // ---- memory by operand size -----------------------------------------------

  readMem(size: number, lin: number): number {
    switch (size) {
      case 1: return this.mmu.read8(lin);
      case 2: return this.mmu.read16(lin);
      case 4: return this.mmu.read32(lin);
      default: { const lo = this.mmu.read64(lin); this.hi = this.mmu.hi; return lo; }
    }
  }

  writeMem(size: number, lin: number, lo: number, hi: number): void {
    switch (size) {
      case 1: this.mmu.write8(lin, lo); return;
      case 2: this.mmu.write16(lin, lo); return;
      case 4: this.mmu.write32(lin, lo); return;
      default: this.mmu.write64(lin, lo, hi);
    }
  }

  /** The r/m operand (register or memory); 8-byte values leave the high dword in `hi`. */
  readE(i: Insn, size: number): number {
    if (i.isMem) return this.readMem(size, this.ea(i));
    return this.getReg(size, size === 1 ? i.rmB : i.rm);
  }

  writeE(i: Insn, size: number, lo: number, hi: number): void {
    if (i.isMem) this.writeMem(size, this.ea(i), lo, hi);
    else this.setReg(size, size === 1 ? i.rmB : i.rm, lo, hi);
  }

  /** Where the last rmwRead found a memory operand, for the matching rmwWrite. */
  private rmwLin = 0;

  /**
   * The r/m operand of a read-modify-write instruction (8-byte values leave
   * the high dword in `hi`). The effective address is computed once, and
   * rmwWrite stores back to the same place.
   */
  rmwRead(i: Insn, size: number): number {
    if (i.isMem) { this.rmwLin = this.ea(i); return this.readMem(size, this.rmwLin); }
    return this.getReg(size, size === 1 ? i.rmB : i.rm);
  }

  rmwWrite(i: Insn, size: number, lo: number, hi: number): void {
    if (i.isMem) this.writeMem(size, this.rmwLin, lo, hi);
    else this.setReg(size, size === 1 ? i.rmB : i.rm, lo, hi);
  }

  readG(i: Insn, size: number): number { return this.getReg(size, size === 1 ? i.regB : i.reg); }
  writeG(i: Insn, size: number, lo: number, hi: number): void { this.setReg(size, size === 1 ? i.regB : i.reg, lo, hi); }

  // ---- stack -----------------------------------------------------------------

  /** Pushes an operand of `size` bytes (2 or 8 in long mode; 2 or 4 elsewhere). */
  push(size: number, lo: number, hi: number): void {
    if (this.mode === Mode.Long64) {
      const sp = this.regNum(R.SP) - size;
      this.writeMem(size, this.canonicalStack(sp), lo, hi);
      this.setSp(sp);
    } else if (this.segAttr[Seg.SS] & Attr.DB) {
      const sp = ((this.regs[R.SP << 1] >>> 0) - size) >>> 0;
      this.writeMem(size, (sp + this.segBase[Seg.SS]) % TWO32, lo, hi);
      this.regs[R.SP << 1] = sp | 0;
    } else {
      // A 16-bit stack (SS.B clear, as in real mode) wraps SP within 64 KiB.
      const sp = ((this.regs[R.SP << 1] & 0xffff) - size) & 0xffff;
      this.writeMem(size, (sp + this.segBase[Seg.SS]) % TWO32, lo, hi);
      this.set16(R.SP, sp);
    }
  }

  pop(size: number): number {
    if (this.mode === Mode.Long64) {
      const sp = this.regNum(R.SP);
      const v = this.readMem(size, this.canonicalStack(sp));
      this.setSp(sp + size);
      return v;
    }
    if (this.segAttr[Seg.SS] & Attr.DB) {
      const sp = this.regs[R.SP << 1] >>> 0;
      const v = this.readMem(size, (sp + this.segBase[Seg.SS]) % TWO32);
      this.regs[R.SP << 1] = (sp + size) | 0;
      return v;
    }
    const sp = this.regs[R.SP << 1] & 0xffff;
    const v = this.readMem(size, (sp + this.segBase[Seg.SS]) % TWO32);
    this.set16(R.SP, sp + size);
    return v;
  }

  private canonicalStack(lin: number): number {
    if (lin >= -CANONICAL_LIMIT && lin < CANONICAL_LIMIT) return lin;
    throw new CpuFault(Vector.SS, 0, 0, 'non-canonical stack address');
  }

  private setSp(v: number): void {
    this.regs[R.SP << 1] = v | 0;
    this.regs[(R.SP << 1) | 1] = Math.floor(v / TWO32) | 0;
  }

  /** Sets RIP to a branch target given as lo/hi (checked canonical), or truncated outside long mode. */
  jumpTo(lo: number, hi: number): void {
    if (this.mode === Mode.Long64) {
      const sext = (hi << 16) >> 16;
      if (sext !== hi) throw new CpuFault(Vector.GP, 0, 0, 'non-canonical branch target');
      this.rip = sext * TWO32 + (lo >>> 0);
    } else {
      this.rip = lo >>> 0;
    }
  }

  /** A relative branch: next RIP plus a signed displacement, wrapped to the operand size. */
  jumpRel(disp: number, osz: number): void {
    const t = this.rip + disp;
    if (this.mode === Mode.Long64) {
      if (t < -CANONICAL_LIMIT || t >= CANONICAL_LIMIT) throw new CpuFault(Vector.GP, 0, 0, 'non-canonical branch target');
      this.rip = t;
    } else {
      this.rip = osz === 2 ? ((t % 65536) + 65536) % 65536 : ((t % TWO32) + TWO32) % TWO32;
    }
  }

  // ---- flags -------------------------------------------------------------------

  /** Records an ALU result for lazy flag evaluation; values are already masked to `size`. */
  setLazy(op: Lazy, size: number, a: number, aHi: number, b: number, bHi: number, res: number, resHi: number): void {
    this.lazyOp = op; this.lazySize = size;
    this.lazyA = a; this.lazyAHi = aHi;
    this.lazyB = b; this.lazyBHi = bHi;
    this.lazyRes = res; this.lazyResHi = resHi;
  }

  /** Sets the six arithmetic flags from `bits` (other bits of `bits` are ignored). */
  setArith(bits: number): void {
    this.flags = (this.flags & ~F.ARITH) | (bits & F.ARITH);
    this.lazyOp = Lazy.None;
  }

  /** Full RFLAGS, with the arithmetic flags made exact. */
  getFlags(): number {
    if (this.lazyOp !== Lazy.None) {
      this.flags = (this.flags & ~F.ARITH) | this.lazyArith();
      this.lazyOp = Lazy.None;
    }
    return this.flags;
  }

  setFlags(v: number): void {
    const old = this.flags;
    this.flags = (v | F.FIXED1) & ~(1 << 3 | 1 << 5 | 1 << 15);
    this.lazyOp = Lazy.None;
    if ((old ^ this.flags) & F.AC) { this.mmu.ac = (this.flags & F.AC) !== 0; this.mmu.updateAlignCheck(); }
  }

  cf(): boolean {
    if (this.lazyOp === Lazy.None) return (this.flags & F.CF) !== 0;
    return this.lazyCF() !== 0;
  }
  zf(): boolean {
    if (this.lazyOp === Lazy.None) return (this.flags & F.ZF) !== 0;
    return this.lazySize === 8 ? (this.lazyRes | this.lazyResHi) === 0 : this.lazyRes === 0;
  }
  sf(): boolean {
    if (this.lazyOp === Lazy.None) return (this.flags & F.SF) !== 0;
    return this.lazySize === 8 ? this.lazyResHi < 0 : (this.lazyRes & SIGN[this.lazySize]) !== 0;
  }
  of(): boolean {
    if (this.lazyOp === Lazy.None) return (this.flags & F.OF) !== 0;
    return this.lazyOF() !== 0;
  }
  pf(): boolean { return (this.getFlags() & F.PF) !== 0; }

  /** Condition codes in encoding order (SDM Vol.1 Appendix B): tttn of Jcc/SETcc/CMOVcc. */
  cond(cc: number): boolean {
    let r: boolean;
    switch (cc >> 1) {
      case 0: r = this.of(); break;
      case 1: r = this.cf(); break;
      case 2: r = this.zf(); break;
      case 3: r = this.cf() || this.zf(); break;
      case 4: r = this.sf(); break;
      case 5: r = this.pf(); break;
      case 6: r = this.sf() !== this.of(); break;
      default: r = this.zf() || this.sf() !== this.of(); break;
    }
    return (cc & 1) ? !r : r;
  }

  private lazyArith(): number {
    const size = this.lazySize;
    let bits = this.lazyCF() | this.lazyOF();
    bits |= PARITY[this.lazyRes & 0xff];
    if (size === 8) {
      if ((this.lazyRes | this.lazyResHi) === 0) bits |= F.ZF;
      if (this.lazyResHi < 0) bits |= F.SF;
    } else {
      if (this.lazyRes === 0) bits |= F.ZF;
      if (this.lazyRes & SIGN[size]) bits |= F.SF;
    }
    if (this.lazyOp !== Lazy.Logic) bits |= (this.lazyA ^ this.lazyB ^ this.lazyRes) & F.AF;
    return bits;
  }

  private lazyCF(): number {
    const a = this.lazyA, b = this.lazyB, res = this.lazyRes;
    switch (this.lazyOp) {
      case Lazy.Add: return this.ult(res, this.lazyResHi, a, this.lazyAHi) ? F.CF : 0;
      case Lazy.Adc: return (this.lazyCarry ? !this.ult(a, this.lazyAHi, res, this.lazyResHi) : this.ult(res, this.lazyResHi, a, this.lazyAHi)) ? F.CF : 0;
      case Lazy.Sub: return this.ult(a, this.lazyAHi, b, this.lazyBHi) ? F.CF : 0;
      case Lazy.Sbb: return (this.lazyCarry ? !this.ult(b, this.lazyBHi, a, this.lazyAHi) : this.ult(a, this.lazyAHi, b, this.lazyBHi)) ? F.CF : 0;
      case Lazy.Inc: case Lazy.Dec: return this.lazyCarry ? F.CF : 0;
      default: return 0;
    }
  }

  private lazyOF(): number {
    const size = this.lazySize;
    let x: number;
    switch (this.lazyOp) {
      case Lazy.Add: case Lazy.Adc: case Lazy.Inc:
        x = size === 8 ? (this.lazyAHi ^ this.lazyResHi) & (this.lazyBHi ^ this.lazyResHi)
          : (this.lazyA ^ this.lazyRes) & (this.lazyB ^ this.lazyRes);
        break;
      case Lazy.Sub: case Lazy.Sbb: case Lazy.Dec:
        x = size === 8 ? (this.lazyAHi ^ this.lazyBHi) & (this.lazyAHi ^ this.lazyResHi)
          : (this.lazyA ^ this.lazyB) & (this.lazyA ^ this.lazyRes);
        break;
      default: return 0;
    }
    return (size === 8 ? x < 0 : (x & SIGN[size]) !== 0) ? F.OF : 0;
  }

  /** Unsigned a < b at the lazy operand size. */
  private ult(a: number, aHi: number, b: number, bHi: number): boolean {
    const size = this.lazySize;
    if (size === 8) {
      if (aHi !== bHi) return (aHi >>> 0) < (bHi >>> 0);
      return (a >>> 0) < (b >>> 0);
    }
    return ((a & MASK[size]) >>> 0) < ((b & MASK[size]) >>> 0);
  }

  // ---- helpers for handlers ------------------------------------------------------

  setCF(v: boolean): void {
    const f = this.getFlags();
    this.flags = v ? f | F.CF : f & ~F.CF;
  }
}

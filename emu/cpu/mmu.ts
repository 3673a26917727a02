/**
 * Linear → physical translation for one vCPU: 4-level paging with a software
 * TLB that really caches. Once a translation is in the TLB it is used until
 * INVLPG, a CR3 write or a flush; a guest that edits a PTE without shooting
 * down the entry keeps seeing the old mapping, exactly as on hardware.
 *
 * Linear addresses are JS numbers in signed canonical form: a canonical 64-bit
 * address is bits 47..0 sign-extended, so it fits a double exactly, lies in
 * [-2^47, 2^47), and `lin & 0xfff` (ToInt32) still yields its page offset.
 *
 * Page-table entry, SDM Vol.3A §4.5, Table 4-19 (4 KiB page):
 *
 *   63  62..52  51.........12  11..9  8  7   6  5  4   3   2   1  0
 *  ┌──┬───────┬──────────────┬──────┬──┬───┬──┬──┬───┬───┬───┬──┬─┐
 *  │XD│ avail │ phys addr    │avail │G │PAT│D │A │PCD│PWT│U/S│RW│P│
 *  └──┴───────┴──────────────┴──────┴──┴───┴──┴──┴───┴───┴───┴──┴─┘
 *  In a PDPTE or PDE, bit 7 is PS: the entry maps a 1 GiB or 2 MiB page.
 */
import { CpuFault, PfErr, Vector } from './fault.js';
import type { PhysMem } from './physmem.js';

export const enum Pte {
  P = 1 << 0,
  RW = 1 << 1,
  US = 1 << 2,
  PWT = 1 << 3,
  PCD = 1 << 4,
  A = 1 << 5,
  D = 1 << 6,
  PS = 1 << 7,
  G = 1 << 8,
}
/** XD is bit 63: bit 31 of the entry's high dword. */
const PTE_HI_XD = 1 << 31;

export const enum Access { Read = 0, Write = 1, Exec = 2 }

const TLB_BITS = 10;
const TLB_SIZE = 1 << TLB_BITS;
const TLB_MASK = TLB_SIZE - 1;
const TWO32 = 4294967296;
/** Canonical linear addresses lie in [-2^47, 2^47) in signed form. */
export const CANONICAL_LIMIT = 140737488355328;

export class Mmu {
  /** CR3 page-table base (physical). */
  cr3 = 0;
  paging = false;
  /** CR0.WP: supervisor writes honour read-only pages. */
  wp = true;
  /** EFER.NXE: the XD bit is honoured. */
  nxe = false;
  /** Current privilege level; a change flushes the TLB (tags carry no CPL). */
  private cplValue = 0;

  readonly ram: Uint8Array;
  readonly view: DataView;
  /** High dword of the last 64-bit read. */
  hi = 0;

  // Direct-mapped TLB, one tag array per access kind so that a hit needs no
  // permission test: an entry exists only where that access is allowed.
  private readonly rTag = new Float64Array(TLB_SIZE).fill(NaN);
  private readonly rPhys = new Float64Array(TLB_SIZE);
  private readonly wTag = new Float64Array(TLB_SIZE).fill(NaN);
  private readonly wPhys = new Float64Array(TLB_SIZE);
  private readonly xTag = new Float64Array(TLB_SIZE).fill(NaN);
  private readonly xPhys = new Float64Array(TLB_SIZE);
  private readonly rGlobal = new Uint8Array(TLB_SIZE);
  private readonly wGlobal = new Uint8Array(TLB_SIZE);
  private readonly xGlobal = new Uint8Array(TLB_SIZE);

  constructor(readonly phys: PhysMem) {
    this.ram = phys.bytes;
    this.view = phys.view;
  }

  get cpl(): number { return this.cplValue; }
  set cpl(v: number) {
    if (v !== this.cplValue) { this.cplValue = v; this.flushAll(); }
  }

  /** Bumped by every flush, so that cached translations elsewhere know to look again. */
  gen = 0;

  flushAll(): void {
    this.gen++;
    this.largePagesCached = false;
    this.rTag.fill(NaN); this.wTag.fill(NaN); this.xTag.fill(NaN);
  }

  /** A CR3 write: drops every translation not marked global (CR4.PGE). */
  flushNonGlobal(): void {
    this.gen++;
    for (let i = 0; i < TLB_SIZE; i++) {
      if (!this.rGlobal[i]) this.rTag[i] = NaN;
      if (!this.wGlobal[i]) this.wTag[i] = NaN;
      if (!this.xGlobal[i]) this.xTag[i] = NaN;
    }
  }

  /**
   * INVLPG. Large pages are cached as 4 KiB slices, so invalidating one
   * means flushing them all (any of its slices may be anywhere in the TLB).
   */
  invlpg(lin: number): void {
    if (this.largePagesCached) { this.flushAll(); return; }
    this.gen++;
    const i = (lin >>> 12) & TLB_MASK;
    const page = lin - (lin & 0xfff);
    if (this.rTag[i] === page) this.rTag[i] = NaN;
    if (this.wTag[i] === page) this.wTag[i] = NaN;
    if (this.xTag[i] === page) this.xTag[i] = NaN;
  }

  /** Drops write translations to a physical page, so that writes to it take the slow path. */
  unmapWritesTo(physPage: number): void {
    for (let i = 0; i < TLB_SIZE; i++) if (this.wPhys[i] === physPage && this.wTag[i] === this.wTag[i]) this.wTag[i] = NaN;
  }

  /** A 2 MiB or 1 GiB translation has been cached since the last full flush. */
  private largePagesCached = false;

  /**
   * Host-side writes to guest RAM (a kernel copying into user memory, DMA)
   * bypass the store path, so they report here to drop decoded code.
   */
  notifyWrite(physPage: number): void {
    if (this.codePages !== null && this.codePages.has(physPage) && this.onCodeWrite) this.onCodeWrite(physPage);
  }

  /** Called by the slow write path when a write lands on a page holding decoded code. */
  onCodeWrite: ((physPage: number) => void) | null = null;
  codePages: Set<number> | null = null;

  // ---- loads ---------------------------------------------------------------

  read8(lin: number): number {
    const off = lin & 0xfff;
    const i = (lin >>> 12) & TLB_MASK;
    if (this.rTag[i] === lin - off) return this.ram[this.rPhys[i] + off];
    return this.phys.read8(this.translate(lin, Access.Read));
  }

  read16(lin: number): number {
    const off = lin & 0xfff;
    const i = (lin >>> 12) & TLB_MASK;
    if (this.rTag[i] === lin - off && off <= 0xffe) return this.view.getUint16(this.rPhys[i] + off, true);
    return this.read8(lin) | (this.read8(lin + 1) << 8);
  }

  /** Returns the dword as a signed int32. */
  read32(lin: number): number {
    const off = lin & 0xfff;
    const i = (lin >>> 12) & TLB_MASK;
    if (this.rTag[i] === lin - off && off <= 0xffc) return this.view.getInt32(this.rPhys[i] + off, true);
    if (off <= 0xffc) return this.phys.read32(this.translate(lin, Access.Read));
    return this.read8(lin) | (this.read8(lin + 1) << 8) | (this.read8(lin + 2) << 16) | (this.read8(lin + 3) << 24);
  }

  /** Returns the low dword; the high dword is left in `hi`. */
  read64(lin: number): number {
    const off = lin & 0xfff;
    const i = (lin >>> 12) & TLB_MASK;
    if (this.rTag[i] === lin - off && off <= 0xff8) {
      const p = this.rPhys[i] + off;
      this.hi = this.view.getInt32(p + 4, true);
      return this.view.getInt32(p, true);
    }
    const lo = this.read32(lin);
    this.hi = this.read32(lin + 4);
    return lo;
  }

  // ---- stores --------------------------------------------------------------

  write8(lin: number, v: number): void {
    const off = lin & 0xfff;
    const i = (lin >>> 12) & TLB_MASK;
    if (this.wTag[i] === lin - off) { this.ram[this.wPhys[i] + off] = v; return; }
    this.phys.write8(this.translateWrite(lin), v);
  }

  write16(lin: number, v: number): void {
    const off = lin & 0xfff;
    const i = (lin >>> 12) & TLB_MASK;
    if (this.wTag[i] === lin - off && off <= 0xffe) { this.view.setUint16(this.wPhys[i] + off, v, true); return; }
    this.checkWritable(lin, 2);
    this.write8(lin, v); this.write8(lin + 1, v >> 8);
  }

  write32(lin: number, v: number): void {
    const off = lin & 0xfff;
    const i = (lin >>> 12) & TLB_MASK;
    if (this.wTag[i] === lin - off && off <= 0xffc) { this.view.setInt32(this.wPhys[i] + off, v, true); return; }
    if (off <= 0xffc) { this.phys.write32(this.translateWrite(lin), v); return; }
    this.checkWritable(lin, 4);
    this.write8(lin, v); this.write8(lin + 1, v >> 8); this.write8(lin + 2, v >> 16); this.write8(lin + 3, v >> 24);
  }

  write64(lin: number, lo: number, hi: number): void {
    const off = lin & 0xfff;
    const i = (lin >>> 12) & TLB_MASK;
    if (this.wTag[i] === lin - off && off <= 0xff8) {
      const p = this.wPhys[i] + off;
      this.view.setInt32(p, lo, true); this.view.setInt32(p + 4, hi, true);
      return;
    }
    this.checkWritable(lin, 8);
    this.write32(lin, lo); this.write32(lin + 4, hi);
  }

  /**
   * A store that straddles two pages must fault before writing either part
   * (SDM Vol.3A §4.10.5: the access is checked as a whole).
   */
  private checkWritable(lin: number, size: number): void {
    this.translateWrite(lin);
    this.translateWrite(lin + size - 1);
  }

  private translateWrite(lin: number): number {
    const p = this.translate(lin, Access.Write);
    const page = p - (p & 0xfff);
    if (this.codePages !== null && this.codePages.has(page) && this.onCodeWrite) {
      this.onCodeWrite(page);
      // Refill now that the page no longer holds decoded code.
      return this.translate(lin, Access.Write);
    }
    return p;
  }

  /** Physical address of an instruction byte, through the fetch TLB. */
  fetchPhys(lin: number): number {
    const off = lin & 0xfff;
    const i = (lin >>> 12) & TLB_MASK;
    if (this.xTag[i] === lin - off) return this.xPhys[i] + off;
    return this.translate(lin, Access.Exec);
  }

  // ---- the page walk ------------------------------------------------------

  /**
   * Translates `lin` for `access` at the current CPL, setting A (and D on a
   * write) in the paging structures as the hardware does, and fills the TLB.
   * Throws #PF with the SDM's error code and CR2 on failure.
   */
  translate(lin: number, access: Access): number {
    const off = lin & 0xfff;
    const page = lin - off;
    if (!this.paging) {
      const p = page >= 0 ? page % TWO32 : (page % TWO32) + TWO32;
      this.fill(page, p, access, false);
      return p + off;
    }
    // A non-canonical address never reaches the page walk (SDM Vol.3A §4.5): #GP(0).
    if (lin < -CANONICAL_LIMIT || lin >= CANONICAL_LIMIT) throw new CpuFault(Vector.GP, 0, 0, 'non-canonical address');
    const user = this.cplValue === 3;
    const write = access === Access.Write;
    let table = this.cr3 - (this.cr3 % 4096);
    let allowWrite = true, allowUser = true, allowExec = true;
    let frame = 0;
    let global = false;
    for (let level = 3; level >= 0; level--) {
      const shift = 12 + 9 * level;
      const index = Math.floor(lin / 2 ** shift) & 511;
      const ea = table + index * 8;
      const lo = this.phys.read32(ea);
      const hi = this.phys.read32(ea + 4);
      if (!(lo & Pte.P)) this.pageFault(lin, access, false);
      if (!(lo & Pte.RW)) allowWrite = false;
      if (!(lo & Pte.US)) allowUser = false;
      if (this.nxe && (hi & PTE_HI_XD)) allowExec = false;
      const addr = (hi & 0xfffff) * TWO32 + (lo >>> 12) * 4096;
      if (level === 0 || (level <= 2 && (lo & Pte.PS) !== 0)) {
        const okUser = !user || allowUser;
        const okWrite = !write || allowWrite || (!user && !this.wp);
        const okExec = access !== Access.Exec || allowExec;
        if (!okUser || !okWrite || !okExec) this.pageFault(lin, access, true);
        const set = lo | Pte.A | (write ? Pte.D : 0);
        if (set !== lo) this.phys.write32(ea, set);
        // In a large page, bits below the page size come from the linear
        // address (and bit 12 of the entry is PAT, not an address bit).
        const size = 2 ** shift;
        frame = addr - (addr % size) + (page - Math.floor(page / size) * size);
        if (level > 0) this.largePagesCached = true;
        global = (lo & Pte.G) !== 0;
        break;
      }
      if (!(lo & Pte.A)) this.phys.write32(ea, lo | Pte.A);
      table = addr;
    }
    // Fill only the kinds of access this translation allows, so a TLB hit
    // never needs a permission check; a write fills only once D is set.
    this.fill(page, frame, access, global);
    return frame + off;
  }

  private fill(page: number, frame: number, access: Access, global: boolean): void {
    if (!this.phys.isRam(frame)) return;
    const i = (page >>> 12) & TLB_MASK;
    const g = global ? 1 : 0;
    if (access === Access.Exec) { this.xTag[i] = page; this.xPhys[i] = frame; this.xGlobal[i] = g; return; }
    this.rTag[i] = page; this.rPhys[i] = frame; this.rGlobal[i] = g;
    if (access === Access.Write && !(this.codePages !== null && this.codePages.has(frame))) {
      this.wTag[i] = page; this.wPhys[i] = frame; this.wGlobal[i] = g;
    }
  }

  private pageFault(lin: number, access: Access, present: boolean): never {
    let code = present ? PfErr.P : 0;
    if (access === Access.Write) code |= PfErr.W;
    if (this.cplValue === 3) code |= PfErr.U;
    if (access === Access.Exec && this.nxe) code |= PfErr.I;
    throw new CpuFault(Vector.PF, code, lin);
  }
}

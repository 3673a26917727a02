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
import type { CodePages } from './codepages.js';

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

class TlbSet {
  readonly rTag = new Float64Array(TLB_SIZE).fill(NaN);
  readonly rPhys = new Float64Array(TLB_SIZE);
  readonly wTag = new Float64Array(TLB_SIZE).fill(NaN);
  readonly wPhys = new Float64Array(TLB_SIZE);
  readonly xTag = new Float64Array(TLB_SIZE).fill(NaN);
  readonly xPhys = new Float64Array(TLB_SIZE);
  readonly rGlobal = new Uint8Array(TLB_SIZE);
  readonly wGlobal = new Uint8Array(TLB_SIZE);
  readonly xGlobal = new Uint8Array(TLB_SIZE);
}

const TLB_ARRAYS = ['rTag', 'rPhys', 'wTag', 'wPhys', 'xTag', 'xPhys', 'rGlobal', 'wGlobal', 'xGlobal'] as const;

export class Mmu {
  /** CR3 page-table base (physical). */
  cr3 = 0;
  paging = false;
  /**
   * Paging structure depth while `paging`: 4 (IA-32e), 3 (PAE) or 2 (32-bit
   * paging with 4-byte entries). Set by the CPU from CR0/CR4/EFER.
   */
  levels: 2 | 3 | 4 = 4;
  /** CR4.PSE: 4 MiB pages in 32-bit paging (PAE and IA-32e paging always allow large pages). */
  pse = false;
  /** CR4.PGE: global translations survive CR3 writes. */
  pge = true;
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
  // permission test: an entry exists only where that access is allowed. The
  // permissions depend on the privilege level, so there is one set for
  // supervisor and one for user accesses; a CPL change swaps sets instead of
  // flushing. The active set's arrays are aliased in the fields below.
  private readonly sets = [new TlbSet(), new TlbSet()];
  private rTag: Float64Array; private rPhys: Float64Array;
  private wTag: Float64Array; private wPhys: Float64Array;
  private xTag: Float64Array; private xPhys: Float64Array;
  private rGlobal: Uint8Array; private wGlobal: Uint8Array; private xGlobal: Uint8Array;
  /** The active set is the user set (CPL 3). */
  private user = false;

  constructor(readonly phys: PhysMem) {
    this.ram = phys.bytes;
    this.view = phys.view;
    const t = this.sets[0];
    this.rTag = t.rTag; this.rPhys = t.rPhys; this.wTag = t.wTag; this.wPhys = t.wPhys;
    this.xTag = t.xTag; this.xPhys = t.xPhys; this.rGlobal = t.rGlobal; this.wGlobal = t.wGlobal; this.xGlobal = t.xGlobal;
  }

  get cpl(): number { return this.cplValue; }
  set cpl(v: number) {
    if (v === this.cplValue) return;
    this.cplValue = v;
    if ((v === 3) !== this.user) { this.useSet(v === 3); this.gen++; }
    this.updateAlignCheck();
  }

  /** CR0.AM and RFLAGS.AC, mirrored by the CPU: with CPL 3 they turn on alignment checking. */
  am = false;
  ac = false;
  /** Misaligned data accesses raise #AC(0) (SDM Vol.3A §6.15, interrupt 17). */
  private alignCheck = false;

  updateAlignCheck(): void {
    const on = this.am && this.ac && this.cplValue === 3;
    if (on === this.alignCheck) return;
    this.alignCheck = on;
    // Cached data translations would bypass the check: drop them (the user set's only; CPL is 3).
    if (on) { this.rTag.fill(NaN); this.wTag.fill(NaN); }
  }

  private misaligned(lin: number): never {
    throw new CpuFault(Vector.AC, 0, 0, `misaligned access at 0x${lin.toString(16)} with alignment checking on`);
  }

  private useSet(user: boolean): void {
    const t = this.sets[user ? 1 : 0];
    this.user = user;
    this.rTag = t.rTag; this.rPhys = t.rPhys; this.wTag = t.wTag; this.wPhys = t.wPhys;
    this.xTag = t.xTag; this.xPhys = t.xPhys; this.rGlobal = t.rGlobal; this.wGlobal = t.wGlobal; this.xGlobal = t.xGlobal;
  }

  /**
   * Runs `fn` with supervisor access rights whatever the CPL: the CPU's
   * implicit accesses to the GDT, IDT and TSS are supervisor accesses
   * (SDM Vol.3A §4.6.1) even while delivering an interrupt from ring 3.
   */
  supervisor<T>(fn: () => T): T {
    const saved = this.cplValue;
    if (saved === 0) return fn();
    const wasUser = this.user;
    this.cplValue = 0;
    this.useSet(false);
    try { return fn(); } finally { this.cplValue = saved; this.useSet(wasUser); }
  }

  /**
   * The paging state and the TLB's contents, for machine snapshots: the guest
   * can observe a stale entry (a PTE edited without INVLPG), and a hit skips
   * setting the Accessed bit a walk would set, so the TLB is state, not cache.
   */
  saveState(): Record<string, number | boolean | Uint8Array> {
    const out: Record<string, number | boolean | Uint8Array> = {
      cr3: this.cr3, paging: this.paging, levels: this.levels, pse: this.pse, pge: this.pge, wp: this.wp, nxe: this.nxe,
      cpl: this.cplValue, am: this.am, ac: this.ac, alignCheck: this.alignCheck, user: this.user, largePagesCached: this.largePagesCached,
    };
    this.sets.forEach((t, k) => {
      for (const name of TLB_ARRAYS) {
        const a = t[name];
        out[`${k ? 'user' : 'super'}.${name}`] = new Uint8Array(a.buffer.slice(a.byteOffset, a.byteOffset + a.byteLength));
      }
    });
    return out;
  }

  restoreState(s: Record<string, unknown>): void {
    const num = (k: string): number => { if (typeof s[k] !== 'number') throw new Error(`snapshot: MMU field ${k} is missing`); return s[k] as number; };
    const bool = (k: string): boolean => { if (typeof s[k] !== 'boolean') throw new Error(`snapshot: MMU field ${k} is missing`); return s[k] as boolean; };
    const levels = num('levels');
    if (levels !== 2 && levels !== 3 && levels !== 4) throw new Error(`snapshot: MMU paging levels ${levels}`);
    this.cr3 = num('cr3'); this.paging = bool('paging'); this.levels = levels;
    this.pse = bool('pse'); this.pge = bool('pge'); this.wp = bool('wp'); this.nxe = bool('nxe');
    this.cplValue = num('cpl'); this.am = bool('am'); this.ac = bool('ac'); this.alignCheck = bool('alignCheck');
    this.largePagesCached = bool('largePagesCached');
    this.sets.forEach((t, k) => {
      for (const name of TLB_ARRAYS) {
        const saved = s[`${k ? 'user' : 'super'}.${name}`], a = t[name];
        if (!(saved instanceof Uint8Array) || saved.length !== a.byteLength) throw new Error(`snapshot: TLB array ${name} is malformed`);
        new Uint8Array(a.buffer, a.byteOffset, a.byteLength).set(saved);
      }
    });
    this.useSet(bool('user'));
    this.gen++;
  }

  /** Bumped by every flush, so that cached translations elsewhere know to look again. */
  gen = 0;

  flushAll(): void {
    this.gen++;
    this.largePagesCached = false;
    for (const t of this.sets) { t.rTag.fill(NaN); t.wTag.fill(NaN); t.xTag.fill(NaN); }
  }

  /** A CR3 write: drops every translation not marked global (CR4.PGE). */
  flushNonGlobal(): void {
    if (!this.pge) { this.flushAll(); return; }
    this.gen++;
    for (const t of this.sets) {
      for (let i = 0; i < TLB_SIZE; i++) {
        if (!t.rGlobal[i]) t.rTag[i] = NaN;
        if (!t.wGlobal[i]) t.wTag[i] = NaN;
        if (!t.xGlobal[i]) t.xTag[i] = NaN;
      }
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
    for (const t of this.sets) {
      if (t.rTag[i] === page) t.rTag[i] = NaN;
      if (t.wTag[i] === page) t.wTag[i] = NaN;
      if (t.xTag[i] === page) t.xTag[i] = NaN;
    }
  }

  /** Drops write translations to a physical page, so that writes to it take the slow path. */
  unmapWritesTo(physPage: number): void {
    for (const t of this.sets) {
      for (let i = 0; i < TLB_SIZE; i++) if (t.wPhys[i] === physPage && t.wTag[i] === t.wTag[i]) t.wTag[i] = NaN;
    }
  }

  /** A 2 MiB or 1 GiB translation has been cached since the last full flush. */
  private largePagesCached = false;

  /**
   * Host-side writes to guest RAM (a kernel copying into user memory, DMA)
   * bypass the store path, so they report here to drop decoded code.
   */
  notifyWrite(physPage: number): void {
    if (this.code !== null) this.code.written(physPage);
  }

  /** The machine's registry of pages holding decoded code (set by CodePages.attach). */
  code: CodePages | null = null;

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
    if (this.alignCheck && (lin & 1)) this.misaligned(lin);
    if (off <= 0xffe) return this.phys.read16(this.translate(lin, Access.Read));
    return this.read8(lin) | (this.read8(lin + 1) << 8);
  }

  /** Returns the dword as a signed int32. */
  read32(lin: number): number {
    const off = lin & 0xfff;
    const i = (lin >>> 12) & TLB_MASK;
    if (this.rTag[i] === lin - off && off <= 0xffc) return this.view.getInt32(this.rPhys[i] + off, true);
    if (this.alignCheck && (lin & 3)) this.misaligned(lin);
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
    if (this.alignCheck && (lin & 7)) this.misaligned(lin);
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
    if (this.alignCheck && (lin & 1)) this.misaligned(lin);
    if (off <= 0xffe) { this.phys.write16(this.translateWrite(lin), v); return; }
    this.checkWritable(lin, 2);
    this.write8(lin, v); this.write8(lin + 1, v >> 8);
  }

  write32(lin: number, v: number): void {
    const off = lin & 0xfff;
    const i = (lin >>> 12) & TLB_MASK;
    if (this.wTag[i] === lin - off && off <= 0xffc) { this.view.setInt32(this.wPhys[i] + off, v, true); return; }
    if (this.alignCheck && (lin & 3)) this.misaligned(lin);
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
    if (this.alignCheck && (lin & 7)) this.misaligned(lin);
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
    if (this.code !== null && this.code.has(page)) {
      this.code.written(page);
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
    const levels = this.levels;
    const wide = levels !== 2;
    let table: number, level: number;
    if (levels === 4) { table = this.cr3 - (this.cr3 % 4096); level = 3; }
    else if (levels === 3) { table = (this.cr3 >>> 0) - ((this.cr3 >>> 0) % 32); level = 2; }
    else { table = (this.cr3 >>> 0) - ((this.cr3 >>> 0) % 4096); level = 1; }
    let allowWrite = true, allowUser = true, allowExec = true;
    let frame = 0;
    let global = false;
    for (; level >= 0; level--) {
      // Each level indexes 9 bits (10 with 4-byte entries); PAE's top level has just 4 entries.
      const shift = wide ? 12 + 9 * level : 12 + 10 * level;
      const index = Math.floor(lin / 2 ** shift) & (!wide ? 1023 : levels === 3 && level === 2 ? 3 : 511);
      const ea = table + index * (wide ? 8 : 4);
      const lo = this.phys.read32(ea);
      const hi = wide ? this.phys.read32(ea + 4) : 0;
      if (!(lo & Pte.P)) this.pageFault(lin, access, false, false);
      const pdpte = levels === 3 && level === 2;
      if (this.reservedBitsSet(lo, hi, level, pdpte)) this.pageFault(lin, access, true, true);
      if (pdpte) { table = (hi & 0xff) * TWO32 + (lo >>> 12) * 4096; continue; }
      if (!(lo & Pte.RW)) allowWrite = false;
      if (!(lo & Pte.US)) allowUser = false;
      if (this.nxe && (hi & PTE_HI_XD)) allowExec = false;
      const addr = (hi & 0xfffff) * TWO32 + (lo >>> 12) * 4096;
      const large = level > 0 && (lo & Pte.PS) !== 0 && (wide || this.pse);
      if (level === 0 || large) {
        const okUser = !user || allowUser;
        const okWrite = !write || allowWrite || (!user && !this.wp);
        const okExec = access !== Access.Exec || allowExec;
        if (!okUser || !okWrite || !okExec) this.pageFault(lin, access, true, false);
        const set = lo | Pte.A | (write ? Pte.D : 0);
        if (set !== lo) this.phys.write32(ea, set);
        // In a large page, bits below the page size come from the linear
        // address (and bit 12 of the entry is PAT, not an address bit).
        const size = 2 ** shift;
        frame = addr - (addr % size) + (page - Math.floor(page / size) * size);
        if (level > 0) this.largePagesCached = true;
        global = this.pge && (lo & Pte.G) !== 0;
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

  /**
   * Reserved bits of a present entry (SDM Vol.3A §4.3–4.5; MAXPHYADDR is 40,
   * CPUID 0x80000008): a walk that meets one faults with PfErr.RSVD.
   */
  private reservedBitsSet(lo: number, hi: number, level: number, pdpte: boolean): boolean {
    if (this.levels === 2) {
      // A 4 MiB page's bits 21:13 would be PSE-36 address bits, which are not offered.
      return level === 1 && this.pse && (lo & Pte.PS) !== 0 && (lo & 0x3fe000) !== 0;
    }
    if ((hi & 0x000fff00) !== 0) return true;
    if (!this.nxe && (hi & PTE_HI_XD)) return true;
    if (pdpte) return (lo & 0x1e6) !== 0 || (hi & PTE_HI_XD) !== 0;
    if (level === 3) return (lo & Pte.PS) !== 0;
    if ((lo & Pte.PS) === 0 || level === 0) return false;
    // Large-page address bits below the page size must be zero (bit 12 is PAT).
    return level === 2 ? (lo & 0x3fffe000) !== 0 : (lo & 0x1fe000) !== 0;
  }

  private fill(page: number, frame: number, access: Access, global: boolean): void {
    if (!this.phys.isRam(frame)) return;
    const i = (page >>> 12) & TLB_MASK;
    const g = global ? 1 : 0;
    if (access === Access.Exec) { this.xTag[i] = page; this.xPhys[i] = frame; this.xGlobal[i] = g; return; }
    // While alignment is checked, data accesses stay on the slow path, where the check is.
    if (this.alignCheck) return;
    this.rTag[i] = page; this.rPhys[i] = frame; this.rGlobal[i] = g;
    if (access === Access.Write && !(this.code !== null && this.code.has(frame))) {
      this.wTag[i] = page; this.wPhys[i] = frame; this.wGlobal[i] = g;
    }
  }

  private pageFault(lin: number, access: Access, present: boolean, reserved: boolean): never {
    let code = present ? PfErr.P : 0;
    if (reserved) code |= PfErr.RSVD;
    if (access === Access.Write) code |= PfErr.W;
    if (this.cplValue === 3) code |= PfErr.U;
    if (access === Access.Exec && this.nxe) code |= PfErr.I;
    throw new CpuFault(Vector.PF, code, lin);
  }
}

/**
 * A process address space as a Linux kernel keeps it: VMAs (regions with a
 * protection) over real x86-64 page tables in guest physical memory, which
 * the CPU's MMU walks like any other. Anonymous pages are demand-zero: the
 * first touch faults, and `fault` maps a fresh page if a VMA allows it.
 */
import type { PhysMem } from '../cpu/physmem.js';
import { Access, type Mmu, Pte } from '../cpu/mmu.js';
import { CpuFault, PfErr, Vector } from '../cpu/fault.js';

export const PAGE = 4096;
export const enum Prot { None = 0, Read = 1, Write = 2, Exec = 4 }

export interface Vma { start: number; end: number; prot: number; name: string }

/** Top of the user stack; mmap areas are placed downward from MMAP_TOP. */
export const STACK_TOP = 0x7ffffffff000;
export const STACK_SIZE = 8 << 20;
const MMAP_TOP = 0x7ffff7fff000;
const USER_END = 0x800000000000;
const TWO32 = 4294967296;
const XD_HI = 1 << 31;
/**
 * A software bit (PTE bit 9, ignored by the MMU) on a not-present entry: the
 * page is PROT_NONE but keeps its frame, as Linux's _PAGE_PROTNONE does.
 */
const PTE_PROTNONE = 1 << 9;

export class OutOfMemory extends Error {}

export class AddressSpace {
  readonly vmas: Vma[] = [];
  readonly pml4: number;
  private nextFree = PAGE;
  private readonly freePages: number[] = [];

  constructor(private readonly phys: PhysMem, private readonly mmu: Mmu) {
    this.pml4 = this.allocPage();
    mmu.cr3 = this.pml4;
    mmu.paging = true;
    mmu.nxe = true;
    // Linux runs with CR0.AM set, so a process that sets RFLAGS.AC gets alignment checking (SIGBUS).
    mmu.am = true;
    mmu.cpl = 3;
    mmu.flushAll();
  }

  /** A zeroed physical page. */
  allocPage(): number {
    const p = this.freePages.pop();
    if (p !== undefined) {
      this.phys.bytes.fill(0, p, p + PAGE);
      this.mmu.notifyWrite(p);
      return p;
    }
    if (this.nextFree + PAGE > this.phys.size) throw new OutOfMemory('guest physical memory exhausted (raise -m)');
    const q = this.nextFree;
    this.nextFree += PAGE;
    return q;
  }

  /** Bytes of guest physical memory in use (page tables included). */
  get usedBytes(): number { return this.nextFree - this.freePages.length * PAGE; }

  // ---- page tables -----------------------------------------------------------

  /** The PTE address for `lin`, creating intermediate tables if `create`; -1 if absent. */
  private pteAddr(lin: number, create: boolean): number {
    let table = this.pml4;
    for (let level = 3; level >= 1; level--) {
      const index = Math.floor(lin / 2 ** (12 + 9 * level)) & 511;
      const ea = table + index * 8;
      const lo = this.phys.read32(ea);
      if (!(lo & Pte.P)) {
        if (!create) return -1;
        const t = this.allocPage();
        this.phys.write32(ea, t | Pte.P | Pte.RW | Pte.US);
        this.phys.write32(ea + 4, 0);
        table = t;
      } else {
        table = (this.phys.read32(ea + 4) & 0xfffff) * TWO32 + (lo >>> 12) * PAGE;
      }
    }
    return table + (Math.floor(lin / PAGE) & 511) * 8;
  }

  /** Physical frame held at `lin` (mapped, or kept under PROT_NONE), or -1. */
  frameAt(lin: number): number {
    const ea = this.pteAddr(lin, false);
    if (ea < 0) return -1;
    const lo = this.phys.read32(ea);
    if (!(lo & (Pte.P | PTE_PROTNONE))) return -1;
    return (this.phys.read32(ea + 4) & 0xfffff) * TWO32 + (lo >>> 12) * PAGE;
  }

  private setPte(lin: number, frame: number, prot: number): void {
    const ea = this.pteAddr(lin, true);
    let lo = (frame % TWO32) | Pte.US;
    lo |= prot === Prot.None ? PTE_PROTNONE : Pte.P;
    if (prot & Prot.Write) lo |= Pte.RW;
    const hi = Math.floor(frame / TWO32) | (prot & Prot.Exec ? 0 : XD_HI);
    this.phys.write32(ea, lo);
    this.phys.write32(ea + 4, hi);
    this.mmu.invlpg(lin);
  }

  private clearPte(lin: number): void {
    const ea = this.pteAddr(lin, false);
    if (ea < 0) return;
    const lo = this.phys.read32(ea);
    if (lo & (Pte.P | PTE_PROTNONE)) {
      this.freePages.push((this.phys.read32(ea + 4) & 0xfffff) * TWO32 + (lo >>> 12) * PAGE);
      this.phys.write32(ea, 0);
      this.phys.write32(ea + 4, 0);
      this.mmu.invlpg(lin);
    }
  }

  /** Maps a fresh zero page at `lin` (page-aligned) and returns its frame. */
  populate(lin: number, prot: number): number {
    const f = this.allocPage();
    this.setPte(lin, f, prot);
    return f;
  }

  // ---- VMAs --------------------------------------------------------------------

  find(lin: number): Vma | undefined {
    for (const v of this.vmas) if (lin >= v.start && lin < v.end) return v;
    return undefined;
  }

  /** Adds a region, replacing whatever was mapped there (MAP_FIXED semantics). */
  map(start: number, end: number, prot: number, name: string): void {
    this.unmap(start, end);
    this.vmas.push({ start, end, prot, name });
    this.vmas.sort((a, b) => a.start - b.start);
  }

  unmap(start: number, end: number): void {
    const keep: Vma[] = [];
    for (const v of this.vmas) {
      if (v.end <= start || v.start >= end) { keep.push(v); continue; }
      if (v.start < start) keep.push({ ...v, end: start });
      if (v.end > end) keep.push({ ...v, start: end });
      for (let p = Math.max(v.start, start); p < Math.min(v.end, end); p += PAGE) this.clearPte(p);
    }
    this.vmas.length = 0;
    this.vmas.push(...keep);
  }

  /** mprotect: splits regions and rewrites the PTEs of pages already present. Returns false on a hole. */
  protect(start: number, end: number, prot: number): boolean {
    for (let p = start; p < end;) {
      const v = this.find(p);
      if (!v) return false;
      p = v.end;
    }
    const out: Vma[] = [];
    for (const v of this.vmas) {
      if (v.end <= start || v.start >= end) { out.push(v); continue; }
      if (v.start < start) out.push({ ...v, end: start });
      const s = Math.max(v.start, start), e = Math.min(v.end, end);
      out.push({ ...v, start: s, end: e, prot });
      if (v.end > end) out.push({ ...v, start: end });
      for (let p = s; p < e; p += PAGE) {
        const f = this.frameAt(p);
        if (f >= 0) this.setPte(p, f, prot);
      }
    }
    this.vmas.length = 0;
    this.vmas.push(...out);
    return true;
  }

  /** A free range of `len` bytes, searched downward from the mmap top; -1 if none. */
  findFree(len: number, below = MMAP_TOP): number {
    let top = below;
    for (const v of [...this.vmas].sort((x, y) => y.start - x.start)) {
      if (v.start >= top) continue;
      if (v.end <= top - len) break;
      top = v.start;
    }
    return top - len >= 0x10000 ? top - len : -1;
  }

  isFree(start: number, end: number): boolean {
    if (start < PAGE || end > USER_END) return false;
    return !this.vmas.some((v) => v.start < end && v.end > start);
  }

  /**
   * Resolves a page fault if it is a first touch of a page that a VMA allows.
   * Returns false when the access is a genuine SIGSEGV.
   */
  fault(f: CpuFault): boolean {
    if (f.vector !== Vector.PF) return false;
    const lin = f.address;
    const v = this.find(lin);
    if (!v) return false;
    if ((f.errorCode & 1) !== 0) return false; // present: a protection violation
    const need = f.errorCode & PfErr.W ? Prot.Write : f.errorCode & PfErr.I ? Prot.Exec : Prot.Read;
    if (!(v.prot & need)) return false;
    this.populate(lin - (lin & 0xfff), v.prot);
    return true;
  }

  // ---- kernel access to user memory ------------------------------------------------

  /** Physical address of a user byte for a kernel copy, faulting pages in; -1 = EFAULT. */
  userPhys(lin: number, write: boolean): number {
    if (!(lin >= 0 && lin < USER_END)) return -1;
    const access = write ? Access.Write : Access.Read;
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        return this.mmu.translate(lin, access);
      } catch (e) {
        if (!(e instanceof CpuFault) || !this.fault(e)) return -1;
      }
    }
    return -1;
  }

  /** Copies `len` user bytes, or returns null on EFAULT. */
  read(lin: number, len: number): Uint8Array | null {
    const out = new Uint8Array(len);
    let done = 0;
    while (done < len) {
      const p = this.userPhys(lin + done, false);
      if (p < 0) return null;
      const n = Math.min(len - done, PAGE - ((lin + done) & 0xfff));
      out.set(this.phys.bytes.subarray(p, p + n), done);
      done += n;
    }
    return out;
  }

  /** Copies bytes into user memory; false on EFAULT. */
  write(lin: number, data: Uint8Array): boolean {
    let done = 0;
    while (done < data.length) {
      const p = this.userPhys(lin + done, true);
      if (p < 0) return false;
      const n = Math.min(data.length - done, PAGE - ((lin + done) & 0xfff));
      this.phys.bytes.set(data.subarray(done, done + n), p);
      this.mmu.notifyWrite(p - (p & 0xfff));
      done += n;
    }
    return true;
  }

  /** A NUL-terminated user string (UTF-8), or null on EFAULT or if longer than `max`. */
  readCString(lin: number, max = 4096): string | null {
    const bytes: number[] = [];
    for (let k = 0; k < max; k++) {
      const p = this.userPhys(lin + k, false);
      if (p < 0) return null;
      const b = this.phys.bytes[p];
      if (b === 0) return Buffer.from(bytes).toString('utf8');
      bytes.push(b);
    }
    return null;
  }
}

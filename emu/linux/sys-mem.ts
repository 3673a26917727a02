/** Memory syscalls: brk, mmap, munmap, mprotect, mremap, madvise (mm/mmap.c semantics). */
import * as fs from 'node:fs';
import { E, errnoOf } from './errno.js';
import { PAGE, Prot } from './addrspace.js';
import type { LinuxProcess } from './process.js';
import type { Syscall } from './syscalls.js';

const MAP_SHARED = 0x01, MAP_PRIVATE = 0x02, MAP_FIXED = 0x10, MAP_ANONYMOUS = 0x20, MAP_FIXED_NOREPLACE = 0x100000;
const MREMAP_MAYMOVE = 1, MREMAP_FIXED = 2;
const MAX_PROT = Prot.Read | Prot.Write | Prot.Exec;

const pageUp = (n: number): number => Math.ceil(n / PAGE) * PAGE;

/** brk never fails loudly: an impossible request returns the old break (Linux's contract). */
function brk(p: LinuxProcess): number {
  const want = p.arg(0);
  if (want < p.brkStart) return p.brk;
  const oldTop = pageUp(p.brk), newTop = pageUp(want);
  if (newTop > oldTop) {
    if (!p.mem.isFree(oldTop, newTop)) return p.brk;
    p.mem.map(oldTop, newTop, Prot.Read | Prot.Write, 'heap');
  } else if (newTop < oldTop) {
    p.mem.unmap(newTop, oldTop);
  }
  p.brk = want;
  return want;
}

function mmap(p: LinuxProcess): number {
  const addr = p.arg(0), len = p.arg(1), prot = p.int(2), flags = p.int(3), fd = p.int(4), off = p.arg(5);
  if (len <= 0 || len > 2 ** 46) return -E.INVAL;
  if (prot & ~MAX_PROT) return -E.INVAL;
  if (off % PAGE !== 0 || addr % PAGE !== 0 && (flags & (MAP_FIXED | MAP_FIXED_NOREPLACE))) return -E.INVAL;
  if (!(flags & (MAP_SHARED | MAP_PRIVATE))) return -E.INVAL;
  const size = pageUp(len);
  let data: Uint8Array | null = null;
  if (!(flags & MAP_ANONYMOUS)) {
    const f = p.files.get(fd);
    if (!f || f.hostFd < 0) return -E.BADF;
    if (flags & MAP_SHARED && prot & Prot.Write) {
      p.warnOnce('mmap-shared', 'emu: MAP_SHARED writable file mappings are private copies here; writes do not reach the file');
    }
    data = new Uint8Array(size);
    try { fs.readSync(f.hostFd, data, 0, size, off); } catch (e) { return -errnoOf(e); }
  }
  let start: number;
  if (flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) {
    if (addr < PAGE || addr + size > 0x800000000000) return -E.NOMEM;
    if (flags & MAP_FIXED_NOREPLACE && !p.mem.isFree(addr, addr + size)) return -E.EXIST;
    start = addr;
  } else if (addr !== 0 && p.mem.isFree(addr - (addr % PAGE), addr - (addr % PAGE) + size)) {
    start = addr - (addr % PAGE);
  } else {
    start = p.mem.findFree(size);
    if (start < 0) return -E.NOMEM;
  }
  p.mem.map(start, start + size, prot, data ? 'file' : 'anon');
  if (data) {
    for (let k = 0; k < size; k += PAGE) {
      const frame = p.mem.populate(start + k, prot);
      p.phys.bytes.set(data.subarray(k, k + PAGE), frame);
    }
  }
  return start;
}

function munmap(p: LinuxProcess): number {
  const addr = p.arg(0), len = p.arg(1);
  if (addr % PAGE !== 0 || len <= 0) return -E.INVAL;
  p.mem.unmap(addr, addr + pageUp(len));
  return 0;
}

function mprotect(p: LinuxProcess): number {
  const addr = p.arg(0), len = p.arg(1), prot = p.int(2);
  if (addr % PAGE !== 0 || prot & ~MAX_PROT) return -E.INVAL;
  if (len === 0) return 0;
  return p.mem.protect(addr, addr + pageUp(len), prot) ? 0 : -E.NOMEM;
}

/** mremap grows in place when the range above is free, else moves the contents (MREMAP_MAYMOVE). */
function mremap(p: LinuxProcess): number {
  const old = p.arg(0), oldLen = pageUp(p.arg(1)), newLen = pageUp(p.arg(2)), flags = p.int(3);
  if (old % PAGE !== 0 || newLen === 0) return -E.INVAL;
  const vma = p.mem.find(old);
  if (!vma || old + oldLen > vma.end) return -E.FAULT;
  if (flags & MREMAP_FIXED) {
    p.warnOnce('mremap-fixed', 'emu: mremap with MREMAP_FIXED is not supported; returning EINVAL');
    return -E.INVAL;
  }
  if (newLen <= oldLen) {
    if (newLen < oldLen) p.mem.unmap(old + newLen, old + oldLen);
    return old;
  }
  if (p.mem.isFree(old + oldLen, old + newLen)) {
    p.mem.map(old + oldLen, old + newLen, vma.prot, vma.name);
    return old;
  }
  if (!(flags & MREMAP_MAYMOVE)) return -E.NOMEM;
  const dest = p.mem.findFree(newLen);
  if (dest < 0) return -E.NOMEM;
  p.mem.map(dest, dest + newLen, vma.prot, vma.name);
  for (let k = 0; k < oldLen; k += PAGE) {
    const from = p.mem.frameAt(old + k);
    if (from < 0) continue;
    const to = p.mem.populate(dest + k, vma.prot);
    p.phys.bytes.copyWithin(to, from, from + PAGE);
  }
  p.mem.unmap(old, old + oldLen);
  return dest;
}

const MADV_DONTNEED = 4, MADV_FREE = 8;

/** MADV_DONTNEED on private anonymous memory makes the pages read back as zero. */
function madvise(p: LinuxProcess): number {
  const addr = p.arg(0), len = p.arg(1), advice = p.int(2);
  if (addr % PAGE !== 0) return -E.INVAL;
  if (advice === MADV_DONTNEED || advice === MADV_FREE) {
    const end = addr + pageUp(len);
    for (let a = addr; a < end;) {
      const v = p.mem.find(a);
      if (!v) return -E.NOMEM;
      const e = Math.min(v.end, end);
      p.mem.unmap(a, e);
      p.mem.map(a, e, v.prot, v.name);
      a = e;
    }
  }
  return 0;
}

export const memCalls: [number, string, Syscall][] = [
  [9, 'mmap', mmap],
  [10, 'mprotect', mprotect],
  [11, 'munmap', munmap],
  [12, 'brk', brk],
  [25, 'mremap', mremap],
  [28, 'madvise', madvise],
];

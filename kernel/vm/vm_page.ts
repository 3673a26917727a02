// Physical memory: the free pages of RAM, for the kernel's allocators
// (DragonFly's vm_page.c reduced to what kmem_slab_alloc needs, reference
// dragonfly.md §5.1: runs of contiguous pages, naturally aligned when
// asked, for slab zones and large kmalloc allocations).
//
// The model. Linear memory is physical memory (kernel/README.md), so a page
// is its address. vm_page_startup (the BSP, once, before any other CPU
// runs) takes the RAM ranges of the multiboot memory map below the 4 GiB
// the runtime maps, and takes out what the boot still uses: page 0 and
// everything below 16 MiB (the trampoline, the multiboot information, the
// module's data segments and heap, which memory.grow may extend up to
// 16 MiB), the image, and the loader's module list, command lines and
// modules. One bit per page from 0 to the top of RAM says in use (1; also
// every page that is not RAM) or free (0); the bitmap itself lies in the
// first free pages that fit it. Any CPU allocates and frees runs of pages
// under one spinlock (kern_spinlock.ts: a critical section; never blocks):
// a next-fit scan from where the last allocation ended. Pages come back
// dirty unless the caller asks for VM_ALLOC_ZERO.
//
// What it is not: there is no vm_page structure per page, no page queues,
// no pageout; vm_wait only sleeps until someone frees pages.

import { lock, putDec, puts, unlock } from "../console";
import { BOOT_IMAGE_END, BOOT_IMAGE_START } from "../runtime";
import { panic } from "../kern/kern_shutdown";
import { spinlock, spin_lock, spin_unlock } from "../kern/kern_spinlock";
import { HZ } from "../kern/kern_systimer";
import { tsleep, wakeup } from "../kern/kern_synch";

export const PAGE_SHIFT: u32 = 12;
export const PAGE_SIZE: usize = 4096;
export const PAGE_MASK: usize = PAGE_SIZE - 1;

/** vm_page_alloc_contig flags. */
export const VM_ALLOC_ZERO: u32 = 0x1; // the pages come back zeroed

/** Pages in the 4 GiB the runtime maps: nothing above is managed. */
const PAGES_MAPPED: u64 = 1 << 20;
/** Everything below 16 MiB belongs to the boot (kernel/README.md's memory table). */
const BOOT_LOW_PAGES: u32 = (16 << 20) >> PAGE_SHIFT;
/** Room for the ranges the boot keeps ([start, end) page pairs). */
const MAX_EXCLUDED: u32 = 64;
const NONE: u32 = 0xffffffff;

// Shared; written by the BSP in vm_page_startup, before the APs start.
const vm_bitmap_p: usize = memory.data(4, 4); // the bitmap's address
const vm_npages_p: usize = memory.data(4, 4); // pages it describes, from 0: the top of RAM
const vm_total_p: usize = memory.data(4, 4); // pages free after startup
// Under vm_page_spin:
const vm_page_spin_word: usize = memory.data(4, 4);
function vm_page_spin(): spinlock {
  return changetype<spinlock>(vm_page_spin_word);
}
const vm_free_p: usize = memory.data(4, 4); // pages free now (atomic stores, so anyone may read it)
const vm_rover_p: usize = memory.data(4, 4); // where the next scan starts
/** Threads in vm_wait (atomics). */
const vm_waiters_p: usize = memory.data(4, 4);
/** Boot-time scratch: what the boot keeps, as [start, end) page pairs. */
const excluded: usize = memory.data(<i32>MAX_EXCLUDED * 8, 4);
let nexcluded: u32 = 0;

function bitmap(): usize {
  return load<u32>(vm_bitmap_p);
}

function page_busy(p: u32): bool {
  return (load<u32>(bitmap() + <usize>(p >> 5) * 4) & (1 << (p & 31))) != 0;
}

/* Marks pages [p, p + n) in use (busy) or free. */
function pages_mark(p: u32, n: u32, busy: bool): void {
  const bm = bitmap();
  for (let i = p; i < p + n; i++) {
    const w = bm + <usize>(i >> 5) * 4;
    if (busy) store<u32>(w, load<u32>(w) | 1 << (i & 31));
    else store<u32>(w, load<u32>(w) & ~(1 << (i & 31)));
  }
}

/* The first page in [a, b) whose bit is `busy`, or NONE. */
function pages_find(a: u32, b: u32, busy: bool): u32 {
  const bm = bitmap();
  let i = a;
  while (i < b) {
    let w = load<u32>(bm + <usize>(i >> 5) * 4);
    if (!busy) w = ~w;
    w >>= i & 31;
    if (w != 0) {
      const j = i + <u32>ctz<u32>(w);
      return j < b ? j : NONE;
    }
    i = (i | 31) + 1;
  }
  return NONE;
}

/* The first free run of n pages in [from, to) starting at a multiple of align, or NONE. */
function pages_find_run(from: u32, to: u32, n: u32, align: u32): u32 {
  let start = (from + align - 1) & ~(align - 1);
  while (<u64>start + n <= <u64>to) {
    const busy = pages_find(start, start + n, true);
    if (busy == NONE) return start;
    const clear = pages_find(busy, to, false);
    if (clear == NONE) return NONE;
    start = (clear + align - 1) & ~(align - 1);
  }
  return NONE;
}

// ---- startup --------------------------------------------------------------------------

/* The boot keeps the bytes [start, end) (byte addresses, any alignment). */
function exclude(start: u64, end: u64): void {
  if (end <= start) return;
  if (nexcluded == MAX_EXCLUDED) panic("vm_page_startup: too many boot ranges (modules) to keep");
  const s = start >> PAGE_SHIFT;
  let e = (end + PAGE_MASK) >> PAGE_SHIFT;
  if (s >= PAGES_MAPPED) return;
  if (e > PAGES_MAPPED) e = PAGES_MAPPED;
  store<u32>(excluded + <usize>nexcluded * 8, <u32>s);
  store<u32>(excluded + <usize>nexcluded * 8, <u32>e, 4);
  nexcluded++;
}

/* A NUL-terminated string the loader left, kept with its NUL. */
function exclude_string(p: usize): void {
  if (p == 0) return;
  let e = p;
  while (load<u8>(e) != 0) e++;
  exclude(p, <u64>e + 1);
}

function excluded_overlaps(s: u32, e: u32): bool {
  for (let i: u32 = 0; i < nexcluded; i++) {
    const xs = load<u32>(excluded + <usize>i * 8);
    const xe = load<u32>(excluded + <usize>i * 8, 4);
    if (s < xe && xs < e) return true;
  }
  return false;
}

/*
 * The multiboot memory map's RAM ranges (type 1) as whole pages below
 * 4 GiB, each given to fn(start, end); without a map, mem_upper's range
 * above 1 MiB. Returns the top page.
 */
function ram_ranges(mbInfo: usize, fn: (s: u32, e: u32) => void): u32 {
  const flags = load<u32>(mbInfo);
  let top: u32 = 0;
  if ((flags & (1 << 6)) != 0) {
    const start: usize = load<u32>(mbInfo, 48);
    const end = start + <usize>load<u32>(mbInfo, 44);
    for (let e = start; e < end; e += <usize>load<u32>(e) + 4) {
      if (load<u32>(e, 20) != 1) continue;
      const base = load<u64>(e, 4);
      const s = (base + PAGE_MASK) >> PAGE_SHIFT;
      let t = (base + load<u64>(e, 12)) >> PAGE_SHIFT;
      if (t > PAGES_MAPPED) t = PAGES_MAPPED;
      if (s >= t) continue;
      fn(<u32>s, <u32>t);
      if (<u32>t > top) top = <u32>t;
    }
  } else if ((flags & 1) != 0) {
    top = (1 << 8) + (load<u32>(mbInfo, 8) >> 2);
    fn(1 << 8, top);
  } else {
    panic("vm_page_startup: the loader gave no memory map and no memory size");
  }
  return top;
}

// vm_page_startup's scratch for the callbacks (closures are not available).
let bitmap_pages: u32 = 0;
let bitmap_at: u32 = NONE;

/* Where the bitmap fits in RAM range [s, e): the lowest start clear of what the boot keeps. */
function place_bitmap(s: u32, e: u32): void {
  if (s < BOOT_LOW_PAGES) s = BOOT_LOW_PAGES;
  let candidate = s;
  for (let i: i32 = -1; i < <i32>nexcluded; i++) {
    if (i >= 0) candidate = load<u32>(excluded + <usize>i * 8, 4);
    if (candidate < s || candidate + bitmap_pages > e || candidate >= bitmap_at) continue;
    if (!excluded_overlaps(candidate, candidate + bitmap_pages)) bitmap_at = candidate;
  }
}

function free_range(s: u32, e: u32): void {
  pages_mark(s, e - s, false);
}

/*
 * vm_page_startup: the free pages from the multiboot information (mbInfo;
 * 0: none) and the runtime's boot block, and the boot line saying how much
 * is free: `memory: 231 MiB free in 1 range`.
 * Context: the BSP, once, before the APs start and before any allocation.
 */
export function vm_page_startup(mbInfo: usize, boot: usize): void {
  if (mbInfo == 0) panic("vm_page_startup: no multiboot information");
  const flags = load<u32>(mbInfo);
  exclude(0, <u64>BOOT_LOW_PAGES << PAGE_SHIFT);
  exclude(load<u32>(boot + BOOT_IMAGE_START), load<u32>(boot + BOOT_IMAGE_END));
  if ((flags & (1 << 2)) != 0) exclude_string(load<u32>(mbInfo, 16));
  if ((flags & (1 << 9)) != 0) exclude_string(load<u32>(mbInfo, 64));
  if ((flags & (1 << 3)) != 0) {
    const mods: usize = load<u32>(mbInfo, 24);
    const count = load<u32>(mbInfo, 20);
    exclude(mods, <u64>mods + <u64>count * 16);
    for (let m: u32 = 0; m < count; m++) {
      const mod = mods + <usize>m * 16;
      exclude(load<u32>(mod), load<u32>(mod, 4));
      exclude_string(load<u32>(mod, 8));
    }
  }
  const npages = ram_ranges(mbInfo, (s: u32, e: u32): void => {});
  if (npages <= BOOT_LOW_PAGES) panic("vm_page_startup: no RAM above 16 MiB");
  bitmap_pages = <u32>(((<usize>npages + 31) / 32 * 4 + PAGE_MASK) >> PAGE_SHIFT);
  bitmap_at = NONE;
  ram_ranges(mbInfo, place_bitmap);
  if (bitmap_at == NONE) panic("vm_page_startup: no room for the page bitmap");
  const bm = <usize>bitmap_at << PAGE_SHIFT;
  store<u32>(vm_bitmap_p, <u32>bm);
  store<u32>(vm_npages_p, npages);
  memory.fill(bm, 0xff, <usize>bitmap_pages << PAGE_SHIFT);
  ram_ranges(mbInfo, free_range);
  for (let i: u32 = 0; i < nexcluded; i++) {
    const xs = load<u32>(excluded + <usize>i * 8);
    const xe = load<u32>(excluded + <usize>i * 8, 4);
    if (xs < npages) pages_mark(xs, (xe < npages ? xe : npages) - xs, true);
  }
  pages_mark(bitmap_at, bitmap_pages, true);
  let free: u32 = 0;
  let ranges: u32 = 0;
  let p = pages_find(0, npages, false);
  store<u32>(vm_rover_p, p != NONE ? p : 0);
  while (p != NONE) {
    const end = pages_find(p, npages, true);
    const e = end == NONE ? npages : end;
    free += e - p;
    ranges++;
    p = end == NONE ? NONE : pages_find(end, npages, false);
  }
  store<u32>(vm_free_p, free);
  store<u32>(vm_total_p, free);
  lock();
  puts("memory: "); putDec(<u64>free >> (20 - PAGE_SHIFT)); puts(" MiB free in "); putDec(ranges);
  puts(ranges == 1 ? " range\n" : " ranges\n");
  unlock();
}

// ---- allocation -----------------------------------------------------------------------

/*
 * vm_page_alloc_contig: npages contiguous free pages whose first page
 * number is a multiple of align (a power of two; 1: any), zeroed with
 * VM_ALLOC_ZERO; their address, or 0 when there is no such run.
 * Context: any CPU; thread or hard code; never blocks.
 */
export function vm_page_alloc_contig(npages: u32, align: u32, flags: u32): usize {
  if (npages == 0 || align == 0 || (align & (align - 1)) != 0) panic("vm_page_alloc_contig: bad size or alignment");
  const top = load<u32>(vm_npages_p);
  spin_lock(vm_page_spin());
  const rover = load<u32>(vm_rover_p);
  let p = pages_find_run(rover, top, npages, align);
  if (p == NONE) p = pages_find_run(0, top, npages, align);
  if (p != NONE) {
    pages_mark(p, npages, true);
    atomic.store<u32>(vm_free_p, load<u32>(vm_free_p) - npages);
    store<u32>(vm_rover_p, p + npages < top ? p + npages : 0);
  }
  spin_unlock(vm_page_spin());
  if (p == NONE) return 0;
  const pa = <usize>p << PAGE_SHIFT;
  if ((flags & VM_ALLOC_ZERO) != 0) memory.fill(pa, 0, <usize>npages << PAGE_SHIFT);
  return pa;
}

/*
 * vm_page_free_contig: gives back npages pages from pa, as
 * vm_page_alloc_contig handed them out (panics on a page already free),
 * and wakes vm_wait's sleepers.
 * Context: any CPU; thread or hard code; never blocks.
 */
export function vm_page_free_contig(pa: usize, npages: u32): void {
  const p = <u32>(pa >> PAGE_SHIFT);
  if ((pa & PAGE_MASK) != 0 || p + npages > load<u32>(vm_npages_p)) panic("vm_page_free_contig: not a managed page");
  spin_lock(vm_page_spin());
  if (pages_find(p, p + npages, false) != NONE) {
    spin_unlock(vm_page_spin());
    panic("vm_page_free_contig: a page is already free");
  }
  pages_mark(p, npages, false);
  atomic.store<u32>(vm_free_p, load<u32>(vm_free_p) + npages);
  spin_unlock(vm_page_spin());
  if (atomic.load<u32>(vm_waiters_p) != 0) wakeup(<u32>vm_free_p);
}

/*
 * vm_wait: sleeps until pages are freed, or for a second at most (a free
 * between the caller's failed allocation and this sleep is not
 * remembered); the caller then retries.
 * Context: thread, outside IPI handlers and systimer callbacks; blocks.
 */
export function vm_wait(): void {
  atomic.add<u32>(vm_waiters_p, 1);
  tsleep(<u32>vm_free_p, HZ);
  atomic.sub<u32>(vm_waiters_p, 1);
}

/*
 * vm_page_free_count: pages free now (racy).
 * Context: any.
 */
export function vm_page_free_count(): u32 {
  return atomic.load<u32>(vm_free_p);
}

/*
 * vm_page_total: pages that were free after startup: the usable RAM.
 * Context: any, after vm_page_startup.
 */
export function vm_page_total(): u32 {
  return load<u32>(vm_total_p);
}

/*
 * vm_page_end: the number of the first page above RAM: every page the
 * allocator hands out is below it.
 * Context: any, after vm_page_startup.
 */
export function vm_page_end(): u32 {
  return load<u32>(vm_npages_p);
}

/*
 * vm_page_allocated: whether page p is in use (allocated, kept by the boot,
 * or not RAM). For checks and statistics.
 * Context: any; racy.
 */
export function vm_page_allocated(p: u32): bool {
  return p >= load<u32>(vm_npages_p) || page_busy(p);
}

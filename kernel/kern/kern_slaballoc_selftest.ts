// Self-tests of kmalloc (kern_slaballoc.ts, reference §5.4 invariants 1
// and 2) and of the physical pages under it (vm/vm_page.ts). Every CPU runs
// each test at once; the cross-CPU tests meet at selftest_barrier, and a
// CPU's partner is the next CPU up (cyclically; itself when alone, where
// the remote paths become local ones and the tests check those).

import { cpu_id } from "../hw";
import { crit_enter, crit_exit, MAXCPU } from "./lwkt_thread";
import { lwkt_process_ipiq, smp_active_mask } from "./lwkt_ipiq";
import {
  KLIMIT_NULL, KLIMIT_OK, KLIMIT_PANIC, M_NULLOK, M_POWEROF2, M_WAITOK, M_ZERO, MALLOC_DEFINE, MALLOC_TYPE_BYTES,
  M_NOWAIT, ZERO_LENGTH_PTR, kfree, kmalloc, kmalloc_chunksize, kmalloc_create, kmalloc_destroy, kmalloc_limit_check,
  kmalloc_zone_chunks, kmalloc_zone_limit, kmalloc_zone_owner, kmalloc_zone_size, krealloc, malloc_type,
  malloc_type_cpu_memuse, malloc_type_inuse, malloc_type_memuse, malloc_type_registered,
} from "./kern_slaballoc";
import { PAGE_SIZE, vm_page_alloc_contig, vm_page_allocated, vm_page_free_contig, vm_page_free_count } from "../vm/vm_page";
import { selftest_barrier, selftest_cpus } from "./selftest";

/** The tests' own type: every test gives back all it took, so its sums end at 0. */
const M_KMTEST: malloc_type = MALLOC_DEFINE(memory.data(MALLOC_TYPE_BYTES, 8), "kmalloc selftest");

/* The CPU whose partner this one is. */
function partner_of(): u32 {
  const me = cpu_id();
  const mask = smp_active_mask();
  const below = mask & ((<u64>1 << me) - 1);
  return below != 0 ? 63 - <u32>clz<u64>(below) : 63 - <u32>clz<u64>(mask);
}

/** Per CPU: a list of chunks it publishes for its partner ({array, count}; shared, written before a barrier). */
const published: usize = memory.data(<i32>MAXCPU * 8, 4);

function publish(array: usize, count: u32): void {
  store<u32>(published + <usize>cpu_id() * 8, <u32>array);
  store<u32>(published + <usize>cpu_id() * 8, count, 4);
}

function published_array(cpu: u32): usize {
  return load<u32>(published + <usize>cpu * 8);
}

function published_count(cpu: u32): u32 {
  return load<u32>(published + <usize>cpu * 8, 4);
}

/* Fills [p, p + n) with byte b. */
function pattern_fill(p: usize, n: usize, b: u8): void {
  memory.fill(p, b, n);
}

/* Whether [p, p + n) holds only byte b. */
function pattern_ok(p: usize, n: usize, b: u8): bool {
  const word = <u32>b * 0x01010101;
  let i: usize = 0;
  for (; i + 4 <= n; i += 4) if (load<u32>(p + i) != word) return false;
  for (; i < n; i++) if (load<u8>(p + i) != b) return false;
  return true;
}

// ---- invariant 2: size classes and alignment ---------------------------------------------

/*
 * Does kmalloc(100) take a 104-byte chunk (by the type's statistics, too)?
 * Does every request of 1..16383 bytes round up by its class's step (8 below
 * 128, 16 below 256, …, 1024 below 16384)? Is a power-of-two request aligned
 * to its size, another to its step, a large one to a page? Does kmalloc(0)
 * return a non-NULL pointer kfree takes? Does M_ZERO zero a recycled chunk,
 * and M_POWEROF2 round up?
 */
function kmalloc_test_sizes(): string | null {
  const me = cpu_id();
  for (let n: usize = 1; n < 16384; n++) {
    const step: usize = n <= 128 ? 8 : <usize>16 << (32 - clz<u32>(<u32>n - 1) - 8);
    const chunk = kmalloc_chunksize(n);
    if (n < kmalloc_zone_limit() && (chunk < n || chunk - n >= step || chunk % step != 0)) return "a size class does not round by its step";
  }
  const before = malloc_type_cpu_memuse(M_KMTEST, me);
  const p = kmalloc(100, M_KMTEST, M_WAITOK);
  if (kmalloc_chunksize(100) != 104 || malloc_type_cpu_memuse(M_KMTEST, me) - before != 104) return "kmalloc(100) did not take a 104-byte chunk";
  if ((p & 7) != 0) return "kmalloc(100) is not 8-byte aligned";
  kfree(p, M_KMTEST);
  for (let size: usize = 8; size < kmalloc_zone_limit(); size <<= 1) {
    const q = kmalloc(size, M_KMTEST, M_WAITOK);
    if ((q & (size - 1)) != 0) return "a power-of-two chunk is not aligned to its size";
    if (kmalloc_zone_owner(q) != <i32>me) return "a chunk's zone is not tagged with its cpu";
    kfree(q, M_KMTEST);
  }
  const odd = kmalloc(1000, M_KMTEST, M_WAITOK);
  if ((odd & 63) != 0) return "kmalloc(1000) is not aligned to its class's step";
  kfree(odd, M_KMTEST);
  const large = kmalloc(kmalloc_zone_limit(), M_KMTEST, M_WAITOK | M_ZERO);
  if ((large & (PAGE_SIZE - 1)) != 0 || kmalloc_zone_owner(large) != -1) return "a large allocation is not whole pages";
  if (!pattern_ok(large, kmalloc_zone_limit(), 0)) return "a large M_ZERO allocation is not zero";
  kfree(large, M_KMTEST);
  const zero = kmalloc(0, M_KMTEST, M_WAITOK);
  if (zero == 0 || zero != ZERO_LENGTH_PTR) return "kmalloc(0) did not return the zero-length pointer";
  kfree(zero, M_KMTEST);
  const dirty = kmalloc(200, M_KMTEST, M_WAITOK);
  pattern_fill(dirty, 208, 0xa5);
  kfree(dirty, M_KMTEST);
  const clean = kmalloc(200, M_KMTEST, M_WAITOK | M_ZERO);
  if (clean != dirty) return "a freed chunk did not come back first (LIFO)";
  if (!pattern_ok(clean, 208, 0)) return "M_ZERO left a recycled chunk dirty";
  kfree(clean, M_KMTEST);
  const before2 = malloc_type_cpu_memuse(M_KMTEST, me);
  const pow = kmalloc(300, M_KMTEST, M_WAITOK | M_POWEROF2);
  if (malloc_type_cpu_memuse(M_KMTEST, me) - before2 != 512 || (pow & 511) != 0) return "M_POWEROF2 did not round 300 up to 512";
  kfree(pow, M_KMTEST);
  if (malloc_type_cpu_memuse(M_KMTEST, me) != before) return "the type's memuse did not return to where it was";
  return null;
}

// ---- invariant 2: the type limit -------------------------------------------------------

/*
 * A type of this CPU's own (kmalloc_create), limited to 1024 bytes: do
 * exactly sixteen 64-byte M_NULLOK allocations succeed and the next return
 * NULL, and would one without M_NULLOK panic (kmalloc_limit_check says so:
 * the panic itself would stop the machine)? Does a kfree make room again?
 * Is the type in the registry while it lives, and gone after
 * kmalloc_destroy?
 */
function kmalloc_test_limit(): string | null {
  const type = kmalloc_create("kmalloc.limit");
  type.ks_limit = 1024;
  if (!malloc_type_registered(type)) return "a created type is not in the registry";
  const ptrs = kmalloc(32 * 4, M_KMTEST, M_WAITOK);
  let n: u32 = 0;
  while (n < 32) {
    const p = kmalloc(64, type, M_WAITOK | M_NULLOK);
    if (p == 0) break;
    store<u32>(ptrs + <usize>n * 4, <u32>p);
    n++;
  }
  let why: string | null = null;
  if (n != 16) why = "the limit did not stop M_NULLOK allocations at 1024 bytes";
  else if (kmalloc_limit_check(type, M_WAITOK) != KLIMIT_PANIC) why = "over the limit without M_NULLOK would not panic";
  else if (kmalloc_limit_check(type, M_NOWAIT) != KLIMIT_NULL) why = "over the limit with M_NOWAIT would not return NULL";
  else if (kmalloc(64, type, M_NOWAIT) != 0) why = "kmalloc over the limit did not return NULL";
  if (why === null) {
    n--;
    kfree(load<u32>(ptrs + <usize>n * 4), type);
    if (kmalloc_limit_check(type, M_WAITOK) != KLIMIT_OK) why = "a kfree under the limit did not make room";
    const p = kmalloc(64, type, M_WAITOK | M_NULLOK);
    if (p == 0) why = "a kfree under the limit did not make room";
    else store<u32>(ptrs + <usize>(n++) * 4, <u32>p);
  }
  while (n > 0) kfree(load<u32>(ptrs + <usize>(--n) * 4), type);
  kfree(ptrs, M_KMTEST);
  if (why === null && (malloc_type_memuse(type) != 0 || malloc_type_inuse(type) != 0)) why = "the type's sums did not return to 0";
  kmalloc_destroy(type);
  if (why === null && malloc_type_registered(type)) why = "a destroyed type is still in the registry";
  return why;
}

// ---- invariant 1: cross-CPU free -------------------------------------------------------

/** A class no other test uses: its zones are this test's alone. */
const REMOTE_SIZE: usize = 3000;

/*
 * Invariant 1: CPU k fills k + 1 zones with chunks and writes each; its
 * partner checks and frees them all (a remote free: no lock, the chunks
 * pushed on the zones' z_RChunks, a passive IPI per zone the owner had
 * taken off ZoneAry). Do the type's per-CPU entries go negative (CPU 0
 * freed more than it allocated) while their sum is 0? Once CPU k processes
 * its IPIs, do its next allocations of that many chunks reuse those zones?
 */
function kmalloc_test_remote(): string | null {
  const me = cpu_id();
  const per_zone = kmalloc_zone_chunks(REMOTE_SIZE);
  const n = per_zone * (me + 1);
  const ptrs = kmalloc(<usize>n * 4, M_KMTEST, M_WAITOK);
  const zones = kmalloc(<usize>(me + 1) * 4, M_KMTEST, M_WAITOK | M_ZERO);
  let nzones: u32 = 0;
  selftest_barrier();
  const memuse0 = malloc_type_memuse(M_KMTEST);
  selftest_barrier();
  let why: string | null = null;
  for (let i: u32 = 0; i < n; i++) {
    const p = kmalloc(REMOTE_SIZE, M_KMTEST, M_WAITOK);
    pattern_fill(p, REMOTE_SIZE, <u8>(me * 16 + i));
    store<u32>(ptrs + <usize>i * 4, <u32>p);
    const z = p & ~(kmalloc_zone_size() - 1);
    let known = false;
    for (let j: u32 = 0; j < nzones; j++) known = known || load<u32>(zones + <usize>j * 4) == <u32>z;
    if (known) continue;
    if (nzones == me + 1) why = "the chunks did not fill whole zones";
    else store<u32>(zones + <usize>(nzones++) * 4, <u32>z);
  }
  publish(ptrs, n);
  selftest_barrier();
  const from = partner_of();
  const theirs = published_array(from);
  for (let i: u32 = 0; i < published_count(from); i++) {
    const p = <usize>load<u32>(theirs + <usize>i * 4);
    if (!pattern_ok(p, REMOTE_SIZE, <u8>(from * 16 + i)) && why === null) why = "a chunk's contents changed before its free";
    kfree(p, M_KMTEST);
  }
  selftest_barrier();
  const memuse = malloc_type_memuse(M_KMTEST);
  const memuse_cpu0 = malloc_type_cpu_memuse(M_KMTEST, 0);
  selftest_barrier();
  if (why === null && memuse != memuse0) why = "the sum of the type's memuse is not back where it was after the remote frees";
  if (why === null && me == 0 && selftest_cpus() > 1 && memuse_cpu0 >= 0) why = "cpu 0 freed more than it allocated, yet its memuse is not negative";
  // The passive IPIs are queued here by now; take them in, then reuse.
  crit_enter();
  lwkt_process_ipiq();
  crit_exit();
  for (let i: u32 = 0; i < n; i++) {
    const p = kmalloc(REMOTE_SIZE, M_KMTEST, M_WAITOK);
    store<u32>(ptrs + <usize>i * 4, <u32>p);
    const z = p & ~(kmalloc_zone_size() - 1);
    let known = false;
    for (let j: u32 = 0; j < nzones; j++) known = known || load<u32>(zones + <usize>j * 4) == <u32>z;
    if (!known && why === null) why = "the chunks freed remotely were not reused by their owner";
  }
  for (let i: u32 = 0; i < n; i++) kfree(load<u32>(ptrs + <usize>i * 4), M_KMTEST);
  kfree(zones, M_KMTEST);
  kfree(ptrs, M_KMTEST);
  selftest_barrier();
  return why;
}

// ---- the storm -------------------------------------------------------------------------

const STORM_ROUNDS: u32 = 4;
const STORM_CHUNKS: u32 = 64;

/** Per CPU: the storm's pseudo-random state. */
let storm_seed: u32 = 0;

function storm_rand(): u32 {
  storm_seed = storm_seed * 1103515245 + 12345;
  return storm_seed >> 8;
}

/* A request size: mostly small, some up to a page, a few large. */
function storm_size(): usize {
  const r = storm_rand();
  if ((r & 15) == 0) return <usize>(r >> 4) % 40000 + 1;
  if ((r & 3) == 0) return <usize>(r >> 4) % 4096 + 1;
  return <usize>(r >> 4) % 300;
}

/*
 * Every CPU at once, for several rounds: allocate chunks of mixed sizes
 * (zero-length, small, page-sized and large; some M_ZERO, checked zero),
 * fill each with its own byte, check them all, free half here and hand the
 * other half to the partner, which checks and frees them. Any overlap of
 * two live allocations shows as a changed byte. Does every CPU's memory
 * come back (the type's sums at 0)?
 */
function kmalloc_test_storm(): string | null {
  const me = cpu_id();
  storm_seed = me * 7919 + 1;
  const ptrs = kmalloc(<usize>STORM_CHUNKS * 8, M_KMTEST, M_WAITOK);
  let why: string | null = null;
  selftest_barrier();
  const memuse0 = malloc_type_memuse(M_KMTEST);
  selftest_barrier();
  for (let round: u32 = 0; round < STORM_ROUNDS; round++) {
    for (let i: u32 = 0; i < STORM_CHUNKS; i++) {
      const size = storm_size();
      const zero = (i & 7) == 3;
      const p = kmalloc(size, M_KMTEST, zero ? M_WAITOK | M_ZERO : M_WAITOK);
      if (size == 0 && p != ZERO_LENGTH_PTR && why === null) why = "kmalloc(0) in the storm was not the zero-length pointer";
      if (zero && size != 0 && !pattern_ok(p, size, 0) && why === null) why = "an M_ZERO chunk was not zero";
      if (size != 0) pattern_fill(p, size, <u8>(me * 31 + i + round));
      store<u32>(ptrs + <usize>i * 8, <u32>p);
      store<u32>(ptrs + <usize>i * 8, <u32>size, 4);
    }
    for (let i: u32 = 0; i < STORM_CHUNKS; i++) {
      const p = <usize>load<u32>(ptrs + <usize>i * 8);
      const size = <usize>load<u32>(ptrs + <usize>i * 8, 4);
      if (size != 0 && !pattern_ok(p, size, <u8>(me * 31 + i + round)) && why === null) why = "two live allocations overlap";
      if ((i & 1) == 0) kfree(p, M_KMTEST);
    }
    publish(ptrs, STORM_CHUNKS);
    selftest_barrier();
    const from = partner_of();
    const theirs = published_array(from);
    for (let i: u32 = 1; i < STORM_CHUNKS; i += 2) {
      const p = <usize>load<u32>(theirs + <usize>i * 8);
      const size = <usize>load<u32>(theirs + <usize>i * 8, 4);
      if (size != 0 && !pattern_ok(p, size, <u8>(from * 31 + i + round)) && why === null) why = "a chunk changed before its remote free";
      kfree(p, M_KMTEST);
    }
    selftest_barrier();
  }
  selftest_barrier();
  const memuse = malloc_type_memuse(M_KMTEST);
  selftest_barrier();
  kfree(ptrs, M_KMTEST);
  if (why === null && memuse != memuse0) why = "the type's memuse did not come back after the storm";
  return why;
}

// ---- krealloc, and the pages under it all ------------------------------------------------

/*
 * Does krealloc keep the pointer while the size rounds to the same chunk
 * (or page count), move the contents when it does not, free at size 0?
 * And do runs of pages come back aligned as asked, marked in use, and
 * counted free again after vm_page_free_contig?
 */
function kmalloc_test_realloc(): string | null {
  const p = kmalloc(100, M_KMTEST, M_WAITOK);
  pattern_fill(p, 100, 0x3c);
  if (krealloc(p, 104, M_KMTEST, M_WAITOK) != p) return "krealloc within the chunk moved it";
  const q = krealloc(p, 5000, M_KMTEST, M_WAITOK);
  if (q == p || !pattern_ok(q, 100, 0x3c)) return "krealloc to a larger class did not move the contents";
  const big = krealloc(q, kmalloc_zone_limit() * 2, M_KMTEST, M_WAITOK);
  if (!pattern_ok(big, 100, 0x3c)) return "krealloc to a large allocation did not move the contents";
  if (krealloc(big, kmalloc_zone_limit() * 2 - 100, M_KMTEST, M_WAITOK) != big) return "krealloc within the pages moved them";
  if (krealloc(big, 0, M_KMTEST, M_WAITOK) != 0) return "krealloc to 0 did not free";

  const pages: u32 = 8;
  const free0 = vm_page_free_count();
  const pa = vm_page_alloc_contig(pages, 8, 0);
  if (pa == 0 || (pa & (PAGE_SIZE * 8 - 1)) != 0) return "vm_page_alloc_contig did not align the run";
  for (let i: u32 = 0; i < pages; i++) if (!vm_page_allocated(<u32>(pa / PAGE_SIZE) + i)) return "an allocated page is not marked in use";
  pattern_fill(pa, PAGE_SIZE * pages, 0x77);
  vm_page_free_contig(pa, pages);
  if (vm_page_allocated(<u32>(pa / PAGE_SIZE))) return "a freed page is still marked in use";
  if (selftest_cpus() == 1 && vm_page_free_count() != free0) return "the free count did not come back";
  return null;
}

/** This file's tests, in the order they run (kern/selftest.ts). */
export const KMALLOC_TESTS: StaticArray<string> = [
  "kmalloc.sizes", "kmalloc.limit", "kmalloc.remote", "kmalloc.storm", "kmalloc.realloc",
];

/* kmalloc_selftest: runs KMALLOC_TESTS[i]. */
export function kmalloc_selftest(i: i32): string | null {
  switch (i) {
    case 0: return kmalloc_test_sizes();
    case 1: return kmalloc_test_limit();
    case 2: return kmalloc_test_remote();
    case 3: return kmalloc_test_storm();
    default: return kmalloc_test_realloc();
  }
}

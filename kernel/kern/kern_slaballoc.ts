// kmalloc: DragonFly's per-CPU slab allocator (reference dragonfly.md §5.1;
// kern_slaballoc.c).
//
// The model. Memory comes from the VM (vm/vm_page.ts) in ZONES: naturally
// aligned blocks of ZoneSize bytes (32 KiB, doubling up to 128 KiB with
// RAM/1024), each cut into chunks of one size class and OWNED BY ONE CPU,
// the one that made it. The 72 classes round a request up by 8 bytes below
// 128, 16 below 256, and so on to 1 KiB steps below 16 KiB; power-of-two
// chunks are aligned to their size. A zone starts with its header (SLZone);
// the zone of a chunk is `ptr & ~(ZoneSize - 1)`. Each page the allocator
// hands out is tagged in kmemusage: -(cpu + 1) for a page of a zone that
// CPU owns, n > 0 for the first page of an n-page large allocation
// (requests of ZoneLimit or more, or page multiples above two pages, which
// go to the VM directly), 0 otherwise.
//
// Every CPU keeps its own zones (its SLGlobalData: ZoneAry, lists of zones with free
// chunks per class; FreeZones, wholly free zones kept for reuse), touched
// only by that CPU in a critical section: kmalloc and a local kfree take no
// lock. A chunk freed on ANOTHER CPU is not put back by that CPU: it is
// pushed with a CAS onto the zone's z_RChunks, the only zone field other
// CPUs write (with z_RCount), and the owner takes the list over (a) when
// the zone runs out of local free chunks in kmalloc, (b) in kfree_remote, a
// PASSIVE IPI the first remote free sends when the owner has taken the zone
// off ZoneAry and set z_RSignal, (c) in slab_cleanup, every 10 s. z_RCount
// counts remote frees that will still touch the zone; while it is non-zero
// the owner does not give the zone away. Unlike §5.1's order (read
// z_RSignal, count only if it was set, then push), z_RCount counts every
// remote free in flight and the freeing CPU reads z_RSignal AFTER its push:
// a push landing just after the owner found z_RChunks empty and unlinked
// the zone then still sees the signal and sends the IPI, where a signal
// read before the push could leave the chunk on a zone nothing visits.
//
// Memory goes back to the VM only from kmalloc without M_RNOWAIT (free
// zones beyond zone_cache, large allocations freed from hard code): kfree
// may run in IPI handlers and systimer callbacks and never blocks. kmalloc
// from hard code needs M_RNOWAIT (M_NOWAIT), and may then fail.
//
// Malloc types (malloc_type) count per CPU: ks_memuse and ks_inuse of a
// CPU go negative when it frees what another allocated; only the sums mean
// something. A type past its ks_limit makes kmalloc panic, or return NULL
// with M_NULLOK. Types register at first use in a list kmalloc_type_at
// walks by index.
//
// What it is not: M_USE_RESERVE and M_USE_INTERRUPT_RESERVE are accepted
// and change nothing (there is no reserve to dip into); there is no
// kmalloc_obj (§5.3).

import { lock, puts, unlock } from "../console";
import { panic } from "./kern_shutdown";
import { spinlock, spin_lock, spin_unlock } from "./kern_spinlock";
import { systimer, systimer_alloc, systimer_init_oneshot } from "./kern_systimer";
import { lwkt_send_ipiq3_passive } from "./lwkt_ipiq";
import { MAXCPU, crit_enter, crit_exit, globaldata, mycpu } from "./lwkt_thread";
import {
  PAGE_MASK, PAGE_SHIFT, PAGE_SIZE, VM_ALLOC_ZERO, vm_page_alloc_contig, vm_page_end, vm_page_free_contig, vm_page_total, vm_wait,
} from "../vm/vm_page";

/** kmalloc flags (DragonFly's malloc.h values). */
export const M_RNOWAIT: u32 = 0x0001; // never block; may fail
export const M_WAITOK: u32 = 0x0002; // may block for memory
export const M_ZERO: u32 = 0x0100;
export const M_USE_RESERVE: u32 = 0x0200;
export const M_NULLOK: u32 = 0x0400; // NULL rather than a panic (out of memory, over the type's limit)
export const M_USE_INTERRUPT_RESERVE: u32 = 0x1000;
export const M_POWEROF2: u32 = 0x2000; // round the request up to a power of two
export const M_NOWAIT: u32 = M_RNOWAIT | M_NULLOK | M_USE_RESERVE;
export const M_INTNOWAIT: u32 = M_NOWAIT | M_USE_INTERRUPT_RESERVE;
export const M_INTWAIT: u32 = M_WAITOK | M_USE_RESERVE | M_USE_INTERRUPT_RESERVE;
export const M_SYSWAIT: u32 = M_WAITOK | M_USE_RESERVE;
export const M_SYSALLOC: u32 = M_SYSWAIT;

/** kmalloc(0)'s result: not NULL, never dereferenceable, ignored by kfree. */
export const ZERO_LENGTH_PTR: usize = <usize>-8;

/** Size classes. */
export const NZONES: i32 = 72;
const ZALLOC_MIN_ZONE_SIZE: usize = 32 << 10;
const ZALLOC_MAX_ZONE_SIZE: usize = 128 << 10;
const ZALLOC_ZONE_LIMIT: usize = 16 << 10;
/** Chunks a new zone's starting point slides by, for cache colouring. */
const ZALLOC_SLAB_SLIDE: u32 = 20;
const ZALLOC_SLAB_MAGIC: u32 = 0x736c6162; // "slab"
/** kern.zone_cache: free zones a CPU keeps before kmalloc gives them back. */
const ZONE_CACHE: i32 = 32;
/** slab_cleanup's period. */
const SLAB_CLEANUP_US: u64 = 10_000_000;

/** z_Flags. */
const SLZF_UNOTZEROD: u32 = 0x1; // the never-used area may not be zero: the zone was recycled

/*
 * A zone's header, at its start. The owner CPU (z_Cpu) alone touches it, in
 * a critical section, except z_RChunks (CAS), z_RCount (atomics) and
 * z_RSignal (the owner writes, anyone reads; atomics).
 */
@unmanaged
class SLZone {
  z_Magic: u32;
  z_Cpu: u32;
  z_CpuGd: globaldata;
  z_Next: SLZone | null; // ZoneAry[z_ZoneIndex], or FreeZones
  z_NFree: i32; // chunks in z_LChunks and the never-used area
  z_NMax: i32;
  z_BasePtr: usize; // chunk 0
  z_ChunkSize: u32;
  z_ZoneIndex: u32;
  z_UIndex: u32; // the never-used area's next chunk; it wraps at z_NMax
  z_UEndIndex: u32; // where it began
  z_Flags: u32;
  z_LChunks: usize; // the owner's free chunks, linked through their first word
  z_LChunksp: usize; // the link to append to: the last chunk's, or &z_LChunks
  z_RChunks: usize; // chunks freed by other CPUs
  z_RSignal: u32; // 1: the zone is off ZoneAry; the first remote free sends kfree_remote
  z_RCount: u32; // remote frees still to touch the zone
}

/*
 * A CPU's slab state (SLGlobalData), its ZoneAry[NZONES] following. The
 * owner alone touches it, in a critical section.
 */
@unmanaged
class SLGlobalData {
  FreeZones: SLZone | null;
  NFreeZones: i32;
  FreeOvZones: usize; // large allocations freed from hard code, linked through their first word
  JunkIndex: u32;
}

const SLGD_BYTES: usize = 16 + <usize>NZONES * 4;
const slab_gds: usize = memory.data(<i32>MAXCPU * 16 + <i32>MAXCPU * NZONES * 4, 8);

/*
 * A malloc type: per-CPU statistics and a limit. ks_memuse[MAXCPU] (i64),
 * ks_inuse[MAXCPU] (i64) and ks_calls[MAXCPU] (u64) follow the fixed part;
 * CPU n writes entry n only. MALLOC_TYPE_BYTES in all.
 */
@unmanaged
export class malloc_type {
  ks_next: malloc_type | null; // the registry (kmalloc_type_spin)
  ks_magic: u32; // M_MAGIC once registered
  ks_shortdesc: usize; // a string
  ks_flags: u32; // KSF_DYNAMIC: made by kmalloc_create
  ks_limit: u64; // bytes; 0 until registered, then RAM/10 unless set
  ks_loosememuse: u64; // a racy estimate of the sum of ks_memuse; rises with each kmalloc, made exact by the limit check
}

const KS_FIXED_BYTES: usize = 32;
export const MALLOC_TYPE_BYTES: i32 = 32 + <i32>MAXCPU * 24;
const M_MAGIC: u32 = 877983977;
const KSF_DYNAMIC: u32 = 0x1;

function ks_memuse_p(type: malloc_type, cpu: u32): usize { return changetype<usize>(type) + KS_FIXED_BYTES + <usize>cpu * 8; }
function ks_inuse_p(type: malloc_type, cpu: u32): usize { return ks_memuse_p(type, cpu) + <usize>MAXCPU * 8; }
function ks_calls_p(type: malloc_type, cpu: u32): usize { return ks_memuse_p(type, cpu) + <usize>MAXCPU * 16; }

/** The registry: registered types in order, under kmalloc_type_spin. */
const kmalloc_type_spin_word: usize = memory.data(4, 4);
function kmalloc_type_spin(): spinlock {
  return changetype<spinlock>(kmalloc_type_spin_word);
}
const kmalloc_type_head: usize = memory.data(4, 4);

// Shared, written by the BSP in kmalloc_init before the APs start.
const zone_size_p: usize = memory.data(4, 4);
const kmemusage_shared_p: usize = memory.data(4, 4);

// Per CPU, copied from the shared values by kmalloc_gdinit.
let ZoneSize: usize = 0;
let ZoneMask: usize = 0;
let ZoneLimit: usize = 0;
let ZonePageCount: u32 = 0;
let kmemusage: usize = 0; // one i32 tag per page below vm_page_end()
let kmemusage_pages: u32 = 0;
let slgd: SLGlobalData = changetype<SLGlobalData>(0);

function ZoneAry(zi: u32): usize {
  return changetype<usize>(slgd) + 16 + <usize>zi * 4;
}

/*
 * MALLOC_DEFINE: the malloc type kept at `at` (MALLOC_TYPE_BYTES of static,
 * zeroed memory: memory.data(MALLOC_TYPE_BYTES, 8)), named `shortdesc`;
 * registered at its first kmalloc.
 * Context: a module's top level (instantiation) or any thread.
 */
export function MALLOC_DEFINE(at: usize, shortdesc: string): malloc_type {
  const type = changetype<malloc_type>(at);
  type.ks_shortdesc = changetype<usize>(shortdesc);
  return type;
}

/** Temporary buffers; also the home of the types kmalloc_create makes. */
export const M_TEMP: malloc_type = MALLOC_DEFINE(memory.data(MALLOC_TYPE_BYTES, 8), "temp");

// ---- zones and size classes -----------------------------------------------------------

/*
 * zoneindex: the size class of a request of 1..16384 bytes. Classes 0..15
 * are 8..128 bytes by 8; then each doubling of the size has 8 classes, by
 * 16 up to 256, by 32 up to 512, ..., by 1024 up to 16384.
 */
function zoneindex(n: usize): u32 {
  if (n <= 128) return <u32>((n + 7) >> 3) - 1;
  const g = 32 - clz<u32>(<u32>n - 1) - 8;
  const step: usize = <usize>16 << g;
  return 16 + 8 * g + <u32>((n - (<usize>128 << g) + step - 1) / step) - 1;
}

/* The chunk size of class zi. */
function zone_chunksize(zi: u32): usize {
  if (zi < 16) return (<usize>zi + 1) << 3;
  const g = (zi - 16) >> 3;
  return (<usize>128 << g) + <usize>((zi - 16) & 7) * (<usize>16 << g) + (<usize>16 << g);
}

/* The alignment class zi's chunks keep: their size when a power of two, else the class's step. */
function zone_chunkalign(zi: u32): usize {
  const size = zone_chunksize(zi);
  if ((size & (size - 1)) == 0) return size;
  return zi < 16 ? 8 : <usize>16 << ((zi - 16) >> 3);
}

/* Where chunk 0 of a class-zi zone lies: past the header, aligned as the class's chunks are. */
function zone_base_offset(zi: u32): usize {
  const align = zone_chunkalign(zi);
  return (offsetof<SLZone>() + align - 1) & ~(align - 1);
}

/*
 * kmalloc_zone_chunks: the chunks in one zone of the class of a request of
 * `size` bytes (a zone's size, not a large one).
 * Context: any, after kmalloc_gdinit.
 */
export function kmalloc_zone_chunks(size: usize): u32 {
  const zi = zoneindex(size);
  return <u32>((ZoneSize - zone_base_offset(zi)) / zone_chunksize(zi));
}

/*
 * kmalloc_chunksize: the bytes kmalloc(size) would really use: the chunk
 * of its size class, or whole pages for a large allocation.
 * Context: any, after kmalloc_gdinit.
 */
export function kmalloc_chunksize(size: usize): usize {
  if (size == 0) return 0;
  if (kmalloc_is_large(size)) return (size + PAGE_MASK) & ~PAGE_MASK;
  return zone_chunksize(zoneindex(size));
}

function kmalloc_is_large(size: usize): bool {
  return size >= ZoneLimit || ((size & PAGE_MASK) == 0 && size > PAGE_SIZE * 2);
}

/* The kmemusage tag of the page holding ptr; panics on an address the allocator never hands out. */
function kup(ptr: usize): usize {
  const page = <u32>(ptr >> PAGE_SHIFT);
  if (page >= kmemusage_pages) panic("kfree: not an address kmalloc hands out");
  return kmemusage + <usize>page * 4;
}

function zone_tag(z: SLZone, tag: i32): void {
  const first = kup(changetype<usize>(z));
  for (let i: u32 = 0; i < ZonePageCount; i++) store<i32>(first + <usize>i * 4, tag);
}

function z_RChunks_p(z: SLZone): usize { return changetype<usize>(z) + offsetof<SLZone>("z_RChunks"); }
function z_RSignal_p(z: SLZone): usize { return changetype<usize>(z) + offsetof<SLZone>("z_RSignal"); }
function z_RCount_p(z: SLZone): usize { return changetype<usize>(z) + offsetof<SLZone>("z_RCount"); }

/* Links z at the head of its class's list. */
function zone_link(z: SLZone): void {
  const head = ZoneAry(z.z_ZoneIndex);
  z.z_Next = changetype<SLZone | null>(<usize>load<u32>(head));
  store<u32>(head, <u32>changetype<usize>(z));
}

/* Takes z off its class's list. */
function zone_unlink(z: SLZone): void {
  let link = ZoneAry(z.z_ZoneIndex);
  while (load<u32>(link) != <u32>changetype<usize>(z)) {
    if (load<u32>(link) == 0) panic("slab: a zone is missing from its ZoneAry list");
    link = load<u32>(link) + offsetof<SLZone>("z_Next");
  }
  store<u32>(link, <u32>changetype<usize>(z.z_Next));
  z.z_Next = null;
}

/*
 * clean_zone_rchunks: appends the chunks other CPUs freed to z_LChunks
 * (behind the owner's own: they are likely cold here) and counts them free.
 */
function clean_zone_rchunks(z: SLZone): void {
  let chunk = atomic.xchg<u32>(z_RChunks_p(z), 0);
  if (chunk == 0) return;
  store<u32>(z.z_LChunksp, chunk);
  while (true) {
    z.z_NFree++;
    const next = load<u32>(<usize>chunk);
    if (next == 0) break;
    chunk = next;
  }
  z.z_LChunksp = <usize>chunk;
}

/*
 * check_zone_free: a wholly free zone that is not the head of its class's
 * list and that no remote free still touches leaves ZoneAry for
 * FreeZones; its pages are untagged.
 */
function check_zone_free(z: SLZone): void {
  if (z.z_NFree != z.z_NMax || atomic.load<u32>(z_RCount_p(z)) != 0) return;
  if (load<u32>(ZoneAry(z.z_ZoneIndex)) == <u32>changetype<usize>(z)) return;
  zone_unlink(z);
  z.z_Magic = 0;
  zone_tag(z, 0);
  z.z_Next = slgd.FreeZones;
  slgd.FreeZones = z;
  slgd.NFreeZones++;
}

/*
 * A new zone of class zi for this CPU, linked into ZoneAry: a recycled one
 * from FreeZones, else fresh zeroed pages from the VM. 0 if the VM has none
 * (after waiting, unless M_RNOWAIT). Enters and leaves the caller's
 * critical section around the VM: it may block.
 */
function zone_create(zi: u32, flags: u32): SLZone | null {
  let z = slgd.FreeZones;
  let zflags: u32 = SLZF_UNOTZEROD;
  if (z) {
    slgd.FreeZones = z.z_Next;
    slgd.NFreeZones--;
  } else {
    crit_exit();
    let pa = vm_page_alloc_contig(ZonePageCount, ZonePageCount, VM_ALLOC_ZERO);
    while (pa == 0 && (flags & M_RNOWAIT) == 0) {
      vm_wait();
      pa = vm_page_alloc_contig(ZonePageCount, ZonePageCount, VM_ALLOC_ZERO);
    }
    crit_enter();
    if (pa == 0) return null;
    z = changetype<SLZone>(pa);
    zflags = 0;
  }
  const size = zone_chunksize(zi);
  const off = zone_base_offset(zi);
  const gd = mycpu();
  memory.fill(changetype<usize>(z), 0, offsetof<SLZone>());
  z.z_Magic = ZALLOC_SLAB_MAGIC;
  z.z_Cpu = gd.gd_cpuid;
  z.z_CpuGd = gd;
  z.z_ZoneIndex = zi;
  z.z_ChunkSize = <u32>size;
  z.z_NMax = <i32>((ZoneSize - off) / size);
  z.z_NFree = z.z_NMax;
  z.z_BasePtr = changetype<usize>(z) + off;
  z.z_UIndex = slgd.JunkIndex % <u32>z.z_NMax;
  z.z_UEndIndex = z.z_UIndex;
  z.z_Flags = zflags;
  z.z_LChunksp = changetype<usize>(z) + offsetof<SLZone>("z_LChunks");
  slgd.JunkIndex = (slgd.JunkIndex + ZALLOC_SLAB_SLIDE) & 0xffff;
  zone_tag(z, -<i32>(gd.gd_cpuid + 1));
  zone_link(z);
  return z;
}

/* Per CPU: whether zone_take_chunk's last chunk is known to be zero (read in the same critical section). */
let chunk_known_zero = false;

/*
 * A free chunk of z (z_NFree already counts it out): the head of
 * z_LChunks, else the next of the never-used area, which is zero unless
 * the zone was recycled (chunk_known_zero).
 */
function zone_take_chunk(z: SLZone): usize {
  const chunk: usize = z.z_LChunks;
  chunk_known_zero = false;
  if (chunk != 0) {
    z.z_LChunks = load<u32>(chunk);
    if (z.z_LChunks == 0) z.z_LChunksp = changetype<usize>(z) + offsetof<SLZone>("z_LChunks");
    return chunk;
  }
  const unused = z.z_BasePtr + <usize>z.z_UIndex * z.z_ChunkSize;
  if (++z.z_UIndex == <u32>z.z_NMax) z.z_UIndex = 0;
  if (z.z_UIndex == z.z_UEndIndex && z.z_NFree != 0) panic("kmalloc: corrupted zone: free count and chunks disagree");
  chunk_known_zero = (z.z_Flags & SLZF_UNOTZEROD) == 0;
  return unused;
}

// ---- malloc types ---------------------------------------------------------------------

/*
 * malloc_init: registers type (at its first kmalloc): its limit defaults to
 * a tenth of the usable RAM (less than the 4 GiB of kernel address space).
 * Context: thread or hard code; spins briefly.
 */
export function malloc_init(type: malloc_type): void {
  spin_lock(kmalloc_type_spin());
  if (atomic.load<u32>(changetype<usize>(type) + offsetof<malloc_type>("ks_magic")) != M_MAGIC) {
    if (type.ks_limit == 0) type.ks_limit = (<u64>vm_page_total() << PAGE_SHIFT) / 10;
    type.ks_next = null;
    let link = kmalloc_type_head;
    while (load<u32>(link) != 0) link = load<u32>(link) + offsetof<malloc_type>("ks_next");
    store<u32>(link, <u32>changetype<usize>(type));
    atomic.store<u32>(changetype<usize>(type) + offsetof<malloc_type>("ks_magic"), M_MAGIC);
  }
  spin_unlock(kmalloc_type_spin());
}

/*
 * kmalloc_create: a new malloc type named `shortdesc`, registered at once;
 * kmalloc_destroy ends it.
 * Context: thread; may block.
 */
export function kmalloc_create(shortdesc: string): malloc_type {
  const type = MALLOC_DEFINE(kmalloc(<usize>MALLOC_TYPE_BYTES, M_TEMP, M_WAITOK | M_ZERO), shortdesc);
  type.ks_flags = KSF_DYNAMIC;
  malloc_init(type);
  return type;
}

/*
 * kmalloc_destroy: unregisters a type kmalloc_create made and frees it; a
 * type still holding memory is reported on the console (a leak). The
 * statistics are exact once every kfree of the type has returned (a
 * remote free counts on the freeing CPU before it hands the chunk over).
 * Context: thread; nothing may use the type any more.
 */
export function kmalloc_destroy(type: malloc_type): void {
  if ((type.ks_flags & KSF_DYNAMIC) == 0) panic("kmalloc_destroy: not a type kmalloc_create made");
  const memuse = malloc_type_memuse(type);
  spin_lock(kmalloc_type_spin());
  let link = kmalloc_type_head;
  while (load<u32>(link) != <u32>changetype<usize>(type)) {
    if (load<u32>(link) == 0) break;
    link = load<u32>(link) + offsetof<malloc_type>("ks_next");
  }
  if (load<u32>(link) != 0) store<u32>(link, <u32>changetype<usize>(type.ks_next));
  atomic.store<u32>(changetype<usize>(type) + offsetof<malloc_type>("ks_magic"), 0);
  spin_unlock(kmalloc_type_spin());
  if (memuse != 0) {
    lock();
    puts("kmalloc_destroy: type ");
    puts(changetype<string>(type.ks_shortdesc));
    puts(" still holds memory\n");
    unlock();
  }
  kfree(changetype<usize>(type), M_TEMP);
}

/*
 * malloc_type_registered: whether type is in the registry now (one walk
 * under the lock: index by index, kmalloc_type_at could miss it while
 * other CPUs add and remove types ahead of it).
 * Context: thread or hard code; spins briefly.
 */
export function malloc_type_registered(type: malloc_type): bool {
  spin_lock(kmalloc_type_spin());
  let p = load<u32>(kmalloc_type_head);
  while (p != 0 && p != <u32>changetype<usize>(type)) p = load<u32>(<usize>p + offsetof<malloc_type>("ks_next"));
  spin_unlock(kmalloc_type_spin());
  return p != 0;
}

/*
 * kmalloc_type_at: the i-th registered malloc type, in registration order,
 * or null past the last.
 * Context: thread or hard code; spins briefly.
 */
export function kmalloc_type_at(i: u32): malloc_type | null {
  spin_lock(kmalloc_type_spin());
  let p = load<u32>(kmalloc_type_head);
  for (let n: u32 = 0; n < i && p != 0; n++) p = load<u32>(<usize>p + offsetof<malloc_type>("ks_next"));
  spin_unlock(kmalloc_type_spin());
  return changetype<malloc_type | null>(<usize>p);
}

/*
 * malloc_type_name: the type's short description.
 * Context: any.
 */
export function malloc_type_name(type: malloc_type): string {
  return changetype<string>(type.ks_shortdesc);
}

/* malloc_type_limit: the type's ks_limit in bytes (0 until registered). Context: any. */
export function malloc_type_limit(type: malloc_type): u64 {
  return type.ks_limit;
}

/*
 * malloc_type_memuse, _inuse, _calls: the type's bytes in use, chunks in
 * use and kmalloc calls, summed over the CPUs (racy; a CPU's own entry
 * may be negative, the sum is not once the frees in flight have returned).
 * malloc_type_cpu_memuse: one CPU's entry.
 * Context: any.
 */
export function malloc_type_memuse(type: malloc_type): i64 {
  let sum: i64 = 0;
  for (let cpu: u32 = 0; cpu < MAXCPU; cpu++) sum += load<i64>(ks_memuse_p(type, cpu));
  return sum;
}

export function malloc_type_inuse(type: malloc_type): i64 {
  let sum: i64 = 0;
  for (let cpu: u32 = 0; cpu < MAXCPU; cpu++) sum += load<i64>(ks_inuse_p(type, cpu));
  return sum;
}

export function malloc_type_calls(type: malloc_type): u64 {
  let sum: u64 = 0;
  for (let cpu: u32 = 0; cpu < MAXCPU; cpu++) sum += load<u64>(ks_calls_p(type, cpu));
  return sum;
}

export function malloc_type_cpu_memuse(type: malloc_type, cpu: u32): i64 {
  return load<i64>(ks_memuse_p(type, cpu));
}

/** kmalloc_limit_check's verdicts. */
export const KLIMIT_OK: i32 = 0;
export const KLIMIT_NULL: i32 = 1; // over the limit, M_NULLOK: kmalloc returns NULL
export const KLIMIT_PANIC: i32 = 2; // over the limit without M_NULLOK: kmalloc panics

/*
 * kmalloc_limit_check: what kmalloc(…, type, flags) does about the type's
 * limit now. The racy estimate decides whether to sum the CPUs' exact
 * figures; the sum then replaces the estimate.
 * Context: any; type registered.
 */
export function kmalloc_limit_check(type: malloc_type, flags: u32): i32 {
  if (type.ks_loosememuse < type.ks_limit) return KLIMIT_OK;
  const ttl = malloc_type_memuse(type);
  type.ks_loosememuse = ttl > 0 ? <u64>ttl : 0;
  if (<u64>ttl < type.ks_limit || ttl < 0) return KLIMIT_OK;
  return (flags & M_NULLOK) != 0 ? KLIMIT_NULL : KLIMIT_PANIC;
}

function account_alloc(type: malloc_type, cpu: u32, bytes: usize): void {
  store<i64>(ks_memuse_p(type, cpu), load<i64>(ks_memuse_p(type, cpu)) + <i64>bytes);
  store<i64>(ks_inuse_p(type, cpu), load<i64>(ks_inuse_p(type, cpu)) + 1);
  store<u64>(ks_calls_p(type, cpu), load<u64>(ks_calls_p(type, cpu)) + 1);
  type.ks_loosememuse += bytes;
}

function account_free(type: malloc_type, cpu: u32, bytes: usize): void {
  store<i64>(ks_memuse_p(type, cpu), load<i64>(ks_memuse_p(type, cpu)) - <i64>bytes);
  store<i64>(ks_inuse_p(type, cpu), load<i64>(ks_inuse_p(type, cpu)) - 1);
}

// ---- kmalloc --------------------------------------------------------------------------

/*
 * slab_hysteresis: gives the VM back the free zones beyond ZONE_CACHE and
 * the large allocations kfree deferred from hard code.
 */
function slab_hysteresis(): void {
  crit_enter();
  while (slgd.NFreeZones > ZONE_CACHE) {
    const z = slgd.FreeZones!;
    slgd.FreeZones = z.z_Next;
    slgd.NFreeZones--;
    vm_page_free_contig(changetype<usize>(z), ZonePageCount);
  }
  while (slgd.FreeOvZones != 0) {
    const p = slgd.FreeOvZones;
    slgd.FreeOvZones = load<u32>(p);
    const tag = kup(p);
    const npages = <u32>load<i32>(tag);
    store<i32>(tag, 0);
    vm_page_free_contig(p, npages);
  }
  crit_exit();
}

/* A large allocation: whole pages from the VM, the first tagged with their count. */
function kmalloc_large(size: usize, type: malloc_type, flags: u32): usize {
  const npages = <u32>((size + PAGE_MASK) >> PAGE_SHIFT);
  const zero = (flags & M_ZERO) != 0 ? VM_ALLOC_ZERO : 0;
  let p = vm_page_alloc_contig(npages, 1, zero);
  while (p == 0 && (flags & M_RNOWAIT) == 0) {
    vm_wait();
    p = vm_page_alloc_contig(npages, 1, zero);
  }
  if (p == 0) return kmalloc_failed(flags);
  crit_enter();
  store<i32>(kup(p), <i32>npages);
  account_alloc(type, mycpu().gd_cpuid, <usize>npages << PAGE_SHIFT);
  crit_exit();
  return p;
}

function kmalloc_failed(flags: u32): usize {
  if ((flags & M_NULLOK) == 0) panic("kmalloc: out of memory, without M_NULLOK");
  return 0;
}

/*
 * kmalloc: `size` bytes for `type`, from this CPU's zone of the size
 * class (aligned to the chunk size when it is a power of two, to the
 * class's step otherwise), or whole pages for a large request. M_ZERO
 * zeroes; M_POWEROF2 rounds the size up to a power of two. Over the type's
 * limit: NULL with M_NULLOK, else a panic. Out of memory: waits for the VM
 * unless M_RNOWAIT, which fails: NULL with M_NULLOK, else a panic.
 * kmalloc(0) returns ZERO_LENGTH_PTR.
 * Context: thread (may block unless M_RNOWAIT); hard code (IPI handlers,
 * systimer callbacks) only with M_RNOWAIT.
 */
export function kmalloc(size: usize, type: malloc_type, flags: u32): usize {
  const gd = mycpu();
  if ((flags & M_RNOWAIT) == 0 && gd.gd_intr_nesting_level != 0) panic("kmalloc: may block, but called from hard code: use M_NOWAIT");
  if (atomic.load<u32>(changetype<usize>(type) + offsetof<malloc_type>("ks_magic")) != M_MAGIC) malloc_init(type);
  const verdict = kmalloc_limit_check(type, flags);
  if (verdict == KLIMIT_NULL) return 0;
  if (verdict == KLIMIT_PANIC) {
    lock();
    puts("kmalloc: type "); puts(malloc_type_name(type)); puts(" is over its limit\n");
    unlock();
    panic("kmalloc: malloc limit exceeded");
  }
  if (size == 0) return ZERO_LENGTH_PTR;
  if ((flags & M_RNOWAIT) == 0) slab_hysteresis();
  if ((flags & M_POWEROF2) != 0 && (size & (size - 1)) != 0) size = <usize>1 << (32 - clz<u32>(<u32>size));
  if (kmalloc_is_large(size)) return kmalloc_large(size, type, flags);

  const zi = zoneindex(size);
  crit_enter();
  let z = changetype<SLZone | null>(<usize>load<u32>(ZoneAry(zi)));
  if (z) {
    if (--z.z_NFree == 0) {
      // The last free chunk: take in the remote frees, else leave ZoneAry and ask to be told of them.
      if (atomic.load<u32>(z_RChunks_p(z)) == 0) atomic.store<u32>(z_RSignal_p(z), 1);
      clean_zone_rchunks(z);
      if (z.z_NFree == 0) zone_unlink(z);
      else atomic.store<u32>(z_RSignal_p(z), 0);
    }
  } else {
    z = zone_create(zi, flags);
    if (!z) {
      crit_exit();
      return kmalloc_failed(flags);
    }
    z.z_NFree--;
  }
  const chunk = zone_take_chunk(z);
  const zeroed = chunk_known_zero;
  const chunksize = z.z_ChunkSize;
  account_alloc(type, gd.gd_cpuid, chunksize);
  crit_exit();
  if ((flags & M_ZERO) != 0 && !zeroed) memory.fill(chunk, 0, chunksize);
  return chunk;
}

// ---- kfree ----------------------------------------------------------------------------

/*
 * kfree: gives back what kmalloc returned for `type`. A large allocation's
 * pages go back to the VM at once, or, from hard code, at this CPU's next
 * kmalloc. A chunk of this CPU's zone goes back on its free list; a chunk
 * of another CPU's zone is handed to that CPU without a lock (z_RChunks,
 * and a passive IPI if the owner asked for one). The statistics change on
 * this CPU either way. kfree(ZERO_LENGTH_PTR) does nothing; kfree(NULL)
 * panics.
 * Context: any: thread, IPI handler, systimer callback; never blocks.
 */
export function kfree(ptr: usize, type: malloc_type): void {
  if (ptr == 0) panic("kfree: NULL");
  if (ptr == ZERO_LENGTH_PTR) return;
  const gd = mycpu();
  const tagp = kup(ptr);
  const tag = load<i32>(tagp);
  if (tag > 0) {
    if ((ptr & PAGE_MASK) != 0) panic("kfree: not the start of a large allocation");
    crit_enter();
    account_free(type, gd.gd_cpuid, <usize>tag << PAGE_SHIFT);
    if (gd.gd_intr_nesting_level != 0) {
      store<u32>(ptr, <u32>slgd.FreeOvZones);
      slgd.FreeOvZones = ptr;
      crit_exit();
      return;
    }
    store<i32>(tagp, 0);
    crit_exit();
    vm_page_free_contig(ptr, <u32>tag);
    return;
  }
  if (tag == 0) panic("kfree: memory kmalloc has not handed out");
  const z = changetype<SLZone>(ptr & ZoneMask);
  if (z.z_Magic != ZALLOC_SLAB_MAGIC) panic("kfree: the zone's header is corrupt");
  if (ptr < z.z_BasePtr || (ptr - z.z_BasePtr) % z.z_ChunkSize != 0 ||
      ptr >= z.z_BasePtr + <usize>z.z_NMax * z.z_ChunkSize) panic("kfree: not the start of a chunk");

  if (z.z_CpuGd !== gd) {
    // Another CPU's zone: count it here, then hand the chunk over. z_RCount keeps the zone ours to read
    // until the IPI is sent or the count dropped.
    crit_enter();
    account_free(type, gd.gd_cpuid, z.z_ChunkSize);
    crit_exit();
    const owner = z.z_CpuGd;
    atomic.add<u32>(z_RCount_p(z), 1);
    let head: u32;
    do {
      head = atomic.load<u32>(z_RChunks_p(z));
      store<u32>(ptr, head);
    } while (atomic.cmpxchg<u32>(z_RChunks_p(z), head, <u32>ptr) != head);
    if (head == 0 && atomic.load<u32>(z_RSignal_p(z)) != 0) lwkt_send_ipiq3_passive(owner, kfree_remote, <u32>changetype<usize>(z), 0);
    else atomic.sub<u32>(z_RCount_p(z), 1);
    return;
  }

  crit_enter();
  store<u32>(ptr, <u32>z.z_LChunks);
  if (z.z_LChunks == 0) z.z_LChunksp = ptr;
  z.z_LChunks = ptr;
  if (++z.z_NFree == 1) {
    atomic.store<u32>(z_RSignal_p(z), 0);
    zone_link(z);
  }
  account_free(type, gd.gd_cpuid, z.z_ChunkSize);
  check_zone_free(z);
  crit_exit();
}

/*
 * kfree_remote: the owner takes in a zone's remote frees (the passive IPI
 * the first of them sent), relinks the zone if it had no free chunk, and
 * may retire it to FreeZones.
 * Context: IPI handler on the zone's owner.
 */
function kfree_remote(arg1: u32, arg2: u32, frame: u32): void {
  const z = changetype<SLZone>(<usize>arg1);
  if (z.z_CpuGd !== mycpu() || z.z_Magic != ZALLOC_SLAB_MAGIC) panic("kfree_remote: not this cpu's zone");
  const nfree = z.z_NFree;
  if (atomic.load<u32>(z_RChunks_p(z)) != 0) atomic.store<u32>(z_RSignal_p(z), 0);
  clean_zone_rchunks(z);
  if (nfree == 0 && z.z_NFree != 0) zone_link(z);
  atomic.sub<u32>(z_RCount_p(z), 1);
  check_zone_free(z);
}

/*
 * slab_cleanup: every SLAB_CLEANUP_US on each CPU, takes in the remote
 * frees of the zones behind the head of each class's list and retires the
 * wholly free ones.
 * Context: systimer callback on its CPU (a critical section).
 */
function slab_cleanup(info: u32, frame: u32): void {
  for (let zi: u32 = 0; zi < <u32>NZONES; zi++) {
    const head = changetype<SLZone | null>(<usize>load<u32>(ZoneAry(zi)));
    if (!head) continue;
    let z = head.z_Next;
    while (z) {
      const next = z.z_Next;
      clean_zone_rchunks(z);
      check_zone_free(z);
      z = next;
    }
  }
  systimer_init_oneshot(changetype<systimer>(<usize>info), slab_cleanup, 0, SLAB_CLEANUP_US);
}

// ---- krealloc, kstrdup ----------------------------------------------------------------

/*
 * krealloc: ptr resized to `size` for `type`: the same pointer when the
 * size still rounds to its chunk (or page count), else a new allocation
 * holding the old contents, the old one freed. krealloc(NULL) is kmalloc;
 * size 0 frees and returns NULL. M_ZERO is refused. NULL (with M_NULLOK)
 * leaves ptr as it was.
 * Context: as kmalloc.
 */
export function krealloc(ptr: usize, size: usize, type: malloc_type, flags: u32): usize {
  if ((flags & M_ZERO) != 0) panic("krealloc: M_ZERO is not supported");
  if (ptr == 0 || ptr == ZERO_LENGTH_PTR) return kmalloc(size, type, flags);
  if (size == 0) {
    kfree(ptr, type);
    return 0;
  }
  const tag = load<i32>(kup(ptr));
  let old: usize;
  if (tag > 0) {
    old = <usize>tag << PAGE_SHIFT;
    if (kmalloc_is_large(size) && ((size + PAGE_MASK) & ~PAGE_MASK) == old) return ptr;
  } else {
    old = changetype<SLZone>(ptr & ZoneMask).z_ChunkSize;
    if (!kmalloc_is_large(size) && zone_chunksize(zoneindex(size)) == old) return ptr;
  }
  const nptr = kmalloc(size, type, flags);
  if (nptr == 0) return 0;
  memory.copy(nptr, ptr, old < size ? old : size);
  kfree(ptr, type);
  return nptr;
}

/*
 * kstrdup: a copy of the NUL-terminated string at str, for `type`.
 * Context: as kmalloc with M_WAITOK.
 */
export function kstrdup(str: usize, type: malloc_type): usize {
  let len: usize = 0;
  while (load<u8>(str + len) != 0) len++;
  const p = kmalloc(len + 1, type, M_WAITOK);
  memory.copy(p, str, len + 1);
  return p;
}

// ---- start ----------------------------------------------------------------------------

/*
 * kmalloc_init: the zone size for this machine (32 KiB, doubled while
 * under RAM/1024, up to 128 KiB) and the kmemusage tags, one per page of RAM.
 * Context: the BSP, once, after vm_page_startup, before the APs start.
 */
export function kmalloc_init(): void {
  const ram = <u64>vm_page_total() << PAGE_SHIFT;
  let zone = ZALLOC_MIN_ZONE_SIZE;
  while (zone < ZALLOC_MAX_ZONE_SIZE && <u64>(zone << 1) <= ram / 1024) zone <<= 1;
  store<u32>(zone_size_p, <u32>zone);
  const pages = vm_page_end();
  const bytes = (<usize>pages * 4 + PAGE_MASK) & ~PAGE_MASK;
  const tags = vm_page_alloc_contig(<u32>(bytes >> PAGE_SHIFT), 1, VM_ALLOC_ZERO);
  if (tags == 0) panic("kmalloc_init: no memory for kmemusage");
  store<u32>(kmemusage_shared_p, <u32>tags);
}

/*
 * kmalloc_gdinit: this CPU's slab state, and its slab_cleanup timer.
 * Context: once per CPU, after lwkt_gdinit and systimer_gdinit, before its
 * first kmalloc.
 */
export function kmalloc_gdinit(): void {
  const cpu = mycpu().gd_cpuid;
  ZoneSize = load<u32>(zone_size_p);
  ZoneMask = ~(ZoneSize - 1);
  ZoneLimit = ZoneSize / 4 < ZALLOC_ZONE_LIMIT ? ZoneSize / 4 : ZALLOC_ZONE_LIMIT;
  ZonePageCount = <u32>(ZoneSize >> PAGE_SHIFT);
  kmemusage = load<u32>(kmemusage_shared_p);
  kmemusage_pages = vm_page_end();
  slgd = changetype<SLGlobalData>(slab_gds + <usize>cpu * SLGD_BYTES);
  systimer_init_oneshot(systimer_alloc(), slab_cleanup, 0, SLAB_CLEANUP_US);
}

/*
 * kmalloc_zone_size: ZoneSize, and kmalloc_zone_limit: ZoneLimit, on this
 * machine.
 * Context: any, after kmalloc_gdinit.
 */
export function kmalloc_zone_size(): usize {
  return ZoneSize;
}

export function kmalloc_zone_limit(): usize {
  return ZoneLimit;
}

/*
 * kmalloc_zone_owner: the CPU owning the zone of chunk ptr, or -1 for a
 * large allocation (kmemusage's tag, decoded). For checks and statistics.
 * Context: any; ptr allocated.
 */
export function kmalloc_zone_owner(ptr: usize): i32 {
  const tag = load<i32>(kup(ptr));
  return tag < 0 ? -tag - 1 : -1;
}

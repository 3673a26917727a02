// objcache: a cache of constructed objects in per-CPU magazines
// (reference dragonfly.md §5.2; DragonFly's kern_objcache.c).
//
// The model. Objects come from a backend (alloc/free, e.g. kmalloc) and are
// CONSTRUCTED once, when they leave the backend (ctor), and DESTROYED only
// when they go back to it (dtor); in between, objcache_put and objcache_get
// pass them around constructed. Each CPU has two magazines (arrays of
// objects), loaded and previous, which only it touches, in a critical
// section: a get pops the loaded one (LIFO: the object put last, still hot
// in this CPU's cache, comes back first), or swaps in previous if that has
// some; a put pushes likewise. Only when both are empty (get) or full (put)
// does the CPU go to the depot, shared by every CPU under a spinlock, and
// exchange a whole magazine: an empty one for a full one, or a full one for
// an empty one. The depot only holds completely full or completely empty
// magazines. A get the depot cannot serve takes an object from the backend
// while the budget (unallocated_objects: cluster_limit plus what the
// magazines can hold) lasts; after that it sleeps (M_WAITOK) or returns
// NULL (M_NULLOK, or no M_WAITOK). A put with nowhere to go gives the object
// back to the backend (dtor, free) and the budget grows again. Objects may
// be put on another CPU than the one that got them.
//
// What it is not: one cluster only (DragonFly's too, in practice); no
// objcache_reclaimlist.

import { panic } from "./kern_shutdown";
import { spinlock, spin_lock, spin_unlock } from "./kern_spinlock";
import { tsleep, wakeup } from "./kern_synch";
import { smp_active_mask } from "./lwkt_ipiq";
import { crit_enter, crit_exit, mycpu } from "./lwkt_thread";
import { M_NULLOK, M_WAITOK, M_ZERO, MALLOC_DEFINE, MALLOC_TYPE_BYTES, kfree, kmalloc, malloc_type } from "./kern_slaballoc";

/** Makes an object usable (false: it cannot be; the get fails). */
export type objcache_ctor_fn = (obj: usize, privdata: usize, ocflags: u32) => bool;
/** Undoes ctor before the object goes back to the backend. */
export type objcache_dtor_fn = (obj: usize, privdata: usize) => void;
/** The backend's allocation (0: none). */
export type objcache_alloc_fn = (allocator_args: usize, ocflags: u32) => usize;
/** The backend's free. */
export type objcache_free_fn = (obj: usize, allocator_args: usize) => void;

const M_OBJCACHE: malloc_type = MALLOC_DEFINE(memory.data(MALLOC_TYPE_BYTES, 8), "objcache");
const M_OBJMAG: malloc_type = MALLOC_DEFINE(memory.data(MALLOC_TYPE_BYTES, 8), "objcache magazine");

const CACHE_LINE: usize = 64;
const MAGAZINE_CAPACITY_MIN: i32 = 4;
const MAGAZINE_CAPACITY_MAX: i32 = 128;

/* A magazine: `capacity` object slots (u32) follow the header, `rounds` of them full. */
@unmanaged
class magazine {
  rounds: i32;
  capacity: i32;
  nextmagazine: magazine | null; // the depot's lists
}

const MAG_OBJECTS: usize = 12;

function mag_slot(mag: magazine, i: i32): usize {
  return changetype<usize>(mag) + MAG_OBJECTS + <usize>i * 4;
}

/* The depot; `spin` protects everything in it. */
@unmanaged
class magazinedepot {
  fullmagazines: magazine | null;
  emptymagazines: magazine | null;
  magcapacity: i32;
  unallocated_objects: i32; // the backend allocations left; -1: no limit
  waiting: i32; // gets asleep for an object
  spin: u32;
}

/* One CPU's magazines and counters; that CPU only, in a critical section. One cache line each. */
@unmanaged
class percpu_objcache {
  loaded_magazine: magazine;
  previous_magazine: magazine;
  gets_cumulative: u64;
  gets_null: u64;
  puts_cumulative: u64;
  puts_backend: u64; // puts that found no room and went to the backend
}

/* An object cache; its ncpus percpu_objcache follow (one cache line each). */
@unmanaged
export class objcache {
  oc_name: usize; // a string
  oc_ctor: u32; // objcache_ctor_fn index
  oc_dtor: u32;
  oc_privdata: usize;
  oc_alloc: u32;
  oc_free: u32;
  oc_allocator_args: usize;
  oc_mbacked: u32; // 1: allocator_args is an objcache_malloc_args of ours, freed with the cache
  oc_ncpus: u32;
  oc_depot: magazinedepot;
}

const OC_PERCPU: usize = 64;

function percpu(oc: objcache, cpu: u32): percpu_objcache {
  if (cpu >= oc.oc_ncpus) panic("objcache: used on a cpu that came up after the cache was made");
  return changetype<percpu_objcache>(changetype<usize>(oc) + OC_PERCPU + <usize>cpu * CACHE_LINE);
}

/* The depot's spinlock, a word of the depot. */
function depot_spin(depot: magazinedepot): spinlock {
  return changetype<spinlock>(changetype<usize>(depot) + offsetof<magazinedepot>("spin"));
}

function mag_alloc(capacity: i32): magazine {
  const mag = changetype<magazine>(kmalloc(MAG_OBJECTS + <usize>capacity * 4, M_OBJMAG, M_WAITOK | M_ZERO));
  mag.capacity = capacity;
  return mag;
}

/* Objects a magazine of mag_capacity(n) holds: n, clamped, then as many as fill its last cache line. */
function mag_capacity(n: i32): i32 {
  if (n < MAGAZINE_CAPACITY_MIN) n = MAGAZINE_CAPACITY_MIN;
  if (n > MAGAZINE_CAPACITY_MAX) n = MAGAZINE_CAPACITY_MAX;
  const bytes = (MAG_OBJECTS + <usize>n * 4 + CACHE_LINE - 1) & ~(CACHE_LINE - 1);
  return <i32>((bytes - MAG_OBJECTS) / 4);
}

function null_ctor(obj: usize, privdata: usize, ocflags: u32): bool {
  return true;
}

function null_dtor(obj: usize, privdata: usize): void {}

/*
 * objcache_create: a cache named `name` of objects from alloc(allocator_args,
 * flags), made usable by ctor and undone by dtor (either may be null).
 * cluster_limit bounds the objects outside the magazines (0: no bound);
 * nom_cache is how many the cache should hold (0: cluster_limit / 2, or
 * 128 without a bound), which sizes the magazines: nom_cache/(ncpus+1)/2 + 1
 * objects, clamped to 4..128 and rounded up to whole cache lines. The
 * budget of backend allocations is ncpus * capacity * 2 + cluster_limit.
 * Each CPU starts with two empty magazines, the depot with
 * max(2, nom_cache/capacity + 1).
 * Context: thread, once the CPUs that will use the cache are up; may block.
 */
export function objcache_create(name: string, cluster_limit: i32, nom_cache: i32,
    ctor: objcache_ctor_fn | null, dtor: objcache_dtor_fn | null, privdata: usize,
    alloc: objcache_alloc_fn, free: objcache_free_fn, allocator_args: usize): objcache {
  const ncpus = <u32>(64 - clz<u64>(smp_active_mask()));
  const oc = changetype<objcache>(kmalloc(OC_PERCPU + <usize>ncpus * CACHE_LINE, M_OBJCACHE, M_WAITOK | M_ZERO));
  oc.oc_name = changetype<usize>(name);
  oc.oc_ctor = ctor ? ctor.index : null_ctor.index;
  oc.oc_dtor = dtor ? dtor.index : null_dtor.index;
  oc.oc_privdata = privdata;
  oc.oc_alloc = alloc.index;
  oc.oc_free = free.index;
  oc.oc_allocator_args = allocator_args;
  oc.oc_ncpus = ncpus;
  if (nom_cache == 0) nom_cache = cluster_limit != 0 ? cluster_limit / 2 : 128;
  const capacity = mag_capacity(nom_cache / (<i32>ncpus + 1) / 2 + 1);
  const depot = changetype<magazinedepot>(kmalloc(offsetof<magazinedepot>(), M_OBJCACHE, M_WAITOK | M_ZERO));
  depot.magcapacity = capacity;
  depot.unallocated_objects = cluster_limit != 0 ? <i32>ncpus * capacity * 2 + cluster_limit : -1;
  let nempty = nom_cache / capacity + 1;
  if (nempty < 2) nempty = 2;
  for (let i = 0; i < nempty; i++) {
    const mag = mag_alloc(capacity);
    mag.nextmagazine = depot.emptymagazines;
    depot.emptymagazines = mag;
  }
  oc.oc_depot = depot;
  for (let cpu: u32 = 0; cpu < ncpus; cpu++) {
    const cc = percpu(oc, cpu);
    cc.loaded_magazine = mag_alloc(capacity);
    cc.previous_magazine = mag_alloc(capacity);
  }
  return oc;
}

/* The arguments objcache_malloc_alloc and _free take: a size and a malloc type. */
@unmanaged
class objcache_malloc_args {
  objsize: usize;
  mtype: malloc_type;
}

/*
 * objcache_malloc_alloc, objcache_malloc_free: the kmalloc backend;
 * allocator_args is an objcache_malloc_args. The get's flags go to kmalloc
 * (M_WAITOK, M_NULLOK, ...).
 * Context: as kmalloc, kfree.
 */
export function objcache_malloc_alloc(allocator_args: usize, ocflags: u32): usize {
  const args = changetype<objcache_malloc_args>(allocator_args);
  return kmalloc(args.objsize, args.mtype, ocflags);
}

export function objcache_malloc_free(obj: usize, allocator_args: usize): void {
  kfree(obj, changetype<objcache_malloc_args>(allocator_args).mtype);
}

/*
 * objcache_create_mbacked: objcache_create over kmalloc(size, mtype).
 * Context: as objcache_create.
 */
export function objcache_create_mbacked(mtype: malloc_type, size: usize, cluster_limit: i32, nom_cache: i32,
    ctor: objcache_ctor_fn | null, dtor: objcache_dtor_fn | null, privdata: usize): objcache {
  const args = changetype<objcache_malloc_args>(kmalloc(offsetof<objcache_malloc_args>(), M_OBJCACHE, M_WAITOK | M_ZERO));
  args.objsize = size;
  args.mtype = mtype;
  const oc = objcache_create(changetype<string>(mtype.ks_shortdesc), cluster_limit, nom_cache, ctor, dtor, privdata,
    objcache_malloc_alloc, objcache_malloc_free, changetype<usize>(args));
  oc.oc_mbacked = 1;
  return oc;
}

/*
 * objcache_create_simple: an unbounded cache of kmalloc(size, mtype)
 * objects, without ctor or dtor.
 * Context: as objcache_create.
 */
export function objcache_create_simple(mtype: malloc_type, size: usize): objcache {
  return objcache_create_mbacked(mtype, size, 0, 0, null, null, 0);
}

/* An object from the backend, constructed; 0 (the budget given back) if either fails. */
function objcache_backend_get(oc: objcache, ocflags: u32): usize {
  const obj = call_indirect<usize>(oc.oc_alloc, oc.oc_allocator_args, ocflags);
  if (obj != 0 && call_indirect<bool>(oc.oc_ctor, obj, oc.oc_privdata, ocflags)) return obj;
  if (obj != 0) call_indirect<void>(oc.oc_free, obj, oc.oc_allocator_args);
  objcache_budget_return(oc);
  return 0;
}

/* One more backend allocation may be made; wakes the gets waiting for one. */
function objcache_budget_return(oc: objcache): void {
  const depot = oc.oc_depot;
  spin_lock(depot_spin(depot));
  if (depot.unallocated_objects >= 0) depot.unallocated_objects++;
  const waiting = depot.waiting;
  spin_unlock(depot_spin(depot));
  if (waiting != 0) wakeup(<u32>changetype<usize>(depot));
}

/*
 * objcache_get: a constructed object: the one this CPU put last if its
 * magazines hold any, else a full magazine from the depot's, else a new
 * one from the backend while the budget lasts. With the budget spent it
 * sleeps for a put with M_WAITOK (without M_NULLOK), else returns 0.
 * M_ZERO is refused: objects are constructed, not zeroed.
 * Context: thread (hard code only without M_WAITOK, and with a backend
 * that does not block).
 */
export function objcache_get(oc: objcache, ocflags: u32): usize {
  if ((ocflags & M_ZERO) != 0) panic("objcache_get: M_ZERO");
  const cc = percpu(oc, mycpu().gd_cpuid);
  const depot = oc.oc_depot;
  const spin = depot_spin(depot);
  crit_enter();
  while (true) {
    let loaded = cc.loaded_magazine;
    if (loaded.rounds > 0) {
      const obj = <usize>load<u32>(mag_slot(loaded, --loaded.rounds));
      cc.gets_cumulative++;
      crit_exit();
      return obj;
    }
    if (cc.previous_magazine.rounds > 0) {
      cc.loaded_magazine = cc.previous_magazine;
      cc.previous_magazine = loaded;
      continue;
    }
    spin_lock(spin);
    const full = depot.fullmagazines;
    if (full) {
      // previous (empty) to the depot; loaded (empty) becomes previous; the full one is loaded.
      depot.fullmagazines = full.nextmagazine;
      const empty = cc.previous_magazine;
      empty.nextmagazine = depot.emptymagazines;
      depot.emptymagazines = empty;
      cc.previous_magazine = loaded;
      cc.loaded_magazine = full;
      full.nextmagazine = null;
      spin_unlock(spin);
      continue;
    }
    if (depot.unallocated_objects != 0) {
      if (depot.unallocated_objects > 0) depot.unallocated_objects--;
      spin_unlock(spin);
      crit_exit();
      const obj = objcache_backend_get(oc, ocflags);
      crit_enter();
      if (obj != 0) cc.gets_cumulative++;
      else cc.gets_null++;
      crit_exit();
      return obj;
    }
    if ((ocflags & (M_WAITOK | M_NULLOK)) != M_WAITOK) {
      spin_unlock(spin);
      cc.gets_null++;
      crit_exit();
      return 0;
    }
    // Sleep for a put. The wakeup of a put on another CPU between here and the sleep is
    // missed (its IPI finds no sleeper yet): the one-tick timeout bounds that.
    depot.waiting++;
    spin_unlock(spin);
    tsleep(<u32>changetype<usize>(depot), 1);
    spin_lock(spin);
    depot.waiting--;
    spin_unlock(spin);
  }
}

/*
 * objcache_put: obj, constructed, back to the cache: into this CPU's
 * magazines, or an empty magazine from the depot in exchange for a full
 * one; with no empty magazine anywhere, back to the backend (dtor, free),
 * and the budget grows by one. Wakes gets waiting for an object.
 * Context: thread or hard code, if the backend's free and dtor can be.
 */
export function objcache_put(oc: objcache, obj: usize): void {
  const cc = percpu(oc, mycpu().gd_cpuid);
  const depot = oc.oc_depot;
  const spin = depot_spin(depot);
  crit_enter();
  while (true) {
    const loaded = cc.loaded_magazine;
    if (loaded.rounds < loaded.capacity) {
      store<u32>(mag_slot(loaded, loaded.rounds++), <u32>obj);
      cc.puts_cumulative++;
      const waiting = depot.waiting;
      crit_exit();
      if (waiting != 0) wakeup(<u32>changetype<usize>(depot));
      return;
    }
    const previous = cc.previous_magazine;
    if (previous.rounds < previous.capacity) {
      cc.loaded_magazine = previous;
      cc.previous_magazine = loaded;
      continue;
    }
    spin_lock(spin);
    const empty = depot.emptymagazines;
    if (empty) {
      // loaded (full) becomes previous; the old previous goes to the depot; the empty one is loaded.
      depot.emptymagazines = empty.nextmagazine;
      if (previous.rounds == previous.capacity) {
        previous.nextmagazine = depot.fullmagazines;
        depot.fullmagazines = previous;
      } else {
        previous.nextmagazine = depot.emptymagazines;
        depot.emptymagazines = previous;
      }
      cc.previous_magazine = loaded;
      cc.loaded_magazine = empty;
      empty.nextmagazine = null;
      spin_unlock(spin);
      continue;
    }
    spin_unlock(spin);
    cc.puts_backend++;
    crit_exit();
    call_indirect<void>(oc.oc_dtor, obj, oc.oc_privdata);
    call_indirect<void>(oc.oc_free, obj, oc.oc_allocator_args);
    objcache_budget_return(oc);
    return;
  }
}

/*
 * objcache_dtor: destroys obj, which came from objcache_get and must not be
 * reused: dtor, back to the backend, the budget one larger.
 * Context: as objcache_put.
 */
export function objcache_dtor(oc: objcache, obj: usize): void {
  call_indirect<void>(oc.oc_dtor, obj, oc.oc_privdata);
  call_indirect<void>(oc.oc_free, obj, oc.oc_allocator_args);
  objcache_budget_return(oc);
}

/*
 * objcache_cached: the objects the cache holds constructed (every CPU's
 * magazines and the depot's full ones).
 * Context: any; exact only while nobody uses the cache.
 */
export function objcache_cached(oc: objcache): i32 {
  let n = 0;
  for (let cpu: u32 = 0; cpu < oc.oc_ncpus; cpu++) {
    const cc = percpu(oc, cpu);
    n += cc.loaded_magazine.rounds + cc.previous_magazine.rounds;
  }
  let mag = oc.oc_depot.fullmagazines;
  while (mag) {
    n += mag.rounds;
    mag = mag.nextmagazine;
  }
  return n;
}

/* Destroys the objects of mag, then frees it. */
function mag_purge_free(oc: objcache, mag: magazine): void {
  while (mag.rounds > 0) {
    const obj = <usize>load<u32>(mag_slot(mag, --mag.rounds));
    call_indirect<void>(oc.oc_dtor, obj, oc.oc_privdata);
    call_indirect<void>(oc.oc_free, obj, oc.oc_allocator_args);
  }
  kfree(changetype<usize>(mag), M_OBJMAG);
}

/*
 * objcache_destroy: every cached object destroyed and given back, the
 * magazines and the cache freed. Objects still out are the caller's.
 * Context: thread; no CPU uses the cache any more.
 */
export function objcache_destroy(oc: objcache): void {
  for (let cpu: u32 = 0; cpu < oc.oc_ncpus; cpu++) {
    const cc = percpu(oc, cpu);
    mag_purge_free(oc, cc.loaded_magazine);
    mag_purge_free(oc, cc.previous_magazine);
  }
  const depot = oc.oc_depot;
  while (depot.fullmagazines) {
    const mag = depot.fullmagazines!;
    depot.fullmagazines = mag.nextmagazine;
    mag_purge_free(oc, mag);
  }
  while (depot.emptymagazines) {
    const mag = depot.emptymagazines!;
    depot.emptymagazines = mag.nextmagazine;
    mag_purge_free(oc, mag);
  }
  kfree(changetype<usize>(depot), M_OBJCACHE);
  if (oc.oc_mbacked != 0) kfree(oc.oc_allocator_args, M_OBJCACHE);
  kfree(changetype<usize>(oc), M_OBJCACHE);
}

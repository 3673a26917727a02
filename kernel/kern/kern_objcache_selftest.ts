// Self-tests of objcache (kern_objcache.ts, reference §5.4 invariant 3).
// Every CPU runs each test at once: the first two on a cache of its own,
// the third on one cache every CPU shares (made by CPU 0), where objects
// got on one CPU are put on its partner (the next CPU up, cyclically).

import { cpu_id } from "../hw";
import { MAXCPU } from "./lwkt_thread";

import {
  M_NULLOK, M_WAITOK, MALLOC_DEFINE, MALLOC_TYPE_BYTES, kfree, kmalloc, malloc_type, malloc_type_memuse,
} from "./kern_slaballoc";
import {
  objcache, objcache_cached, objcache_create_mbacked, objcache_destroy, objcache_dtor, objcache_get, objcache_put,
} from "./kern_objcache";
import { selftest_barrier, selftest_cpus, selftest_partner } from "./selftest";

const M_OCTEST: malloc_type = MALLOC_DEFINE(memory.data(MALLOC_TYPE_BYTES, 8), "objcache selftest");

const OBJ_SIZE: usize = 64;
/** What a constructed object holds in its first word; dtor clears it. */
const CONSTRUCTED: u32 = 0x6f626a63;

// Per CPU, for the caches of one CPU's own: constructions and destructions.
let ctors: u32 = 0;
let dtors: u32 = 0;

function test_ctor(obj: usize, privdata: usize, ocflags: u32): bool {
  store<u32>(obj, CONSTRUCTED);
  ctors++;
  return true;
}

function test_dtor(obj: usize, privdata: usize): void {
  store<u32>(obj, 0);
  dtors++;
}

// For the shared cache: counters in shared memory (atomics), its address.
const shared_ctors: usize = memory.data(4, 4);
const shared_dtors: usize = memory.data(4, 4);
const shared_cache: usize = memory.data(4, 4);

function shared_ctor(obj: usize, privdata: usize, ocflags: u32): bool {
  store<u32>(obj, CONSTRUCTED);
  atomic.add<u32>(shared_ctors, 1);
  return true;
}

function shared_dtor(obj: usize, privdata: usize): void {
  store<u32>(obj, 0);
  atomic.add<u32>(shared_dtors, 1);
}

/*
 * Invariant 3, first item: on one CPU, does get, put, get return the same
 * object, constructed once? Does destroying the cache destruct it once,
 * and give back all its memory?
 */
function objcache_test_reuse(): string | null {
  ctors = 0;
  dtors = 0;
  const oc = objcache_create_mbacked(M_OCTEST, OBJ_SIZE, 0, 0, test_ctor, test_dtor, 0);
  const a = objcache_get(oc, M_WAITOK);
  if (a == 0 || load<u32>(a) != CONSTRUCTED) return "a get did not return a constructed object";
  objcache_put(oc, a);
  const b = objcache_get(oc, M_WAITOK);
  let why: string | null = null;
  if (b != a) why = "get, put, get did not return the same object";
  else if (ctors != 1) why = "an object from the magazine was constructed again";
  else if (dtors != 0) why = "a put destructed the object";
  objcache_put(oc, b);
  objcache_destroy(oc);
  if (why === null && (ctors != 1 || dtors != 1)) why = "destroying the cache did not destruct its object once";
  return why;
}

/*
 * Invariant 3, second item: a cache of this CPU's own with cluster_limit 4
 * and M_NULLOK gets: does the backend stop giving objects once the budget
 * (4 plus what every CPU's magazines hold) is spent, each one constructed?
 * Does a put make the next get succeed, with the same object and no
 * construction? Does objcache_dtor give the budget back (the next get
 * constructs a new object)? Then: is ctors − dtors the count of objects
 * cached plus out, all along, and 0 with the cache destroyed?
 */
function objcache_test_limit(): string | null {
  ctors = 0;
  dtors = 0;
  const limit = 4;
  const oc = objcache_create_mbacked(M_OCTEST, OBJ_SIZE, limit, 0, test_ctor, test_dtor, 0);
  const room: u32 = 4096;
  const objs = kmalloc(<usize>room * 4, M_OCTEST, M_WAITOK);
  let n: u32 = 0;
  while (n < room) {
    const obj = objcache_get(oc, M_WAITOK | M_NULLOK);
    if (obj == 0) break;
    store<u32>(objs + <usize>(n++) * 4, <u32>obj);
  }
  let why: string | null = null;
  if (n == room || n <= <u32>limit) why = "the budget did not stop the gets after the limit and the magazines";
  else if (ctors != n) why = "an object fresh from the backend was not constructed once";
  else if (objcache_get(oc, 0) != 0) why = "a get without M_WAITOK did not fail with the budget spent";
  if (why === null) {
    const last = <usize>load<u32>(objs + <usize>(n - 1) * 4);
    objcache_put(oc, last);
    if (<i32>(ctors - dtors) != objcache_cached(oc) + <i32>n - 1) why = "ctors - dtors is not the objects cached plus out";
    const again = objcache_get(oc, M_WAITOK | M_NULLOK);
    if (why === null && again != last) why = "after a put, the next get did not return the object put";
    if (why === null && ctors != n) why = "an object from the magazine was constructed again";
  }
  if (why === null) {
    objcache_dtor(oc, <usize>load<u32>(objs + <usize>(n - 1) * 4));
    if (dtors != 1) why = "objcache_dtor did not destruct the object";
    const fresh = objcache_get(oc, M_WAITOK | M_NULLOK);
    if (why === null && (fresh == 0 || ctors != n + 1)) why = "objcache_dtor did not give the budget back";
    if (fresh != 0) store<u32>(objs + <usize>(n - 1) * 4, <u32>fresh);
    else n--;
  }
  while (n > 0) objcache_put(oc, <usize>load<u32>(objs + <usize>(--n) * 4));
  if (why === null && <i32>(ctors - dtors) != objcache_cached(oc)) why = "ctors - dtors is not the objects cached, with none out";
  objcache_destroy(oc);
  kfree(objs, M_OCTEST);
  if (why === null && ctors != dtors) why = "destroying the cache did not destruct every object";
  return why;
}

/** Objects each CPU gets from the shared cache per round: more than the magazines and depot hold. */
const SHARED_OBJS: u32 = 300;
const SHARED_ROUNDS: u32 = 2;
/** Per CPU: the objects it hands its partner ({array}; shared, written before a barrier). */
const handed: usize = memory.data(<i32>MAXCPU * 4, 4);

/*
 * Invariant 3, third item, on one cache every CPU shares: each CPU gets
 * SHARED_OBJS objects (some from magazines, some from the depot, most from
 * the backend), checks they are constructed and hands them to its partner,
 * which puts them: into its magazines, the depot, or (no room left) back
 * to the backend, destructed. At each barrier, is ctors − dtors the
 * objects cached plus those out? At the end, destroyed, ctors = dtors, and
 * the type's memory all back?
 */
function objcache_test_shared(): string | null {
  const me = cpu_id();
  const objs = kmalloc(<usize>SHARED_OBJS * 4, M_OCTEST, M_WAITOK);
  store<u32>(handed + <usize>me * 4, <u32>objs);
  let why: string | null = null;
  if (me == 0) {
    atomic.store<u32>(shared_ctors, 0);
    atomic.store<u32>(shared_dtors, 0);
    const oc = objcache_create_mbacked(M_OCTEST, OBJ_SIZE, 0, 0, shared_ctor, shared_dtor, 0);
    atomic.store<u32>(shared_cache, <u32>changetype<usize>(oc));
  }
  selftest_barrier();
  const oc = changetype<objcache>(<usize>atomic.load<u32>(shared_cache));
  for (let round: u32 = 0; round < SHARED_ROUNDS; round++) {
    for (let i: u32 = 0; i < SHARED_OBJS; i++) {
      const obj = objcache_get(oc, M_WAITOK);
      if (load<u32>(obj) != CONSTRUCTED && why === null) why = "a get returned an object not constructed";
      store<u32>(objs + <usize>i * 4, <u32>obj);
    }
    selftest_barrier();
    const out = atomic.load<u32>(shared_ctors) - atomic.load<u32>(shared_dtors);
    if (why === null && <i32>out != objcache_cached(oc) + <i32>(SHARED_OBJS * selftest_cpus())) why = "ctors - dtors is not the objects cached plus out";
    selftest_barrier();
    const theirs = <usize>load<u32>(handed + <usize>selftest_partner() * 4);
    for (let i: u32 = 0; i < SHARED_OBJS; i++) objcache_put(oc, <usize>load<u32>(theirs + <usize>i * 4));
    selftest_barrier();
    const cached = atomic.load<u32>(shared_ctors) - atomic.load<u32>(shared_dtors);
    if (why === null && <i32>cached != objcache_cached(oc)) why = "ctors - dtors is not the objects cached, with none out";
    if (why === null && atomic.load<u32>(shared_dtors) == 0) why = "no put found the cache full: the backend path went untested";
    selftest_barrier();
  }
  if (me == 0) {
    objcache_destroy(oc);
    if (atomic.load<u32>(shared_ctors) != atomic.load<u32>(shared_dtors)) why = "destroying the cache did not destruct every object";
  }
  selftest_barrier();
  kfree(objs, M_OCTEST);
  selftest_barrier();
  if (why === null && malloc_type_memuse(M_OCTEST) != 0) why = "the objects' memory did not all come back";
  selftest_barrier();
  return why;
}

/** This file's tests, in the order they run (kern/selftest.ts). */
export const OBJCACHE_TESTS: StaticArray<string> = ["objcache.reuse", "objcache.limit", "objcache.shared"];

/* objcache_selftest: runs OBJCACHE_TESTS[i]. */
export function objcache_selftest(i: i32): string | null {
  switch (i) {
    case 0: return objcache_test_reuse();
    case 1: return objcache_test_limit();
    default: return objcache_test_shared();
  }
}

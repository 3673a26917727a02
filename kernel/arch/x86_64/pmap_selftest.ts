// Self-tests of the kernel's page tables and of TLB shootdown (reference
// §3.5, invariant 3), against the machine's own TLB, which keeps a
// translation until its CPU invalidates it. Every CPU runs each test at
// once and they meet at selftest_barrier; every path through a test passes
// the same barriers. CPU 0 changes the mappings (A); B is CPU 1 (CPU 0
// itself on one CPU); the others are bystanders outside pm_active. Faults
// are provoked through the probes (support.ts), which report them instead
// of panicking.

import { cli, cpu_id, funcaddr, gs_load32, gs_load64, load64, load8, pause, sti } from "../../hw";
import { PERCPU_SELF, PERCPU_SIZE, PERCPU_STACK_TOP } from "../../runtime";
import { bootalloc } from "../../kern/kern_bootalloc";
import { TDPRI_KERN_DAEMON, crit_enter, crit_exit, lwkt_create, lwkt_yield } from "../../kern/lwkt_thread";
import { lwkt_ipiq_counters, smp_active_mask } from "../../kern/lwkt_ipiq";
import { selftest_barrier, selftest_cpus } from "../../kern/selftest";
import {
  PAGE_SIZE, PG_NX, PG_RW, PG_U, PG_V, VM_MIN_KERNEL_ADDRESS, VM_MIN_USER_ADDRESS, VM_PROT_READ, VM_PROT_WRITE,
  kernel_pmap, pmap, pmap_activate, pmap_current, pmap_enter, pmap_kenter, pmap_kremove, pmap_pinit, pmap_pte, pmap_remove,
} from "./pmap";
import { pmap_inval_count, pmap_inval_deinterlock, pmap_inval_done, pmap_inval_info, pmap_inval_init, pmap_inval_interlock } from "./pmap_inval";
import { PGEX_I, PGEX_P, PGEX_W, PROBE_FAULT, kexec, kfetch64, kstore64, kstore8 } from "./support";

const MAXCPU: u32 = 64;
const VAL0: u64 = 0x0d0d0d0d0d0d0d0d;
const VAL1: u64 = 0x1111111111111111;
const VAL2: u64 = 0x2222222222222222;
/** The 2 MiB of user space the tests map pages in: its page table is made once. */
const TEST_VA: u64 = VM_MIN_USER_ADDRESS;
/** A kernel virtual page (pmap.kernel). */
const TEST_KVA: u64 = VM_MIN_KERNEL_ADDRESS + (<u64>1 << 30);
/** The TLB sets of the emulator's direct-mapped TLB: a probe page shares none with the pages B touches meanwhile. */
const TLB_SETS: u64 = 1024;

// Shared (atomics, or written by CPU 0 before a barrier): the test pmap, its pages, the address under test.
const st_pmap: usize = memory.data(4);
const st_pages: usize = memory.data(3 * 8, 8); // physical pages holding VAL0, VAL1, VAL2
const st_ptpage: usize = memory.data(8); // the page table of TEST_VA's 2 MiB
const st_va: usize = memory.data(8); // the page B reads
const st_flags: usize = memory.data(4 * 4, 4); // the handshake in B's quiet window: cached, changed, read
const st_counts: usize = memory.data(<i32>MAXCPU * 4, 4); // pmap_inval_count before, per CPU
const st_ipis: usize = memory.data(<i32>MAXCPU * 4, 4); // IPIs CPU 0 had sent each CPU before
/** Per CPU: kfetch64's destination. */
let st_dst: usize = 0;

function cpu_b(): u32 {
  return selftest_cpus() > 1 ? 1 : 0;
}

function test_pmap(): pmap {
  return changetype<pmap>(<usize>atomic.load<u32>(st_pmap));
}

function page(i: u32): u64 {
  return load<u64>(st_pages + <usize>i * 8);
}

function flag(i: u32): usize {
  return st_flags + <usize>i * 4;
}

function wait_flag(i: u32): void {
  while (atomic.load<u32>(flag(i)) == 0) pause();
}

/* The u64 at va, or kfetch64's PROBE_FAULT | error code if it faulted. */
function fetch(va: u64): u64 {
  if (st_dst == 0) st_dst = bootalloc(8, 8);
  const r = kfetch64(va, st_dst);
  return r != 0 ? <u64>r : load<u64>(st_dst);
}

/*
 * CPU 0: a fresh user pmap, its three pages (made once), the page table of
 * TEST_VA (by mapping its first page), the flags and counters cleared.
 */
function setup(): void {
  if (cpu_id() != 0) return;
  if (atomic.load<u32>(st_pmap) == 0) {
    for (let i: u32 = 0; i < 3; i++) {
      const p = bootalloc(<usize>PAGE_SIZE, <usize>PAGE_SIZE);
      store<u64>(p, i == 0 ? VAL0 : i == 1 ? VAL1 : VAL2);
      store<u64>(st_pages + <usize>i * 8, <u64>p);
    }
  }
  const pm = changetype<pmap>(bootalloc(offsetof<pmap>(), 8));
  pmap_pinit(pm);
  pmap_enter(pm, TEST_VA, page(0), VM_PROT_READ);
  store<u64>(st_ptpage, <u64>pmap_pte(pm, TEST_VA, false) & ~(PAGE_SIZE - 1));
  store<u64>(st_va, TEST_VA + PAGE_SIZE);
  memory.fill(st_flags, 0, 16);
  atomic.store<u32>(st_pmap, <u32>changetype<usize>(pm));
}

function same_set(a: u64, b: u64): bool {
  return (((a ^ b) >> 12) & (TLB_SETS - 1)) == 0;
}

/* Whether page va's TLB set is one of those this CPU's quiet window touches: its stack, its area, the flags, the page table. */
function collides(va: u64): bool {
  const top = gs_load64(PERCPU_STACK_TOP);
  for (let a = top - 65536; a < top; a += PAGE_SIZE) if (same_set(a, va)) return true;
  const area = gs_load64(PERCPU_SELF);
  for (let a = area; a < area + <u64>gs_load32(PERCPU_SIZE); a += PAGE_SIZE) if (same_set(a, va)) return true;
  return same_set(<u64>st_flags, va) || same_set(<u64>st_flags + 15, va) || same_set(load<u64>(st_ptpage), va);
}

/*
 * B: the page of TEST_VA's 2 MiB that its quiet window shares no TLB set
 * with, so nothing but an invalidation drops its translation there.
 */
function pick_va(): void {
  if (cpu_id() != cpu_b()) return;
  let va = TEST_VA + PAGE_SIZE;
  while (collides(va)) va += PAGE_SIZE;
  store<u64>(st_va, va);
}

function counts_save(): void {
  for (let c: u32 = 0; c < MAXCPU; c++) {
    if ((smp_active_mask() & (<u64>1 << c)) == 0) continue;
    store<u32>(st_counts + <usize>c * 4, pmap_inval_count(c));
    store<u32>(st_ipis + <usize>c * 4, c == 0 ? 0 : lwkt_ipiq_counters(0, c).ip_sent);
  }
}

/* Whether exactly the CPUs of `mask` ran one invalidation since counts_save, and CPU 0 sent the others no IPI. */
function counts_check(mask: u64): bool {
  for (let c: u32 = 0; c < MAXCPU; c++) {
    if ((smp_active_mask() & (<u64>1 << c)) == 0) continue;
    const want: u32 = (mask & (<u64>1 << c)) != 0 ? 1 : 0;
    if (pmap_inval_count(c) - load<u32>(st_counts + <usize>c * 4) != want) return false;
    if (want == 0 && c != 0 && lwkt_ipiq_counters(0, c).ip_sent != load<u32>(st_ipis + <usize>c * 4)) return false;
  }
  return true;
}

// ---- the kernel's map ------------------------------------------------------------------

/* A null dereference faults: page 0 is not present, whatever the access. */
function pmap_test_page0(): string | null {
  if (fetch(0) != <u64>PROBE_FAULT) return "reading page 0 did not fault as not present";
  if (kstore64(8, 0) != (PROBE_FAULT | PGEX_W)) return "writing page 0 did not fault as not present";
  if (fetch(PAGE_SIZE) == <u64>PROBE_FAULT) return "page 1 is not mapped";
  return null;
}

/* The kernel's code is read-only, to the kernel too (CR0.WP); its data is not. */
function pmap_test_text_ro(): string | null {
  const text = funcaddr(pmap_test_text_ro.index);
  // The byte already there: harmless if the write went through.
  if (kstore8(text, load8(text)) != (PROBE_FAULT | PGEX_P | PGEX_W)) return "a write to the kernel's code did not fault";
  if (st_dst == 0) st_dst = bootalloc(8, 8);
  if (kstore64(<u64>st_dst, VAL1) != 0 || load<u64>(st_dst) != VAL1) return "a write to the kernel's data faulted";
  return null;
}

/** An int3 in the kernel's data, for pmap.nx (shared; CPU 0 writes it before the barrier). */
const nx_code: usize = memory.data(16, 16);

/* The kernel's data is not executable (EFER.NXE): fetching an instruction there faults. */
function pmap_test_nx(): string | null {
  if (cpu_id() == 0) store<u8>(nx_code, 0xcc);
  selftest_barrier();
  if (kexec(<u64>nx_code) != (PROBE_FAULT | PGEX_P | PGEX_I)) return "an instruction in the kernel's data ran";
  return null;
}

// ---- invariant 3: shootdown ------------------------------------------------------------

/*
 * Invariant 3. A and B run in the test pmap, the bystanders do not. B
 * reads a page of it (caching the translation); A points the PTE at another
 * page WITHOUT invalidating, and B, with nothing between that could evict
 * the translation, still reads the old page: the TLB is stale until
 * flushed. Then A unmaps the page with pmap_remove, and B's next access
 * faults, as does A's; A and B each ran one invalidation, the bystanders
 * none and got no IPI from A.
 */
function pmap_test_shootdown(): string | null {
  const me = cpu_id();
  const b = cpu_b();
  setup();
  selftest_barrier();
  pick_va();
  selftest_barrier();
  const pm = test_pmap();
  const va = load<u64>(st_va);
  const pte = pmap_pte(pm, va, false);
  const npte = page(2) | PG_V | PG_RW | PG_U | PG_NX;
  if (me == 0) pmap_enter(pm, va, page(1), VM_PROT_READ | VM_PROT_WRITE);
  selftest_barrier();
  if (me == 0 || me == b) pmap_activate(pm);
  selftest_barrier();
  let before: u64 = 0, stale: u64 = 0;
  if (me == b) {
    cli();
    before = load64(va);
    if (b == 0) {
      store<u64>(pte, npte);
    } else {
      atomic.store<u32>(flag(0), 1);
      wait_flag(1);
    }
    stale = load64(va);
    sti();
    atomic.store<u32>(flag(2), 1);
  }
  if (me == 0 && b != 0) {
    wait_flag(0);
    store<u64>(pte, npte);
    atomic.store<u32>(flag(1), 1);
    wait_flag(2);
  }
  selftest_barrier();
  if (me == 0) {
    counts_save();
    pmap_remove(pm, va, va + PAGE_SIZE);
  }
  selftest_barrier();
  const after = fetch(va);
  const counted = me == 0 ? counts_check(<u64>1 | (<u64>1 << b)) : true;
  if (me == 0 || me == b) pmap_activate(kernel_pmap());
  selftest_barrier();
  if (me == b && before != VAL1) return "b did not read the page mapped";
  if (me == b && stale != VAL1) return "b's TLB did not keep the old translation until the shootdown";
  if ((me == 0 || me == b) && after != <u64>PROBE_FAULT) return "an access after pmap_remove did not fault";
  if (me != 0 && me != b && after != <u64>PROBE_FAULT) return "a bystander's access to the unmapped page did not fault";
  if (!counted) return "the invalidations did not run exactly on the cpus of pm_active";
  return null;
}

/*
 * Every CPU but the last (when there are two or more) runs in the test
 * pmap and reads a page; A maps another physical page there (pmap_enter
 * over a mapping): every one of them reads the new page at once, and the
 * last CPU ran no invalidation and got no IPI.
 */
function pmap_test_remap(): string | null {
  const me = cpu_id();
  const n = selftest_cpus();
  const last = n > 1 ? <u32>(63 - clz<u64>(smp_active_mask())) : MAXCPU;
  setup();
  selftest_barrier();
  const pm = test_pmap();
  const va = load<u64>(st_va);
  if (me == 0) pmap_enter(pm, va, page(1), VM_PROT_READ);
  selftest_barrier();
  const active = me != last;
  let before: u64 = 0;
  if (active) {
    pmap_activate(pm);
    before = fetch(va);
  }
  selftest_barrier();
  if (me == 0) {
    counts_save();
    pmap_enter(pm, va, page(2), VM_PROT_READ);
  }
  selftest_barrier();
  const after = active ? fetch(va) : VAL2;
  const counted = me == 0 ? counts_check(smp_active_mask() & ~(last < MAXCPU ? <u64>1 << last : 0)) : true;
  if (active) pmap_activate(kernel_pmap());
  selftest_barrier();
  if (before != (active ? VAL1 : 0)) return "the first mapping was not read";
  if (after != VAL2) return "a cpu of pm_active still read the old page after the remap";
  if (!counted) return "the invalidations did not run exactly on the cpus of pm_active";
  return null;
}

/*
 * A kernel mapping (pmap_kenter) is seen by every CPU, and pmap_kremove's
 * shootdown reaches every CPU: kernel_pmap is active everywhere.
 */
function pmap_test_kernel(): string | null {
  const me = cpu_id();
  setup();
  selftest_barrier();
  if (me == 0) pmap_kenter(TEST_KVA, page(1));
  selftest_barrier();
  const before = fetch(TEST_KVA);
  selftest_barrier();
  if (me == 0) {
    counts_save();
    pmap_kremove(TEST_KVA);
  }
  selftest_barrier();
  const after = fetch(TEST_KVA);
  const counted = me == 0 ? counts_check(smp_active_mask()) : true;
  selftest_barrier();
  if (before != VAL1) return "a kernel mapping was not seen";
  if (after != <u64>PROBE_FAULT) return "an access after pmap_kremove did not fault";
  if (!counted) return "pmap_kremove's invalidation did not run on every cpu";
  return null;
}

// Per CPU: what the thread switched into the test pmap saw.
let switched_pmap: usize = 0;
let switched_read: u64 = 0;
let switched_after_unlock: u32 = 0;

function switched_thread(arg: u32): void {
  switched_after_unlock = atomic.load<u32>(flag(1));
  atomic.store<u32>(flag(2), 1);
  switched_pmap = changetype<usize>(pmap_current());
  switched_read = fetch(load<u64>(st_va));
}

/*
 * Invariant 3's second half. A locks the test pmap for a change
 * (pmap_inval_interlock); B then switches to a thread whose td_pmap is the
 * test pmap: lwkt_switch's pmap_activate must wait until A unlocks. The
 * thread runs in the pmap (CR3, pmap_current) and reads its page. On one
 * CPU, only the switch.
 */
function pmap_test_lock(): string | null {
  const me = cpu_id();
  const b = cpu_b();
  setup();
  selftest_barrier();
  const pm = test_pmap();
  if (me == 0) pmap_enter(pm, load<u64>(st_va), page(1), VM_PROT_READ);
  selftest_barrier();
  let early = false;
  if (me == 0 && b != 0) {
    const info = changetype<pmap_inval_info>(bootalloc(offsetof<pmap_inval_info>(), 8));
    pmap_inval_init(info);
    pmap_inval_interlock(info, pm, load<u64>(st_va), 1);
    atomic.store<u32>(flag(0), 1);
    // B's pm_active bit: its switch has begun. Then time enough for the thread to run, had it not waited.
    const active = changetype<usize>(pm) + offsetof<pmap>("pm_active");
    while ((atomic.load<u64>(active) & (<u64>1 << b)) == 0 && atomic.load<u32>(flag(2)) == 0) pause();
    for (let i = 0; i < 20000; i++) pause();
    early = atomic.load<u32>(flag(2)) != 0;
    atomic.store<u32>(flag(1), 1);
    pmap_inval_deinterlock(info, pm);
    pmap_inval_done(info);
  }
  if (me == b) {
    if (b != 0) wait_flag(0);
    else atomic.store<u32>(flag(1), 1);
    switched_pmap = 0;
    crit_enter();
    const td = lwkt_create(switched_thread, 0, TDPRI_KERN_DAEMON + 1);
    td.td_pmap = pm;
    crit_exit();
    while (atomic.load<u32>(flag(2)) == 0) lwkt_yield();
    pmap_activate(kernel_pmap());
  }
  selftest_barrier();
  if (early) return "a cpu switched into the pmap while it was locked";
  if (me == b && switched_after_unlock == 0) return "the switch into the pmap did not wait for the unlock";
  if (me == b && switched_pmap != changetype<usize>(pm)) return "the thread did not run in its td_pmap";
  if (me == b && switched_read != VAL1) return "the thread did not read the pmap's page";
  return null;
}

/** This file's tests, in the order they run (kern/selftest.ts). */
export const PMAP_TESTS: StaticArray<string> = ["pmap.page0", "pmap.text_ro", "pmap.nx", "pmap.shootdown", "pmap.remap", "pmap.kernel", "pmap.lock"];

/* pmap_selftest: runs PMAP_TESTS[i]. */
export function pmap_selftest(i: i32): string | null {
  switch (i) {
    case 0: return pmap_test_page0();
    case 1: return pmap_test_text_ro();
    case 2: return pmap_test_nx();
    case 3: return pmap_test_shootdown();
    case 4: return pmap_test_remap();
    case 5: return pmap_test_kernel();
    default: return pmap_test_lock();
  }
}

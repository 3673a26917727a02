// TLB shootdown with cpusync (reference dragonfly.md §3.4, DragonFly's 2014
// x86_64 pmap_inval.c): how a pmap's mappings change while other CPUs may
// hold its translations in their TLBs.
//
// The model. A TLB keeps a translation until its own CPU invalidates it
// (invlpg, a CR3 load): a PTE changed in memory is not seen by a CPU that
// cached the old one. So a change is made only while every CPU that may use
// the pmap — its pm_active — is parked, and each of them invalidates before
// it goes on:
//
//   pmap_inval_init(info)                  critical section
//   pmap_inval_interlock(info, pm, va, n)  take pm's lock (activations now wait:
//                                          pmap_activate), then park the CPUs of
//                                          pm_active as it was when locked (cpusync)
//   ... change the PTEs of [va, va + n pages) ...
//   pmap_inval_deinterlock(info, pm)       unlock; each parked CPU and this one, if
//                                          in pm_active, invalidates those pages
//   pmap_inval_done(info)                  end of the critical section
//
// CPUs outside pm_active get no IPI at all. The lock is a word of its own
// (pm_active_lock), not a bit of pm_active as in 2014: all 64 bits of a
// cpumask are CPUs here. A CPU setting its pm_active bit after the locker
// read pm_active finds the lock held and waits (pmap_interlock_wait); one
// that set it before is in the snapshot and gets parked. Both the lock and
// the bit are locked read-modify-writes, so one of the two always sees the
// other.

import { cpu_id, invlpg, pause, read_cr3, write_cr3 } from "../../hw";
import { panic } from "../../kern/kern_shutdown";
import { crit_enter, crit_exit } from "../../kern/lwkt_thread";
import { lwkt_process_ipiq } from "../../kern/lwkt_ipiq";
import { lwkt_cpusync, lwkt_cpusync_deinterlock, lwkt_cpusync_init, lwkt_cpusync_interlock } from "../../kern/lwkt_cpusync";
import { bootalloc } from "../../kern/kern_bootalloc";
import { PAGE_SIZE, pmap } from "./pmap";

/** Above this many pages a CPU flushes its whole TLB (a CR3 load) instead of one invlpg per page. */
const PMAP_INVAL_MAXPGS: u32 = 32;

/*
 * One change in progress: the master's, read by the parked CPUs until its
 * deinterlock returns.
 */
@unmanaged
export class pmap_inval_info {
  pir_cs: lwkt_cpusync;
  pir_va: u64; // the first page changed
  pir_npgs: u32; // pages from pir_va; 0: the whole TLB (pmap_inval_invltlb)
  pir_locked: u32; // the pmap's lock is held
}

/** Invalidations run, per CPU (atomics; any CPU reads): the shootdowns each CPU took part in. */
const pmap_inval_counts: usize = memory.data(64 * 4, 4); // MAXCPU counters (a constant here: lwkt_thread.ts imports this file)

/*
 * pmap_inval_init: starts a change; the caller stays in a critical section
 * until pmap_inval_done.
 * Context: thread.
 */
export function pmap_inval_init(info: pmap_inval_info): void {
  crit_enter();
  if (changetype<usize>(info.pir_cs) == 0) info.pir_cs = changetype<lwkt_cpusync>(bootalloc(offsetof<lwkt_cpusync>(), 8));
  info.pir_va = 0;
  info.pir_npgs = 0;
  info.pir_locked = 0;
}

/*
 * pmap_inval_interlock: takes pm's lock (spinning, and running IPIs, while
 * another CPU holds it), then parks every other CPU of pm_active as it was
 * then. The pages [va, va + npgs pages) are what the change touches (npgs
 * 0: anything, the whole TLB is flushed).
 * Context: between pmap_inval_init and pmap_inval_done, once; not a cpusync
 * master already; spins.
 */
export function pmap_inval_interlock(info: pmap_inval_info, pm: pmap, va: u64, npgs: u32): void {
  if (info.pir_locked != 0) panic("pmap_inval_interlock: already interlocked");
  const lock = changetype<usize>(pm) + offsetof<pmap>("pm_active_lock");
  while (atomic.cmpxchg<u32>(lock, 0, cpu_id() + 1) != 0) {
    lwkt_process_ipiq();
    pause();
  }
  info.pir_locked = 1;
  info.pir_va = va;
  info.pir_npgs = npgs;
  const active = atomic.load<u64>(changetype<usize>(pm) + offsetof<pmap>("pm_active"));
  lwkt_cpusync_init(info.pir_cs, active, pmap_inval_callback, <u32>changetype<usize>(info));
  lwkt_cpusync_interlock(info.pir_cs);
  atomic.add<u32>(changetype<usize>(pm) + offsetof<pmap>("pm_invgen"), 1);
}

/*
 * pmap_inval_deinterlock: releases pm's lock, and each CPU parked by the
 * interlock (and this one, if in pm_active) invalidates the pages; returns
 * when all have.
 * Context: after pmap_inval_interlock(info, pm).
 */
export function pmap_inval_deinterlock(info: pmap_inval_info, pm: pmap): void {
  if (info.pir_locked == 0) panic("pmap_inval_deinterlock: not interlocked");
  info.pir_locked = 0;
  atomic.store<u32>(changetype<usize>(pm) + offsetof<pmap>("pm_active_lock"), 0);
  lwkt_cpusync_deinterlock(info.pir_cs);
}

/*
 * pmap_inval_done: ends the change (and its critical section).
 * Context: after pmap_inval_deinterlock, or with no interlock at all.
 */
export function pmap_inval_done(info: pmap_inval_info): void {
  if (info.pir_locked != 0) panic("pmap_inval_done: still interlocked");
  crit_exit();
}

/*
 * pmap_inval_count: how many invalidations `cpu` has run so far.
 * Context: any; racy unless the CPU is quiet.
 */
export function pmap_inval_count(cpu: u32): u32 {
  return atomic.load<u32>(pmap_inval_counts + <usize>cpu * 4);
}

/* On every CPU of the cpusync, parked: drops the changed pages' translations from this TLB. */
function pmap_inval_callback(data: u32): void {
  const info = changetype<pmap_inval_info>(<usize>data);
  const npgs = info.pir_npgs;
  if (npgs == 0 || npgs > PMAP_INVAL_MAXPGS) {
    write_cr3(read_cr3());
  } else {
    for (let i: u32 = 0; i < npgs; i++) invlpg(info.pir_va + <u64>i * PAGE_SIZE);
  }
  atomic.add<u32>(pmap_inval_counts + <usize>cpu_id() * 4, 1);
}

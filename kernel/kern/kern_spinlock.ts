// Spinlocks (DragonFly's kern_spinlock.c, in the small): a word taken with
// an atomic compare-and-swap, for data that threads of several CPUs touch
// for a few instructions (a spin port's queues, lwkt_msgport.ts).
//
// The model. Holding a spinlock is being in a critical section: spin_lock
// enters one before it spins, spin_unlock leaves it after the release, so
// the holder is never switched away and a waiter on the same CPU never
// spins on its own holder. Not recursive, no owner recorded, no fairness.
// RULES: NEVER BLOCK, SWITCH OR SEND AN IPI WITH A SPINLOCK HELD: a
// waiter spins in a critical section, where it runs no IPIs, so a holder
// waiting for room in that waiter's IPI FIFO would wait for ever. To sleep
// on something a spinlock guards, ssleep releases it and sleeps atomically.

import { pause } from "../hw";
import { PINTERLOCKED, tsleep, tsleep_interlock } from "./kern_synch";
import { crit_enter, crit_exit } from "./lwkt_thread";

/** A spinlock: 0 free, 1 held (atomics). */
@unmanaged
export class spinlock {
  sl_lock: u32;
}

function sl_lock_p(spin: spinlock): usize {
  return changetype<usize>(spin) + offsetof<spinlock>("sl_lock");
}

/*
 * spin_init: the lock is free.
 * Context: any; nobody may be using it.
 */
export function spin_init(spin: spinlock): void {
  atomic.store<u32>(sl_lock_p(spin), 0);
}

/*
 * spin_lock: takes the lock, spinning while another CPU holds it, and
 * leaves the caller in a critical section until spin_unlock.
 * Context: thread or IPI handler; never blocks; the caller must not hold it.
 */
export function spin_lock(spin: spinlock): void {
  crit_enter();
  while (atomic.cmpxchg<u32>(sl_lock_p(spin), 0, 1) != 0) {
    while (atomic.load<u32>(sl_lock_p(spin)) != 0) pause();
  }
}

/*
 * spin_unlock: releases the lock and the critical section spin_lock entered.
 * Context: the holder.
 */
export function spin_unlock(spin: spinlock): void {
  atomic.store<u32>(sl_lock_p(spin), 0);
  crit_exit();
}

/*
 * ssleep: tsleep(ident, timo) with `spin` released while asleep and held
 * again on return. The sleeper is on ident's queue before the lock goes, so
 * a wakeup(ident) made by the next holder is not lost.
 * Context: thread holding spin (so in a critical section); blocks.
 */
export function ssleep(ident: u32, spin: spinlock, timo: u32): i32 {
  crit_enter();
  tsleep_interlock(ident);
  spin_unlock(spin);
  const error = tsleep(ident, timo, PINTERLOCKED);
  spin_lock(spin);
  crit_exit();
  return error;
}

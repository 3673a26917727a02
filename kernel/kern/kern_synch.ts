// tsleep and wakeup (reference dragonfly.md §1.11): a thread blocks on a
// wait channel, any 32-bit identity (usually the address of what it waits
// for), until a wakeup of that channel or its timeout.
//
// The model. Sleep queues are per CPU, hashed by channel: A THREAD SLEEPS
// ONLY ON ITS OWN CPU'S QUEUE, and only that CPU touches it, inside a
// critical section. wakeup(ident) schedules the matching sleepers of its own
// CPU, then sends one IPI carrying the ident (never a thread) to each other
// CPU whose bit is set for that hash slot (slpque_cpumasks), which does the
// same there: remote wakeups are asynchronous. A slot's bit is set while a
// CPU has a sleeper hashed there, and cleared when its last one leaves; a
// stale bit costs an IPI that finds nobody. The timeout is a one-shot
// systimer on the sleeper's CPU (kern_systimer.ts).
//
// Like DragonFly's, a wakeup that comes before the sleeper is on its queue
// is not remembered: the caller makes the condition and the sleep atomic
// (a critical section on one CPU). A condition other CPUs change under a
// lock is made atomic with tsleep_interlock: the sleeper queues itself
// while it holds the lock, drops it, and tsleep(..., PINTERLOCKED) sleeps
// only if no wakeup took it off the queue meanwhile (ssleep, zsleep).

import { panic } from "./kern_shutdown";
import { HZ, systimer, systimer_alloc, systimer_del, systimer_init_oneshot } from "./kern_systimer";
import { bootalloc } from "./kern_bootalloc";
import { lwkt_send_ipiq, smp_active_mask } from "./lwkt_ipiq";
import {
  TDF_TIMEOUT, TDF_TSLEEPQ, crit_enter, crit_exit, globaldata_find, lwkt_deschedule, lwkt_schedule,
  lwkt_switch, mycpu, thread,
} from "./lwkt_thread";

/** tsleep's result when the timeout came first. */
export const EWOULDBLOCK: i32 = 35;

/** tsleep flag: the caller is on ident's queue already (tsleep_interlock). */
export const PINTERLOCKED: i32 = 0x400;

/** Hash slots (a power of two). */
export const TSLEEP_SLOTS: u32 = 64;

/** Per slot, bit n: CPU n may have sleepers hashed there. Shared; atomics. */
const slpque_cpumasks: usize = memory.data(<i32>TSLEEP_SLOTS * 8, 8);

/** Per CPU: its TSLEEP_SLOTS queue heads (thread pointers), allocated at its first tsleep. */
let tsleep_hash: usize = 0;

/* Channels are mostly addresses of aligned words: their two low bits say little. */
function _slot(ident: u32): u32 {
  return (ident >> 2) & (TSLEEP_SLOTS - 1);
}

function _head_p(slot: u32): usize {
  if (tsleep_hash == 0) tsleep_hash = bootalloc(<usize>TSLEEP_SLOTS * 4, 4);
  return tsleep_hash + <usize>slot * 4;
}

/* Puts td at the end of its slot's queue and sets this CPU's bit for the slot. */
function _tsleep_insert(td: thread, ident: u32): void {
  const slot = _slot(ident);
  const headp = _head_p(slot);
  td.td_wchan = ident;
  td.td_sleepnext = null;
  td.td_sleepprev = null;
  let tail = changetype<thread | null>(<usize>load<u32>(headp));
  if (!tail) {
    store<u32>(headp, <u32>changetype<usize>(td));
  } else {
    while (tail!.td_sleepnext) tail = tail!.td_sleepnext;
    tail!.td_sleepnext = td;
    td.td_sleepprev = tail;
  }
  td.td_flags |= TDF_TSLEEPQ;
  atomic.or<u64>(slpque_cpumasks + <usize>slot * 8, <u64>1 << mycpu().gd_cpuid);
}

/* Takes td off its queue; the last sleeper of a slot clears this CPU's bit for it. */
function _tsleep_remove(td: thread): void {
  const slot = _slot(td.td_wchan);
  const headp = _head_p(slot);
  if (td.td_sleepprev) td.td_sleepprev!.td_sleepnext = td.td_sleepnext;
  else store<u32>(headp, <u32>changetype<usize>(td.td_sleepnext));
  if (td.td_sleepnext) td.td_sleepnext!.td_sleepprev = td.td_sleepprev;
  td.td_sleepnext = null;
  td.td_sleepprev = null;
  td.td_flags &= ~TDF_TSLEEPQ;
  if (load<u32>(headp) == 0) atomic.and<u64>(slpque_cpumasks + <usize>slot * 8, ~(<u64>1 << mycpu().gd_cpuid));
}

/* The timeout: the sleeper, if still asleep, leaves its queue marked timed out and runs. */
function _tsleep_timeout(info: u32, frame: u32): void {
  const td = changetype<thread>(<usize>changetype<systimer>(<usize>info).sys_arg);
  if ((td.td_flags & TDF_TSLEEPQ) == 0) return;
  _tsleep_remove(td);
  td.td_flags |= TDF_TIMEOUT;
  lwkt_schedule(td);
}

/*
 * tsleep: blocks the calling thread until wakeup(ident), or, if timo > 0,
 * until timo hardclock ticks (1/HZ s) have passed; 0 after a wakeup,
 * EWOULDBLOCK after the timeout. With PINTERLOCKED in flags the caller
 * did tsleep_interlock(ident) and has stayed in a critical section since:
 * if a wakeup has taken it off the queue already, tsleep returns 0 at once.
 * Context: thread, critical section or not (it switches either way); not an
 * IPI handler or callback.
 */
export function tsleep(ident: u32, timo: u32, flags: i32 = 0): i32 {
  const gd = mycpu();
  const td = gd.gd_curthread;
  if (td === gd.gd_idlethread) panic("tsleep: the idle thread");
  crit_enter();
  td.td_flags &= ~TDF_TIMEOUT;
  if ((flags & PINTERLOCKED) == 0) {
    _tsleep_insert(td, ident);
  } else {
    if ((td.td_flags & TDF_TSLEEPQ) == 0) {
      crit_exit();
      return 0;
    }
    if (td.td_wchan != ident) panic("tsleep: PINTERLOCKED on another channel than tsleep_interlock's");
  }
  if (timo > 0) {
    if (!td.td_sleeptimer) td.td_sleeptimer = systimer_alloc();
    systimer_init_oneshot(td.td_sleeptimer!, _tsleep_timeout, <u32>changetype<usize>(td), <u64>timo * 1000000 / HZ);
  }
  lwkt_deschedule(td);
  lwkt_switch();
  if (timo > 0) systimer_del(td.td_sleeptimer!);
  const error = (td.td_flags & TDF_TIMEOUT) != 0 ? EWOULDBLOCK : 0;
  crit_exit();
  return error;
}

/*
 * tsleep_interlock: puts the calling thread on ident's sleep queue now, so
 * that a wakeup(ident) from here on takes it off, for the
 * tsleep(ident, timo, PINTERLOCKED) that follows.
 * Context: thread, IN A CRITICAL SECTION KEPT UNTIL THAT TSLEEP (or
 * tsleep_remove), with no switch in between.
 */
export function tsleep_interlock(ident: u32): void {
  const td = mycpu().gd_curthread;
  if (td.td_critcount <= 0) panic("tsleep_interlock: not in a critical section");
  if ((td.td_flags & TDF_TSLEEPQ) != 0) _tsleep_remove(td);
  _tsleep_insert(td, ident);
}

/*
 * tsleep_remove: takes the calling thread off the sleep queue a
 * tsleep_interlock put it on, when it will not sleep after all.
 * Context: as tsleep_interlock, instead of its tsleep.
 */
export function tsleep_remove(): void {
  const td = mycpu().gd_curthread;
  if ((td.td_flags & TDF_TSLEEPQ) != 0) _tsleep_remove(td);
}

/* This CPU's share of a wakeup: every sleeper on ident, in the order they slept. */
function _wakeup_local(ident: u32): void {
  crit_enter();
  let td = changetype<thread | null>(<usize>load<u32>(_head_p(_slot(ident))));
  while (td) {
    const next = td!.td_sleepnext;
    if (td!.td_wchan == ident) {
      _tsleep_remove(td!);
      lwkt_schedule(td!);
    }
    td = next;
  }
  crit_exit();
}

/* wakeup's IPI: the same on the CPU it reached. */
function _wakeup_remote(ident: u32, arg2: u32, frame: u32): void {
  _wakeup_local(ident);
}

/*
 * wakeup: makes every thread sleeping on ident runnable: this CPU's at
 * once (one of higher priority runs before wakeup returns, outside a
 * critical section), other CPUs' asynchronously, by IPI.
 * Context: thread or IPI handler or systimer callback; may spin (draining
 * this CPU's IPIs) while a target's FIFO is full.
 */
export function wakeup(ident: u32): void {
  const me = mycpu().gd_cpuid;
  _wakeup_local(ident);
  let mask = atomic.load<u64>(slpque_cpumasks + <usize>_slot(ident) * 8) & smp_active_mask() & ~(<u64>1 << me);
  while (mask != 0) {
    const cpu = <u32>ctz<u64>(mask);
    mask &= mask - 1;
    lwkt_send_ipiq(globaldata_find(cpu), _wakeup_remote, ident);
  }
}

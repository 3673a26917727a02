// Serializers (DragonFly's lwkt_serialize.c, minimal): a sleeping mutex
// for a pipeline such as a NIC driver's, whose code and data one thread at
// a time may run, from any CPU; the serializer port (lwkt_msgport.ts) is
// built on it.
//
// What it is: one word, sz_interlock: SLZ_HELD while someone holds it, and
// in the low bits the number of threads about to sleep for it. Entering is
// a compare-and-swap that sets SLZ_HELD; a thread that finds it set counts
// itself in, sleeps on the serializer (tsleep_interlock first, so the
// wakeup cannot slip between its look and its sleep) and tries again when
// woken. Leaving clears SLZ_HELD and, if anyone counted itself in, wakes
// them all: they race for it again, losers sleep again.
//
// What it is not: not recursive (entering one's own panics), not fair, and
// no token: a holder that blocks keeps it (zsleep releases it explicitly).
// The handler enable/disable calls DragonFly has for interrupts are not
// here: there are no device interrupts yet.

import { panic } from "./kern_shutdown";
import { PINTERLOCKED, tsleep, tsleep_interlock, tsleep_remove, wakeup } from "./kern_synch";
import { crit_enter, crit_exit, curthread, thread } from "./lwkt_thread";

const SLZ_HELD: u32 = 0x80000000;

@unmanaged
export class lwkt_serialize {
  sz_interlock: u32; // atomics: SLZ_HELD | threads about to sleep
  sz_last_td: thread | null; // the holder, written by it
}

function sz_interlock_p(s: lwkt_serialize): usize {
  return changetype<usize>(s) + offsetof<lwkt_serialize>("sz_interlock");
}

/*
 * lwkt_serialize_init: free, nobody waiting.
 * Context: any; nobody may be using it.
 */
export function lwkt_serialize_init(s: lwkt_serialize): void {
  atomic.store<u32>(sz_interlock_p(s), 0);
  s.sz_last_td = null;
}

/*
 * lwkt_serialize_try: takes s if it is free; whether it did.
 * Context: thread; never blocks; not held by the caller.
 */
export function lwkt_serialize_try(s: lwkt_serialize): bool {
  const td = curthread();
  if (lwkt_serialize_is_held(s)) panic("lwkt_serialize: recursive enter");
  while (true) {
    const v = atomic.load<u32>(sz_interlock_p(s));
    if ((v & SLZ_HELD) != 0) return false;
    if (atomic.cmpxchg<u32>(sz_interlock_p(s), v, v | SLZ_HELD) == v) break;
  }
  s.sz_last_td = td;
  return true;
}

/*
 * Sleeps until s has been released once, unless it is free already. The
 * count goes up only while SLZ_HELD is set, so the holder's exit sees it.
 */
function _lwkt_serialize_sleep(s: lwkt_serialize): void {
  const ident = <u32>changetype<usize>(s);
  crit_enter();
  tsleep_interlock(ident);
  while (true) {
    const v = atomic.load<u32>(sz_interlock_p(s));
    if ((v & SLZ_HELD) == 0) {
      tsleep_remove();
      crit_exit();
      return;
    }
    if (atomic.cmpxchg<u32>(sz_interlock_p(s), v, v + 1) == v) break;
  }
  tsleep(ident, 0, PINTERLOCKED);
  atomic.sub<u32>(sz_interlock_p(s), 1);
  crit_exit();
}

/*
 * lwkt_serialize_enter: takes s, sleeping while another thread holds it.
 * Context: thread; may block; not held by the caller.
 */
export function lwkt_serialize_enter(s: lwkt_serialize): void {
  while (!lwkt_serialize_try(s)) _lwkt_serialize_sleep(s);
}

/*
 * lwkt_serialize_exit: releases s and wakes every thread waiting for it.
 * Context: thread, the holder; may switch (a woken thread of higher priority).
 */
export function lwkt_serialize_exit(s: lwkt_serialize): void {
  if (!lwkt_serialize_is_held(s)) panic("lwkt_serialize_exit: not the holder");
  s.sz_last_td = null;
  const old = atomic.and<u32>(sz_interlock_p(s), ~SLZ_HELD);
  if ((old & ~SLZ_HELD) != 0) wakeup(<u32>changetype<usize>(s));
}

/*
 * lwkt_serialize_is_held: whether the calling thread holds s
 * (DragonFly's IS_SERIALIZED, for ASSERT_SERIALIZED).
 * Context: thread.
 */
export function lwkt_serialize_is_held(s: lwkt_serialize): bool {
  return (atomic.load<u32>(sz_interlock_p(s)) & SLZ_HELD) != 0 && s.sz_last_td === curthread();
}

/*
 * zsleep: tsleep(ident, timo) with s released while asleep and held again
 * on return. The sleeper is on ident's queue before s goes, so a
 * wakeup(ident) made by the next holder is not lost.
 * Context: thread holding s; blocks.
 */
export function zsleep(ident: u32, s: lwkt_serialize, timo: u32): i32 {
  crit_enter();
  tsleep_interlock(ident);
  lwkt_serialize_exit(s);
  const error = tsleep(ident, timo, PINTERLOCKED);
  crit_exit();
  lwkt_serialize_enter(s);
  return error;
}

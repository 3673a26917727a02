// Self-tests of tsleep and wakeup (kern_synch.ts, reference §1.11): a
// timeout on one CPU, wakeups of one's own sleepers, and wakeups of another
// CPU's sleeper by IPI. Every CPU runs each test at once; the cross-CPU
// test meets at selftest_barrier. Times are compared, never printed.

import { cpu_id, rdtsc } from "../hw";
import { HZ, systimer_tsc_hz } from "./kern_systimer";
import { EWOULDBLOCK, TSLEEP_SLOTS, tsleep, wakeup } from "./kern_synch";
import { smp_active_mask } from "./lwkt_ipiq";
import { MAXCPU, TDPRI_KERN_DAEMON, TDPRI_SOFT_NORM, curthread, lwkt_create, lwkt_setpri } from "./lwkt_thread";
import { selftest_barrier, selftest_halt_until, selftest_tick_align, trace, traceDec, traced } from "./selftest";

/** Channels: one u32 per CPU, so that no two CPUs' sleepers share one. */
const channels: usize = memory.data(<i32>MAXCPU * 4, 4);

function channel(cpu: u32): u32 {
  return <u32>(channels + <usize>cpu * 4);
}

/*
 * What if nobody wakes a sleeper? It comes back with EWOULDBLOCK once its
 * timeout (3 ticks) has passed by the TSC, not before.
 */
function tsleep_test_timeout(): string | null {
  const t0 = rdtsc();
  const error = tsleep(channel(cpu_id()), 3);
  const elapsed = rdtsc() - t0;
  if (error != EWOULDBLOCK) return "a timed-out tsleep did not return EWOULDBLOCK";
  if (elapsed < systimer_tsc_hz() * 3 / <u64>HZ) return "tsleep timed out early";
  return null;
}

function never(): bool {
  return false;
}

/* Sleeps on this CPU's channel; the third, with a timeout, then sleeps on another channel without one. */
function sleeper(id: u32): void {
  const error = tsleep(channel(cpu_id()), id == 3 ? 2 : 0);
  trace(error == 0 ? "w" : "t");
  traceDec(id);
  if (id == 3) trace(tsleep(channel(cpu_id()) + 2, 0) == 0 ? "w" : "t");
}

/*
 * Two sleepers on this CPU's channel and a third with a 2-tick timeout on
 * the same one: does a wakeup of another channel, one that shares their
 * hash slot, leave them asleep, and
 * one of theirs run all three at once, in the order they slept, with 0?
 * And is the third's timeout cancelled: when it sleeps again, untimed,
 * does only a wakeup end that sleep?
 */
function tsleep_test_wakeup(): string | null {
  selftest_tick_align();
  lwkt_setpri(curthread(), TDPRI_KERN_DAEMON);
  for (let id: u32 = 1; id <= 3; id++) lwkt_create(sleeper, id, TDPRI_SOFT_NORM);
  trace("m");
  wakeup(channel(cpu_id()) + 4 * TSLEEP_SLOTS);
  trace("other");
  wakeup(channel(cpu_id()));
  trace("woken");
  selftest_halt_until(never, 4);
  trace("later");
  wakeup(channel(cpu_id()) + 2);
  if (!traced("m other w 1 w 2 w 3 woken later w")) return "wakeup did not run exactly its channel's sleepers, in order, with 0";
  return null;
}

/** Per CPU: its sleeper's result, -1 until it returns. */
let remote_result: i32 = 0;

function remote_returned(): bool {
  return remote_result != -1;
}

function remote_sleeper(arg: u32): void {
  remote_result = tsleep(channel(cpu_id()), 0);
}

/*
 * Every CPU puts a sleeper on its own channel, then wakes the next CPU's
 * (cyclically; its own when alone): does each sleeper wake, with 0, by the
 * IPI wakeup sends?
 */
function tsleep_test_remote(): string | null {
  const me = cpu_id();
  const mask = smp_active_mask();
  const above = mask & ~((<u64>2 << me) - 1);
  const partner = <u32>ctz<u64>(above != 0 ? above : mask);
  remote_result = -1;
  lwkt_setpri(curthread(), TDPRI_KERN_DAEMON);
  lwkt_create(remote_sleeper, 0, TDPRI_SOFT_NORM);
  selftest_barrier();
  wakeup(channel(partner));
  selftest_halt_until(remote_returned, 10);
  selftest_barrier();
  if (remote_result == -1) return "the sleeper was not woken within 10 ticks";
  if (remote_result != 0) return "the woken sleeper did not return 0";
  return null;
}

/** This file's tests, in the order they run (kern/selftest.ts). */
export const TSLEEP_TESTS: StaticArray<string> = ["tsleep.timeout", "tsleep.wakeup", "tsleep.remote"];

/* tsleep_selftest: runs TSLEEP_TESTS[i]. */
export function tsleep_selftest(i: i32): string | null {
  switch (i) {
    case 0: return tsleep_test_timeout();
    case 1: return tsleep_test_wakeup();
    default: return tsleep_test_remote();
  }
}

// Self-tests of LWKT on one CPU (reference §1.13, the invariants that need
// neither IPIs nor interrupts). Every CPU runs them at once, each on its own
// threads: they also show that the CPUs' schedulers do not interfere. Each
// test starts in the CPU's boot thread at TDPRI_KERN_DAEMON and records
// what its threads do with trace(); selftest.ts runs them. Those whose
// traces order threads of one priority start on a fresh hardclock tick.

import { cpu_id } from "../hw";
import {
  TDF_EXITING, TDF_RUNQ, TDPRI_KERN_USER, TDPRI_SOFT_NORM, TDPRI_USER_NORM, TDPRI_KERN_DAEMON,
  crit_enter, crit_exit, curthread, lwkt_create, lwkt_deschedule, lwkt_exit, lwkt_schedule, lwkt_setpri,
  lwkt_switch, lwkt_yield, mycpu, thread,
} from "./lwkt_thread";
import { selftest_tick_align, trace, traceDec, traced } from "./selftest";

/** Records its argument and ends. */
function note(arg: u32): void {
  traceDec(arg);
}

function allq_count(): i32 {
  let n = 0;
  for (let td: thread | null = mycpu().gd_tdallq; td; td = td!.td_allnext) n++;
  return n;
}

/*
 * What if threads of several priorities become runnable at once? The highest
 * runs first, equal ones in the order they were scheduled, and one below the
 * caller waits until the caller steps down (lwkt_setpri + lwkt_yield).
 */
function lwkt_test_priority(): string | null {
  selftest_tick_align();
  const me = curthread();
  lwkt_setpri(me, TDPRI_KERN_USER);
  crit_enter();
  lwkt_create(note, 120, 12);
  lwkt_create(note, 140, 14);
  lwkt_create(note, 130, 13);
  lwkt_create(note, 121, 12);
  lwkt_create(note, 80, 8);
  crit_exit();
  if (!traced("140 130 120 121")) return "not highest priority first, FIFO within one";
  lwkt_setpri(me, TDPRI_USER_NORM);
  if (!traced("140 130 120 121")) return "lowering the caller's priority switched";
  lwkt_yield();
  if (!traced("140 130 120 121 80")) return "a lower-priority thread did not run after the caller stepped down";
  return null;
}

function rr_worker(id: u32): void {
  for (let round = 0; round < 3; round++) {
    traceDec(id);
    lwkt_yield();
  }
}

/* Do three threads of one priority that yield take turns, in the order they were made? */
function lwkt_test_roundrobin(): string | null {
  selftest_tick_align();
  lwkt_setpri(curthread(), TDPRI_KERN_USER);
  crit_enter();
  for (let id: u32 = 1; id <= 3; id++) lwkt_create(rr_worker, id, TDPRI_KERN_DAEMON);
  crit_exit();
  if (!traced("1 2 3 1 2 3 1 2 3")) return "equal-priority threads did not alternate";
  return null;
}

function yield_worker(arg: u32): void {
  trace("w1");
  lwkt_yield();
  trace("w2");
}

function yield_peer(arg: u32): void {
  trace("p");
}

function yield_high(arg: u32): void {
  trace("h");
}

/*
 * Whom does lwkt_yield give the CPU to? Not to a lower priority; to an
 * equal one, once; to a higher one scheduled inside the caller's critical
 * section, since yielding is a voluntary switch.
 */
function lwkt_test_yield(): string | null {
  selftest_tick_align();
  const me = curthread();
  lwkt_setpri(me, TDPRI_KERN_USER);
  lwkt_create(yield_worker, 0, TDPRI_KERN_DAEMON);
  if (!traced("w1 w2")) return "yielded to a lower priority";
  lwkt_setpri(me, TDPRI_KERN_DAEMON);
  lwkt_create(yield_peer, 0, TDPRI_KERN_DAEMON);
  if (!traced("w1 w2")) return "an equal-priority thread ran before the caller yielded";
  trace("m1");
  lwkt_yield();
  trace("m2");
  if (!traced("w1 w2 m1 p m2")) return "did not yield to an equal priority";
  crit_enter();
  lwkt_create(yield_high, 0, TDPRI_SOFT_NORM);
  trace("m3");
  lwkt_yield();
  trace("m4");
  crit_exit();
  if (!traced("w1 w2 m1 p m2 m3 h m4")) return "did not yield to a higher priority inside a critical section";
  return null;
}

function block_worker(arg: u32): void {
  trace("b1");
  lwkt_deschedule(curthread());
  lwkt_switch();
  trace("b2");
}

/*
 * Does a thread that deschedules itself and switches stay off the CPU until
 * it is scheduled, and run at once then? And does a queued thread that is
 * descheduled before it ran wait for lwkt_schedule?
 */
function lwkt_test_deschedule(): string | null {
  selftest_tick_align();
  lwkt_setpri(curthread(), TDPRI_KERN_USER);
  const blocked = lwkt_create(block_worker, 0, TDPRI_KERN_DAEMON);
  trace("m1");
  if (!traced("b1 m1")) return "a descheduled thread went on running";
  if ((blocked.td_flags & TDF_RUNQ) != 0) return "a descheduled thread is still on the run queue";
  lwkt_schedule(blocked);
  trace("m2");
  if (!traced("b1 m1 b2 m2")) return "a scheduled thread did not run at once";
  crit_enter();
  const queued = lwkt_create(note, 7, TDPRI_KERN_DAEMON);
  lwkt_deschedule(queued);
  crit_exit();
  trace("m3");
  lwkt_schedule(queued);
  if (!traced("b1 m1 b2 m2 m3 7")) return "a thread descheduled before it ran did not wait for lwkt_schedule";
  return null;
}

/*
 * Invariant 1: a pri-10 thread schedules pri 12 and 14 inside nested
 * critical sections; nothing runs before the outermost crit_exit, then 14
 * runs before 12.
 */
function lwkt_test_critical(): string | null {
  selftest_tick_align();
  const me = curthread();
  lwkt_setpri(me, TDPRI_KERN_USER);
  crit_enter();
  crit_enter();
  lwkt_create(note, 12, 12);
  lwkt_create(note, 14, 14);
  crit_exit();
  trace("inner");
  crit_exit();
  trace("outer");
  if (!traced("inner 14 12 outer")) return "the switch was not deferred to the outermost crit_exit";
  if (me.td_critcount != 0) return "td_critcount is not back to 0";
  return null;
}

/** Per CPU: switches that found a thread off its CPU. */
let oncpu_strays: u32 = 0;

function oncpu_worker(cpu: u32): void {
  for (let round = 0; round < 8; round++) {
    const td = curthread();
    if (cpu_id() != cpu || td.td_gd !== mycpu() || mycpu().gd_cpuid != cpu) oncpu_strays++;
    lwkt_yield();
  }
}

/*
 * Do threads stay on the CPU that made them, while every CPU switches its
 * own threads at the same time? And does this CPU's gd_tdallq hold only its own?
 */
function lwkt_test_oncpu(): string | null {
  lwkt_setpri(curthread(), TDPRI_KERN_USER);
  oncpu_strays = 0;
  crit_enter();
  for (let i = 0; i < 3; i++) lwkt_create(oncpu_worker, cpu_id(), TDPRI_KERN_DAEMON);
  let foreign = 0;
  for (let td: thread | null = mycpu().gd_tdallq; td; td = td!.td_allnext) if (td!.td_gd !== mycpu()) foreign++;
  crit_exit();
  if (foreign != 0) return "gd_tdallq holds another cpu's thread";
  if (oncpu_strays != 0) return "a thread ran on another cpu";
  return null;
}

function exited(td: thread): bool {
  return (td.td_flags & (TDF_EXITING | TDF_RUNQ)) == TDF_EXITING;
}

function exit_early(arg: u32): void {
  trace("e1");
  lwkt_exit();
  trace("e2");
}

function exit_return(arg: u32): void {
  trace("r");
}

/*
 * Does a thread end both ways, by lwkt_exit and by returning, leave the run
 * queue and gd_tdallq, and leave its thread and stack to the next lwkt_create?
 */
function lwkt_test_exit(): string | null {
  selftest_tick_align();
  lwkt_setpri(curthread(), TDPRI_KERN_USER);
  const live = allq_count();
  const early = lwkt_create(exit_early, 0, TDPRI_KERN_DAEMON);
  const returned = lwkt_create(exit_return, 0, TDPRI_KERN_DAEMON);
  if (!traced("e1 r")) return "code after lwkt_exit ran, or a thread did not run";
  if (allq_count() != live) return "an exited thread is still in gd_tdallq";
  if (!exited(early) || !exited(returned)) return "an exited thread is not marked exiting, or is runnable";
  const next = lwkt_create(note, 3, TDPRI_KERN_DAEMON);
  if (!traced("e1 r 3")) return "a thread made after an exit did not run";
  if (next !== returned) return "the last exited thread was not reused";
  if (allq_count() != live) return "gd_tdallq did not come back to its size";
  return null;
}

/** This file's tests, in the order they run (kern/selftest.ts). */
export const LWKT_TESTS: StaticArray<string> = ["lwkt.priority", "lwkt.roundrobin", "lwkt.yield", "lwkt.deschedule", "lwkt.critical", "lwkt.oncpu", "lwkt.exit"];

/* lwkt_selftest: runs LWKT_TESTS[i]. */
export function lwkt_selftest(i: i32): string | null {
  switch (i) {
    case 0: return lwkt_test_priority();
    case 1: return lwkt_test_roundrobin();
    case 2: return lwkt_test_yield();
    case 3: return lwkt_test_deschedule();
    case 4: return lwkt_test_critical();
    case 5: return lwkt_test_oncpu();
    default: return lwkt_test_exit();
  }
}

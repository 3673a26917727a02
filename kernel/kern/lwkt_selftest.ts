// Self-tests of LWKT (reference §1.13): first on one CPU, the invariants
// that need neither IPIs nor interrupts; then preemption by interrupt
// threads, migration and lwkt_setpri of another CPU's thread, which do.
// Every CPU runs them at once, each on its own threads: they also show
// that the CPUs' schedulers do not interfere. Each test starts in the CPU's
// boot thread at TDPRI_KERN_DAEMON and records what its threads do with
// trace(); selftest.ts runs them. Those whose traces order threads of one
// priority start on a fresh hardclock tick. The tests that need two CPUs
// pair each CPU with the next one up (itself when alone) and meet at
// selftest_barrier; what a thread finds on another CPU goes through shared
// words indexed by CPU, never through traces (per CPU).

import { cpu_id, pause } from "../hw";
import { smp_active_mask } from "./lwkt_ipiq";
import { tsleep } from "./kern_synch";
import {
  MAXCPU, TDF_EXITING, TDF_INTTHREAD, TDF_MIGRATING, TDF_NOSTART, TDF_PREEMPT_LOCK, TDF_RUNQ, TDPRI_INT_MED,
  TDPRI_KERN_USER, TDPRI_SOFT_NORM, TDPRI_USER_NORM, TDPRI_KERN_DAEMON, crit_enter, crit_exit, curthread, globaldata,
  globaldata_find, lwkt_create, lwkt_deschedule, lwkt_exit, lwkt_migratecpu, lwkt_schedule, lwkt_setpri, lwkt_switch,
  lwkt_yield, mycpu, thread,
} from "./lwkt_thread";
import { lwkt_gettoken, lwkt_reltoken, lwkt_token, lwkt_token_held_excl, lwkt_token_init, lwkt_trytoken } from "./lwkt_token";
import {
  selftest_barrier, selftest_halt_until, selftest_partner, selftest_tick_align, trace, traceDec, traced,
} from "./selftest";

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

// ---- with IPIs: preemption, migration, remote priority ----------------------------------

/** Shared by CPU: threads one CPU makes for another to act on, and results (atomics). */
const peer_threads: usize = memory.data(<i32>MAXCPU * 4, 4);
const peer_results: usize = memory.data(<i32>MAXCPU * 4, 4);

function peer_word(array: usize, cpu: u32): usize {
  return array + <usize>cpu * 4;
}

const preempt_toks: usize = memory.data(<i32>MAXCPU * 16, 8);

/** Per CPU: the thread the interrupt thread should find it preempted. */
let preempt_victim: thread | null = null;

/* An interrupt thread: was it preempting the victim, and could it take the victim's token? */
function preempt_ithread(arg: u32): void {
  const tok = changetype<lwkt_token>(preempt_toks + <usize>cpu_id() * offsetof<lwkt_token>());
  for (let round = 0; round < 2; round++) {
    trace("i");
    const victim = preempt_victim!;
    trace(curthread().td_preempted === victim && (victim.td_flags & TDF_PREEMPT_LOCK) != 0 ? "p" : "n");
    if (lwkt_trytoken(tok)) {
      trace("t");
      lwkt_reltoken(tok);
    } else {
      trace("-");
    }
    if (round == 1) break;
    lwkt_deschedule(curthread());
    lwkt_switch();
  }
}

/*
 * Invariant 2, preemption: the boot thread (pri 10) holds a token and, outside
 * any critical section, schedules an interrupt thread (TDF_INTTHREAD, pri
 * 28). Does it run at once, preempting (td_preempted, TDF_PREEMPT_LOCK),
 * while the boot thread keeps its token, and does the CPU come back to the
 * boot thread when it blocks? Scheduled inside a critical section, does it
 * wait for crit_exit, and run as a plain switch, not a preemption?
 */
function lwkt_test_preempt(): string | null {
  const me = curthread();
  const tok = changetype<lwkt_token>(preempt_toks + <usize>cpu_id() * offsetof<lwkt_token>());
  lwkt_token_init(tok, "selftest.lwkt.preempt");
  preempt_victim = me;
  lwkt_setpri(me, TDPRI_KERN_USER);
  const ithread = lwkt_create(preempt_ithread, 0, TDPRI_INT_MED, TDF_INTTHREAD | TDF_NOSTART);
  lwkt_gettoken(tok);
  trace("m1");
  lwkt_schedule(ithread);
  trace(curthread() === me && lwkt_token_held_excl(tok) ? "m2" : "m2-lost");
  lwkt_reltoken(tok);
  if (!traced("m1 i p - m2")) return "the interrupt thread did not preempt at once, keeping the token, and come back";
  crit_enter();
  lwkt_schedule(ithread);
  trace("m3");
  crit_exit();
  trace("m4");
  if (!traced("m1 i p - m2 m3 i n t m4")) return "the interrupt thread preempted a critical section";
  if ((me.td_flags & TDF_PREEMPT_LOCK) != 0) return "the boot thread is still marked preempted";
  return null;
}

/** Per CPU: the interrupt thread ran, and found the boot thread preempted (2) or not (1). */
let remote_ran: u32 = 0;
let remote_boot: thread | null = null;

function remote_ithread(arg: u32): void {
  const td = curthread();
  remote_ran = td.td_preempted === remote_boot && td.td_gd === mycpu() ? 2 : 1;
}

/*
 * Invariant 2 by interrupt: CPU 0 schedules CPU 1's interrupt thread while
 * CPU 1's boot thread spins outside any critical section. Does the IPI
 * preempt it (from the interrupt, not at a later switch), and does CPU 1
 * come back to its boot thread? On one CPU, CPU 0 schedules its own.
 */
function lwkt_test_preempt_remote(): string | null {
  const me = cpu_id();
  const target: u32 = popcnt<u64>(smp_active_mask()) > 1 ? 1 : 0;
  const receiver = me == target;
  remote_ran = 0;
  remote_boot = curthread();
  if (receiver) atomic.store<u32>(peer_word(peer_threads, me), <u32>changetype<usize>(lwkt_create(remote_ithread, 0, TDPRI_INT_MED, TDF_INTTHREAD | TDF_NOSTART)));
  selftest_barrier();
  if (me == 0) lwkt_schedule(changetype<thread>(<usize>atomic.load<u32>(peer_word(peer_threads, target))));
  let ran = true;
  if (receiver) {
    const ticksp = changetype<usize>(mycpu()) + offsetof<globaldata>("gd_ticks");
    const start = atomic.load<u32>(ticksp);
    while (remote_ran == 0 && atomic.load<u32>(ticksp) - start < 50) pause();
    ran = remote_ran == 2 && curthread() === remote_boot;
  }
  selftest_barrier();
  if (!ran) return "the interrupt thread did not preempt the spinning thread, or the cpu did not come back to it";
  return null;
}

/*
 * A thread that migrates to its home CPU's partner and back, holding a
 * token. It records in peer_results[home] what went wrong (bits), and sets
 * bit 31 when done.
 */
const migrate_toks: usize = memory.data(<i32>MAXCPU * 16, 8);
const migrate_stage: usize = memory.data(<i32>MAXCPU * 4, 4); // 1: at the partner; 2: home has looked

function on_allq(td: thread): bool {
  crit_enter();
  let found = false;
  for (let t: thread | null = mycpu().gd_tdallq; t; t = t!.td_allnext) if (t === td) found = true;
  crit_exit();
  return found;
}

function migrator(home: u32): void {
  const td = curthread();
  const tok = changetype<lwkt_token>(migrate_toks + <usize>home * offsetof<lwkt_token>());
  const dest = selftest_partner();
  let bad: u32 = 0;
  lwkt_gettoken(tok);
  if (td.td_gd !== globaldata_find(home)) bad |= 1;
  lwkt_migratecpu(dest);
  if (cpu_id() != dest || mycpu() !== globaldata_find(dest) || td.td_gd !== mycpu()) bad |= 2;
  if (!on_allq(td) || (td.td_flags & TDF_MIGRATING) != 0) bad |= 4;
  if (!lwkt_token_held_excl(tok)) bad |= 8;
  atomic.store<u32>(peer_word(migrate_stage, home), 1);
  for (let i = 0; i < 50 && atomic.load<u32>(peer_word(migrate_stage, home)) != 2; i++) tsleep(<u32>peer_word(migrate_stage, home), 1);
  lwkt_migratecpu(home);
  if (cpu_id() != home || td.td_gd !== mycpu() || !on_allq(td)) bad |= 16;
  if (!lwkt_token_held_excl(tok)) bad |= 32;
  lwkt_reltoken(tok);
  atomic.store<u32>(peer_word(peer_results, home), bad | 0x80000000);
}

function migrate_stage_1(): bool {
  return atomic.load<u32>(peer_word(migrate_stage, cpu_id())) != 0;
}

function migrated_back(): bool {
  return (atomic.load<u32>(peer_word(peer_results, cpu_id())) & 0x80000000) != 0;
}

/*
 * Invariant 3: a thread holding a token calls lwkt_migratecpu(partner), then
 * comes back. Is it running on the partner afterwards (cpu_id, mycpu,
 * td_gd), on the partner's gd_tdallq and no longer on its home CPU's, still
 * holding its token; and the same once home again?
 */
function lwkt_test_migrate(): string | null {
  const me = cpu_id();
  const alone = selftest_partner() == me;
  const tok = changetype<lwkt_token>(migrate_toks + <usize>me * offsetof<lwkt_token>());
  lwkt_token_init(tok, "selftest.migrate");
  atomic.store<u32>(peer_word(migrate_stage, me), 0);
  atomic.store<u32>(peer_word(peer_results, me), 0);
  lwkt_setpri(curthread(), TDPRI_KERN_DAEMON);
  selftest_barrier();
  const td = lwkt_create(migrator, me, TDPRI_SOFT_NORM);
  const away = selftest_halt_until(migrate_stage_1, 50);
  const left = alone || !on_allq(td);
  atomic.store<u32>(peer_word(migrate_stage, me), 2);
  const back = selftest_halt_until(migrated_back, 50);
  selftest_barrier();
  if (!away || !back) return "the thread did not get to its partner and back within 50 ticks";
  const bad = atomic.load<u32>(peer_word(peer_results, me)) & 0x7fffffff;
  if ((bad & 1) != 0) return "the thread did not start on its home cpu";
  if ((bad & 2) != 0) return "after lwkt_migratecpu the thread was not running on, and owned by, the new cpu";
  if ((bad & 4) != 0) return "the migrated thread is not on the new cpu's gd_tdallq, or still marked migrating";
  if ((bad & 40) != 0) return "the migrated thread lost its token";
  if ((bad & 16) != 0) return "the thread did not come back home";
  if (!left) return "the migrated thread is still on its old cpu's gd_tdallq";
  return null;
}

/** Per CPU: the priority the low thread ran at, 0 until it runs. */
let setpri_seen: i32 = 0;

function setpri_seen_yet(): bool {
  return setpri_seen != 0;
}

function setpri_low(arg: u32): void {
  setpri_seen = curthread().td_pri;
}

/*
 * lwkt_setpri of another CPU's thread: each CPU makes a thread below its
 * boot thread (it cannot run while the boot thread does), and raises its
 * partner's above the partner's boot thread. Does the owner apply it, so
 * that the thread runs at once there, at its new priority?
 */
function lwkt_test_setpri_remote(): string | null {
  const me = cpu_id();
  setpri_seen = 0;
  lwkt_setpri(curthread(), TDPRI_KERN_DAEMON);
  atomic.store<u32>(peer_word(peer_threads, me), <u32>changetype<usize>(lwkt_create(setpri_low, 0, TDPRI_USER_NORM)));
  const early = setpri_seen != 0;
  selftest_barrier();
  lwkt_setpri(changetype<thread>(<usize>atomic.load<u32>(peer_word(peer_threads, selftest_partner()))), TDPRI_SOFT_NORM);
  const ran = selftest_halt_until(setpri_seen_yet, 50);
  selftest_barrier();
  if (early) return "a thread below the boot thread ran before it was raised";
  if (!ran) return "the raised thread did not run within 50 ticks";
  if (setpri_seen != TDPRI_SOFT_NORM) return "the raised thread did not run at its new priority";
  return null;
}

/** This file's tests, in the order they run (kern/selftest.ts). */
export const LWKT_TESTS: StaticArray<string> = [
  "lwkt.priority", "lwkt.roundrobin", "lwkt.yield", "lwkt.deschedule", "lwkt.critical", "lwkt.oncpu", "lwkt.exit",
  "lwkt.preempt", "lwkt.preempt_remote", "lwkt.migrate", "lwkt.setpri_remote",
];

/* lwkt_selftest: runs LWKT_TESTS[i]. */
export function lwkt_selftest(i: i32): string | null {
  switch (i) {
    case 0: return lwkt_test_priority();
    case 1: return lwkt_test_roundrobin();
    case 2: return lwkt_test_yield();
    case 3: return lwkt_test_deschedule();
    case 4: return lwkt_test_critical();
    case 5: return lwkt_test_oncpu();
    case 6: return lwkt_test_exit();
    case 7: return lwkt_test_preempt();
    case 8: return lwkt_test_preempt_remote();
    case 9: return lwkt_test_migrate();
    default: return lwkt_test_setpri_remote();
  }
}

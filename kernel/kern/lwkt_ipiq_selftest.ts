// Self-tests of IPI messaging (reference §3.5, invariant 1, and the
// behaviour §3.2–§3.3 promise) and of what LWKT does with it (§1.9: a
// remote lwkt_schedule and lwkt_deschedule). Every CPU runs each test at
// once; they meet at selftest_barrier, so a test's IPIs do not mix with
// another test's, and every path through a test passes the same barriers. A CPU's partner is the
// next CPU up (cyclically); on one CPU that is itself, and a send to oneself
// is a plain call, which the tests check instead. Handlers run on the
// target, so the per-CPU module globals they update are the target's.

import { cpu_id, pause } from "../hw";
import { bootalloc } from "./kern_bootalloc";
import {
  ENOENT, MAXCPUFIFO, lwkt_ipiq, lwkt_ipiq_counters, lwkt_ipiq_setfifo, lwkt_process_ipiq, lwkt_send_ipiq,
  lwkt_send_ipiq3_bycpu, lwkt_send_ipiq3_mask, lwkt_send_ipiq3_nowait, lwkt_send_ipiq3_passive, lwkt_seq_ipiq,
  lwkt_wait_ipiq, smp_active_mask,
} from "./lwkt_ipiq";
import {
  MAXCPU, RQF_IPIQ, TDF_RUNQ, TDPRI_KERN_DAEMON, TDPRI_KERN_USER, TDPRI_USER_NORM, crit_enter, crit_exit, curthread,
  globaldata, globaldata_find, lwkt_create, lwkt_deschedule, lwkt_schedule, lwkt_setpri, lwkt_switch, lwkt_yield, mycpu,
  thread,
} from "./lwkt_thread";
import { selftest_barrier, selftest_cpus, selftest_partner } from "./selftest";

/** Flags "the CPU whose partner I am has sent", one u32 per CPU, for the tests that wait on a send (atomics). */
const sent_flags: usize = memory.data(<i32>MAXCPU * 4, 4);

function sent_to_partner(): void {
  atomic.store<u32>(sent_flags + <usize>selftest_partner() * 4, 1);
}

function wait_sent_to_me(): void {
  while (atomic.load<u32>(sent_flags + <usize>cpu_id() * 4) == 0) pause();
}

// ---- invariant 1: the storm ------------------------------------------------------------

/** Entries each CPU sends each other CPU. */
const STORM_SENDS: u32 = 2000;
/** The FIFO depth the storm runs with: a sender waits once three entries are in use. */
const STORM_FIFO: u32 = 4;

// Per CPU, the target's view: the sequence number expected next from each source, and what went wrong.
let storm_next: usize = 0;
let storm_received: u32 = 0;
let storm_misordered: u32 = 0;

function storm_recv(seq: u32, source: u32, frame: u32): void {
  const p = storm_next + <usize>source * 4;
  if (load<u32>(p) != seq) storm_misordered++;
  store<u32>(p, seq + 1);
  storm_received++;
}

/*
 * Invariant 1: every CPU sends STORM_SENDS IPIs to every other CPU at once,
 * its FIFOs cut to STORM_FIFO entries, so senders keep finding them full
 * while their targets are full towards them; the first half from inside a
 * critical section, where nothing but a full FIFO's draining runs the
 * entries sent to the sender (without it, two CPUs would wait on each other
 * for ever). Does everything arrive, once, in each pair's order (sequence
 * numbers), with every entry finished?
 */
function ipiq_test_storm(): string | null {
  const me = cpu_id();
  const mask = smp_active_mask();
  if (storm_next == 0) storm_next = bootalloc(<usize>MAXCPU * 4, 4);
  memory.fill(storm_next, 0, <usize>MAXCPU * 4);
  storm_received = 0;
  storm_misordered = 0;
  const depth = lwkt_ipiq_setfifo(STORM_FIFO);
  selftest_barrier();
  // The first half in a critical section: only the full-FIFO path's own draining runs entries here.
  crit_enter();
  for (let seq: u32 = 0; seq < STORM_SENDS; seq++) {
    if (seq == STORM_SENDS / 2) crit_exit();
    for (let m = mask & ~(<u64>1 << me); m != 0; m &= m - 1) lwkt_send_ipiq3_bycpu(<u32>ctz<u64>(m), storm_recv, seq, me);
  }
  const expected = (selftest_cpus() - 1) * STORM_SENDS;
  while (storm_received < expected) pause();
  selftest_barrier();
  lwkt_ipiq_setfifo(depth);
  if (storm_misordered != 0) return "entries arrived out of order, or were lost or duplicated";
  if (storm_received != expected) return "more entries arrived than were sent";
  for (let m = mask; m != 0; m &= m - 1) {
    const source = <u32>ctz<u64>(m);
    if (load<u32>(storm_next + <usize>source * 4) != (source == me ? 0 : STORM_SENDS)) return "a source's last entries did not arrive";
    const q = lwkt_ipiq_counters(me, source);
    if (atomic.load<u32>(changetype<usize>(q) + offsetof<lwkt_ipiq>("ip_xindex")) != q.ip_windex) return "a sent entry is not finished";
  }
  return null;
}

// ---- critical sections defer IPIs ------------------------------------------------------

let crit_runs: u32 = 0;

function crit_note(arg1: u32, arg2: u32, frame: u32): void {
  crit_runs++;
}

/*
 * What if an IPI comes while its target is in nested critical sections? It
 * is taken (RQF_IPIQ) but runs only at the outermost crit_exit. And a send
 * to oneself, critical section or not, is a call that runs at once.
 */
function ipiq_test_critical(): string | null {
  const gd = mycpu();
  crit_runs = 0;
  atomic.store<u32>(sent_flags + <usize>cpu_id() * 4, 0);
  selftest_barrier();
  crit_enter();
  crit_enter();
  selftest_barrier();
  lwkt_send_ipiq(globaldata_find(selftest_partner()), crit_note, 0);
  sent_to_partner();
  const alone = selftest_cpus() == 1;
  wait_sent_to_me();
  // Until the IPI has been taken, or (wrongly) run.
  const reqflags = changetype<usize>(gd) + offsetof<globaldata>("gd_reqflags");
  if (!alone) while ((atomic.load<u32>(reqflags) & RQF_IPIQ) == 0 && crit_runs == 0) pause();
  const inside = crit_runs;
  crit_exit();
  const inner = crit_runs;
  crit_exit();
  const outer = crit_runs;
  selftest_barrier();
  if (alone) return inside == 1 && outer == 1 ? null : "a send to this cpu did not run at once, once";
  if (inside != 0 || inner != 0) return "an IPI ran inside a critical section";
  if (outer != 1) return "the deferred IPI did not run at the outermost crit_exit, once";
  return null;
}

// ---- passive sends ---------------------------------------------------------------------

let passive_runs: u32 = 0;

function passive_note(arg1: u32, arg2: u32, frame: u32): void {
  passive_runs++;
}

/*
 * Does a passive send leave its target alone (no hardware IPI) until the
 * target polls its queues, and run then? The target waits in a critical
 * section, so only its own poll can run anything.
 */
function ipiq_test_passive(): string | null {
  const me = cpu_id();
  const to = selftest_partner();
  passive_runs = 0;
  atomic.store<u32>(sent_flags + <usize>me * 4, 0);
  selftest_barrier();
  crit_enter();
  selftest_barrier();
  const q = lwkt_ipiq_counters(me, to);
  const hwipis = q.ip_hwipis;
  const passives = q.ip_passive;
  lwkt_send_ipiq3_passive(globaldata_find(to), passive_note, 0, 0);
  const rang = q.ip_hwipis != hwipis;
  const counted = q.ip_passive == passives + 1;
  sent_to_partner();
  wait_sent_to_me();
  const before = passive_runs;
  lwkt_process_ipiq();
  const after = passive_runs;
  crit_exit();
  selftest_barrier();
  if (to == me) return before == 1 && after == 1 ? null : "a passive send to this cpu did not run at once, once";
  if (rang) return "a passive send sent a hardware IPI";
  if (!counted) return "a passive send was not counted";
  if (before != 0) return "a passive IPI ran before its target polled";
  if (after != 1) return "a passive IPI did not run when its target polled, once";
  return null;
}

// ---- nowait sends ----------------------------------------------------------------------

let nowait_runs: u32 = 0;
let nowait_misordered: u32 = 0;

function nowait_note(seq: u32, arg2: u32, frame: u32): void {
  if (seq != nowait_runs) nowait_misordered++;
  nowait_runs++;
}

/*
 * How far does lwkt_send_ipiq3_nowait fill a FIFO whose target is not
 * taking anything (it waits in a critical section)? Up to two thirds
 * (MAXCPUFIFO * 2 / 3 entries), then ENOENT without spinning; and what was
 * accepted all runs, in order, once the target leaves its critical section.
 */
function ipiq_test_nowait(): string | null {
  const me = cpu_id();
  const to = selftest_partner();
  nowait_runs = 0;
  nowait_misordered = 0;
  atomic.store<u32>(sent_flags + <usize>me * 4, 0);
  selftest_barrier();
  crit_enter();
  selftest_barrier();
  let accepted: u32 = 0;
  let refusal = 0;
  while (accepted < MAXCPUFIFO) {
    refusal = lwkt_send_ipiq3_nowait(globaldata_find(to), nowait_note, accepted, 0);
    if (refusal != 0) break;
    accepted++;
  }
  sent_to_partner();
  wait_sent_to_me();
  const before = nowait_runs;
  crit_exit();
  const expected = to == me ? MAXCPUFIFO : MAXCPUFIFO * 2 / 3;
  while (nowait_runs < expected) pause();
  selftest_barrier();
  if (to == me) return refusal == 0 && before == MAXCPUFIFO ? null : "a nowait send to this cpu refused, or did not run at once";
  if (accepted != expected || refusal != ENOENT) return "nowait did not refuse with ENOENT at two thirds of the FIFO";
  if (before != 0) return "an IPI ran inside a critical section";
  if (nowait_runs != expected || nowait_misordered != 0) return "the accepted entries did not all run, in order";
  return null;
}

// ---- sending to a mask, waiting for completion -----------------------------------------

/** [target * MAXCPU + source]: the source's broadcast ran on the target (bytes; handlers write). */
const mask_ran: usize = memory.data(<i32>(MAXCPU * MAXCPU));
let mask_runs: u32 = 0;

function mask_note(source: u32, arg2: u32, frame: u32): void {
  // Leaves the mark late, so that a wait that returns early would miss it.
  for (let i = 0; i < 100; i++) pause();
  atomic.store<u8>(mask_ran + <usize>cpu_id() * MAXCPU + source, 1);
  mask_runs++;
}

/*
 * Does lwkt_send_ipiq3_mask reach every CPU of the mask once, this one
 * included (a call), and does lwkt_wait_ipiq on lwkt_seq_ipiq return only
 * once each target's handler has returned?
 */
function ipiq_test_mask(): string | null {
  const me = cpu_id();
  const mask = smp_active_mask();
  mask_runs = 0;
  memory.fill(mask_ran + <usize>me * MAXCPU, 0, <usize>MAXCPU);
  selftest_barrier();
  const sent = lwkt_send_ipiq3_mask(mask, mask_note, me, 0);
  let early = false;
  for (let m = mask; m != 0; m &= m - 1) {
    const target = <u32>ctz<u64>(m);
    const gd = globaldata_find(target);
    lwkt_wait_ipiq(gd, lwkt_seq_ipiq(gd));
    if (atomic.load<u8>(mask_ran + <usize>target * MAXCPU + me) == 0) early = true;
  }
  while (mask_runs < selftest_cpus()) pause();
  selftest_barrier();
  if (<u32>sent != selftest_cpus()) return "the mask send did not count every cpu";
  if (early) return "lwkt_wait_ipiq returned before the handler had run";
  for (let m = mask; m != 0; m &= m - 1) {
    if (load<u8>(mask_ran + <usize>me * MAXCPU + <u32>ctz<u64>(m)) != 1) return "a cpu's broadcast did not run here";
  }
  if (mask_runs != selftest_cpus()) return "a broadcast ran here more than once";
  return null;
}

// ---- lwkt_schedule of another CPU's thread ---------------------------------------------

/** Each CPU's sleeper, for its waker (atomics). */
const remote_threads: usize = memory.data(<i32>MAXCPU * 4, 4);
// Per CPU: the sleeper's wake-ups and where it found itself, and the boot thread, which it wakes.
let remote_wakes: u32 = 0;
let remote_woke_on: u32 = 0;
let remote_waiter: usize = 0;

function remote_sleeper(arg: u32): void {
  const td = curthread();
  lwkt_deschedule(td);
  lwkt_switch();
  remote_woke_on = td.td_gd === mycpu() ? cpu_id() : 0xffffffff;
  remote_wakes++;
  lwkt_schedule(changetype<thread>(remote_waiter));
}

/*
 * A thread blocks; the CPU below it calls lwkt_schedule on it, while its
 * owner's boot thread sleeps too, so the owner halts in its idle thread.
 * Does the IPI wake the CPU and the thread, on its own CPU, once? The boot
 * thread tests and blocks inside a critical section: an IPI that comes
 * meanwhile waits for its switch, and no wake-up is lost.
 */
function ipiq_test_remote_schedule(): string | null {
  const me = cpu_id();
  const boot = curthread();
  lwkt_setpri(boot, TDPRI_KERN_USER);
  remote_wakes = 0;
  remote_woke_on = 0xffffffff;
  remote_waiter = changetype<usize>(boot);
  const sleeper = lwkt_create(remote_sleeper, 0, TDPRI_KERN_DAEMON);
  atomic.store<u32>(remote_threads + <usize>me * 4, <u32>changetype<usize>(sleeper));
  const slept = remote_wakes == 0;
  selftest_barrier();
  lwkt_schedule(changetype<thread>(<usize>atomic.load<u32>(remote_threads + <usize>selftest_partner() * 4)));
  crit_enter();
  while (remote_wakes == 0) {
    lwkt_deschedule(boot);
    lwkt_switch();
  }
  crit_exit();
  selftest_barrier();
  if (!slept) return "the sleeper did not block";
  if (remote_wakes != 1) return "the sleeper woke more than once";
  if (remote_woke_on != me) return "the sleeper woke on another cpu";
  return null;
}

// ---- lwkt_deschedule of another CPU's thread -------------------------------------------

/** Each CPU's queued thread, for its descheduler (atomics). */
const desched_threads: usize = memory.data(<i32>MAXCPU * 4, 4);
let desched_runs: u32 = 0;

function desched_note(arg: u32): void {
  desched_runs++;
}

/*
 * A runnable thread waits below its boot thread's priority; the CPU below
 * calls lwkt_deschedule on it and waits (lwkt_wait_ipiq) until the owner
 * has done it. Is it off the run queue, so that it does not run when the
 * boot thread steps down, and does lwkt_schedule bring it back?
 */
function ipiq_test_remote_deschedule(): string | null {
  const me = cpu_id();
  const boot = curthread();
  lwkt_setpri(boot, TDPRI_KERN_USER);
  desched_runs = 0;
  const queued = lwkt_create(desched_note, 0, TDPRI_USER_NORM);
  atomic.store<u32>(desched_threads + <usize>me * 4, <u32>changetype<usize>(queued));
  selftest_barrier();
  const owner = globaldata_find(selftest_partner());
  lwkt_deschedule(changetype<thread>(<usize>atomic.load<u32>(desched_threads + <usize>selftest_partner() * 4)));
  lwkt_wait_ipiq(owner, lwkt_seq_ipiq(owner));
  selftest_barrier();
  const off = (queued.td_flags & TDF_RUNQ) == 0;
  lwkt_setpri(boot, TDPRI_USER_NORM - 1);
  lwkt_yield();
  if (!off) return "a remotely descheduled thread is still on its run queue";
  if (desched_runs != 0) return "a remotely descheduled thread ran";
  lwkt_schedule(queued);
  if (desched_runs != 1) return "lwkt_schedule did not bring it back";
  return null;
}

/** This file's tests, in the order they run (kern/selftest.ts). */
export const IPIQ_TESTS: StaticArray<string> = ["ipiq.storm", "ipiq.critical", "ipiq.passive", "ipiq.nowait", "ipiq.mask", "lwkt.schedule_remote", "lwkt.deschedule_remote"];

/* ipiq_selftest: runs IPIQ_TESTS[i]. */
export function ipiq_selftest(i: i32): string | null {
  switch (i) {
    case 0: return ipiq_test_storm();
    case 1: return ipiq_test_critical();
    case 2: return ipiq_test_passive();
    case 3: return ipiq_test_nowait();
    case 4: return ipiq_test_mask();
    case 5: return ipiq_test_remote_schedule();
    default: return ipiq_test_remote_deschedule();
  }
}

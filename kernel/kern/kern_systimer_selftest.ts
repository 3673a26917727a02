// Self-tests of SYSTIMERS (kern_systimer.ts) and the scheduler clock they
// drive. Every CPU runs each test at once on its own timers. Time is only
// ever compared, never printed: the emulator's virtual time and QEMU's host
// time differ, so a result is ok or FAIL with a reason, and windows on
// rates are generous. Waits halt (sti; hlt) until an interrupt, so they
// cost the emulator no instructions.

import { cli, cpu_id, pause, rdtsc, sti, sti_hlt } from "../hw";
import { bootalloc } from "./kern_bootalloc";
import { tsleep } from "./kern_synch";
import {
  CP_IDLE, CP_SYS, HZ, STATHZ, cpu_time, systimer, systimer_del, systimer_init_oneshot, systimer_init_oneshot_cpu, systimer_tsc_hz,
} from "./kern_systimer";
import {
  MAXCPU, RQF_TIMER, TDPRI_KERN_DAEMON, TDPRI_KERN_USER, TDPRI_SOFT_NORM, crit_enter, crit_exit, curthread, globaldata,
  lwkt_create, lwkt_setpri, lwkt_yield, mycpu,
} from "./lwkt_thread";
import { selftest_partner, traceDec, traced } from "./selftest";

/* This CPU's hardclock count. */
function ticks(): u32 {
  return atomic.load<u32>(changetype<usize>(mycpu()) + offsetof<globaldata>("gd_ticks"));
}

/*
 * Halts until this CPU's hardclock has ticked n times. Interrupts are off
 * between the test and the halt, so a tick cannot slip in unseen.
 */
function wait_ticks(n: u32): void {
  const start = ticks();
  cli();
  while (ticks() - start < n) {
    sti_hlt();
    cli();
  }
  sti();
}

// Per CPU: the test's systimers (allocated once) and what their callbacks saw.
let timers: usize = 0;
const TIMERS: i32 = 4;
let fired: u32 = 0;
let early: u32 = 0;
let fired_by_id: u64 = 0; // 4 bits per id: times each one fired

/* The i-th of this CPU's test systimers: one allocation, so no other CPU's lands among them. */
function timer(i: i32): systimer {
  if (timers == 0) timers = bootalloc(<usize>TIMERS * offsetof<systimer>(), 8);
  return changetype<systimer>(timers + <usize>i * offsetof<systimer>());
}

function reset(): void {
  fired = 0;
  early = 0;
  fired_by_id = 0;
}

/* Records which systimer fired (its arg) and whether the TSC had reached its deadline. */
function note_fired(info: u32, frame: u32): void {
  const t = changetype<systimer>(<usize>info);
  if (<i64>(rdtsc() - t.sys_time) < 0) early++;
  fired++;
  fired_by_id += <u64>1 << (<u64>t.sys_arg * 4);
  traceDec(t.sys_arg);
}

function halt_until_fired(n: u32): void {
  cli();
  while (fired < n) {
    sti_hlt();
    cli();
  }
  sti();
}

/*
 * Does each CPU's hardclock tick at HZ? Ten ticks, timed with the TSC from
 * the moment one has just come, must take between half and twice their
 * nominal time.
 */
function systimer_test_hardclock(): string | null {
  wait_ticks(1);
  const t0 = rdtsc();
  wait_ticks(10);
  const elapsed = rdtsc() - t0;
  const nominal = systimer_tsc_hz() * 10 / <u64>HZ;
  if (elapsed < nominal / 2) return "hardclock ticks too fast";
  if (elapsed > nominal * 2) return "hardclock ticks too slow";
  return null;
}

/*
 * Four one-shots queued out of order (3, 1, 3.01, 2 ms): do they fire in
 * deadline order, each once, and never before the TSC reaches the
 * deadline, the last one 10 us after the one before it? Waiting a few ticks
 * past the last shows whether one fires again.
 */
function systimer_test_oneshot(): string | null {
  reset();
  systimer_init_oneshot(timer(0), note_fired, 3, 3000);
  systimer_init_oneshot(timer(1), note_fired, 1, 1000);
  systimer_init_oneshot(timer(2), note_fired, 4, 3010);
  systimer_init_oneshot(timer(3), note_fired, 2, 2000);
  halt_until_fired(4);
  wait_ticks(3);
  if (early != 0) return "a one-shot fired before its deadline";
  if (!traced("1 2 3 4")) return "one-shots did not fire in deadline order";
  if (fired_by_id != 0x11110) return "a one-shot fired more than once";
  return null;
}

/*
 * systimer_del before the deadline: does the callback stay away while a
 * later one-shot, queued behind it, still fires?
 */
function systimer_test_del(): string | null {
  reset();
  systimer_init_oneshot(timer(0), note_fired, 1, 1000);
  systimer_init_oneshot(timer(1), note_fired, 2, 2000);
  systimer_del(timer(0));
  halt_until_fired(1);
  wait_ticks(2);
  if (!traced("2")) return "a deleted one-shot fired, or the one behind it did not";
  return null;
}

/*
 * A timer due during a critical section: does its callback wait, even
 * after the LAPIC has interrupted (RQF_TIMER), for the crit_exit, and run
 * there once?
 */
function systimer_test_critical(): string | null {
  reset();
  const reqflags = changetype<usize>(mycpu()) + offsetof<globaldata>("gd_reqflags");
  crit_enter();
  systimer_init_oneshot(timer(0), note_fired, 1, 1000);
  const deadline = timer(0).sys_time;
  while (<i64>(rdtsc() - deadline) < 0 || (atomic.load<u32>(reqflags) & RQF_TIMER) == 0) {}
  const inside = fired;
  crit_exit();
  if (inside != 0) return "a systimer ran inside a critical section";
  if (fired != 1) return "the deferred systimer did not run at crit_exit, once";
  return null;
}

// Per CPU, through memory (the busy loops must see each other's stores): a stop flag and two counters.
const rr_words: usize = memory.data(<i32>MAXCPU * 12, 4);
/** How long the boot thread waits for both to have run. */
const RR_TICKS: u32 = 50;

function rr_word(i: u32): usize {
  return rr_words + <usize>cpu_id() * 12 + <usize>i * 4;
}

/* Spins, never yielding, counting, until told to stop. */
function rr_busy(id: u32): void {
  while (atomic.load<u32>(rr_word(0)) == 0) atomic.store<u32>(rr_word(id), atomic.load<u32>(rr_word(id)) + 1);
}

/*
 * Two busy threads of one priority that never yield: do both run? The boot
 * thread, above them, sleeps a tick at a time while they spin, up to
 * RR_TICKS ticks, until both have counted; without the scheduler clock the
 * first would have the CPU to itself. (Not a fixed time: a host that stops
 * QEMU's vCPU for a while would deliver several ticks' callbacks at once.)
 */
function systimer_test_roundrobin(): string | null {
  const me = curthread();
  for (let i: u32 = 0; i < 3; i++) atomic.store<u32>(rr_word(i), 0);
  lwkt_setpri(me, TDPRI_SOFT_NORM);
  lwkt_create(rr_busy, 1, TDPRI_KERN_DAEMON);
  lwkt_create(rr_busy, 2, TDPRI_KERN_DAEMON);
  for (let t: u32 = 0; t < RR_TICKS && (atomic.load<u32>(rr_word(1)) == 0 || atomic.load<u32>(rr_word(2)) == 0); t++) {
    tsleep(<u32>rr_word(0), 1);
  }
  atomic.store<u32>(rr_word(0), 1);
  const first = atomic.load<u32>(rr_word(1));
  const second = atomic.load<u32>(rr_word(2));
  lwkt_setpri(me, TDPRI_KERN_USER);
  lwkt_yield();
  if (first == 0 || second == 0) return "an equal-priority busy thread never ran";
  return null;
}

// ---- other CPUs' systimers, and statclock --------------------------------------------

/** Shared, by the CPU that queued it: where its remote one-shot ran (CPU + 1), how often, and whether early. */
const remote_ran: usize = memory.data(<i32>MAXCPU * 12, 4);

function remote_slot(cpu: u32): usize {
  return remote_ran + <usize>cpu * 12;
}

/* A remote one-shot's callback: arg is the CPU that queued it. Context: the owner's timer interrupt. */
function note_remote(info: u32, frame: u32): void {
  const t = changetype<systimer>(<usize>info);
  const slot = remote_slot(t.sys_arg);
  atomic.store<u32>(slot, cpu_id() + 1);
  atomic.add<u32>(slot + 4, 1);
  if (<i64>(rdtsc() - t.sys_time) < 0) atomic.store<u32>(slot + 8, 1);
}

/*
 * A one-shot queued on the partner CPU (systimer_init_oneshot_cpu): does it
 * fire there, once, never early? Every CPU queues one on its partner at
 * once, so each CPU's queue takes another's timer beside its own.
 */
function systimer_test_remote(): string | null {
  const me = cpu_id();
  const slot = remote_slot(me);
  for (let k: usize = 0; k < 12; k += 4) atomic.store<u32>(slot + k, 0);
  const target = selftest_partner();
  systimer_init_oneshot_cpu(timer(2), target, note_remote, me, 2000);
  for (let k = 0; k < 100 && atomic.load<u32>(slot + 4) == 0; k++) wait_ticks(1);
  wait_ticks(3);
  if (atomic.load<u32>(slot + 4) == 0) return "the remote one-shot never fired";
  if (atomic.load<u32>(slot) != target + 1) return "the remote one-shot fired on another cpu than the one it was queued on";
  if (atomic.load<u32>(slot + 4) != 1) return "the remote one-shot fired more than once";
  if (atomic.load<u32>(slot + 8) != 0) return "the remote one-shot fired before its deadline";
  return null;
}

/* systimer_del of a one-shot queued on the partner CPU: once it returns, does the callback stay away? */
function systimer_test_del_remote(): string | null {
  const me = cpu_id();
  const slot = remote_slot(me);
  for (let k: usize = 0; k < 12; k += 4) atomic.store<u32>(slot + k, 0);
  systimer_init_oneshot_cpu(timer(3), selftest_partner(), note_remote, me, 30000);
  systimer_del(timer(3));
  wait_ticks(6);
  if (atomic.load<u32>(slot + 4) != 0) return "a deleted remote one-shot fired";
  return null;
}

/*
 * statclock: ten ticks of busy work, then ten asleep. Are the samples
 * (STATHZ a second) charged to the busy thread (td_sticks) and to this
 * CPU's system time, then to its idle time, within half and twice their
 * nominal count?
 */
function systimer_test_statclock(): string | null {
  const me = cpu_id();
  const td = curthread();
  const nominal = <u64>STATHZ * 10 / <u64>HZ;
  wait_ticks(1);
  const sticks0 = td.td_sticks;
  const sys0 = cpu_time(me, CP_SYS);
  const t0 = ticks();
  while (ticks() - t0 < 10) pause();
  const sticks = td.td_sticks - sticks0;
  const sys = cpu_time(me, CP_SYS) - sys0;
  const idle0 = cpu_time(me, CP_IDLE);
  tsleep(<u32>remote_ran, 10); // the idle thread runs meanwhile

  const idle = cpu_time(me, CP_IDLE) - idle0;
  if (sticks < nominal / 2 || sticks > nominal * 2) return "the busy thread was charged too few or too many statclock ticks";
  if (sys < nominal / 2 || sys > nominal * 2) return "the cpu's system time did not count the busy ticks";
  if (idle < nominal / 2 || idle > nominal * 2) return "the cpu's idle time did not count the halted ticks";
  return null;
}

/** This file's tests, in the order they run (kern/selftest.ts). */
export const SYSTIMER_TESTS: StaticArray<string> = [
  "systimer.hardclock", "systimer.oneshot", "systimer.del", "systimer.critical", "lwkt.schedulerclock", "systimer.remote",
  "systimer.del_remote", "systimer.statclock",
];

/* systimer_selftest: runs SYSTIMER_TESTS[i]. */
export function systimer_selftest(i: i32): string | null {
  switch (i) {
    case 0: return systimer_test_hardclock();
    case 1: return systimer_test_oneshot();
    case 2: return systimer_test_del();
    case 3: return systimer_test_critical();
    case 4: return systimer_test_roundrobin();
    case 5: return systimer_test_remote();
    case 6: return systimer_test_del_remote();
    default: return systimer_test_statclock();
  }
}

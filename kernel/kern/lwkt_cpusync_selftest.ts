// Self-tests of cpusync (reference §3.5, invariant 2). Every CPU runs each
// test at once and they meet at selftest_barrier; every path through a test
// passes the same barriers.

import { cpu_id, pause } from "../hw";
import { bootalloc } from "./kern_bootalloc";
import { smp_active_mask } from "./lwkt_ipiq";
import {
  lwkt_cpusync, lwkt_cpusync_deinterlock, lwkt_cpusync_init, lwkt_cpusync_interlock, lwkt_cpusync_simple,
} from "./lwkt_cpusync";
import { MAXCPU, crit_enter, crit_exit } from "./lwkt_thread";
import { selftest_barrier, selftest_cpus } from "./selftest";

// ---- invariant 2: quiescence -----------------------------------------------------------

// Shared (atomics): one round's state, reset by its master.
const quiesce_counters: usize = memory.data(<i32>MAXCPU * 4, 4); // bumped by each target's boot thread
const quiesce_runs: usize = memory.data(<i32>MAXCPU * 4, 4); // cs_func runs, per CPU
const quiesce_early: usize = memory.data(4); // cs_func runs before the master's deinterlock
const quiesce_released: usize = memory.data(4); // the master is about to deinterlock
const quiesce_done: usize = memory.data(4); // the round is over: targets stop counting
/** Per CPU: the master's cpusync. */
let quiesce_cs: usize = 0;

function quiesce_note(data: u32): void {
  if (atomic.load<u32>(quiesce_released) == 0) atomic.add<u32>(quiesce_early, 1);
  atomic.add<u32>(quiesce_runs + <usize>cpu_id() * 4, 1);
}

/* The master's round: why it failed, or null. */
function quiesce_master(mask: u64): string | null {
  const me = cpu_id();
  const others = mask & ~(<u64>1 << me);
  for (let m = others; m != 0; m &= m - 1) {
    while (atomic.load<u32>(quiesce_counters + <usize>ctz<u64>(m) * 4) == 0) pause();
  }
  if (quiesce_cs == 0) quiesce_cs = bootalloc(offsetof<lwkt_cpusync>(), 8);
  const cs = changetype<lwkt_cpusync>(quiesce_cs);
  lwkt_cpusync_init(cs, mask, quiesce_note, 0);
  lwkt_cpusync_interlock(cs);
  let sum: u32 = 0;
  for (let m = others; m != 0; m &= m - 1) sum += atomic.load<u32>(quiesce_counters + <usize>ctz<u64>(m) * 4);
  // Time enough for a target that was not parked to count on.
  for (let i = 0; i < 20000; i++) pause();
  let later: u32 = 0;
  for (let m = others; m != 0; m &= m - 1) later += atomic.load<u32>(quiesce_counters + <usize>ctz<u64>(m) * 4);
  let ran: u32 = 0;
  for (let m = mask; m != 0; m &= m - 1) ran += atomic.load<u32>(quiesce_runs + <usize>ctz<u64>(m) * 4);
  atomic.store<u32>(quiesce_released, 1);
  lwkt_cpusync_deinterlock(cs);
  let once = true;
  for (let m = mask; m != 0; m &= m - 1) once = once && atomic.load<u32>(quiesce_runs + <usize>ctz<u64>(m) * 4) == 1;
  if (later != sum) return "a parked cpu's thread went on counting";
  if (ran != 0 || atomic.load<u32>(quiesce_early) != 0) return "cs_func ran before the deinterlock";
  if (!once) return "cs_func did not run exactly once on every cpu of the mask";
  return null;
}

/*
 * Invariant 2: each CPU in turn masters a cpusync of every CPU while the
 * others' boot threads count (in bursts, in critical sections). Between interlock and deinterlock, do the
 * counters stand still and has cs_func run nowhere? After deinterlock, has
 * it run exactly once on each CPU, the master included?
 */
function cpusync_test_quiesce(): string | null {
  const me = cpu_id();
  const mask = smp_active_mask();
  let why: string | null = null;
  for (let m = mask; m != 0; m &= m - 1) {
    const master = <u32>ctz<u64>(m);
    if (master == me) {
      memory.fill(quiesce_counters, 0, <usize>MAXCPU * 4);
      memory.fill(quiesce_runs, 0, <usize>MAXCPU * 4);
      atomic.store<u32>(quiesce_early, 0);
      atomic.store<u32>(quiesce_released, 0);
      atomic.store<u32>(quiesce_done, 0);
    }
    selftest_barrier();
    if (master == me) {
      why = quiesce_master(mask);
      atomic.store<u32>(quiesce_done, 1);
    } else {
      // In bursts inside critical sections: the interlock's IPI waits for the burst's end, so a
      // master that did not wait for every cpu to park would see the count go on.
      while (atomic.load<u32>(quiesce_done) == 0) {
        crit_enter();
        for (let i = 0; i < 64; i++) atomic.add<u32>(quiesce_counters + <usize>me * 4, 1);
        crit_exit();
      }
    }
    selftest_barrier();
  }
  return why;
}

// ---- masters at once -------------------------------------------------------------------

/** Per CPU: cs_func runs here, and from which masters (bit n: CPU n's). */
let concurrent_runs: u32 = 0;
let concurrent_masters: u64 = 0;

function concurrent_note(master: u32): void {
  concurrent_runs++;
  concurrent_masters |= <u64>1 << master;
}

/*
 * What if every CPU masters a cpusync of every CPU at the same time
 * (lwkt_cpusync_simple)? Masters park each other; none may wait on another
 * for ever, and each CPU runs each master's cs_func once.
 */
function cpusync_test_concurrent(): string | null {
  const mask = smp_active_mask();
  concurrent_runs = 0;
  concurrent_masters = 0;
  selftest_barrier();
  lwkt_cpusync_simple(mask, concurrent_note, cpu_id());
  selftest_barrier();
  if (concurrent_runs != selftest_cpus() || concurrent_masters != mask) return "a master's cs_func did not run here exactly once";
  return null;
}

/** This file's tests, in the order they run (kern/selftest.ts). */
export const CPUSYNC_TESTS: StaticArray<string> = ["cpusync.quiesce", "cpusync.concurrent"];

/* cpusync_selftest: runs CPUSYNC_TESTS[i]. */
export function cpusync_selftest(i: i32): string | null {
  switch (i) {
    case 0: return cpusync_test_quiesce();
    default: return cpusync_test_concurrent();
  }
}

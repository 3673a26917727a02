// CPU synchronization (cpusync): running a function on a set of CPUs while
// they are all parked (reference dragonfly.md §3.4). The basis of TLB
// shootdown: park every CPU that may use a mapping, change it, let them go.
//
// The model. A master fills an lwkt_cpusync {cs_mask, cs_mack, cs_func,
// cs_data} and calls lwkt_cpusync_interlock: it sends cpusync_remote1 to the
// other CPUs of cs_mask and spins, processing its own IPIs, until each has
// set its bit in cs_mack. A target's remote1 sets its bit and queues the
// cpusync on the target's own pending list (DragonFly's gd_cpusyncq), and
// lwkt_process_ipiq then does not return while anything is pending there:
// the target runs no thread and takes no other interrupt work, but still
// services IPIs (it may be the target of another master meanwhile). Then the
// master calls lwkt_cpusync_deinterlock: it clears cs_mack, runs cs_func
// itself if it is in cs_mask, and each parked target, seeing its bit clear,
// runs cs_func(cs_data) once, sets its bit again and goes. The master
// returns when every bit is back: after that nothing refers to cs.
//
// Rules: the master is in a critical section from interlock to the end of
// deinterlock and MUST NOT SWITCH (td_cscount; lwkt_switch panics). A
// master whose own IPI processing finds a pending cpusync of another master
// polls it once and goes back to its own loop, so two masters parking each
// other do not wait on each other; the pending one completes when the
// master's deinterlock drains its IPIs.

import { cpu_id, pause } from "../hw";
import { MAXCPU, crit_enter, crit_exit, curthread } from "./lwkt_thread";
import { bootalloc } from "./kern_bootalloc";
import { panic } from "./kern_shutdown";
import { lwkt_process_ipiq, lwkt_send_ipiq3_mask, smp_active_mask } from "./lwkt_ipiq";

/*
 * A synchronization. The master writes cs_mask, cs_func and cs_data before
 * interlock; cs_mack is atomics, any CPU of the mask writes its own bit.
 */
@unmanaged
export class lwkt_cpusync {
  cs_mask: u64; // the CPUs that run cs_func (the master may be one)
  cs_mack: u64; // interlock: CPUs parked; deinterlock: CPUs done
  cs_func: u32; // a function index: (data: u32) => void
  cs_data: u32;
}

/** Per CPU index, three u64 counters each CPU alone increments and any reads: see lwkt_cpusync_counter. */
// 64: MAXCPU, spelt out because the import cycle with lwkt_thread.ts leaves it undeclared when this runs.
const cpusync_counters: usize = memory.data(64 * 24, 8);
export const CPUSYNC_MASTERED: u32 = 0; // interlocks this CPU mastered
export const CPUSYNC_PARKED: u32 = 1; // interlocks that parked this CPU as a target
export const CPUSYNC_FUNCS: u32 = 2; // cs_func calls on this CPU

function cpusync_count(which: u32): void {
  const p = cpusync_counters + (<usize>cpu_id() * 3 + <usize>which) * 8;
  atomic.store<u64>(p, atomic.load<u64>(p) + 1);
}

/*
 * lwkt_cpusync_counter: one of a CPU's counters (CPUSYNC_*).
 * Context: any; read racily.
 */
export function lwkt_cpusync_counter(cpu: u32, which: u32): u64 {
  return atomic.load<u64>(cpusync_counters + (<usize>cpu * 3 + <usize>which) * 8);
}

// Per CPU: the cpusyncs this CPU is parked in, waiting for their deinterlock (at most one per master CPU).
let cpusync_pending: usize = 0;
let cpusync_npending: u32 = 0;

function cs_mack_p(cs: lwkt_cpusync): usize {
  return changetype<usize>(cs) + offsetof<lwkt_cpusync>("cs_mack");
}

/*
 * lwkt_cpusync_init: cs will run func(data) on the CPUs of mask.
 * Context: any.
 */
export function lwkt_cpusync_init(cs: lwkt_cpusync, mask: u64, func: (data: u32) => void, data: u32): void {
  cs.cs_mask = mask;
  atomic.store<u64>(cs_mack_p(cs), 0);
  cs.cs_func = func.index;
  cs.cs_data = data;
}

/*
 * lwkt_cpusync_interlock: parks every other CPU of cs_mask that takes IPIs,
 * in its IPI processing; returns when all are parked. Leaves the caller in
 * a critical section, until lwkt_cpusync_deinterlock.
 * Context: thread; not already a master; interrupts on or off; spins.
 */
export function lwkt_cpusync_interlock(cs: lwkt_cpusync): void {
  const td = curthread();
  if (td.td_cscount != 0) panic("lwkt_cpusync_interlock: already mastering a cpusync");
  const targets = cs.cs_mask & smp_active_mask() & ~(<u64>1 << cpu_id());
  atomic.store<u64>(cs_mack_p(cs), 0);
  crit_enter();
  td.td_cscount++;
  cpusync_count(CPUSYNC_MASTERED);
  if (targets != 0) lwkt_send_ipiq3_mask(targets, cpusync_remote1, <u32>changetype<usize>(cs), 0);
  while (atomic.load<u64>(cs_mack_p(cs)) != targets) {
    lwkt_process_ipiq();
    pause();
  }
}

/*
 * lwkt_cpusync_deinterlock: runs cs_func(cs_data) on every CPU of cs_mask
 * (here first, if this CPU is one; then on each parked CPU, once), lets the
 * parked CPUs go, and returns when all have run it; cs is free again.
 * Context: the thread that called lwkt_cpusync_interlock(cs); may switch at
 * the end, when it leaves the critical section.
 */
export function lwkt_cpusync_deinterlock(cs: lwkt_cpusync): void {
  const td = curthread();
  if (td.td_cscount != 1) panic("lwkt_cpusync_deinterlock: not mastering a cpusync");
  const targets = atomic.load<u64>(cs_mack_p(cs));
  atomic.store<u64>(cs_mack_p(cs), 0);
  if ((cs.cs_mask & (<u64>1 << cpu_id())) != 0) {
    cpusync_count(CPUSYNC_FUNCS);
    call_indirect<void>(cs.cs_func, cs.cs_data);
  }
  while (atomic.load<u64>(cs_mack_p(cs)) != targets) {
    lwkt_process_ipiq();
    pause();
  }
  td.td_cscount--;
  // Another master's cpusync may still be pending here: no longer a master, this parks until it is done.
  lwkt_process_ipiq();
  crit_exit();
}

/*
 * lwkt_cpusync_simple: runs func(data) on every CPU of mask, all parked
 * together (interlock, then deinterlock).
 * Context: as lwkt_cpusync_interlock.
 */
export function lwkt_cpusync_simple(mask: u64, func: (data: u32) => void, data: u32): void {
  const cs = new_cpusync();
  lwkt_cpusync_init(cs, mask, func, data);
  lwkt_cpusync_interlock(cs);
  lwkt_cpusync_deinterlock(cs);
}

/** Per CPU: lwkt_cpusync_simple's cpusync (a master has one at a time). */
let simple_cs: usize = 0;

function new_cpusync(): lwkt_cpusync {
  if (simple_cs == 0) simple_cs = bootalloc(offsetof<lwkt_cpusync>(), 8);
  return changetype<lwkt_cpusync>(simple_cs);
}

/* The interlock's IPI on a target: parked from here, in its IPI processing, until cs_mack is cleared. */
function cpusync_remote1(arg1: u32, arg2: u32, frame: u32): void {
  if (cpusync_pending == 0) cpusync_pending = bootalloc(<usize>MAXCPU * 4, 4);
  if (cpusync_npending == MAXCPU) panic("cpusync_remote1: more pending cpusyncs than cpus");
  store<u32>(cpusync_pending + <usize>cpusync_npending * 4, arg1);
  cpusync_npending++;
  cpusync_count(CPUSYNC_PARKED);
  atomic.or<u64>(cs_mack_p(changetype<lwkt_cpusync>(<usize>arg1)), <u64>1 << cpu_id());
}

/*
 * lwkt_cpusync_poll: runs cs_func for each pending cpusync whose master has
 * begun its deinterlock (our bit is clear), then sets the bit; returns
 * whether any are still pending. The entry leaves the list before the bit
 * is set: from then on the master may reuse cs.
 * Context: lwkt_process_ipiq, in a critical section.
 */
export function lwkt_cpusync_poll(): bool {
  const bit = <u64>1 << cpu_id();
  let i: u32 = 0;
  while (i < cpusync_npending) {
    const p = cpusync_pending + <usize>i * 4;
    const cs = changetype<lwkt_cpusync>(<usize>load<u32>(p));
    if ((atomic.load<u64>(cs_mack_p(cs)) & bit) != 0) {
      i++;
      continue;
    }
    cpusync_npending--;
    store<u32>(p, load<u32>(cpusync_pending + <usize>cpusync_npending * 4));
    cpusync_count(CPUSYNC_FUNCS);
    call_indirect<void>(cs.cs_func, cs.cs_data);
    atomic.or<u64>(cs_mack_p(cs), bit);
  }
  return cpusync_npending != 0;
}

/*
 * lwkt_cpusync_parked: whether this CPU is parked in a cpusync (it has
 * acknowledged an interlock whose deinterlock has not reached it): it may
 * run no thread meanwhile, not even a preempting one.
 * Context: this CPU, critical section.
 */
export function lwkt_cpusync_parked(): bool {
  return cpusync_npending != 0;
}

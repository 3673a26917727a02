// SYSTIMERS: per-CPU timed callbacks on the local APIC timer, and the
// per-CPU hardclock built on them (DragonFly's kern_systimer.c and
// kern_clock.c).
//
// The model. Time is the TSC (our sys_cputimer): a systimer's deadline is a
// TSC value, and "due" means the TSC has reached it, so a callback NEVER
// RUNS EARLY, whatever the LAPIC timer does. Each CPU keeps its own queue of
// systimers sorted by deadline (equal deadlines in the order they were
// queued), touched only by that CPU inside a critical section, like its run
// queues; and its LAPIC timer, in one-shot mode, is armed for the head. A
// LAPIC count that rounds short, or a deadline beyond the counter's reach,
// only makes the interrupt come early: it finds nothing due and re-arms.
//
// Callbacks run from the timer interrupt as hard code, like IPI handlers:
// in a critical section with gd_intr_nesting_level raised, so they may
// schedule threads but NEVER SWITCH OR BLOCK. A timer interrupt that finds
// the running thread in a critical section sets RQF_TIMER and the outermost
// crit_exit runs the due callbacks (lwkt_thread.ts). A periodic systimer is
// re-queued before its callback runs, one period after its last deadline;
// periods it missed entirely are dropped, not replayed in a burst.
//
// Calibration. The BSP counts the TSC and its LAPIC timer over a PIT
// interval once at boot and every CPU uses those rates (the same parts,
// the same bus clock on every CPU of a PC).
//
// Other CPUs' systimers. A CPU never touches another's queue: queueing a
// one-shot on another CPU (systimer_init_oneshot_cpu) or deleting one
// queued there sends an IPI and the owner does it. The deadline is fixed by
// the caller, when it asks (every CPU's TSC counts the same time). Sends
// from one CPU to another run in order, so a delete that follows an add is
// never overtaken by it; systimer_del waits until the owner has run it.
//
// statclock: each CPU samples, STATHZ times a second, what it is running:
// the idle thread, an interrupt thread or other kernel code (cp_time, per
// CPU), and charges the tick to the running thread (td_sticks).

import { rdtsc } from "../hw";
import { PIT_HZ, lapic, pitWait } from "../smp";
import { VECTOR_LAPIC_TIMER } from "../arch/x86_64/frame";
import { bootalloc } from "./kern_bootalloc";
import { panic } from "./kern_shutdown";
import { TDF_INTTHREAD, crit_enter, crit_exit, globaldata, globaldata_find, lwkt_schedulerclock, mycpu } from "./lwkt_thread";
import { lwkt_send_ipiq, lwkt_wait_ipiq } from "./lwkt_ipiq";

/** hardclock's rate: ticks per second on every CPU. */
export const HZ: u32 = 100;
/** statclock's rate: samples per second on every CPU, not a multiple of HZ, so the two do not beat together. */
export const STATHZ: u32 = 128;

// The LAPIC timer's registers (SDM Vol.3A §11.5.4).
const LAPIC_LVT_TIMER: usize = 0x320; // vector, bit 16 mask, bits 18:17 mode (0: one-shot)
const LAPIC_TIMER_INITIAL: usize = 0x380; // writing starts a count; 0 stops the timer
const LAPIC_TIMER_CURRENT: usize = 0x390;
const LAPIC_TIMER_DIVIDE: usize = 0x3e0; // 0xb: divide by 1
const LVT_MASKED: u32 = 1 << 16;
const DIVIDE_BY_1: u32 = 0xb;

/** The calibration interval: 10 ms of PIT channel 2. */
const CALIBRATE_PIT_TICKS: u32 = 11932;

// Shared, written once by the BSP before the APs start (atomics).
const tsc_hz_p: usize = memory.data(8, 8);
const lapic_hz_p: usize = memory.data(8, 8);

/** A systimer's callback: `info` is the systimer; `frame` the interrupt's trap frame, 0 when run at crit_exit. */
export type systimer_func_t = (info: u32, frame: u32) => void;

/** sys_flags. */
const SYSTF_ONQ: u32 = 0x1; // on its CPU's queue

/*
 * A systimer: the caller's memory, zeroed before first use. Fields belong
 * to the CPU it was queued on (sys_gd), inside a critical section.
 */
@unmanaged
export class systimer {
  sys_next: systimer | null;
  sys_gd: globaldata | null;
  sys_time: u64; // deadline, TSC
  sys_periodic: u64; // period in TSC ticks; 0: one-shot
  sys_func: u32; // a systimer_func_t's index
  sys_arg: u32; // for the callback
  sys_flags: u32;
}

/*
 * systimer_alloc: a zeroed systimer from boot memory, never freed.
 * Context: any.
 */
export function systimer_alloc(): systimer {
  return changetype<systimer>(bootalloc(offsetof<systimer>(), 8));
}

/*
 * systimer_calibrate: measures the TSC and LAPIC timer rates against the
 * PIT, for every CPU. The LAPIC timer counts down from its maximum, masked,
 * while PIT channel 2 runs CALIBRATE_PIT_TICKS.
 * Context: the BSP, once, before the APs start (the PIT is not shared).
 */
export function systimer_calibrate(): void {
  const base = lapic();
  store<u32>(base + LAPIC_TIMER_DIVIDE, DIVIDE_BY_1);
  store<u32>(base + LAPIC_LVT_TIMER, LVT_MASKED | VECTOR_LAPIC_TIMER);
  store<u32>(base + LAPIC_TIMER_INITIAL, 0xffffffff);
  const tsc0 = rdtsc();
  pitWait(CALIBRATE_PIT_TICKS);
  const tsc1 = rdtsc();
  const counted = <u64>(0xffffffff - load<u32>(base + LAPIC_TIMER_CURRENT));
  store<u32>(base + LAPIC_TIMER_INITIAL, 0);
  atomic.store<u64>(tsc_hz_p, (tsc1 - tsc0) * PIT_HZ / CALIBRATE_PIT_TICKS);
  atomic.store<u64>(lapic_hz_p, counted * PIT_HZ / CALIBRATE_PIT_TICKS);
  if (atomic.load<u64>(tsc_hz_p) == 0 || counted == 0) panic("systimer_calibrate: the TSC or the LAPIC timer does not count");
}

/*
 * systimer_tsc_hz: TSC ticks per second, as calibrated.
 * Context: any, after systimer_calibrate.
 */
export function systimer_tsc_hz(): u64 {
  return atomic.load<u64>(tsc_hz_p);
}

/* Microseconds as TSC ticks (us below 2^44: 200 days at 1 GHz). */
function _us_to_tsc(us: u64): u64 {
  return us * (systimer_tsc_hz() / 1000) / 1000;
}

/*
 * Arms this CPU's LAPIC timer for the queue's head, or stops it. The count
 * rounds up; a far deadline is cut to a second, to stay within the product's
 * 64 bits and the count's 32.
 */
function _systimer_reload(gd: globaldata): void {
  const base = lapic();
  const head = gd.gd_systimerq;
  if (!head) {
    store<u32>(base + LAPIC_TIMER_INITIAL, 0);
    return;
  }
  const tsc_hz = systimer_tsc_hz();
  let delta = <i64>(head.sys_time - rdtsc());
  if (delta < 1) delta = 1;
  if (<u64>delta > tsc_hz) delta = <i64>tsc_hz;
  let count = (<u64>delta * atomic.load<u64>(lapic_hz_p) + tsc_hz - 1) / tsc_hz;
  if (count > 0xffffffff) count = 0xffffffff;
  store<u32>(base + LAPIC_TIMER_INITIAL, <u32>(count > 0 ? count : 1));
}

/* Queues info behind every systimer due no later; whether it became the head. */
function _systimer_insert(gd: globaldata, info: systimer): bool {
  let prev: systimer | null = null;
  let next = gd.gd_systimerq;
  while (next && <i64>(next.sys_time - info.sys_time) <= 0) {
    prev = next;
    next = next.sys_next;
  }
  info.sys_next = next;
  if (prev) prev.sys_next = info;
  else gd.gd_systimerq = info;
  info.sys_flags |= SYSTF_ONQ;
  return !prev;
}

/* Takes info off the queue; whether it was the head. */
function _systimer_remove(gd: globaldata, info: systimer): bool {
  info.sys_flags &= ~SYSTF_ONQ;
  if (gd.gd_systimerq === info) {
    gd.gd_systimerq = info.sys_next;
    info.sys_next = null;
    return true;
  }
  let prev = gd.gd_systimerq;
  while (prev && prev.sys_next !== info) prev = prev.sys_next;
  if (!prev) panic("systimer: flagged queued but not on the queue");
  prev!.sys_next = info.sys_next;
  info.sys_next = null;
  return false;
}

/* The body of both initializers: (re)queues info on this CPU, first due at `time`. */
function _systimer_init(info: systimer, func: systimer_func_t, arg: u32, time: u64, periodic: u64): void {
  const gd = mycpu();
  crit_enter();
  if ((info.sys_flags & SYSTF_ONQ) != 0) {
    if (info.sys_gd !== gd) panic("systimer: re-initialized from another cpu");
    _systimer_remove(gd, info);
  }
  info.sys_gd = gd;
  info.sys_func = func.index;
  info.sys_arg = arg;
  info.sys_time = time;
  info.sys_periodic = periodic;
  if (_systimer_insert(gd, info)) _systimer_reload(gd);
  crit_exit();
}

/*
 * systimer_init_oneshot: func(info, frame) runs once, on this CPU, from the
 * timer interrupt, no earlier than `us` microseconds from now. An info
 * already queued is moved to its new deadline.
 * Context: thread or callback of this CPU; never blocks.
 */
export function systimer_init_oneshot(info: systimer, func: systimer_func_t, arg: u32, us: u64): void {
  _systimer_init(info, func, arg, rdtsc() + _us_to_tsc(us), 0);
}

/*
 * systimer_init_periodic: func(info, frame) runs `hz` times a second on
 * this CPU, from the timer interrupt, the first time one period from now.
 * Context: as systimer_init_oneshot.
 */
export function systimer_init_periodic(info: systimer, func: systimer_func_t, arg: u32, hz: u32): void {
  const period = systimer_tsc_hz() / <u64>hz;
  _systimer_init(info, func, arg, rdtsc() + period, period);
}

/*
 * systimer_init_oneshot_cpu: as systimer_init_oneshot, on CPU cpu's queue:
 * func runs there. For another CPU the owner queues it when the IPI comes;
 * info must not be queued anywhere meanwhile.
 * Context: thread of any CPU, outside IPI handlers (it may wait for FIFO room).
 */
export function systimer_init_oneshot_cpu(info: systimer, cpu: u32, func: systimer_func_t, arg: u32, us: u64): void {
  const target = globaldata_find(cpu);
  if (target === mycpu()) {
    systimer_init_oneshot(info, func, arg, us);
    return;
  }
  if ((info.sys_flags & SYSTF_ONQ) != 0) panic("systimer_init_oneshot_cpu: the systimer is queued");
  info.sys_gd = target;
  info.sys_func = func.index;
  info.sys_arg = arg;
  info.sys_time = rdtsc() + _us_to_tsc(us);
  info.sys_periodic = 0;
  lwkt_send_ipiq(target, _systimer_add_remote, <u32>changetype<usize>(info));
}

/* The owner's half of systimer_init_oneshot_cpu. Context: IPI handler. */
function _systimer_add_remote(arg1: u32, arg2: u32, frame: u32): void {
  const gd = mycpu();
  if (_systimer_insert(gd, changetype<systimer>(<usize>arg1))) _systimer_reload(gd);
}

/*
 * systimer_del: info's callback will not run (again) once this returns; a
 * systimer not queued is left alone. Another CPU's is taken off by its
 * owner, by IPI, and this waits for that.
 * Context: thread or callback of any CPU; for another CPU's systimer, a
 * thread outside IPI handlers.
 */
export function systimer_del(info: systimer): void {
  const gd = mycpu();
  const owner = info.sys_gd;
  if (owner !== null && owner !== gd) {
    lwkt_wait_ipiq(owner!, lwkt_send_ipiq(owner!, _systimer_del_remote, <u32>changetype<usize>(info)));
    return;
  }
  if ((info.sys_flags & SYSTF_ONQ) == 0) return;
  crit_enter();
  if (_systimer_remove(gd, info)) _systimer_reload(gd);
  crit_exit();
}

/* The owner's half of a remote systimer_del. Context: IPI handler. */
function _systimer_del_remote(arg1: u32, arg2: u32, frame: u32): void {
  const info = changetype<systimer>(<usize>arg1);
  const gd = mycpu();
  if ((info.sys_flags & SYSTF_ONQ) != 0 && _systimer_remove(gd, info)) _systimer_reload(gd);
}

/*
 * systimer_intr: runs the callbacks of this CPU's due systimers, in deadline
 * order, then re-arms the LAPIC timer for what is left.
 * Context: in a critical section: ktrap's timer vector, or the outermost
 * crit_exit after a deferral (RQF_TIMER).
 */
export function systimer_intr(frame: u32): void {
  const gd = mycpu();
  gd.gd_intr_nesting_level++;
  while (true) {
    const info = gd.gd_systimerq;
    if (!info) break;
    const now = rdtsc();
    if (<i64>(info.sys_time - now) > 0) break;
    _systimer_remove(gd, info);
    if (info.sys_periodic != 0) {
      info.sys_time += info.sys_periodic;
      if (<i64>(info.sys_time - now) <= 0) info.sys_time = now + info.sys_periodic;
      _systimer_insert(gd, info);
    }
    call_indirect<void>(info.sys_func, <u32>changetype<usize>(info), frame);
  }
  gd.gd_intr_nesting_level--;
  _systimer_reload(gd);
}

// ---- hardclock -----------------------------------------------------------------------

/*
 * hardclock: each CPU's HZ tick. It counts (gd_ticks) and drives LWKT's
 * scheduler clock, the round-robin of equal priorities.
 */
function hardclock(info: u32, frame: u32): void {
  const gd = mycpu();
  atomic.store<u32>(changetype<usize>(gd) + offsetof<globaldata>("gd_ticks"), gd.gd_ticks + 1);
  lwkt_schedulerclock();
}

// ---- statclock ------------------------------------------------------------------------

/** cp_time's states. */
export const CP_SYS: u32 = 0; // a kernel thread
export const CP_INTR: u32 = 1; // an interrupt thread
export const CP_IDLE: u32 = 2; // the idle thread
const CP_STATES: u32 = 3;

/** Per CPU index, CP_STATES u64 counters of statclock samples; the CPU writes its own, any reads. */
// 64: MAXCPU, spelt out because the import cycle with lwkt_thread.ts leaves it undeclared when this runs.
const cp_time: usize = memory.data(64 * 3 * 8, 8);

/*
 * statclock: each CPU's STATHZ sample of what it runs, into cp_time and
 * the running thread's td_sticks.
 */
function statclock(info: u32, frame: u32): void {
  const gd = mycpu();
  const td = gd.gd_curthread;
  const state = td === gd.gd_idlethread ? CP_IDLE : (td.td_flags & TDF_INTTHREAD) != 0 ? CP_INTR : CP_SYS;
  const p = cp_time + (<usize>gd.gd_cpuid * <usize>CP_STATES + <usize>state) * 8;
  atomic.store<u64>(p, atomic.load<u64>(p) + 1);
  td.td_sticks++;
}

/*
 * cpu_time: CPU cpu's statclock samples in state (CP_*).
 * Context: any; read racily.
 */
export function cpu_time(cpu: u32, state: u32): u64 {
  return atomic.load<u64>(cp_time + (<usize>cpu * <usize>CP_STATES + <usize>state) * 8);
}

/*
 * systimer_gdinit: this CPU's LAPIC timer (one-shot on VECTOR_LAPIC_TIMER,
 * stopped), its hardclock and its statclock.
 * Context: once per CPU, after lwkt_gdinit and lapicEnable, interrupts off;
 * the BSP has calibrated.
 */
export function systimer_gdinit(): void {
  const base = lapic();
  store<u32>(base + LAPIC_TIMER_INITIAL, 0);
  store<u32>(base + LAPIC_TIMER_DIVIDE, DIVIDE_BY_1);
  store<u32>(base + LAPIC_LVT_TIMER, VECTOR_LAPIC_TIMER);
  systimer_init_periodic(systimer_alloc(), hardclock, 0, HZ);
  systimer_init_periodic(systimer_alloc(), statclock, 0, STATHZ);
}

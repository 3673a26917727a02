// LWKT: light-weight kernel threads and the per-CPU scheduler (reference
// dragonfly.md §1).
//
// The model. Every CPU runs its own scheduler over threads it alone owns
// (td_gd). Its run queues are touched only by that CPU, so a critical section
// (a per-thread counter; interrupts stay as they are) is all the protection
// they need: NO LOCKS, AND NO CPU EVER TOUCHES ANOTHER CPU'S QUEUES. A
// thread is runnable while it is on a run queue, the running one included:
// blocking is "deschedule yourself, then lwkt_switch". lwkt_switch runs the
// highest-priority runnable thread, the first of its priority; lwkt_yield
// sends the caller behind its equal-priority peers, and so does the
// scheduler clock (lwkt_schedulerclock, from each CPU's hardclock in
// kern_systimer.ts) to the running thread once a tick: threads of one
// priority share the CPU even if none yields. With nothing runnable the
// CPU runs its idle thread, which halts until an interrupt.
//
// Rescheduling: making a thread runnable above the running one (lwkt_schedule,
// lwkt_setpri, an IPI handler) requests a reschedule (RQF_AST_LWKT_RESCHED),
// honoured at once outside a critical section, at the outermost crit_exit
// inside one, and on the way out of the interrupt whose handler made the
// thread runnable (ktrap ends its IPI processing with crit_exit) -- BUT NOT
// WHILE THE RUNNING THREAD HOLDS TOKENS (lwkt_token.ts): a reschedule is a
// switch the thread did not ask for, and every switch releases its tokens,
// so it waits until the thread releases its last token (lwkt_reltoken's
// crit_exit), blocks or yields. (DragonFly never switches a kernel thread
// involuntarily at all, but for interrupt-thread preemption.)
//
// Tokens and switching. Every lwkt_switch releases the outgoing thread's
// tokens; a thread is picked only once lwkt_getalltokens has got all of its
// own back. A runnable thread whose tokens are held elsewhere is skipped for
// the next one (below TDPRI_KERN_LPSCHED only the head is tried); if none can
// run, the CPU spins, processing IPIs and timers, and after LWKT_SPIN_LOOPS
// passes takes tokens in address order; a descheduled caller waits in the
// idle thread instead, so no IPI runs while its context is still live. The
// scheduler clock retries a skipped thread every tick.
//
// Interrupt threads (TDF_INTTHREAD) preempt (lwkt_preempt, §1.8): scheduled
// above the running thread while it is in no critical section, holds no
// cpusync and is not preempted itself, one holding no tokens is switched to
// directly, and when it blocks the CPU goes straight back to the thread it
// interrupted, which kept its tokens (if it wants one of them, it fails to
// get it, and so goes back).
//
// Other CPUs' threads. A CPU never touches another's queues: lwkt_schedule
// or lwkt_deschedule of another CPU's thread sends an IPI (lwkt_ipiq.ts) and
// the owner runs lwkt_schedule_remote or lwkt_deschedule_remote on the
// sender's behalf, asynchronously. Critical
// sections defer IPIs and timer interrupts as they defer switches: an IPI
// that finds one sets RQF_IPIQ, a timer interrupt RQF_TIMER, and the
// outermost crit_exit processes the queues and runs the due systimers.
//
// lwkt_setpri of another CPU's thread goes to the owner by IPI too. Threads
// move only by lwkt_migratecpu (§1.10, push): the thread marks itself
// TDF_MIGRATING, leaves its CPU's queues and switches away; once its context
// is saved the old CPU sends lwkt_setcpu_remote to the target, which makes it
// the owner (td_gd changes only there, while the thread is switched out) and
// schedules it.
//
// What it is not, yet: no pull migration (lwkt_giveaway/lwkt_acquire).
// Nothing is freed: exited threads are kept, with their stacks, for the next
// lwkt_create on the same CPU.

import { cli, cpu_id, gs_load32, gs_load64, pause, read_rflags, stack_init, sti, sti_hlt, switch_to } from "../hw";
import { PERCPU_APIC_ID, PERCPU_KERNEL_PART, PERCPU_SELF } from "../runtime";
import { RFLAGS_IF } from "../arch/x86_64/frame";
import { bootalloc } from "./kern_bootalloc";
import { panic } from "./kern_shutdown";
import { lwkt_process_ipiq, lwkt_send_ipiq, lwkt_send_ipiq3 } from "./lwkt_ipiq";
import { lwkt_cpusync_parked } from "./lwkt_cpusync";
import { systimer, systimer_intr } from "./kern_systimer";
import { intr_splz } from "./kern_intr";
import { LWKT_TOKSTACK_BYTES, lwkt_getalltokens, lwkt_relalltokens } from "./lwkt_token";
import { lwkt_port, lwkt_thread_msgport_init } from "./lwkt_msgport";
import { pmap, pmap_activate } from "../arch/x86_64/pmap";

/** td_pri: higher runs first (§1.4). */
export const TDPRI_IDLE_THREAD: i32 = 0;
export const TDPRI_USER_NORM: i32 = 6;
export const TDPRI_KERN_LPSCHED: i32 = 9;
export const TDPRI_KERN_USER: i32 = 10;
export const TDPRI_KERN_DAEMON: i32 = 12;
export const TDPRI_SOFT_NORM: i32 = 14;
export const TDPRI_INT_MED: i32 = 28;
export const TDPRI_MAX: i32 = 31;

/** td_flags. */
export const TDF_RUNQ: u32 = 0x1; // on its CPU's run queue
export const TDF_EXITING: u32 = 0x2; // lwkt_exit has run; the thread waits in gd_freetd
export const TDF_TSLEEPQ: u32 = 0x4; // on its CPU's tsleep queue (kern_synch.ts)
export const TDF_TIMEOUT: u32 = 0x8; // its tsleep timed out
export const TDF_MIGRATING: u32 = 0x10; // lwkt_migratecpu: on no CPU's queues until lwkt_setcpu_remote
export const TDF_INTTHREAD: u32 = 0x20; // an interrupt thread: preempts (lwkt_preempt)
export const TDF_PREEMPT_LOCK: u32 = 0x40; // preempted: its context waits in lwkt_preempt
export const TDF_PREEMPT_DONE: u32 = 0x80; // its preemptor has switched back to it
export const TDF_NOSTART: u32 = 0x100; // lwkt_create only: do not schedule the new thread

/** gd_reqflags. */
export const RQF_AST_LWKT_RESCHED: u32 = 0x1; // a runnable thread outranks the running one
export const RQF_IPIQ: u32 = 0x2; // an IPI came during a critical section: process the queues at its end
export const RQF_TIMER: u32 = 0x4; // a timer interrupt came during a critical section: run the due systimers at its end
export const RQF_INTPEND: u32 = 0x8; // a device interrupt came during a critical section: its soft half runs at its end

/** CPU indexes run 0..MAXCPU-1 (the runtime's per-CPU areas, BOOT_MAX_CPUS). */
export const MAXCPU: u32 = 64;

/** Each thread's stack; the lowest LWKT_STACK_GUARD bytes lie below its limit, for trap frames and ktrap. */
export const LWKT_STACK_BYTES: usize = 32768;
const LWKT_STACK_GUARD: usize = 8192;

/** Failed passes over the run queue before lwkt_switch takes tokens in address order. */
const LWKT_SPIN_LOOPS: i32 = 10;

/*
 * A thread. Its owner CPU's critical section protects everything but td_sp,
 * which switch_to writes while the thread leaves the CPU.
 */
@unmanaged
export class thread {
  // Owner CPU, critical section:
  td_next: thread | null; // run queue of td_pri
  td_prev: thread | null;
  td_allnext: thread | null; // gd_tdallq, or gd_freetd once exited
  td_allprev: thread | null;
  td_pri: i32;
  td_critcount: i32;
  td_cscount: i32; // > 0 while it masters a cpusync (lwkt_cpusync.ts): it must not switch
  td_flags: u32;
  // Set by lwkt_create before the thread first runs:
  td_gd: globaldata;
  td_func: u32; // a function index: (arg: u32) => void
  td_arg: u32;
  // Immutable once allocated (0: the CPU's boot thread, on the runtime's stack):
  td_kstack: usize;
  // switch_to's save slot:
  td_sp: u64;
  // Owner CPU, critical section (kern_synch.ts):
  td_wchan: u32; // what it sleeps on, while TDF_TSLEEPQ
  td_sleepnext: thread | null; // its tsleep queue
  td_sleepprev: thread | null;
  td_sleeptimer: systimer | null; // its tsleep timeout, allocated at the first one
  // Its CPU's statclock (kern_systimer.ts):
  td_sticks: u64; // statclock ticks it was running for
  // Owner CPU, critical section (lwkt_preempt, lwkt_migratecpu):
  td_preempted: thread | null; // the thread this one preempted, while it does
  td_migrate_gd: globaldata | null; // lwkt_migratecpu's target, until the old CPU has sent it there
  // The token stack (lwkt_token.ts); owner CPU:
  td_toks_base: usize; // immutable once allocated: LWKT_MAXTOKENS lwkt_tokref
  td_toks_stop: usize; // past the top ref
  td_toks_have: usize; // 0: every ref below td_toks_stop is held; else the first that is not
  // lwkt_msgport.ts: its own thread port, allocated at its first creation (lwkt_thread_msgport_init):
  td_msgport: lwkt_port;
  td_pmap: pmap | null; // the address space it runs in (arch/x86_64/pmap.ts); null: whichever its CPU has
}

/** One run queue: a FIFO of the runnable threads of one priority. */
@unmanaged
class lwkt_runq {
  rq_head: thread | null;
  rq_tail: thread | null;
}

/*
 * Per-CPU data (mycpu), at the start of the kernel's part of the CPU's area
 * (zero at boot); gd_tdrunq's TDPRI_MAX + 1 queues follow it.
 */
@unmanaged
export class globaldata {
  // Atomics; other CPUs write (lwkt_ipiq.ts):
  gd_ipimask: u64; // bit n: CPU n has queued IPIs for this one
  gd_npoll: u32; // 1: a hardware IPI is on its way here, or the queues are being processed
  // Owner CPU only, but atomic read-modify-writes: interrupts set bits too.
  gd_reqflags: u32;
  // Set once by lwkt_gdinit / lwkt_ipiq_gdinit:
  gd_cpuid: u32;
  gd_apicid: u32;
  gd_ipiq: usize; // MAXCPU lwkt_ipiq: the queues from this CPU to each target
  // Owner CPU, critical section:
  gd_runqmask: u32; // bit p set: gd_tdrunq[p] is not empty
  gd_intr_nesting_level: i32; // > 0 in IPI handlers and sends: nothing there may switch
  gd_curthread: thread;
  gd_idlethread: thread; // never on a run queue
  gd_tdallq: thread | null; // every live thread this CPU owns
  gd_freetd: thread | null; // exited threads, stacks and all, for lwkt_create
  gd_systimerq: systimer | null; // queued systimers, soonest first (kern_systimer.ts)
  gd_switchfrom: thread | null; // the thread a switch_to left, for the one it resumed (_lwkt_switch_return)
  // Owner CPU writes (atomic stores), any CPU reads:
  gd_ticks: u32; // hardclock ticks since the CPU started
}

/** Every CPU's globaldata by CPU index (shared; each CPU writes its own entry once). */
const globaldata_table: usize = memory.data(<i32>MAXCPU * 4);

/*
 * mycpu: this CPU's globaldata.
 * Context: any.
 */
export function mycpu(): globaldata {
  return changetype<globaldata>(<usize>gs_load64(PERCPU_SELF) + gs_load32(PERCPU_KERNEL_PART));
}

/*
 * curthread: the thread running on this CPU.
 * Context: any.
 */
export function curthread(): thread {
  return mycpu().gd_curthread;
}

/*
 * globaldata_find: CPU `cpu`'s globaldata.
 * Context: any; the CPU must have run lwkt_gdinit.
 */
export function globaldata_find(cpu: u32): globaldata {
  const gd = cpu < MAXCPU ? atomic.load<u32>(globaldata_table + <usize>cpu * 4) : 0;
  if (gd == 0) panic("globaldata_find: no such cpu");
  return changetype<globaldata>(<usize>gd);
}

/* gd_reqflags |= flags, atomic against this CPU's interrupt handlers. */
function _reqflags_set(gd: globaldata, flags: u32): void {
  atomic.or<u32>(changetype<usize>(gd) + offsetof<globaldata>("gd_reqflags"), flags);
}

function _reqflags_clear(gd: globaldata, flags: u32): void {
  atomic.and<u32>(changetype<usize>(gd) + offsetof<globaldata>("gd_reqflags"), ~flags);
}

/*
 * lwkt_ipiq_defer: an IPI arrived while this CPU's thread was in a critical
 * section; the outermost crit_exit processes the queues.
 * Context: ktrap, interrupts off.
 */
export function lwkt_ipiq_defer(gd: globaldata): void {
  _reqflags_set(gd, RQF_IPIQ);
}

/*
 * lwkt_timer_defer: the LAPIC timer fired while this CPU's thread was in a
 * critical section; the outermost crit_exit runs the due systimers.
 * Context: ktrap, interrupts off.
 */
export function lwkt_timer_defer(gd: globaldata): void {
  _reqflags_set(gd, RQF_TIMER);
}

/*
 * lwkt_intr_defer: as lwkt_ipiq_defer, for a device interrupt's soft half (kern_intr.ts).
 * Context: ktrap, interrupts off.
 */
export function lwkt_intr_defer(gd: globaldata): void {
  _reqflags_set(gd, RQF_INTPEND);
}

function gd_tdrunq(gd: globaldata, pri: i32): lwkt_runq {
  return changetype<lwkt_runq>(changetype<usize>(gd) + offsetof<globaldata>() + <usize>pri * offsetof<lwkt_runq>());
}

/* This CPU's globaldata, which must own td: else panics with `why`. */
function _lwkt_owner(td: thread, why: string): globaldata {
  const gd = mycpu();
  if (td.td_gd !== gd) panic(why);
  return gd;
}

// ---- critical sections ---------------------------------------------------------------

/*
 * crit_enter: no switch away from this thread until the matching crit_exit,
 * unless the thread itself switches (lwkt_switch, lwkt_yield, blocking).
 * Interrupts are not disabled. Nests.
 * Context: thread; never blocks.
 */
export function crit_enter(): void {
  curthread().td_critcount++;
}

/*
 * crit_exit: leaves a critical section; the outermost one runs what the
 * section deferred: IPIs that arrived (RQF_IPIQ), due systimers
 * (RQF_TIMER), device interrupts' soft halves (RQF_INTPEND), then a
 * reschedule, unless the thread holds tokens.
 * Context: thread (or ktrap, around IPI or timer processing), in a critical section;
 * may switch.
 */
export function crit_exit(): void {
  const td = curthread();
  if (--td.td_critcount < 0) panic("crit_exit: not in a critical section");
  if (td.td_critcount == 0 && (td.td_gd.gd_reqflags & (RQF_IPIQ | RQF_TIMER | RQF_INTPEND | RQF_AST_LWKT_RESCHED)) != 0) _lwkt_splz(td);
}

/*
 * The deferred work of a critical section that td has just left
 * (_lwkt_run_deferred, until no flag is left), then a reschedule.
 */
function _lwkt_splz(td: thread): void {
  const gd = td.td_gd;
  while ((gd.gd_reqflags & (RQF_IPIQ | RQF_TIMER | RQF_INTPEND)) != 0) {
    td.td_critcount++;
    _lwkt_run_deferred(gd, false);
    td.td_critcount--;
  }
  if ((gd.gd_reqflags & RQF_AST_LWKT_RESCHED) != 0 && td.td_toks_stop == td.td_toks_base) lwkt_switch();
}

// ---- run queues ----------------------------------------------------------------------

/* Appends td to its priority's queue; requests a reschedule when it outranks the running thread. */
function _lwkt_enqueue(gd: globaldata, td: thread): void {
  if ((td.td_flags & TDF_RUNQ) != 0) return;
  const q = gd_tdrunq(gd, td.td_pri);
  td.td_next = null;
  td.td_prev = q.rq_tail;
  if (q.rq_tail) q.rq_tail!.td_next = td;
  else q.rq_head = td;
  q.rq_tail = td;
  gd.gd_runqmask |= 1 << td.td_pri;
  td.td_flags |= TDF_RUNQ;
  if (td.td_pri > gd.gd_curthread.td_pri) _reqflags_set(gd, RQF_AST_LWKT_RESCHED);
}

function _lwkt_dequeue(gd: globaldata, td: thread): void {
  if ((td.td_flags & TDF_RUNQ) == 0) return;
  const q = gd_tdrunq(gd, td.td_pri);
  if (td.td_prev) td.td_prev!.td_next = td.td_next;
  else q.rq_head = td.td_next;
  if (td.td_next) td.td_next!.td_prev = td.td_prev;
  else q.rq_tail = td.td_prev;
  td.td_next = null;
  td.td_prev = null;
  if (!q.rq_head) gd.gd_runqmask &= ~(1 << td.td_pri);
  td.td_flags &= ~TDF_RUNQ;
}

function _lwkt_allq_insert(gd: globaldata, td: thread): void {
  td.td_allprev = null;
  td.td_allnext = gd.gd_tdallq;
  if (gd.gd_tdallq) gd.gd_tdallq!.td_allprev = td;
  gd.gd_tdallq = td;
}

function _lwkt_allq_remove(gd: globaldata, td: thread): void {
  if (td.td_allprev) td.td_allprev!.td_allnext = td.td_allnext;
  else gd.gd_tdallq = td.td_allnext;
  if (td.td_allnext) td.td_allnext!.td_allprev = td.td_allprev;
  td.td_allnext = null;
  td.td_allprev = null;
}

// ---- switching -----------------------------------------------------------------------

/* The first thread of the highest non-empty priority, or null. */
function _lwkt_runq_head(gd: globaldata): thread | null {
  return gd.gd_runqmask != 0 ? gd_tdrunq(gd, 31 - <i32>clz<u32>(gd.gd_runqmask)).rq_head : null;
}

/*
 * The work a switch owes the thread it left, run by the thread it resumed:
 * a migrating thread's context is saved now, so it may go to its new CPU.
 */
function _lwkt_switch_return(): void {
  const gd = mycpu();
  const prev = gd.gd_switchfrom;
  if (!prev) return;
  gd.gd_switchfrom = null;
  const target = prev.td_migrate_gd;
  if (target && (prev.td_flags & TDF_PREEMPT_LOCK) == 0) {
    prev.td_migrate_gd = null;
    lwkt_send_ipiq(target, lwkt_setcpu_remote, <u32>changetype<usize>(prev));
  }
}

/* switch_to from td to ntd, both in critical sections; returns when td is switched back to. */
function _lwkt_switch_to(gd: globaldata, td: thread, ntd: thread): void {
  if (ntd.td_critcount <= 0) panic("lwkt_switch: the next thread is not in a critical section");
  if (ntd.td_pmap) pmap_activate(ntd.td_pmap!);
  gd.gd_curthread = ntd;
  gd.gd_switchfrom = td;
  switch_to(changetype<usize>(td) + offsetof<thread>("td_sp"), ntd.td_sp);
  _lwkt_switch_return();
}

/*
 * One round of waiting for tokens: interrupts on for a moment (in the
 * critical section they only flag themselves), then the IPIs, timers and
 * device interrupts' soft halves that came.
 */
function _lwkt_switch_spin(gd: globaldata): void {
  const rflags = read_rflags();
  sti();
  pause();
  if ((rflags & RFLAGS_IF) == 0) cli();
  _lwkt_run_deferred(gd, true);
}

/*
 * The work interrupts left flagged in gd_reqflags for a critical section's
 * end: IPIs (with `polled`, also IPIs queued while the doorbell was
 * suppressed), due systimers, device interrupts' soft halves. Each flag is
 * cleared before its work, so an interrupt that comes meanwhile sets it
 * again and is not lost.
 * Context: in a critical section.
 */
function _lwkt_run_deferred(gd: globaldata, polled: bool): void {
  if ((gd.gd_reqflags & RQF_IPIQ) != 0 || (polled && atomic.load<u64>(changetype<usize>(gd) + offsetof<globaldata>("gd_ipimask")) != 0)) {
    _reqflags_clear(gd, RQF_IPIQ);
    lwkt_process_ipiq();
  }
  if ((gd.gd_reqflags & RQF_TIMER) != 0) {
    _reqflags_clear(gd, RQF_TIMER);
    systimer_intr(0);
  }
  if ((gd.gd_reqflags & RQF_INTPEND) != 0) {
    _reqflags_clear(gd, RQF_INTPEND);
    intr_splz();
  }
}

/*
 * The thread to run next: the first runnable one, by priority, that gets
 * all its tokens back (the head always tried, others only down to
 * TDPRI_KERN_LPSCHED); the idle thread when nothing is runnable, or when
 * everything is contended and td is not runnable; else spins until one can.
 */
function _lwkt_choosethread(gd: globaldata, td: thread): thread {
  let spinning = 0;
  while (true) {
    if (gd.gd_runqmask == 0) return gd.gd_idlethread;
    const sorted = spinning >= LWKT_SPIN_LOOPS;
    let first = true;
    for (let pri = 31 - <i32>clz<u32>(gd.gd_runqmask); pri >= 0; pri--) {
      if ((gd.gd_runqmask & (1 << pri)) == 0) continue;
      if (!first && pri < TDPRI_KERN_LPSCHED) break;
      let ntd = gd_tdrunq(gd, pri).rq_head;
      while (ntd && (first || pri >= TDPRI_KERN_LPSCHED)) {
        first = false;
        if (ntd.td_toks_stop == ntd.td_toks_base || lwkt_getalltokens(ntd, sorted)) return ntd;
        ntd = ntd.td_next;
      }
    }
    if ((td.td_flags & TDF_RUNQ) == 0 && td !== gd.gd_idlethread) return gd.gd_idlethread;
    _lwkt_switch_spin(gd);
    spinning++;
  }
}

/*
 * lwkt_switch: releases the caller's tokens and runs the highest-priority
 * runnable thread of this CPU that gets all of its own back, the first of
 * its priority (the caller again if that is the caller), or the idle thread
 * when none is runnable. A preemptor goes straight back to the thread it
 * preempted instead. Returns when the caller is switched back to, holding
 * its tokens again. Both sides of every switch are in a critical section:
 * the caller enters one here, and the thread resumed leaves its own, running
 * what it deferred (IPIs that came meanwhile, whichever thread they
 * interrupted).
 * Context: thread, critical section or not, NEVER IN AN IPI HANDLER, A
 * SEND OR A CPUSYNC; a caller that has descheduled itself does not come
 * back until something schedules it.
 */
export function lwkt_switch(): void {
  const gd = mycpu();
  const td = gd.gd_curthread;
  if (gd.gd_intr_nesting_level != 0) panic("lwkt_switch: in an IPI handler or send");
  if (td.td_cscount != 0) panic("lwkt_switch: a cpusync master switched");
  td.td_critcount++;
  _reqflags_clear(gd, RQF_AST_LWKT_RESCHED);
  if (td.td_toks_stop != td.td_toks_base) lwkt_relalltokens(td);
  let ntd: thread;
  const preempted = td.td_preempted;
  if (preempted) {
    ntd = preempted;
    ntd.td_flags |= TDF_PREEMPT_DONE;
    if (_lwkt_runq_head(gd) !== ntd) _reqflags_set(gd, RQF_AST_LWKT_RESCHED);
  } else {
    ntd = _lwkt_choosethread(gd, td);
  }
  if (ntd !== td) _lwkt_switch_to(gd, td, ntd);
  crit_exit();
}

/*
 * lwkt_preempt: runs ntd, an interrupt thread of this CPU just made
 * runnable, at once, in place of the running thread, if: ntd outranks it
 * strictly; it was in no critical section beyond the `critcount` levels the
 * scheduling path added; it masters no cpusync and this CPU is parked in
 * none; ntd holds no tokens; neither is preempted and ntd preempts nothing.
 * When ntd blocks, lwkt_switch comes straight back here. The preempted
 * thread keeps its tokens and stays on the run queue. NOTE: preempting from
 * an IPI leaves this CPU's IPI processing, and its doorbell (gd_npoll),
 * suspended under ntd until ntd blocks: interrupt threads must not wait for
 * IPIs without blocking.
 * Context: the scheduling paths (lwkt_schedule, lwkt_schedule_remote from
 * an interrupt frame), in a critical section.
 */
export function lwkt_preempt(ntd: thread, critcount: i32): void {
  const gd = mycpu();
  const td = gd.gd_curthread;
  if (ntd.td_pri <= td.td_pri || td.td_critcount > critcount || td.td_cscount != 0 || ntd.td_gd !== gd) return;
  if (ntd.td_toks_stop != ntd.td_toks_base) return;
  if (td === ntd || ((td.td_flags | ntd.td_flags) & TDF_PREEMPT_LOCK) != 0 || ntd.td_preempted) return;
  if (lwkt_cpusync_parked()) return;
  ntd.td_preempted = td;
  td.td_flags |= TDF_PREEMPT_LOCK;
  // ntd runs on its own stack and may block: it is not in the handler that scheduled it.
  const nesting = gd.gd_intr_nesting_level;
  gd.gd_intr_nesting_level = 0;
  _reqflags_clear(gd, RQF_AST_LWKT_RESCHED);
  _lwkt_switch_to(gd, td, ntd);
  gd.gd_intr_nesting_level = nesting;
  ntd.td_preempted = null;
  td.td_flags &= ~(TDF_PREEMPT_LOCK | TDF_PREEMPT_DONE);
}

/*
 * lwkt_yield: lets this CPU's other runnable threads of the caller's
 * priority or higher run first; the caller goes behind its equal-priority
 * peers and comes back after them (at once if there are none). A caller
 * that has descheduled itself blocks, as with lwkt_switch.
 * Context: thread, critical section or not (a voluntary switch).
 */
export function lwkt_yield(): void {
  const gd = mycpu();
  const td = gd.gd_curthread;
  crit_enter();
  if ((td.td_flags & TDF_RUNQ) != 0) {
    _lwkt_dequeue(gd, td);
    _lwkt_enqueue(gd, td);
  }
  lwkt_switch();
  crit_exit();
}

/*
 * lwkt_schedulerclock: the scheduler clock (§1.5). A running thread at the
 * head of the run queue goes behind its equal-priority peers, if it has
 * any, and the CPU reschedules; one that is not the head (a higher
 * priority is waiting, its tokens held elsewhere, or a peer was left ahead
 * of it) reschedules too.
 * Context: hardclock, in the timer interrupt (critical section, nesting
 * level raised): the switch happens at the interrupt's crit_exit.
 */
export function lwkt_schedulerclock(): void {
  const gd = mycpu();
  const td = gd.gd_curthread;
  if ((td.td_flags & TDF_RUNQ) == 0) return;
  const q = gd_tdrunq(gd, td.td_pri);
  if (_lwkt_runq_head(gd) === td) {
    if (!td.td_next) return;
    _lwkt_dequeue(gd, td);
    _lwkt_enqueue(gd, td);
  }
  _reqflags_set(gd, RQF_AST_LWKT_RESCHED);
}

// ---- schedule, deschedule, priority ---------------------------------------------------

/* An interrupt thread just queued may preempt (critcount: the levels the caller's path added). */
function _lwkt_schedule_post(td: thread, critcount: i32): void {
  if ((td.td_flags & (TDF_RUNQ | TDF_INTTHREAD)) == (TDF_RUNQ | TDF_INTTHREAD)) lwkt_preempt(td, critcount);
}

/*
 * lwkt_schedule: makes td runnable. If it outranks the running thread it
 * runs before lwkt_schedule returns (an interrupt thread by preemption), or,
 * inside a critical section, at the outermost crit_exit (for a caller holding
 * tokens: once it holds none). Another CPU's thread is scheduled by its
 * owner, which an IPI asks to (lwkt_schedule_remote): asynchronously, so it
 * may not have happened yet when this returns.
 * Context: thread; any CPU's thread, not an idle thread, not an exited or
 * MIGRATING thread; may spin (draining this CPU's IPIs) while the owner's
 * FIFO is full.
 */
export function lwkt_schedule(td: thread): void {
  const gd = mycpu();
  if ((td.td_flags & TDF_MIGRATING) != 0) panic("lwkt_schedule: a migrating thread");
  if (td === td.td_gd.gd_idlethread) panic("lwkt_schedule: the idle thread");
  if ((td.td_flags & TDF_EXITING) != 0) panic("lwkt_schedule: an exited thread");
  if (td.td_gd !== gd) {
    lwkt_send_ipiq(td.td_gd, lwkt_schedule_remote, changetype<usize>(td));
    return;
  }
  crit_enter();
  _lwkt_enqueue(gd, td);
  if (td !== gd.gd_curthread) _lwkt_schedule_post(td, 1);
  crit_exit();
}

/*
 * lwkt_schedule_remote: lwkt_schedule's IPI handler, run by td's owner; a
 * thread that outranks the interrupted one runs when the interrupt returns,
 * an interrupt thread at once by preemption if the IPI came as an interrupt
 * (a frame: ktrap's critical section is the one level its path added).
 * Context: IPI handler on td's owner CPU.
 */
function lwkt_schedule_remote(arg1: u32, arg2: u32, frame: u32): void {
  const td = changetype<thread>(<usize>arg1);
  const gd = _lwkt_owner(td, "lwkt_schedule_remote: not run by the owner");
  if ((td.td_flags & (TDF_EXITING | TDF_MIGRATING)) != 0) panic("lwkt_schedule_remote: an exited or migrating thread");
  _lwkt_enqueue(gd, td);
  if (frame != 0) _lwkt_schedule_post(td, 1);
}

/*
 * lwkt_deschedule: td is no longer runnable; it keeps running if it is
 * running, until it switches (that is how a thread blocks). Another CPU's
 * thread is descheduled by its owner, which an IPI asks to
 * (lwkt_deschedule_remote), asynchronously.
 * Context: thread; any CPU's thread; may spin (draining this CPU's IPIs)
 * while the owner's FIFO is full.
 */
export function lwkt_deschedule(td: thread): void {
  const gd = mycpu();
  if (td.td_gd !== gd) {
    lwkt_send_ipiq(td.td_gd, lwkt_deschedule_remote, changetype<usize>(td));
    return;
  }
  crit_enter();
  _lwkt_dequeue(gd, td);
  crit_exit();
}

/*
 * lwkt_deschedule_remote: lwkt_deschedule's IPI handler, run by td's owner.
 * Context: IPI handler on td's owner CPU.
 */
function lwkt_deschedule_remote(arg1: u32, arg2: u32, frame: u32): void {
  const td = changetype<thread>(<usize>arg1);
  _lwkt_dequeue(_lwkt_owner(td, "lwkt_deschedule_remote: not run by the owner"), td);
}

/* td's priority becomes pri; a runnable td requeues at the end of its new priority. */
function _lwkt_setpri(gd: globaldata, td: thread, pri: i32): void {
  if ((td.td_flags & TDF_RUNQ) != 0) {
    _lwkt_dequeue(gd, td);
    td.td_pri = pri;
    _lwkt_enqueue(gd, td);
  } else {
    td.td_pri = pri;
  }
}

/*
 * lwkt_setpri: td's priority becomes pri (0..TDPRI_MAX); a runnable td goes
 * to the end of its new priority's queue. Lowering the caller's own
 * priority does not switch: lwkt_yield does. Raising another thread above
 * the caller reschedules, as lwkt_schedule does. Another CPU's thread is
 * changed by its owner, which an IPI asks to (lwkt_setpri_remote),
 * asynchronously.
 * Context: thread; any CPU's thread that does not migrate meanwhile; may
 * spin (draining this CPU's IPIs) while the owner's FIFO is full.
 */
export function lwkt_setpri(td: thread, pri: i32): void {
  if (pri < 0 || pri > TDPRI_MAX) panic("lwkt_setpri: priority out of range");
  const gd = mycpu();
  if (td.td_gd !== gd) {
    lwkt_send_ipiq3(td.td_gd, lwkt_setpri_remote, <u32>changetype<usize>(td), <u32>pri);
    return;
  }
  crit_enter();
  _lwkt_setpri(gd, td, pri);
  crit_exit();
}

/*
 * lwkt_setpri_remote: lwkt_setpri's IPI handler, run by td's owner; a
 * thread raised above the interrupted one runs when the interrupt returns.
 * Context: IPI handler on td's owner CPU.
 */
function lwkt_setpri_remote(arg1: u32, pri: u32, frame: u32): void {
  const td = changetype<thread>(<usize>arg1);
  _lwkt_setpri(_lwkt_owner(td, "lwkt_setpri_remote: not run by the owner"), td, <i32>pri);
}

// ---- migration -----------------------------------------------------------------------

/*
 * lwkt_migratecpu: the calling thread moves to CPU `cpu` and returns
 * running there (at once if it is there already). It leaves this CPU's run
 * queue and gd_tdallq marked TDF_MIGRATING and switches away, releasing its
 * tokens; the switch's other side sends it on (lwkt_setcpu_remote) once its
 * context is saved; on the new CPU it gets its tokens back before it runs,
 * and joins that CPU's gd_tdallq.
 * Context: thread, not the idle thread, not asleep; may switch.
 */
export function lwkt_migratecpu(cpu: u32): void {
  const gd = mycpu();
  if (cpu == gd.gd_cpuid) return;
  const target = globaldata_find(cpu);
  const td = gd.gd_curthread;
  if (td === gd.gd_idlethread) panic("lwkt_migratecpu: the idle thread");
  crit_enter();
  td.td_flags |= TDF_MIGRATING;
  _lwkt_dequeue(gd, td);
  _lwkt_allq_remove(gd, td);
  td.td_migrate_gd = target;
  lwkt_switch();
  _lwkt_allq_insert(mycpu(), td);
  crit_exit();
}

/*
 * lwkt_setcpu_remote: the target's side of a migration: td becomes this
 * CPU's (its context was saved before this was sent) and runnable here.
 * Context: IPI handler on the migration's target CPU.
 */
function lwkt_setcpu_remote(arg1: u32, arg2: u32, frame: u32): void {
  const td = changetype<thread>(<usize>arg1);
  if ((td.td_flags & TDF_MIGRATING) == 0) panic("lwkt_setcpu_remote: not a migrating thread");
  const gd = mycpu();
  // An atomic store: a full barrier, as DragonFly's fence after td_gd.
  atomic.store<u32>(changetype<usize>(td) + offsetof<thread>("td_gd"), <u32>changetype<usize>(gd));
  td.td_flags &= ~TDF_MIGRATING;
  _lwkt_enqueue(gd, td);
}

// ---- creation and exit ---------------------------------------------------------------

/*
 * Every thread's first code: turns interrupts on (stack_init starts it with
 * them off), leaves the critical section it was switched to in, runs its
 * function, exits.
 */
function lwkt_thread_start(arg: u32): void {
  const td = changetype<thread>(<usize>arg);
  _lwkt_switch_return();
  sti();
  crit_exit();
  call_indirect<void>(td.td_func, td.td_arg);
  lwkt_exit();
}

/* A thread and its stack: an exited one of this CPU's, else fresh memory. */
function lwkt_alloc_thread(gd: globaldata): thread {
  const td = gd.gd_freetd;
  if (td) {
    gd.gd_freetd = td.td_allnext;
    const kstack = td.td_kstack;
    const sleeptimer = td.td_sleeptimer; // dequeued: tsleep deletes it before it returns
    const toks = td.td_toks_base;
    const msgport = td.td_msgport;
    memory.fill(changetype<usize>(td), 0, offsetof<thread>());
    td.td_kstack = kstack;
    td.td_sleeptimer = sleeptimer;
    td.td_toks_base = toks;
    td.td_toks_stop = toks;
    td.td_msgport = msgport;
    return td;
  }
  const fresh = changetype<thread>(bootalloc(offsetof<thread>(), 64));
  fresh.td_kstack = bootalloc(LWKT_STACK_BYTES, 16);
  fresh.td_toks_base = bootalloc(LWKT_TOKSTACK_BYTES, 8);
  fresh.td_toks_stop = fresh.td_toks_base;
  return fresh;
}

/* A thread of gd's that will run func(arg) at pri once switched to, in gd_tdallq, not runnable. */
function lwkt_init_thread(gd: globaldata, func: u32, arg: u32, pri: i32): thread {
  const td = lwkt_alloc_thread(gd);
  td.td_gd = gd;
  td.td_pri = pri;
  td.td_critcount = 1;
  td.td_func = func;
  td.td_arg = arg;
  td.td_sp = stack_init(<u64>(td.td_kstack + LWKT_STACK_BYTES), <u64>(td.td_kstack + LWKT_STACK_GUARD),
    lwkt_thread_start.index, <u32>changetype<usize>(td));
  lwkt_thread_msgport_init(td);
  _lwkt_allq_insert(gd, td);
  return td;
}

/*
 * lwkt_create: a thread on this CPU that runs func(arg) at priority pri and
 * exits when func returns; tdflags may make it an interrupt thread
 * (TDF_INTTHREAD). It is scheduled at once, unless TDF_NOSTART, so it runs
 * before lwkt_create returns if it outranks the caller outside a critical
 * section.
 * Context: thread; the thread belongs to this CPU until it migrates
 * (creating one for another CPU will take an IPI: not yet).
 */
export function lwkt_create(func: (arg: u32) => void, arg: u32, pri: i32, tdflags: u32 = 0): thread {
  if (pri < 0 || pri > TDPRI_MAX) panic("lwkt_create: priority out of range");
  const gd = mycpu();
  crit_enter();
  const td = lwkt_init_thread(gd, func.index, arg, pri);
  td.td_flags |= tdflags & TDF_INTTHREAD;
  if ((tdflags & TDF_NOSTART) == 0) {
    _lwkt_enqueue(gd, td);
    _lwkt_schedule_post(td, 1);
  }
  crit_exit();
  return td;
}

/*
 * lwkt_exit: ends the calling thread. It leaves the run queue and
 * gd_tdallq and waits in gd_freetd, stack and all, for lwkt_create to
 * recycle it: a thread cannot free the stack it runs on.
 * Context: thread, not the idle or a boot thread; does not return.
 */
export function lwkt_exit(): void {
  const gd = mycpu();
  const td = gd.gd_curthread;
  if (td === gd.gd_idlethread || td.td_kstack == 0) panic("lwkt_exit: the idle or a boot thread");
  if (td.td_toks_stop != td.td_toks_base) panic("lwkt_exit: holding tokens");
  crit_enter();
  td.td_flags |= TDF_EXITING;
  _lwkt_dequeue(gd, td);
  _lwkt_allq_remove(gd, td);
  td.td_allnext = gd.gd_freetd;
  gd.gd_freetd = td;
  lwkt_switch();
  panic("lwkt_exit: an exited thread ran again");
}

// ---- per-CPU start -------------------------------------------------------------------

/*
 * The idle thread: runs only when no thread of its CPU is runnable, and
 * halts until an interrupt makes one runnable (an IPI whose handler
 * schedules one). Before it halts it polls the IPI queues, which is where
 * passive IPIs (lwkt_send_ipiq3_passive) get run on an idle CPU.
 */
function lwkt_idle_loop(arg: u32): void {
  const gd = mycpu();
  while (true) {
    cli();
    if (gd.gd_runqmask != 0) {
      lwkt_switch();
    } else if (atomic.load<u64>(changetype<usize>(gd) + offsetof<globaldata>("gd_ipimask")) != 0 ||
      (gd.gd_reqflags & RQF_INTPEND) != 0) {
      crit_enter();
      lwkt_process_ipiq();
      crit_exit();
    } else {
      sti_hlt();
    }
  }
}

/*
 * lwkt_gdinit: this CPU's scheduler. The code running now becomes the CPU's
 * boot thread (TDPRI_KERN_DAEMON, runnable, on the runtime's stack), and
 * the idle thread is made; globaldata_find finds the CPU from now on.
 * Context: once per CPU, interrupts off, before any other lwkt_ call there.
 */
export function lwkt_gdinit(): void {
  const gd = mycpu();
  gd.gd_cpuid = cpu_id();
  if (gd.gd_cpuid >= MAXCPU) panic("lwkt_gdinit: cpu index beyond MAXCPU");
  gd.gd_apicid = gs_load32(PERCPU_APIC_ID);
  const td = changetype<thread>(bootalloc(offsetof<thread>(), 64));
  td.td_gd = gd;
  td.td_pri = TDPRI_KERN_DAEMON;
  td.td_toks_base = bootalloc(LWKT_TOKSTACK_BYTES, 8);
  td.td_toks_stop = td.td_toks_base;
  lwkt_thread_msgport_init(td);
  gd.gd_curthread = td;
  _lwkt_allq_insert(gd, td);
  _lwkt_enqueue(gd, td);
  gd.gd_idlethread = lwkt_init_thread(gd, lwkt_idle_loop.index, 0, TDPRI_IDLE_THREAD);
  atomic.store<u32>(globaldata_table + <usize>gd.gd_cpuid * 4, <u32>changetype<usize>(gd));
}

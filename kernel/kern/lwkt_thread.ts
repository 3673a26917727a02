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
// Preemption: making a thread runnable above the running one (lwkt_schedule,
// lwkt_setpri, an IPI handler) requests a reschedule (RQF_AST_LWKT_RESCHED),
// honoured at once outside a critical section, at the outermost crit_exit
// inside one, and on the way out of the interrupt whose handler made the
// thread runnable (ktrap ends its IPI processing with crit_exit).
//
// Other CPUs' threads. A CPU never touches another's queues: lwkt_schedule
// or lwkt_deschedule of another CPU's thread sends an IPI (lwkt_ipiq.ts) and
// the owner runs lwkt_schedule_remote or lwkt_deschedule_remote on the
// sender's behalf, asynchronously. Critical
// sections defer IPIs and timer interrupts as they defer switches: an IPI
// that finds one sets RQF_IPIQ, a timer interrupt RQF_TIMER, and the
// outermost crit_exit processes the queues and runs the due systimers.
//
// What it is not, yet: threads never change CPU (lwkt_migratecpu, §1.10),
// and lwkt_setpri still panics when handed another CPU's thread.
// Nothing is freed: exited threads are kept, with their stacks, for the next
// lwkt_create on the same CPU.

import { cli, cpu_id, gs_load32, gs_load64, stack_init, sti, sti_hlt, switch_to } from "../hw";
import { PERCPU_APIC_ID, PERCPU_KERNEL_PART, PERCPU_SELF } from "../runtime";
import { bootalloc } from "./kern_bootalloc";
import { panic } from "./kern_shutdown";
import { lwkt_process_ipiq, lwkt_send_ipiq } from "./lwkt_ipiq";
import { systimer, systimer_intr } from "./kern_systimer";
import { intr_splz } from "./kern_intr";

/** td_pri: higher runs first (§1.4). */
export const TDPRI_IDLE_THREAD: i32 = 0;
export const TDPRI_USER_NORM: i32 = 6;
export const TDPRI_KERN_USER: i32 = 10;
export const TDPRI_KERN_DAEMON: i32 = 12;
export const TDPRI_SOFT_NORM: i32 = 14;
export const TDPRI_MAX: i32 = 31;

/** td_flags. */
export const TDF_RUNQ: u32 = 0x1; // on its CPU's run queue
export const TDF_EXITING: u32 = 0x2; // lwkt_exit has run; the thread waits in gd_freetd
export const TDF_TSLEEPQ: u32 = 0x4; // on its CPU's tsleep queue (kern_synch.ts)
export const TDF_TIMEOUT: u32 = 0x8; // its tsleep timed out

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
 * (RQF_TIMER), device interrupts' soft halves (RQF_INTPEND), then a reschedule.
 * Context: thread (or ktrap, around IPI or timer processing), in a critical section;
 * may switch.
 */
export function crit_exit(): void {
  const td = curthread();
  if (--td.td_critcount < 0) panic("crit_exit: not in a critical section");
  if (td.td_critcount == 0 && (td.td_gd.gd_reqflags & (RQF_IPIQ | RQF_TIMER | RQF_INTPEND | RQF_AST_LWKT_RESCHED)) != 0) _lwkt_splz(td);
}

/*
 * The deferred work of a critical section that td has just left. Each pass
 * clears a flag before it does the work, so an interrupt that comes
 * meanwhile sets it again and is not lost.
 */
function _lwkt_splz(td: thread): void {
  const gd = td.td_gd;
  while ((gd.gd_reqflags & (RQF_IPIQ | RQF_TIMER | RQF_INTPEND)) != 0) {
    td.td_critcount++;
    if ((gd.gd_reqflags & RQF_IPIQ) != 0) {
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
    td.td_critcount--;
  }
  if ((gd.gd_reqflags & RQF_AST_LWKT_RESCHED) != 0) lwkt_switch();
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

/*
 * lwkt_switch: runs the highest-priority runnable thread of this CPU, the
 * first of its priority (the caller again if that is the caller), or the
 * idle thread when none is runnable. Returns when the caller is switched
 * back to. Both sides of every switch are in a critical section: the caller
 * enters one here, and the thread resumed leaves its own, running what it
 * deferred (IPIs that came meanwhile, whichever thread they interrupted).
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
  const ntd = gd.gd_runqmask != 0 ? gd_tdrunq(gd, 31 - <i32>clz<u32>(gd.gd_runqmask)).rq_head! : gd.gd_idlethread;
  if (ntd !== td) {
    if (ntd.td_critcount <= 0) panic("lwkt_switch: the next thread is not in a critical section");
    gd.gd_curthread = ntd;
    switch_to(changetype<usize>(td) + offsetof<thread>("td_sp"), ntd.td_sp);
  }
  crit_exit();
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
 * head of its priority's queue goes behind its equal-priority peers, if it
 * has any, and the CPU reschedules; one that is not the head (a higher
 * priority is waiting, or a peer was left ahead of it) reschedules too.
 * Context: hardclock, in the timer interrupt (critical section, nesting
 * level raised): the switch happens at the interrupt's crit_exit.
 */
export function lwkt_schedulerclock(): void {
  const gd = mycpu();
  const td = gd.gd_curthread;
  if ((td.td_flags & TDF_RUNQ) == 0) return;
  const q = gd_tdrunq(gd, td.td_pri);
  if (q.rq_head === td) {
    if (!td.td_next) return;
    _lwkt_dequeue(gd, td);
    _lwkt_enqueue(gd, td);
  }
  _reqflags_set(gd, RQF_AST_LWKT_RESCHED);
}

// ---- schedule, deschedule, priority ---------------------------------------------------

/*
 * lwkt_schedule: makes td runnable. If it outranks the running thread it
 * runs before lwkt_schedule returns, or, inside a critical section, at the
 * outermost crit_exit. Another CPU's thread is scheduled by its owner, which
 * an IPI asks to (lwkt_schedule_remote): asynchronously, so it may not have
 * happened yet when this returns.
 * Context: thread; any CPU's thread, not an idle thread, not an exited
 * thread; may spin (draining this CPU's IPIs) while the owner's FIFO is full.
 */
export function lwkt_schedule(td: thread): void {
  const gd = mycpu();
  if (td === td.td_gd.gd_idlethread) panic("lwkt_schedule: the idle thread");
  if ((td.td_flags & TDF_EXITING) != 0) panic("lwkt_schedule: an exited thread");
  if (td.td_gd !== gd) {
    lwkt_send_ipiq(td.td_gd, lwkt_schedule_remote, changetype<usize>(td));
    return;
  }
  crit_enter();
  _lwkt_enqueue(gd, td);
  crit_exit();
}

/*
 * lwkt_schedule_remote: lwkt_schedule's IPI handler, run by td's owner; a
 * thread that outranks the interrupted one runs when the interrupt returns.
 * Context: IPI handler on td's owner CPU.
 */
function lwkt_schedule_remote(arg1: u32, arg2: u32, frame: u32): void {
  const td = changetype<thread>(<usize>arg1);
  const gd = _lwkt_owner(td, "lwkt_schedule_remote: not run by the owner");
  if ((td.td_flags & TDF_EXITING) != 0) panic("lwkt_schedule_remote: an exited thread");
  _lwkt_enqueue(gd, td);
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

/*
 * lwkt_setpri: td's priority becomes pri (0..TDPRI_MAX); a runnable td goes
 * to the end of its new priority's queue. Lowering the caller's own
 * priority does not switch: lwkt_yield does. Raising another thread above
 * the caller reschedules, as lwkt_schedule does.
 * Context: thread; td must belong to this CPU.
 */
export function lwkt_setpri(td: thread, pri: i32): void {
  const gd = _lwkt_owner(td, "lwkt_setpri: another cpu's thread");
  if (pri < 0 || pri > TDPRI_MAX) panic("lwkt_setpri: priority out of range");
  crit_enter();
  if ((td.td_flags & TDF_RUNQ) != 0) {
    _lwkt_dequeue(gd, td);
    td.td_pri = pri;
    _lwkt_enqueue(gd, td);
  } else {
    td.td_pri = pri;
  }
  crit_exit();
}

// ---- creation and exit ---------------------------------------------------------------

/*
 * Every thread's first code: turns interrupts on (stack_init starts it with
 * them off), leaves the critical section it was switched to in, runs its
 * function, exits.
 */
function lwkt_thread_start(arg: u32): void {
  const td = changetype<thread>(<usize>arg);
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
    memory.fill(changetype<usize>(td), 0, offsetof<thread>());
    td.td_kstack = kstack;
    td.td_sleeptimer = sleeptimer;
    return td;
  }
  const fresh = changetype<thread>(bootalloc(offsetof<thread>(), 64));
  fresh.td_kstack = bootalloc(LWKT_STACK_BYTES, 16);
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
  _lwkt_allq_insert(gd, td);
  return td;
}

/*
 * lwkt_create: a thread on this CPU that runs func(arg) at priority pri and
 * exits when func returns. It is scheduled at once, so it runs before
 * lwkt_create returns if it outranks the caller outside a critical section.
 * Context: thread; the thread belongs to this CPU for life (creating one for
 * another CPU will take an IPI: not yet).
 */
export function lwkt_create(func: (arg: u32) => void, arg: u32, pri: i32): thread {
  if (pri < 0 || pri > TDPRI_MAX) panic("lwkt_create: priority out of range");
  const gd = mycpu();
  crit_enter();
  const td = lwkt_init_thread(gd, func.index, arg, pri);
  _lwkt_enqueue(gd, td);
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
  gd.gd_curthread = td;
  _lwkt_allq_insert(gd, td);
  _lwkt_enqueue(gd, td);
  gd.gd_idlethread = lwkt_init_thread(gd, lwkt_idle_loop.index, 0, TDPRI_IDLE_THREAD);
  atomic.store<u32>(globaldata_table + <usize>gd.gd_cpuid * 4, <u32>changetype<usize>(gd));
}

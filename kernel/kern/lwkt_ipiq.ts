// IPI messaging: asking another CPU to run a function (reference
// dragonfly.md §3.1–§3.3).
//
// The model. Every ordered pair of CPUs (source S, target T) has its own
// FIFO, lwkt_ipiq, owned by S: S->gd_ipiq[T]. S alone writes entries and
// ip_windex; T alone advances ip_rindex (an entry is taken) and ip_xindex
// (its function has returned). So a queue needs no lock, only ordered
// loads and stores (x86 is TSO; the indexes are atomics), and the entries
// of one pair run in the order they were sent. The indexes run freely and
// are masked with MAXCPUFIFO - 1; the number in use is windex - rindex.
//
// The doorbell. After queueing, S sets its bit in T->gd_ipimask and sends
// T a hardware IPI only if it is the one to take T->gd_npoll from 0 to 1:
// while T has an IPI on its way or is processing, further senders only
// queue (the hardware IPIs avoided are counted). T clears gd_npoll when its
// queues are empty, then looks at gd_ipimask once more: a sender that queued
// just before and found gd_npoll still set would otherwise wait forever.
//
// Handlers run with the target in a critical section and
// gd_intr_nesting_level raised: they may send IPIs and schedule threads,
// NEVER SWITCH OR BLOCK. An IPI that arrives while the target's thread is in
// a critical section sets RQF_IPIQ and runs at the outermost crit_exit
// (lwkt_thread.ts); the idle loop and every spinning sender poll too.
//
// Full FIFOs. A sender finding more than half its FIFO in use spins, with
// interrupts on, until a quarter is left, and while it spins it processes
// its OWN incoming queues: two CPUs flooding each other both drain, so
// neither waits on the other for ever. The usable depth is a per-CPU limit
// (lwkt_ipiq_setfifo), MAXCPUFIFO at most, so tests can make FIFOs tiny.

import { cli, pause, read_rflags, sti } from "../hw";
import { lapicSendIpi } from "../smp";
import { IPI_VECTOR_IPIQ, RFLAGS_IF } from "../arch/x86_64/frame";
import { bootalloc } from "./kern_bootalloc";
import { panic } from "./kern_shutdown";
import { MAXCPU, crit_enter, crit_exit, globaldata, globaldata_find, mycpu } from "./lwkt_thread";
import { lwkt_cpusync_poll } from "./lwkt_cpusync";

/** Slots per FIFO (a power of two). */
export const MAXCPUFIFO: u32 = 32;
/** lwkt_send_ipiq3_nowait's refusal. */
export const ENOENT: i32 = 2;

/*
 * An IPI handler: arg1 and arg2 as sent; frame is the interrupt's trap frame
 * when the hardware IPI runs it, 0 when it runs from a poll or a send.
 */
export type ipifunc_t = (arg1: u32, arg2: u32, frame: u32) => void;

/*
 * One (source, target) FIFO; its MAXCPUFIFO entries {func, arg1, arg2} of
 * IPIQ_ENTRY_BYTES follow at IPIQ_INFO.
 */
@unmanaged
export class lwkt_ipiq {
  // The source CPU writes:
  ip_windex: u32; // entries queued
  ip_sent: u32; // counter: entries sent
  ip_hwipis: u32; // counter: hardware IPIs sent (FIFO-full kicks included)
  ip_avoided: u32; // counter: sends that found an IPI on its way and sent none
  ip_passive: u32; // counter: passive sends
  ip_fifofull: u32; // counter: sends that waited for room
  // The target CPU writes:
  ip_rindex: u32; // entries taken
  ip_xindex: u32; // entries whose function has returned
  ip_received: u32; // counter: entries run
}

const IPIQ_INFO: usize = 64;
const IPIQ_ENTRY_BYTES: usize = 16;
const IPIQ_BYTES: usize = IPIQ_INFO + <usize>MAXCPUFIFO * IPIQ_ENTRY_BYTES;

/** Per CPU: the usable depth of this CPU's outgoing FIFOs. */
let ipiq_fifo: u32 = MAXCPUFIFO;

/** Bit n: CPU n takes IPIs (it has queues, a local APIC and interrupts on). Atomics. */
const smp_active: usize = memory.data(8, 8);

function ipiq(source: globaldata, target: u32): lwkt_ipiq {
  return changetype<lwkt_ipiq>(source.gd_ipiq + <usize>target * IPIQ_BYTES);
}

function ipiq_slot(ip: lwkt_ipiq, index: u32): usize {
  return changetype<usize>(ip) + IPIQ_INFO + <usize>(index & (MAXCPUFIFO - 1)) * IPIQ_ENTRY_BYTES;
}

// Addresses of the fields other CPUs read or write, for atomic.*.
function ip_windex_p(ip: lwkt_ipiq): usize { return changetype<usize>(ip) + offsetof<lwkt_ipiq>("ip_windex"); }
function ip_rindex_p(ip: lwkt_ipiq): usize { return changetype<usize>(ip) + offsetof<lwkt_ipiq>("ip_rindex"); }
function ip_xindex_p(ip: lwkt_ipiq): usize { return changetype<usize>(ip) + offsetof<lwkt_ipiq>("ip_xindex"); }
function gd_ipimask_p(gd: globaldata): usize { return changetype<usize>(gd) + offsetof<globaldata>("gd_ipimask"); }
function gd_npoll_p(gd: globaldata): usize { return changetype<usize>(gd) + offsetof<globaldata>("gd_npoll"); }

/* In use in a FIFO, as the source sees it (the target only ever frees). */
function ipiq_inuse(ip: lwkt_ipiq): u32 {
  return ip.ip_windex - atomic.load<u32>(ip_rindex_p(ip));
}

/*
 * lwkt_ipiq_gdinit: this CPU's outgoing FIFOs, one per possible target.
 * Context: once per CPU, after lwkt_gdinit, before lwkt_ipiq_online.
 */
export function lwkt_ipiq_gdinit(): void {
  mycpu().gd_ipiq = bootalloc(<usize>MAXCPU * IPIQ_BYTES, 64);
}

/*
 * lwkt_ipiq_online: other CPUs may send IPIs here from now on.
 * Context: once per CPU, with its local APIC enabled and interrupts on.
 */
export function lwkt_ipiq_online(): void {
  atomic.or<u64>(smp_active, <u64>1 << mycpu().gd_cpuid);
}

/*
 * smp_active_mask: the CPUs that take IPIs (bit n: CPU n).
 * Context: any.
 */
export function smp_active_mask(): u64 {
  return atomic.load<u64>(smp_active);
}

/*
 * lwkt_ipiq_setfifo: the depth this CPU's sends may use, 4..MAXCPUFIFO (the
 * full-FIFO thresholds are a half and a quarter of it); returns the old one.
 * Lowering it with entries queued is safe: senders wait for the new quarter.
 * Context: any thread of this CPU.
 */
export function lwkt_ipiq_setfifo(depth: u32): u32 {
  if (depth < 4 || depth > MAXCPUFIFO) panic("lwkt_ipiq_setfifo: depth out of range");
  const old = ipiq_fifo;
  ipiq_fifo = depth;
  return old;
}

/*
 * lwkt_ipiq_counters: the (source, target) pair's FIFO, for its counters
 * and indexes.
 * Context: any; the counters are read racily.
 */
export function lwkt_ipiq_counters(source: u32, target: u32): lwkt_ipiq {
  return ipiq(globaldata_find(source), target);
}

// ---- sending -------------------------------------------------------------------------

/* Rings target's doorbell unless it already has an IPI on its way. */
function _lwkt_ipiq_kick(ip: lwkt_ipiq, target: globaldata): bool {
  if (atomic.cmpxchg<u32>(gd_npoll_p(target), 0, 1) != 0) return false;
  ip.ip_hwipis++;
  lapicSendIpi(target.gd_apicid, IPI_VECTOR_IPIQ);
  return true;
}

/*
 * Waits, interrupts on, until ip has no more than a quarter of the depth in
 * use, processing this CPU's own queues meanwhile: the target may be
 * spinning on a full FIFO towards us.
 */
function _lwkt_ipiq_wait_room(ip: lwkt_ipiq, target: globaldata): void {
  ip.ip_fifofull++;
  const rflags = read_rflags();
  sti();
  while (ipiq_inuse(ip) > ipiq_fifo / 4) {
    _lwkt_ipiq_kick(ip, target);
    lwkt_process_ipiq();
    pause();
  }
  if ((rflags & RFLAGS_IF) == 0) cli();
}

/* Appends an entry and sets our bit in the target's mask; the new windex. */
function _lwkt_ipiq_put(gd: globaldata, ip: lwkt_ipiq, target: globaldata, func: u32, arg1: u32, arg2: u32): u32 {
  const windex = ip.ip_windex;
  const slot = ipiq_slot(ip, windex);
  store<u32>(slot, func);
  store<u32>(slot, arg1, 4);
  store<u32>(slot, arg2, 8);
  // The entry is written before windex shows it (TSO; the atomic store is a full barrier).
  atomic.store<u32>(ip_windex_p(ip), windex + 1);
  atomic.or<u64>(gd_ipimask_p(target), <u64>1 << gd.gd_cpuid);
  ip.ip_sent++;
  return windex + 1;
}

/*
 * _lwkt_send_ipiq: the body of lwkt_send_ipiq3 and its passive form, which
 * differ only in whether the target is kicked with a hardware IPI.
 */
function _lwkt_send_ipiq(target: globaldata, func: ipifunc_t, arg1: u32, arg2: u32, passive: bool): u32 {
  const gd = mycpu();
  if (target === gd) {
    call_indirect<void>(func.index, arg1, arg2, 0);
    return 0;
  }
  crit_enter();
  gd.gd_intr_nesting_level++;
  const ip = ipiq(gd, target.gd_cpuid);
  if (ipiq_inuse(ip) > ipiq_fifo / 2) _lwkt_ipiq_wait_room(ip, target);
  const seq = _lwkt_ipiq_put(gd, ip, target, func.index, arg1, arg2);
  if (passive) ip.ip_passive++;
  else if (!_lwkt_ipiq_kick(ip, target)) ip.ip_avoided++;
  gd.gd_intr_nesting_level--;
  crit_exit();
  return seq;
}

/*
 * lwkt_send_ipiq3: runs func(arg1, arg2) on target: at once and
 * synchronously if target is this CPU, else queued behind this CPU's earlier
 * sends to target. Returns the entry's sequence number for lwkt_wait_ipiq
 * (0 for this CPU). When the FIFO is over half full it spins, processing
 * this CPU's own incoming IPIs with interrupts on, until a quarter is left.
 * Context: any thread or IPI handler, critical section or not; interrupts
 * may be off (they are on while it spins); switches only as its closing
 * crit_exit may (a thread its spinning made runnable), never when called
 * in a critical section.
 */
export function lwkt_send_ipiq3(target: globaldata, func: ipifunc_t, arg1: u32, arg2: u32): u32 {
  return _lwkt_send_ipiq(target, func, arg1, arg2, false);
}

/*
 * lwkt_send_ipiq: lwkt_send_ipiq3 with arg2 = 0.
 * Context: as lwkt_send_ipiq3.
 */
export function lwkt_send_ipiq(target: globaldata, func: ipifunc_t, arg1: u32): u32 {
  return lwkt_send_ipiq3(target, func, arg1, 0);
}

/*
 * lwkt_send_ipiq3_passive: lwkt_send_ipiq3 without the hardware IPI (unless
 * the FIFO is full): the entry waits until the target polls its queues (an
 * IPI from elsewhere, its idle loop, a spinning send, lwkt_process_ipiq).
 * For work that can wait.
 * Context: as lwkt_send_ipiq3.
 */
export function lwkt_send_ipiq3_passive(target: globaldata, func: ipifunc_t, arg1: u32, arg2: u32): u32 {
  return _lwkt_send_ipiq(target, func, arg1, arg2, true);
}

/*
 * lwkt_send_ipiq3_nowait: lwkt_send_ipiq3 that never spins: ENOENT, and
 * nothing sent, when two thirds of the FIFO or more are in use; else 0.
 * Context: in a critical section (the caller cannot wait, so it must not be
 * switched away either); any CPU; never switches.
 */
export function lwkt_send_ipiq3_nowait(target: globaldata, func: ipifunc_t, arg1: u32, arg2: u32): i32 {
  const gd = mycpu();
  if (gd.gd_curthread.td_critcount <= 0) panic("lwkt_send_ipiq3_nowait: not in a critical section");
  if (target === gd) {
    call_indirect<void>(func.index, arg1, arg2, 0);
    return 0;
  }
  const ip = ipiq(gd, target.gd_cpuid);
  if (ipiq_inuse(ip) >= ipiq_fifo * 2 / 3) return ENOENT;
  gd.gd_intr_nesting_level++;
  _lwkt_ipiq_put(gd, ip, target, func.index, arg1, arg2);
  if (!_lwkt_ipiq_kick(ip, target)) ip.ip_avoided++;
  gd.gd_intr_nesting_level--;
  return 0;
}

/*
 * lwkt_send_ipiq3_bycpu: lwkt_send_ipiq3 to CPU index `cpu`.
 * Context: as lwkt_send_ipiq3.
 */
export function lwkt_send_ipiq3_bycpu(cpu: u32, func: ipifunc_t, arg1: u32, arg2: u32): u32 {
  return lwkt_send_ipiq3(globaldata_find(cpu), func, arg1, arg2);
}

/*
 * lwkt_send_ipiq3_mask: lwkt_send_ipiq3 to every CPU of `mask` that takes
 * IPIs, in CPU order (this CPU's call, if in the mask, runs at its turn);
 * returns how many.
 * Context: as lwkt_send_ipiq3.
 */
export function lwkt_send_ipiq3_mask(mask: u64, func: ipifunc_t, arg1: u32, arg2: u32): i32 {
  let n = 0;
  mask &= smp_active_mask();
  while (mask != 0) {
    const cpu = <u32>ctz<u64>(mask);
    mask &= mask - 1;
    lwkt_send_ipiq3(globaldata_find(cpu), func, arg1, arg2);
    n++;
  }
  return n;
}

/*
 * lwkt_seq_ipiq: the sequence number of this CPU's latest send to target.
 * Context: any.
 */
export function lwkt_seq_ipiq(target: globaldata): u32 {
  const gd = mycpu();
  return target === gd ? 0 : ipiq(gd, target.gd_cpuid).ip_windex;
}

/*
 * lwkt_wait_ipiq: returns once target has run this CPU's sends up to the
 * one numbered seq (lwkt_send_ipiq3's result, or lwkt_seq_ipiq's), spinning
 * with interrupts on and processing this CPU's own queues meanwhile. It
 * rings the target's doorbell too: a passive send would otherwise wait.
 * Context: as lwkt_send_ipiq3.
 */
export function lwkt_wait_ipiq(target: globaldata, seq: u32): void {
  const gd = mycpu();
  if (target === gd) return;
  const ip = ipiq(gd, target.gd_cpuid);
  if (<i32>(seq - atomic.load<u32>(ip_xindex_p(ip))) <= 0) return;
  crit_enter();
  const rflags = read_rflags();
  sti();
  while (<i32>(seq - atomic.load<u32>(ip_xindex_p(ip))) > 0) {
    _lwkt_ipiq_kick(ip, target);
    lwkt_process_ipiq();
    pause();
  }
  if ((rflags & RFLAGS_IF) == 0) cli();
  crit_exit();
}

// ---- receiving -----------------------------------------------------------------------

/*
 * Runs the entries source has queued for gd, up to the windex read on entry.
 * Each entry is taken (rindex) before its function runs, so the slot is the
 * sender's again at once, and finished (xindex) after. Re-entrant: a handler
 * that sends may process this queue again meanwhile, so rindex is re-read
 * for every entry. Returns whether more came meanwhile.
 * XXX: the nested pass then sets xindex past the outer entry, whose function
 * has not returned yet; lwkt_wait_ipiq would return early for it.
 */
function _lwkt_process_ipiq_core(gd: globaldata, ip: lwkt_ipiq, frame: u32): bool {
  const windex = atomic.load<u32>(ip_windex_p(ip));
  gd.gd_intr_nesting_level++;
  while (true) {
    const rindex = atomic.load<u32>(ip_rindex_p(ip));
    if (<i32>(windex - rindex) <= 0) break;
    const slot = ipiq_slot(ip, rindex);
    const func = load<u32>(slot);
    const arg1 = load<u32>(slot, 4);
    const arg2 = load<u32>(slot, 8);
    atomic.store<u32>(ip_rindex_p(ip), rindex + 1);
    ip.ip_received++;
    call_indirect<void>(func, arg1, arg2, frame);
    atomic.store<u32>(ip_xindex_p(ip), atomic.load<u32>(ip_rindex_p(ip)));
  }
  gd.gd_intr_nesting_level--;
  return atomic.load<u32>(ip_windex_p(ip)) != windex;
}

/*
 * lwkt_process_ipiq_frame: runs everything queued for this CPU, from every
 * source, each source's entries in order; `frame` goes to the handlers. A
 * CPU parked by a cpusync (lwkt_cpusync.ts) stays here, processing, until
 * its masters let it go, unless it is a master itself. Ends by releasing
 * gd_npoll and then looking at gd_ipimask again, which closes the race
 * with a sender that queued while gd_npoll was still set.
 * Context: in a critical section (ktrap's IPI vector, crit_exit, a poll);
 * interrupts on or off.
 */
export function lwkt_process_ipiq_frame(frame: u32): void {
  const gd = mycpu();
  if (gd.gd_curthread.td_critcount <= 0) panic("lwkt_process_ipiq: not in a critical section");
  const maskp = gd_ipimask_p(gd);
  while (true) {
    let mask = atomic.xchg<u64>(maskp, 0);
    while (mask != 0) {
      const source = <u32>ctz<u64>(mask);
      mask &= mask - 1;
      const ip = ipiq(globaldata_find(source), gd.gd_cpuid);
      while (_lwkt_process_ipiq_core(gd, ip, frame)) {}
    }
    if (lwkt_cpusync_poll() && gd.gd_curthread.td_cscount == 0) {
      pause();
      continue;
    }
    if (atomic.load<u64>(maskp) != 0) continue;
    atomic.store<u32>(gd_npoll_p(gd), 0);
    if (atomic.load<u64>(maskp) == 0) break;
  }
}

/*
 * lwkt_process_ipiq: lwkt_process_ipiq_frame without an interrupt frame.
 * Context: as lwkt_process_ipiq_frame.
 */
export function lwkt_process_ipiq(): void {
  lwkt_process_ipiq_frame(0);
}

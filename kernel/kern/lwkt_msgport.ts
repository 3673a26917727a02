// LWKT message ports (reference dragonfly.md §2): a request is an
// lwkt_msg sent to an lwkt_port; whoever serves the port replies to the
// message's reply port; the sender waits for that reply (lwkt_domsg) or
// finds it later on its reply port (lwkt_sendmsg).
//
// The model. ONLY THE CURRENT OWNER TOUCHES A MESSAGE: the sender until it
// sends and again after the reply, the target side in between. ms_flags
// says where a message is: MSGF_DONE on a fresh message and from the reply
// on, clear in flight; MSGF_REPLY once replied; MSGF_QUEUED exactly while
// it is linked on a port's queue; MSGF_SYNC when its sender waits for this
// very message, whose reply then only wakes the sender and is never
// queued. The flags are changed with atomics, since a reply or a put may
// be finished by an IPI on another CPU while the owner looks at them.
// A port's queue holds requests and replies alike, MSGF_PRIORITY messages
// on a queue of their own that is always drained first.
//
// The port decides. Its putport either completes a request at once and
// returns its error (anything but EASYNC), which lwkt_domsg returns and
// lwkt_sendmsg turns into a reply, or takes it and returns EASYNC. Each
// port names a backend for each operation (mp_getport, mp_putport, ...);
// operations a kind of port does not have are the panic backend, never
// nothing. The backends:
//
//   thread     one owner thread (every thread's td_msgport is one): no
//              locks; a put or reply from another CPU goes to the owner's
//              CPU by IPI, which queues it and wakes the owner there (and
//              chases the owner if it has moved meanwhile). Only the owner
//              gets, waits and drops.
//   spin       a spinlock guards the queues: any thread of any CPU may put,
//              get and wait. Waiters ssleep on the port, or for MSGF_SYNC
//              on the message (MSGF_WAITING); the waker clears the waiting
//              flags, so wakeups may be spurious. Dropping needs an owner;
//              lwkt_sendmsg_oncpu needs a fixed CPU.
//   serialize  every caller holds the port's serializer (lwkt_serialize.ts);
//              waiters zsleep, which releases it while they sleep.
//   replyonly  a reply port only: a reply sets DONE|REPLY (the null one),
//              or calls a function, typically one that frees the message
//              (a "dispose" port, for fire-and-forget sends).
//   putonly    a put calls a function; it is not a reply port.
//   panic      every operation panics: a placeholder.
//
// Sleeping on a thread port is lwkt_deschedule + lwkt_switch in a critical
// section: only the owner's CPU changes the port, and it wakes the owner
// with lwkt_schedule. The PCATCH waits DragonFly has are refused (panic):
// there are no signals yet, so lwkt_abortmsg is only ever called directly.
//
// Counters per CPU: messages sent (sendmsg, domsg, forwardmsg), received
// (taken off a port by getport or waitport), replied, and the put and reply
// legs carried to another CPU by IPI; lwkt_msgport_counter reads them.

import { bootalloc } from "./kern_bootalloc";
import { panic } from "./kern_shutdown";
import { wakeup } from "./kern_synch";
import { spinlock, spin_init, spin_lock, spin_unlock, ssleep } from "./kern_spinlock";
import { ENOENT, lwkt_send_ipiq } from "./lwkt_ipiq";
import { lwkt_serialize, lwkt_serialize_is_held, zsleep } from "./lwkt_serialize";
import { MAXCPU, crit_enter, crit_exit, curthread, lwkt_deschedule, lwkt_schedule, lwkt_switch, mycpu, thread } from "./lwkt_thread";

/** putport's "taken, the reply will come later". */
export const EASYNC: i32 = 99;
/** A wait that a signal may interrupt: refused, there are no signals yet. */
export const PCATCH: i32 = 0x100;

/** ms_flags (§2.2); the high 16 bits belong to the message's user. */
export const MSGF_DONE: u32 = 0x1; // complete (and fresh): the originator owns it
export const MSGF_REPLY: u32 = 0x2; // replied; stays set after the reply is taken off its port
export const MSGF_QUEUED: u32 = 0x4; // linked on a port's queue
export const MSGF_SYNC: u32 = 0x8; // its sender waits for it: the reply is never queued
export const MSGF_INTRANSIT: u32 = 0x10; // carried by an IPI to the owner's CPU
export const MSGF_WAITING: u32 = 0x20; // spin and serializer ports: a SYNC waiter sleeps on it
export const MSGF_DROPABLE: u32 = 0x40; // lwkt_dropmsg may take it back; never waited on
export const MSGF_ABORTABLE: u32 = 0x80; // ms_abortfn is valid
export const MSGF_PRIORITY: u32 = 0x100; // goes on the priority queue, drained first
export const MSGF_USER0: u32 = 0x10000;
export const MSGF_USER1: u32 = 0x20000;
export const MSGF_USER2: u32 = 0x40000;
export const MSGF_USER3: u32 = 0x80000;

/** mp_flags. */
export const MSGPORTF_WAITING: u32 = 0x1; // a thread sleeps until something arrives or is replied here

/** Backends, for each of a port's operation slots. */
export const MP_PANIC: u8 = 0;
export const MP_THREAD: u8 = 1;
export const MP_SPIN: u8 = 2;
export const MP_SERIALIZE: u8 = 3;
export const MP_REPLYONLY_NULL: u8 = 4;
export const MP_REPLYONLY: u8 = 5;
export const MP_PUTONLY: u8 = 6;

/** Counters (lwkt_msgport_counter). */
export const MSGCNT_SENT: i32 = 0;
export const MSGCNT_RECEIVED: i32 = 1;
export const MSGCNT_REPLIED: i32 = 2;
export const MSGCNT_CROSSCPU: i32 = 3;
export const MSGCNT_COUNT: i32 = 4;

/*
 * A message, normally the head of a bigger request. Its owner (the model)
 * writes the fields; ms_flags changes by atomics.
 */
@unmanaged
export class lwkt_msg {
  ms_next: lwkt_msg | null; // ms_node: the queue it is on, while MSGF_QUEUED
  ms_prev: lwkt_msg | null;
  ms_target_port: lwkt_port | null; // where it was put last
  ms_reply_port: lwkt_port | null;
  ms_abortfn: u32; // while MSGF_ABORTABLE: a function index, (msg: lwkt_msg) => void
  ms_flags: u32;
  ms_error: i32; // the reply's error
  ms_result: u64; // the result union (ms_result, ms_lresult, ms_result64, ...)
}

/*
 * A port. The queues and mp_flags are guarded by the backend's rule: the
 * owner CPU's critical section (thread), mp_spin (spin), the serializer
 * (serialize).
 */
@unmanaged
export class lwkt_port {
  mp_msgq: lwkt_msg | null;
  mp_msgq_tail: lwkt_msg | null;
  mp_msgq_prio: lwkt_msg | null;
  mp_msgq_prio_tail: lwkt_msg | null;
  mp_flags: u32;
  mp_cpuid: i32; // a fixed-CPU spin port's CPU, else -1
  mp_spin: u32; // mp_u: the spin port's spinlock
  mp_serialize: lwkt_serialize | null; // mp_u: the serializer port's serializer
  mp_func: u32; // mp_u: the putonly or replyonly function's index
  mpu_td: thread | null; // the owner: thread ports, spin ports that allow dropmsg
  mp_getport: u8;
  mp_putport: u8;
  mp_waitmsg: u8;
  mp_waitport: u8;
  mp_replyport: u8;
  mp_dropmsg: u8;
  mp_putport_oncpu: u8;
}

/*
 * Per CPU, MSGCNT_COUNT counters (u32): each CPU adds to its own row, any
 * reads. MSGPORT_MAXCPU rows: lwkt_thread.ts imports this file, so its MAXCPU
 * is not yet declared where this is (lwkt_msgport_counter checks they agree).
 */
const MSGPORT_MAXCPU: u32 = 64;
const msgport_counters: usize = memory.data(<i32>MSGPORT_MAXCPU * MSGCNT_COUNT * 4, 4);

/* Adds one to this CPU's counter `which`; atomic, for IPI handlers count too. */
function _count(which: i32): void {
  atomic.add<u32>(msgport_counters + (<usize>mycpu().gd_cpuid * <usize>MSGCNT_COUNT + <usize>which) * 4, 1);
}

/*
 * lwkt_msgport_counter: CPU cpu's counter `which` (MSGCNT_*).
 * Context: any; read racily.
 */
export function lwkt_msgport_counter(cpu: u32, which: i32): u32 {
  if (MSGPORT_MAXCPU != MAXCPU) panic("lwkt_msgport: MSGPORT_MAXCPU is not MAXCPU");
  if (cpu >= MAXCPU || which < 0 || which >= MSGCNT_COUNT) panic("lwkt_msgport_counter: no such counter");
  return atomic.load<u32>(msgport_counters + (<usize>cpu * <usize>MSGCNT_COUNT + <usize>which) * 4);
}

// ms_flags, always by atomics: an IPI handler on another CPU may be changing other bits.
function ms_flags_p(msg: lwkt_msg): usize {
  return changetype<usize>(msg) + offsetof<lwkt_msg>("ms_flags");
}

function _msg_flags(msg: lwkt_msg): u32 {
  return atomic.load<u32>(ms_flags_p(msg));
}

function _msg_set(msg: lwkt_msg, flags: u32): void {
  atomic.or<u32>(ms_flags_p(msg), flags);
}

function _msg_clear(msg: lwkt_msg, flags: u32): void {
  atomic.and<u32>(ms_flags_p(msg), ~flags);
}

/* The spin port's lock, which lives in mp_spin. */
function _port_spin(port: lwkt_port): spinlock {
  return changetype<spinlock>(changetype<usize>(port) + offsetof<lwkt_port>("mp_spin"));
}

// ---- queues (the caller holds the port's guard) --------------------------------------

/* Links msg at the tail of its queue (the priority one for MSGF_PRIORITY). */
function _lwkt_pushmsg(port: lwkt_port, msg: lwkt_msg): void {
  if ((_msg_flags(msg) & MSGF_QUEUED) != 0) panic("lwkt_msgport: queueing a message that is queued");
  _msg_set(msg, MSGF_QUEUED);
  msg.ms_next = null;
  if ((_msg_flags(msg) & MSGF_PRIORITY) != 0) {
    msg.ms_prev = port.mp_msgq_prio_tail;
    if (port.mp_msgq_prio_tail) port.mp_msgq_prio_tail!.ms_next = msg;
    else port.mp_msgq_prio = msg;
    port.mp_msgq_prio_tail = msg;
  } else {
    msg.ms_prev = port.mp_msgq_tail;
    if (port.mp_msgq_tail) port.mp_msgq_tail!.ms_next = msg;
    else port.mp_msgq = msg;
    port.mp_msgq_tail = msg;
  }
}

/* Unlinks a queued msg. */
function _lwkt_pullmsg(port: lwkt_port, msg: lwkt_msg): void {
  if ((_msg_flags(msg) & MSGF_QUEUED) == 0) panic("lwkt_msgport: pulling a message that is not queued");
  const prio = (_msg_flags(msg) & MSGF_PRIORITY) != 0;
  if (msg.ms_prev) msg.ms_prev!.ms_next = msg.ms_next;
  else if (prio) port.mp_msgq_prio = msg.ms_next;
  else port.mp_msgq = msg.ms_next;
  if (msg.ms_next) msg.ms_next!.ms_prev = msg.ms_prev;
  else if (prio) port.mp_msgq_prio_tail = msg.ms_prev;
  else port.mp_msgq_tail = msg.ms_prev;
  msg.ms_next = null;
  msg.ms_prev = null;
  _msg_clear(msg, MSGF_QUEUED);
}

/* The next message to take: the priority queue's first, else the normal queue's. */
function _lwkt_pollmsg(port: lwkt_port): lwkt_msg | null {
  return port.mp_msgq_prio ? port.mp_msgq_prio : port.mp_msgq;
}

/* Takes the next message off port, or null. */
function _lwkt_takemsg(port: lwkt_port): lwkt_msg | null {
  const msg = _lwkt_pollmsg(port);
  if (msg) {
    _lwkt_pullmsg(port, msg);
    _count(MSGCNT_RECEIVED);
  }
  return msg;
}

/* An asynchronous reply: REPLY, on the queue, then DONE. */
function _lwkt_enqueue_reply(port: lwkt_port, msg: lwkt_msg): void {
  _msg_set(msg, MSGF_REPLY);
  _lwkt_pushmsg(port, msg);
  _msg_set(msg, MSGF_DONE);
}

// ---- messages ------------------------------------------------------------------------

/*
 * lwkt_initmsg: msg is fresh (DONE, plus `flags`) and replies go to rport.
 * Nothing else is touched.
 * Context: the message's owner.
 */
export function lwkt_initmsg(msg: lwkt_msg, rport: lwkt_port, flags: u32): void {
  atomic.store<u32>(ms_flags_p(msg), MSGF_DONE | flags);
  msg.ms_reply_port = rport;
}

/*
 * lwkt_initmsg_abortable: lwkt_initmsg, and lwkt_abortmsg will call
 * abortfn(msg) while the message is in flight.
 * Context: the message's owner.
 */
export function lwkt_initmsg_abortable(msg: lwkt_msg, rport: lwkt_port, flags: u32, abortfn: (msg: lwkt_msg) => void): void {
  lwkt_initmsg(msg, rport, flags | MSGF_ABORTABLE);
  msg.ms_abortfn = abortfn.index;
}

/*
 * lwkt_msg_sendcheck: why msg may not be sent now (no reply port, not DONE,
 * or QUEUED), or null; lwkt_sendmsg and lwkt_domsg panic with it.
 * Context: the message's owner.
 */
export function lwkt_msg_sendcheck(msg: lwkt_msg): string | null {
  if (!msg.ms_reply_port) return "lwkt_sendmsg: the message has no reply port";
  const flags = _msg_flags(msg);
  if ((flags & MSGF_DONE) == 0) return "lwkt_sendmsg: the message is in flight (not DONE)";
  if ((flags & MSGF_QUEUED) != 0) return "lwkt_sendmsg: the message is QUEUED";
  return null;
}

/* Panics unless msg may be sent (lwkt_msg_sendcheck). */
function _lwkt_assert_sendable(msg: lwkt_msg): void {
  const why = lwkt_msg_sendcheck(msg);
  if (why !== null) panic(why!);
}

/*
 * lwkt_checkmsg: whether msg is complete (DONE).
 * Context: the message's originator.
 */
export function lwkt_checkmsg(msg: lwkt_msg): bool {
  return (_msg_flags(msg) & MSGF_DONE) != 0;
}

/*
 * lwkt_sendmsg_prepare: the first half of lwkt_sendmsg: checks msg may be
 * sent and makes it an asynchronous request in flight.
 * Context: the message's owner.
 */
export function lwkt_sendmsg_prepare(msg: lwkt_msg): void {
  _lwkt_assert_sendable(msg);
  _msg_clear(msg, MSGF_REPLY | MSGF_SYNC | MSGF_DONE);
}

/*
 * lwkt_sendmsg_start: the second half of lwkt_sendmsg: puts msg on port;
 * a synchronous completion is replied, so it too ends up on the reply port.
 * Context: thread; as the port's putport (may spin on a full IPI FIFO).
 */
export function lwkt_sendmsg_start(port: lwkt_port, msg: lwkt_msg): void {
  _count(MSGCNT_SENT);
  const error = _lwkt_putport(port, msg);
  if (error != EASYNC) lwkt_replymsg(msg, error);
}

/*
 * lwkt_sendmsg: sends msg to port asynchronously: its reply comes to its
 * reply port, even when the port completes it at once. Not for forwarding.
 * Context: thread; msg fresh or complete (DONE, not QUEUED, with a reply port).
 */
export function lwkt_sendmsg(port: lwkt_port, msg: lwkt_msg): void {
  lwkt_sendmsg_prepare(msg);
  lwkt_sendmsg_start(port, msg);
}

/*
 * lwkt_sendmsg_oncpu: lwkt_sendmsg through the port's putport_oncpu: only
 * a fixed-CPU spin port has one, and only its CPU may call it.
 * Context: as lwkt_sendmsg, on the port's CPU.
 */
export function lwkt_sendmsg_oncpu(port: lwkt_port, msg: lwkt_msg): void {
  lwkt_sendmsg_prepare(msg);
  _count(MSGCNT_SENT);
  let error: i32;
  switch (port.mp_putport_oncpu) {
    case MP_SPIN: error = _spin_putport_oncpu(port, msg); break;
    default: panic("lwkt_sendmsg_oncpu: the port has no putport_oncpu"); return;
  }
  if (error != EASYNC) lwkt_replymsg(msg, error);
}

/*
 * lwkt_domsg: sends msg to port and waits for the reply; returns its
 * error. A port that completes it at once returns the error directly, with
 * DONE|REPLY set and nothing on the reply port. flags: 0 (PCATCH panics).
 * Context: thread that may wait on the reply port (its owner, for a thread
 * port); blocks.
 */
export function lwkt_domsg(port: lwkt_port, msg: lwkt_msg, flags: i32): i32 {
  _lwkt_assert_sendable(msg);
  _msg_clear(msg, MSGF_REPLY | MSGF_DONE);
  _msg_set(msg, MSGF_SYNC);
  _count(MSGCNT_SENT);
  const error = _lwkt_putport(port, msg);
  if (error == EASYNC) return lwkt_waitmsg(msg, flags);
  msg.ms_error = error;
  _msg_set(msg, MSGF_DONE | MSGF_REPLY);
  return error;
}

/*
 * lwkt_forwardmsg: passes a request in flight (not QUEUED, DONE or REPLY)
 * on to port; replies at once if that port completes it at once. Returns
 * the putport's result.
 * Context: the message's current owner (the target side), thread.
 */
export function lwkt_forwardmsg(port: lwkt_port, msg: lwkt_msg): i32 {
  if ((_msg_flags(msg) & (MSGF_QUEUED | MSGF_DONE | MSGF_REPLY)) != 0) panic("lwkt_forwardmsg: the message is not in flight");
  _count(MSGCNT_SENT);
  const error = _lwkt_putport(port, msg);
  if (error != EASYNC) lwkt_replymsg(msg, error);
  return error;
}

/*
 * lwkt_replymsg: completes msg with `error` through its reply port.
 * Context: the message's current owner (the target side); thread or IPI
 * handler as the reply port allows.
 */
export function lwkt_replymsg(msg: lwkt_msg, error: i32): void {
  const port = msg.ms_reply_port;
  if (!port) panic("lwkt_replymsg: the message has no reply port");
  if ((_msg_flags(msg) & (MSGF_DONE | MSGF_QUEUED)) != 0) panic("lwkt_replymsg: the message is DONE or QUEUED");
  msg.ms_error = error;
  _count(MSGCNT_REPLIED);
  switch (port!.mp_replyport) {
    case MP_THREAD: _thread_replyport(port!, msg); break;
    case MP_SPIN: _spin_replyport(port!, msg); break;
    case MP_SERIALIZE: _serialize_replyport(port!, msg); break;
    case MP_REPLYONLY_NULL: _msg_set(msg, MSGF_DONE | MSGF_REPLY); break;
    case MP_REPLYONLY: call_indirect<void>(port!.mp_func, changetype<usize>(port), changetype<usize>(msg)); break;
    default: panic("lwkt_replymsg: the reply port takes no replies");
  }
}

/*
 * lwkt_waitmsg: waits until msg is DONE, takes it off its reply port if it
 * was queued there, and returns its error. flags: 0 (PCATCH panics).
 * Context: thread that may wait on the reply port; not a DROPABLE message;
 * blocks.
 */
export function lwkt_waitmsg(msg: lwkt_msg, flags: i32): i32 {
  if ((_msg_flags(msg) & MSGF_DROPABLE) != 0) panic("lwkt_waitmsg: a DROPABLE message");
  if ((flags & PCATCH) != 0) panic("lwkt_waitmsg: PCATCH, and there are no signals yet");
  const port = msg.ms_reply_port;
  if (!port) panic("lwkt_waitmsg: the message has no reply port");
  switch (port!.mp_waitmsg) {
    case MP_THREAD: return _thread_waitmsg(port!, msg);
    case MP_SPIN: return _spin_waitmsg(port!, msg);
    case MP_SERIALIZE: return _serialize_waitmsg(port!, msg);
    default: panic("lwkt_waitmsg: nobody may wait on the reply port"); return 0;
  }
}

/*
 * lwkt_abortmsg: asks for msg to be aborted: if it is ABORTABLE and still
 * in flight (neither DONE nor REPLY), calls its ms_abortfn, which may
 * block. Only a request: the target still replies, and a waiter still
 * waits for DONE.
 * Context: thread (the originator, typically).
 */
export function lwkt_abortmsg(msg: lwkt_msg): void {
  crit_enter();
  const flags = _msg_flags(msg);
  if ((flags & MSGF_ABORTABLE) != 0 && (flags & (MSGF_DONE | MSGF_REPLY)) == 0) call_indirect<void>(msg.ms_abortfn, changetype<usize>(msg));
  crit_exit();
}

/*
 * lwkt_dropmsg: takes a DROPABLE request back off its target port: 0, with
 * DONE set, if it was still queued there and not a reply; else ENOENT.
 * Context: the target port's owner thread (thread and spin ports only).
 */
export function lwkt_dropmsg(msg: lwkt_msg): i32 {
  if ((_msg_flags(msg) & MSGF_DROPABLE) == 0) panic("lwkt_dropmsg: not a DROPABLE message");
  const port = msg.ms_target_port;
  if (!port) panic("lwkt_dropmsg: the message was never put");
  switch (port!.mp_dropmsg) {
    case MP_THREAD: return _thread_dropmsg(port!, msg);
    case MP_SPIN: return _spin_dropmsg(port!, msg);
    default: panic("lwkt_dropmsg: the port cannot drop messages"); return ENOENT;
  }
}

// ---- ports ---------------------------------------------------------------------------

/* A port of no backend: empty, every slot the panic backend. */
function _lwkt_initport(port: lwkt_port): void {
  memory.fill(changetype<usize>(port), 0, offsetof<lwkt_port>());
  port.mp_cpuid = -1;
}

/* The put slot's dispatch. */
function _lwkt_putport(port: lwkt_port, msg: lwkt_msg): i32 {
  switch (port.mp_putport) {
    case MP_THREAD: return _thread_putport(port, msg);
    case MP_SPIN: return _spin_putport(port, msg);
    case MP_SERIALIZE: return _serialize_putport(port, msg);
    case MP_PUTONLY: return call_indirect<i32>(port.mp_func, changetype<usize>(port), changetype<usize>(msg));
    default: panic("lwkt_msgport: putport on a port that takes no requests"); return 0;
  }
}

/*
 * lwkt_getport: takes the port's next message (priority queue first), or
 * null if it has none.
 * Context: as the port's backend allows (thread port: its owner).
 */
export function lwkt_getport(port: lwkt_port): lwkt_msg | null {
  switch (port.mp_getport) {
    case MP_THREAD: return _thread_getport(port);
    case MP_SPIN: return _spin_getport(port);
    case MP_SERIALIZE: return _serialize_getport(port);
    default: panic("lwkt_getport: the port has no getport"); return null;
  }
}

/*
 * lwkt_waitport: takes the port's next message, sleeping until there is
 * one. flags: 0 (PCATCH panics).
 * Context: thread, as the port's backend allows (thread port: its owner); blocks.
 */
export function lwkt_waitport(port: lwkt_port, flags: i32): lwkt_msg {
  if ((flags & PCATCH) != 0) panic("lwkt_waitport: PCATCH, and there are no signals yet");
  switch (port.mp_waitport) {
    case MP_THREAD: return _thread_waitport(port);
    case MP_SPIN: return _spin_waitport(port);
    case MP_SERIALIZE: return _serialize_waitport(port);
    default: panic("lwkt_waitport: the port has no waitport"); return changetype<lwkt_msg>(0);
  }
}

/*
 * lwkt_initport_thread: port belongs to td: only td gets, waits and drops.
 * Context: any, before the port is used.
 */
export function lwkt_initport_thread(port: lwkt_port, td: thread): void {
  _lwkt_initport(port);
  port.mpu_td = td;
  port.mp_getport = MP_THREAD;
  port.mp_putport = MP_THREAD;
  port.mp_waitmsg = MP_THREAD;
  port.mp_waitport = MP_THREAD;
  port.mp_replyport = MP_THREAD;
  port.mp_dropmsg = MP_THREAD;
}

/*
 * lwkt_initport_spin: a port any thread may use; with td, td may drop
 * messages; with fixed_cpuid >= 0, that CPU may lwkt_sendmsg_oncpu.
 * Context: any, before the port is used.
 */
export function lwkt_initport_spin(port: lwkt_port, td: thread | null, fixed_cpuid: i32): void {
  _lwkt_initport(port);
  spin_init(_port_spin(port));
  port.mpu_td = td;
  port.mp_cpuid = fixed_cpuid;
  port.mp_getport = MP_SPIN;
  port.mp_putport = MP_SPIN;
  port.mp_waitmsg = MP_SPIN;
  port.mp_waitport = MP_SPIN;
  port.mp_replyport = MP_SPIN;
  if (td) port.mp_dropmsg = MP_SPIN;
  if (fixed_cpuid >= 0) port.mp_putport_oncpu = MP_SPIN;
}

/*
 * lwkt_initport_serialize: a port whose every user holds slz.
 * Context: any, before the port is used.
 */
export function lwkt_initport_serialize(port: lwkt_port, slz: lwkt_serialize): void {
  _lwkt_initport(port);
  port.mp_serialize = slz;
  port.mp_getport = MP_SERIALIZE;
  port.mp_putport = MP_SERIALIZE;
  port.mp_waitmsg = MP_SERIALIZE;
  port.mp_waitport = MP_SERIALIZE;
  port.mp_replyport = MP_SERIALIZE;
}

/*
 * lwkt_initport_replyonly_null: a reply port whose replies only set
 * DONE|REPLY, for messages whose owner polls lwkt_checkmsg.
 * Context: any, before the port is used.
 */
export function lwkt_initport_replyonly_null(port: lwkt_port): void {
  _lwkt_initport(port);
  port.mp_replyport = MP_REPLYONLY_NULL;
}

/*
 * lwkt_initport_replyonly: a reply port whose replies call
 * rportfn(port, msg), which owns the message from then on (a dispose port
 * frees it).
 * Context: any, before the port is used.
 */
export function lwkt_initport_replyonly(port: lwkt_port, rportfn: (port: lwkt_port, msg: lwkt_msg) => void): void {
  _lwkt_initport(port);
  port.mp_func = rportfn.index;
  port.mp_replyport = MP_REPLYONLY;
}

/*
 * lwkt_initport_putonly: a port whose puts call pportfn(port, msg), which
 * returns the error of a completion at once, or EASYNC.
 * Context: any, before the port is used.
 */
export function lwkt_initport_putonly(port: lwkt_port, pportfn: (port: lwkt_port, msg: lwkt_msg) => i32): void {
  _lwkt_initport(port);
  port.mp_func = pportfn.index;
  port.mp_putport = MP_PUTONLY;
}

/*
 * lwkt_initport_panic: a placeholder port: every operation panics.
 * Context: any.
 */
export function lwkt_initport_panic(port: lwkt_port): void {
  _lwkt_initport(port);
}

/*
 * lwkt_thread_msgport_init: td's own port (td_msgport), a thread port,
 * allocated at td's first creation and kept when td is recycled.
 * Context: td's creator, before td runs.
 */
export function lwkt_thread_msgport_init(td: thread): void {
  if (changetype<usize>(td.td_msgport) == 0) td.td_msgport = changetype<lwkt_port>(bootalloc(offsetof<lwkt_port>(), 8));
  lwkt_initport_thread(td.td_msgport, td);
}

// ---- thread ports: one owner, its CPU's critical section -------------------------------

/* Wakes the owner if it sleeps on the port. Context: owner's CPU, critical section. */
function _thread_wake(port: lwkt_port): void {
  if ((port.mp_flags & MSGPORTF_WAITING) != 0) {
    port.mp_flags &= ~MSGPORTF_WAITING;
    lwkt_schedule(port.mpu_td!);
  }
}

/* The owner sleeps until _thread_wake (or any lwkt_schedule of it). Context: owner, critical section. */
function _thread_sleep(port: lwkt_port): void {
  port.mp_flags |= MSGPORTF_WAITING;
  const td = port.mpu_td!;
  lwkt_deschedule(td);
  lwkt_switch();
  port.mp_flags &= ~MSGPORTF_WAITING;
}

/* Panics with why unless the caller owns the thread port. */
function _thread_owner(port: lwkt_port, why: string): void {
  if (port.mpu_td !== curthread()) panic(why);
}

/*
 * Queues msg on the owner's CPU and wakes the owner: here in a critical
 * section, else by IPI (INTRANSIT meanwhile). Always EASYNC.
 * Context: thread or IPI handler, any CPU.
 */
function _thread_putport(port: lwkt_port, msg: lwkt_msg): i32 {
  const td = port.mpu_td!;
  msg.ms_target_port = port;
  if (td.td_gd === mycpu()) {
    crit_enter();
    _lwkt_pushmsg(port, msg);
    _thread_wake(port);
    crit_exit();
  } else {
    _msg_set(msg, MSGF_INTRANSIT);
    _count(MSGCNT_CROSSCPU);
    lwkt_send_ipiq(td.td_gd, _thread_putport_remote, <u32>changetype<usize>(msg));
  }
  return EASYNC;
}

/* The put's IPI, on the owner's CPU (or, if the owner has moved, on to its new one). */
function _thread_putport_remote(arg1: u32, arg2: u32, frame: u32): void {
  const msg = changetype<lwkt_msg>(<usize>arg1);
  const port = msg.ms_target_port!;
  const td = port.mpu_td!;
  if (td.td_gd !== mycpu()) {
    lwkt_send_ipiq(td.td_gd, _thread_putport_remote, arg1);
    return;
  }
  _msg_clear(msg, MSGF_INTRANSIT);
  _lwkt_pushmsg(port, msg);
  _thread_wake(port);
}

/*
 * Completes msg on the reply port owner's CPU (here, or by IPI with REPLY
 * and INTRANSIT set meanwhile): a SYNC message only becomes DONE|REPLY,
 * any other is queued as a reply; the owner is woken if it waits.
 * Context: thread or IPI handler, any CPU.
 */
function _thread_replyport(port: lwkt_port, msg: lwkt_msg): void {
  if ((_msg_flags(msg) & MSGF_INTRANSIT) != 0) panic("lwkt_replymsg: the message is in transit");
  const td = port.mpu_td!;
  if (td.td_gd === mycpu()) {
    crit_enter();
    if ((_msg_flags(msg) & MSGF_SYNC) != 0) _msg_set(msg, MSGF_DONE | MSGF_REPLY);
    else _lwkt_enqueue_reply(port, msg);
    _thread_wake(port);
    crit_exit();
  } else {
    _msg_set(msg, MSGF_INTRANSIT | MSGF_REPLY);
    _count(MSGCNT_CROSSCPU);
    lwkt_send_ipiq(td.td_gd, _thread_replyport_remote, <u32>changetype<usize>(msg));
  }
}

/* The reply's IPI, on the reply port owner's CPU (chasing it if it has moved). */
function _thread_replyport_remote(arg1: u32, arg2: u32, frame: u32): void {
  const msg = changetype<lwkt_msg>(<usize>arg1);
  const port = msg.ms_reply_port!;
  const td = port.mpu_td!;
  if (td.td_gd !== mycpu()) {
    lwkt_send_ipiq(td.td_gd, _thread_replyport_remote, arg1);
    return;
  }
  _msg_clear(msg, MSGF_INTRANSIT);
  if ((_msg_flags(msg) & MSGF_SYNC) != 0) _msg_set(msg, MSGF_DONE | MSGF_REPLY);
  else _lwkt_enqueue_reply(port, msg);
  _thread_wake(port);
}

/* Context: the owner. */
function _thread_getport(port: lwkt_port): lwkt_msg | null {
  _thread_owner(port, "lwkt_getport: not the thread port's owner");
  crit_enter();
  const msg = _lwkt_takemsg(port);
  crit_exit();
  return msg;
}

/* Context: the owner; blocks. */
function _thread_waitport(port: lwkt_port): lwkt_msg {
  _thread_owner(port, "lwkt_waitport: not the thread port's owner");
  crit_enter();
  let msg = _lwkt_takemsg(port);
  while (!msg) {
    _thread_sleep(port);
    msg = _lwkt_takemsg(port);
  }
  crit_exit();
  return msg!;
}

/* Sleeps until DONE (set on this CPU only), then takes a queued reply off. Context: the owner; blocks. */
function _thread_waitmsg(port: lwkt_port, msg: lwkt_msg): i32 {
  _thread_owner(port, "lwkt_waitmsg: not the reply port's owner");
  crit_enter();
  while ((_msg_flags(msg) & MSGF_DONE) == 0) _thread_sleep(port);
  if ((_msg_flags(msg) & MSGF_QUEUED) != 0) _lwkt_pullmsg(port, msg);
  crit_exit();
  return msg.ms_error;
}

/* Context: the owner. */
function _thread_dropmsg(port: lwkt_port, msg: lwkt_msg): i32 {
  _thread_owner(port, "lwkt_dropmsg: not the thread port's owner");
  crit_enter();
  let error = ENOENT;
  if ((_msg_flags(msg) & (MSGF_REPLY | MSGF_QUEUED)) == MSGF_QUEUED) {
    _lwkt_pullmsg(port, msg);
    _msg_set(msg, MSGF_DONE);
    error = 0;
  }
  crit_exit();
  return error;
}

// ---- spin ports: any thread, mp_spin -------------------------------------------------
// NO IPI UNDER mp_spin (kern_spinlock.ts): the wakeups come after the unlock.

/* Queues msg and wakes the port's sleepers, if any. Always EASYNC. Context: thread, any CPU. */
function _spin_putport(port: lwkt_port, msg: lwkt_msg): i32 {
  msg.ms_target_port = port;
  const spin = _port_spin(port);
  spin_lock(spin);
  _lwkt_pushmsg(port, msg);
  const waiting = (port.mp_flags & MSGPORTF_WAITING) != 0;
  port.mp_flags &= ~MSGPORTF_WAITING;
  spin_unlock(spin);
  if (waiting) wakeup(<u32>changetype<usize>(port));
  return EASYNC;
}

/* _spin_putport, from the port's fixed CPU only. */
function _spin_putport_oncpu(port: lwkt_port, msg: lwkt_msg): i32 {
  if (port.mp_cpuid != <i32>mycpu().gd_cpuid) panic("lwkt_sendmsg_oncpu: not on the port's cpu");
  return _spin_putport(port, msg);
}

/*
 * A SYNC message becomes DONE|REPLY and its sleeper (MSGF_WAITING) is
 * woken; any other is queued as a reply and the port's sleepers woken.
 * Context: thread, any CPU.
 */
function _spin_replyport(port: lwkt_port, msg: lwkt_msg): void {
  const spin = _port_spin(port);
  let ident: usize = 0;
  spin_lock(spin);
  if ((_msg_flags(msg) & MSGF_SYNC) != 0) {
    const waiting = (_msg_flags(msg) & MSGF_WAITING) != 0;
    _msg_clear(msg, MSGF_WAITING);
    _msg_set(msg, MSGF_DONE | MSGF_REPLY);
    if (waiting) ident = changetype<usize>(msg);
  } else {
    _lwkt_enqueue_reply(port, msg);
    if ((port.mp_flags & MSGPORTF_WAITING) != 0) ident = changetype<usize>(port);
    port.mp_flags &= ~MSGPORTF_WAITING;
  }
  spin_unlock(spin);
  if (ident != 0) wakeup(<u32>ident);
}

/* Context: thread, any CPU. */
function _spin_getport(port: lwkt_port): lwkt_msg | null {
  const spin = _port_spin(port);
  spin_lock(spin);
  const msg = _lwkt_takemsg(port);
  spin_unlock(spin);
  return msg;
}

/* Context: thread, any CPU; blocks. */
function _spin_waitport(port: lwkt_port): lwkt_msg {
  const spin = _port_spin(port);
  spin_lock(spin);
  const msg = _guarded_waitport(port);
  spin_unlock(spin);
  return msg;
}

/* Sleeps on the message (SYNC) or the port until DONE. Context: thread, any CPU; blocks. */
function _spin_waitmsg(port: lwkt_port, msg: lwkt_msg): i32 {
  const spin = _port_spin(port);
  spin_lock(spin);
  const error = _guarded_waitmsg(port, msg);
  spin_unlock(spin);
  return error;
}

// ---- waiting on a spin or serializer port, its guard held -------------------------------

/*
 * Sleeps on ident with the port's guard released meanwhile and held again
 * on return: mp_spin (ssleep) or the serializer (zsleep); a wakeup made by
 * the guard's next holder is not lost.
 */
function _guarded_sleep(port: lwkt_port, ident: usize): void {
  if (port.mp_serialize !== null) zsleep(<u32>ident, port.mp_serialize!, 0);
  else ssleep(<u32>ident, _port_spin(port), 0);
}

/* The next message, sleeping until there is one. Context: thread holding the port's guard; blocks. */
function _guarded_waitport(port: lwkt_port): lwkt_msg {
  let msg = _lwkt_takemsg(port);
  while (!msg) {
    port.mp_flags |= MSGPORTF_WAITING;
    _guarded_sleep(port, changetype<usize>(port));
    msg = _lwkt_takemsg(port);
  }
  return msg!;
}

/* Sleeps on the message (SYNC) or the port until DONE, then takes a queued reply off. Context: as _guarded_waitport. */
function _guarded_waitmsg(port: lwkt_port, msg: lwkt_msg): i32 {
  while ((_msg_flags(msg) & MSGF_DONE) == 0) {
    if ((_msg_flags(msg) & MSGF_SYNC) != 0) {
      _msg_set(msg, MSGF_WAITING);
      _guarded_sleep(port, changetype<usize>(msg));
    } else {
      port.mp_flags |= MSGPORTF_WAITING;
      _guarded_sleep(port, changetype<usize>(port));
    }
  }
  if ((_msg_flags(msg) & MSGF_QUEUED) != 0) _lwkt_pullmsg(port, msg);
  return msg.ms_error;
}

/* Context: the port's owner thread. */
function _spin_dropmsg(port: lwkt_port, msg: lwkt_msg): i32 {
  if (port.mpu_td !== curthread()) panic("lwkt_dropmsg: not the spin port's owner");
  const spin = _port_spin(port);
  let error = ENOENT;
  spin_lock(spin);
  if ((_msg_flags(msg) & (MSGF_REPLY | MSGF_QUEUED)) == MSGF_QUEUED) {
    _lwkt_pullmsg(port, msg);
    _msg_set(msg, MSGF_DONE);
    error = 0;
  }
  spin_unlock(spin);
  return error;
}

// ---- serializer ports: every caller holds mp_serialize ----------------------------------

/* The port's serializer; panics with why unless the caller holds it. */
function _serialize_held(port: lwkt_port, why: string): lwkt_serialize {
  const slz = port.mp_serialize!;
  if (!lwkt_serialize_is_held(slz)) panic(why);
  return slz;
}

/* As _spin_putport, under the serializer. Context: thread holding it. */
function _serialize_putport(port: lwkt_port, msg: lwkt_msg): i32 {
  _serialize_held(port, "lwkt_msgport: serializer port put without the serializer");
  msg.ms_target_port = port;
  _lwkt_pushmsg(port, msg);
  if ((port.mp_flags & MSGPORTF_WAITING) != 0) {
    port.mp_flags &= ~MSGPORTF_WAITING;
    wakeup(<u32>changetype<usize>(port));
  }
  return EASYNC;
}

/* As _spin_replyport, under the serializer. Context: thread holding it. */
function _serialize_replyport(port: lwkt_port, msg: lwkt_msg): void {
  _serialize_held(port, "lwkt_replymsg: serializer port reply without the serializer");
  if ((_msg_flags(msg) & MSGF_SYNC) != 0) {
    const waiting = (_msg_flags(msg) & MSGF_WAITING) != 0;
    _msg_clear(msg, MSGF_WAITING);
    _msg_set(msg, MSGF_DONE | MSGF_REPLY);
    if (waiting) wakeup(<u32>changetype<usize>(msg));
  } else {
    _lwkt_enqueue_reply(port, msg);
    if ((port.mp_flags & MSGPORTF_WAITING) != 0) {
      port.mp_flags &= ~MSGPORTF_WAITING;
      wakeup(<u32>changetype<usize>(port));
    }
  }
}

/* Context: thread holding the serializer. */
function _serialize_getport(port: lwkt_port): lwkt_msg | null {
  _serialize_held(port, "lwkt_getport: serializer port without the serializer");
  return _lwkt_takemsg(port);
}

/* Context: thread holding the serializer, released while it sleeps; blocks. */
function _serialize_waitport(port: lwkt_port): lwkt_msg {
  _serialize_held(port, "lwkt_waitport: serializer port without the serializer");
  return _guarded_waitport(port);
}

/* As _spin_waitmsg, zsleeping. Context: thread holding the serializer; blocks. */
function _serialize_waitmsg(port: lwkt_port, msg: lwkt_msg): i32 {
  _serialize_held(port, "lwkt_waitmsg: serializer port without the serializer");
  return _guarded_waitmsg(port, msg);
}

// Self-tests of LWKT message ports (lwkt_msgport.ts, reference §2.6) and
// of what they are built on (lwkt_serialize.ts). Every CPU runs each test
// at once, on its own messages and ports, except where a test shares a
// port among the CPUs (spin, serializer) or sends to another CPU's thread
// port; those meet at selftest_barrier, and every path passes the same
// barriers. A CPU's partner is the next CPU up (cyclically): itself when
// alone, where the cross-CPU paths become the same-CPU ones. Servers run
// above the boot thread (TDPRI_SOFT_NORM), so a request that reaches them
// is served before their CPU's boot thread goes on. Module globals are
// per CPU: a server counts into its own CPU's copy, which that CPU's boot
// thread checks.

import { cpu_id } from "../hw";
import { bootalloc } from "./kern_bootalloc";
import { tsleep, wakeup } from "./kern_synch";
import { smp_active_mask } from "./lwkt_ipiq";
import {
  EASYNC, MP_PANIC, MSGCNT_CROSSCPU, MSGCNT_RECEIVED, MSGCNT_REPLIED, MSGCNT_SENT, MSGF_ABORTABLE,
  MSGF_DONE, MSGF_DROPABLE, MSGF_INTRANSIT, MSGF_PRIORITY, MSGF_QUEUED, MSGF_REPLY, MSGF_SYNC, MSGF_USER0,
  MSGF_WAITING, lwkt_abortmsg, lwkt_checkmsg, lwkt_domsg, lwkt_dropmsg, lwkt_forwardmsg, lwkt_getport,
  lwkt_initmsg, lwkt_initmsg_abortable, lwkt_initport_panic, lwkt_initport_putonly, lwkt_initport_replyonly,
  lwkt_initport_replyonly_null, lwkt_initport_serialize, lwkt_initport_spin, lwkt_initport_thread, lwkt_msg,
  lwkt_msg_sendcheck, lwkt_msgport_counter, lwkt_port, lwkt_replymsg, lwkt_sendmsg, lwkt_sendmsg_oncpu,
  lwkt_waitmsg, lwkt_waitport,
} from "./lwkt_msgport";
import {
  lwkt_serialize, lwkt_serialize_enter, lwkt_serialize_exit, lwkt_serialize_init, lwkt_serialize_is_held,
  lwkt_serialize_try,
} from "./lwkt_serialize";
import { MAXCPU, TDPRI_SOFT_NORM, crit_enter, crit_exit, curthread, lwkt_create, lwkt_yield, mycpu } from "./lwkt_thread";
import { selftest_barrier, selftest_cpus, selftest_partner, trace, traceDec, traced } from "./selftest";

const ENOENT: i32 = 2;
const EINVAL: i32 = 22;
const ECANCELED: i32 = 85;

function flags(msg: lwkt_msg): u32 {
  return atomic.load<u32>(changetype<usize>(msg) + offsetof<lwkt_msg>("ms_flags"));
}

/** Whether msg's flags, within `mask`, are exactly `want`. */
function has(msg: lwkt_msg, mask: u32, want: u32): bool {
  return (flags(msg) & mask) == want;
}

// ---- per-CPU messages and ports ----------------------------------------------------------

const MSG_BYTES: usize = (offsetof<lwkt_msg>() + 7) & ~7;
const PORT_BYTES: usize = (offsetof<lwkt_port>() + 7) & ~7;
const POOL_MSGS: i32 = 16;
const POOL_PORTS: i32 = 4;

let msg_pool: usize = 0;
let port_pool: usize = 0;

/* This CPU's i-th test message, made fresh: zero, then lwkt_initmsg to rport with flags. */
function new_msg(i: i32, rport: lwkt_port, msgflags: u32): lwkt_msg {
  if (msg_pool == 0) msg_pool = bootalloc(<usize>POOL_MSGS * MSG_BYTES, 8);
  const msg = changetype<lwkt_msg>(msg_pool + <usize>i * MSG_BYTES);
  memory.fill(changetype<usize>(msg), 0, MSG_BYTES);
  lwkt_initmsg(msg, rport, msgflags);
  return msg;
}

/* This CPU's i-th spare port (the caller inits it). */
function port_at(i: i32): lwkt_port {
  if (port_pool == 0) port_pool = bootalloc(<usize>POOL_PORTS * PORT_BYTES, 8);
  return changetype<lwkt_port>(port_pool + <usize>i * PORT_BYTES);
}

function myport(): lwkt_port {
  return curthread().td_msgport;
}

/* Per CPU: the local threads a test started that have finished; the boot thread sleeps for them. */
let threads_done: u32 = 0;
const done_chans: usize = memory.data(<i32>MAXCPU * 4, 4);

function done_chan(): u32 {
  return <u32>(done_chans + <usize>cpu_id() * 4);
}

function thread_done(): void {
  threads_done++;
  wakeup(done_chan());
}

function wait_threads_done(n: u32): void {
  crit_enter();
  while (threads_done < n) tsleep(done_chan(), 0);
  crit_exit();
}

// ---- the echo server: a thread that serves its td_msgport ----------------------------------

const ECHO_QUIT: u64 = 0xffffffff;
const ECHO_ERROR: i32 = 7;

/** Each CPU's echo server's port, or its remote test sleeper's (atomics); per CPU what the server saw wrong. */
const echo_ports: usize = memory.data(<i32>MAXCPU * 4, 4);
let echo_bad: u32 = 0;

/*
 * Takes requests off its port: each must be in flight (not DONE, not
 * QUEUED once taken, not INTRANSIT, put on this port); replies 2x+1 with
 * ECHO_ERROR, until ECHO_QUIT. A SYNC request from this CPU must be
 * DONE|REPLY and not QUEUED as soon as it is replied.
 */
function echo_server(arg: u32): void {
  const port = myport();
  while (true) {
    const msg = lwkt_waitport(port, 0);
    if (!has(msg, MSGF_DONE | MSGF_QUEUED | MSGF_INTRANSIT | MSGF_REPLY, 0) || msg.ms_target_port !== port) echo_bad++;
    if (msg.ms_result == ECHO_QUIT) {
      lwkt_replymsg(msg, 0);
      break;
    }
    msg.ms_result = msg.ms_result * 2 + 1;
    const sync = has(msg, MSGF_SYNC, MSGF_SYNC);
    const local = msg.ms_reply_port!.mpu_td!.td_gd === mycpu();
    lwkt_replymsg(msg, ECHO_ERROR);
    // A look, no more: the waiter is below us on this CPU and has not run yet.
    if (sync && local && !has(msg, MSGF_QUEUED | MSGF_DONE | MSGF_REPLY, MSGF_DONE | MSGF_REPLY)) echo_bad++;
  }
  thread_done();
}

/* Starts this CPU's echo server and publishes its port. */
function echo_start(): void {
  echo_bad = 0;
  threads_done = 0;
  const td = lwkt_create(echo_server, 0, TDPRI_SOFT_NORM);
  atomic.store<u32>(echo_ports + <usize>cpu_id() * 4, <u32>changetype<usize>(td.td_msgport));
}

function echo_port(cpu: u32): lwkt_port {
  return changetype<lwkt_port>(<usize>atomic.load<u32>(echo_ports + <usize>cpu * 4));
}

/*
 * Stops this CPU's echo server (after a barrier: nobody else sends to it
 * any more), the test's `threads`-th local thread to finish.
 */
function echo_stop(slot: i32, threads: u32): bool {
  const quit = new_msg(slot, myport(), 0);
  quit.ms_result = ECHO_QUIT;
  const error = lwkt_domsg(echo_port(cpu_id()), quit, 0);
  wait_threads_done(threads);
  return error == 0 && echo_bad == 0;
}

// ---- lwkt_initmsg and the send assertion ---------------------------------------------

let abort_calls: u32 = 0;

function abort_note(msg: lwkt_msg): void {
  abort_calls++;
}

/*
 * Does lwkt_initmsg make a message fresh (DONE plus the flags given) with
 * its reply port, leaving the rest alone, and initmsg_abortable add
 * ABORTABLE and the function? Does the send check refuse exactly a message
 * without a reply port, one in flight (DONE clear) and a QUEUED one?
 */
function msgport_test_initmsg(): string | null {
  const msg = new_msg(0, myport(), 0);
  msg.ms_result = 1234;
  msg.ms_error = 5;
  lwkt_initmsg(msg, myport(), MSGF_USER0);
  if (flags(msg) != (MSGF_DONE | MSGF_USER0) || msg.ms_reply_port !== myport()) return "lwkt_initmsg: not DONE plus the flags, to the reply port";
  if (msg.ms_result != 1234 || msg.ms_error != 5) return "lwkt_initmsg touched the result";
  if (!lwkt_checkmsg(msg)) return "lwkt_checkmsg: a fresh message is not DONE";
  lwkt_initmsg_abortable(msg, myport(), 0, abort_note);
  if (flags(msg) != (MSGF_DONE | MSGF_ABORTABLE) || msg.ms_abortfn != abort_note.index) return "lwkt_initmsg_abortable: not DONE|ABORTABLE with its function";
  if (lwkt_msg_sendcheck(msg) !== null) return "a fresh message may not be sent";
  lwkt_initmsg(msg, myport(), MSGF_DONE | MSGF_QUEUED);
  if (lwkt_msg_sendcheck(msg) === null) return "a QUEUED message may be sent";
  const inflight = new_msg(1, myport(), 0);
  lwkt_sendmsg(port_init_thread(0), inflight);
  if (lwkt_msg_sendcheck(inflight) === null) return "a message in flight (not DONE) may be sent";
  lwkt_getport(port_at(0));
  if (lwkt_msg_sendcheck(inflight) === null) return "a taken request (not DONE) may be sent";
  lwkt_replymsg(inflight, 0);
  lwkt_getport(myport());
  if (lwkt_msg_sendcheck(inflight) !== null) return "a replied message may not be sent again";
  lwkt_initmsg(msg, changetype<lwkt_port>(0), 0);
  if (lwkt_msg_sendcheck(msg) === null) return "a message without a reply port may be sent";
  return null;
}

/* Spare port i as a thread port of the caller's, which nobody serves. */
function port_init_thread(i: i32): lwkt_port {
  const port = port_at(i);
  lwkt_initport_thread(port, curthread());
  return port;
}

// ---- invariant 1: synchronous completion ---------------------------------------------

/* A putonly port's function that completes every request at once, with EINVAL. */
function put_einval(port: lwkt_port, msg: lwkt_msg): i32 {
  msg.ms_result = 77;
  return EINVAL;
}

/*
 * Invariant 1: domsg to a port that completes at once returns its error
 * directly, with DONE|REPLY, and leaves nothing on the reply port; sendmsg
 * to it leaves the message on the reply port, where getport finds it with
 * REPLY.
 */
function msgport_test_syncerror(): string | null {
  const port = port_at(0);
  lwkt_initport_putonly(port, put_einval);
  const msg = new_msg(0, myport(), 0);
  const error = lwkt_domsg(port, msg, 0);
  if (error != EINVAL || msg.ms_result != 77) return "domsg did not return the synchronous error";
  if (!has(msg, MSGF_DONE | MSGF_REPLY | MSGF_QUEUED, MSGF_DONE | MSGF_REPLY)) return "after a synchronous domsg: not DONE|REPLY, or QUEUED";
  if (lwkt_getport(myport()) !== null) return "a synchronous domsg left something on the reply port";
  lwkt_initmsg(msg, myport(), 0);
  lwkt_sendmsg(port, msg);
  if (!has(msg, MSGF_QUEUED | MSGF_DONE | MSGF_REPLY, MSGF_QUEUED | MSGF_DONE | MSGF_REPLY)) return "sendmsg's synchronous completion is not a queued reply";
  const got = lwkt_getport(myport());
  if (got !== msg) return "getport did not return the completed message";
  if (!has(msg, MSGF_REPLY | MSGF_QUEUED, MSGF_REPLY) || msg.ms_error != EINVAL) return "the dequeued reply lost REPLY or its error, or is still QUEUED";
  if (lwkt_getport(myport()) !== null) return "the reply port holds more than the reply";
  return null;
}

// ---- invariant 2: the flags through a message's life ------------------------------------

/*
 * Invariant 2, on this CPU's echo server: between send and reply DONE is
 * clear (the server checks what it takes); a sendmsg's reply is queued on
 * the reply port with REPLY, a domsg's (SYNC) never is; a message is
 * QUEUED exactly while on a queue: two requests on an unserved port are,
 * and each stops being once getport has taken it.
 */
function msgport_test_flags(): string | null {
  echo_start();
  const msg = new_msg(0, myport(), 0);
  msg.ms_result = 20;
  lwkt_sendmsg(echo_port(cpu_id()), msg);
  if (!has(msg, MSGF_DONE | MSGF_REPLY | MSGF_QUEUED, MSGF_DONE | MSGF_REPLY | MSGF_QUEUED)) return "the echo's reply is not a queued DONE|REPLY";
  if (lwkt_getport(myport()) !== msg || msg.ms_result != 41 || msg.ms_error != ECHO_ERROR) return "getport did not return the echo's reply";
  if (!has(msg, MSGF_QUEUED | MSGF_REPLY | MSGF_SYNC, MSGF_REPLY)) return "a taken reply is still QUEUED, lost REPLY, or is SYNC";
  if (lwkt_domsg(echo_port(cpu_id()), msg, 0) != ECHO_ERROR || msg.ms_result != 83) return "domsg did not return the echo's error";
  if (!has(msg, MSGF_DONE | MSGF_REPLY | MSGF_SYNC | MSGF_QUEUED, MSGF_DONE | MSGF_REPLY | MSGF_SYNC)) return "a domsg's reply: not DONE|REPLY|SYNC, or QUEUED";
  if (lwkt_getport(myport()) !== null) return "a SYNC reply was queued";
  const unserved = port_init_thread(0);
  const a = new_msg(1, myport(), 0);
  const b = new_msg(2, myport(), 0);
  lwkt_sendmsg(unserved, a);
  lwkt_sendmsg(unserved, b);
  if (!has(a, MSGF_QUEUED | MSGF_DONE, MSGF_QUEUED) || !has(b, MSGF_QUEUED | MSGF_DONE, MSGF_QUEUED)) return "requests on a port: not QUEUED, or DONE";
  if (lwkt_getport(unserved) !== a || has(a, MSGF_QUEUED, MSGF_QUEUED) || !has(b, MSGF_QUEUED, MSGF_QUEUED)) return "getport: the first request is still QUEUED or the second is not";
  if (lwkt_getport(unserved) !== b || has(b, MSGF_QUEUED, MSGF_QUEUED) || lwkt_getport(unserved) !== null) return "getport: the second request";
  lwkt_replymsg(a, 0);
  lwkt_replymsg(b, 0);
  if (lwkt_waitmsg(b, 0) != 0 || has(b, MSGF_QUEUED, MSGF_QUEUED)) return "waitmsg did not take its reply off the reply port";
  if (lwkt_getport(myport()) !== a || lwkt_getport(myport()) !== null) return "waitmsg took another message off the reply port";
  if (!echo_stop(3, 1)) return "the echo server saw a request DONE, QUEUED, REPLY or in transit, or a SYNC reply queued";
  return null;
}

// ---- invariant 3: priority, dropmsg, cross-CPU putport -----------------------------------

/** The priority test's messages' flags, in sending order. */
const PRIORITY_ORDER: StaticArray<u32> = [0, 0, MSGF_PRIORITY, 0, MSGF_PRIORITY];

/* Do PRIORITY messages come off a port first, whatever their arrival order, each queue in order? */
function msgport_test_priority(): string | null {
  const port = port_init_thread(0);
  for (let i = 0; i < PRIORITY_ORDER.length; i++) {
    const msg = new_msg(i, myport(), PRIORITY_ORDER[i]);
    msg.ms_result = <u64>i;
    lwkt_sendmsg(port, msg);
  }
  for (let msg = lwkt_getport(port); msg; msg = lwkt_getport(port)) {
    traceDec(<u32>msg!.ms_result);
    lwkt_replymsg(msg!, 0);
  }
  trace("replies");
  for (let msg = lwkt_getport(myport()); msg; msg = lwkt_getport(myport())) traceDec(<u32>msg!.ms_result);
  if (!traced("2 4 0 1 3 replies 2 4 0 1 3")) return "PRIORITY messages did not come first, or a queue lost its order";
  return null;
}

/*
 * Does dropmsg take back a queued DROPABLE request (0, DONE, off the
 * queue), and refuse (ENOENT) one already taken, and a reply?
 */
function msgport_test_dropmsg(): string | null {
  const port = port_init_thread(0);
  const msg = new_msg(0, myport(), MSGF_DROPABLE);
  lwkt_sendmsg(port, msg);
  if (lwkt_dropmsg(msg) != 0) return "dropmsg of a queued request failed";
  if (!has(msg, MSGF_DONE | MSGF_QUEUED, MSGF_DONE) || lwkt_getport(port) !== null) return "a dropped request is not DONE, or still queued";
  lwkt_sendmsg(port, msg);
  if (lwkt_getport(port) !== msg) return "the request sent again did not arrive";
  if (lwkt_dropmsg(msg) != ENOENT) return "dropmsg of a taken request did not fail with ENOENT";
  lwkt_replymsg(msg, 0);
  if (!has(msg, MSGF_QUEUED | MSGF_REPLY, MSGF_QUEUED | MSGF_REPLY)) return "the reply is not queued";
  if (lwkt_dropmsg(msg) != ENOENT) return "dropmsg of a queued reply did not fail with ENOENT";
  if (lwkt_getport(myport()) !== msg) return "the reply was lost";
  return null;
}

// Per CPU: the remote sleeper's view of what it was sent.
let sleeper_intransit: u32 = 0;

function remote_sleeper(arg: u32): void {
  const port = myport();
  const msg = lwkt_waitport(port, 0);
  if (!has(msg, MSGF_INTRANSIT | MSGF_QUEUED | MSGF_DONE, 0) || msg.ms_target_port !== port) sleeper_intransit++;
  msg.ms_result = <u64>cpu_id();
  lwkt_replymsg(msg, 0);
  thread_done();
}

/** Each CPU's counters before the remote test's sends, a row of four per CPU. */
const counters_before: usize = memory.data(<i32>MAXCPU * 16, 4);

function counters_delta(which: i32): u32 {
  return lwkt_msgport_counter(cpu_id(), which) - load<u32>(counters_before + <usize>cpu_id() * 16 + <usize>which * 4);
}

/*
 * Invariant 3, the put to another CPU's thread port: each CPU's thread
 * sleeps in waitport; the CPU below sends it a request, which is not DONE
 * until the reply. Does it arrive by IPI (counted as a cross-CPU leg,
 * INTRANSIT cleared on arrival), wake the owner on its own CPU, and the
 * reply come back the same way?
 */
function msgport_test_remote(): string | null {
  threads_done = 0;
  sleeper_intransit = 0;
  const td = lwkt_create(remote_sleeper, 0, TDPRI_SOFT_NORM);
  atomic.store<u32>(echo_ports + <usize>cpu_id() * 4, <u32>changetype<usize>(td.td_msgport));
  selftest_barrier();
  for (let i = 0; i < 4; i++) store<u32>(counters_before + <usize>cpu_id() * 16 + <usize>i * 4, lwkt_msgport_counter(cpu_id(), i));
  selftest_barrier();
  const msg = new_msg(0, myport(), 0);
  // In a critical section the reply, which only this CPU completes, cannot come yet.
  crit_enter();
  lwkt_sendmsg(echo_port(selftest_partner()), msg);
  const inflight = !lwkt_checkmsg(msg) && msg.ms_target_port === echo_port(selftest_partner());
  crit_exit();
  const reply = lwkt_waitport(myport(), 0);
  wait_threads_done(1);
  selftest_barrier();
  if (!inflight) return "a request in flight was DONE, or not put on its target";
  if (reply !== msg || reply.ms_result != <u64>selftest_partner()) return "the reply did not come from the partner's thread";
  if (sleeper_intransit != 0) return "the sleeper got a message still in transit, queued, DONE, or put elsewhere";
  const legs: u32 = selftest_cpus() == 1 ? 0 : 2;
  if (counters_delta(MSGCNT_SENT) != 1 || counters_delta(MSGCNT_REPLIED) != 1) return "sent and replied are not one each";
  if (counters_delta(MSGCNT_RECEIVED) != 2) return "received is not two (the request here, the reply back)";
  if (counters_delta(MSGCNT_CROSSCPU) != legs) return "the cross-cpu legs were not counted (two per cpu, none when alone)";
  return null;
}

// ---- domsg on this CPU and across --------------------------------------------------------

/*
 * lwkt_domsg to this CPU's echo server and to the partner's: the same
 * result both ways (the server's reply, DONE|REPLY|SYNC, nothing queued on
 * the reply port)?
 */
function msgport_test_domsg(): string | null {
  echo_start();
  selftest_barrier();
  for (let i = 0; i < 2; i++) {
    const msg = new_msg(i, myport(), 0);
    for (let round: u64 = 0; round < 8; round++) {
      msg.ms_result = round;
      if (lwkt_domsg(echo_port(i == 0 ? cpu_id() : selftest_partner()), msg, 0) != ECHO_ERROR || msg.ms_result != round * 2 + 1) return i == 0 ? "same-cpu domsg: wrong reply" : "cross-cpu domsg: wrong reply";
      if (!has(msg, MSGF_DONE | MSGF_REPLY | MSGF_SYNC | MSGF_QUEUED | MSGF_INTRANSIT, MSGF_DONE | MSGF_REPLY | MSGF_SYNC)) return "after domsg: not DONE|REPLY|SYNC, or QUEUED or INTRANSIT";
    }
  }
  if (lwkt_getport(myport()) !== null) return "domsg queued a reply";
  selftest_barrier();
  if (!echo_stop(2, 1)) return "the echo server saw a bad request";
  return null;
}

// ---- forwarding ------------------------------------------------------------------------

/** Each CPU's relay's port (atomics). */
const relay_ports: usize = memory.data(<i32>MAXCPU * 4, 4);
const RELAY_SYNC: u64 = 1000;

/*
 * Takes requests and forwards them: to the partner's echo server, or,
 * RELAY_SYNC, to a port that completes at once (which forwardmsg replies).
 */
function relay(arg: u32): void {
  const port = myport();
  const now = port_at(1);
  lwkt_initport_putonly(now, put_einval);
  while (true) {
    const msg = lwkt_waitport(port, 0);
    if (msg.ms_result == ECHO_QUIT) {
      lwkt_replymsg(msg, 0);
      break;
    }
    if (msg.ms_result == RELAY_SYNC) {
      if (lwkt_forwardmsg(now, msg) != EINVAL) echo_bad++;
    } else if (lwkt_forwardmsg(echo_port(selftest_partner()), msg) != EASYNC) {
      echo_bad++;
    }
  }
  thread_done();
}

/*
 * A relay on each CPU forwards requests: does the partner's echo server's
 * reply reach the original sender, and does a forward to a port that
 * completes at once reply with its error?
 */
function msgport_test_forward(): string | null {
  echo_start();
  const td = lwkt_create(relay, 0, TDPRI_SOFT_NORM);
  atomic.store<u32>(relay_ports + <usize>cpu_id() * 4, <u32>changetype<usize>(td.td_msgport));
  selftest_barrier();
  const relayp = changetype<lwkt_port>(<usize>atomic.load<u32>(relay_ports + <usize>cpu_id() * 4));
  const msg = new_msg(0, myport(), 0);
  msg.ms_result = 5;
  const error = lwkt_domsg(relayp, msg, 0);
  msg.ms_result = RELAY_SYNC;
  const syncerror = lwkt_domsg(relayp, msg, 0);
  const asyncmsg = new_msg(1, myport(), 0);
  asyncmsg.ms_result = 9;
  lwkt_sendmsg(relayp, asyncmsg);
  const reply = lwkt_waitport(myport(), 0);
  selftest_barrier();
  const quit = new_msg(2, myport(), 0);
  quit.ms_result = ECHO_QUIT;
  lwkt_domsg(relayp, quit, 0);
  wait_threads_done(1);
  const echo_ok = echo_stop(3, 2);
  if (error != ECHO_ERROR) return "a forwarded domsg did not get the echo's reply";
  if (syncerror != EINVAL || msg.ms_result != 77) return "a forward to a port that completes at once was not replied with its error";
  if (reply !== asyncmsg || asyncmsg.ms_result != 19 || !has(asyncmsg, MSGF_REPLY | MSGF_QUEUED, MSGF_REPLY)) return "a forwarded sendmsg's reply did not reach the sender";
  if (!echo_ok) return "a forward failed, or the echo server saw a bad request";
  return null;
}

// ---- abort -------------------------------------------------------------------------------

/*
 * lwkt_abortmsg: does it call ms_abortfn once for an ABORTABLE message in
 * flight, leave the message in flight (the target still replies), and do
 * nothing once it is replied, or for a message that is not ABORTABLE?
 */
function msgport_test_abort(): string | null {
  abort_calls = 0;
  const port = port_init_thread(0);
  const msg = new_msg(0, myport(), 0);
  lwkt_initmsg_abortable(msg, myport(), 0, abort_note);
  lwkt_sendmsg(port, msg);
  lwkt_abortmsg(msg);
  if (abort_calls != 1) return "abortmsg did not call the abort function once";
  if (!has(msg, MSGF_DONE | MSGF_REPLY | MSGF_QUEUED, MSGF_QUEUED)) return "an aborted message is no longer in flight";
  if (lwkt_getport(port) !== msg) return "the aborted request did not stay with its target";
  lwkt_replymsg(msg, ECANCELED);
  lwkt_abortmsg(msg);
  if (abort_calls != 1) return "abortmsg called the abort function on a replied message";
  if (lwkt_waitmsg(msg, 0) != ECANCELED) return "the target's reply to an aborted message was lost";
  const plain = new_msg(1, myport(), 0);
  plain.ms_abortfn = abort_note.index;
  lwkt_sendmsg(port, plain);
  lwkt_abortmsg(plain);
  if (abort_calls != 1) return "abortmsg called the function of a message that is not ABORTABLE";
  lwkt_replymsg(lwkt_getport(port)!, 0);
  lwkt_getport(myport());
  return null;
}

// ---- spin ports --------------------------------------------------------------------------

/** The spin port every CPU's consumer serves. */
const spin_port_mem: usize = memory.data(64, 8);
const SPIN_SENDS: u32 = 16;

function spin_port(): lwkt_port {
  return changetype<lwkt_port>(spin_port_mem);
}

/* Serves the shared spin port until it takes an ECHO_QUIT. */
function spin_consumer(arg: u32): void {
  while (true) {
    const msg = lwkt_waitport(spin_port(), 0);
    if (!has(msg, MSGF_DONE | MSGF_QUEUED | MSGF_REPLY, 0)) echo_bad++;
    if (msg.ms_result == ECHO_QUIT) {
      lwkt_replymsg(msg, 0);
      break;
    }
    msg.ms_result = msg.ms_result * 2 + 1;
    lwkt_replymsg(msg, ECHO_ERROR);
  }
  thread_done();
}

// Per CPU: the spin reply port and this CPU's messages for the spin test.
let spin_msgs: usize = 0;

/*
 * A spin port shared by every CPU, a consumer thread on each: every CPU
 * sends SPIN_SENDS requests with its own spin port as reply port, and one
 * domsg (a SYNC waiter sleeping on the message, MSGF_WAITING). Do all
 * replies come back, once each, with the consumers' results, whichever
 * CPU served them? Then one ECHO_QUIT per CPU stops the consumers.
 */
function msgport_test_spin(): string | null {
  const me = cpu_id();
  if (me == 0) lwkt_initport_spin(spin_port(), null, -1);
  echo_bad = 0;
  threads_done = 0;
  const rport = port_at(0);
  lwkt_initport_spin(rport, null, -1);
  if (spin_msgs == 0) spin_msgs = bootalloc(<usize>SPIN_SENDS * MSG_BYTES, 8);
  selftest_barrier();
  lwkt_create(spin_consumer, 0, TDPRI_SOFT_NORM);
  for (let i: u32 = 0; i < SPIN_SENDS; i++) {
    const msg = changetype<lwkt_msg>(spin_msgs + <usize>i * MSG_BYTES);
    lwkt_initmsg(msg, rport, 0);
    msg.ms_result = <u64>(me * 1000 + i);
    lwkt_sendmsg(spin_port(), msg);
  }
  const sync = new_msg(0, rport, 0);
  sync.ms_result = 3;
  const error = lwkt_domsg(spin_port(), sync, 0);
  let seen: u32 = 0;
  let bad: u32 = 0;
  for (let n: u32 = 0; n < SPIN_SENDS; n++) {
    const msg = lwkt_waitport(rport, 0);
    const i = <u32>(changetype<usize>(msg) - spin_msgs) / <u32>MSG_BYTES;
    if (i >= SPIN_SENDS || (seen & (1 << i)) != 0) { bad++; continue; }
    seen |= 1 << i;
    if (msg.ms_result != <u64>(me * 1000 + i) * 2 + 1 || msg.ms_error != ECHO_ERROR || !has(msg, MSGF_REPLY | MSGF_QUEUED, MSGF_REPLY)) bad++;
  }
  const extra = lwkt_getport(rport);
  selftest_barrier();
  const quit = new_msg(1, rport, 0);
  quit.ms_result = ECHO_QUIT;
  lwkt_domsg(spin_port(), quit, 0);
  wait_threads_done(1);
  selftest_barrier();
  if (error != ECHO_ERROR || sync.ms_result != 7 || !has(sync, MSGF_DONE | MSGF_REPLY | MSGF_QUEUED | MSGF_WAITING, MSGF_DONE | MSGF_REPLY)) return "domsg through the spin port: wrong reply or flags";
  if (bad != 0 || seen != (1 << SPIN_SENDS) - 1 || extra !== null) return "spin port replies lost, duplicated or wrong";
  if (echo_bad != 0) return "a consumer took a request DONE, QUEUED or REPLY";
  return null;
}

/*
 * A spin port owned by the boot thread, fixed to this CPU: does
 * lwkt_sendmsg_oncpu put on it, and dropmsg work as on a thread port (0
 * for a queued request, ENOENT once taken)?
 */
function msgport_test_spin_oncpu(): string | null {
  const port = port_at(0);
  lwkt_initport_spin(port, curthread(), <i32>cpu_id());
  const msg = new_msg(0, myport(), MSGF_DROPABLE);
  lwkt_sendmsg_oncpu(port, msg);
  if (!has(msg, MSGF_QUEUED | MSGF_DONE, MSGF_QUEUED) || msg.ms_target_port !== port) return "sendmsg_oncpu did not queue the request";
  if (lwkt_dropmsg(msg) != 0 || !has(msg, MSGF_QUEUED | MSGF_DONE, MSGF_DONE)) return "dropmsg of a queued request on a spin port failed";
  lwkt_sendmsg_oncpu(port, msg);
  if (lwkt_getport(port) !== msg) return "getport on the spin port";
  if (lwkt_dropmsg(msg) != ENOENT) return "dropmsg of a taken request did not fail with ENOENT";
  lwkt_replymsg(msg, 0);
  if (lwkt_getport(myport()) !== msg) return "the reply did not reach the thread port";
  return null;
}

// ---- serializers -------------------------------------------------------------------------

const slz_mem: usize = memory.data(16, 8);
const slz_count: usize = memory.data(4, 4);
const SLZ_ROUNDS: u32 = 20;

function shared_slz(): lwkt_serialize {
  return changetype<lwkt_serialize>(slz_mem);
}

let slz_overlap: u32 = 0;

/* Increments the shared count under the serializer, yielding to its CPU peer between read and write. */
function slz_worker(arg: u32): void {
  const s = shared_slz();
  for (let r: u32 = 0; r < SLZ_ROUNDS; r++) {
    lwkt_serialize_enter(s);
    if (!lwkt_serialize_is_held(s)) slz_overlap++;
    const v = atomic.load<u32>(slz_count);
    lwkt_yield();
    atomic.store<u32>(slz_count, v + 1);
    lwkt_serialize_exit(s);
    lwkt_yield();
  }
  thread_done();
}

// Per CPU: the local serializer and its contender's view.
let local_slz: usize = 0;

function slz_contender(arg: u32): void {
  const s = changetype<lwkt_serialize>(local_slz);
  trace(lwkt_serialize_try(s) ? "try-ok" : "try-fail");
  lwkt_serialize_enter(s);
  trace("entered");
  lwkt_serialize_exit(s);
  thread_done();
}

/*
 * The serializer: on one CPU, does try fail while another thread holds it,
 * and enter sleep until the holder exits? Across CPUs, two threads per CPU
 * each add SLZ_ROUNDS to a count with a read, a yield and a write: is every
 * increment kept (nobody else inside meanwhile)?
 */
function msgport_test_serializer(): string | null {
  threads_done = 0;
  slz_overlap = 0;
  if (local_slz == 0) local_slz = bootalloc(offsetof<lwkt_serialize>(), 8);
  const s = changetype<lwkt_serialize>(local_slz);
  lwkt_serialize_init(s);
  lwkt_serialize_enter(s);
  if (!lwkt_serialize_is_held(s)) return "the holder does not hold it";
  lwkt_create(slz_contender, 0, TDPRI_SOFT_NORM);
  trace("exit");
  lwkt_serialize_exit(s);
  wait_threads_done(1);
  if (!traced("try-fail exit entered")) return "try did not fail while held, or enter did not wait for the exit";
  if (lwkt_serialize_is_held(s) || !lwkt_serialize_try(s)) return "the serializer was not free after its last exit";
  lwkt_serialize_exit(s);
  if (cpu_id() == 0) {
    lwkt_serialize_init(shared_slz());
    atomic.store<u32>(slz_count, 0);
  }
  selftest_barrier();
  lwkt_create(slz_worker, 0, TDPRI_SOFT_NORM);
  lwkt_create(slz_worker, 1, TDPRI_SOFT_NORM);
  wait_threads_done(3);
  selftest_barrier();
  if (slz_overlap != 0) return "a worker inside did not hold the serializer";
  if (atomic.load<u32>(slz_count) != selftest_cpus() * 2 * SLZ_ROUNDS) return "increments were lost: two holders at once";
  return null;
}

/** The serializer port every CPU's consumer serves, and its serializer (the shared one). */
const slz_port_mem: usize = memory.data(64, 8);

function slz_port(): lwkt_port {
  return changetype<lwkt_port>(slz_port_mem);
}

/* Serves the serializer port, holding the serializer but while it sleeps, until an ECHO_QUIT. */
function slz_consumer(arg: u32): void {
  const s = shared_slz();
  lwkt_serialize_enter(s);
  while (true) {
    const msg = lwkt_waitport(slz_port(), 0);
    if (!lwkt_serialize_is_held(s) || !has(msg, MSGF_DONE | MSGF_QUEUED | MSGF_REPLY, 0)) echo_bad++;
    if (msg.ms_result == ECHO_QUIT) {
      lwkt_replymsg(msg, 0);
      break;
    }
    msg.ms_result = msg.ms_result * 2 + 1;
    lwkt_replymsg(msg, ECHO_ERROR);
  }
  lwkt_serialize_exit(s);
  thread_done();
}

/*
 * A serializer port shared by every CPU, a consumer on each, replies to
 * per-CPU serializer ports on the same serializer: every CPU, holding the
 * serializer, sends requests and a domsg (which sleeps with zsleep,
 * releasing it for the consumers) and takes its replies. All back, once,
 * right?
 */
function msgport_test_serialize_port(): string | null {
  const me = cpu_id();
  const s = shared_slz();
  if (me == 0) {
    lwkt_serialize_init(s);
    lwkt_initport_serialize(slz_port(), s);
  }
  echo_bad = 0;
  threads_done = 0;
  const rport = port_at(0);
  lwkt_initport_serialize(rport, s);
  selftest_barrier();
  lwkt_create(slz_consumer, 0, TDPRI_SOFT_NORM);
  const sends: i32 = 4;
  lwkt_serialize_enter(s);
  for (let i = 0; i < sends; i++) {
    const msg = new_msg(i, rport, 0);
    msg.ms_result = <u64>(me * 100 + <u32>i);
    lwkt_sendmsg(slz_port(), msg);
  }
  const sync = new_msg(sends, rport, 0);
  sync.ms_result = 10;
  const error = lwkt_domsg(slz_port(), sync, 0);
  let seen: u32 = 0;
  let bad: u32 = 0;
  for (let n = 0; n < sends; n++) {
    const msg = lwkt_waitport(rport, 0);
    const i = <u32>msg.ms_result / 2 - me * 100;
    if (i >= <u32>sends || (seen & (1 << i)) != 0 || msg.ms_error != ECHO_ERROR) bad++;
    else seen |= 1 << i;
  }
  const held = lwkt_serialize_is_held(s);
  lwkt_serialize_exit(s);
  selftest_barrier();
  lwkt_serialize_enter(s);
  const quit = new_msg(sends + 1, rport, 0);
  quit.ms_result = ECHO_QUIT;
  lwkt_domsg(slz_port(), quit, 0);
  lwkt_serialize_exit(s);
  wait_threads_done(1);
  selftest_barrier();
  if (error != ECHO_ERROR || sync.ms_result != 21 || !has(sync, MSGF_DONE | MSGF_REPLY | MSGF_WAITING, MSGF_DONE | MSGF_REPLY)) return "domsg through the serializer port: wrong reply or flags";
  if (!held) return "the serializer was not held again after the waits";
  if (bad != 0 || seen != (1 << sends) - 1) return "serializer port replies lost, duplicated or wrong";
  if (echo_bad != 0) return "a consumer ran without the serializer, or took a bad request";
  return null;
}

// ---- reply-only, put-only and panic ports --------------------------------------------------

let disposed: u32 = 0;

function dispose(port: lwkt_port, msg: lwkt_msg): void {
  disposed++;
  traceDec(<u32>msg.ms_result);
}

const SLOT_GET: u32 = 0x1;
const SLOT_PUT: u32 = 0x2;
const SLOT_REPLY: u32 = 0x4;

/* The operation slots of port that are not the panic backend (SLOT_*; 0x8 and up: the others). */
function live_slots(port: lwkt_port): u32 {
  let live: u32 = 0;
  if (port.mp_getport != MP_PANIC) live |= SLOT_GET;
  if (port.mp_putport != MP_PANIC) live |= SLOT_PUT;
  if (port.mp_replyport != MP_PANIC) live |= SLOT_REPLY;
  if (port.mp_waitmsg != MP_PANIC) live |= 0x8;
  if (port.mp_waitport != MP_PANIC) live |= 0x10;
  if (port.mp_dropmsg != MP_PANIC) live |= 0x20;
  if (port.mp_putport_oncpu != MP_PANIC) live |= 0x40;
  return live;
}

/*
 * Reply-only ports: does the null one only set DONE|REPLY (nothing queued,
 * lwkt_checkmsg true), and the dispose one hand every reply to its
 * function, a synchronous completion's too (fire and forget)? Is every
 * other slot of theirs the panic backend?
 */
function msgport_test_replyonly(): string | null {
  disposed = 0;
  const nullport = port_at(1);
  lwkt_initport_replyonly_null(nullport);
  const target = port_init_thread(0);
  const msg = new_msg(0, nullport, 0);
  lwkt_sendmsg(target, msg);
  if (lwkt_checkmsg(msg)) return "a request in flight is DONE";
  lwkt_replymsg(lwkt_getport(target)!, 0);
  if (!has(msg, MSGF_DONE | MSGF_REPLY | MSGF_QUEUED, MSGF_DONE | MSGF_REPLY) || !lwkt_checkmsg(msg)) return "a reply to the null port: not DONE|REPLY, or queued";
  const disposeport = port_at(2);
  lwkt_initport_replyonly(disposeport, dispose);
  const now = port_at(3);
  lwkt_initport_putonly(now, put_einval);
  const a = new_msg(1, disposeport, 0);
  a.ms_result = 1;
  lwkt_sendmsg(target, a);
  const b = new_msg(2, disposeport, 0);
  lwkt_sendmsg(now, b);
  lwkt_replymsg(lwkt_getport(target)!, 0);
  if (disposed != 2 || !traced("77 1")) return "the dispose port did not get each reply once";
  if (live_slots(nullport) != SLOT_REPLY || live_slots(disposeport) != SLOT_REPLY) return "a reply-only port has other operations";
  return null;
}

// Per CPU: the request the put-only port's function kept for later.
let putonly_kept: usize = 0;

function put_keep(port: lwkt_port, msg: lwkt_msg): i32 {
  if (msg.ms_result == 0) return 0;
  putonly_kept = changetype<usize>(msg);
  return EASYNC;
}

/*
 * A put-only port: its function decides. Completed at once (0): domsg
 * returns 0 at once. Taken (EASYNC): the message stays in flight until
 * the function's side replies, then comes to the reply port. Only put is
 * not the panic backend.
 */
function msgport_test_putonly(): string | null {
  putonly_kept = 0;
  const port = port_at(0);
  lwkt_initport_putonly(port, put_keep);
  const msg = new_msg(0, myport(), 0);
  if (lwkt_domsg(port, msg, 0) != 0 || !has(msg, MSGF_DONE | MSGF_REPLY, MSGF_DONE | MSGF_REPLY)) return "a completion at once did not return 0, DONE|REPLY";
  lwkt_initmsg(msg, myport(), 0);
  msg.ms_result = 1;
  lwkt_sendmsg(port, msg);
  if (putonly_kept != changetype<usize>(msg) || lwkt_checkmsg(msg) || lwkt_getport(myport()) !== null) return "a request the function took is not in flight";
  lwkt_replymsg(changetype<lwkt_msg>(putonly_kept), 3);
  if (lwkt_getport(myport()) !== msg || msg.ms_error != 3) return "the later reply did not reach the reply port";
  if (live_slots(port) != SLOT_PUT) return "a put-only port has other operations";
  return null;
}

/* Is every operation of a panic port the panic backend (and a thread port's not)? */
function msgport_test_panic(): string | null {
  const port = port_at(0);
  lwkt_initport_thread(port, curthread());
  lwkt_initport_panic(port);
  if (live_slots(port) != 0) return "a panic port has an operation";
  if (live_slots(myport()) != 0x3f || myport().mpu_td !== curthread()) return "td_msgport is not its thread's thread port";
  return null;
}

// ---- the storm -------------------------------------------------------------------------

/** Requests each CPU sends each CPU's storm server (its own included). */
const STORM_K: u32 = 48;

/** Each CPU's storm server's port (atomics). */
const storm_ports: usize = memory.data(<i32>MAXCPU * 4, 4);

// Per CPU: the messages (selftest_cpus() * STORM_K), the server's next expected sequence number per
// source, the client's last sequence number per server, the server's faults.
let storm_msgs: usize = 0;
let storm_next: usize = 0;
let storm_replies: usize = 0;
let storm_bad: u32 = 0;

/* Serves its port: each source's requests must come in sequence; replies seq + 1 in ms_result's low half. */
function storm_server(total: u32): void {
  const port = myport();
  for (let n: u32 = 0; n < total; n++) {
    const msg = lwkt_waitport(port, 0);
    const source = <u32>(msg.ms_result >> 32);
    const seq = <u32>msg.ms_result;
    const p = storm_next + <usize>source * 4;
    if (source >= MAXCPU || load<u32>(p) != seq || !has(msg, MSGF_DONE | MSGF_QUEUED | MSGF_REPLY | MSGF_INTRANSIT, 0)) storm_bad++;
    store<u32>(p, seq + 1);
    msg.ms_result = (<u64>cpu_id() << 32) | <u64>(seq + 1);
    lwkt_replymsg(msg, 0);
  }
  thread_done();
}

/*
 * The storm: every CPU sends STORM_K requests to every CPU's storm server
 * (a thread port), all asynchronously, and takes the replies off its own
 * port. Are all served in each source's order and all replied, none lost
 * or duplicated, each server's replies back in order (sequence numbers)?
 */
function msgport_test_storm(): string | null {
  const me = cpu_id();
  const n = selftest_cpus();
  const mask = smp_active_mask();
  threads_done = 0;
  storm_bad = 0;
  if (storm_msgs == 0) {
    storm_msgs = bootalloc(<usize>n * <usize>STORM_K * MSG_BYTES, 8);
    storm_next = bootalloc(<usize>MAXCPU * 4, 4);
    storm_replies = bootalloc(<usize>MAXCPU * 4, 4);
  }
  memory.fill(storm_next, 0, <usize>MAXCPU * 4);
  const td = lwkt_create(storm_server, n * STORM_K, TDPRI_SOFT_NORM);
  atomic.store<u32>(storm_ports + <usize>me * 4, <u32>changetype<usize>(td.td_msgport));
  selftest_barrier();
  let k: usize = 0;
  for (let seq: u32 = 0; seq < STORM_K; seq++) {
    for (let m = mask; m != 0; m &= m - 1) {
      const cpu = <u32>ctz<u64>(m);
      const msg = changetype<lwkt_msg>(storm_msgs + k++ * MSG_BYTES);
      memory.fill(changetype<usize>(msg), 0, MSG_BYTES);
      lwkt_initmsg(msg, myport(), 0);
      msg.ms_result = (<u64>me << 32) | <u64>seq;
      lwkt_sendmsg(changetype<lwkt_port>(<usize>atomic.load<u32>(storm_ports + <usize>cpu * 4)), msg);
    }
  }
  // The replies: from each server in order, seq + 1.
  const next = storm_replies;
  memory.fill(next, 0, <usize>MAXCPU * 4);
  let bad: u32 = 0;
  for (let r: u32 = 0; r < n * STORM_K; r++) {
    const msg = lwkt_waitport(myport(), 0);
    const server = <u32>(msg.ms_result >> 32);
    const seq = <u32>msg.ms_result;
    if (server >= MAXCPU || (mask & (<u64>1 << server)) == 0) { bad++; continue; }
    const p = next + <usize>server * 4;
    if (seq != load<u32>(p) + 1 || !has(msg, MSGF_DONE | MSGF_REPLY | MSGF_QUEUED, MSGF_DONE | MSGF_REPLY) || msg.ms_error != 0) bad++;
    store<u32>(p, seq);
  }
  const extra = lwkt_getport(myport());
  wait_threads_done(1);
  selftest_barrier();
  if (storm_bad != 0) return "the server got requests out of order, duplicated, or not in flight";
  for (let m = mask; m != 0; m &= m - 1) {
    const cpu = <u32>ctz<u64>(m);
    if (load<u32>(storm_next + <usize>cpu * 4) != STORM_K) return "a source's requests were lost";
    if (load<u32>(next + <usize>cpu * 4) != STORM_K) return "a server's replies were lost";
  }
  if (bad != 0 || extra !== null) return "replies out of order, duplicated or wrong";
  return null;
}

/** This file's tests, in the order they run (kern/selftest.ts). */
export const MSGPORT_TESTS: StaticArray<string> = [
  "msgport.initmsg", "msgport.syncerror", "msgport.flags", "msgport.priority", "msgport.dropmsg", "msgport.remote",
  "msgport.domsg", "msgport.forward", "msgport.abort", "msgport.spin", "msgport.spin_oncpu", "msgport.serializer",
  "msgport.serialize_port", "msgport.replyonly", "msgport.putonly", "msgport.panic", "msgport.storm",
];

/* msgport_selftest: runs MSGPORT_TESTS[i]. */
export function msgport_selftest(i: i32): string | null {
  switch (i) {
    case 0: return msgport_test_initmsg();
    case 1: return msgport_test_syncerror();
    case 2: return msgport_test_flags();
    case 3: return msgport_test_priority();
    case 4: return msgport_test_dropmsg();
    case 5: return msgport_test_remote();
    case 6: return msgport_test_domsg();
    case 7: return msgport_test_forward();
    case 8: return msgport_test_abort();
    case 9: return msgport_test_spin();
    case 10: return msgport_test_spin_oncpu();
    case 11: return msgport_test_serializer();
    case 12: return msgport_test_serialize_port();
    case 13: return msgport_test_replyonly();
    case 14: return msgport_test_putonly();
    case 15: return msgport_test_panic();
    default: return msgport_test_storm();
  }
}

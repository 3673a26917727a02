// Self-tests of serializing tokens (lwkt_token.ts, reference §4.5) and of
// how lwkt_switch and preemption treat them. Every CPU runs each test at
// once. Tests that need two CPUs pair each CPU with its partner, the next
// CPU up (cyclically); on one CPU that is itself, and the same steps run
// between threads of one CPU. Results that a thread finds on another CPU go
// through shared words indexed by CPU, never through traces (per CPU).

import { cpu_id, pause } from "../hw";
import { tsleep, wakeup } from "./kern_synch";
import { systimer, systimer_alloc, systimer_init_oneshot } from "./kern_systimer";

import {
  MAXCPU, TDF_INTTHREAD, TDF_NOSTART, TDF_PREEMPT_LOCK, TDPRI_INT_MED, TDPRI_KERN_DAEMON, TDPRI_SOFT_NORM, curthread,
  globaldata, lwkt_create, lwkt_schedule, lwkt_setpri, mycpu, thread,
} from "./lwkt_thread";
import {
  LWKT_POOL_TOKENS, TOK_EXCLREQ, TOK_EXCLUSIVE, TOK_INCR, lwkt_cnttoken, lwkt_getpooltoken, lwkt_gettoken,
  lwkt_gettoken_shared, lwkt_relpooltoken, lwkt_reltoken, lwkt_reltoken_check, lwkt_token, lwkt_token_collisions,
  lwkt_token_count, lwkt_token_desc, lwkt_token_held_any, lwkt_token_held_excl, lwkt_token_init, lwkt_token_named,
  lwkt_token_owner, lwkt_token_pool_lookup, lwkt_token_pool_nth, lwkt_token_swap, lwkt_tokens_held, lwkt_trytoken,
} from "./lwkt_token";
import { selftest_barrier, selftest_cpus, selftest_halt_until, selftest_partner, trace, traced } from "./selftest";

function never(): bool {
  return false;
}

const TOKEN_BYTES: usize = offsetof<lwkt_token>();

/* Tokens by CPU: each test's own array of MAXCPU. */
function tok_at(array: usize, cpu: u32): lwkt_token {
  return changetype<lwkt_token>(array + <usize>cpu * TOKEN_BYTES);
}

/* Shared words by CPU (atomics). */
function word(array: usize, cpu: u32): usize {
  return array + <usize>cpu * 4;
}

// ---- §4.5 invariant 1: a token is dropped while its holder sleeps -----------------------

const sleep_toks: usize = memory.data(<i32>MAXCPU * 16, 8);
const sleep_chans: usize = memory.data(<i32>MAXCPU * 4, 4);
const sleep_b_done: usize = memory.data(<i32>MAXCPU * 4, 4); // the other thread released the token
const sleep_seen: usize = memory.data(<i32>MAXCPU * 4, 4); // 1: A held T exclusively at wakeup, and after B's release

/** Per CPU: A has finished. */
let sleep_done: bool = false;

function sleep_finished(): bool {
  return sleep_done;
}

/* A: holds its CPU's token across a tsleep; the first thing it does after waking is to look. */
function sleep_a(arg: u32): void {
  const me = cpu_id();
  const tok = tok_at(sleep_toks, me);
  lwkt_gettoken(tok);
  tsleep(<u32>word(sleep_chans, me), 0);
  const seen = lwkt_token_held_excl(tok) && atomic.load<u32>(word(sleep_b_done, me)) == 1;
  atomic.store<u32>(word(sleep_seen, me), seen ? 1 : 0);
  lwkt_reltoken(tok);
  sleep_done = true;
}

/*
 * Invariant 1: A holds T and sleeps; meanwhile B (the partner CPU's boot
 * thread, or this CPU's when alone) takes T, wakes A, keeps T two ticks,
 * releases it. Could B take T while A slept? When A runs again, is T
 * already its own, exclusively, and only after B let go?
 */
function token_test_sleep(): string | null {
  const me = cpu_id();
  lwkt_token_init(tok_at(sleep_toks, me), "selftest.sleep");
  atomic.store<u32>(word(sleep_b_done, me), 0);
  atomic.store<u32>(word(sleep_seen, me), 0);
  sleep_done = false;
  lwkt_setpri(curthread(), TDPRI_KERN_DAEMON);
  lwkt_create(sleep_a, 0, TDPRI_SOFT_NORM);
  selftest_barrier();
  const p = selftest_partner();
  const tok = tok_at(sleep_toks, p);
  lwkt_gettoken(tok);
  const took = lwkt_token_held_excl(tok);
  wakeup(<u32>word(sleep_chans, p));
  selftest_halt_until(never, 2);
  atomic.store<u32>(word(sleep_b_done, p), 1);
  lwkt_reltoken(tok);
  const finished = selftest_halt_until(sleep_finished, 50);
  selftest_barrier();
  if (!took) return "could not take the token while its holder slept";
  if (!finished) return "the sleeper did not finish within 50 ticks";
  if (atomic.load<u32>(word(sleep_seen, me)) != 1) return "the woken holder ran without its token, or before the other thread released it";
  return null;
}

// ---- §4.5 invariant 2: recursion, LIFO release, swap -------------------------------------

const rec_toks: usize = memory.data(<i32>MAXCPU * 2 * 16, 8);

/*
 * Invariant 2: two nested exclusive gets leave EXCLUSIVE with one shared
 * count, and releasing them in reverse brings t_count back to 0; a shared
 * get inside an exclusive hold counts the same. Would an out-of-order
 * release panic (asked of lwkt_reltoken_check, not done)? Does
 * lwkt_token_swap allow one?
 */
function token_test_recursion(): string | null {
  const me = curthread();
  const t1 = tok_at(rec_toks, cpu_id() * 2);
  const t2 = tok_at(rec_toks, cpu_id() * 2 + 1);
  lwkt_token_init(t1, "selftest.recursion1");
  lwkt_token_init(t2, "selftest.recursion2");
  lwkt_gettoken(t1);
  lwkt_gettoken(t1);
  if (lwkt_token_count(t1) != (TOK_EXCLUSIVE | TOK_INCR)) return "two nested gets did not leave EXCLUSIVE and one shared count";
  if (!lwkt_token_held_excl(t1) || lwkt_cnttoken(t1, me) != 2 || lwkt_token_owner(t1) !== me) return "the holder is not the exclusive owner with two references";
  if (!lwkt_trytoken(t1)) return "trytoken of a token held exclusively failed";
  lwkt_reltoken(t1);
  lwkt_reltoken(t1);
  if (lwkt_token_count(t1) != TOK_EXCLUSIVE) return "releasing the inner reference did not leave EXCLUSIVE alone";
  lwkt_reltoken(t1);
  if (lwkt_token_count(t1) != 0 || lwkt_token_held_any(t1)) return "releasing both did not bring t_count back to 0";
  lwkt_gettoken(t1);
  lwkt_gettoken_shared(t1);
  if (lwkt_token_count(t1) != (TOK_EXCLUSIVE | TOK_INCR)) return "a shared get inside an exclusive hold did not count one shared holder";
  lwkt_reltoken(t1);
  lwkt_reltoken(t1);
  lwkt_gettoken(t1);
  lwkt_gettoken(t2);
  if (lwkt_reltoken_check(t1) === null) return "releasing out of order would not panic";
  if (lwkt_reltoken_check(t2) !== null) return "releasing the last token would panic";
  lwkt_token_swap();
  if (lwkt_reltoken_check(t1) !== null || !lwkt_token_held_excl(t1) || !lwkt_token_held_excl(t2)) return "lwkt_token_swap did not move t1 to the top, or lost an owner";
  lwkt_reltoken(t1);
  if (lwkt_token_held_any(t1) || !lwkt_token_held_excl(t2)) return "releasing t1 after the swap released the wrong token";
  lwkt_reltoken(t2);
  if (lwkt_token_count(t1) != 0 || lwkt_token_count(t2) != 0 || lwkt_tokens_held(me) != 0) return "tokens left held";
  if (lwkt_reltoken_check(t1) === null) return "releasing with no tokens would not panic";
  return null;
}

// ---- §4.5 invariant 2: readers and a writer ------------------------------------------------

const shared_tok: usize = memory.data(16, 8);
const shared_readers: usize = memory.data(4, 4); // readers holding it now
const shared_writer_saw: usize = memory.data(4, 4); // readers holding it when the writer got it (+1)
const shared_flags: usize = memory.data(4, 4); // 1: a reader saw the writer's EXCLREQ; 2: a reader's trytoken succeeded

let shared_writer_done: bool = false;

function shared_finished(): bool {
  return shared_writer_done;
}

function shared_writer(arg: u32): void {
  const tok = changetype<lwkt_token>(shared_tok);
  lwkt_gettoken(tok);
  atomic.store<u32>(shared_writer_saw, atomic.load<u32>(shared_readers) + 1);
  lwkt_reltoken(tok);
  shared_writer_done = true;
}

/*
 * Invariant 2: every CPU but CPU 0 takes T shared and holds it until all
 * do (on one CPU, CPU 0 alone reads). Do they hold it at once? Then a
 * writer on CPU 0 asks for it: does it wait, flagging EXCLREQ, and get it
 * only once every reader has released?
 */
function token_test_shared(): string | null {
  const me = cpu_id();
  const n = selftest_cpus();
  const tok = changetype<lwkt_token>(shared_tok);
  const reader = n == 1 || me != 0;
  const readers = n == 1 ? 1 : n - 1;
  if (me == 0) {
    lwkt_token_init(tok, "selftest.shared");
    atomic.store<u32>(shared_readers, 0);
    atomic.store<u32>(shared_writer_saw, 0);
    atomic.store<u32>(shared_flags, 0);
  }
  shared_writer_done = false;
  lwkt_setpri(curthread(), TDPRI_KERN_DAEMON);
  selftest_barrier();
  if (reader) {
    lwkt_gettoken_shared(tok);
    atomic.add<u32>(shared_readers, 1);
  }
  selftest_barrier();
  const together = lwkt_token_count(tok) >> 2 == readers;
  if (reader && lwkt_trytoken(tok)) {
    atomic.or<u32>(shared_flags, 2);
    lwkt_reltoken(tok);
  }
  if (me == 0) lwkt_create(shared_writer, 0, TDPRI_SOFT_NORM);
  selftest_barrier();
  if (n > 1 && reader && (lwkt_token_count(tok) & TOK_EXCLREQ) != 0) atomic.or<u32>(shared_flags, 1);
  if (reader) {
    atomic.sub<u32>(shared_readers, 1);
    lwkt_reltoken(tok);
  }
  const finished = me != 0 || selftest_halt_until(shared_finished, 50);
  selftest_barrier();
  if (!together) return "the readers did not hold the token at once";
  if ((atomic.load<u32>(shared_flags) & 2) != 0) return "an exclusive trytoken succeeded while readers held the token";
  if (n > 1 && (atomic.load<u32>(shared_flags) & 1) == 0) return "the waiting writer did not flag EXCLREQ";
  if (!finished) return "the writer did not get the token within 50 ticks";
  if (atomic.load<u32>(shared_writer_saw) != 1) return "the writer got the token while readers held it";
  return null;
}

// ---- §4.5 invariant 3: no deadlock ----------------------------------------------------------

/** Rounds each thread takes its two tokens. */
const DEADLOCK_ROUNDS: u32 = 4;
const dl_toks: usize = memory.data(<i32>MAXCPU * 2 * 16, 8);
const dl_inside: usize = memory.data(<i32>MAXCPU * 4, 4); // threads inside the pair's tokens (must stay below 2)
const dl_bad: usize = memory.data(<i32>MAXCPU * 4, 4); // both were inside at once
const dl_chans: usize = memory.data(<i32>MAXCPU * 8, 4);

/** Per CPU: threads of this CPU that finished. */
let dl_done: u32 = 0;

function dl_finished(): bool {
  return dl_done == 2;
}

/* One thread's rounds on pair `pair`: first one token, a blocking sleep, then the other (B the other way round). */
function dl_rounds(pair: u32, b: bool): void {
  const first = tok_at(dl_toks, pair * 2 + (b ? 1 : 0));
  const second = tok_at(dl_toks, pair * 2 + (b ? 0 : 1));
  for (let r: u32 = 0; r < DEADLOCK_ROUNDS; r++) {
    lwkt_gettoken(first);
    tsleep(<u32>(dl_chans + <usize>cpu_id() * 8 + (b ? 4 : 0)), 1);
    lwkt_gettoken(second);
    if (atomic.add<u32>(word(dl_inside, pair), 1) != 0) atomic.store<u32>(word(dl_bad, pair), 1);
    for (let i = 0; i < 50; i++) pause();
    atomic.sub<u32>(word(dl_inside, pair), 1);
    lwkt_reltoken(second);
    lwkt_reltoken(first);
  }
  dl_done++;
}

function dl_a(arg: u32): void {
  dl_rounds(cpu_id(), false);
}

function dl_b(pair: u32): void {
  dl_rounds(pair, true);
}

/*
 * Invariant 3: A (on this CPU) takes T1 then T2 with a sleep between, while
 * B (on the CPU whose partner this is; this CPU when alone) takes T2 then
 * T1 the same way, a few rounds. Do both finish, never inside both tokens
 * together?
 */
function token_test_deadlock(): string | null {
  const me = cpu_id();
  lwkt_token_init(tok_at(dl_toks, me * 2), "selftest.deadlock1");
  lwkt_token_init(tok_at(dl_toks, me * 2 + 1), "selftest.deadlock2");
  atomic.store<u32>(word(dl_inside, me), 0);
  atomic.store<u32>(word(dl_bad, me), 0);
  dl_done = 0;
  lwkt_setpri(curthread(), TDPRI_KERN_DAEMON);
  selftest_barrier();
  lwkt_create(dl_a, 0, TDPRI_SOFT_NORM);
  lwkt_create(dl_b, selftest_partner(), TDPRI_SOFT_NORM);
  const finished = selftest_halt_until(dl_finished, 200);
  selftest_barrier();
  if (!finished) return "the two threads did not both finish within 200 ticks";
  if (atomic.load<u32>(word(dl_bad, me)) != 0) return "both threads were inside both tokens at once";
  return null;
}

// ---- §4.5 invariant 3: a preempting interrupt thread waits for the preempted one's token ----

const pre_toks: usize = memory.data(<i32>MAXCPU * 16, 8);

/** Per CPU: the boot thread, for the interrupt thread to compare with. */
let pre_boot: thread | null = null;

function pre_ithread(arg: u32): void {
  const tok = tok_at(pre_toks, cpu_id());
  const me = curthread();
  trace(me.td_preempted === pre_boot && (pre_boot!.td_flags & TDF_PREEMPT_LOCK) != 0 ? "i1" : "i1-not-preempting");
  lwkt_gettoken(tok);
  trace(lwkt_token_held_excl(tok) ? "i2" : "i2-without-token");
  lwkt_reltoken(tok);
}

/*
 * Invariant 3: this CPU's boot thread holds T and schedules an interrupt
 * thread that wants T. Does it preempt at once, fail to get T, and let the
 * boot thread go on, which kept T; and does it run again, with T, exactly
 * when the boot thread releases T? Is the wait counted as a collision?
 */
function token_test_preempt(): string | null {
  const tok = tok_at(pre_toks, cpu_id());
  lwkt_token_init(tok, "selftest.preempt");
  const me = curthread();
  pre_boot = me;
  lwkt_setpri(me, TDPRI_KERN_DAEMON);
  const ithread = lwkt_create(pre_ithread, 0, TDPRI_INT_MED, TDF_INTTHREAD | TDF_NOSTART);
  lwkt_gettoken(tok);
  trace("m1");
  lwkt_schedule(ithread);
  trace(lwkt_token_held_excl(tok) ? "m2" : "m2-lost-token");
  lwkt_reltoken(tok);
  trace("m3");
  if (!traced("m1 i1 m2 i2 m3")) return "the interrupt thread did not preempt, or ran before the token was released";
  if (lwkt_token_collisions(tok) < 1) return "the interrupt thread's wait was not counted";
  return null;
}

// ---- contention counters and the list of named tokens --------------------------------------

const coll_tok: usize = memory.data(16, 8);
const coll_base: usize = memory.data(4, 4);

/*
 * What if every CPU but CPU 0 asks for a token CPU 0 holds? Each waits
 * (spinning in lwkt_switch, as nothing else is runnable), the token counts
 * at least one collision per waiter, and all get it once CPU 0 lets go. Is
 * the token listed among the named ones, by name?
 */
function token_test_collisions(): string | null {
  const me = cpu_id();
  const n = selftest_cpus();
  const tok = changetype<lwkt_token>(coll_tok);
  if (me == 0) {
    lwkt_token_init(tok, "selftest.collisions");
    atomic.store<u32>(coll_base, lwkt_token_collisions(tok));
  }
  selftest_barrier();
  if (me == 0) lwkt_gettoken(tok);
  selftest_barrier();
  let waited = true;
  if (me == 0) {
    const ticksp = changetype<usize>(mycpu()) + offsetof<globaldata>("gd_ticks");
    const start = atomic.load<u32>(ticksp);
    while (lwkt_token_collisions(tok) - atomic.load<u32>(coll_base) < n - 1 && atomic.load<u32>(ticksp) - start < 50) pause();
    waited = lwkt_token_collisions(tok) - atomic.load<u32>(coll_base) >= n - 1;
    lwkt_reltoken(tok);
  } else {
    lwkt_gettoken(tok);
    lwkt_reltoken(tok);
  }
  selftest_barrier();
  if (!waited) return "the waiters' collisions were not counted";
  let listed = false;
  for (let i: u32 = 0; ; i++) {
    const t = lwkt_token_named(i);
    if (t === null) break;
    if (t === tok) listed = lwkt_token_desc(t) == "selftest.collisions";
  }
  if (!listed) return "the token is not among the named tokens";
  return null;
}

// ---- pool tokens ----------------------------------------------------------------------------

/** Increments of the shared counter each CPU makes under its pool token. */
const POOL_ROUNDS: u32 = 100;
const pool_counter: usize = memory.data(4, 4);
const pool_other: usize = memory.data(64, 4);

/*
 * Does one address always find the same pool token, a pool token, unnamed?
 * And does it serialize: every CPU increments a shared counter non-atomically
 * (load, pause, store) under the counter's pool token; is no increment lost?
 */
function token_test_pool(): string | null {
  const me = cpu_id();
  const tok = lwkt_token_pool_lookup(pool_counter);
  if (tok !== lwkt_token_pool_lookup(pool_counter)) return "one address found two pool tokens";
  const first = changetype<usize>(lwkt_token_pool_nth(0));
  const last = changetype<usize>(lwkt_token_pool_nth(LWKT_POOL_TOKENS - 1));
  if (changetype<usize>(tok) < first || changetype<usize>(tok) > last) return "a pool token outside the pool";
  if (lwkt_token_desc(tok) != "pool") return "a pool token has a name";
  if (me == 0) atomic.store<u32>(pool_counter, 0);
  selftest_barrier();
  let held = true;
  for (let r: u32 = 0; r < POOL_ROUNDS; r++) {
    const t = lwkt_getpooltoken(pool_counter);
    lwkt_getpooltoken(pool_other + <usize>me * 4);
    held = held && t === tok && lwkt_token_held_excl(tok);
    const v = load<u32>(pool_counter);
    pause();
    store<u32>(pool_counter, v + 1);
    lwkt_relpooltoken(pool_other + <usize>me * 4);
    lwkt_relpooltoken(pool_counter);
  }
  selftest_barrier();
  if (!held) return "lwkt_getpooltoken did not return its token, held";
  if (atomic.load<u32>(pool_counter) != selftest_cpus() * POOL_ROUNDS) return "increments under the pool token were lost";
  if (lwkt_tokens_held(curthread()) != 0) return "pool tokens left held";
  return null;
}

// ---- hard code ---------------------------------------------------------------------------

const hard_toks: usize = memory.data(<i32>MAXCPU * 16, 8);

/** Per CPU: the systimer, and what its callback found (0: not run yet). */
let hard_timer: systimer | null = null;
let hard_result: u32 = 0;

function hard_ran(): bool {
  return hard_result != 0;
}

/* A systimer callback (hard code) that takes the interrupted thread's token again, and releases it. */
function hard_callback(info: u32, frame: u32): void {
  const tok = tok_at(hard_toks, cpu_id());
  lwkt_gettoken(tok);
  const count = lwkt_token_count(tok);
  lwkt_reltoken(tok);
  hard_result = count == (TOK_EXCLUSIVE | TOK_INCR) && lwkt_token_count(tok) == TOK_EXCLUSIVE ? 1 : 2;
}

/*
 * May hard code take a token the thread it interrupted holds? A systimer
 * callback, run from the timer interrupt while the boot thread holds T and
 * halts, gets T (a recursive reference on the boot thread's stack) and
 * releases it, leaving the boot thread's hold as it was. (Taking a token
 * nobody there holds would panic.)
 */
function token_test_hard(): string | null {
  const tok = tok_at(hard_toks, cpu_id());
  lwkt_token_init(tok, "selftest.hard");
  if (!hard_timer) hard_timer = systimer_alloc();
  hard_result = 0;
  lwkt_gettoken(tok);
  systimer_init_oneshot(hard_timer!, hard_callback, 0, 1000);
  const ran = selftest_halt_until(hard_ran, 50);
  const still = lwkt_token_held_excl(tok) && lwkt_cnttoken(tok, curthread()) == 1;
  lwkt_reltoken(tok);
  if (!ran) return "the systimer callback did not run within 50 ticks";
  if (hard_result != 1) return "the callback's recursive reference did not count as one shared holder";
  if (!still) return "the callback changed the thread's hold";
  return null;
}

/** This file's tests, in the order they run (kern/selftest.ts). */
export const TOKEN_TESTS: StaticArray<string> = [
  "token.sleep", "token.recursion", "token.shared", "token.deadlock", "token.preempt", "token.collisions", "token.pool",
  "token.hard",
];

/* token_selftest: runs TOKEN_TESTS[i]. */
export function token_selftest(i: i32): string | null {
  switch (i) {
    case 0: return token_test_sleep();
    case 1: return token_test_recursion();
    case 2: return token_test_shared();
    case 3: return token_test_deadlock();
    case 4: return token_test_preempt();
    case 5: return token_test_collisions();
    case 6: return token_test_pool();
    default: return token_test_hard();
  }
}

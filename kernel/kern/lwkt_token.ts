// Serializing tokens (reference dragonfly.md §4).
//
// The model. A token serializes the threads that hold it ONLY WHILE THEY
// RUN: every lwkt_switch releases all of the switching thread's tokens, and
// the scheduler gets them all back, all or nothing, before it runs the
// thread again (lwkt_thread.ts). So nobody waits for a token while holding
// another, and tokens cannot deadlock; whatever a token protects may change
// across anything that can block, and code re-validates after it. The one
// exception is preemption by an interrupt thread: the preempted thread never
// went through lwkt_switch and keeps its tokens (a preemptor that wants one
// fails and switches straight back). A thread holding tokens is not switched
// away by a reschedule either (lwkt_thread.ts): it keeps them until it blocks,
// yields or releases the last.
//
// t_count holds TOK_EXCLUSIVE, TOK_EXCLREQ (an exclusive waiter exists) and
// the shared holders in steps of TOK_INCR; t_ref is the exclusive owner's
// tokref. Each thread keeps its references on a stack (td_toks_base ..
// td_toks_stop, LWKT_MAXTOKENS deep), released in STRICT LIFO ORDER
// (lwkt_reltoken panics otherwise; lwkt_token_swap allows one exception).
// A thread may take a token it holds exclusively again, exclusively or
// shared: the inner reference counts as a shared holder. Taking exclusively
// a token one holds shared livelocks: don't. As in DragonFly, TOK_EXCLREQ
// does not hold back new shared holders, so readers can starve a writer.
//
// Tokens need no critical section, but may NOT BE NEWLY ACQUIRED IN HARD
// CODE (IPI handlers, systimer callbacks: gd_intr_nesting_level > 0); taking
// one the interrupted thread already holds is fine.
//
// Pool tokens (lwkt_getpooltoken) are LWKT_POOL_TOKENS static tokens found by
// hashing an address: type-stable serialization for objects that may go away.
// Named tokens (lwkt_token_init) are listed in a table for the monitor; every
// token counts its collisions (failed acquisitions that made a thread wait).

import { pause } from "../hw";
import { bootalloc } from "./kern_bootalloc";
import { panic } from "./kern_shutdown";
import { crit_enter, crit_exit, curthread, lwkt_switch, mycpu, thread } from "./lwkt_thread";

/** t_count bits. */
export const TOK_EXCLUSIVE: u32 = 0x1; // held exclusively (t_ref is the holder's tokref)
export const TOK_EXCLREQ: u32 = 0x2; // a thread waits to take it exclusively
export const TOK_INCR: u32 = 4; // one shared holder

/** References a thread may hold at once, recursion included. */
export const LWKT_MAXTOKENS: i32 = 32;
/** Pool tokens: a prime, so that addresses spread over all of them. */
export const LWKT_POOL_TOKENS: u32 = 4001;
/** Named tokens the table has room for. */
export const LWKT_NAMED_TOKENS: u32 = 1024;
/** Attempts, a pause apart, before a thread gives up the CPU to wait for a token. */
const LWKT_TOKEN_SPIN: i32 = 5;

/*
 * A token: the caller's memory (zero is a free token); lwkt_token_init
 * names it. t_count, t_ref and t_collisions are atomics that any CPU writes.
 */
@unmanaged
export class lwkt_token {
  t_count: u32;
  t_ref: lwkt_tokref | null;
  t_collisions: u32;
  // Set by lwkt_token_init; null for pool tokens:
  t_desc: string | null;
}

/* A reference on a thread's token stack. Its thread's CPU writes it; t_ref points at it while it owns the token. */
@unmanaged
export class lwkt_tokref {
  tr_tok: lwkt_token;
  tr_count: u32; // the mode: TOK_EXCLUSIVE|TOK_EXCLREQ, or TOK_EXCLREQ for shared (and for a recursive exclusive one)
  tr_owner: thread;
}

const TOKREF_BYTES: usize = offsetof<lwkt_tokref>();
/** A thread's token stack (lwkt_thread.ts allocates one per thread). */
export const LWKT_TOKSTACK_BYTES: usize = <usize>LWKT_MAXTOKENS * TOKREF_BYTES;

/** The pool (zero: free tokens without a name). */
const TOKEN_BYTES: usize = offsetof<lwkt_token>();
const pool_tokens: usize = memory.data(<i32>LWKT_POOL_TOKENS * <i32>offsetof<lwkt_token>(), 8);

/** Named tokens: their addresses, and how many slots are taken (atomics). */
const named_tokens: usize = memory.data(<i32>LWKT_NAMED_TOKENS * 4, 4);
const named_count: usize = memory.data(4, 4);

/** Per CPU: lwkt_switch's scratch for the address-sorted acquisition. */
let sort_buf: usize = 0;

function t_count_p(tok: lwkt_token): usize { return changetype<usize>(tok) + offsetof<lwkt_token>("t_count"); }
function t_ref_p(tok: lwkt_token): usize { return changetype<usize>(tok) + offsetof<lwkt_token>("t_ref"); }
function t_collisions_p(tok: lwkt_token): usize { return changetype<usize>(tok) + offsetof<lwkt_token>("t_collisions"); }

function _t_ref(tok: lwkt_token): lwkt_tokref | null {
  return changetype<lwkt_tokref | null>(<usize>atomic.load<u32>(t_ref_p(tok)));
}

function _set_t_ref(tok: lwkt_token, ref: lwkt_tokref | null): void {
  atomic.store<u32>(t_ref_p(tok), <u32>changetype<usize>(ref));
}

function _tokref(p: usize): lwkt_tokref {
  return changetype<lwkt_tokref>(p);
}

/*
 * Whether td owns tok exclusively. A stale t_ref can only be a ref of a
 * thread that released the token, whose tr_owner is not td unless it is td's
 * own and then t_ref was cleared first.
 */
function _lwkt_tokref_isowner(tok: lwkt_token, td: thread): bool {
  const ref = _t_ref(tok);
  return ref !== null && ref.tr_owner === td;
}

// ---- acquisition and release of one reference ----------------------------------------

/*
 * One attempt to acquire ref's token in `mode`. Exclusive: free but for
 * EXCLREQ, or already ours (recursion: the ref becomes a shared count).
 * Failing a blocking attempt (mode has TOK_EXCLREQ) flags the waiter.
 * Shared: no exclusive holder, or the exclusive holder is td.
 */
function _lwkt_trytokref(ref: lwkt_tokref, td: thread, mode: u32): bool {
  const tok = ref.tr_tok;
  const p = t_count_p(tok);
  while (true) {
    const count = atomic.load<u32>(p);
    if ((mode & TOK_EXCLUSIVE) != 0) {
      if ((count & ~TOK_EXCLREQ) == 0) {
        if (atomic.cmpxchg<u32>(p, count, (count & ~TOK_EXCLREQ) | TOK_EXCLUSIVE) != count) continue;
        _set_t_ref(tok, ref);
        return true;
      }
      if ((count & TOK_EXCLUSIVE) != 0 && _lwkt_tokref_isowner(tok, td)) {
        ref.tr_count &= ~TOK_EXCLUSIVE;
        atomic.add<u32>(p, TOK_INCR);
        return true;
      }
      if ((mode & TOK_EXCLREQ) != 0 && (count & TOK_EXCLREQ) == 0) {
        if (atomic.cmpxchg<u32>(p, count, count | TOK_EXCLREQ) != count) continue;
      }
      return false;
    }
    if ((count & TOK_EXCLUSIVE) == 0) {
      if (atomic.cmpxchg<u32>(p, count, count + TOK_INCR) != count) continue;
      return true;
    }
    if (_lwkt_tokref_isowner(tok, td)) {
      atomic.add<u32>(p, TOK_INCR);
      return true;
    }
    return false;
  }
}

/* _lwkt_trytokref, LWKT_TOKEN_SPIN times at most, a pause apart. */
function _lwkt_trytokref_spin(ref: lwkt_tokref, td: thread, mode: u32): bool {
  for (let i = 0; i < LWKT_TOKEN_SPIN; i++) {
    if (_lwkt_trytokref(ref, td, mode)) return true;
    pause();
  }
  return false;
}

/*
 * Releases what ref holds. The exclusive owner clears t_ref before the bit,
 * so nobody sees it as the owner of a token it no longer holds; the CAS
 * fails only when a waiter set EXCLREQ meanwhile, and then t_ref goes back.
 */
function _lwkt_reltokref(ref: lwkt_tokref): void {
  const tok = ref.tr_tok;
  const p = t_count_p(tok);
  if (_t_ref(tok) !== ref) {
    atomic.sub<u32>(p, TOK_INCR);
    return;
  }
  while (true) {
    const count = atomic.load<u32>(p);
    _set_t_ref(tok, null);
    if (atomic.cmpxchg<u32>(p, count, count & ~TOK_EXCLUSIVE) == count) return;
    _set_t_ref(tok, ref);
  }
}

// ---- the token stack -----------------------------------------------------------------

/* The top of td's stack as held: refs below it are acquired. */
function _toks_held_top(td: thread): usize {
  return td.td_toks_have != 0 ? td.td_toks_have : td.td_toks_stop;
}

/* Whether td holds tok, by any of its acquired refs. */
function _lwkt_token_held(td: thread, tok: lwkt_token): bool {
  const top = _toks_held_top(td);
  for (let p = td.td_toks_base; p < top; p += TOKREF_BYTES) if (_tokref(p).tr_tok === tok) return true;
  return false;
}

/* Pushes a ref for tok in `mode`; in hard code, tok must be held already. */
function _lwkt_tokref_push(td: thread, tok: lwkt_token, mode: u32): lwkt_tokref {
  if (mycpu().gd_intr_nesting_level > 0 && !_lwkt_token_held(td, tok)) {
    panic("lwkt_gettoken: a token newly acquired in an IPI handler or systimer callback");
  }
  if (td.td_toks_stop >= td.td_toks_base + LWKT_TOKSTACK_BYTES) panic("lwkt_gettoken: more than LWKT_MAXTOKENS token references");
  const ref = _tokref(td.td_toks_stop);
  ref.tr_tok = tok;
  ref.tr_count = mode;
  ref.tr_owner = td;
  td.td_toks_stop += TOKREF_BYTES;
  return ref;
}

/*
 * The body of lwkt_gettoken and lwkt_gettoken_shared. After a few tries the
 * thread gives up the CPU with the ref pushed but not held (td_toks_have),
 * and the scheduler runs it again only once it has every token of its stack.
 */
function _lwkt_gettoken(tok: lwkt_token, mode: u32): void {
  const td = curthread();
  crit_enter();
  const ref = _lwkt_tokref_push(td, tok, mode);
  if (!_lwkt_trytokref_spin(ref, td, mode)) {
    if (mycpu().gd_intr_nesting_level > 0) panic("lwkt_gettoken: would wait in an IPI handler or systimer callback");
    atomic.add<u32>(t_collisions_p(tok), 1);
    td.td_toks_have = changetype<usize>(ref);
    lwkt_switch();
    if ((mode & TOK_EXCLUSIVE) != 0 && _t_ref(tok) !== ref) panic("lwkt_gettoken: resumed without the token");
  }
  crit_exit();
}

/*
 * lwkt_gettoken: tok, exclusively, for the calling thread; again if it holds
 * it exclusively already. Waits (switching) while others hold it; held
 * from return until lwkt_reltoken, except across anything that switches.
 * Context: thread, critical section or not; may switch; in an IPI handler
 * or systimer callback only a token the interrupted thread holds.
 */
export function lwkt_gettoken(tok: lwkt_token): void {
  _lwkt_gettoken(tok, TOK_EXCLUSIVE | TOK_EXCLREQ);
}

/*
 * lwkt_gettoken_shared: tok, shared with other shared holders (or inside
 * the caller's own exclusive hold). Not for pool tokens.
 * Context: as lwkt_gettoken.
 */
export function lwkt_gettoken_shared(tok: lwkt_token): void {
  _lwkt_gettoken(tok, TOK_EXCLREQ);
}

/*
 * lwkt_trytoken: lwkt_gettoken that never waits: whether it got tok (when
 * not, nothing is pushed and no waiter is flagged).
 * Context: as lwkt_gettoken, but never switches.
 */
export function lwkt_trytoken(tok: lwkt_token): bool {
  const td = curthread();
  crit_enter();
  const ref = _lwkt_tokref_push(td, tok, TOK_EXCLUSIVE | TOK_EXCLREQ);
  const ok = _lwkt_trytokref(ref, td, TOK_EXCLUSIVE);
  if (!ok) td.td_toks_stop = changetype<usize>(ref);
  crit_exit();
  return ok;
}

/*
 * lwkt_reltoken_check: why lwkt_reltoken(tok) would panic now (the stack is
 * empty, or tok is not its top: releases are strictly LIFO), or null.
 * Context: thread.
 */
export function lwkt_reltoken_check(tok: lwkt_token): string | null {
  const td = curthread();
  if (td.td_toks_stop == td.td_toks_base) return "lwkt_reltoken: no tokens to release";
  if (_tokref(td.td_toks_stop - TOKREF_BYTES).tr_tok !== tok) return "lwkt_reltoken: not the last token acquired";
  return null;
}

/*
 * lwkt_reltoken: releases the caller's latest reference, which must be to
 * tok (panics otherwise). Releasing the last token the thread holds lets a
 * reschedule it held back happen (lwkt_thread.ts).
 * Context: thread, or hard code releasing what it took.
 */
export function lwkt_reltoken(tok: lwkt_token): void {
  const why = lwkt_reltoken_check(tok);
  if (why !== null) panic(why);
  const td = curthread();
  crit_enter();
  const ref = _tokref(td.td_toks_stop - TOKREF_BYTES);
  _lwkt_reltokref(ref);
  td.td_toks_stop = changetype<usize>(ref);
  crit_exit();
}

/*
 * lwkt_token_swap: exchanges the two top references, so that the one below
 * can be released first; t_ref follows its ref.
 * Context: thread holding two references at least.
 */
export function lwkt_token_swap(): void {
  const td = curthread();
  if (td.td_toks_stop - td.td_toks_base < 2 * TOKREF_BYTES) panic("lwkt_token_swap: fewer than two tokens held");
  crit_enter();
  const ref1 = _tokref(td.td_toks_stop - TOKREF_BYTES);
  const ref2 = _tokref(td.td_toks_stop - 2 * TOKREF_BYTES);
  const tok1 = ref1.tr_tok;
  const tok2 = ref2.tr_tok;
  if (tok1 !== tok2) {
    const count1 = ref1.tr_count;
    ref1.tr_tok = tok2;
    ref1.tr_count = ref2.tr_count;
    ref2.tr_tok = tok1;
    ref2.tr_count = count1;
    if (_t_ref(tok1) === ref1) _set_t_ref(tok1, ref2);
    if (_t_ref(tok2) === ref2) _set_t_ref(tok2, ref1);
  }
  crit_exit();
}

// ---- the scheduler's side (lwkt_switch) -----------------------------------------------

/*
 * lwkt_relalltokens: releases every token td holds, top first; its stack
 * stays, to be acquired again by lwkt_getalltokens.
 * Context: lwkt_switch, td switching out, critical section.
 */
export function lwkt_relalltokens(td: thread): void {
  let p = _toks_held_top(td);
  while (p > td.td_toks_base) {
    p -= TOKREF_BYTES;
    _lwkt_reltokref(_tokref(p));
  }
  td.td_toks_have = td.td_toks_base;
}

/*
 * lwkt_getalltokens: acquires every token of td's stack, all or nothing:
 * on failure what was taken is released again (in reverse) and the token
 * that failed counts a collision. In stack order, spinning a little on the
 * last only; `sorted` (after repeated failures) takes them in address order
 * instead, so CPUs contending for the same sets do not keep colliding.
 * Context: lwkt_switch on td's CPU, critical section; td is not running.
 */
export function lwkt_getalltokens(td: thread, sorted: bool): bool {
  if (sorted) return _lwkt_getalltokens_sorted(td);
  const stop = td.td_toks_stop;
  for (let p = td.td_toks_base; p < stop; p += TOKREF_BYTES) {
    const ref = _tokref(p);
    const ok = p + TOKREF_BYTES == stop ? _lwkt_trytokref_spin(ref, td, ref.tr_count) : _lwkt_trytokref(ref, td, ref.tr_count);
    if (ok) continue;
    atomic.add<u32>(t_collisions_p(ref.tr_tok), 1);
    while (p > td.td_toks_base) {
      p -= TOKREF_BYTES;
      _lwkt_reltokref(_tokref(p));
    }
    return false;
  }
  td.td_toks_have = 0;
  return true;
}

/*
 * lwkt_getalltokens by token address (refs to one token in stack order, so
 * the exclusive one comes before its recursions).
 */
function _lwkt_getalltokens_sorted(td: thread): bool {
  if (sort_buf == 0) sort_buf = bootalloc(<usize>LWKT_MAXTOKENS * 4, 4);
  const n = <i32>((td.td_toks_stop - td.td_toks_base) / TOKREF_BYTES);
  for (let i = 0; i < n; i++) {
    const ref = td.td_toks_base + <usize>i * TOKREF_BYTES;
    const key = changetype<usize>(_tokref(ref).tr_tok);
    let j = i;
    while (j > 0 && changetype<usize>(_tokref(<usize>load<u32>(sort_buf + <usize>(j - 1) * 4)).tr_tok) > key) {
      store<u32>(sort_buf + <usize>j * 4, load<u32>(sort_buf + <usize>(j - 1) * 4));
      j--;
    }
    store<u32>(sort_buf + <usize>j * 4, <u32>ref);
  }
  for (let i = 0; i < n; i++) {
    const ref = _tokref(<usize>load<u32>(sort_buf + <usize>i * 4));
    if (_lwkt_trytokref_spin(ref, td, ref.tr_count)) continue;
    atomic.add<u32>(t_collisions_p(ref.tr_tok), 1);
    while (i > 0) {
      i--;
      _lwkt_reltokref(_tokref(<usize>load<u32>(sort_buf + <usize>i * 4)));
    }
    return false;
  }
  td.td_toks_have = 0;
  return true;
}

// ---- held-checks ---------------------------------------------------------------------

/*
 * lwkt_token_held_excl: whether the calling thread holds tok exclusively.
 * Context: thread.
 */
export function lwkt_token_held_excl(tok: lwkt_token): bool {
  return (atomic.load<u32>(t_count_p(tok)) & TOK_EXCLUSIVE) != 0 && _lwkt_tokref_isowner(tok, curthread());
}

/*
 * lwkt_token_held_any: whether the calling thread holds tok, in either mode.
 * Context: thread.
 */
export function lwkt_token_held_any(tok: lwkt_token): bool {
  return _lwkt_token_held(curthread(), tok);
}

/*
 * lwkt_cnttoken: how many references td's stack has to tok.
 * Context: td's CPU.
 */
export function lwkt_cnttoken(tok: lwkt_token, td: thread): i32 {
  let n = 0;
  for (let p = td.td_toks_base; p < td.td_toks_stop; p += TOKREF_BYTES) if (_tokref(p).tr_tok === tok) n++;
  return n;
}

/*
 * lwkt_tokens_held: how many references td's stack has (0: it holds no token).
 * Context: td's CPU.
 */
export function lwkt_tokens_held(td: thread): i32 {
  return <i32>((td.td_toks_stop - td.td_toks_base) / TOKREF_BYTES);
}

// ---- named and pool tokens -----------------------------------------------------------

/*
 * lwkt_token_init: tok becomes a free token called desc, listed among the
 * named tokens (once, however often it is initialized).
 * Context: any; not while anyone holds tok.
 */
export function lwkt_token_init(tok: lwkt_token, desc: string): void {
  atomic.store<u32>(t_count_p(tok), 0);
  _set_t_ref(tok, null);
  atomic.store<u32>(t_collisions_p(tok), 0);
  tok.t_desc = desc;
  const n = atomic.load<u32>(named_count);
  for (let i: u32 = 0; i < n && i < LWKT_NAMED_TOKENS; i++) {
    if (atomic.load<u32>(named_tokens + <usize>i * 4) == <u32>changetype<usize>(tok)) return;
  }
  const slot = atomic.add<u32>(named_count, 1);
  if (slot >= LWKT_NAMED_TOKENS) panic("lwkt_token_init: more than LWKT_NAMED_TOKENS named tokens");
  atomic.store<u32>(named_tokens + <usize>slot * 4, <u32>changetype<usize>(tok));
}

/*
 * lwkt_token_named: the i-th named token, in the order they were first
 * initialized; null past the last (or for a slot being filled).
 * Context: any.
 */
export function lwkt_token_named(i: u32): lwkt_token | null {
  if (i >= atomic.load<u32>(named_count) || i >= LWKT_NAMED_TOKENS) return null;
  return changetype<lwkt_token | null>(<usize>atomic.load<u32>(named_tokens + <usize>i * 4));
}

/*
 * lwkt_token_pool_nth: pool token i (0 .. LWKT_POOL_TOKENS - 1).
 * Context: any.
 */
export function lwkt_token_pool_nth(i: u32): lwkt_token {
  if (i >= LWKT_POOL_TOKENS) panic("lwkt_token_pool_nth: no such pool token");
  return changetype<lwkt_token>(pool_tokens + <usize>i * TOKEN_BYTES);
}

/*
 * lwkt_token_pool_lookup: the pool token that serializes ptr: always the
 * same one for one address.
 * Context: any.
 */
export function lwkt_token_pool_lookup(ptr: usize): lwkt_token {
  return lwkt_token_pool_nth(<u32>((ptr >> 2) ^ (ptr >> 12)) % LWKT_POOL_TOKENS);
}

/*
 * lwkt_getpooltoken: lwkt_gettoken of ptr's pool token, which it returns.
 * Context: as lwkt_gettoken.
 */
export function lwkt_getpooltoken(ptr: usize): lwkt_token {
  const tok = lwkt_token_pool_lookup(ptr);
  lwkt_gettoken(tok);
  return tok;
}

/*
 * lwkt_relpooltoken: lwkt_reltoken of ptr's pool token.
 * Context: as lwkt_reltoken.
 */
export function lwkt_relpooltoken(ptr: usize): void {
  lwkt_reltoken(lwkt_token_pool_lookup(ptr));
}

// ---- what a monitor shows (racy reads) -----------------------------------------------

/* lwkt_token_desc: tok's name; "pool" for pool tokens. Context: any. */
export function lwkt_token_desc(tok: lwkt_token): string {
  const desc = tok.t_desc;
  return desc !== null ? desc : "pool";
}

/* lwkt_token_owner: the thread holding tok exclusively, or null. Context: any; racy. */
export function lwkt_token_owner(tok: lwkt_token): thread | null {
  const ref = _t_ref(tok);
  return ref !== null && (atomic.load<u32>(t_count_p(tok)) & TOK_EXCLUSIVE) != 0 ? ref.tr_owner : null;
}

/* lwkt_token_count: tok's t_count (mode bits and shared holders). Context: any; racy. */
export function lwkt_token_count(tok: lwkt_token): u32 {
  return atomic.load<u32>(t_count_p(tok));
}

/* lwkt_token_collisions: how often a thread had to wait for tok. Context: any. */
export function lwkt_token_collisions(tok: lwkt_token): u32 {
  return atomic.load<u32>(t_collisions_p(tok));
}

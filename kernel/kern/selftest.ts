// Kernel self-tests, chosen on the multiboot command line: `selftest=NAME`
// runs one test, `selftest=all` every one (emu boot -append, QEMU -append).
// After bring-up every CPU runs the chosen tests at the same time, in the
// same order, each in its boot thread, and collects one line per test:
//
//   cpu 2: selftest lwkt.priority ok
//   cpu 2: selftest lwkt.priority FAIL why (trace: what the test recorded)
//
// Then the CPUs print their lines in CPU order, so the transcript does not
// depend on how their work interleaved, and the BSP adds a summary line:
// `selftest: 7 tests on 4 cpus: all ok` (or `: 3 failed`).
//
// A test is a function returning null when it passes, else why it failed;
// it may record events with trace()/traceDec() and compare them with
// traced(). It starts in the boot thread at TDPRI_KERN_DAEMON, outside any
// critical section, with interrupts on, and must leave it so. Tests that
// need every CPU at once meet at selftest_barrier(). Tests whose trace
// orders threads of one priority start with selftest_tick_align(), so the
// scheduler clock does not rotate them midway.

import { cli, cpu_id, pause, sti, sti_hlt } from "../hw";
import { lock, putc, putDec, puts, unlock } from "../console";
import { bootalloc } from "./kern_bootalloc";
import { bytes_match, cmdline_value, cmdline_value_end } from "./kern_cmdline";
import { panic } from "./kern_shutdown";
import { TDPRI_KERN_DAEMON, crit_enter, crit_exit, curthread, globaldata, lwkt_setpri, mycpu } from "./lwkt_thread";
import { tsleep, wakeup } from "./kern_synch";
import { smp_active_mask } from "./lwkt_ipiq";
import { LWKT_TESTS, lwkt_selftest } from "./lwkt_selftest";
import { IPIQ_TESTS, ipiq_selftest } from "./lwkt_ipiq_selftest";
import { CPUSYNC_TESTS, cpusync_selftest } from "./lwkt_cpusync_selftest";
import { SYSTIMER_TESTS, systimer_selftest } from "./kern_systimer_selftest";
import { TSLEEP_TESTS, tsleep_selftest } from "./kern_synch_selftest";
import { TOKEN_TESTS, token_selftest } from "./lwkt_token_selftest";
import { MSGPORT_TESTS, msgport_selftest } from "./lwkt_msgport_selftest";
import { KMALLOC_TESTS, kmalloc_selftest } from "./kern_slaballoc_selftest";
import { OBJCACHE_TESTS, objcache_selftest } from "./kern_objcache_selftest";
import { PMAP_TESTS, pmap_selftest } from "../arch/x86_64/pmap_selftest";

// The tests come in groups, one per *_selftest.ts file, each exporting its
// names and a function that runs its i-th test; they run in this order.
const GROUPS: i32 = 10;

function group_names(g: i32): StaticArray<string> {
  switch (g) {
    case 0: return LWKT_TESTS;
    case 1: return IPIQ_TESTS;
    case 2: return CPUSYNC_TESTS;
    case 3: return SYSTIMER_TESTS;
    case 4: return TSLEEP_TESTS;
    case 5: return TOKEN_TESTS;
    case 6: return MSGPORT_TESTS;
    case 7: return KMALLOC_TESTS;
    case 8: return OBJCACHE_TESTS;
    default: return PMAP_TESTS;
  }
}

function group_call(g: i32, i: i32): string | null {
  switch (g) {
    case 0: return lwkt_selftest(i);
    case 1: return ipiq_selftest(i);
    case 2: return cpusync_selftest(i);
    case 3: return systimer_selftest(i);
    case 4: return tsleep_selftest(i);
    case 5: return token_selftest(i);
    case 6: return msgport_selftest(i);
    case 7: return kmalloc_selftest(i);
    case 8: return objcache_selftest(i);
    default: return pmap_selftest(i);
  }
}

/** Room in selftest_mask for the tests of all groups together. */
const MAX_TESTS: i32 = 128;

// Shared by every CPU (atomics): written by the BSP before the APs start, except the last three.
const selftest_mask: usize = memory.data(MAX_TESTS / 8); // bit n: run the n-th test, counting through the groups
const selftest_unknown: usize = memory.data(4); // the command line named no such test
const selftest_go: usize = memory.data(4); // every CPU is up: start
const selftest_turn: usize = memory.data(4); // the CPU whose lines go out now
const selftest_failed: usize = memory.data(4); // failed lines, all CPUs

// Per CPU (module globals are): this CPU's lines, and the current test's trace.
const OUT_BYTES: usize = 4096;
const TRACE_BYTES: usize = 256;
let out_buf: usize = 0;
let out_len: usize = 0;
let trace_buf: usize = 0;
let trace_len: usize = 0;

function out(s: string): void {
  for (let i = 0; i < s.length && out_len < OUT_BYTES; i++) store<u8>(out_buf + out_len++, <u8>s.charCodeAt(i));
}

function outDec(v: u32): void {
  if (v >= 10) outDec(v / 10);
  if (out_len < OUT_BYTES) store<u8>(out_buf + out_len++, <u8>(0x30 + v % 10));
}

const barrier_arrived: usize = memory.data(4);
const barrier_generation: usize = memory.data(4);

/*
 * selftest_barrier: returns once every CPU that takes IPIs has called it as
 * often as this one. It spins without touching anything else: interrupts
 * run IPIs as usual, and a caller in a critical section takes none.
 * Context: the boot thread of a CPU running the tests; every CPU must call
 * it the same number of times.
 */
export function selftest_barrier(): void {
  const generation = atomic.load<u32>(barrier_generation);
  if (atomic.add<u32>(barrier_arrived, 1) + 1 == <u32>popcnt<u64>(smp_active_mask())) {
    atomic.store<u32>(barrier_arrived, 0);
    atomic.add<u32>(barrier_generation, 1);
    return;
  }
  while (atomic.load<u32>(barrier_generation) == generation) pause();
}

/* selftest_cpus: how many CPUs take IPIs (and so run the tests). Context: any. */
export function selftest_cpus(): u32 {
  return <u32>popcnt<u64>(smp_active_mask());
}

/* selftest_partner: the next CPU up that takes IPIs, wrapping around; this one when alone. Context: any. */
export function selftest_partner(): u32 {
  const me = cpu_id();
  const mask = smp_active_mask();
  const above = mask & ~((<u64>2 << me) - 1);
  return <u32>ctz<u64>(above != 0 ? above : mask);
}

/*
 * selftest_halt_until: halts until `done` says so or `ticks` hardclock ticks
 * have passed; returns whether it was done.
 * Context: a test's thread, outside a critical section.
 */
export function selftest_halt_until(done: () => bool, ticks: u32): bool {
  const ticksp = changetype<usize>(mycpu()) + offsetof<globaldata>("gd_ticks");
  const start = atomic.load<u32>(ticksp);
  cli();
  while (!done() && atomic.load<u32>(ticksp) - start < ticks) {
    sti_hlt();
    cli();
  }
  sti();
  return done();
}

/* trace: records an event of the running test. Context: any thread of the CPU running the test. */
export function trace(s: string): void {
  if (trace_len > 0 && trace_len < TRACE_BYTES) store<u8>(trace_buf + trace_len++, 0x20);
  for (let i = 0; i < s.length && trace_len < TRACE_BYTES; i++) store<u8>(trace_buf + trace_len++, <u8>s.charCodeAt(i));
}

/* traceDec: trace() of a number. */
export function traceDec(v: u32): void {
  if (trace_len > 0 && trace_len < TRACE_BYTES) store<u8>(trace_buf + trace_len++, 0x20);
  let digits: u32 = 1;
  for (let t = v; t >= 10; t /= 10) digits *= 10;
  for (; digits > 0 && trace_len < TRACE_BYTES; digits /= 10) store<u8>(trace_buf + trace_len++, <u8>(0x30 + v / digits % 10));
}

/* traced: whether the test's events so far are exactly `s`, space-separated. Context: as trace(). */
export function traced(s: string): bool {
  if (<usize>s.length != trace_len) return false;
  for (let i = 0; i < s.length; i++) if (load<u8>(trace_buf + <usize>i) != <u8>s.charCodeAt(i)) return false;
  return true;
}

/*
 * selftest_tick_align: halts until this CPU's next hardclock tick. A test
 * that calls it first has a whole tick (10 ms) before the scheduler clock
 * sends a running thread behind its equal-priority peers: far more than
 * it takes, on the emulator and on QEMU alike.
 * Context: a test's boot thread, outside a critical section.
 */
export function selftest_tick_align(): void {
  const ticks = changetype<usize>(mycpu()) + offsetof<globaldata>("gd_ticks");
  const start = atomic.load<u32>(ticks);
  cli();
  while (atomic.load<u32>(ticks) == start) {
    sti_hlt();
    cli();
  }
  sti();
}

/*
 * selftest_select: marks in selftest_mask the tests the word [p, end) names:
 * "all", a test's name, or a prefix ending a name's first part ("ipiq" for
 * ipiq.*). Returns how many it marked.
 */
function selftest_select(p: usize, end: usize): i32 {
  const len = <i32>(end - p);
  const all = len == 3 && bytes_match(p, "all");
  let n = 0;
  let marked = 0;
  for (let g = 0; g < GROUPS; g++) {
    const names = group_names(g);
    for (let i = 0; i < names.length; i++, n++) {
      if (n >= MAX_TESTS) panic("selftest: more tests than MAX_TESTS");
      const name = names[i];
      const match = all || (name.length >= len && bytes_match(p, name, len) &&
        (name.length == len || name.charCodeAt(len) == 0x2e));
      if (!match) continue;
      const word = selftest_mask + <usize>(n >> 5 << 2);
      atomic.store<u32>(word, atomic.load<u32>(word) | 1 << (n & 31));
      marked++;
    }
  }
  return marked;
}

function selftest_marked(n: i32): bool {
  return (atomic.load<u32>(selftest_mask + <usize>(n >> 5 << 2)) & 1 << (n & 31)) != 0;
}

/*
 * selftest_parse: finds `selftest=NAME[,NAME…]` in the multiboot command line
 * (mbInfo 0: none) and says whether there was one; a NAME that matches no
 * test is reported here and fails the run.
 * Context: the BSP, before it starts the APs.
 */
export function selftest_parse(mbInfo: usize): bool {
  const value = cmdline_value(mbInfo, "selftest");
  if (value == 0) return false;
  if (!selftest_select_list(value, cmdline_value_end())) atomic.store<u32>(selftest_unknown, 1);
  return true;
}

/*
 * selftest_select_list: marks the tests of the comma-separated names in
 * [p, end) (selftest_select), reporting each name that matches none;
 * returns whether every name matched.
 */
function selftest_select_list(p: usize, end: usize): bool {
  let all_known = true;
  for (let word = p; word < end; word++) {
    const wordStart = word;
    while (word < end && load<u8>(word) != 0x2c) word++;
    if (selftest_select(wordStart, word) > 0) continue;
    all_known = false;
    lock();
    puts("selftest: no test named ");
    for (let c = wordStart; c < word; c++) putc(load<u8>(c));
    puts("\n");
    unlock();
  }
  return all_known;
}

/*
 * selftest_wanted: whether this boot runs self-tests (selftest_parse found some).
 * Context: any CPU, after selftest_parse.
 */
export function selftest_wanted(): bool {
  for (let n = 0; n < MAX_TESTS; n += 32) if (atomic.load<u32>(selftest_mask + <usize>(n >> 3)) != 0) return true;
  return false;
}

/*
 * selftest_run: waits for the BSP's go, runs the chosen tests on this CPU,
 * then prints this CPU's lines when its turn comes.
 * Context: this CPU's boot thread, after lwkt_gdinit, outside a critical section.
 */
export function selftest_run(): void {
  const cpu = cpu_id();
  if (out_buf == 0) {
    out_buf = bootalloc(OUT_BYTES, 16);
    trace_buf = bootalloc(TRACE_BYTES, 16);
  }
  out_len = 0;
  while (atomic.load<u32>(selftest_go) == 0) pause();
  const me = curthread();
  let n = 0;
  for (let g = 0; g < GROUPS; g++) {
    const names = group_names(g);
    for (let i = 0; i < names.length; i++, n++) {
      if (!selftest_marked(n)) continue;
      trace_len = 0;
      let why = group_call(g, i);
      if (why === null && me.td_critcount != 0) why = "left a critical section open";
      if (why === null && curthread() !== me) why = "did not come back to the boot thread";
      lwkt_setpri(me, TDPRI_KERN_DAEMON);
      out("cpu "); outDec(cpu); out(": selftest "); out(names[i]);
      if (why === null) {
        out(" ok\n");
        continue;
      }
      atomic.add<u32>(selftest_failed, 1);
      out(" FAIL "); out(why!); out(" (trace:");
      if (trace_len > 0) out(" ");
      for (let j: usize = 0; j < trace_len && out_len < OUT_BYTES; j++) store<u8>(out_buf + out_len++, load<u8>(trace_buf + j));
      out(")\n");
    }
  }
  while (atomic.load<u32>(selftest_turn) != cpu) pause();
  lock();
  for (let j: usize = 0; j < out_len; j++) putc(load<u8>(out_buf + j));
  unlock();
  atomic.store<u32>(selftest_turn, cpu + 1);
}

/*
 * selftest_main: starts the tests on every CPU (`cpus` of them are online and
 * waiting in selftest_run), runs the BSP's share, waits for every CPU's
 * lines and prints the summary. Returns whether everything passed.
 * Context: the BSP's boot thread, after bring-up.
 */
export function selftest_main(cpus: u32): bool {
  if (atomic.load<u32>(selftest_unknown) != 0) return false;
  atomic.store<u32>(selftest_go, 1);
  selftest_run();
  while (atomic.load<u32>(selftest_turn) != cpus) pause();
  const failed = atomic.load<u32>(selftest_failed);
  let tests: u32 = 0;
  for (let n = 0; n < MAX_TESTS; n += 32) tests += popcnt<u32>(atomic.load<u32>(selftest_mask + <usize>(n >> 3)));
  lock();
  puts("selftest: "); putDec(tests); puts(tests == 1 ? " test on " : " tests on ");
  putDec(cpus); puts(cpus == 1 ? " cpu: " : " cpus: ");
  if (failed == 0) puts("all ok\n");
  else { putDec(failed); puts(" failed\n"); }
  unlock();
  return failed == 0;
}

// ---- from the monitor --------------------------------------------------------------

/** Shared: bumped by the BSP for each run the monitor asks for; the APs' boot threads wait on it. */
const selftest_generation: usize = memory.data(4);

/*
 * selftest_serve: an AP's boot thread after bring-up: sleeps until the
 * monitor asks for a run (selftest_generation moves), takes part in it,
 * and sleeps again. Never returns.
 * Context: an AP's boot thread, outside a critical section.
 */
export function selftest_serve(): void {
  let seen = atomic.load<u32>(selftest_generation);
  while (true) {
    crit_enter();
    while (atomic.load<u32>(selftest_generation) == seen) tsleep(<u32>selftest_generation, 0);
    crit_exit();
    seen = atomic.load<u32>(selftest_generation);
    selftest_run();
  }
}

/*
 * selftest_request: runs the tests the comma-separated names in [p, end)
 * choose on every CPU (each AP in selftest_serve), printing the lines and
 * the summary as at boot. Returns whether they all passed; a name that
 * matches no test is reported and nothing runs.
 * Context: the BSP's boot thread (the monitor), outside a critical section.
 */
export function selftest_request(p: usize, end: usize, cpus: u32): bool {
  for (let n = 0; n < MAX_TESTS; n += 32) atomic.store<u32>(selftest_mask + <usize>(n >> 3), 0);
  if (!selftest_select_list(p, end)) return false;
  atomic.store<u32>(selftest_go, 0);
  atomic.store<u32>(selftest_turn, 0);
  atomic.store<u32>(selftest_failed, 0);
  atomic.add<u32>(selftest_generation, 1);
  wakeup(<u32>selftest_generation);
  return selftest_main(cpus);
}

/*
 * selftest_list: prints every test's name, a group per line.
 * Context: any thread.
 */
export function selftest_list(): void {
  for (let g = 0; g < GROUPS; g++) {
    const names = group_names(g);
    lock();
    puts(" ");
    for (let i = 0; i < names.length; i++) { puts(" "); puts(names[i]); }
    puts("\n");
    unlock();
  }
}

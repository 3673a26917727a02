// Micro-benchmarks of the kernel's mechanisms, chosen on the command line
// with `bench=NAME,…` or `bench=all` (test/bench/kernel.mjs runs them for
// `npm run bench`): an IPI round trip, lwkt_switch, lwkt_domsg to a thread
// on this CPU and on another, the kmalloc/kfree fast path and kfree on
// another CPU, objcache get/put, an uncontended token get/release. They
// run on the BSP after bring-up, one after the other, while the APs wait in
// their schedulers (CPU 1 serves the cross-CPU ones); each prints
//
//   bench ipi.roundtrip start
//   bench ipi.roundtrip: 20000 ops, 1864 cycles/op, 1864 ns/op
//
// cycles by the TSC (the guest's own measure, in virtual time under emu),
// and ns by the TSC's calibrated rate. The host's time per operation is
// the runner's to take, between the two lines.

import { pause, rdtsc } from "../hw";
import { lock, putc, putDec, puts, unlock } from "../console";
import { systimer_tsc_hz } from "./kern_systimer";
import { lwkt_send_ipiq, smp_active_mask } from "./lwkt_ipiq";
import { TDPRI_KERN_DAEMON, curthread, globaldata_find, lwkt_create, lwkt_migratecpu, lwkt_yield, mycpu } from "./lwkt_thread";
import { lwkt_domsg, lwkt_initmsg, lwkt_msg, lwkt_port, lwkt_replymsg, lwkt_waitport } from "./lwkt_msgport";
import { M_WAITOK, MALLOC_DEFINE, MALLOC_TYPE_BYTES, kfree, kmalloc, malloc_type } from "./kern_slaballoc";
import { objcache, objcache_create_simple, objcache_get, objcache_put } from "./kern_objcache";
import { lwkt_gettoken, lwkt_reltoken, lwkt_token, lwkt_token_init } from "./lwkt_token";
import { tsleep, wakeup } from "./kern_synch";
import { bytes_match } from "./kern_cmdline";

const BENCH_NAMES: StaticArray<string> = [
  "ipi.roundtrip", "lwkt.switch", "msg.domsg_local", "msg.domsg_remote", "kmalloc.fast", "kmalloc.remote_free",
  "objcache.getput", "token.getrel",
];

/** Per benchmark: the operations a run does. */
const IPI_ROUNDTRIPS: u32 = 20000;
const SWITCHES: u32 = 50000;
const DOMSGS: u32 = 20000;
const KMALLOCS: u32 = 100000;
const REMOTE_FREES: u32 = 51200;
const REMOTE_BATCH: u32 = 256;
const OBJCACHE_OPS: u32 = 100000;
const TOKEN_OPS: u32 = 100000;

const M_BENCH: malloc_type = MALLOC_DEFINE(memory.data(MALLOC_TYPE_BYTES, 8), "bench");

/** Shared: the pong of the IPI round trip. */
const bench_pong: usize = memory.data(4);

/* The round trip's far side: answer the CPU that asked. Context: IPI handler. */
function bench_ping(origin: u32, arg2: u32, frame: u32): void {
  lwkt_send_ipiq(globaldata_find(origin), bench_pong_handler, 0);
}

function bench_pong_handler(arg1: u32, arg2: u32, frame: u32): void {
  atomic.store<u32>(bench_pong, 1);
}

/* IPI to CPU 1, which IPIs back: the time until the answer's handler has run here. Returns cycles, or 0 with one CPU. */
function bench_ipi_roundtrip(): u64 {
  if ((smp_active_mask() & 2) == 0) return 0;
  const target = globaldata_find(1);
  const me = mycpu().gd_cpuid;
  const start = rdtsc();
  for (let i: u32 = 0; i < IPI_ROUNDTRIPS; i++) {
    atomic.store<u32>(bench_pong, 0);
    lwkt_send_ipiq(target, bench_ping, me);
    while (atomic.load<u32>(bench_pong) == 0) pause();
  }
  return rdtsc() - start;
}

/** Per CPU: the partner thread of the switch benchmark stops when this is set. */
let switch_stop = false;

function bench_switch_partner(arg: u32): void {
  while (!switch_stop) lwkt_yield();
}

/* Two threads of one priority yielding to each other: each yield is one lwkt_switch. */
function bench_lwkt_switch(): u64 {
  switch_stop = false;
  lwkt_create(bench_switch_partner, 0, TDPRI_KERN_DAEMON);
  lwkt_yield(); // the partner runs up to its first yield
  const start = rdtsc();
  for (let i: u32 = 0; i < SWITCHES / 2; i++) lwkt_yield();
  const cycles = rdtsc() - start;
  switch_stop = true;
  lwkt_yield(); // the partner sees the flag and exits
  return cycles;
}

// ---- messages: lwkt_domsg to a thread port on this CPU, and on another ----------------

const MSG_QUIT: u64 = 0xffffffff;
/** Shared: the echo server's port once it serves (0 before). */
const bench_server_port: usize = memory.data(4);
const bench_msg: usize = memory.data(<i32>offsetof<lwkt_msg>(), 8);

/* Replies to every message on its thread port, on CPU arg, until MSG_QUIT. */
function bench_echo_server(cpu: u32): void {
  lwkt_migratecpu(cpu);
  atomic.store<u32>(bench_server_port, <u32>changetype<usize>(curthread().td_msgport));
  wakeup(<u32>bench_server_port);
  while (true) {
    const msg = lwkt_waitport(curthread().td_msgport, 0);
    const quit = msg.ms_result == MSG_QUIT;
    lwkt_replymsg(msg, 0);
    if (quit) break;
  }
}

/* lwkt_domsg round trips with an echo server on cpu (a synchronous request and its reply each). Returns cycles, or 0. */
function bench_domsg(cpu: u32): u64 {
  if ((smp_active_mask() & (<u64>1 << cpu)) == 0) return 0;
  atomic.store<u32>(bench_server_port, 0);
  lwkt_create(bench_echo_server, cpu, TDPRI_KERN_DAEMON);
  while (atomic.load<u32>(bench_server_port) == 0) tsleep(<u32>bench_server_port, 1);
  const port = changetype<lwkt_port>(<usize>atomic.load<u32>(bench_server_port));
  const msg = changetype<lwkt_msg>(bench_msg);
  const start = rdtsc();
  for (let i: u32 = 0; i < DOMSGS; i++) {
    lwkt_initmsg(msg, curthread().td_msgport, 0);
    msg.ms_result = i;
    lwkt_domsg(port, msg, 0);
  }
  const cycles = rdtsc() - start;
  lwkt_initmsg(msg, curthread().td_msgport, 0);
  msg.ms_result = MSG_QUIT;
  lwkt_domsg(port, msg, 0);
  return cycles;
}

// ---- kmalloc: the fast path, and frees made on another CPU -----------------------------

/* kmalloc(64) and kfree of it, on one CPU: the per-CPU zone's fast path. */
function bench_kmalloc_fast(): u64 {
  const start = rdtsc();
  for (let i: u32 = 0; i < KMALLOCS; i++) kfree(kmalloc(64, M_BENCH, M_WAITOK), M_BENCH);
  return rdtsc() - start;
}

const remote_chunks: usize = memory.data(<i32>REMOTE_BATCH * 4, 4);
/** Shared: cycles CPU 1 spent freeing, and whether the batch is done. */
const remote_cycles: usize = memory.data(8, 8);
const remote_done: usize = memory.data(4);

/* On CPU 1: kfree of every chunk of the batch (each goes back to its owner, CPU 0). */
function bench_remote_free(arg1: u32, arg2: u32, frame: u32): void {
  const start = rdtsc();
  for (let i: u32 = 0; i < REMOTE_BATCH; i++) kfree(<usize>load<u32>(remote_chunks + <usize>i * 4), M_BENCH);
  atomic.store<u64>(remote_cycles, atomic.load<u64>(remote_cycles) + rdtsc() - start);
  atomic.store<u32>(remote_done, 1);
}

/* Chunks kmalloc'd on CPU 0 and kfree'd on CPU 1: the cycles of the frees there. */
function bench_kmalloc_remote_free(): u64 {
  if ((smp_active_mask() & 2) == 0) return 0;
  atomic.store<u64>(remote_cycles, 0);
  for (let batch: u32 = 0; batch < REMOTE_FREES / REMOTE_BATCH; batch++) {
    for (let i: u32 = 0; i < REMOTE_BATCH; i++) store<u32>(remote_chunks + <usize>i * 4, <u32>kmalloc(64, M_BENCH, M_WAITOK));
    atomic.store<u32>(remote_done, 0);
    lwkt_send_ipiq(globaldata_find(1), bench_remote_free, 0);
    while (atomic.load<u32>(remote_done) == 0) pause();
  }
  return atomic.load<u64>(remote_cycles);
}

// ---- objcache and tokens ---------------------------------------------------------------

/** Per CPU (the BSP's): the benchmark's cache, made at its first run. */
let bench_oc: objcache | null = null;

/* objcache_get and objcache_put of one object: the per-CPU magazine's path. */
function bench_objcache(): u64 {
  if (bench_oc === null) bench_oc = objcache_create_simple(M_BENCH, 64);
  const oc = bench_oc!;
  const start = rdtsc();
  for (let i: u32 = 0; i < OBJCACHE_OPS; i++) objcache_put(oc, objcache_get(oc, M_WAITOK));
  return rdtsc() - start;
}

const bench_tok: usize = memory.data(<i32>offsetof<lwkt_token>(), 8);

/* lwkt_gettoken and lwkt_reltoken of a token nobody else wants. */
function bench_token(): u64 {
  const tok = changetype<lwkt_token>(bench_tok);
  lwkt_token_init(tok, "bench");
  const start = rdtsc();
  for (let i: u32 = 0; i < TOKEN_OPS; i++) {
    lwkt_gettoken(tok);
    lwkt_reltoken(tok);
  }
  return rdtsc() - start;
}

function bench_call(i: i32): u64 {
  switch (i) {
    case 0: return bench_ipi_roundtrip();
    case 1: return bench_lwkt_switch();
    case 2: return bench_domsg(0);
    case 3: return bench_domsg(1);
    case 4: return bench_kmalloc_fast();
    case 5: return bench_kmalloc_remote_free();
    case 6: return bench_objcache();
    default: return bench_token();
  }
}

function bench_ops(i: i32): u32 {
  switch (i) {
    case 0: return IPI_ROUNDTRIPS;
    case 1: return SWITCHES;
    case 2: return DOMSGS;
    case 3: return DOMSGS;
    case 4: return KMALLOCS;
    case 5: return REMOTE_FREES;
    case 6: return OBJCACHE_OPS;
    default: return TOKEN_OPS;
  }
}

/* Whether the comma-separated names in [p, end) include name (or say all). */
function bench_chosen(p: usize, end: usize, name: string): bool {
  for (let word = p; word < end; word++) {
    const start = word;
    while (word < end && load<u8>(word) != 0x2c) word++;
    const len = <i32>(word - start);
    if ((len == 3 && bytes_match(start, "all")) || (len == name.length && bytes_match(start, name))) return true;
  }
  return false;
}

/*
 * bench_run: runs the benchmarks [p, end) names and prints their lines;
 * returns how many ran.
 * Context: the BSP's boot thread, after bring-up, outside a critical section.
 */
export function bench_run(p: usize, end: usize): u32 {
  let ran: u32 = 0;
  const hz = systimer_tsc_hz();
  for (let i = 0; i < BENCH_NAMES.length; i++) {
    const name = BENCH_NAMES[i];
    if (!bench_chosen(p, end, name)) continue;
    lock(); puts("bench "); puts(name); puts(" start\n"); unlock();
    const cycles = bench_call(i);
    const ops = bench_ops(i);
    lock();
    puts("bench "); puts(name);
    if (cycles == 0) puts(": skipped, it needs two cpus\n");
    else {
      puts(": "); putDec(ops); puts(" ops, "); putDec(cycles / ops); puts(" cycles/op, ");
      putDec(cycles * 1000 / (hz / 1000000) / ops); puts(" ns/op\n");
    }
    unlock();
    ran++;
  }
  if (ran == 0) {
    lock();
    puts("bench: no benchmark named ");
    for (let c = p; c < end; c++) putc(load<u8>(c));
    puts(" (there are:");
    for (let i = 0; i < BENCH_NAMES.length; i++) { puts(" "); puts(BENCH_NAMES[i]); }
    puts(")\n");
    unlock();
  }
  return ran;
}

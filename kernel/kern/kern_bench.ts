// Micro-benchmarks of the kernel's mechanisms, chosen on the command line
// with `bench=NAME,…` or `bench=all` (test/bench/kernel.mjs runs them for
// `npm run bench`). They run on the BSP after bring-up, one after the
// other, while the APs wait in their schedulers; each prints
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
import { TDPRI_KERN_DAEMON, globaldata_find, lwkt_create, lwkt_yield, mycpu } from "./lwkt_thread";

const BENCH_NAMES: StaticArray<string> = ["ipi.roundtrip", "lwkt.switch"];

/** Per benchmark: the operations a run does. */
const IPI_ROUNDTRIPS: u32 = 20000;
const SWITCHES: u32 = 50000;

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

function bench_call(i: i32): u64 {
  switch (i) {
    case 0: return bench_ipi_roundtrip();
    default: return bench_lwkt_switch();
  }
}

function bench_ops(i: i32): u32 {
  switch (i) {
    case 0: return IPI_ROUNDTRIPS;
    default: return SWITCHES;
  }
}

/* Whether the comma-separated names in [p, end) include name (or say all). */
function bench_chosen(p: usize, end: usize, name: string): bool {
  for (let word = p; word < end; word++) {
    const start = word;
    while (word < end && load<u8>(word) != 0x2c) word++;
    const len = <i32>(word - start);
    if (len == 3 && load<u8>(start) == 0x61 && load<u8>(start + 1) == 0x6c && load<u8>(start + 2) == 0x6c) return true;
    if (len != name.length) continue;
    let same = true;
    for (let k = 0; same && k < len; k++) same = load<u8>(start + <usize>k) == <u8>name.charCodeAt(k);
    if (same) return true;
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

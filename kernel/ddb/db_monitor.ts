// The kernel monitor on COM1, in the spirit of DragonFly's DDB, until there
// is a userland: a prompt, a line editor (db_readline.ts), and commands
// that look at the running kernel. It runs in the BSP's boot thread while
// every CPU goes on scheduling; what it shows of another CPU, that CPU
// gathers itself, in an IPI handler, into a shared buffer the monitor
// then prints (a CPU's run queues and threads are its own: §1.1).

import { frame_address, funcaddr, outb } from "../hw";
import { lock, putc, putDec, putHex, puts, unlock } from "../console";
import { DB_MAXFRAMES, db_print_frame, db_printfunc, db_stack_walk } from "./db_sym";
import { db_line_address, db_line_at, db_readline } from "./db_readline";
import { TrapFrame } from "../arch/x86_64/frame";
import { EXIT_OK, shutdown, stop_other_cpus } from "../kern/kern_shutdown";
import { CP_IDLE, CP_INTR, CP_SYS, HZ, cpu_time } from "../kern/kern_systimer";
import { tsleep } from "../kern/kern_synch";
import { sio_poll } from "../dev/sio";
import {
  TDF_EXITING, TDF_RUNQ, TDF_TSLEEPQ, crit_enter, crit_exit, globaldata, globaldata_find, mycpu, thread,
} from "../kern/lwkt_thread";
import { lwkt_ipiq_counters, lwkt_send_ipiq, smp_active_mask } from "../kern/lwkt_ipiq";
import { CPUSYNC_FUNCS, CPUSYNC_MASTERED, CPUSYNC_PARKED, lwkt_cpusync_counter } from "../kern/lwkt_cpusync";
import { selftest_list, selftest_request } from "../kern/selftest";
import { bytes_match } from "../kern/kern_cmdline";
import { MSGCNT_CROSSCPU, MSGCNT_RECEIVED, MSGCNT_REPLIED, MSGCNT_SENT, lwkt_msgport_counter } from "../kern/lwkt_msgport";
import {
  kmalloc_type_at, malloc_type_calls, malloc_type_inuse, malloc_type_limit, malloc_type_memuse, malloc_type_name,
} from "../kern/kern_slaballoc";
import {
  LWKT_POOL_TOKENS, TOK_EXCLUSIVE, TOK_INCR, lwkt_token, lwkt_token_collisions, lwkt_token_count, lwkt_token_desc, lwkt_token_named,
  lwkt_token_owner, lwkt_token_pool_nth,
} from "../kern/lwkt_token";

const PROMPT = "db> ";
const COMMANDS = "help ps ipi msgs kmalloc tokens cpusync bt selftest watch reboot halt";

/** CPUs online when the monitor started (indexes 0..db_ncpus-1). */
let db_ncpus: u32 = 0;

// ---- asking another CPU ---------------------------------------------------------------

/*
 * What a CPU gathers for the monitor, in db_buf: a backtrace (u64 return
 * addresses after the interrupted rip), or its threads (DB_PS_BYTES each).
 */
const DB_BUF_BYTES: i32 = 8192;
const db_buf: usize = memory.data(DB_BUF_BYTES, 8);
/** Shared: the answer's length in entries, or -1 while it is being gathered. */
const db_answer: usize = memory.data(4);

const DB_PS_BYTES: usize = 36;
const DB_PS_MAX: i32 = DB_BUF_BYTES / <i32>DB_PS_BYTES;

/*
 * db_ask: runs func on cpu (on this CPU directly, in a critical section;
 * elsewhere by IPI) and waits for its answer in db_buf.
 * Context: the monitor thread.
 */
function db_ask(cpu: u32, func: (arg1: u32, arg2: u32, frame: u32) => void): i32 {
  atomic.store<i32>(db_answer, -1);
  if (cpu == mycpu().gd_cpuid) {
    crit_enter();
    func(0, 0, 0);
    crit_exit();
  } else {
    lwkt_send_ipiq(globaldata_find(cpu), func, 0);
  }
  while (atomic.load<i32>(db_answer) < 0) tsleep(<u32>db_answer, 1);
  return atomic.load<i32>(db_answer);
}

/* On the asked CPU: its threads (gd_tdallq, the idle thread among them), the running one first. */
function db_gather_threads(arg1: u32, arg2: u32, frame: u32): void {
  const gd = mycpu();
  let n = 0;
  let td: thread | null = gd.gd_curthread;
  db_put_thread(gd, td!, n++);
  td = gd.gd_tdallq;
  while (td && n < DB_PS_MAX) {
    if (td !== gd.gd_curthread) db_put_thread(gd, td!, n++);
    td = td!.td_allnext;
  }
  atomic.store<i32>(db_answer, n);
}

function db_put_thread(gd: globaldata, td: thread, n: i32): void {
  const p = db_buf + <usize>n * DB_PS_BYTES;
  store<u32>(p, <u32>changetype<usize>(td));
  store<i32>(p, td.td_pri, 4);
  store<i32>(p, td.td_critcount, 8);
  store<u32>(p, td.td_flags, 12);
  store<u32>(p, td.td_func, 16);
  store<u32>(p, td.td_wchan, 20);
  store<u32>(p, td === gd.gd_curthread ? 1 : td === gd.gd_idlethread ? 2 : 0, 24);
  store<u32>(p, td.td_kstack == 0 ? 1 : 0, 28);
  store<u32>(p, <u32>td.td_sticks, 32);
}

/* On the asked CPU: the backtrace of what it was running when the IPI came (or of the poll that ran it). */
function db_gather_backtrace(arg1: u32, arg2: u32, frame: u32): void {
  let rip: u64 = 0;
  let rbp: u64;
  if (frame != 0) {
    const f = changetype<TrapFrame>(<usize>frame);
    rip = f.rip;
    rbp = f.rbp;
  } else {
    rbp = frame_address();
  }
  store<u64>(db_buf, rip);
  atomic.store<i32>(db_answer, 1 + db_stack_walk(rbp, db_buf + 8, DB_MAXFRAMES));
}

// ---- commands -------------------------------------------------------------------------

function db_help(): void {
  lock();
  puts("help            this list\n");
  puts("ps              threads on each cpu: priority, critical count, statclock ticks, state, entry\n");
  puts("ipi             IPIs sent between each pair of cpus (row: from, column: to)\n");
  puts("msgs            LWKT messages sent, received, replied and sent across cpus, per cpu\n");
  puts("kmalloc         each malloc type: bytes and chunks in use, calls, limit\n");
  puts("tokens          each named token: holders, owner, collisions; the pool's totals\n");
  puts("cpusync         cpusyncs mastered, parked in and functions run, per cpu\n");
  puts("bt [CPU]        what a cpu is running, as a backtrace (all cpus without CPU)\n");
  puts("selftest NAME   run self-tests on every cpu (NAME: a test, a group, all; none: list)\n");
  puts("watch           IPIs and messages received per second, and busy time, on each cpu, until a key\n");
  puts("reboot          reset the machine\n");
  puts("halt            stop every cpu and the machine\n");
  puts("keys: ^A ^E ^B ^F ^D ^K ^U ^W ^L, arrows, history with up/down or ^P ^N, tab completes\n");
  unlock();
}

function pad(v: u64, width: i32): void {
  let digits = 1;
  for (let t = v; t >= 10; t /= 10) digits++;
  for (let i = digits; i < width; i++) putc(0x20);
  putDec(v);
}

function db_ps(): void {
  lock();
  puts("cpu  thread      pri crit   ticks  state     entry\n");
  unlock();
  for (let cpu: u32 = 0; cpu < db_ncpus; cpu++) {
    const n = db_ask(cpu, db_gather_threads);
    for (let i = 0; i < n; i++) {
      const p = db_buf + <usize>i * DB_PS_BYTES;
      const flags = load<u32>(p, 12);
      const role = load<u32>(p, 24);
      lock();
      pad(cpu, 3); puts("  0x"); putHex(load<u32>(p), 8); pad(<u64>load<i32>(p, 4), 4); pad(<u64>load<i32>(p, 8), 5);
      pad(load<u32>(p, 32), 8);
      puts("  ");
      if (role == 1) puts("running   ");
      else if (role == 2) puts("idle      ");
      else if ((flags & TDF_EXITING) != 0) puts("exited    ");
      else if ((flags & TDF_TSLEEPQ) != 0) puts("sleeping  ");
      else if ((flags & TDF_RUNQ) != 0) puts("runnable  ");
      else puts("blocked   ");
      if (load<u32>(p, 28) != 0) puts("(boot thread)");
      else db_printfunc(funcaddr(load<u32>(p, 16)));
      if ((flags & TDF_TSLEEPQ) != 0) { puts(" on 0x"); putHex(load<u32>(p, 20), 8); }
      puts("\n");
      unlock();
    }
  }
}

function db_ipi(): void {
  lock();
  puts("from\\to");
  for (let t: u32 = 0; t < db_ncpus; t++) pad(t, 9);
  puts("\n");
  for (let s: u32 = 0; s < db_ncpus; s++) {
    pad(s, 7);
    for (let t: u32 = 0; t < db_ncpus; t++) pad(s == t ? 0 : lwkt_ipiq_counters(s, t).ip_sent, 9);
    puts("\n");
  }
  unlock();
}

function db_msgs(): void {
  lock();
  puts("cpu      sent  received   replied  crosscpu\n");
  for (let cpu: u32 = 0; cpu < db_ncpus; cpu++) {
    pad(cpu, 3);
    pad(lwkt_msgport_counter(cpu, MSGCNT_SENT), 10);
    pad(lwkt_msgport_counter(cpu, MSGCNT_RECEIVED), 10);
    pad(lwkt_msgport_counter(cpu, MSGCNT_REPLIED), 10);
    pad(lwkt_msgport_counter(cpu, MSGCNT_CROSSCPU), 10);
    puts("\n");
  }
  unlock();
}

/* A signed figure, right-aligned in width. */
function pad_signed(v: i64, width: i32): void {
  if (v >= 0) { pad(<u64>v, width); return; }
  let digits = 2;
  for (let t = -v; t >= 10; t /= 10) digits++;
  for (let i = digits; i < width; i++) putc(0x20);
  putc(0x2d);
  putDec(<u64>-v);
}

function db_kmalloc(): void {
  lock();
  puts("type                    memuse     inuse      calls       limit\n");
  unlock();
  for (let i: u32 = 0; ; i++) {
    const type = kmalloc_type_at(i);
    if (type === null) break;
    lock();
    const name = malloc_type_name(type!);
    puts(name);
    for (let k = name.length; k < 20; k++) putc(0x20);
    pad_signed(malloc_type_memuse(type!), 10);
    pad_signed(malloc_type_inuse(type!), 10);
    pad(malloc_type_calls(type!), 11);
    pad(malloc_type_limit(type!), 12);
    puts("\n");
    unlock();
  }
}

function db_token_line(tok: lwkt_token): void {
  const name = lwkt_token_desc(tok);
  const count = lwkt_token_count(tok);
  puts(name);
  for (let k = name.length; k < 22; k++) putc(0x20);
  if ((count & TOK_EXCLUSIVE) != 0) {
    const owner = lwkt_token_owner(tok);
    puts("exclusive 0x"); putHex(owner !== null ? <u64>changetype<usize>(owner) : 0, 8);
  } else if (count >= TOK_INCR) {
    puts("shared x"); pad(count / TOK_INCR, 3); puts("     ");
  } else puts("free                ");
  pad(lwkt_token_collisions(tok), 11);
  puts("\n");
}

function db_tokens(): void {
  lock();
  puts("token                 held by             collisions\n");
  unlock();
  for (let i: u32 = 0; ; i++) {
    const tok = lwkt_token_named(i);
    if (tok === null) break;
    lock(); db_token_line(tok!); unlock();
  }
  let held: u32 = 0;
  let collisions: u64 = 0;
  for (let i: u32 = 0; i < LWKT_POOL_TOKENS; i++) {
    const tok = lwkt_token_pool_nth(i);
    if (lwkt_token_count(tok) != 0) held++;
    collisions += lwkt_token_collisions(tok);
  }
  lock();
  puts("pool: "); putDec(LWKT_POOL_TOKENS); puts(" tokens, "); putDec(held); puts(" held, ");
  putDec(collisions); puts(" collisions\n");
  unlock();
}

function db_cpusync(): void {
  lock();
  puts("cpu  mastered    parked     funcs\n");
  for (let cpu: u32 = 0; cpu < db_ncpus; cpu++) {
    pad(cpu, 3);
    pad(lwkt_cpusync_counter(cpu, CPUSYNC_MASTERED), 10);
    pad(lwkt_cpusync_counter(cpu, CPUSYNC_PARKED), 10);
    pad(lwkt_cpusync_counter(cpu, CPUSYNC_FUNCS), 10);
    puts("\n");
  }
  unlock();
}

function db_bt(cpu: u32): void {
  const n = db_ask(cpu, db_gather_backtrace);
  lock();
  puts("cpu "); putDec(cpu); puts(":\n");
  let k = 0;
  for (let i = 0; i < n; i++) {
    const addr = load<u64>(db_buf + <usize>i * 8);
    if (addr != 0) db_print_frame(k++, addr);
  }
  unlock();
}

/* Statclock samples of each CPU not in its idle thread. */
function busy_samples(cpu: u32): u64 {
  return cpu_time(cpu, CP_SYS) + cpu_time(cpu, CP_INTR);
}

/* All statclock samples of each CPU. */
function all_samples(cpu: u32): u64 {
  return busy_samples(cpu) + cpu_time(cpu, CP_IDLE);
}

/* Messages each CPU's ports have received. */
function msgs_received(cpu: u32): u64 {
  return lwkt_msgport_counter(cpu, MSGCNT_RECEIVED);
}

/* IPIs each CPU has received, summed over the senders. */
function ipis_received(cpu: u32): u64 {
  let n: u64 = 0;
  for (let s: u32 = 0; s < db_ncpus; s++) if (s != cpu) n += lwkt_ipiq_counters(s, cpu).ip_received;
  return n;
}

const WATCH_MAX: u32 = 64;
const watch_last: usize = memory.data(<i32>WATCH_MAX * 32, 8); // per CPU: IPIs, messages, busy and all statclock samples

/* One line of watch: each CPU's count now less the last, which becomes now. */
function watch_line(label: string, which: usize, count: (cpu: u32) => u64): void {
  puts(label);
  for (let cpu: u32 = 0; cpu < db_ncpus; cpu++) {
    const now = count(cpu);
    const last = watch_last + (<usize>cpu * 4 + which) * 8;
    pad(now - load<u64>(last), 10);
    store<u64>(last, now);
  }
}

function db_watch(): void {
  lock();
  puts("per second, until a key is pressed:\n      ");
  for (let cpu: u32 = 0; cpu < db_ncpus; cpu++) { puts(cpu < 10 ? "      cpu" : "     cpu"); putDec(cpu); }
  puts("\n");
  unlock();
  for (let cpu: u32 = 0; cpu < db_ncpus; cpu++) {
    store<u64>(watch_last + <usize>cpu * 32, ipis_received(cpu));
    store<u64>(watch_last + <usize>cpu * 32 + 8, msgs_received(cpu));
    store<u64>(watch_last + <usize>cpu * 32 + 16, busy_samples(cpu));
    store<u64>(watch_last + <usize>cpu * 32 + 24, all_samples(cpu));
  }
  while (true) {
    tsleep(<u32>watch_last, HZ);
    if (sio_poll() >= 0) break;
    lock();
    watch_line("ipi/s ", 0, ipis_received);
    puts("\n");
    watch_line("msg/s ", 1, msgs_received);
    puts("\nbusy% ");
    for (let cpu: u32 = 0; cpu < db_ncpus; cpu++) {
      const busy = busy_samples(cpu), all = all_samples(cpu);
      const pbusy = watch_last + <usize>cpu * 32 + 16, pall = pbusy + 8;
      const dall = all - load<u64>(pall);
      pad(dall == 0 ? 0 : (busy - load<u64>(pbusy)) * 100 / dall, 10);
      store<u64>(pbusy, busy);
      store<u64>(pall, all);
    }
    puts("\n");
    unlock();
  }
}

function db_reboot(): void {
  lock(); puts("rebooting\n"); unlock();
  // The PIIX3's reset control register: a hard reset (bit 1) on the 0-to-1 edge of bit 2.
  outb(0xcf9, 0x02);
  outb(0xcf9, 0x06);
  lock(); puts("reboot: the machine did not reset\n"); unlock();
}

function db_halt(): void {
  lock(); puts("halting\n"); unlock();
  stop_other_cpus();
  shutdown(EXIT_OK);
}

// ---- the loop -------------------------------------------------------------------------

/* next_word: finds the line's next word at or after i, as [word_start, word_end); false at the end. */
let word_start: i32 = 0;
let word_end: i32 = 0;
function next_word(i: i32, len: i32): bool {
  while (i < len && db_line_at(i) == 0x20) i++;
  word_start = i;
  while (i < len && db_line_at(i) != 0x20) i++;
  word_end = i;
  return word_end > word_start;
}

function word_is(s: string): bool {
  return word_end - word_start == s.length && bytes_match(db_line_address(word_start), s);
}

/* The current word as a decimal number, or -1. */
function word_number(): i32 {
  let v = 0;
  for (let i = word_start; i < word_end; i++) {
    const c = db_line_at(i);
    if (c < 0x30 || c > 0x39 || v > 100000) return -1;
    v = v * 10 + (c - 0x30);
  }
  return v;
}

function db_command(len: i32): void {
  if (!next_word(0, len)) return;
  if (word_is("help")) db_help();
  else if (word_is("ps")) db_ps();
  else if (word_is("ipi")) db_ipi();
  else if (word_is("msgs")) db_msgs();
  else if (word_is("kmalloc")) db_kmalloc();
  else if (word_is("tokens")) db_tokens();
  else if (word_is("cpusync")) db_cpusync();
  else if (word_is("bt")) {
    if (!next_word(word_end, len)) {
      for (let cpu: u32 = 0; cpu < db_ncpus; cpu++) db_bt(cpu);
      return;
    }
    const cpu = word_number();
    if (cpu < 0 || <u32>cpu >= db_ncpus) { lock(); puts("bt: no such cpu\n"); unlock(); return; }
    db_bt(<u32>cpu);
  } else if (word_is("selftest")) {
    if (!next_word(word_end, len)) { selftest_list(); return; }
    selftest_request(db_line_address(word_start), db_line_address(word_end), db_ncpus);
  } else if (word_is("watch")) db_watch();
  else if (word_is("reboot")) db_reboot();
  else if (word_is("halt")) db_halt();
  else {
    lock();
    puts("no such command: ");
    for (let i = word_start; i < word_end; i++) putc(db_line_at(i));
    puts(" (try help)\n");
    unlock();
  }
}

/*
 * db_monitor: the monitor's loop, forever.
 * Context: the BSP's boot thread, after bring-up, with COM1's receiver
 * interrupt routed to the BSP (sio_enable).
 */
export function db_monitor(cpus: u32): void {
  db_ncpus = cpus;
  lock();
  puts("damselfly monitor: "); putDec(popcnt<u64>(smp_active_mask())); puts(" cpus running; type help\n");
  unlock();
  while (true) {
    const len = db_readline(PROMPT, COMMANDS);
    if (len > 0) db_command(len);
  }
}

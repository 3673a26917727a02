// ktrap: where the runtime sends every interrupt and exception (all 256
// vectors; kernel/README.md "Interrupts and exceptions"), interrupts off,
// on the interrupted thread's stack. Dispatch by vector:
//
//   IPI_VECTOR_IPIQ      EOI, then the IPI queues (kern/lwkt_ipiq.ts): run now,
//                        or, if the interrupted thread is in a critical
//                        section, deferred to its crit_exit (RQF_IPIQ)
//   VECTOR_LAPIC_TIMER   EOI, then the due systimers (kern/kern_systimer.ts),
//                        or deferred the same way (RQF_TIMER)
//   VECTOR_ISA_BASE+n    ISA IRQ n from the IOAPIC (kern/kern_intr.ts)
//   spurious (LAPIC 0xff, 8259 IRQ 7/15)   nothing, no EOI
//   #BP from panic()     the panic's report (kern/kern_shutdown.ts)
//   NMI while stopping   this CPU halts (a panic or halt elsewhere)
//   VECTOR_PF            a fault inside a probe (support.ts: kfetch64, kstore64, …)
//                        returns from the probe with the error code; any other panics
//   VECTOR_BP            kexec's breakpoints (support.ts); any other panics
//   anything else        a panic naming the vector, error code, rip (and cr2)
//
// A panic's report: the message, the registers of the frame, and a
// backtrace symbolised from the compiler's name tables (ddb/db_sym.ts).
//
// Returning resumes the interrupted code through its frame; the IPI and
// timer paths may first switch to a thread their handlers made runnable, or
// to the next of equal priority when the scheduler clock says so (crit_exit),
// and the interrupted one resumes here when switched back to.

import { cpu_id } from "../../hw";
import { lock, putDec, putHex, puts, unlock } from "../../console";
import { lapicEoi } from "../../smp";
import { cpu_halt, cpus_stopping, panic_claim, panic_finish, panic_take } from "../../kern/kern_shutdown";
import { intr_isa } from "../../kern/kern_intr";
import { DB_MAXFRAMES, db_print_frame, db_stack_walk } from "../../ddb/db_sym";
import { VECTOR_ISA_BASE } from "./ioapic";
import { crit_enter, crit_exit, lwkt_ipiq_defer, lwkt_timer_defer, mycpu } from "../../kern/lwkt_thread";
import { lwkt_process_ipiq_frame } from "../../kern/lwkt_ipiq";
import { systimer_intr } from "../../kern/kern_systimer";
import { onfault_breakpoint, onfault_recover } from "./support";
import {
  IPI_VECTOR_IPIQ, TrapFrame, VECTOR_BP, VECTOR_LAPIC_SPURIOUS, VECTOR_LAPIC_TIMER, VECTOR_NMI, VECTOR_PF, VECTOR_PIC_SPURIOUS_MASTER,
  VECTOR_PIC_SPURIOUS_SLAVE,
} from "./frame";

/** The SDM's mnemonics of vectors 0..31 (Vol.3A §6.15), "" where reserved. */
const EXCEPTION_NAMES: StaticArray<string> = [
  "#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "", "#TS", "#NP", "#SS", "#GP", "#PF", "",
  "#MF", "#AC", "#MC", "#XM", "#VE", "#CP", "", "", "", "", "", "", "#HV", "#VC", "#SX", "",
];

/*
 * ktrap: the runtime's entry for every vector, with the trap frame's
 * address.
 * Context: interrupts off, on the interrupted stack (IST for #DF, NMI, #MC).
 */
export function ktrap(frame: u32): void {
  const f = changetype<TrapFrame>(<usize>frame);
  const vector = <u32>f.vector;
  if (vector == IPI_VECTOR_IPIQ) {
    ipiq_intr(frame);
    return;
  }
  if (vector == VECTOR_LAPIC_TIMER) {
    timer_intr(frame);
    return;
  }
  if (vector >= VECTOR_ISA_BASE && vector < VECTOR_ISA_BASE + 16) {
    intr_isa(vector);
    return;
  }
  if (vector == VECTOR_LAPIC_SPURIOUS || vector == VECTOR_PIC_SPURIOUS_MASTER || vector == VECTOR_PIC_SPURIOUS_SLAVE) return;
  if (vector == VECTOR_NMI && cpus_stopping()) cpu_halt();
  if (vector == VECTOR_BP) {
    const why = panic_take();
    if (why !== null) trap_panic(f, why);
  }
  if (vector == VECTOR_PF && onfault_recover(f)) return;
  if (vector == VECTOR_BP && onfault_breakpoint(f)) return;
  trap_panic(f, null);
}

/*
 * The EOI goes first: crit_exit may switch to another thread, and until the
 * EOI the local APIC would hold back this vector (and every lower one)
 * for as long as the interrupted thread stays switched out.
 */
function ipiq_intr(frame: u32): void {
  lapicEoi();
  const gd = mycpu();
  if (gd.gd_curthread.td_critcount > 0) {
    lwkt_ipiq_defer(gd);
    return;
  }
  crit_enter();
  lwkt_process_ipiq_frame(frame);
  crit_exit();
}

/* As ipiq_intr, for the systimers: the EOI first, for the same reason. */
function timer_intr(frame: u32): void {
  lapicEoi();
  const gd = mycpu();
  if (gd.gd_curthread.td_critcount > 0) {
    lwkt_timer_defer(gd);
    return;
  }
  crit_enter();
  systimer_intr(frame);
  crit_exit();
}

/*
 * A panic's report from a trap frame, then the machine stops: panic()'s
 * message `why` (from the #BP it raised), or, with why null, the facts of
 * an exception or interrupt the kernel has no use for.
 */
function trap_panic(f: TrapFrame, why: string | null): void {
  panic_claim();
  lock();
  puts("panic: cpu "); putDec(cpu_id()); puts(": ");
  if (why !== null) puts(why);
  else {
    const vector = <u32>f.vector;
    puts("unexpected trap: vector "); putDec(vector);
    if (vector < 32 && EXCEPTION_NAMES[vector].length > 0) { puts(" ("); puts(EXCEPTION_NAMES[vector]); puts(")"); }
    puts(", error code 0x"); putHex(f.errorCode, 4);
    puts(", rip 0x"); putHex(f.rip, 16);
    if (vector == VECTOR_PF) { puts(", cr2 0x"); putHex(f.cr2, 16); }
  }
  puts("\n");
  trap_report(f);
  unlock();
  panic_finish();
}

/** Per CPU index: the return addresses of a panic's backtrace. */
const trap_frames: usize = memory.data(DB_MAXFRAMES * 8 * 64, 8);

function reg(name: string, v: u64, last: bool): void {
  puts(name); puts(" 0x"); putHex(v, 16); puts(last ? "\n" : " ");
}

/* The frame's registers, then the backtrace from its rip and rbp. Context: console lock held. */
function trap_report(f: TrapFrame): void {
  reg("rax", f.rax, false); reg("rbx", f.rbx, false); reg("rcx", f.rcx, false); reg("rdx", f.rdx, true);
  reg("rsi", f.rsi, false); reg("rdi", f.rdi, false); reg("rbp", f.rbp, false); reg("rsp", f.rsp, true);
  reg(" r8", f.r8, false); reg(" r9", f.r9, false); reg("r10", f.r10, false); reg("r11", f.r11, true);
  reg("r12", f.r12, false); reg("r13", f.r13, false); reg("r14", f.r14, false); reg("r15", f.r15, true);
  reg("rip", f.rip, false); reg("rflags", f.rflags, false);
  puts("cs 0x"); putHex(f.cs, 4); puts(" ss 0x"); putHex(f.ss, 4); puts("\n");
  const frames = trap_frames + <usize>cpu_id() * <usize>DB_MAXFRAMES * 8;
  const n = db_stack_walk(f.rbp, frames, DB_MAXFRAMES);
  puts("backtrace:\n");
  db_print_frame(0, f.rip);
  for (let i = 0; i < n; i++) db_print_frame(i + 1, load<u64>(frames + <usize>i * 8));
}

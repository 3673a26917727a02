// Device interrupts: the hard half runs in ktrap at once (it quiets the
// device: reads its data, acknowledges it); the soft half, which may touch
// the scheduler (wakeup), runs at once too unless the interrupted thread is
// in a critical section, in which case it waits for the outermost crit_exit
// (RQF_INTPEND), as IPIs and timer interrupts do. Per CPU: the IRQs whose
// soft half is owed.
//
// What it is not, yet: DragonFly runs each IRQ's handlers in an interrupt
// thread of its own, which preempts (lwkt_thread.ts has them: TDF_INTTHREAD,
// lwkt_preempt); here the soft halves still run as hard code, and there is
// one device (COM1) to dispatch to.

import { cli, read_rflags, sti } from "../hw";
import { lapicEoi } from "../smp";
import { VECTOR_ISA_BASE } from "../arch/x86_64/ioapic";
import { IRQ_COM1, sio_intr, sio_soft } from "../dev/sio";
import { panic } from "./kern_shutdown";
import { crit_enter, crit_exit, lwkt_intr_defer, mycpu } from "./lwkt_thread";

const RFLAGS_IF: u64 = 1 << 9;

/** Per CPU: bit n, IRQ n's soft half is owed. Changed with interrupts off. */
let intr_owed: u32 = 0;

/*
 * intr_isa: ktrap's entry for vectors VECTOR_ISA_BASE + 0..15.
 * Context: ktrap, interrupts off.
 */
export function intr_isa(vector: u32): void {
  const irq = vector - VECTOR_ISA_BASE;
  if (irq != IRQ_COM1) panic("intr_isa: an interrupt from an IRQ no driver claimed");
  sio_intr();
  lapicEoi();
  const gd = mycpu();
  if (gd.gd_curthread.td_critcount > 0) {
    intr_owed |= 1 << irq;
    lwkt_intr_defer(gd);
    return;
  }
  crit_enter();
  sio_soft();
  crit_exit();
}

/*
 * intr_splz: runs the soft halves a critical section held back.
 * Context: crit_exit's deferred work, in a critical section.
 */
export function intr_splz(): void {
  const on = (read_rflags() & RFLAGS_IF) != 0;
  cli();
  const owed = intr_owed;
  intr_owed = 0;
  if (on) sti();
  if ((owed & (1 << IRQ_COM1)) != 0) sio_soft();
}

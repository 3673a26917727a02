// Stopping the machine: through the debug-exit port (kernel/README.md,
// "Stopping"), whose value becomes the machine's exit status (value * 2 + 1),
// and panic, for a broken invariant.
//
// A panic goes through ktrap, so that it reports the registers where it
// happened: panic() leaves its message for this CPU and runs int3; ktrap
// (arch/x86_64/trap.ts) finds the message, claims the panic, prints it with
// the registers and a symbolised backtrace, stops the other CPUs with an
// NMI and exits. Faults ktrap does not expect take the same road.

import { cli, cpu_id, hlt, int3, outb } from "../hw";
import { drain } from "../console";
import { lapicNmiOthers } from "../smp";

/** Values for the debug-exit port. */
export const EXIT_OK: u8 = 0;
export const EXIT_AP_FAILED: u8 = 1;
export const EXIT_ABORT: u8 = 2;
export const EXIT_SELFTEST_FAILED: u8 = 3;
export const EXIT_PANIC: u8 = 4;
export const EXIT_USAGE: u8 = 5;

/** Shared: 0, or 1 + the index of the CPU whose panic is being reported. */
const panic_cpu: usize = memory.data(4);
/** Shared: 1 once a CPU stops the machine; an NMI then halts every other CPU. */
const stopping: usize = memory.data(4);

/** Per CPU: the message of the panic() whose int3 ktrap is about to see. */
let panic_msg: string | null = null;

/*
 * shutdown: stops the machine with debug-exit `value`; without a debug-exit
 * device, this CPU halts with interrupts off.
 * Context: any; does not return.
 */
export function shutdown(value: u8): void {
  drain();
  outb(0xf4, value);
  cpu_halt();
}

/* cpu_halt: this CPU stops for good. Context: any; does not return. */
export function cpu_halt(): void {
  cli();
  while (true) hlt();
}

/*
 * panic: reports `why` (which invariant broke) with the registers and a
 * backtrace, and stops the machine.
 * Context: any; does not return. NEVER CALL WITH THE CONSOLE LOCK HELD.
 */
export function panic(why: string): void {
  panic_msg = why;
  int3();
  // Only a kernel without ktrap gets here, and its runtime has stopped the machine at the int3.
  cpu_halt();
}

/*
 * panic_take: the message of this CPU's panic() in progress, if the #BP
 * ktrap is handling came from one (and forgets it).
 * Context: ktrap.
 */
export function panic_take(): string | null {
  const why = panic_msg;
  panic_msg = null;
  return why;
}

/*
 * panic_claim: makes this CPU the one reporting a panic. A CPU that finds
 * another's panic under way halts (that one stops it anyway); a panic while
 * this CPU reports one (a fault in the report) stops the machine at once.
 * Context: ktrap, interrupts off; returns only to the first panic.
 */
export function panic_claim(): void {
  const me = cpu_id() + 1;
  const was = atomic.cmpxchg<u32>(panic_cpu, 0, me);
  if (was == 0) return;
  if (was == me) shutdown(EXIT_PANIC);
  cpu_halt();
}

/*
 * stop_other_cpus: halts every other CPU, by an NMI, which reaches even a
 * CPU with interrupts off (ktrap's NMI vector, seeing cpus_stopping()).
 * Context: any, interrupts off; one CPU stops the machine.
 */
export function stop_other_cpus(): void {
  atomic.store<u32>(stopping, 1);
  lapicNmiOthers();
}

/*
 * cpus_stopping: whether a CPU is stopping the machine (an NMI then means: halt).
 * Context: any.
 */
export function cpus_stopping(): bool {
  return atomic.load<u32>(stopping) != 0;
}

/*
 * panic_finish: stops every other CPU, then the machine.
 * Context: ktrap, after panic_claim and the report; does not return.
 */
export function panic_finish(): void {
  stop_other_cpus();
  shutdown(EXIT_PANIC);
}

// Stopping the machine: through the debug-exit port (kernel/README.md,
// "Stopping"), whose value becomes the machine's exit status (value * 2 + 1),
// and panic, for a broken invariant.

import { cli, cpu_id, hlt, outb } from "../hw";
import { drain, lock, putDec, puts, unlock } from "../console";

/** Values for the debug-exit port. */
export const EXIT_OK: u8 = 0;
export const EXIT_AP_FAILED: u8 = 1;
export const EXIT_ABORT: u8 = 2;
export const EXIT_SELFTEST_FAILED: u8 = 3;
export const EXIT_PANIC: u8 = 4;

/*
 * shutdown: stops the machine with debug-exit `value`; without a debug-exit
 * device, this CPU halts with interrupts off.
 * Context: any; does not return.
 */
export function shutdown(value: u8): void {
  drain();
  outb(0xf4, value);
  cli();
  while (true) hlt();
}

/*
 * panic: reports `why` (which invariant broke) and stops the machine.
 * Context: any; does not return. NEVER CALL WITH THE CONSOLE LOCK HELD.
 */
export function panic(why: string): void {
  lock();
  puts("panic: cpu "); putDec(cpu_id()); puts(": "); puts(why); puts("\n");
  unlock();
  shutdown(EXIT_PANIC);
}

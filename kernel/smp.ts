// The local APIC (SDM Vol.3A ch.11) and starting the application
// processors: software enable, EOI, the interrupt command register for
// fixed IPIs (lwkt_ipiq's doorbell) and the INIT-SIPI-SIPI sequence of the
// SDM's "MP Initialization Protocol", timed with PIT channel 2. The AP runs
// the compiler runtime's trampoline (its page is in the boot information)
// and then the module's apmain.

import { cli, inb, outb, pause, rdmsr, read_rflags, sti } from "./hw";

const IA32_APIC_BASE: u32 = 0x1b;
const LAPIC_EOI: usize = 0xb0;
const LAPIC_SVR: usize = 0xf0;
const LAPIC_ICR_LOW: usize = 0x300;
const LAPIC_ICR_HIGH: usize = 0x310;
const ICR_PENDING: u32 = 1 << 12;
const ICR_INIT: u32 = 0x4500; // INIT, level assert
const ICR_STARTUP: u32 = 0x4600;
const ICR_FIXED: u32 = 0x4000; // fixed, physical destination, assert
const RFLAGS_IF: u64 = 1 << 9;

export const PIT_HZ: u64 = 1193182;

/** Busy-waits `ticks` (1..65535) of PIT channel 2 in mode 0; its output (port 0x61 bit 5) rises at the end. */
export function pitWait(ticks: u32): void {
  outb(0x61, (inb(0x61) & 0xfc) | 1); // gate on, speaker off
  outb(0x43, 0xb0); // channel 2, low then high byte, mode 0
  outb(0x42, <u8>ticks);
  outb(0x42, <u8>(ticks >> 8));
  while ((inb(0x61) & 0x20) == 0) pause();
}

export function udelay(us: u64): void {
  while (us > 0) {
    const step = us < 50000 ? us : 50000;
    const ticks = <u32>(step * PIT_HZ / 1000000);
    pitWait(ticks > 0 ? ticks : 1);
    us -= step;
  }
}

/** This CPU's local APIC registers (the direct map covers them). */
export function lapic(): usize {
  return <usize>(rdmsr(IA32_APIC_BASE) & 0xfffff000);
}

/** Software-enables this CPU's local APIC (spurious vector 0xff), as the SDM's sequence does before the IPIs. */
export function lapicEnable(): void {
  const svr = lapic() + LAPIC_SVR;
  store<u32>(svr, load<u32>(svr) | 0x1ff);
}

/** Ends the in-service interrupt; spurious vectors (SVR) take none. */
export function lapicEoi(): void {
  store<u32>(lapic() + LAPIC_EOI, 0);
}

/*
 * lapicSendIpi: a fixed interrupt `vector` at the CPU whose APIC ID is
 * apicId. The ICR is two stores: interrupts stay off between them, or a
 * handler sending its own IPI there would change the first under the second.
 * Context: any.
 */
export function lapicSendIpi(apicId: u32, vector: u32): void {
  const rflags = read_rflags();
  cli();
  sendIpi(apicId, ICR_FIXED | (vector & 0xff));
  if ((rflags & RFLAGS_IF) != 0) sti();
}

function sendIpi(apicId: u32, icr: u32): void {
  const base = lapic();
  while ((load<u32>(base + LAPIC_ICR_LOW) & ICR_PENDING) != 0) pause();
  store<u32>(base + LAPIC_ICR_HIGH, apicId << 24);
  store<u32>(base + LAPIC_ICR_LOW, icr);
  while ((load<u32>(base + LAPIC_ICR_LOW) & ICR_PENDING) != 0) pause();
}

const ICR_NMI_ALL_BUT_SELF: u32 = 0xc4400; // destination shorthand "all excluding self", NMI, assert (SDM Vol.3A §10.6.1)

/**
 * An NMI to every other CPU: it stops even those running with interrupts
 * off. Context: interrupts off (a panic).
 */
export function lapicNmiOthers(): void {
  sendIpi(0, ICR_NMI_ALL_BUT_SELF);
}

/**
 * INIT, 10 ms, SIPI, 200 us, SIPI. A CPU that has already left the
 * wait-for-SIPI state ignores the second SIPI.
 */
export function startAp(apicId: u32, trampoline: u32): void {
  const vector = trampoline >> 12;
  sendIpi(apicId, ICR_INIT);
  udelay(10000);
  sendIpi(apicId, ICR_STARTUP | vector);
  udelay(200);
  sendIpi(apicId, ICR_STARTUP | vector);
}

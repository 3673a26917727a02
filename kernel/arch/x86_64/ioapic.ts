// The IOAPIC (82093AA datasheet): routes ISA and PCI interrupt lines to a
// CPU's local APIC as vectors. The firmware table (cpus.ts) says where its
// registers are and which pin each ISA IRQ reaches; every pin starts masked
// here and is unmasked as a driver claims it. The 8259s stay masked (the
// runtime masked them), so an ISA IRQ arrives only this way.

import { isaIrqPin, ioapicAddress } from "../../cpus";
import { panic } from "../../kern/kern_shutdown";

const IOREGSEL: usize = 0x00;
const IOWIN: usize = 0x10;
const IOAPICVER: u32 = 0x01;
const IOREDTBL: u32 = 0x10; // + 2 × pin: low word, + 1: high word
const RTE_MASKED: u32 = 1 << 16;

/** Vectors of ISA IRQs: IRQ n arrives at VECTOR_ISA_BASE + n. Priority class 3, below the timer and IPIs. */
export const VECTOR_ISA_BASE: u32 = 0x30;

/** Pins, from the version register. A per-CPU global, like cpus.ts's: only the BSP programs the IOAPIC. */
let ioapic_pins: u32 = 0;

function ioapic_read(reg: u32): u32 {
  store<u32>(<usize>ioapicAddress + IOREGSEL, reg);
  return load<u32>(<usize>ioapicAddress + IOWIN);
}

function ioapic_write(reg: u32, v: u32): void {
  store<u32>(<usize>ioapicAddress + IOREGSEL, reg);
  store<u32>(<usize>ioapicAddress + IOWIN, v);
}

/*
 * ioapic_init: masks every pin. Returns false when the firmware listed no IOAPIC.
 * Context: the BSP, once, before any ioapic_route_isa; interrupts off or no pin unmasked yet.
 */
export function ioapic_init(): bool {
  if (ioapicAddress == 0) return false;
  ioapic_pins = ((ioapic_read(IOAPICVER) >> 16) & 0xff) + 1;
  for (let pin: u32 = 0; pin < ioapic_pins; pin++) {
    ioapic_write(IOREDTBL + 2 * pin + 1, 0);
    ioapic_write(IOREDTBL + 2 * pin, RTE_MASKED);
  }
  return true;
}

/*
 * ioapic_route_isa: delivers ISA IRQ irq (edge-triggered, active high, as ISA
 * lines are unless the firmware says otherwise) to the local APIC apicId at
 * VECTOR_ISA_BASE + irq, fixed delivery, physical destination.
 * Context: the BSP, after ioapic_init.
 */
export function ioapic_route_isa(irq: u32, apicId: u32): void {
  const pin = <u32>load<u8>(isaIrqPin + <usize>irq);
  if (pin >= ioapic_pins) panic("ioapic_route_isa: the IRQ's pin is beyond the IOAPIC's");
  ioapic_write(IOREDTBL + 2 * pin + 1, apicId << 24);
  ioapic_write(IOREDTBL + 2 * pin, VECTOR_ISA_BASE + irq);
}

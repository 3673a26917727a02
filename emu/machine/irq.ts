/**
 * Interrupt wiring between devices and interrupt controllers. A device drives
 * a line's level; controllers decide whether they see an edge or a level.
 * An ISA IRQ fans out to both the 8259 pair and the IOAPIC, as on a PC
 * (the MP table tells the kernel which IOAPIC pin each ISA IRQ reaches).
 */
export interface IrqLine {
  set(level: boolean): void;
}

export interface IrqSink {
  /** Input `pin` of this controller is now at `level`. */
  setIrq(pin: number, level: boolean): void;
}

/** ISA IRQ → IOAPIC pin, as SeaBIOS and QEMU wire a PC: IRQ 0 (PIT) reaches pin 2, the rest pin = IRQ. */
export function isaIrqToIoapicPin(irq: number): number { return irq === 0 ? 2 : irq; }

/** A line feeding the 8259 pair at `irq` and the IOAPIC at the matching pin. */
export function isaIrq(irq: number, pic: IrqSink, ioapic: IrqSink): IrqLine {
  return {
    set(level: boolean): void {
      pic.setIrq(irq, level);
      ioapic.setIrq(isaIrqToIoapicPin(irq), level);
    },
  };
}

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

/**
 * A wired-OR line, as PCI INTx# pins sharing an interrupt are: the line is
 * high while any of its sources drives it high.
 */
export class SharedIrq {
  private readonly high = new Set<number>();
  private sources = 0;

  constructor(private readonly line: IrqLine) {}

  /** A new input on the line. */
  source(): IrqLine {
    const id = this.sources++;
    return {
      set: (level: boolean): void => {
        const before = this.high.size > 0;
        if (level) this.high.add(id); else this.high.delete(id);
        const after = this.high.size > 0;
        if (after !== before) this.line.set(after);
      },
    };
  }
}

/**
 * The ISA IRQ a PCI device's INTx# reaches on QEMU's PC as SeaBIOS sets it up:
 * the PIIX3 swizzles (device, pin) onto its four PIRQ links, which SeaBIOS
 * routes to IRQs 10, 10, 11 and 11. The IOAPIC sees the same pin number.
 */
export function pciIntxIrq(device: number, pin: number): number {
  return [10, 10, 11, 11][(device + pin - 2) & 3];
}

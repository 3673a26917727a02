/**
 * The PC's two cascaded Intel 8259A interrupt controllers: master at
 * 0x20/0x21 (IRQ 0–7), slave at 0xA0/0xA1 (IRQ 8–15) on the master's IR2,
 * and the PIIX edge/level control registers (ELCR) at 0x4D0/0x4D1.
 *
 * The master's INT output goes to the BSP's LINT0 (`onIntr`); the CPU's
 * interrupt-acknowledge cycle is `acknowledge()`, which returns the vector.
 *
 * Power-on state: the 8259A has no reset pin and the datasheet leaves it
 * undefined until ICW1; here every input starts masked (IMR = 0xFF) so that
 * nothing is delivered before the guest initialises it. (QEMU starts with
 * IMR = 0, relying on the BIOS to program it.)
 */
import { ByteDevice, type Log, type PortBus } from './bus.js';
import type { IrqSink } from './irq.js';
import type { StateValue, Stateful } from './state.js';
import { restoreFields, saveFields } from './fields.js';

/** ELCR bits that PIIX hardwires to edge: IRQ 0, 1, 2 (master) and 8, 13 (slave). */
const ELCR_WRITABLE = [0xf8, 0xde];

class Chip {
  irr = 0;
  isr = 0;
  imr = 0xff;
  /** Input pin levels, for edge detection and level-triggered requests. */
  lines = 0;
  elcr = 0;
  vectorBase = 0;
  /** IR number with the highest priority (rotation). */
  priorityBase = 0;
  /** Next ICW expected on the odd port: 0 when initialised, else 2, 3 or 4. */
  icwStep = 0;
  levelMode = false;
  single = false;
  needIcw4 = false;
  /** ICW3: the master's slave-input bits, or the slave's identity. */
  icw3 = 0;
  autoEoi = false;
  rotateOnAutoEoi = false;
  specialFullyNested = false;
  specialMask = false;
  readIsr = false;
  pollPending = false;

  /** Level of the input pins this chip treats as level-triggered. */
  get levelPins(): number { return this.levelMode ? 0xff : this.elcr; }

  /**
   * A rising edge (or, level-triggered, a high level) requests. A request whose
   * line falls before it is acknowledged is withdrawn in either mode: the 8259A
   * datasheet's cause of spurious interrupts. (QEMU keeps a withdrawn edge.)
   */
  setLine(pin: number, level: boolean): void {
    const bit = 1 << pin;
    if (level) {
      if (!(this.lines & bit) || this.levelPins & bit) this.irr |= bit;
      this.lines |= bit;
    } else {
      this.lines &= ~bit;
      this.irr &= ~bit;
    }
  }

  /** Priority rank (0 = highest) of the best bit in mask, or 8 if none. */
  rank(mask: number): number {
    for (let r = 0; r < 8; r++) if (mask & (1 << ((r + this.priorityBase) & 7))) return r;
    return 8;
  }

  irOfRank(r: number): number { return (r + this.priorityBase) & 7; }

  /** The IR whose request would interrupt now, or -1. */
  pending(cascadePin: number): number {
    const req = this.rank(this.irr & ~this.imr);
    if (req === 8) return -1;
    let inService = this.isr;
    if (this.specialMask) inService &= ~this.imr;
    // Special fully nested: a slave's higher-priority request may interrupt its own in-service cascade.
    if (this.specialFullyNested && cascadePin >= 0) inService &= ~(1 << cascadePin);
    return req < this.rank(inService) ? this.irOfRank(req) : -1;
  }

  /** The chip's half of an INTA cycle for request `ir`. */
  take(ir: number): void {
    const bit = 1 << ir;
    if (!(this.levelPins & bit)) this.irr &= ~bit;
    if (this.autoEoi) {
      if (this.rotateOnAutoEoi) this.priorityBase = (ir + 1) & 7;
    } else {
      this.isr |= bit;
    }
  }
}

const CHIP_FIELDS = [
  'irr', 'isr', 'imr', 'lines', 'elcr', 'vectorBase', 'priorityBase', 'icwStep', 'levelMode', 'single', 'needIcw4',
  'icw3', 'autoEoi', 'rotateOnAutoEoi', 'specialFullyNested', 'specialMask', 'readIsr', 'pollPending',
] as const;
const STATE_FIELDS = ['master', 'slave', 'intr'] as const;
const NESTED = { master: CHIP_FIELDS, slave: CHIP_FIELDS };

export class Pic8259Pair extends ByteDevice implements IrqSink, Stateful {
  readonly master = new Chip();
  readonly slave = new Chip();
  intr = false;

  constructor(
    private readonly onIntr: (level: boolean) => void,
    private readonly log: Log,
  ) { super(); }

  save(): StateValue { return saveFields(this, STATE_FIELDS, NESTED); }
  restore(s: StateValue): void { restoreFields(this, STATE_FIELDS, s, NESTED); }

  register(bus: PortBus): void {
    bus.register(0x20, 2, this);
    bus.register(0xa0, 2, this);
    bus.register(0x4d0, 2, this);
  }

  setIrq(pin: number, level: boolean): void {
    if (!(pin >= 0 && pin < 16) || pin === 2) throw new RangeError(`8259: no input IRQ ${pin} (IRQ 2 is the cascade)`);
    if (pin < 8) this.master.setLine(pin, level);
    else this.slave.setLine(pin - 8, level);
    this.update();
  }

  /**
   * The INTA cycle: the vector of the highest-priority request, now in service.
   * If the request has gone by the time the CPU acknowledges (its line fell, or
   * it was masked), the chip answers with its IR7 vector and sets no ISR bit: the
   * spurious interrupt of the datasheet.
   */
  acknowledge(): number {
    const m = this.master, cascade = this.cascadePin();
    const ir = m.pending(cascade);
    let vector: number;
    if (ir >= 0 && ir === cascade) {
      m.take(ir);
      vector = this.answer(this.slave, this.slave.pending(-1));
    } else {
      vector = this.answer(m, ir);
    }
    this.update();
    return vector;
  }

  private answer(c: Chip, ir: number): number {
    if (ir < 0) return c.vectorBase + 7;
    c.take(ir);
    return c.vectorBase + ir;
  }


  /** The master input with the slave on it, or -1 when ICW1/ICW3 say there is none. */
  private cascadePin(): number {
    const m = this.master;
    return !m.single && m.icw3 & 0x04 ? 2 : -1;
  }

  private chipAt(port: number): Chip | null {
    if (port === 0x20 || port === 0x21 || port === 0x4d0) return this.master;
    if (port === 0xa0 || port === 0xa1 || port === 0x4d1) return this.slave;
    return null;
  }

  protected readByte(port: number): number {
    const c = this.chipAt(port);
    if (!c) return 0xff;
    if (port >= 0x4d0) return c.elcr;
    if (port & 1) return c.imr;
    if (c.pollPending) {
      c.pollPending = false;
      const ir = c.pending(c === this.master ? this.cascadePin() : -1);
      if (ir < 0) return 0;
      c.take(ir);
      this.update();
      return 0x80 | ir;
    }
    return c.readIsr ? c.isr : c.irr;
  }

  protected writeByte(port: number, v: number): void {
    const c = this.chipAt(port);
    if (!c) return;
    const name = c === this.master ? 'master' : 'slave';
    if (port >= 0x4d0) {
      const writable = ELCR_WRITABLE[c === this.master ? 0 : 1];
      if (v & ~writable) this.log('guest_errors', `8259 ${name}: ELCR bits 0x${(v & ~writable).toString(16)} are hardwired to edge`);
      c.elcr = v & writable;
      this.refreshLevels(c);
    } else if (port & 1) {
      this.writeOdd(c, name, v);
    } else if (v & 0x10) {
      this.icw1(c, name, v);
    } else if (v & 0x08) {
      this.ocw3(c, v);
    } else {
      this.ocw2(c, v);
    }
    this.update();
  }

  private icw1(c: Chip, name: string, v: number): void {
    // Datasheet: ICW1 resets the edge sense circuit, clears IMR and special mask,
    // gives IR7 the lowest priority and selects IRR for reads. ISR is cleared too, as in QEMU.
    c.levelMode = (v & 0x08) !== 0;
    c.single = (v & 0x02) !== 0;
    c.needIcw4 = (v & 0x01) !== 0;
    c.irr = c.lines & c.levelPins;
    c.isr = 0;
    c.imr = 0;
    c.priorityBase = 0;
    c.specialMask = false;
    c.readIsr = false;
    c.pollPending = false;
    c.autoEoi = false;
    c.rotateOnAutoEoi = false;
    c.specialFullyNested = false;
    c.icwStep = 2;
    if (c.single) this.log('unimp', `8259 ${name}: single mode (ICW1.SNGL) on a PC's cascaded pair`);
    if (!c.needIcw4) this.log('unimp', `8259 ${name}: ICW1 without ICW4 selects MCS-80/85 mode; vectors are delivered as in 8086 mode`);
  }

  private writeOdd(c: Chip, name: string, v: number): void {
    switch (c.icwStep) {
      case 0:
        c.imr = v;
        return;
      case 2:
        c.vectorBase = v & 0xf8;
        c.icwStep = c.single ? (c.needIcw4 ? 4 : 0) : 3;
        return;
      case 3:
        c.icw3 = v;
        if (c === this.slave && (v & 7) !== 2) this.log('guest_errors', `8259 slave: ICW3 identity ${v & 7}, but it is wired to master IR2`);
        c.icwStep = c.needIcw4 ? 4 : 0;
        return;
      default:
        if (!(v & 0x01)) this.log('unimp', `8259 ${name}: MCS-80/85 mode (ICW4 bit 0 clear); vectors are delivered as in 8086 mode`);
        c.autoEoi = (v & 0x02) !== 0;
        c.specialFullyNested = (v & 0x10) !== 0;
        c.icwStep = 0;
    }
  }

  private ocw2(c: Chip, v: number): void {
    const ir = v & 7;
    switch (v >> 5) {
      case 0: c.rotateOnAutoEoi = false; return;
      case 4: c.rotateOnAutoEoi = true; return;
      case 1: case 5: {
        // Non-specific EOI: the highest-priority in-service level; in special mask mode a masked one is left alone.
        const r = c.rank(c.specialMask ? c.isr & ~c.imr : c.isr);
        if (r === 8) return;
        const served = c.irOfRank(r);
        c.isr &= ~(1 << served);
        if (v & 0x80) c.priorityBase = (served + 1) & 7;
        return;
      }
      case 3: case 7:
        c.isr &= ~(1 << ir);
        if (v & 0x80) c.priorityBase = (ir + 1) & 7;
        return;
      case 6: c.priorityBase = (ir + 1) & 7; return;
      default: // 2 is the datasheet's no-operation
    }
  }

  private ocw3(c: Chip, v: number): void {
    if (v & 0x40) c.specialMask = (v & 0x20) !== 0;
    if (v & 0x02) c.readIsr = (v & 0x01) !== 0;
    c.pollPending = (v & 0x04) !== 0;
  }

  /** After an ELCR change, level-triggered inputs request exactly while high. */
  private refreshLevels(c: Chip): void {
    const lv = c.levelPins;
    c.irr = (c.irr & ~lv) | (c.lines & lv);
  }

  private update(): void {
    const s = this.slave;
    this.master.setLine(2, s.pending(-1) >= 0);
    const level = this.master.pending(this.cascadePin()) >= 0;
    if (level === this.intr) return;
    this.intr = level;
    this.onIntr(level);
  }
}

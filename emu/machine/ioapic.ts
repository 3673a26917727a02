/**
 * The I/O APIC (Intel 82093AA datasheet, §3 "Register description"): an
 * index register IOREGSEL at +0x00 and a data window IOWIN at +0x10 reach the
 * ID (0), version (1: 0x00170011, 24 entries), arbitration ID (2) and 24
 * 64-bit redirection entries (0x10-0x3F) that turn input pins into interrupt
 * messages on the APIC bus.
 *
 * Version 0x11 has no EOI register at +0x40 (that arrived with version 0x20):
 * remote IRR clears only through the EOI messages local APICs broadcast, or —
 * as Linux does on these parts — by switching the entry to edge-triggered.
 *
 * `setIrq`'s level is the electrical level at the pin; an entry's polarity bit
 * says which level counts as asserted. An active-low line must therefore idle
 * high. Delivery is instantaneous, so delivery status always reads idle.
 *
 * Level-triggered entries use remote IRR only with fixed and lowest-priority
 * delivery: the other modes never reach an ISR and so never get an EOI, so
 * they act on the rising edge whatever the trigger bit says.
 */
import type { StateValue, Stateful } from './state.js';
import { restoreFields, saveFields } from './fields.js';
import type { Log, MmioDevice, Size } from './bus.js';
import type { IrqSink } from './irq.js';
import { DELIVERY_MODES, type ApicBus, type EoiReceiver } from './apic-bus.js';

export const IOAPIC_DEFAULT_BASE = 0xfec00000;
export const IOAPIC_PINS = 24;

const VERSION = 0x00170011;
const MASKED = 1 << 16;
const LEVEL = 1 << 15;
const REMOTE_IRR = 1 << 14;
const ACTIVE_LOW = 1 << 13;
/** Writable low-dword bits: vector, delivery mode, destination mode, polarity, trigger, mask. */
const LOW_WRITABLE = 0x0001afff;

const STATE_FIELDS = ['id', 'arbitrationId', 'ioregsel', 'low', 'high', 'pin'] as const;

export class IoApic implements MmioDevice, IrqSink, EoiReceiver, Stateful {
  private id = 0;
  private arbitrationId = 0;
  private ioregsel = 0;
  private readonly low = new Uint32Array(IOAPIC_PINS);
  private readonly high = new Uint32Array(IOAPIC_PINS);
  /** Electrical level at each pin. */
  private readonly pin = new Array<boolean>(IOAPIC_PINS).fill(false);

  /** `initialId` is the ID the firmware's MP table gives this IOAPIC. */
  constructor(private readonly bus: ApicBus, private readonly log: Log, private readonly initialId = 0) {
    this.reset();
    bus.attachIoApic(this);
  }

  save(): StateValue { return saveFields(this, STATE_FIELDS); }
  restore(s: StateValue): void { restoreFields(this, STATE_FIELDS, s); }

  /** Every entry masked, edge, active high; the ID returns to the one the machine gave it. Pin levels are wires and stay. */
  reset(): void {
    this.id = this.arbitrationId = this.initialId & 0xf;
    this.ioregsel = 0;
    this.low.fill(MASKED);
    this.high.fill(0);
  }

  setIrq(pin: number, level: boolean): void {
    if (pin < 0 || pin >= IOAPIC_PINS) throw new Error(`IOAPIC has no pin ${pin}`);
    const was = this.asserted(pin);
    this.pin[pin] = level;
    this.service(pin, was);
  }

  /** EOI message for `vector` from a local APIC (82093AA: remote IRR clears on a matching vector). */
  eoi(vector: number): void {
    for (let p = 0; p < IOAPIC_PINS; p++) {
      const e = this.low[p];
      if (!(e & REMOTE_IRR) || (e & 0xff) !== vector) continue;
      this.low[p] = e & ~REMOTE_IRR;
      this.service(p, true);
    }
  }

  mmioRead(offset: number, size: Size): number {
    if (offset === 0x00) return this.ioregsel;
    if (offset === 0x10 && size === 4) return this.readRegister(this.ioregsel);
    this.log('guest_errors', `ioapic: ${size}-byte read at +0x${offset.toString(16)} (only IOREGSEL +0x0 and dword IOWIN +0x10 exist); reads 0`);
    return 0;
  }

  mmioWrite(offset: number, size: Size, value: number): void {
    value >>>= 0;
    if (offset === 0x00) { this.ioregsel = value & 0xff; return; }
    if (offset === 0x10 && size === 4) { this.writeRegister(this.ioregsel, value); return; }
    this.log('guest_errors', `ioapic: ${size}-byte write 0x${value.toString(16)} at +0x${offset.toString(16)} (only IOREGSEL +0x0 and dword IOWIN +0x10 exist); ignored`);
  }

  private readRegister(r: number): number {
    if (r === 0) return (this.id << 24) >>> 0;
    if (r === 1) return VERSION;
    if (r === 2) return (this.arbitrationId << 24) >>> 0;
    if (r >= 0x10 && r < 0x10 + 2 * IOAPIC_PINS) {
      const p = (r - 0x10) >>> 1;
      return r & 1 ? this.high[p] : this.low[p];
    }
    this.log('guest_errors', `ioapic: read of register 0x${r.toString(16)}, which does not exist; reads 0`);
    return 0;
  }

  private writeRegister(r: number, value: number): void {
    if (r === 0) {
      // The arbitration ID is loaded from the ID when the ID is written (82093AA §3.2.3).
      this.id = this.arbitrationId = (value >>> 24) & 0xf;
      return;
    }
    if (r >= 0x10 && r < 0x10 + 2 * IOAPIC_PINS) {
      const p = (r - 0x10) >>> 1;
      if (r & 1) { this.high[p] = (value & 0xff000000) >>> 0; return; }
      const was = this.asserted(p);
      let e = (value & LOW_WRITABLE) | (this.low[p] & REMOTE_IRR);
      // Remote IRR is meaningless for edge entries; clearing it here is the EOI path old IOAPICs rely on.
      if (!(e & LEVEL)) e &= ~REMOTE_IRR;
      this.low[p] = e;
      this.service(p, was);
      return;
    }
    this.log('guest_errors', `ioapic: write 0x${value.toString(16)} to register 0x${r.toString(16)}, which is read-only or does not exist; ignored`);
  }

  private asserted(p: number): boolean { return this.pin[p] !== ((this.low[p] & ACTIVE_LOW) !== 0); }

  /** Delivers pin `p` if its state calls for it; `was` is whether it counted as asserted before the change. */
  private service(p: number, was: boolean): void {
    const e = this.low[p];
    if (e & MASKED) return;
    const now = this.asserted(p);
    const mode = DELIVERY_MODES[(e >>> 8) & 7];
    if (mode === null || mode === 'startup') {
      if (now && !was) this.log('guest_errors', `ioapic: pin ${p} has reserved delivery mode ${(e >>> 8) & 7}; not delivered`);
      return;
    }
    const levelTriggered = (e & LEVEL) !== 0 && (mode === 'fixed' || mode === 'lowest');
    if (levelTriggered ? !now || e & REMOTE_IRR : !now || was) return;
    const accepted = this.bus.deliver({
      mode,
      vector: e & 0xff,
      destMode: e & (1 << 11) ? 'logical' : 'physical',
      dest: this.high[p] >>> 24,
      shorthand: 'none',
      trigger: levelTriggered ? 'level' : 'edge',
      level: true,
    }, null);
    // Remote IRR means "some local APIC holds it": with no taker there is nothing to wait for.
    if (levelTriggered && accepted > 0) this.low[p] |= REMOTE_IRR;
  }
}

/**
 * A 16550A UART (National PC16550D datasheet) as wired on a PC: eight byte
 * registers at `base`, the interrupt output gated by MCR.OUT2, the modem
 * inputs tied active (as QEMU's serial port sees a connected terminal).
 *
 * Transmission takes no time, as in QEMU: a byte written to THR reaches the
 * host at once and THR is empty again, so polling guests never wait. Reception
 * is paced: host bytes wait in an unbounded queue and enter the RX FIFO one per
 * character time (from the divisor and LCR framing) on the virtual clock, and
 * only while the FIFO has room, so pasted text is never lost to an overrun.
 */
import { ByteDevice, type Log, type PortBus } from './bus.js';
import type { ClockEvent, VirtualClock } from './clock.js';
import type { StateValue, Stateful } from './state.js';
import { restoreFields, saveFields } from './fields.js';
import type { IrqLine } from './irq.js';

const IER_RDA = 0x01, IER_THRE = 0x02, IER_RLS = 0x04, IER_MS = 0x08;
const IIR_NONE = 0x01, IIR_MS = 0x00, IIR_THRE = 0x02, IIR_RDA = 0x04, IIR_RLS = 0x06, IIR_CTI = 0x0c;
const LCR_BREAK = 0x40, LCR_DLAB = 0x80;
const MCR_OUT2 = 0x08, MCR_LOOP = 0x10;
const LSR_DR = 0x01, LSR_OE = 0x02, LSR_THRE = 0x20, LSR_TEMT = 0x40;
const MSR_CTS = 0x10, MSR_DSR = 0x20, MSR_RI = 0x40, MSR_DCD = 0x80;
const FIFO_DEPTH = 16;
const TRIGGER_LEVELS = [1, 4, 8, 14];
/** The PC's 1.8432 MHz crystal divided by the UART's fixed 16× oversampling. */
const BAUD_CLOCK = 115200;
const NS_PER_S = 1e9;

const STATE_FIELDS = [
  'ier', 'lcr', 'mcr', 'scr', 'fcr', 'divisor', 'overrun', 'msr', 'rxFifo', 'lastRx', 'thrPending', 'timeoutPending',
  'input', 'inputHead', 'irqLevel', 'breakReported', 'divisorZeroReported',
] as const;

export class Uart16550 extends ByteDevice implements Stateful {
  ier = 0;
  lcr = 0;
  mcr = 0;
  scr = 0;
  /** FCR as last programmed; only bit 0 (FIFO enable) and the trigger bits matter. */
  fcr = 0;
  /** DLM:DLL. QEMU's reset value (9600 baud); the datasheet leaves it undefined. */
  divisor = 12;
  /** Overrun error, cleared by reading LSR (no parity/framing/break errors can occur). */
  overrun = false;
  /** Modem inputs (high nibble) and their delta bits (low nibble), as MSR reads. */
  msr = MSR_DCD | MSR_DSR | MSR_CTS;
  rxFifo: number[] = [];
  /** What RBR returns when the FIFO is empty: the last character read. */
  lastRx = 0;
  thrPending = false;
  timeoutPending = false;
  input: number[] = [];
  inputHead = 0;
  irqLevel = false;
  breakReported = false;
  divisorZeroReported = false;
  private pumpEvent: ClockEvent | null = null;
  private timeoutEvent: ClockEvent | null = null;

  constructor(
    readonly base: number,
    private readonly clock: VirtualClock,
    private readonly irq: IrqLine,
    private readonly output: (byte: number) => void,
    private readonly log: Log,
  ) { super(); }

  register(bus: PortBus): void { bus.register(this.base, 8, this); }

  save(): StateValue { return saveFields(this, STATE_FIELDS); }
  /** Pending events come back through adopt(). */
  restore(s: StateValue): void {
    restoreFields(this, STATE_FIELDS, s);
    this.pumpEvent = null;
    this.timeoutEvent = null;
  }

  /** Tags name the UART by its base port: the machine has two. */
  private tag(what: 'pump' | 'timeout'): string { return `uart${this.base.toString(16)}:${what}`; }

  event(tag: string): () => void {
    if (tag === this.tag('pump')) return () => this.pump();
    if (tag === this.tag('timeout')) return () => this.timeout();
    throw new Error(`snapshot: the UART at 0x${this.base.toString(16)} has no event '${tag}'`);
  }

  adopt(tag: string, e: ClockEvent): void {
    if (tag === this.tag('pump')) this.pumpEvent = e;
    else this.timeoutEvent = e;
  }

  /** Host bytes for the guest; they reach the RX FIFO at the line's pace. */
  receive(bytes: Uint8Array): void {
    for (const b of bytes) this.input.push(b);
    this.schedulePump();
  }

  /** True while host bytes are still waiting to enter the RX FIFO. */
  hasPendingInput(): boolean { return this.inputHead < this.input.length; }

  /** A wide access that runs past the UART's eight ports reads open bus there and writes nothing. */
  protected readByte(port: number): number {
    const off = port - this.base;
    return off < 8 ? this.readReg(off) : 0xff;
  }

  protected writeByte(port: number, v: number): void {
    const off = port - this.base;
    if (off < 8) this.writeReg(off, v);
  }

  /** Time to shift one character in, from the divisor and the LCR framing (start, data, parity, stop bits). */
  charTimeNs(): number {
    const dataBits = 5 + (this.lcr & 3);
    const stopHalfBits = this.lcr & 4 ? (dataBits === 5 ? 3 : 4) : 2;
    const halfBits = 2 * (1 + dataBits + (this.lcr & 8 ? 1 : 0)) + stopHalfBits;
    // A zero divisor is not a valid setting (and passes through zero while DLL/DLM are
    // written one at a time); it is timed as the 16-bit counter's wrap, 65536.
    if (this.divisor === 0 && !this.divisorZeroReported) {
      this.divisorZeroReported = true;
      this.log('guest_errors', `uart@0x${this.base.toString(16)}: character time with divisor 0 taken as 65536`);
    }
    const divisor = this.divisor || 0x10000;
    return Math.round((halfBits * divisor * NS_PER_S) / (2 * BAUD_CLOCK));
  }

  private readReg(off: number): number {
    const dlab = (this.lcr & LCR_DLAB) !== 0;
    switch (off) {
      case 0: return dlab ? this.divisor & 0xff : this.readRbr();
      case 1: return dlab ? this.divisor >> 8 : this.ier;
      case 2: return this.readIir();
      case 3: return this.lcr;
      case 4: return this.mcr;
      case 5: return this.readLsr();
      case 6: return this.readMsr();
      default: return this.scr;
    }
  }

  private writeReg(off: number, v: number): void {
    const dlab = (this.lcr & LCR_DLAB) !== 0;
    switch (off) {
      case 0:
        if (dlab) this.divisor = (this.divisor & 0xff00) | v;
        else this.writeThr(v);
        return;
      case 1:
        if (dlab) this.divisor = (this.divisor & 0xff) | (v << 8);
        else this.writeIer(v);
        return;
      case 2: this.writeFcr(v); return;
      case 3:
        this.lcr = v;
        if (v & LCR_BREAK && !this.breakReported) {
          this.breakReported = true;
          this.log('unimp', `uart@0x${this.base.toString(16)}: break (LCR bit 6) is not sent to the host`);
        }
        return;
      case 4: this.writeMcr(v); return;
      case 5: case 6:
        this.log('unimp', `uart@0x${this.base.toString(16)}: write 0x${v.toString(16)} to ${off === 5 ? 'LSR' : 'MSR'} (factory test) ignored`);
        return;
      default: this.scr = v;
    }
  }

  private get fifoEnabled(): boolean { return (this.fcr & 1) !== 0; }
  private get depth(): number { return this.fifoEnabled ? FIFO_DEPTH : 1; }
  private get wordMask(): number { return (1 << (5 + (this.lcr & 3))) - 1; }
  private get loopback(): boolean { return (this.mcr & MCR_LOOP) !== 0; }

  private readRbr(): number {
    if (this.rxFifo.length > 0) this.lastRx = this.rxFifo.shift()!;
    this.rxActivity();
    this.schedulePump();
    this.updateIrq();
    return this.lastRx;
  }

  private readIir(): number {
    const id = this.pendingInterrupt();
    // PC16550D: reading IIR when THRE is the reported source clears that indication.
    if (id === IIR_THRE) {
      this.thrPending = false;
      this.updateIrq();
    }
    return id | (this.fifoEnabled ? 0xc0 : 0);
  }

  private readLsr(): number {
    const v = (this.rxFifo.length > 0 ? LSR_DR : 0) | (this.overrun ? LSR_OE : 0) | LSR_THRE | LSR_TEMT;
    if (this.overrun) {
      this.overrun = false;
      this.updateIrq();
    }
    return v;
  }

  private readMsr(): number {
    const v = this.msr;
    if (v & 0x0f) {
      this.msr &= 0xf0;
      this.updateIrq();
    }
    return v;
  }

  private writeThr(v: number): void {
    const byte = v & this.wordMask;
    if (this.loopback) this.rxCharacter(byte);
    else this.output(byte);
    // The shift register empties at once, so THR is empty again: a new THRE interrupt.
    this.thrPending = true;
    this.updateIrq();
  }

  private writeIer(v: number): void {
    const rising = ~this.ier & v;
    this.ier = v & 0x0f;
    // QEMU and Bochs re-arm THRE when its enable rises with THR empty; Windows depends on it.
    if (rising & IER_THRE) this.thrPending = true;
    this.updateIrq();
  }

  private writeFcr(v: number): void {
    // PC16550D: the other FCR bits are programmed only while bit 0 is written as 1.
    const next = v & 1 ? v & 0xc9 : 0;
    if ((next ^ this.fcr) & 1 || (v & 3) === 3) this.clearRx();
    this.fcr = next;
    this.schedulePump();
    this.updateIrq();
  }

  private writeMcr(v: number): void {
    const before = this.modemInputs();
    this.mcr = v & 0x1f;
    const after = this.modemInputs();
    const changed = before ^ after;
    let delta = 0;
    if (changed & MSR_CTS) delta |= 0x01;
    if (changed & MSR_DSR) delta |= 0x02;
    if (before & MSR_RI && !(after & MSR_RI)) delta |= 0x04;
    if (changed & MSR_DCD) delta |= 0x08;
    this.msr = after | (this.msr & 0x0f) | delta;
    this.schedulePump();
    this.updateIrq();
  }

  /** In loopback the modem outputs drive the inputs: RTS→CTS, DTR→DSR, OUT1→RI, OUT2→DCD. */
  private modemInputs(): number {
    if (!this.loopback) return MSR_DCD | MSR_DSR | MSR_CTS;
    const m = this.mcr;
    return ((m & 0x02) << 3) | ((m & 0x01) << 5) | ((m & 0x0c) << 4);
  }

  private clearRx(): void {
    this.rxFifo = [];
    this.timeoutPending = false;
    this.clock.cancel(this.timeoutEvent);
    this.timeoutEvent = null;
  }

  /** A character has finished arriving in the receiver shift register. */
  private rxCharacter(byte: number): void {
    if (this.rxFifo.length < this.depth) this.rxFifo.push(byte);
    else {
      this.overrun = true;
      // Without FIFOs the new character overwrites RBR; with them it is lost in the shift register.
      if (!this.fifoEnabled) this.rxFifo[0] = byte;
    }
    this.rxActivity();
    this.updateIrq();
  }

  /** A character arrived or the guest read one: the 4-character timeout starts over. */
  private rxActivity(): void {
    this.timeoutPending = false;
    this.clock.cancel(this.timeoutEvent);
    this.timeoutEvent = null;
    if (!this.fifoEnabled || this.rxFifo.length === 0) return;
    this.timeoutEvent = this.clock.schedule(this.clock.time() + 4 * this.charTimeNs(), () => this.timeout(), this.tag('timeout'));
  }

  private timeout(): void {
    this.timeoutEvent = null;
    this.timeoutPending = true;
    this.updateIrq();
  }

  private canAcceptInput(): boolean { return !this.loopback && this.rxFifo.length < this.depth; }

  private schedulePump(): void {
    if (this.pumpEvent || !this.hasPendingInput() || !this.canAcceptInput()) return;
    this.pumpEvent = this.clock.schedule(this.clock.time() + this.charTimeNs(), () => this.pump(), this.tag('pump'));
  }

  /** One character time passed: the next host byte enters the RX FIFO. */
  private pump(): void {
    this.pumpEvent = null;
    if (this.canAcceptInput() && this.hasPendingInput()) this.rxCharacter(this.takeInput() & this.wordMask);
    this.schedulePump();
  }

  private takeInput(): number {
    const b = this.input[this.inputHead++];
    if (this.inputHead === this.input.length) {
      this.input = [];
      this.inputHead = 0;
    } else if (this.inputHead >= 4096 && this.inputHead * 2 >= this.input.length) {
      this.input = this.input.slice(this.inputHead);
      this.inputHead = 0;
    }
    return b;
  }

  /** The highest-priority pending interrupt as IIR encodes it. */
  private pendingInterrupt(): number {
    const ier = this.ier;
    if (ier & IER_RLS && this.overrun) return IIR_RLS;
    if (ier & IER_RDA) {
      const trigger = this.fifoEnabled ? TRIGGER_LEVELS[this.fcr >> 6] : 1;
      if (this.rxFifo.length >= trigger) return IIR_RDA;
      if (this.timeoutPending) return IIR_CTI;
    }
    if (ier & IER_THRE && this.thrPending) return IIR_THRE;
    if (ier & IER_MS && this.msr & 0x0f) return IIR_MS;
    return IIR_NONE;
  }

  /**
   * On a PC, the MCR's OUT2 bit enables the IRQ driver, in loopback mode too:
   * the datasheet forces the OUT2 pin inactive there, but PC UARTs gate the
   * IRQ with the register bit, and BSD's sio probe relies on getting an
   * interrupt in loopback (so does QEMU, which ignores OUT2 altogether).
   */
  private updateIrq(): void {
    const level = this.pendingInterrupt() !== IIR_NONE && (this.mcr & MCR_OUT2) !== 0;
    if (level === this.irqLevel) return;
    this.irqLevel = level;
    this.irq.set(level);
  }
}

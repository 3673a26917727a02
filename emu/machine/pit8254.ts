/**
 * The Intel 8254 programmable interval timer at ports 0x40–0x43, and the PC's
 * port 0x61 (system control port B) that gates counter 2 and reads its output.
 *
 * Counters are not ticked: each one remembers when its count was loaded and
 * derives its value and OUT level from the virtual clock, converted to input
 * clock edges (1.193182 MHz) with exact integer arithmetic. Only counter 0's
 * OUT is wired to an interrupt (IRQ 0), so only it schedules clock events, one
 * per OUT edge and none when its output can no longer change.
 */
import { ByteDevice, type Log, type PortBus } from './bus.js';
import type { ClockEvent, VirtualClock } from './clock.js';
import type { StateValue, Stateful } from './state.js';
import { restoreFields, saveFields } from './fields.js';
import type { IrqLine } from './irq.js';

export const PIT_HZ = 1193182;
const NS_PER_S = 1e9;
/** Port 0x61 bit 4 toggles with each DRAM refresh request, every 15.085 µs on a PC/AT. */
const REFRESH_TOGGLE_NS = 15085;

/**
 * Input clock edges in (0, t]. Splitting whole seconds off keeps every product
 * below 2^53, and the remainder's quotient can never round across an integer.
 */
export function pitTicks(t: number): number {
  const s = Math.floor(t / NS_PER_S);
  return s * PIT_HZ + Math.floor(((t - s * NS_PER_S) * PIT_HZ) / NS_PER_S);
}

/** The virtual time of input clock edge `n`: the least t with pitTicks(t) = n. */
export function pitTickTime(n: number): number {
  const s = Math.floor(n / PIT_HZ);
  return s * NS_PER_S + Math.ceil(((n - s * PIT_HZ) * NS_PER_S) / PIT_HZ);
}

class Counter {
  /** Control-word mode bits as written (6 and 7 alias 2 and 3); -1 before any control word. */
  modeBits = -1;
  access = 3;
  bcd = false;
  gate: boolean;
  /** The count register (CR) as actually counted: 1…65536, or 1…10000 in BCD. 0: none written. */
  cr = 0;
  /** The count of the running sequence; differs from `cr` until a new count takes effect. */
  n = 0;
  /** Clock edge that loaded `n` into the counting element; Infinity while not counting. */
  loadTick = Infinity;
  /** Edges lost to GATE low (modes 0 and 4), and the edge from which they are being lost. */
  pausedTicks = 0;
  pauseStart: number | null = null;
  /** A count written during a mode 2/3 cycle: takes over at edge `pendingAt` as if loaded at `pendingLoad`. */
  pendingN = 0;
  pendingAt = Infinity;
  pendingLoad = 0;
  /** Until this edge the status byte reports NULL COUNT (CR not yet in the counting element). */
  crLoadTick = Infinity;
  writeMsbNext = false;
  lowByte = 0;
  readMsbNext = false;
  countLatch: number[] = [];
  statusLatch: number | null = null;

  constructor(gate: boolean) { this.gate = gate; }

  get mode(): number { return this.modeBits > 5 ? this.modeBits - 4 : this.modeBits; }
  get modulus(): number { return this.bcd ? 10000 : 0x10000; }

  /** Applies a mode 2/3 count change whose cycle boundary has passed. */
  settle(k: number): void {
    if (k < this.pendingAt) return;
    this.n = this.pendingN;
    this.loadTick = this.pendingLoad;
    this.pausedTicks = 0;
    this.pendingAt = Infinity;
  }

  /** Decrementing edges since the load at edge k, or -1 before the load. */
  elapsed(k: number): number {
    if (k < this.loadTick) return -1;
    const end = this.pauseStart === null ? k : Math.min(k, this.pauseStart);
    return Math.max(0, end - this.loadTick - this.pausedTicks);
  }

  outAt(k: number): boolean {
    const e = this.elapsed(k), n = this.n;
    switch (this.mode) {
      case 0: return e >= 0 && e >= n;
      case 1: return e < 0 || e >= n;
      case 2: return e < 0 || e % n !== n - 1;
      case 3: return e < 0 || e % n < Math.ceil(n / 2);
      case 4: case 5: return e !== n;
      default: return false;
    }
  }

  /** The first edge after k at which OUT changes, or Infinity. */
  nextEdge(k: number): number {
    if (this.loadTick === Infinity || this.pauseStart !== null) return Infinity;
    const e = this.elapsed(k), n = this.n;
    let next: number;
    switch (this.mode) {
      case 0: next = e < n ? n : Infinity; break;
      case 1: next = e < 0 ? 0 : e < n ? n : Infinity; break;
      case 2: {
        if (n === 1) { next = e < 0 ? 0 : Infinity; break; }
        const p = e < 0 ? -1 : e % n;
        next = p === n - 1 ? e + 1 : e + (n - 1 - p);
        break;
      }
      case 3: {
        const h = Math.ceil(n / 2);
        if (h === n) { next = Infinity; break; }
        const p = e < 0 ? -1 : e % n;
        next = p < h ? e + (h - p) : e + (n - p);
        break;
      }
      default: next = e < n ? n : e === n ? n + 1 : Infinity;
    }
    return next === Infinity ? Infinity : this.loadTick + this.pausedTicks + next;
  }

  /** The counting element at edge k, as the guest reads it (before BCD encoding). */
  valueAt(k: number): number {
    const e = this.elapsed(k), n = this.n, m = this.modulus;
    if (e < 0) return (n || this.cr) % m;
    switch (this.mode) {
      case 2: return (n - (e % n)) % m;
      case 3: {
        const h = Math.ceil(n / 2), p = e % n;
        return ((n & ~1) - 2 * (p < h ? p : p - h)) % m;
      }
      default: return (((n - e) % m) + m) % m;
    }
  }
}

const COUNTER_FIELDS = [
  'modeBits', 'access', 'bcd', 'gate', 'cr', 'n', 'loadTick', 'pausedTicks', 'pauseStart', 'pendingN', 'pendingAt',
  'pendingLoad', 'crLoadTick', 'writeMsbNext', 'lowByte', 'readMsbNext', 'countLatch', 'statusLatch',
] as const;
const STATE_FIELDS = ['counters', 'portB', 'irqLevel', 'speakerReported'] as const;
const NESTED = { counters: COUNTER_FIELDS };
const EDGE_TAG = 'pit:edge';

export class Pit8254 extends ByteDevice implements Stateful {
  readonly counters = [new Counter(true), new Counter(true), new Counter(false)];
  /** Port 0x61 bits 0–3 as written: gate 2, speaker data, parity and channel check enables. */
  portB = 0;
  irqLevel = false;
  speakerReported = false;
  private pendingEvent: ClockEvent | null = null;

  constructor(
    private readonly clock: VirtualClock,
    private readonly irq: IrqLine,
    private readonly log: Log,
  ) { super(); }

  save(): StateValue { return saveFields(this, STATE_FIELDS, NESTED); }
  /** The next edge's event, if one is pending, comes back through adopt(). */
  restore(s: StateValue): void {
    restoreFields(this, STATE_FIELDS, s, NESTED);
    this.pendingEvent = null;
  }

  event(tag: string): () => void {
    if (tag !== EDGE_TAG) throw new Error(`snapshot: the PIT has no event '${tag}'`);
    return () => this.edge();
  }

  adopt(_tag: string, e: ClockEvent): void { this.pendingEvent = e; }

  private edge(): void {
    this.pendingEvent = null;
    this.updateIrq();
  }

  register(bus: PortBus): void {
    bus.register(0x40, 4, this);
    bus.register(0x61, 1, this);
  }

  /** Counter i's OUT level now. */
  out(i: number): boolean {
    const k = this.tick();
    const c = this.counters[i];
    c.settle(k);
    return c.outAt(k);
  }


  private tick(): number { return pitTicks(this.clock.time()); }

  protected readByte(port: number): number {
    if (port === 0x61) {
      const refresh = Math.floor(this.clock.time() / REFRESH_TOGGLE_NS) & 1;
      return (this.portB & 0x0f) | (refresh << 4) | (this.out(2) ? 0x20 : 0);
    }
    if (port < 0x40 || port > 0x42) return 0xff; // 0x43 is write-only: the 8254 leaves the bus floating
    const c = this.counters[port - 0x40];
    if (c.statusLatch !== null) {
      const s = c.statusLatch;
      c.statusLatch = null;
      return s;
    }
    if (c.countLatch.length) return c.countLatch.shift()!;
    if (c.modeBits < 0) {
      this.log('guest_errors', `pit: counter ${port - 0x40} read before it was programmed`);
      return 0;
    }
    const k = this.tick();
    c.settle(k);
    const v = this.encode(c, c.valueAt(k));
    switch (c.access) {
      case 1: return v & 0xff;
      case 2: return v >> 8;
      default:
        c.readMsbNext = !c.readMsbNext;
        return c.readMsbNext ? v & 0xff : v >> 8;
    }
  }

  protected writeByte(port: number, v: number): void {
    if (port === 0x61) { this.writePortB(v); return; }
    if (port === 0x43) { this.writeControl(v); return; }
    if (port < 0x40 || port > 0x42) return;
    const i = port - 0x40, c = this.counters[i];
    if (c.modeBits < 0) {
      this.log('guest_errors', `pit: count written to counter ${i} before a control word; ignored`);
      return;
    }
    if (c.access === 3 && !c.writeMsbNext) {
      c.lowByte = v;
      c.writeMsbNext = true;
      // Mode 0: the first byte of a two-byte count stops counting and drops OUT at once.
      if (c.mode === 0) {
        c.loadTick = Infinity;
        c.pauseStart = null;
        this.counterChanged(i);
      }
      return;
    }
    c.writeMsbNext = false;
    const raw = c.access === 1 ? v : c.access === 2 ? v << 8 : c.lowByte | (v << 8);
    this.loadCount(i, this.decode(c, raw));
  }

  private writeControl(v: number): void {
    const sc = v >> 6;
    if (sc === 3) { this.readBack(v); return; }
    const c = this.counters[sc];
    const rw = (v >> 4) & 3;
    if (rw === 0) {
      // Counter latch: ignored while an earlier latch is still unread.
      if (c.countLatch.length || c.modeBits < 0) return;
      this.latchCount(c);
      return;
    }
    c.modeBits = (v >> 1) & 7;
    c.access = rw;
    c.bcd = (v & 1) !== 0;
    c.cr = 0;
    c.n = 0;
    c.loadTick = Infinity;
    c.pausedTicks = 0;
    c.pauseStart = null;
    c.pendingAt = Infinity;
    c.crLoadTick = Infinity;
    c.writeMsbNext = false;
    c.readMsbNext = false;
    c.countLatch = [];
    c.statusLatch = null;
    this.counterChanged(sc);
  }

  private readBack(v: number): void {
    for (let i = 0; i < 3; i++) {
      if (!(v & (2 << i))) continue;
      const c = this.counters[i];
      if (c.modeBits < 0) continue;
      const k = this.tick();
      c.settle(k);
      if (!(v & 0x20) && !c.countLatch.length) this.latchCount(c);
      if (!(v & 0x10) && c.statusLatch === null) {
        c.statusLatch = (c.outAt(k) ? 0x80 : 0) | (k < c.crLoadTick ? 0x40 : 0) | (c.access << 4) | (c.modeBits << 1) | (c.bcd ? 1 : 0);
      }
    }
  }

  private latchCount(c: Counter): void {
    const k = this.tick();
    c.settle(k);
    const v = this.encode(c, c.valueAt(k));
    c.countLatch = c.access === 1 ? [v & 0xff] : c.access === 2 ? [v >> 8] : [v & 0xff, v >> 8];
  }

  /** A complete count has been written to counter i's CR. */
  private loadCount(i: number, n: number): void {
    const c = this.counters[i];
    const k = this.tick();
    c.settle(k);
    c.cr = n;
    const mode = c.mode;
    const periodic = mode === 2 || mode === 3;
    if (periodic && n === 1) this.log('guest_errors', `pit: count 1 is illegal in mode ${mode} (counter ${i})`);
    if (mode === 1 || mode === 5 || (periodic && !c.gate)) {
      c.crLoadTick = Infinity; // loaded by the next GATE trigger
    } else if (periodic && c.elapsed(k) >= 0) {
      this.deferCount(c, k, n);
    } else {
      c.n = n;
      c.loadTick = k + 1;
      c.crLoadTick = k + 1;
      c.pausedTicks = 0;
      c.pauseStart = c.gate ? null : c.loadTick;
    }
    this.counterChanged(i);
  }

  /**
   * Modes 2 and 3: a count written while counting leaves the current cycle
   * (mode 2) or half-cycle (mode 3) alone and takes over at its end.
   */
  private deferCount(c: Counter, k: number, n: number): void {
    const p = c.elapsed(k) % c.n;
    const h = Math.ceil(c.n / 2);
    if (c.mode === 3 && p < h) {
      c.pendingAt = k + (h - p);
      // As if loaded half a cycle earlier: the new count carries on with the low half.
      c.pendingLoad = c.pendingAt - Math.ceil(n / 2);
    } else {
      c.pendingAt = k + (c.n - p);
      c.pendingLoad = c.pendingAt;
    }
    c.pendingN = n;
    c.crLoadTick = c.pendingAt;
  }

  private writePortB(v: number): void {
    const gate = (v & 1) !== 0;
    if (v & 2 && !this.speakerReported) {
      this.speakerReported = true;
      this.log('unimp', 'pit: PC speaker sound is not emulated');
    }
    this.portB = v & 0x0f;
    const c = this.counters[2];
    if (gate !== c.gate) this.setGate(2, gate);
  }

  /** GATE input of counter i (only counter 2's is wired to anything on a PC). */
  setGate(i: number, level: boolean): void {
    const c = this.counters[i];
    const k = this.tick();
    c.settle(k);
    c.gate = level;
    const mode = c.mode;
    if (mode === 0 || mode === 4) {
      // GATE low suspends counting; OUT is unaffected.
      if (!level) {
        if (c.loadTick !== Infinity) c.pauseStart = Math.max(k, c.loadTick);
      } else if (c.pauseStart !== null) {
        c.pausedTicks += Math.max(0, k - c.pauseStart);
        c.pauseStart = null;
      }
    } else if (level) {
      // A rising GATE triggers modes 1 and 5 and restarts modes 2 and 3 on the next clock edge.
      if (c.cr !== 0) {
        c.n = c.cr;
        c.loadTick = k + 1;
        c.crLoadTick = k + 1;
        c.pausedTicks = 0;
        c.pendingAt = Infinity;
      }
    } else if (mode === 2 || mode === 3) {
      c.loadTick = Infinity; // OUT goes high at once and counting stops
      c.pendingAt = Infinity;
    }
    this.counterChanged(i);
  }

  private counterChanged(i: number): void {
    if (i === 0) this.updateIrq();
  }

  /** Drives IRQ 0 from counter 0's OUT and schedules its next edge. */
  private updateIrq(): void {
    this.clock.cancel(this.pendingEvent);
    this.pendingEvent = null;
    const c = this.counters[0];
    const k = this.tick();
    c.settle(k);
    const level = c.outAt(k);
    if (level !== this.irqLevel) {
      this.irqLevel = level;
      this.irq.set(level);
    }
    const next = c.nextEdge(k);
    if (next !== Infinity) this.pendingEvent = this.clock.schedule(pitTickTime(next), () => this.edge(), EDGE_TAG);
  }

  private encode(c: Counter, v: number): number {
    if (!c.bcd) return v;
    return (Math.floor(v / 1000) << 12) | ((Math.floor(v / 100) % 10) << 8) | ((Math.floor(v / 10) % 10) << 4) | (v % 10);
  }

  /** A written count as the number of input clocks it stands for (0 is the maximum). */
  private decode(c: Counter, raw: number): number {
    let v = raw;
    if (c.bcd) {
      const digits = [raw >> 12, (raw >> 8) & 15, (raw >> 4) & 15, raw & 15];
      if (digits.some((d) => d > 9)) this.log('guest_errors', `pit: BCD count 0x${raw.toString(16)} has a digit above 9`);
      v = digits.reduce((a, d) => a * 10 + d, 0);
    }
    return v === 0 ? c.modulus : v;
  }
}

/**
 * The PC's CMOS real-time clock, a Motorola MC146818A, at ports 0x70 (index,
 * bit 7 masks NMI) and 0x71 (data): time and calendar, registers A–D, the
 * periodic, alarm and update-ended interrupts on IRQ 8, and the CMOS bytes a
 * PC BIOS fills with the memory size (laid out as QEMU's `pc` machine does).
 *
 * The clock starts at `baseUnixSeconds` at virtual time 0 and advances with the
 * virtual clock. While it runs, the time registers are computed on read from
 * the seconds count; while SET (or a divider reset) stops it, the registers
 * hold what the guest wrote. The divider chain keeps its phase throughout, as
 * in the chip, so updates and periodic interrupts stay on the same grid.
 *
 * Nothing happens at an update or periodic tick unless it may change IRQ 8:
 * register C's flags are derived from the virtual clock when C is read (or a
 * write may change what they depend on), and a clock event is pending only
 * while an enabled interrupt can still raise the line. So a guest that does
 * not use the RTC's interrupts leaves the machine free to look idle and to
 * skip ahead in time.
 */
import { ByteDevice, type Log, type PortBus } from './bus.js';
import type { ClockEvent, VirtualClock } from './clock.js';
import type { StateValue, Stateful } from './state.js';
import { restoreFields, saveFields } from './fields.js';
import type { IrqLine } from './irq.js';

/** 2026-01-01T00:00:00Z: the RTC's start time when none is given, so runs are reproducible. */
export const DEFAULT_RTC_BASE = 1767225600;

const NS_PER_S = 1e9;
/** UIP rises this long before each update (datasheet: 244 µs at 32.768 kHz). */
const UIP_NS = 244_000;
/** One 32.768 kHz period is 1e9/2^15 = 1953125/64 ns. */
const OSC_NUM = 1953125, OSC_DEN = 64;
/** DESIGN.md's memory map keeps RAM below 3 GiB; the rest is remapped above 4 GiB. */
const LOW_RAM_LIMIT = 3 * 2 ** 30;

const REG_A = 0x0a, REG_B = 0x0b, REG_C = 0x0c, REG_D = 0x0d, CENTURY = 0x32;
const A_UIP = 0x80;
const B_SET = 0x80, B_PIE = 0x40, B_AIE = 0x20, B_UIE = 0x10, B_DM_BINARY = 0x04, B_24H = 0x02, B_DSE = 0x01;
const C_IRQF = 0x80, C_PF = 0x40, C_AF = 0x20, C_UF = 0x10;
const TIME_REGS = [0, 2, 4, 6, 7, 8, 9, CENTURY];

const STATE_FIELDS = ['cmos', 'index', 'nmiDisabled', 'epochSec', 'syncNs', 'chainStart', 'flags', 'flagsNs', 'irqLevel'] as const;
const IRQ_TAG = 'rtc:irq';

export class CmosRtc extends ByteDevice implements Stateful {
  readonly cmos = new Uint8Array(128);
  index = 0;
  nmiDisabled = false;
  /** While running: the RTC's seconds count at virtual time `syncNs`, an update boundary. */
  epochSec: number;
  syncNs = 0;
  /** An update boundary of the divider chain; boundaries and periodic ticks are on its grid. */
  chainStart = 0;
  /** Interrupt flags of register C as of virtual time `flagsNs` (see catchUp). */
  flags = 0;
  /**
   * Never moves back: the vCPUs of a round each start from the round's start,
   * so the clock may be read out of order, and an update or tick already
   * folded into `flags` must not be counted again.
   */
  flagsNs = 0;
  irqLevel = false;
  /** The next time an enabled interrupt could raise IRQ 8, if any can. */
  private pendingEvent: ClockEvent | null = null;

  constructor(
    private readonly clock: VirtualClock,
    private readonly irq: IrqLine,
    baseUnixSeconds: number,
    ramBytes: number,
    private readonly log: Log,
  ) {
    super();
    this.epochSec = baseUnixSeconds;
    this.cmos[REG_A] = 0x26; // 32.768 kHz time base, 1024 Hz periodic rate
    this.cmos[REG_B] = B_24H;
    this.cmos[REG_D] = 0x80; // valid RAM and time
    this.fillMemorySize(ramBytes);
  }

  register(bus: PortBus): void { bus.register(0x70, 2, this); }


  protected readByte(port: number): number {
    if (port !== 0x71) return 0xff; // the index register is write-only
    const i = this.index;
    if (TIME_REGS.includes(i) && this.running()) this.storeTime(this.nowSeconds());
    switch (i) {
      case REG_A: return (this.cmos[REG_A] & 0x7f) | (this.updateInProgress() ? A_UIP : 0);
      case REG_C: return this.readC();
      default: return this.cmos[i];
    }
  }

  protected writeByte(port: number, v: number): void {
    if (port === 0x70) {
      this.index = v & 0x7f;
      this.nmiDisabled = (v & 0x80) !== 0;
      return;
    }
    if (port !== 0x71) return;
    // The flags up to now follow the settings before this write: the time, the
    // alarm, the format, the rate and the enables may all change below.
    this.catchUp();
    const i = this.index;
    if (TIME_REGS.includes(i)) this.writeTime(i, v);
    else if (i === REG_A) this.writeA(v);
    else if (i === REG_B) this.writeB(v);
    else if (i !== REG_C && i !== REG_D) this.cmos[i] = v;
    this.rearm();
  }

  private running(): boolean { return !(this.cmos[REG_B] & B_SET) && !this.dividerReset(); }
  private dividerReset(): boolean { return (this.cmos[REG_A] & 0x60) === 0x60; }
  private binary(): boolean { return (this.cmos[REG_B] & B_DM_BINARY) !== 0; }

  /** Virtual time of the last update boundary at or before t. */
  private lastBoundary(t: number): number {
    return this.chainStart + Math.floor((t - this.chainStart) / NS_PER_S) * NS_PER_S;
  }

  private nowSeconds(): number { return this.secondsAt(this.clock.time()); }

  /** The seconds count at virtual time t while running; it steps at each update boundary. */
  private secondsAt(t: number): number {
    return this.epochSec + Math.floor((t - this.syncNs) / NS_PER_S);
  }

  /** Virtual time of the update that brings the seconds count to `sec`. */
  private updateTime(sec: number): number {
    return this.syncNs + (sec - this.epochSec) * NS_PER_S;
  }

  private updateInProgress(): boolean {
    if (!this.running()) return false;
    const t = this.clock.time();
    return t - this.lastBoundary(t) >= NS_PER_S - UIP_NS;
  }

  private writeTime(i: number, v: number): void {
    if (!this.running()) {
      this.cmos[i] = v;
      return;
    }
    this.storeTime(this.nowSeconds());
    if (i === 6) {
      // The day of week is derived from the date here, where the chip counts it independently.
      if (v !== this.cmos[6]) this.log('unimp', `rtc: day-of-week write 0x${v.toString(16)} ignored; it follows the date`);
      return;
    }
    this.cmos[i] = v;
    this.resync();
  }

  /** Takes the time registers as the current second; the next update stays on the divider's grid. */
  private resync(): void {
    this.epochSec = this.loadTime();
    this.syncNs = this.lastBoundary(this.clock.time());
  }

  private writeA(v: number): void {
    const wasRunning = this.running(), wasReset = this.dividerReset();
    if (wasRunning) this.storeTime(this.nowSeconds());
    this.cmos[REG_A] = v & 0x7f;
    const dv = (v >> 4) & 7;
    if (dv !== 2 && !this.dividerReset()) this.log('unimp', `rtc: divider select ${dv} (a PC has only the 32.768 kHz time base, 2, and reset, 6/7); running as 2`);
    // Leaving divider reset: the first update comes half a second later.
    if (wasReset && !this.dividerReset()) this.chainStart = this.clock.time() - NS_PER_S / 2;
    if (!wasRunning && this.running()) this.resync();
  }

  private writeB(v: number): void {
    const wasRunning = this.running();
    if (wasRunning && v & B_SET) this.storeTime(this.nowSeconds());
    // The datasheet: "the SET bit going high clears the UIE bit" (QEMU does the same).
    this.cmos[REG_B] = v & B_SET ? v & ~B_UIE : v;
    if (v & B_DSE) this.log('unimp', 'rtc: daylight saving (register B bit 0) is not implemented');
    if (!wasRunning && this.running()) this.resync();
  }

  private readC(): number {
    this.catchUp();
    const v = this.flags | (this.irqf() ? C_IRQF : 0);
    this.flags = 0;
    this.rearm();
    return v;
  }

  private irqf(): boolean { return (this.flags & this.cmos[REG_B] & (C_PF | C_AF | C_UF)) !== 0; }

  /** Re-derives the IRQ level and the one event that may change it; `flags` must be caught up. */
  private rearm(): void {
    const level = this.irqf();
    if (level !== this.irqLevel) {
      this.irqLevel = level;
      this.irq.set(level);
    }
    // While the line is high no flag can change it; only reading C or writing B can.
    // The candidates count from `flagsNs`, as what came before is already in `flags`.
    const at = level ? Infinity : Math.min(this.nextUpdateIrq(), this.nextAlarmIrq(), this.nextPeriodicIrq());
    if (this.pendingEvent?.at === at) return;
    this.clock.cancel(this.pendingEvent);
    this.pendingEvent = null;
    if (at === Infinity) return;
    this.pendingEvent = this.clock.schedule(at, () => this.irqDue(), IRQ_TAG);
  }

  private irqDue(): void {
    this.pendingEvent = null;
    this.catchUp();
    this.rearm();
  }

  save(): StateValue { return saveFields(this, STATE_FIELDS); }
  /** The next interrupt's event, if one is pending, comes back through adopt(). */
  restore(s: StateValue): void {
    restoreFields(this, STATE_FIELDS, s);
    this.pendingEvent = null;
  }

  event(tag: string): () => void {
    if (tag !== IRQ_TAG) throw new Error(`snapshot: the RTC has no event '${tag}'`);
    return () => this.irqDue();
  }

  adopt(_tag: string, e: ClockEvent): void { this.pendingEvent = e; }

  private nextUpdateIrq(): number {
    if (!(this.cmos[REG_B] & B_UIE) || !this.running()) return Infinity;
    return this.lastBoundary(this.flagsNs) + NS_PER_S;
  }

  private nextAlarmIrq(): number {
    if (!(this.cmos[REG_B] & B_AIE) || !this.running()) return Infinity;
    return this.updateTime(this.nextAlarm(this.secondsAt(this.flagsNs) + 1));
  }

  private nextPeriodicIrq(): number {
    const ticks = this.periodTicks();
    if (!ticks || !(this.cmos[REG_B] & B_PIE)) return Infinity;
    return this.periodicTime(this.periodicIndex(this.flagsNs, ticks) + 1, ticks);
  }

  /**
   * Folds into `flags` what happened since `flagsNs` under the current
   * settings: PF if a periodic tick passed (enabled or not), and while running
   * UF if an update passed and AF if one of those updates matched the alarm.
   */
  private catchUp(): void {
    const from = this.flagsNs, now = this.clock.time();
    if (now <= from) return;
    this.flagsNs = now;
    const ticks = this.periodTicks();
    if (ticks && this.periodicIndex(now, ticks) > this.periodicIndex(from, ticks)) this.flags |= C_PF;
    if (!this.running()) return;
    const first = this.secondsAt(from) + 1, last = this.secondsAt(now);
    if (first > last) return;
    this.flags |= C_UF;
    if (this.nextAlarm(first) <= last) this.flags |= C_AF;
  }

  /**
   * The first seconds count from `sec` on whose time the alarm registers match
   * (0xC0–0xFF is "don't care"), in the current format; Infinity if a byte
   * matches no time that format can show.
   */
  private nextAlarm(sec: number): number {
    const want: (number | null)[] = [];
    for (const [alarm, limit] of [[this.cmos[5], 24], [this.cmos[3], 60], [this.cmos[1], 60]]) {
      if ((alarm & 0xc0) === 0xc0) {
        want.push(null);
        continue;
      }
      // Only a time that encodes to the byte matches it: re-encoding rejects
      // bytes the time registers never hold (bad BCD digits, hour 0 in 12-hour mode).
      const hour = limit === 24;
      const v = hour ? this.decodeHour(alarm) : this.decode(alarm);
      if (v >= limit || (hour ? this.encodeHour(v) : this.encode(v)) !== alarm) return Infinity;
      want.push(v);
    }
    const tod = ((sec % 86400) + 86400) % 86400;
    const later = firstMatch(want, [Math.floor(tod / 3600), Math.floor(tod / 60) % 60, tod % 60]);
    if (later !== null) return sec - tod + later;
    return sec - tod + 86400 + firstMatch(want, [0, 0, 0])!;
  }

  /** Periodic rate from register A: clocks of the 32.768 kHz base per interrupt, 0 for none. */
  private periodTicks(): number {
    const rs = this.cmos[REG_A] & 0x0f;
    if (rs === 0 || this.dividerReset()) return 0;
    return rs <= 2 ? 1 << (rs + 6) : 1 << (rs - 1);
  }

  /** Index of the last periodic tick at or before t, counted from the divider chain's grid. */
  private periodicIndex(t: number, ticks: number): number {
    const d = t - this.chainStart;
    const s = Math.floor(d / NS_PER_S);
    return s * (32768 / ticks) + Math.floor(((d - s * NS_PER_S) * OSC_DEN) / (ticks * OSC_NUM));
  }

  private periodicTime(i: number, ticks: number): number {
    const perSec = 32768 / ticks;
    const s = Math.floor(i / perSec);
    return this.chainStart + s * NS_PER_S + Math.ceil(((i - s * perSec) * ticks * OSC_NUM) / OSC_DEN);
  }

  private encode(v: number): number { return this.binary() ? v : ((v / 10) << 4) | (v % 10); }
  private decode(v: number): number { return this.binary() ? v : (v >> 4) * 10 + (v & 15); }

  private encodeHour(h: number): number {
    return this.cmos[REG_B] & B_24H ? this.encode(h) : this.encode(h % 12 || 12) | (h >= 12 ? 0x80 : 0);
  }

  private decodeHour(v: number): number {
    return this.cmos[REG_B] & B_24H ? this.decode(v) : (this.decode(v & 0x7f) % 12) + (v & 0x80 ? 12 : 0);
  }

  /** Writes second count `sec` into the time registers in the current format. */
  private storeTime(sec: number): void {
    const days = Math.floor(sec / 86400);
    let rem = sec - days * 86400;
    const { y, m, d } = civilFromDays(days);
    const h = Math.floor(rem / 3600);
    rem -= h * 3600;
    const c = this.cmos;
    c[0] = this.encode(rem % 60);
    c[2] = this.encode(Math.floor(rem / 60));
    c[4] = this.encodeHour(h);
    c[6] = this.encode((((days + 4) % 7) + 7) % 7 + 1); // 1970-01-01 was a Thursday; Sunday is 1
    c[7] = this.encode(d);
    c[8] = this.encode(m);
    c[9] = this.encode(y % 100);
    c[CENTURY] = this.encode(Math.floor(y / 100));
  }

  /** The second count the time registers stand for. */
  private loadTime(): number {
    const c = this.cmos;
    const h = this.decodeHour(c[4]);
    const sec = this.decode(c[0]), min = this.decode(c[2]);
    const y = this.decode(c[CENTURY]) * 100 + this.decode(c[9]), m = this.decode(c[8]), d = this.decode(c[7]);
    if (sec > 59 || min > 59 || h > 23 || m < 1 || m > 12 || d < 1 || d > daysInMonth(y, m)) {
      this.log('guest_errors', `rtc: invalid time ${y}-${m}-${d} ${h}:${min}:${sec} set; normalised`);
    }
    return daysFromCivil(y, m, d) * 86400 + h * 3600 + min * 60 + sec;
  }

  private fillMemorySize(ramBytes: number): void {
    const below = Math.min(ramBytes, LOW_RAM_LIMIT), above = ramBytes - below;
    const put16 = (i: number, v: number): void => { this.cmos[i] = v & 0xff; this.cmos[i + 1] = (v >> 8) & 0xff; };
    put16(0x15, Math.min(Math.floor(below / 1024), 640));
    const ext = Math.min(Math.floor(Math.max(0, below - 2 ** 20) / 1024), 0xffff);
    put16(0x17, ext);
    put16(0x30, ext);
    put16(0x34, Math.min(Math.floor(Math.max(0, below - 2 ** 24) / 65536), 0xffff));
    const high = Math.floor(above / 65536);
    this.cmos[0x5b] = high & 0xff;
    this.cmos[0x5c] = (high >> 8) & 0xff;
    this.cmos[0x5d] = (high >> 16) & 0xff;
  }
}

/**
 * The first [hour, minute, second] at or after `from` (on the same day) whose
 * fields equal `want`'s (null: any value), as seconds of the day, or null.
 */
function firstMatch(want: (number | null)[], from: number[]): number | null {
  const limits = [24, 60, 60], weights = [3600, 60, 1];
  // `exact`: the fields before k equal `from`'s, so field k may not go below from[k].
  const search = (k: number, exact: boolean): number | null => {
    if (k === 3) return 0;
    const lo = exact ? from[k] : 0;
    for (let v = lo; v < limits[k]; v++) {
      if (want[k] !== null && v !== want[k]) continue;
      const rest = search(k + 1, exact && v === lo);
      if (rest !== null) return v * weights[k] + rest;
    }
    return null;
  };
  return search(0, true);
}

/** Days since 1970-01-01 of a proleptic Gregorian date (years counted from 1 March, so leap days come last). */
function daysFromCivil(y: number, m: number, d: number): number {
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

function civilFromDays(days: number): { y: number; m: number; d: number } {
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  return { y: yoe + era * 400 + (m <= 2 ? 1 : 0), m, d };
}

function daysInMonth(y: number, m: number): number {
  if (m === 2) return y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0) ? 29 : 28;
  return [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1] ?? 0;
}

/**
 * The CLI's `-rtc base=…`: `utc` and `localtime` mean the host's clock (null:
 * the caller decides), otherwise an ISO-8601 UTC date or date and time, as
 * QEMU accepts (`2026-01-01` or `2026-01-01T00:00:00`). Returns Unix seconds.
 */
export function parseRtcBase(s: string): number | null {
  if (s === 'utc' || s === 'localtime') return null;
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2}):(\d{2})Z?)?$/.exec(s);
  const bad = (): Error => new Error(`invalid -rtc base '${s}': expected utc, localtime, YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS`);
  if (!m) throw bad();
  const [y, mo, d, h = 0, mi = 0, sec = 0] = m.slice(1).map((x) => (x === undefined ? undefined : Number(x))) as number[];
  if (mo < 1 || mo > 12 || d < 1 || d > daysInMonth(y, mo) || h > 23 || mi > 59 || sec > 59) throw bad();
  return daysFromCivil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec;
}

/**
 * The MC146818A CMOS RTC on virtual time: BCD and binary, 12/24-hour, the
 * UIP window, register C, periodic/alarm/update interrupts, SET and divider
 * reset, the memory-size bytes QEMU's `pc` machine fills, and `-rtc base=`.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../emu/machine/clock.js';
import { CmosRtc, DEFAULT_RTC_BASE, parseRtcBase } from '../../emu/machine/rtc.js';

const MiB = 2 ** 20, GiB = 2 ** 30;

let clock: VirtualClock;
let rtc: CmosRtc;
let irq: [number, boolean][];
let logs: string[];

function make(base = DEFAULT_RTC_BASE, ram = 256 * MiB): void {
  clock = new VirtualClock();
  irq = [];
  logs = [];
  rtc = new CmosRtc(clock, { set: (l) => irq.push([clock.time(), l]) }, base, ram, (c, l) => logs.push(`${c}: ${l}`));
}

function reg(i: number): number {
  rtc.portWrite(0x70, 1, i);
  return rtc.portRead(0x71, 1);
}

function setReg(i: number, v: number): void {
  rtc.portWrite(0x70, 1, i);
  rtc.portWrite(0x71, 1, v);
}

/** [year, month, day, hour, minute, second, weekday] as the registers read. */
const time = (): number[] => [reg(0x32) * 256 + reg(9), reg(8), reg(7), reg(4), reg(2), reg(0), reg(6)];

beforeEach(() => make());

describe('time and calendar', () => {
  it('starts at the deterministic default, 2026-01-01 00:00:00 (a Thursday), in BCD', () => {
    expect(DEFAULT_RTC_BASE).toBe(Date.UTC(2026, 0, 1) / 1000);
    expect(time()).toEqual([0x2026, 0x01, 0x01, 0x00, 0x00, 0x00, 5]);
    expect(reg(0x0a)).toBe(0x26);
    expect(reg(0x0b)).toBe(0x02);
    expect(reg(0x0d)).toBe(0x80);
  });

  it('advances with the virtual clock', () => {
    clock.advanceTo(((1 * 60 + 2) * 60 + 3) * 1e9 + 5e8);
    expect(time()).toEqual([0x2026, 0x01, 0x01, 0x01, 0x02, 0x03, 5]);
    clock.advanceTo(((1 * 60 + 2) * 60 + 4) * 1e9 - 1);
    expect(reg(0)).toBe(0x03);
    clock.advanceTo(((1 * 60 + 2) * 60 + 4) * 1e9);
    expect(reg(0)).toBe(0x04);
  });

  it('rolls over into a leap day', () => {
    make(Date.UTC(2024, 1, 28, 23, 59, 59) / 1000);
    clock.advanceTo(1e9);
    expect(time()).toEqual([0x2024, 0x02, 0x29, 0x00, 0x00, 0x00, 5]);
    clock.advanceTo(86401e9);
    expect(time()).toEqual([0x2024, 0x03, 0x01, 0x00, 0x00, 0x00, 6]);
  });

  it('reads binary when register B selects it', () => {
    make(Date.UTC(2031, 11, 25, 19, 45, 30) / 1000);
    setReg(0x0b, 0x06);
    expect(time()).toEqual([20 * 256 + 31, 12, 25, 19, 45, 30, 5]);
  });

  it('reads 12-hour time with the PM flag in bit 7', () => {
    const at = (h: number): number => Date.UTC(2026, 0, 1, h) / 1000;
    for (const [h, want] of [[0, 0x12], [1, 0x01], [12, 0x92], [13, 0x81], [23, 0x91]]) {
      make(at(h));
      setReg(0x0b, 0x00);
      expect(reg(4)).toBe(want);
    }
  });

  it('sets and runs 12-hour time across midnight and noon', () => {
    setReg(0x0b, 0x80); // SET, 12-hour BCD
    setReg(4, 0x91); // 11 PM
    setReg(2, 0x59);
    setReg(0, 0x59);
    setReg(0x0b, 0x00);
    clock.advanceTo(1e9);
    expect(time()).toEqual([0x2026, 0x01, 0x02, 0x12, 0x00, 0x00, 6]);
    setReg(4, 0x11); // 11 AM
    setReg(2, 0x59);
    setReg(0, 0x59);
    clock.advanceTo(2e9);
    expect(reg(4)).toBe(0x92);
    expect(reg(7)).toBe(0x02);
  });

  it('takes a new time while SET holds the clock, and runs from it on the same update grid', () => {
    clock.advanceTo(2.25e9);
    setReg(0x0b, 0x82);
    clock.advanceTo(10e9);
    expect(reg(0)).toBe(0x02); // stopped
    setReg(0x32, 0x19);
    setReg(9, 0x99);
    setReg(8, 0x12);
    setReg(7, 0x31);
    setReg(4, 0x23);
    setReg(2, 0x59);
    setReg(0, 0x58);
    clock.advanceTo(10.5e9);
    setReg(0x0b, 0x02);
    expect(time()).toEqual([0x1999, 0x12, 0x31, 0x23, 0x59, 0x58, 6]);
    clock.advanceTo(11e9 - 1);
    expect(reg(0)).toBe(0x58);
    clock.advanceTo(12e9);
    expect(time()).toEqual([0x2000, 0x01, 0x01, 0x00, 0x00, 0x00, 7]);
  });

  it('sets a single field while running', () => {
    clock.advanceTo(3.5e9);
    setReg(2, 0x30);
    expect(time()).toEqual([0x2026, 0x01, 0x01, 0x00, 0x30, 0x03, 5]);
    clock.advanceTo(4e9);
    expect(reg(0)).toBe(0x04);
  });

  it('logs a day-of-week write that disagrees with the date', () => {
    setReg(6, 5);
    expect(logs).toEqual([]);
    setReg(6, 2);
    expect(logs).toHaveLength(1);
    expect(reg(6)).toBe(5);
  });

  it('restarts the divider half a second before the next update after a divider reset', () => {
    clock.advanceTo(1.1e9);
    setReg(0x0a, 0x76);
    clock.advanceTo(7.3e9);
    expect(reg(0)).toBe(0x01);
    expect(reg(0x0a) & 0x80).toBe(0);
    setReg(0x0a, 0x26);
    clock.advanceTo(7.8e9 - 1);
    expect(reg(0)).toBe(0x01);
    clock.advanceTo(7.8e9);
    expect(reg(0)).toBe(0x02);
  });
});

describe('register A: UIP', () => {
  it('is set for the last 244 µs before each update', () => {
    clock.advanceTo(1e9 - 244_001);
    expect(reg(0x0a)).toBe(0x26);
    clock.advanceTo(1e9 - 244_000);
    expect(reg(0x0a)).toBe(0xa6);
    expect(reg(0)).toBe(0x00);
    clock.advanceTo(1e9);
    expect(reg(0x0a)).toBe(0x26);
    expect(reg(0)).toBe(0x01);
  });

  it('is clear while SET stops updates', () => {
    setReg(0x0b, 0x82);
    clock.advanceTo(1e9 - 1000);
    expect(reg(0x0a) & 0x80).toBe(0);
  });
});

describe('interrupts and register C', () => {
  it('raises the update-ended interrupt once a second and clears on reading C', () => {
    setReg(0x0a, 0x20); // no periodic rate, so PF stays clear
    setReg(0x0b, 0x12);
    clock.advanceTo(1e9 - 1);
    expect(irq).toEqual([]);
    clock.advanceTo(1e9);
    expect(irq).toEqual([[1e9, true]]);
    expect(reg(0x0c)).toBe(0x90);
    expect(irq.at(-1)).toEqual([1e9, false]);
    expect(reg(0x0c)).toBe(0x00);
  });

  it('keeps flags whose interrupt is disabled, without IRQF', () => {
    setReg(0x0a, 0x2f); // 2 Hz
    clock.advanceTo(1.2e9);
    expect(reg(0x0c)).toBe(0x50); // PF and UF, no IRQF
    expect(irq).toEqual([]);
  });

  it('asserts IRQ 8 when an enable is set over a pending flag', () => {
    clock.advanceTo(1.5e9);
    setReg(0x0b, 0x12);
    expect(irq).toEqual([[1.5e9, true]]);
  });

  it('clears UIE when SET is written', () => {
    setReg(0x0b, 0x92);
    expect(reg(0x0b)).toBe(0x82);
  });

  for (const [rs, hz] of [[3, 8192], [6, 1024], [1, 256], [2, 128], [15, 2]]) {
    it(`delivers ${hz} periodic interrupts per second with rate select ${rs}`, () => {
      setReg(0x0a, 0x20 | rs);
      setReg(0x0b, 0x42);
      let taken = 0;
      while (clock.nextDue() <= 3e9) {
        clock.advanceTo(clock.nextDue());
        if (rtc.irqLevel) {
          expect(reg(0x0c) & 0xc0).toBe(0xc0);
          taken++;
        }
      }
      expect(taken).toBe(3 * hz);
      expect(irq.filter(([, l]) => l).map(([t]) => t).slice(0, 2)).toEqual([Math.ceil(1e9 / hz), Math.ceil(2e9 / hz)]);
    });
  }

  it('stops scheduling periodic events while PF is unacknowledged', () => {
    setReg(0x0b, 0x42);
    clock.advanceTo(5e9);
    expect(irq).toEqual([[976563, true]]);
    expect(clock.nextDue()).toBe(Infinity); // IRQ 8 stays high until C is read
    expect(reg(0x0c)).toBe(0xd0);
    expect(clock.nextDue()).toBe(5e9 + 976563);
  });

  it('raises the alarm at the matching second, with 0xC0–0xFF as don\'t care', () => {
    setReg(1, 0x05);
    setReg(3, 0x00);
    setReg(5, 0x00);
    setReg(0x0b, 0x22);
    clock.advanceTo(5e9 - 1);
    expect(irq).toEqual([]);
    clock.advanceTo(5e9);
    expect(irq).toEqual([[5e9, true]]);
    expect(reg(0x0c)).toBe(0xf0); // IRQF, PF (1024 Hz, not enabled), AF, UF
    setReg(1, 0xff);
    setReg(3, 0xc0);
    setReg(5, 0xc0);
    clock.advanceTo(6e9);
    expect(reg(0x0c)).toBe(0xf0);
    setReg(1, 0x05);
    clock.advanceTo(7e9);
    expect(reg(0x0c)).toBe(0x50);
  });
});

describe('no events unless IRQ 8 can change', () => {
  it('leaves no clock event pending without an interrupt enable, while the registers keep time', () => {
    expect(clock.nextDue()).toBe(Infinity);
    setReg(1, 0xff); // an alarm every second, but AIE is clear
    clock.advanceTo(((3 * 24 + 1) * 60 + 2) * 60e9 + 3.5e9);
    expect(clock.nextDue()).toBe(Infinity);
    expect(time()).toEqual([0x2026, 0x01, 0x04, 0x01, 0x02, 0x03, 1]);
    expect(reg(0x0c)).toBe(0x70); // PF, AF, UF, no IRQF
    clock.advanceTo(((3 * 24 + 2) * 3600 + 1) * 1e9 - 244_000);
    expect(reg(0x0a)).toBe(0xa6);
    expect(clock.nextDue()).toBe(Infinity);
  });

  it('drops its event when the enables are cleared again', () => {
    setReg(0x0b, 0x72); // PIE, AIE, UIE
    expect(clock.nextDue()).toBe(976563);
    setReg(0x0b, 0x02);
    expect(clock.nextDue()).toBe(Infinity);
    setReg(0x0b, 0x12);
    setReg(0x0a, 0x66); // divider reset: no updates
    expect(clock.nextDue()).toBe(Infinity);
  });

  it('reports in C an update and an alarm long past, and no alarm that did not match since', () => {
    setReg(0x0a, 0x20); // no periodic rate
    setReg(5, 0x01); // alarm at 01:00:00
    setReg(3, 0x00);
    setReg(1, 0x00);
    clock.advanceTo(2 * 3600e9 + 0.5e9);
    expect(reg(0x0c)).toBe(0x30); // AF from 01:00:00, UF
    clock.advanceTo(2.5 * 3600e9);
    expect(reg(0x0c)).toBe(0x10); // 02:00:01–02:30:00: updates, no match
    expect(reg(0x0c)).toBe(0x00);
    clock.advanceTo(25 * 3600e9 - 1);
    expect(reg(0x0c)).toBe(0x10); // 00:59:59 the next day: not yet
    clock.advanceTo(25 * 3600e9);
    expect(reg(0x0c)).toBe(0x30);
  });

  it('matches the alarm in the current format, across midnight, and never on a byte no time can show', () => {
    make(Date.UTC(2026, 0, 1, 23, 59, 50) / 1000);
    setReg(0x0a, 0x20);
    setReg(0x0b, 0x04); // binary, 12-hour
    setReg(5, 12); // 12 AM
    setReg(3, 0x00);
    setReg(1, 30);
    clock.advanceTo(39e9);
    expect(reg(0x0c)).toBe(0x10); // 00:00:29
    clock.advanceTo(41e9);
    expect(reg(0x0c)).toBe(0x30);
    setReg(5, 0x00); // hour 0 does not exist in 12-hour mode
    setReg(3, 0xc0);
    setReg(1, 0xc0);
    clock.advanceTo(3 * 86400e9);
    expect(reg(0x0c)).toBe(0x10);
    setReg(0x0b, 0x00); // BCD: 0x3a is no minute
    setReg(5, 0xc0);
    setReg(3, 0x3a);
    clock.advanceTo(4 * 86400e9);
    expect(reg(0x0c)).toBe(0x10);
  });

  it('starts update interrupts at the next update when UIE is set mid-second', () => {
    setReg(0x0a, 0x20);
    clock.advanceTo(2.3e9);
    expect(reg(0x0c)).toBe(0x10);
    setReg(0x0b, 0x12);
    expect(clock.nextDue()).toBe(3e9);
    clock.advanceTo(3e9 - 1);
    expect(irq).toEqual([]);
    clock.advanceTo(4.5e9);
    expect(irq).toEqual([[3e9, true]]);
    expect(reg(0x0c)).toBe(0x90);
    expect(clock.nextDue()).toBe(5e9);
  });

  it('raises the alarm interrupt at the matching update when AIE is set mid-second', () => {
    setReg(0x0a, 0x20);
    setReg(3, 0xc0); // any minute of hour 0
    setReg(1, 0x05);
    clock.advanceTo(2.7e9);
    expect(reg(0x0c)).toBe(0x10);
    setReg(0x0b, 0x22);
    expect(clock.nextDue()).toBe(5e9); // seconds 3 and 4 need no event
    clock.advanceTo(5e9 - 1);
    expect(irq).toEqual([]);
    clock.advanceTo(5e9);
    expect(irq).toEqual([[5e9, true]]);
    expect(reg(0x0c)).toBe(0xb0);
    expect(clock.nextDue()).toBe(65e9); // 00:01:05
    setReg(1, 0xc0);
    expect(clock.nextDue()).toBe(6e9);
  });

  it('starts periodic interrupts at the next tick of the divider grid when PIE is set mid-second', () => {
    clock.advanceTo(1_234_567_890);
    expect(reg(0x0c)).toBe(0x50);
    setReg(0x0b, 0x42); // 1024 Hz: tick k of a second at ceil(k * 976562.5) ns
    expect(clock.nextDue()).toBe(1e9 + 235_351_563); // k = 241
    clock.advanceTo(1e9 + 235_351_562);
    expect(irq).toEqual([]);
    clock.advanceTo(1.3e9);
    expect(irq).toEqual([[1_235_351_563, true]]);
    expect(reg(0x0c)).toBe(0xc0);
    expect(clock.nextDue()).toBe(1e9 + Math.ceil(308 * 976562.5));
  });

  it('counts an update once when vCPUs of one round read the clock out of order', () => {
    setReg(0x0a, 0x20);
    clock.elapsed = () => 1.5e9;
    expect(reg(0x0c)).toBe(0x10);
    clock.elapsed = () => 0.5e9;
    expect(reg(0x0c)).toBe(0x00);
    clock.elapsed = () => 1.7e9;
    expect(reg(0x0c)).toBe(0x00);
    clock.elapsed = () => 2e9;
    expect(reg(0x0c)).toBe(0x10);
  });
});

describe('CMOS bytes and ports', () => {
  it('fills the memory size bytes for 256 MiB as QEMU does', () => {
    expect([reg(0x15), reg(0x16)]).toEqual([0x80, 0x02]); // 640 KiB
    expect([reg(0x17), reg(0x18), reg(0x30), reg(0x31)]).toEqual([0xff, 0xff, 0xff, 0xff]); // capped
    expect([reg(0x34), reg(0x35)]).toEqual([0x00, 0x0f]); // 240 MiB in 64 KiB blocks
    expect([reg(0x5b), reg(0x5c), reg(0x5d)]).toEqual([0, 0, 0]);
  });

  it('fills them for 8 MiB and for 8 GiB, which puts 5 GiB above 4 GiB', () => {
    make(DEFAULT_RTC_BASE, 8 * MiB);
    expect([reg(0x17), reg(0x18)]).toEqual([0x00, 0x1c]); // 7168 KiB
    expect([reg(0x34), reg(0x35)]).toEqual([0, 0]);
    make(DEFAULT_RTC_BASE, 8 * GiB);
    expect([reg(0x34), reg(0x35)]).toEqual([0x00, 0xbf]);
    expect([reg(0x5b), reg(0x5c), reg(0x5d)]).toEqual([0x00, 0x40, 0x01]);
  });

  it('remembers the NMI mask bit of the index port, and keeps CMOS RAM', () => {
    rtc.portWrite(0x70, 1, 0x8f);
    expect(rtc.nmiDisabled).toBe(true);
    expect(rtc.index).toBe(0x0f);
    rtc.portWrite(0x71, 1, 0x5a);
    rtc.portWrite(0x70, 1, 0x0f);
    expect(rtc.nmiDisabled).toBe(false);
    expect(rtc.portRead(0x71, 1)).toBe(0x5a);
    expect(rtc.portRead(0x70, 1)).toBe(0xff);
  });

  it('keeps registers C and D read-only', () => {
    setReg(0x0d, 0x00);
    setReg(0x0c, 0xff);
    expect(reg(0x0d)).toBe(0x80);
    expect(reg(0x0c)).toBe(0x00);
  });
});

describe('parseRtcBase', () => {
  it('leaves utc and localtime to the caller', () => {
    expect(parseRtcBase('utc')).toBeNull();
    expect(parseRtcBase('localtime')).toBeNull();
  });

  it('reads ISO-8601 dates and date-times as UTC', () => {
    expect(parseRtcBase('2026-01-01')).toBe(1767225600);
    expect(parseRtcBase('2026-01-01T00:00:00')).toBe(1767225600);
    expect(parseRtcBase('2000-02-29T12:34:56')).toBe(951827696);
    expect(parseRtcBase('1969-12-31T23:59:59Z')).toBe(-1);
  });

  it('rejects malformed values with one line naming them', () => {
    for (const bad of ['2026-13-01', '2025-02-29', '2026-01-01T24:00:00', '2026-1-1', 'yesterday', '2026-01-01T00:00']) {
      expect(() => parseRtcBase(bad)).toThrow(new RegExp(`^invalid -rtc base '${bad}'[^\\n]*$`));
    }
  });
});

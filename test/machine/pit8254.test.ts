/**
 * The 8254 against the Intel datasheet, on virtual time: counts loaded on the
 * clock edge after the write, mode 0/1/2/3/4/5 OUT waveforms at exact edge
 * times, IRQ 0 edges, counter latch, read-back, BCD, GATE, and port 0x61.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../emu/machine/clock.js';
import { Pit8254, PIT_HZ, pitTickTime, pitTicks } from '../../emu/machine/pit8254.js';

let clock: VirtualClock;
let pit: Pit8254;
let edges: [number, boolean][];
let logs: string[];

const wr = (p: number, v: number): void => pit.portWrite(p, 1, v);
const rd = (p: number): number => pit.portRead(p, 1);
/** Moves the clock to just after input clock edge k. */
const toTick = (k: number): void => clock.advanceTo(pitTickTime(k));

function program(ch: number, mode: number, count: number, bcd = false): void {
  wr(0x43, (ch << 6) | 0x30 | (mode << 1) | (bcd ? 1 : 0));
  wr(0x40 + ch, count & 0xff);
  wr(0x40 + ch, count >> 8);
}

function readCount(ch: number): number {
  const lo = rd(0x40 + ch);
  return lo | (rd(0x40 + ch) << 8);
}

beforeEach(() => {
  clock = new VirtualClock();
  edges = [];
  logs = [];
  pit = new Pit8254(clock, { set: (l) => edges.push([clock.time(), l]) }, (c, l) => logs.push(`${c}: ${l}`));
});

describe('time base', () => {
  it('converts between virtual time and 1.193182 MHz clock edges exactly', () => {
    expect(pitTicks(1e9)).toBe(PIT_HZ);
    expect(pitTicks(1e9 - 1)).toBe(PIT_HZ - 1);
    for (const n of [1, 2, 3, 1193181, 1193182, 1193183, 987654321, 123456789012]) {
      const t = pitTickTime(n);
      expect(pitTicks(t)).toBe(n);
      expect(pitTicks(t - 1)).toBe(n - 1);
    }
    expect(pitTickTime(1)).toBe(839); // 838.0965 ns, rounded up to the first whole ns after the edge
  });
});

describe('mode 0: interrupt on terminal count', () => {
  it('raises OUT N+1 edges after the count is written, then stays high', () => {
    clock.advanceTo(1000);
    const k0 = pitTicks(1000);
    program(0, 0, 100);
    expect(pit.out(0)).toBe(false);
    clock.advanceTo(pitTickTime(k0 + 101) - 1);
    expect(edges).toEqual([]);
    clock.advanceTo(pitTickTime(k0 + 101));
    expect(edges).toEqual([[pitTickTime(k0 + 101), true]]);
    expect(clock.nextDue()).toBe(Infinity); // nothing more to schedule
    toTick(k0 + 200);
    expect(pit.out(0)).toBe(true);
  });

  it('counts down from the load edge and wraps after zero', () => {
    program(0, 0, 100); // written at edge 0, loaded at edge 1
    toTick(1);
    expect(readCount(0)).toBe(100);
    toTick(51);
    expect(readCount(0)).toBe(50);
    toTick(101);
    expect(readCount(0)).toBe(0);
    toTick(102);
    expect(readCount(0)).toBe(0xffff);
  });

  it('stops counting and drops OUT when the first byte of a new count is written', () => {
    program(0, 0, 10);
    toTick(20);
    expect(pit.out(0)).toBe(true);
    wr(0x40, 50);
    expect(pit.out(0)).toBe(false);
    expect(edges.at(-1)).toEqual([clock.time(), false]);
    toTick(100);
    expect(pit.out(0)).toBe(false);
    wr(0x40, 0);
    toTick(100 + 51);
    expect(pit.out(0)).toBe(true);
  });

  it('treats count 0 as 65536', () => {
    program(0, 0, 0);
    toTick(65536);
    expect(pit.out(0)).toBe(false);
    toTick(65537);
    expect(pit.out(0)).toBe(true);
  });
});

describe('mode 2: rate generator', () => {
  it('pulses OUT low for one clock every N clocks; IRQ 0 edges fall exactly on them', () => {
    program(0, 2, 1000); // loaded at edge 1
    expect(pit.out(0)).toBe(true);
    toTick(3500);
    const want: [number, boolean][] = [];
    for (const k of [1, 1001, 2001, 3001]) want.push([pitTickTime(k + 999), false], [pitTickTime(k + 1000), true]);
    expect(edges).toEqual([[0, true], ...want.slice(0, 6)]);
  });

  it('reads N-p during the cycle', () => {
    program(0, 2, 1000);
    toTick(1 + 250);
    expect(readCount(0)).toBe(750);
    toTick(1 + 1000);
    expect(readCount(0)).toBe(1000);
    toTick(1 + 999);
    expect(readCount(0)).toBe(1000);
  });

  it('takes a count written mid-cycle at the end of the current cycle', () => {
    program(0, 2, 1000); // loaded at edge 1; cycles end at 1001, 2001, …
    toTick(500);
    wr(0x40, 300 & 0xff);
    wr(0x40, 300 >> 8);
    expect(pit.portRead(0x43, 1)).toBe(0xff);
    toTick(700);
    wr(0x43, 0xe2); // read-back: status of counter 0
    expect(rd(0x40) & 0x40).toBe(0x40); // NULL COUNT until the new count is loaded
    const n = edges.length;
    toTick(1001 + 300);
    expect(edges.slice(n).map(([t, l]) => [pitTicks(t), l])).toEqual([[1000, false], [1001, true], [1300, false], [1301, true]]);
    wr(0x43, 0xe2);
    expect(rd(0x40) & 0x40).toBe(0);
  });

  it('takes a count written during a mode 3 high half at the end of that half', () => {
    program(0, 3, 100); // high for edges 1–50, low 51–100
    toTick(20);
    wr(0x40, 40);
    wr(0x40, 0);
    const n = edges.length;
    toTick(51 + 20 + 40);
    // The old high half ends at 51; the new count carries on with its own low half (20), then high (20).
    expect(edges.slice(n).map(([t, l]) => [pitTicks(t), l])).toEqual([[51, false], [71, true], [91, false], [111, true]]);
  });

  it('logs the illegal count 1', () => {
    program(0, 2, 1);
    expect(logs.some((l) => l.startsWith('guest_errors'))).toBe(true);
  });
});

describe('mode 3: square wave', () => {
  it('is high for N/2 and low for N/2 with an even count, decrementing by two', () => {
    program(0, 3, 10);
    toTick(1 + 2);
    expect(readCount(0)).toBe(6);
    toTick(1 + 7);
    expect(readCount(0)).toBe(6);
    toTick(1 + 40);
    const rel = edges.slice(1).map(([t, l]) => [pitTicks(t) - 1, l]);
    expect(rel).toEqual([[5, false], [10, true], [15, false], [20, true], [25, false], [30, true], [35, false], [40, true]]);
  });

  it('is high one clock longer than low with an odd count', () => {
    program(0, 3, 11);
    toTick(1 + 5);
    expect(pit.out(0)).toBe(true);
    expect(readCount(0)).toBe(0);
    toTick(1 + 6);
    expect(pit.out(0)).toBe(false);
    expect(readCount(0)).toBe(10);
    toTick(1 + 22);
    const rel = edges.slice(1).map(([t, l]) => [pitTicks(t) - 1, l]);
    expect(rel).toEqual([[6, false], [11, true], [17, false], [22, true]]);
  });

  it('runs at 18.2 Hz with count 0 as the BIOS leaves it', () => {
    program(0, 3, 0);
    clock.advanceTo(1e9);
    const rises = edges.filter(([t, l]) => l && t > 0).length;
    expect(rises).toBe(Math.floor((PIT_HZ - 1) / 65536));
  });
});

describe('modes 1, 4, 5 and GATE', () => {
  it('mode 4 strobes OUT low for one clock after N+1 edges', () => {
    program(0, 4, 5);
    toTick(10);
    expect(edges.slice(1).map(([t, l]) => [pitTicks(t), l])).toEqual([[6, false], [7, true]]);
  });

  it('mode 1 waits for a GATE rising edge and then holds OUT low for N clocks', () => {
    program(2, 1, 8);
    toTick(20);
    expect(pit.out(2)).toBe(true);
    pit.setGate(2, true);
    toTick(21);
    expect(pit.out(2)).toBe(false);
    toTick(28);
    expect(pit.out(2)).toBe(false);
    toTick(29);
    expect(pit.out(2)).toBe(true);
  });

  it('mode 5 strobes after a GATE trigger', () => {
    program(2, 5, 3);
    toTick(10);
    pit.setGate(2, true);
    toTick(13);
    expect(pit.out(2)).toBe(true);
    toTick(14);
    expect(pit.out(2)).toBe(false);
    toTick(15);
    expect(pit.out(2)).toBe(true);
  });

  it('mode 0 suspends counting while GATE is low', () => {
    program(2, 0, 100); // counter 2's gate is low after reset
    toTick(500);
    expect(readCount(2)).toBe(100);
    pit.setGate(2, true);
    toTick(550);
    expect(readCount(2)).toBe(50);
    pit.setGate(2, false);
    toTick(900);
    expect(readCount(2)).toBe(50);
    pit.setGate(2, true);
    toTick(950);
    expect(pit.out(2)).toBe(true);
    expect(readCount(2)).toBe(0);
  });

  it('mode 2 forces OUT high while GATE is low and reloads when it rises', () => {
    program(2, 2, 10);
    pit.setGate(2, true);
    toTick(5);
    expect(readCount(2)).toBe(6);
    pit.setGate(2, false);
    toTick(50);
    expect(pit.out(2)).toBe(true);
    pit.setGate(2, true);
    toTick(51);
    expect(readCount(2)).toBe(10);
  });
});

describe('reading', () => {
  it('latches the count until it has been read, ignoring further latch commands', () => {
    program(0, 2, 1000);
    toTick(101);
    wr(0x43, 0x00);
    toTick(301);
    wr(0x43, 0x00);
    expect(readCount(0)).toBe(900);
    expect(readCount(0)).toBe(700);
  });

  it('reads back status before the count, whichever was latched first', () => {
    wr(0x43, 0x34); // counter 0, lo/hi, mode 2, binary
    wr(0x43, 0xe2);
    expect(rd(0x40)).toBe(0xf4); // OUT high, NULL COUNT, lo/hi, mode 2
    wr(0x40, 0x10);
    wr(0x40, 0x00);
    toTick(3);
    wr(0x43, 0xd2); // latch count of counter 0
    wr(0x43, 0xe2); // then status
    expect(rd(0x40)).toBe(0xb4);
    expect(readCount(0)).toBe(14);
  });

  it('honours lobyte-only and hibyte-only access', () => {
    wr(0x43, 0x10); // counter 0, LSB only, mode 0
    wr(0x40, 0x20);
    toTick(1 + 0x10);
    expect(rd(0x40)).toBe(0x10);
    wr(0x43, 0x20); // MSB only
    wr(0x40, 0x02);
    const k = pitTicks(clock.time());
    toTick(k + 1 + 0x100);
    expect(rd(0x40)).toBe(0x01);
  });

  it('counts in BCD', () => {
    program(0, 0, 0x1000, true);
    toTick(2);
    expect(readCount(0)).toBe(0x0999);
    toTick(1 + 1001);
    expect(readCount(0)).toBe(0x9999);
  });
});

describe('port 0x61', () => {
  it('gates counter 2 and shows its OUT in bit 5, as PIT calibration loops use it', () => {
    wr(0x61, (rd(0x61) & ~0x02) | 0x01);
    wr(0x43, 0xb0); // counter 2, lo/hi, mode 0
    const k0 = pitTicks(clock.time());
    wr(0x42, 0x9b);
    wr(0x42, 0x2e); // 11931: 10 ms
    let polls = 0;
    while (!(rd(0x61) & 0x20)) {
      clock.advanceTo(clock.now + 1000);
      polls++;
    }
    const rise = pitTickTime(k0 + 11932);
    expect(clock.now).toBeGreaterThanOrEqual(rise);
    expect(clock.now - 1000).toBeLessThan(rise);
    expect(polls).toBeGreaterThan(9000);
    expect(rd(0x61) & 0x0f).toBe(0x01);
  });

  it('toggles the refresh bit every 15.085 µs', () => {
    expect(rd(0x61) & 0x10).toBe(0);
    clock.advanceTo(15084);
    expect(rd(0x61) & 0x10).toBe(0);
    clock.advanceTo(15085);
    expect(rd(0x61) & 0x10).toBe(0x10);
    clock.advanceTo(30170);
    expect(rd(0x61) & 0x10).toBe(0);
  });

  it('logs that the speaker makes no sound', () => {
    wr(0x61, 0x03);
    expect(logs).toEqual(['unimp: pit: PC speaker sound is not emulated']);
  });
});

/**
 * The pieces under machine snapshots: the state encoding, named fields, the
 * clock's saved queue, and each device's save/restore on its own — does a
 * device restored mid-flight (timers armed, input arriving, interrupts
 * pending) go on exactly as the original does?
 */
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../emu/machine/clock.js';
import { decodeState, encodeState } from '../../emu/machine/state-codec.js';
import { restoreFields, saveFields } from '../../emu/machine/fields.js';
import type { StateValue, Stateful } from '../../emu/machine/state.js';
import { Pit8254 } from '../../emu/machine/pit8254.js';
import { CmosRtc } from '../../emu/machine/rtc.js';
import { Uart16550 } from '../../emu/machine/uart16550.js';
import { Pic8259Pair } from '../../emu/machine/pic8259.js';
import { IoApic } from '../../emu/machine/ioapic.js';
import { ApicBus } from '../../emu/machine/apic-bus.js';
import { LocalApic } from '../../emu/machine/lapic.js';

describe('state encoding', () => {
  it('round-trips every kind of value exactly, doubles included', () => {
    const v: StateValue = {
      n: [0, -0, 1.5, -(2 ** 60), Infinity, -Infinity, NaN, 2 ** 53 - 1],
      s: ['', 'ascii', 'ünïcødé ✓'], b: [true, false, null],
      bytes: Uint8Array.of(0, 1, 255), nested: { a: { b: { c: [[], {}] } } },
    };
    const back = decodeState(encodeState(v)) as { n: number[] };
    expect(back).toEqual(v);
    expect(Object.is(back.n[1], -0)).toBe(true);
  });

  it('what if the bytes are cut short, have an unknown type, or trail garbage? an Error saying so', () => {
    const good = encodeState({ a: [1, 2, 3] });
    expect(() => decodeState(good.subarray(0, good.length - 3))).toThrow(/ends early/);
    expect(() => decodeState(Uint8Array.of(9))).toThrow(/unknown value type 9/);
    expect(() => decodeState(Uint8Array.from([...good, 0]))).toThrow(/1 bytes after the state/);
  });
});

describe('named fields', () => {
  class Thing { a = 1; b = new Uint32Array([1, 2]); c = [true, false]; d: number | null = null; }

  it('restores into the same typed arrays and lists, by name', () => {
    const t = new Thing();
    t.a = 7; t.b[1] = 99; t.c[0] = false; t.d = 3;
    const s = saveFields(t, ['a', 'b', 'c', 'd']);
    const u = new Thing();
    const b = u.b, c = u.c;
    restoreFields(u, ['a', 'b', 'c', 'd'], s);
    expect(u).toEqual(t);
    expect(u.b).toBe(b);
    expect(u.c).toBe(c);
  });

  it('what if a field name is wrong, or missing from the saved state? loud errors naming it', () => {
    expect(() => saveFields(new Thing(), ['a', 'nope'])).toThrow(/Thing has no field 'nope'/);
    expect(() => restoreFields(new Thing(), ['a', 'b'], { a: 1 })).toThrow(/Thing\.b is missing/);
    expect(() => restoreFields(new Thing(), ['b'], { b: Uint8Array.of(1) })).toThrow(/Thing\.b should be 8 bytes/);
  });
});

describe('the clock', () => {
  it('re-inserted events keep their order at equal times, and the creation counter goes on', () => {
    const a = new VirtualClock();
    const fired: string[] = [];
    for (const tag of ['x:1', 'x:2', 'x:3']) a.schedule(500, () => fired.push(tag), tag);
    a.cancel(a.schedule(400, () => fired.push('cancelled'), 'x:0'));
    a.advanceTo(100);
    const saved = a.save(), pending = a.pending();
    expect(pending.map((e) => e.tag)).toEqual(['x:1', 'x:2', 'x:3']);
    const b = new VirtualClock();
    b.schedule(1, () => fired.push('from the fresh build'), 'fresh:0');
    b.restore(saved);
    for (const e of [...pending].reverse()) b.reinsert(e.at, e.seq, e.tag!, () => fired.push(`b ${e.tag}`));
    b.advanceTo(1000);
    expect(fired).toEqual(['b x:1', 'b x:2', 'b x:3']);
    expect(b.schedule(2000, () => {}, 'y').seq).toBe(a.schedule(2000, () => {}, 'y').seq);
  });
});

/**
 * A device built twice on two clocks: the original runs on; the copy is
 * restored from its state mid-flight (its clock from the original's queue,
 * as snapshot.ts does); both then run on. Their IRQ histories and state must agree.
 */
function twin<D extends Stateful>(make: (clock: VirtualClock, irq: { set(l: boolean): void }) => D, setup: (d: D, clock: VirtualClock) => void, until: number, observe: (d: D) => unknown) {
  const irqs: [string, number, boolean][] = [];
  const ca = new VirtualClock();
  const a = make(ca, { set: (l) => irqs.push(['a', ca.time(), l]) });
  setup(a, ca);
  const mark = irqs.length;
  const cb = new VirtualClock();
  const b = make(cb, { set: (l) => irqs.push(['b', cb.time(), l]) });
  cb.restore(ca.save());
  b.restore(decodeState(encodeState(a.save())));
  for (const e of ca.pending()) b.adopt?.(e.tag!, cb.reinsert(e.at, e.seq, e.tag!, b.event!(e.tag!)));
  ca.advanceTo(until);
  cb.advanceTo(until);
  const of = (who: string, from = 0) => irqs.slice(from).filter(([w]) => w === who).map(([, t, l]) => [t, l]);
  expect(of('b'), 'IRQ edges after the restore').toEqual(of('a', mark));
  expect(observe(b)).toEqual(observe(a));
  expect(encodeState(b.save())).toEqual(encodeState(a.save()));
  return of('a', mark);
}

const log = (): void => {};

describe('each device restored mid-flight goes on as the original', () => {
  it('PIT: counter 0 in mode 2 with IRQ 0 edges due, counter 2 latched', () => {
    const edges = twin((c, irq) => new Pit8254(c, irq, log), (p, c) => {
      p.portWrite(0x43, 1, 0x34); p.portWrite(0x40, 1, 0x9b); p.portWrite(0x40, 1, 0x2e);
      p.portWrite(0x43, 1, 0xb6); p.portWrite(0x42, 1, 0x10); p.portWrite(0x42, 1, 0x00);
      c.advanceTo(3_333_333);
      p.portWrite(0x43, 1, 0x80);
    }, 40_000_000, (p) => [p.portRead(0x40, 1), p.portRead(0x40, 1), p.portRead(0x42, 1), p.portRead(0x42, 1)]);
    expect(edges.length).toBeGreaterThan(6);
  });

  it('RTC: periodic interrupt and update-ended interrupt armed', () => {
    const edges = twin((c, irq) => new CmosRtc(c, irq, 1_767_225_600, 64 << 20, log), (r, c) => {
      r.portWrite(0x70, 1, 0x0a); r.portWrite(0x71, 1, 0x26);
      r.portWrite(0x70, 1, 0x0b); r.portWrite(0x71, 1, 0x52);
      // Before the first periodic interrupt (976 µs at rate 6): it is still a clock event at the save.
      c.advanceTo(500_000);
    }, 3_500_000_000, (r) => { r.portWrite(0x70, 1, 0x0c); const c = r.portRead(0x71, 1); r.portWrite(0x70, 1, 0x00); return [c, r.portRead(0x71, 1)]; });
    expect(edges.length).toBeGreaterThan(0);
  });

  it('UART: host input still arriving through the pump, FIFO timeout armed', () => {
    const out: number[][] = [[], []];
    let k = 0;
    twin((c, irq) => { const which = k++; return new Uart16550(0x3f8, c, irq, (b) => out[which].push(b), log); }, (u, c) => {
      u.portWrite(0x3fa, 1, 0x01); u.portWrite(0x3f9, 1, 0x01); u.portWrite(0x3fc, 1, 0x08);
      u.receive(new TextEncoder().encode('snapshot input'));
      c.advanceTo(3_500_000);
    }, 30_000_000, (u) => { const got: number[] = []; while (u.portRead(0x3fd, 1) & 1) got.push(u.portRead(0x3f8, 1)); return got; });
  });

  it('8259 pair and IOAPIC: programmed, lines high, requests pending', () => {
    const pic = (p: Pic8259Pair): void => {
      for (const [port, v] of [[0x20, 0x11], [0x21, 0x20], [0x21, 0x04], [0x21, 0x01], [0xa0, 0x11], [0xa1, 0x28], [0xa1, 0x02], [0xa1, 0x01], [0x21, 0xb8]]) p.portWrite(port, 1, v);
      p.setIrq(1, true); p.setIrq(12, true); p.setIrq(6, true);
    };
    twin(() => new Pic8259Pair(() => {}, log), (p) => pic(p), 10, (p) => [p.acknowledge(), p.acknowledge(), p.intr]);
    const bus = new ApicBus(log);
    twin(() => new IoApic(bus, log, 2), (io) => {
      io.mmioWrite(0, 4, 0x10 + 2 * 5); io.mmioWrite(0x10, 4, 0x0000a031);
      io.setIrq(5, true); io.setIrq(7, true);
    }, 10, (io) => { io.mmioWrite(0, 4, 0x10 + 2 * 5); return io.mmioRead(0x10, 4); });
  });

  it('local APIC: periodic timer mid-count, TPR and LVTs set', () => {
    const cpu = { kick: () => {}, nmi: () => {}, init: () => {}, sipi: () => {}, tsc: () => 0 };
    twin((c) => new LocalApic(0, true, c, new ApicBus(log), cpu, log), (a, c) => {
      a.mmioWrite(0xf0, 4, 0x1ff); a.mmioWrite(0x80, 4, 0x20); a.mmioWrite(0x3e0, 4, 0x3);
      a.mmioWrite(0x320, 4, 0x20040); a.mmioWrite(0x380, 4, 12345);
      c.advanceTo(1_000_000);
    }, 5_000_000, (a) => [a.mmioRead(0x390, 4), a.mmioRead(0x200 + 0x10, 4), a.pendingVector()]);
  });
});

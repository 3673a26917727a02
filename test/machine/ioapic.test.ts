import { describe, expect, it } from 'vitest';
import { ApicBus } from '../../emu/machine/apic-bus.js';
import { VirtualClock } from '../../emu/machine/clock.js';
import { IoApic } from '../../emu/machine/ioapic.js';
import { EXTINT, LocalApic, type ApicCpu } from '../../emu/machine/lapic.js';

/** Records what each local APIC asks of its vCPU. */
class FakeCpu implements ApicCpu {
  calls: string[] = [];
  constructor(private readonly clock: VirtualClock) {}
  kick(): void { /* delivery is observed through pendingVector() */ }
  nmi(): void { this.calls.push('nmi'); }
  init(): void { this.calls.push('init'); }
  sipi(vector: number): void { this.calls.push(`sipi ${vector}`); }
  tsc(): number { return this.clock.time(); }
}

const TPR = 0x080, EOI = 0x0b0, LDR = 0x0d0, SVR = 0x0f0, TMR = 0x180;
const LEVEL = 1 << 15, ACTIVE_LOW = 1 << 13, MASKED = 1 << 16, REMOTE_IRR = 1 << 14, LOGICAL = 1 << 11;

/** An IOAPIC and n software-enabled CPUs with APIC IDs 0..n-1. */
function machine(n = 2) {
  const clock = new VirtualClock();
  const logs: string[] = [];
  const log = (cat: string, line: string): void => { logs.push(`${cat}: ${line}`); };
  const bus = new ApicBus(log);
  const cpus: FakeCpu[] = [];
  const lapics: LocalApic[] = [];
  for (let i = 0; i < n; i++) {
    cpus.push(new FakeCpu(clock));
    lapics.push(new LocalApic(i, i === 0, clock, bus, cpus[i], log));
    lapics[i].mmioWrite(SVR, 4, 0x1ff);
  }
  const io = new IoApic(bus, log, n);
  const read = (reg: number): number => { io.mmioWrite(0x00, 4, reg); return io.mmioRead(0x10, 4) >>> 0; };
  const write = (reg: number, v: number): void => { io.mmioWrite(0x00, 4, reg); io.mmioWrite(0x10, 4, v); };
  /** Programs pin `p`: high dword first, then the low dword (which may unmask it). */
  const route = (p: number, low: number, dest = 0): void => { write(0x11 + 2 * p, dest << 24); write(0x10 + 2 * p, low); };
  /** The CPU takes its pending interrupt and EOIs it. */
  const service = (cpu = 0): number => {
    const v = lapics[cpu].pendingVector();
    if (v >= 0) { lapics[cpu].acknowledge(); lapics[cpu].mmioWrite(EOI, 4, 0); }
    return v;
  };
  return { logs, bus, cpus, lapics, io, read, write, route, service };
}

describe('IOAPIC registers', () => {
  it('ID, version, arbitration ID and reset state of the redirection table', () => {
    const m = machine(2);
    expect(m.read(0)).toBe(0x02000000);
    expect(m.read(1)).toBe(0x00170011);
    expect(m.read(2)).toBe(0x02000000);
    for (let p = 0; p < 24; p++) {
      expect(m.read(0x10 + 2 * p)).toBe(MASKED);
      expect(m.read(0x11 + 2 * p)).toBe(0);
    }
  });

  it('writing the ID also loads the arbitration ID; version and arbitration are read-only', () => {
    const m = machine();
    m.write(0, 0x0f123456);
    expect(m.read(0)).toBe(0x0f000000);
    expect(m.read(2)).toBe(0x0f000000);
    m.write(1, 0);
    m.write(2, 0x01000000);
    expect(m.read(1)).toBe(0x00170011);
    expect(m.read(2)).toBe(0x0f000000);
  });

  it('IOREGSEL reads back; redirection entries keep only their defined bits', () => {
    const m = machine();
    m.io.mmioWrite(0, 4, 0x13);
    expect(m.io.mmioRead(0, 4)).toBe(0x13);
    m.write(0x12, 0xffffffff);
    expect(m.read(0x12)).toBe(0x0001afff);
    m.write(0x13, 0xffffffff);
    expect(m.read(0x13)).toBe(0xff000000);
  });

  it('registers past the table, the 0x40 EOI register of version 0x20, and byte IOWIN accesses are guest errors', () => {
    const m = machine();
    expect(m.read(0x40)).toBe(0);
    m.write(0x03, 1);
    expect(m.io.mmioRead(0x40, 4)).toBe(0);
    m.io.mmioWrite(0x40, 4, 0x30);
    m.io.mmioWrite(0x10, 1, 0);
    expect(m.logs.filter((l) => l.startsWith('guest_errors')).length).toBe(5);
  });

  it('reset masks every entry again', () => {
    const m = machine();
    m.route(3, 0x33);
    m.io.reset();
    expect(m.read(0x16)).toBe(MASKED);
    m.io.setIrq(3, true);
    expect(m.bus.received).toEqual([0, 0]);
  });
});

describe('IOAPIC edge-triggered pins', () => {
  it('deliver once per rising edge', () => {
    const m = machine();
    m.route(4, 0x34, 1);
    m.io.setIrq(4, true);
    expect(m.service(1)).toBe(0x34);
    m.io.setIrq(4, true);
    expect(m.service(1)).toBe(-1);
    m.io.setIrq(4, false);
    expect(m.service(1)).toBe(-1);
    m.io.setIrq(4, true);
    expect(m.service(1)).toBe(0x34);
    expect(m.bus.received).toEqual([0, 2]);
    expect(m.read(0x18) & REMOTE_IRR).toBe(0);
  });

  it('an edge on a masked pin is lost, and unmasking while high does not invent one', () => {
    const m = machine();
    m.route(4, MASKED | 0x34);
    m.io.setIrq(4, true);
    m.route(4, 0x34);
    expect(m.service()).toBe(-1);
    expect(m.bus.received).toEqual([0, 0]);
  });

  it('active low: the falling electrical edge is the interrupt', () => {
    const m = machine();
    m.io.setIrq(5, true); // idle level of an active-low line
    m.route(5, ACTIVE_LOW | 0x35);
    expect(m.service()).toBe(-1);
    m.io.setIrq(5, false);
    expect(m.service()).toBe(0x35);
    m.io.setIrq(5, true);
    expect(m.service()).toBe(-1);
  });
});

describe('IOAPIC level-triggered pins', () => {
  it('remote IRR blocks re-delivery until the EOI; an EOI while still asserted re-delivers', () => {
    const m = machine();
    m.route(10, LEVEL | 0x5a);
    m.io.setIrq(10, true);
    expect(m.read(0x24) & REMOTE_IRR).toBe(REMOTE_IRR);
    expect(m.lapics[0].mmioRead(TMR + 0x20, 4) >>> 0).toBe((1 << 0x1a) >>> 0);
    m.io.setIrq(10, false);
    m.io.setIrq(10, true);
    expect(m.bus.received[0]).toBe(1);
    expect(m.service()).toBe(0x5a); // EOI broadcast: still asserted, so delivered again
    expect(m.bus.received[0]).toBe(2);
    expect(m.read(0x24) & REMOTE_IRR).toBe(REMOTE_IRR);
    m.io.setIrq(10, false);
    expect(m.service()).toBe(0x5a);
    expect(m.read(0x24) & REMOTE_IRR).toBe(0);
    expect(m.service()).toBe(-1);
    expect(m.bus.received[0]).toBe(2);
  });

  it('an EOI for another vector leaves remote IRR set', () => {
    const m = machine();
    m.route(10, LEVEL | 0x5a);
    m.route(11, LEVEL | 0x6b);
    m.io.setIrq(10, true);
    m.io.setIrq(11, true);
    expect(m.service()).toBe(0x6b);
    expect(m.read(0x24) & REMOTE_IRR).toBe(REMOTE_IRR);
    expect(m.read(0x26) & REMOTE_IRR).toBe(REMOTE_IRR); // re-delivered at once: still asserted
    expect(m.bus.received[0]).toBe(3); // 0x5a once, 0x6b twice
  });

  it('unmasking an asserted pin delivers it', () => {
    const m = machine();
    m.route(9, MASKED | LEVEL | 0x59);
    m.io.setIrq(9, true);
    expect(m.bus.received[0]).toBe(0);
    m.route(9, LEVEL | 0x59);
    expect(m.service()).toBe(0x59);
  });

  it('a level asserted and withdrawn while masked leaves nothing behind', () => {
    const m = machine();
    m.route(9, MASKED | LEVEL | 0x59);
    m.io.setIrq(9, true);
    m.io.setIrq(9, false);
    m.route(9, LEVEL | 0x59);
    expect(m.service()).toBe(-1);
  });

  it('active low: a low line is asserted', () => {
    const m = machine();
    m.io.setIrq(16, true);
    m.route(16, LEVEL | ACTIVE_LOW | 0x70);
    expect(m.service()).toBe(-1);
    m.io.setIrq(16, false);
    expect(m.read(0x30) & REMOTE_IRR).toBe(REMOTE_IRR);
    m.io.setIrq(16, true);
    expect(m.service()).toBe(0x70);
    expect(m.read(0x30) & REMOTE_IRR).toBe(0);
    expect(m.bus.received[0]).toBe(1);
  });

  it('switching the entry to edge clears remote IRR (the EOI path of IOAPICs without an EOI register)', () => {
    const m = machine();
    m.route(12, LEVEL | 0x4c);
    m.io.setIrq(12, true);
    expect(m.read(0x28) & REMOTE_IRR).toBe(REMOTE_IRR);
    m.write(0x28, MASKED | 0x4c);
    expect(m.read(0x28) & REMOTE_IRR).toBe(0);
    m.io.setIrq(12, false);
    m.write(0x28, MASKED | LEVEL | 0x4c);
    expect(m.read(0x28) & REMOTE_IRR).toBe(0);
  });

  it('with no APIC to accept it, remote IRR stays clear', () => {
    const m = machine();
    m.route(13, LEVEL | 0x4d, 7);
    m.io.setIrq(13, true);
    expect(m.read(0x2a) & REMOTE_IRR).toBe(0);
  });
});

describe('IOAPIC routing', () => {
  it('physical destination from bits 63:56 and logical destinations', () => {
    const m = machine(3);
    for (let i = 0; i < 3; i++) m.lapics[i].mmioWrite(LDR, 4, (1 << i) << 24);
    m.route(1, 0x41, 2);
    m.io.setIrq(1, true);
    expect(m.bus.received).toEqual([0, 0, 1]);
    m.route(2, LOGICAL | 0x42, 0b011);
    m.io.setIrq(2, true);
    expect(m.bus.received).toEqual([1, 1, 1]);
  });

  it('lowest priority goes to the least busy CPU', () => {
    const m = machine(3);
    m.lapics[0].mmioWrite(TPR, 4, 0x30);
    m.lapics[2].mmioWrite(TPR, 4, 0x20);
    m.route(3, (1 << 8) | 0x43, 0xff);
    m.io.setIrq(3, true);
    expect(m.service(1)).toBe(0x43);
    expect(m.bus.received).toEqual([0, 1, 0]);
  });

  it('NMI and ExtINT delivery modes', () => {
    const m = machine(1);
    m.route(0, 7 << 8);
    m.lapics[0].extInt = { acknowledge: () => 0x20 };
    m.io.setIrq(0, true);
    expect(m.lapics[0].pendingVector()).toBe(EXTINT);
    expect(m.lapics[0].acknowledge()).toBe(0x20);
    expect(m.lapics[0].pendingVector()).toBe(-1);
    m.route(2, 4 << 8 | LEVEL);
    m.io.setIrq(2, true);
    m.io.setIrq(2, false);
    m.io.setIrq(2, true);
    expect(m.cpus[0].calls).toEqual(['nmi', 'nmi']);
    expect(m.read(0x14) & REMOTE_IRR).toBe(0);
  });

  it('a reserved delivery mode is a guest error and delivers nothing', () => {
    const m = machine(1);
    m.route(6, 6 << 8 | 0x46);
    m.io.setIrq(6, true);
    expect(m.bus.received).toEqual([0]);
    expect(m.logs.some((l) => l.startsWith('guest_errors') && l.includes('pin 6'))).toBe(true);
  });
});

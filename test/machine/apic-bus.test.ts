import { describe, expect, it } from 'vitest';
import { ApicBus, type ApicMessage } from '../../emu/machine/apic-bus.js';
import { VirtualClock } from '../../emu/machine/clock.js';
import { LocalApic, type ApicCpu } from '../../emu/machine/lapic.js';

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

const ID = 0x020, TPR = 0x080, EOI = 0x0b0, LDR = 0x0d0, DFR = 0x0e0, SVR = 0x0f0, ESR = 0x280, ICR_LO = 0x300, ICR_HI = 0x310;
const TMR = 0x180;

/** n CPUs with APIC IDs 0..n-1, all software-enabled. */
function machine(n: number) {
  const clock = new VirtualClock();
  const logs: string[] = [];
  const log = (cat: string, line: string): void => { logs.push(`${cat}: ${line}`); };
  const bus = new ApicBus(log);
  const cpus: FakeCpu[] = [];
  const lapics: LocalApic[] = [];
  for (let i = 0; i < n; i++) {
    const cpu = new FakeCpu(clock);
    cpus.push(cpu);
    lapics.push(new LocalApic(i, i === 0, clock, bus, cpu, log));
    lapics[i].mmioWrite(SVR, 4, 0x1ff);
  }
  const w = (cpu: number, off: number, v: number): void => lapics[cpu].mmioWrite(off, 4, v);
  /** Sends an IPI from `cpu`: ICR high first, as software must. */
  const ipi = (cpu: number, lo: number, dest = 0): void => { w(cpu, ICR_HI, dest << 24); w(cpu, ICR_LO, lo); };
  /** Which CPUs have `vector` pending (and clears it by taking and EOIing it). */
  const who = (vector: number): number[] => {
    const got: number[] = [];
    lapics.forEach((l, i) => {
      if (l.pendingVector() === vector) { got.push(i); l.acknowledge(); l.mmioWrite(EOI, 4, 0); }
    });
    return got;
  };
  return { clock, logs, bus, cpus, lapics, w, ipi, who };
}

const LOGICAL = 1 << 11, SELF = 1 << 18, ALL = 2 << 18, OTHERS = 3 << 18;
const LOWEST = 1 << 8, SMI = 2 << 8, NMI = 4 << 8, INIT = 5 << 8, STARTUP = 6 << 8;

describe('IPI destinations', () => {
  it('fixed, physical: reaches only the APIC with that ID (as currently written in its ID register)', () => {
    const m = machine(4);
    m.ipi(0, 0x40, 2);
    expect(m.who(0x40)).toEqual([2]);
    m.w(3, ID, 0x09000000);
    m.ipi(0, 0x41, 9);
    expect(m.who(0x41)).toEqual([3]);
    m.ipi(0, 0x42, 3);
    expect(m.who(0x42)).toEqual([]);
  });

  it('physical 0xFF is a broadcast to every APIC, the sender included', () => {
    const m = machine(4);
    m.ipi(1, 0x43, 0xff);
    expect(m.who(0x43)).toEqual([0, 1, 2, 3]);
  });

  it('logical, flat model: the destination is a mask over LDR[31:24]', () => {
    const m = machine(4);
    for (let i = 0; i < 4; i++) m.w(i, LDR, (1 << i) << 24);
    m.ipi(0, LOGICAL | 0x50, 0b1010);
    expect(m.who(0x50)).toEqual([1, 3]);
    m.ipi(0, LOGICAL | 0x51, 0xff);
    expect(m.who(0x51)).toEqual([0, 1, 2, 3]);
    m.ipi(0, LOGICAL | 0x52, 0b10000);
    expect(m.who(0x52)).toEqual([]);
  });

  it('logical, cluster model: high nibble selects the cluster (0xF = all), low nibble is a mask', () => {
    const m = machine(4);
    const ldr = [0x11, 0x12, 0x21, 0x22];
    for (let i = 0; i < 4; i++) { m.w(i, DFR, 0x0fffffff); m.w(i, LDR, ldr[i] << 24); }
    m.ipi(0, LOGICAL | 0x53, 0x23);
    expect(m.who(0x53)).toEqual([2, 3]);
    m.ipi(0, LOGICAL | 0x54, 0x12);
    expect(m.who(0x54)).toEqual([1]);
    m.ipi(0, LOGICAL | 0x55, 0xf1);
    expect(m.who(0x55)).toEqual([0, 2]);
    m.ipi(0, LOGICAL | 0x56, 0x31);
    expect(m.who(0x56)).toEqual([]);
  });

  it('shorthands: self, all including self, all excluding self; the destination field is ignored', () => {
    const m = machine(3);
    m.ipi(1, SELF | 0x60, 2);
    expect(m.who(0x60)).toEqual([1]);
    m.ipi(1, ALL | 0x61, 2);
    expect(m.who(0x61)).toEqual([0, 1, 2]);
    m.ipi(1, OTHERS | 0x62, 1);
    expect(m.who(0x62)).toEqual([0, 2]);
  });

  it('IPIs are edge-triggered whatever the ICR trigger bit says', () => {
    const m = machine(1);
    m.ipi(0, SELF | (1 << 15) | (1 << 14) | 0x70);
    expect(m.lapics[0].mmioRead(TMR + 0x30, 4)).toBe(0);
  });

  it('a globally disabled APIC receives nothing, not even INIT', () => {
    const m = machine(3);
    m.lapics[2].writeApicBaseMsr(0xfee00000, 0);
    m.ipi(0, ALL | 0x63);
    expect(m.who(0x63)).toEqual([0, 1]);
    m.ipi(0, INIT | (1 << 14), 2);
    expect(m.cpus[2].calls).toEqual([]);
  });

  it('an illegal vector is sent anyway: the sender flags "send", each receiver "receive"', () => {
    const m = machine(2);
    m.ipi(0, 0x05, 1);
    m.w(0, ESR, 0);
    m.w(1, ESR, 0);
    expect(m.lapics[0].mmioRead(ESR, 4)).toBe(0x20);
    expect(m.lapics[1].mmioRead(ESR, 4)).toBe(0x40);
  });
});

describe('lowest-priority delivery', () => {
  it('picks the target with the lowest arbitration priority', () => {
    const m = machine(4);
    m.w(0, TPR, 0x40);
    m.w(1, TPR, 0x20);
    m.w(2, TPR, 0x10);
    m.w(3, TPR, 0x30);
    m.ipi(0, LOWEST | 0x80, 0xff);
    expect(m.who(0x80)).toEqual([2]);
  });

  it('counts a pending or in-service interrupt in the arbitration priority', () => {
    const m = machine(2);
    m.w(0, TPR, 0x10);
    m.w(1, TPR, 0x00);
    m.ipi(0, 0x90, 1);
    m.lapics[1].acknowledge(); // CPU 1 now services class 9: APR 0x90
    m.ipi(0, LOWEST | 0x81, 0xff);
    expect(m.who(0x81)).toEqual([0]);
  });

  it('breaks ties by the lowest APIC ID, among the destination set only', () => {
    const m = machine(4);
    const ids = [6, 4, 5, 7];
    for (let i = 0; i < 4; i++) m.w(i, ID, ids[i] << 24);
    m.ipi(3, LOWEST | 0x82, 0xff);
    expect(m.who(0x82)).toEqual([1]);
    for (let i = 0; i < 4; i++) m.w(i, LDR, (1 << i) << 24);
    m.ipi(0, LOGICAL | LOWEST | 0x83, 0b1100);
    expect(m.who(0x83)).toEqual([2]);
  });

  it('skips software-disabled APICs', () => {
    const m = machine(2);
    m.w(0, SVR, 0xff);
    m.w(1, TPR, 0x70);
    m.ipi(1, LOWEST | 0x84, 0xff);
    expect(m.who(0x84)).toEqual([1]);
  });
});

describe('NMI, INIT, SIPI and SMI', () => {
  it('NMI, INIT and STARTUP reach the targets\' vCPUs; INIT resets the APIC', () => {
    const m = machine(3);
    m.ipi(0, NMI, 1);
    m.ipi(0, OTHERS | INIT | (1 << 14));
    m.ipi(0, OTHERS | STARTUP | 0x9f);
    expect(m.cpus[0].calls).toEqual([]);
    expect(m.cpus[1].calls).toEqual(['nmi', 'init', 'sipi 159']);
    expect(m.cpus[2].calls).toEqual(['init', 'sipi 159']);
    expect(m.lapics[1].mmioRead(SVR, 4)).toBe(0xff);
  });

  it('INIT level de-assert is ignored', () => {
    const m = machine(2);
    m.ipi(0, INIT | (1 << 15), 1);
    expect(m.cpus[1].calls).toEqual([]);
    expect(m.lapics[1].mmioRead(SVR, 4)).toBe(0x1ff);
  });

  it('SMI is dropped with an unimp log (no SMM); reserved modes are guest errors', () => {
    const m = machine(2);
    m.ipi(0, SMI, 1);
    m.ipi(0, 3 << 8 | 0x40, 1);
    m.ipi(0, 7 << 8 | 0x40, 1);
    expect(m.logs.filter((l) => l.startsWith('unimp') && l.includes('SMI')).length).toBe(1);
    expect(m.logs.filter((l) => l.startsWith('guest_errors') && l.includes('reserved delivery mode')).length).toBe(2);
    expect(m.who(0x40)).toEqual([]);
  });
});

describe('counters', () => {
  it('counts IPIs per (source, target) and every message received per CPU', () => {
    const m = machine(3);
    m.ipi(0, 0x40, 1);
    m.ipi(0, 0x40, 1);
    m.ipi(2, ALL | 0x41);
    m.ipi(1, SELF | 0x42);
    m.bus.deliverMsi(0xfee02000, 0x43);
    expect(m.bus.ipiCount).toEqual([[0, 2, 0], [0, 1, 0], [1, 1, 1]]);
    expect(m.bus.received).toEqual([1, 4, 2]);
  });
});

describe('MSI', () => {
  it('decodes destination ID (bits 19:12), vector and fixed mode', () => {
    const m = machine(4);
    m.bus.deliverMsi(0xfee03000, 0x00a1);
    expect(m.who(0xa1)).toEqual([3]);
  });

  it('DM (bit 2) selects logical destination', () => {
    const m = machine(4);
    for (let i = 0; i < 4; i++) m.w(i, LDR, (1 << i) << 24);
    m.bus.deliverMsi(0xfee00000 | (0x06 << 12) | 4, 0x00a2);
    expect(m.who(0xa2)).toEqual([1, 2]);
  });

  it('RH (bit 3) redirects to the lowest-priority processor among the destinations', () => {
    const m = machine(4);
    for (let i = 0; i < 4; i++) m.w(i, LDR, (1 << i) << 24);
    m.w(1, TPR, 0x50);
    m.bus.deliverMsi(0xfee00000 | (0x06 << 12) | 4 | 8, 0x00a3);
    expect(m.who(0xa3)).toEqual([2]);
  });

  it('data bits 10:8 give the delivery mode, bit 15 the trigger mode', () => {
    const m = machine(2);
    m.bus.deliverMsi(0xfee01000, 0x0400);
    expect(m.cpus[1].calls).toEqual(['nmi']);
    m.bus.deliverMsi(0xfee01000, 0x0100 | 0x00b4);
    expect(m.who(0xb4)).toEqual([1]);
    m.bus.deliverMsi(0xfee00000, 0xc000 | 0x00b5);
    expect(m.lapics[0].mmioRead(TMR + 0x50, 4)).toBe((1 << 0x15) >>> 0);
  });

  it('an address outside 0xFEExxxxx or a reserved delivery mode is dropped with a guest error', () => {
    const m = machine(1);
    m.bus.deliverMsi(0xfed00000, 0x00a5);
    m.bus.deliverMsi(0xfee00000, 0x0600 | 0x10);
    m.bus.deliverMsi(0xfee00000, 0x0300 | 0xa5);
    expect(m.cpus[0].calls).toEqual([]);
    expect(m.who(0xa5)).toEqual([]);
    expect(m.logs.filter((l) => l.startsWith('guest_errors')).length).toBe(3);
  });
});

describe('EOI broadcast', () => {
  it('reaches every attached IOAPIC', () => {
    const m = machine(1);
    const heard: string[] = [];
    m.bus.attachIoApic({ eoi: (v) => heard.push(`a${v}`) });
    m.bus.attachIoApic({ eoi: (v) => heard.push(`b${v}`) });
    const msg: ApicMessage = { mode: 'fixed', vector: 0x66, destMode: 'physical', dest: 0, shorthand: 'none', trigger: 'level', level: true };
    expect(m.bus.deliver(msg, null)).toBe(1);
    m.lapics[0].acknowledge();
    m.w(0, EOI, 0);
    expect(heard).toEqual(['a102', 'b102']);
  });
});

import { describe, expect, it } from 'vitest';
import { ApicBus, type ApicMessage } from '../../emu/machine/apic-bus.js';
import { VirtualClock } from '../../emu/machine/clock.js';
import { EXTINT, LocalApic, type ApicCpu } from '../../emu/machine/lapic.js';

/** Records what the local APIC asks of its vCPU. */
class FakeCpu implements ApicCpu {
  calls: string[] = [];
  kicks = 0;
  tscOffset = 1_000_000;
  constructor(private readonly clock: VirtualClock) {}
  kick(): void { this.kicks++; }
  nmi(): void { this.calls.push('nmi'); }
  init(): void { this.calls.push('init'); }
  sipi(vector: number): void { this.calls.push(`sipi ${vector}`); }
  tsc(): number { return this.clock.time() + this.tscOffset; }
}

const ID = 0x020, VER = 0x030, TPR = 0x080, APR = 0x090, PPR = 0x0a0, EOI = 0x0b0, LDR = 0x0d0, DFR = 0x0e0, SVR = 0x0f0;
const ISR = 0x100, TMR = 0x180, IRR = 0x200, ESR = 0x280, ICR_LO = 0x300, ICR_HI = 0x310;
const LVT_TIMER = 0x320, LVT_LINT0 = 0x350, LVT_LINT1 = 0x360, LVT_ERROR = 0x370;
const TIMER_INIT = 0x380, TIMER_CUR = 0x390, TIMER_DCR = 0x3e0;
const MASKED = 0x10000, PERIODIC = 1 << 17, TSC_DEADLINE = 2 << 17;

function setup(id = 0, bsp = true) {
  const clock = new VirtualClock();
  const logs: string[] = [];
  const log = (cat: string, line: string): void => { logs.push(`${cat}: ${line}`); };
  const bus = new ApicBus(log);
  const cpu = new FakeCpu(clock);
  const lapic = new LocalApic(id, bsp, clock, bus, cpu, log);
  const w = (off: number, v: number): void => lapic.mmioWrite(off, 4, v);
  const r = (off: number): number => lapic.mmioRead(off, 4) >>> 0;
  const eoiHeard: number[] = [];
  bus.attachIoApic({ eoi: (v) => eoiHeard.push(v) });
  return { clock, logs, bus, cpu, lapic, w, r, eoiHeard };
}

/** Setup with the APIC software-enabled (spurious vector 0xFF). */
function enabled(id = 0) {
  const s = setup(id);
  s.w(SVR, 0x1ff);
  return s;
}

function fixed(vector: number, trigger: 'edge' | 'level' = 'edge'): ApicMessage {
  return { mode: 'fixed', vector, destMode: 'physical', dest: 0, shorthand: 'none', trigger, level: true };
}

function bit(vector: number): [number, number] { return [(vector >>> 5) * 0x10, (1 << (vector & 31)) >>> 0]; }

/** Latches and reads the ESR the way software must (write, then read). */
function esr(s: ReturnType<typeof setup>): number { s.w(ESR, 0); return s.r(ESR); }

describe('local APIC registers', () => {
  it('power-up state: ID, version, masked LVTs, software-disabled, flat DFR, APIC_BASE', () => {
    const s = setup(3, true);
    expect(s.r(ID)).toBe(0x03000000);
    expect(s.r(VER)).toBe(0x00050014);
    expect(s.r(SVR)).toBe(0xff);
    expect(s.r(DFR)).toBe(0xffffffff);
    expect(s.r(TPR)).toBe(0);
    for (let off = 0x320; off <= 0x370; off += 0x10) expect(s.r(off)).toBe(MASKED);
    expect(s.lapic.readApicBaseMsr()).toEqual([0xfee00900, 0]);
    expect(setup(1, false).lapic.readApicBaseMsr()).toEqual([0xfee00800, 0]);
  });

  it('ID, LDR and DFR keep only their architectural bits', () => {
    const s = enabled();
    s.w(ID, 0x07123456);
    expect(s.r(ID)).toBe(0x07000000);
    expect(s.lapic.apicId).toBe(7);
    s.w(LDR, 0x81ffffff);
    expect(s.r(LDR)).toBe(0x81000000);
    s.w(DFR, 0x0);
    expect(s.r(DFR)).toBe(0x0fffffff);
    expect(s.lapic.flatModel).toBe(false);
  });

  it('a software-disabled APIC keeps every LVT masked; disabling masks them again', () => {
    const s = setup();
    s.w(LVT_TIMER, 0x40);
    expect(s.r(LVT_TIMER)).toBe(MASKED | 0x40);
    s.w(SVR, 0x1ff);
    s.w(LVT_TIMER, 0x40);
    s.w(LVT_LINT0, 0x700);
    expect(s.r(LVT_TIMER)).toBe(0x40);
    s.w(SVR, 0x0ff);
    expect(s.r(LVT_TIMER)).toBe(MASKED | 0x40);
    expect(s.r(LVT_LINT0)).toBe(MASKED | 0x700);
  });

  it('LVT read-only bits and the ICR delivery status are not stored', () => {
    const s = enabled();
    s.w(LVT_LINT0, 0xffffffff);
    expect(s.r(LVT_LINT0)).toBe(0x0001a7ff);
    s.w(LVT_ERROR, 0xffffffff);
    expect(s.r(LVT_ERROR)).toBe(0x000100ff);
    s.w(ICR_HI, 0xffffffff);
    expect(s.r(ICR_HI)).toBe(0xff000000);
    s.w(ICR_LO, 0x000440ff | (1 << 12)); // self IPI, vector 0xff, status bit set by the guest
    expect(s.r(ICR_LO) & (1 << 12)).toBe(0);
    expect(s.r(ICR_LO)).toBe(0x000440ff);
  });

  it('accesses that are not aligned dwords are logged and ignored', () => {
    const s = enabled();
    s.lapic.mmioWrite(TPR, 1, 0x50);
    s.lapic.mmioWrite(TPR + 4, 4, 0x50);
    expect(s.r(TPR)).toBe(0);
    expect(s.lapic.mmioRead(VER, 2)).toBe(0);
    expect(s.lapic.mmioRead(VER + 8, 4)).toBe(0);
    expect(s.logs.filter((l) => l.startsWith('guest_errors')).length).toBe(4);
    expect(esr(s)).toBe(0);
  });

  it('read-only registers ignore writes', () => {
    const s = enabled();
    s.w(PPR, 0x80);
    s.w(IRR + 0x70, 0xffffffff);
    s.w(VER, 0);
    expect(s.r(PPR)).toBe(0);
    expect(s.r(IRR + 0x70)).toBe(0);
    expect(s.r(VER)).toBe(0x00050014);
  });

  it('a reserved register (including CMCI at 0x2F0) sets "illegal register address"', () => {
    const s = enabled();
    expect(s.r(0x2f0)).toBe(0);
    expect(esr(s)).toBe(0x80);
    s.w(0x040, 1);
    s.w(0x400, 1);
    expect(esr(s)).toBe(0x80);
    expect(esr(s)).toBe(0);
  });

  it('the ESR is write-then-read: errors show only after a write, a second write clears them', () => {
    const s = enabled();
    s.lapic.receive(fixed(5));
    expect(s.r(ESR)).toBe(0);
    s.w(ESR, 0);
    expect(s.r(ESR)).toBe(0x40);
    s.w(ESR, 0);
    expect(s.r(ESR)).toBe(0);
  });
});

describe('local APIC priority, acceptance and EOI', () => {
  it('an interrupt is deliverable only if its class is above PPR', () => {
    const s = enabled();
    s.w(TPR, 0x4f);
    s.lapic.receive(fixed(0x45));
    expect(s.lapic.pendingVector()).toBe(-1);
    s.lapic.receive(fixed(0x50));
    expect(s.lapic.pendingVector()).toBe(0x50);
    s.w(TPR, 0x50);
    expect(s.lapic.pendingVector()).toBe(-1);
    s.w(TPR, 0x3f);
    expect(s.lapic.pendingVector()).toBe(0x50);
  });

  it('acknowledge moves IRR to ISR; PPR follows TPR or the ISR class', () => {
    const s = enabled();
    s.w(TPR, 0x20);
    s.lapic.receive(fixed(0x56));
    expect(s.r(IRR + 0x20)).toBe((1 << 0x16) >>> 0);
    expect(s.lapic.acknowledge()).toBe(0x56);
    expect(s.r(IRR + 0x20)).toBe(0);
    expect(s.r(ISR + 0x20)).toBe((1 << 0x16) >>> 0);
    expect(s.r(PPR)).toBe(0x50);
    s.w(TPR, 0x5a);
    expect(s.r(PPR)).toBe(0x5a);
    s.w(TPR, 0x6b);
    expect(s.r(PPR)).toBe(0x6b);
  });

  it('nested interrupts are EOId highest first, and a same-class request waits for the EOI', () => {
    const s = enabled();
    s.lapic.receive(fixed(0x50));
    expect(s.lapic.acknowledge()).toBe(0x50);
    s.lapic.receive(fixed(0x55));
    expect(s.lapic.pendingVector()).toBe(-1);
    s.lapic.receive(fixed(0x61));
    expect(s.lapic.pendingVector()).toBe(0x61);
    expect(s.lapic.acknowledge()).toBe(0x61);
    expect(s.r(PPR)).toBe(0x60);
    s.w(EOI, 0);
    expect(s.r(ISR + 0x30)).toBe(0);
    expect(s.r(ISR + 0x20)).toBe((1 << 0x10) >>> 0);
    expect(s.lapic.pendingVector()).toBe(-1);
    s.w(EOI, 0);
    expect(s.r(ISR + 0x20)).toBe(0);
    expect(s.lapic.pendingVector()).toBe(0x55);
  });

  it('a request for a vector already in the IRR merges with it', () => {
    const s = enabled();
    s.lapic.receive(fixed(0x80));
    s.lapic.receive(fixed(0x80));
    expect(s.lapic.acknowledge()).toBe(0x80);
    expect(s.lapic.pendingVector()).toBe(-1);
    expect(s.lapic.acknowledge()).toBe(0xff);
  });

  it('a vector in service can be requested again and is delivered after its EOI', () => {
    const s = enabled();
    s.lapic.receive(fixed(0x80));
    s.lapic.acknowledge();
    s.lapic.receive(fixed(0x80));
    const [off, b] = bit(0x80);
    expect(s.r(IRR + off)).toBe(b);
    expect(s.r(ISR + off)).toBe(b);
    expect(s.lapic.pendingVector()).toBe(-1);
    s.w(EOI, 0);
    expect(s.lapic.pendingVector()).toBe(0x80);
  });

  it('nothing pending: acknowledge returns the spurious vector without touching the ISR', () => {
    const s = setup();
    s.w(SVR, 0x1ef);
    expect(s.lapic.acknowledge()).toBe(0xef);
    for (let i = 0; i < 8; i++) expect(s.r(ISR + i * 0x10)).toBe(0);
  });

  it('an illegal vector is not accepted and sets "receive illegal vector"', () => {
    const s = enabled();
    for (const v of [0, 5, 15]) expect(s.lapic.receive(fixed(v))).toBe(false);
    expect(s.r(IRR)).toBe(0);
    expect(s.lapic.pendingVector()).toBe(-1);
    expect(esr(s)).toBe(0x40);
    expect(s.lapic.receive(fixed(16))).toBe(true);
    expect(s.r(IRR)).toBe(0x10000);
  });

  it('an error raises the LVT error interrupt unless masked; an illegal error vector only sets the ESR', () => {
    const s = enabled();
    s.w(LVT_ERROR, 0xee);
    s.lapic.receive(fixed(3));
    expect(s.lapic.pendingVector()).toBe(0xee);
    const t = enabled();
    t.w(LVT_ERROR, MASKED | 0xee);
    t.lapic.receive(fixed(3));
    expect(t.lapic.pendingVector()).toBe(-1);
    expect(esr(t)).toBe(0x40);
    const u = enabled();
    u.w(LVT_ERROR, 0x07);
    u.r(0x2f0);
    expect(u.lapic.pendingVector()).toBe(-1);
    expect(esr(u)).toBe(0xc0);
  });

  it('a self IPI with an illegal vector sets both send and receive illegal vector', () => {
    const s = enabled();
    s.w(ICR_LO, 0x00040000 | 0x03);
    expect(esr(s)).toBe(0x60);
  });

  it('a software-disabled APIC drops fixed interrupts but still takes NMI, INIT and SIPI', () => {
    const s = setup();
    expect(s.lapic.receive(fixed(0x40))).toBe(false);
    expect(s.lapic.pendingVector()).toBe(-1);
    s.lapic.receive({ ...fixed(0), mode: 'nmi' });
    s.lapic.receive({ ...fixed(0), mode: 'init' });
    s.lapic.receive({ ...fixed(0x9a), mode: 'startup' });
    expect(s.cpu.calls).toEqual(['nmi', 'init', 'sipi 154']);
  });

  it('IRR and ISR are held across a software disable and delivered after re-enabling', () => {
    const s = enabled();
    s.lapic.receive(fixed(0x70));
    s.w(SVR, 0xff);
    expect(s.lapic.pendingVector()).toBe(-1);
    s.w(SVR, 0x1ff);
    expect(s.lapic.pendingVector()).toBe(0x70);
  });

  it('TMR records the trigger mode; only a level-triggered EOI is broadcast to IOAPICs', () => {
    const s = enabled();
    const [off, b] = bit(0x91);
    s.lapic.receive(fixed(0x91, 'level'));
    expect(s.r(TMR + off)).toBe(b);
    s.lapic.acknowledge();
    s.w(EOI, 0);
    expect(s.eoiHeard).toEqual([0x91]);
    s.lapic.receive(fixed(0x91, 'edge'));
    expect(s.r(TMR + off)).toBe(0);
    s.lapic.acknowledge();
    s.w(EOI, 0);
    expect(s.eoiHeard).toEqual([0x91]);
    s.w(EOI, 0); // ISR empty: nothing to do
    expect(s.eoiHeard).toEqual([0x91]);
  });

  it('APR follows SDM Figure 11-15', () => {
    const s = enabled();
    s.w(TPR, 0x35);
    expect(s.r(APR)).toBe(0x35);
    s.lapic.receive(fixed(0x47));
    expect(s.r(APR)).toBe(0x40);
    s.w(TPR, 0x4a);
    expect(s.r(APR)).toBe(0x4a);
    s.lapic.acknowledge(); // 0x47 is masked by TPR: nothing moves
    s.w(TPR, 0);
    s.lapic.acknowledge();
    expect(s.r(APR)).toBe(0x40);
    s.w(TPR, 0x45); // same class as the ISR: the ISR class wins, without TPR's low nibble
    expect(s.r(APR)).toBe(0x40);
    s.w(TPR, 0x55);
    expect(s.r(APR)).toBe(0x55);
  });

  it('CR8 is TPR[7:4]; writing it clears TPR[3:0] and kicks the CPU', () => {
    const s = enabled();
    s.w(TPR, 0x5a);
    expect(s.lapic.tpr).toBe(5);
    const kicks = s.cpu.kicks;
    s.lapic.tpr = 0x13;
    expect(s.r(TPR)).toBe(0x30);
    expect(s.cpu.kicks).toBe(kicks + 1);
  });

  it('accepting an interrupt, writing the TPR and EOI kick the CPU', () => {
    const s = enabled();
    let k = s.cpu.kicks;
    s.lapic.receive(fixed(0x40));
    expect(s.cpu.kicks).toBe(++k);
    s.w(TPR, 0);
    expect(s.cpu.kicks).toBe(++k);
    s.lapic.acknowledge();
    s.w(EOI, 0);
    expect(s.cpu.kicks).toBe(++k);
  });
});

describe('local APIC timer', () => {
  const DIVIDERS: [number, number][] = [[0x0, 2], [0x1, 4], [0x2, 8], [0x3, 16], [0x8, 32], [0x9, 64], [0xa, 128], [0xb, 1]];

  for (const [dcr, div] of DIVIDERS) {
    it(`one-shot, divide by ${div}: the count drops once per ${div} ns and expires at initial×${div}`, () => {
      const s = enabled();
      const T0 = 12_345;
      s.clock.advanceTo(T0);
      s.w(TIMER_DCR, dcr);
      s.w(LVT_TIMER, 0x40);
      s.w(TIMER_INIT, 1000);
      expect(s.r(TIMER_CUR)).toBe(1000);
      s.clock.advanceTo(T0 + div - 1);
      expect(s.r(TIMER_CUR)).toBe(1000);
      s.clock.advanceTo(T0 + div);
      expect(s.r(TIMER_CUR)).toBe(999);
      s.clock.advanceTo(T0 + 777 * div + div - 1);
      expect(s.r(TIMER_CUR)).toBe(223);
      s.clock.advanceTo(T0 + 1000 * div - 1);
      expect(s.r(TIMER_CUR)).toBe(1);
      expect(s.lapic.pendingVector()).toBe(-1);
      s.clock.advanceTo(T0 + 1000 * div);
      expect(s.lapic.pendingVector()).toBe(0x40);
      expect(s.r(TIMER_CUR)).toBe(0);
      expect(s.r(TIMER_INIT)).toBe(1000);
      s.lapic.acknowledge();
      s.w(EOI, 0);
      s.clock.advanceTo(T0 + 5000 * div);
      expect(s.lapic.pendingVector()).toBe(-1);
      expect(s.r(TIMER_CUR)).toBe(0);
    });
  }

  it('periodic: reloads at each expiry and interrupts once per period', () => {
    const s = enabled();
    const T0 = 500;
    s.clock.advanceTo(T0);
    s.w(TIMER_DCR, 0x0); // divide by 2
    s.w(LVT_TIMER, PERIODIC | 0x41);
    s.w(TIMER_INIT, 10);
    const fired: number[] = [];
    for (let t = T0; t <= T0 + 100; t++) {
      s.clock.advanceTo(t);
      if (s.lapic.pendingVector() === 0x41) {
        fired.push(t - T0);
        s.lapic.acknowledge();
        s.w(EOI, 0);
      }
      if (t === T0 + 19) expect(s.r(TIMER_CUR)).toBe(1);
      if (t === T0 + 20) expect(s.r(TIMER_CUR)).toBe(10);
      if (t === T0 + 22) expect(s.r(TIMER_CUR)).toBe(9);
      if (t === T0 + 59) expect(s.r(TIMER_CUR)).toBe(1);
    }
    expect(fired).toEqual([20, 40, 60, 80, 100]);
  });

  it('periodic with divide by 128 reads the expected count deep into the third period', () => {
    const s = enabled();
    s.w(TIMER_DCR, 0xa);
    s.w(LVT_TIMER, PERIODIC | 0x41);
    s.w(TIMER_INIT, 3);
    s.clock.advanceTo(2 * 384 + 128 + 127);
    expect(s.r(TIMER_CUR)).toBe(2);
    expect(s.lapic.pendingVector()).toBe(0x41);
  });

  it('a masked timer still counts down but raises nothing', () => {
    const s = enabled();
    s.w(TIMER_DCR, 0xb);
    s.w(LVT_TIMER, MASKED | 0x40);
    s.w(TIMER_INIT, 100);
    s.clock.advanceTo(50);
    expect(s.r(TIMER_CUR)).toBe(50);
    s.clock.advanceTo(200);
    expect(s.r(TIMER_CUR)).toBe(0);
    expect(s.lapic.pendingVector()).toBe(-1);
    expect(s.r(IRR + 0x40)).toBe(0);
  });

  it('writing 0 to the initial count stops the timer; writing again restarts it', () => {
    const s = enabled();
    s.w(TIMER_DCR, 0xb);
    s.w(LVT_TIMER, 0x40);
    s.w(TIMER_INIT, 100);
    s.clock.advanceTo(60);
    s.w(TIMER_INIT, 0);
    s.clock.advanceTo(300);
    expect(s.lapic.pendingVector()).toBe(-1);
    s.w(TIMER_INIT, 100);
    s.clock.advanceTo(399);
    expect(s.r(TIMER_CUR)).toBe(1);
    expect(s.lapic.pendingVector()).toBe(-1);
    s.clock.advanceTo(400);
    expect(s.lapic.pendingVector()).toBe(0x40);
  });

  it('a new divider applies from the present count onwards', () => {
    const s = enabled();
    s.w(TIMER_DCR, 0xb);
    s.w(LVT_TIMER, 0x40);
    s.w(TIMER_INIT, 100);
    s.clock.advanceTo(40);
    s.w(TIMER_DCR, 0x1); // divide by 4 from count 60
    s.clock.advanceTo(80);
    expect(s.r(TIMER_CUR)).toBe(50);
    s.clock.advanceTo(279);
    expect(s.lapic.pendingVector()).toBe(-1);
    s.clock.advanceTo(280);
    expect(s.lapic.pendingVector()).toBe(0x40);
  });

  it('mid-round, the count follows the running vCPU\'s time; a divider change at the expiry instant loses nothing', () => {
    const s = enabled();
    s.w(TIMER_DCR, 0xb);
    s.w(LVT_TIMER, 0x40);
    s.w(TIMER_INIT, 100);
    s.clock.elapsed = () => 37;
    expect(s.r(TIMER_CUR)).toBe(63);
    s.clock.elapsed = () => 100; // the round ends at the due event, which has not fired yet
    expect(s.r(TIMER_CUR)).toBe(0);
    s.w(TIMER_DCR, 0x0);
    s.clock.elapsed = () => 0;
    s.clock.advanceTo(100);
    expect(s.lapic.pendingVector()).toBe(0x40);
  });

  it('switching one-shot to periodic keeps the count running and then reloads', () => {
    const s = enabled();
    s.w(TIMER_DCR, 0xb);
    s.w(LVT_TIMER, 0x40);
    s.w(TIMER_INIT, 100);
    s.clock.advanceTo(30);
    s.w(LVT_TIMER, PERIODIC | 0x40);
    expect(s.r(TIMER_CUR)).toBe(70);
    s.clock.advanceTo(150);
    expect(s.r(TIMER_CUR)).toBe(50);
    expect(s.lapic.pendingVector()).toBe(0x40);
  });

  it('TSC deadline: fires exactly at the deadline, then the MSR reads 0', () => {
    const s = enabled();
    s.clock.advanceTo(1000);
    s.w(LVT_TIMER, TSC_DEADLINE | 0x42);
    const deadline = s.cpu.tsc() + 500;
    s.lapic.writeTscDeadline(deadline);
    expect(s.lapic.readTscDeadline()).toBe(deadline);
    s.clock.advanceTo(1499);
    expect(s.lapic.pendingVector()).toBe(-1);
    s.clock.advanceTo(1500);
    expect(s.lapic.pendingVector()).toBe(0x42);
    expect(s.lapic.readTscDeadline()).toBe(0);
  });

  it('TSC deadline: a deadline in the past fires at once; 0 disarms; the count registers are inert', () => {
    const s = enabled();
    s.clock.advanceTo(1000);
    s.w(LVT_TIMER, TSC_DEADLINE | 0x42);
    s.lapic.writeTscDeadline(s.cpu.tsc() - 1);
    expect(s.lapic.pendingVector()).toBe(0x42);
    s.lapic.acknowledge();
    s.w(EOI, 0);
    s.lapic.writeTscDeadline(s.cpu.tsc() + 100);
    s.lapic.writeTscDeadline(0);
    s.clock.advanceTo(5000);
    expect(s.lapic.pendingVector()).toBe(-1);
    s.w(TIMER_INIT, 10);
    expect(s.r(TIMER_INIT)).toBe(0);
    expect(s.r(TIMER_CUR)).toBe(0);
    s.clock.advanceTo(6000);
    expect(s.lapic.pendingVector()).toBe(-1);
  });

  it('TSC deadline: a masked timer clears the MSR without an interrupt', () => {
    const s = enabled();
    s.w(LVT_TIMER, MASKED | TSC_DEADLINE | 0x42);
    s.lapic.writeTscDeadline(s.cpu.tsc() + 10);
    s.clock.advanceTo(10);
    expect(s.lapic.readTscDeadline()).toBe(0);
    expect(s.lapic.pendingVector()).toBe(-1);
  });

  it('TSC deadline: ignored outside deadline mode; leaving deadline mode disarms it for good', () => {
    const s = enabled();
    s.w(LVT_TIMER, 0x42);
    s.lapic.writeTscDeadline(s.cpu.tsc() + 10);
    expect(s.lapic.readTscDeadline()).toBe(0);
    s.clock.advanceTo(100);
    expect(s.lapic.pendingVector()).toBe(-1);
    s.w(LVT_TIMER, TSC_DEADLINE | 0x42);
    s.lapic.writeTscDeadline(s.cpu.tsc() + 50);
    s.w(LVT_TIMER, 0x42);
    expect(s.lapic.readTscDeadline()).toBe(0);
    s.w(LVT_TIMER, TSC_DEADLINE | 0x42);
    expect(s.lapic.readTscDeadline()).toBe(0);
    s.clock.advanceTo(1000);
    expect(s.lapic.pendingVector()).toBe(-1);
  });

  it('entering TSC-deadline mode stops a running periodic timer', () => {
    const s = enabled();
    s.w(TIMER_DCR, 0xb);
    s.w(LVT_TIMER, PERIODIC | 0x40);
    s.w(TIMER_INIT, 100);
    s.clock.advanceTo(50);
    s.w(LVT_TIMER, TSC_DEADLINE | 0x40);
    expect(s.r(TIMER_INIT)).toBe(0);
    s.clock.advanceTo(1000);
    expect(s.lapic.pendingVector()).toBe(-1);
  });
});

describe('local APIC LINT pins', () => {
  function pic(vector: number) {
    const acks: number[] = [];
    return { acks, acknowledge: () => { acks.push(vector); return vector; } };
  }

  it('LINT0 as ExtINT: the 8259 supplies the vector at acknowledge', () => {
    const s = enabled();
    const p = pic(0x28);
    s.lapic.extInt = p;
    s.w(LVT_LINT0, 0x700);
    s.lapic.setLint(0, true);
    expect(s.lapic.pendingVector()).toBe(EXTINT);
    expect(s.lapic.acknowledge()).toBe(0x28);
    expect(p.acks).toEqual([0x28]);
    s.lapic.setLint(0, false);
    expect(s.lapic.pendingVector()).toBe(-1);
  });

  it('a fixed interrupt above PPR is taken before ExtINT', () => {
    const s = enabled();
    s.lapic.extInt = pic(0x28);
    s.w(LVT_LINT0, 0x700);
    s.lapic.setLint(0, true);
    s.lapic.receive(fixed(0x90));
    expect(s.lapic.acknowledge()).toBe(0x90);
    expect(s.lapic.acknowledge()).toBe(0x28);
  });

  it('a masked LINT0 hides the 8259; unmasking with INTR high shows it', () => {
    const s = enabled();
    s.lapic.setLint(0, true);
    expect(s.lapic.pendingVector()).toBe(-1);
    s.w(LVT_LINT0, 0x700);
    expect(s.lapic.pendingVector()).toBe(EXTINT);
  });

  it('LINT1 as NMI acts on the rising edge only, after polarity', () => {
    const s = enabled();
    s.w(LVT_LINT1, 0x400);
    s.lapic.setLint(1, true);
    s.lapic.setLint(1, true);
    expect(s.cpu.calls).toEqual(['nmi']);
    s.lapic.setLint(1, false);
    s.lapic.setLint(1, true);
    expect(s.cpu.calls).toEqual(['nmi', 'nmi']);
    s.cpu.calls = [];
    s.w(LVT_LINT1, 0x400 | (1 << 13)); // active low: the line is high, so de-asserted
    s.lapic.setLint(1, false);
    expect(s.cpu.calls).toEqual(['nmi']);
    s.w(LVT_LINT1, MASKED | 0x400);
    s.lapic.setLint(1, true);
    s.lapic.setLint(1, false);
    expect(s.cpu.calls).toEqual(['nmi']);
  });

  it('LINT0 fixed level-triggered: remote IRR holds it until EOI, then it is re-delivered while asserted', () => {
    const s = enabled();
    s.w(LVT_LINT0, (1 << 15) | 0x31);
    s.lapic.setLint(0, true);
    expect(s.r(LVT_LINT0) & (1 << 14)).not.toBe(0);
    const [off, b] = bit(0x31);
    expect(s.r(TMR + off)).toBe(b);
    expect(s.lapic.acknowledge()).toBe(0x31);
    expect(s.lapic.pendingVector()).toBe(-1);
    s.w(EOI, 0);
    expect(s.lapic.pendingVector()).toBe(0x31);
    s.lapic.setLint(0, false);
    s.lapic.acknowledge();
    s.w(EOI, 0);
    expect(s.r(LVT_LINT0) & (1 << 14)).toBe(0);
    expect(s.lapic.pendingVector()).toBe(-1);
  });

  it('LINT0 fixed edge-triggered delivers once per rising edge', () => {
    const s = enabled();
    s.w(LVT_LINT0, 0x32);
    s.lapic.setLint(0, true);
    expect(s.lapic.acknowledge()).toBe(0x32);
    s.w(EOI, 0);
    s.lapic.setLint(0, true);
    expect(s.lapic.pendingVector()).toBe(-1);
  });

  it('with the APIC globally disabled, LINT0 is INTR and LINT1 is NMI whatever the LVT says', () => {
    const s = enabled();
    s.lapic.extInt = pic(0x21);
    expect(s.lapic.writeApicBaseMsr(0xfee00000, 0)).toBe(true);
    s.lapic.setLint(0, true);
    expect(s.lapic.pendingVector()).toBe(EXTINT);
    expect(s.lapic.acknowledge()).toBe(0x21);
    s.lapic.setLint(1, true);
    expect(s.cpu.calls).toEqual(['nmi']);
  });
});

describe('IA32_APIC_BASE and resets', () => {
  it('reserved bits are refused; the BSP flag is read-only; the base moves', () => {
    const s = setup(0, false);
    expect(s.lapic.writeApicBaseMsr(0xfee00800 | 0x400, 0)).toBe(false); // x2APIC enable
    expect(s.lapic.writeApicBaseMsr(0xfee00801, 0)).toBe(false);
    expect(s.lapic.writeApicBaseMsr(0xfee00800, 0x100)).toBe(false); // above MAXPHYADDR 40
    expect(s.lapic.base).toBe(0xfee00000);
    expect(s.lapic.writeApicBaseMsr(0xfed00900, 0x12)).toBe(true);
    expect(s.lapic.base).toBe(0x12_fed00000);
    expect(s.lapic.readApicBaseMsr()).toEqual([0xfed00800, 0x12]);
  });

  it('clearing the global enable returns the registers to power-up state; it can be enabled again', () => {
    const s = enabled(2);
    s.w(ID, 0x09000000);
    s.w(TPR, 0x30);
    s.w(LVT_TIMER, 0x40);
    s.lapic.receive(fixed(0x50));
    s.lapic.writeApicBaseMsr(0xfee00000, 0);
    expect(s.lapic.hwEnabled).toBe(false);
    expect(s.lapic.pendingVector()).toBe(-1);
    s.lapic.writeApicBaseMsr(0xfee00800, 0);
    expect(s.lapic.hwEnabled).toBe(true);
    expect(s.r(ID)).toBe(0x02000000);
    expect(s.r(SVR)).toBe(0xff);
    expect(s.r(TPR)).toBe(0);
    expect(s.r(LVT_TIMER)).toBe(MASKED);
    expect(s.r(IRR + 0x20)).toBe(0);
  });

  it('INIT resets the APIC but keeps the APIC ID and APIC_BASE, then resets the vCPU', () => {
    const s = enabled(1);
    s.w(ID, 0x07000000);
    s.lapic.writeApicBaseMsr(0xfed00800, 0);
    s.w(LDR, 0x01000000);
    s.w(TIMER_DCR, 0xb);
    s.w(LVT_TIMER, 0x40);
    s.w(TIMER_INIT, 100);
    s.lapic.receive(fixed(0x60));
    s.lapic.receive({ ...fixed(0), mode: 'init' });
    expect(s.cpu.calls).toEqual(['init']);
    expect(s.r(ID)).toBe(0x07000000);
    expect(s.lapic.base).toBe(0xfed00000);
    expect(s.r(LDR)).toBe(0);
    expect(s.r(SVR)).toBe(0xff);
    expect(s.r(IRR + 0x30)).toBe(0);
    expect(s.r(LVT_TIMER)).toBe(MASKED);
    s.w(SVR, 0x1ff);
    s.clock.advanceTo(1000);
    expect(s.lapic.pendingVector()).toBe(-1);
  });

  it('power-up reset restores the ID and APIC_BASE as well', () => {
    const s = enabled(4);
    s.w(ID, 0x07000000);
    s.lapic.writeApicBaseMsr(0xfed00800, 0);
    s.lapic.reset('power');
    expect(s.r(ID)).toBe(0x04000000);
    expect(s.lapic.base).toBe(0xfee00000);
  });
});

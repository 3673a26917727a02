/**
 * The 16550A against the PC16550D datasheet: register map and DLAB, IIR
 * priorities, the THRE interrupt rules, FIFO trigger levels, the 4-character
 * timeout on virtual time, loopback, OUT2 gating of the IRQ, and host input
 * paced at the programmed baud rate.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../emu/machine/clock.js';
import { Uart16550 } from '../../emu/machine/uart16550.js';

const BASE = 0x3f8;
const RBR = BASE, IER = BASE + 1, IIR = BASE + 2, FCR = BASE + 2, LCR = BASE + 3, MCR = BASE + 4, LSR = BASE + 5, MSR = BASE + 6, SCR = BASE + 7;

let clock: VirtualClock;
let uart: Uart16550;
let out: number[];
let irq: boolean[];
let logs: string[];

const rd = (p: number): number => uart.portRead(p, 1);
const wr = (p: number, v: number): void => uart.portWrite(p, 1, v);
const level = (): boolean => irq.length > 0 && irq[irq.length - 1];
const advance = (ns: number): void => clock.advanceTo(clock.now + ns);

/** 8N1 at 115200 baud: 10 bits of 1e9/115200 ns. */
const CT_115200 = Math.round(10 * 1e9 / 115200);

function setDivisor(d: number): void {
  const lcr = rd(LCR);
  wr(LCR, lcr | 0x80);
  wr(RBR, d & 0xff);
  wr(IER, d >> 8);
  wr(LCR, lcr);
}

beforeEach(() => {
  clock = new VirtualClock();
  out = [];
  irq = [];
  logs = [];
  uart = new Uart16550(BASE, clock, { set: (l) => irq.push(l) }, (b) => out.push(b), (c, l) => logs.push(`${c}: ${l}`));
});

describe('registers', () => {
  it('has the datasheet reset values', () => {
    expect(rd(IER)).toBe(0);
    expect(rd(IIR)).toBe(0x01);
    expect(rd(LCR)).toBe(0);
    expect(rd(MCR)).toBe(0);
    expect(rd(LSR)).toBe(0x60);
    expect(rd(MSR)).toBe(0xb0);
  });

  it('maps DLL/DLM over RBR/IER while LCR.DLAB is set', () => {
    wr(LCR, 0x83);
    wr(RBR, 0x01);
    wr(IER, 0x02);
    expect(rd(RBR)).toBe(0x01);
    expect(rd(IER)).toBe(0x02);
    expect(out).toEqual([]);
    expect(uart.divisor).toBe(0x0201);
    wr(LCR, 0x03);
    expect(rd(IER)).toBe(0);
    wr(IER, 0xff);
    expect(rd(IER)).toBe(0x0f);
    wr(RBR, 0x41);
    expect(out).toEqual([0x41]);
    wr(LCR, 0x80);
    expect(rd(RBR)).toBe(0x01);
  });

  it('keeps the scratch register and masks MCR to five bits', () => {
    wr(SCR, 0x5a);
    expect(rd(SCR)).toBe(0x5a);
    wr(MCR, 0xff);
    expect(rd(MCR)).toBe(0x1f);
  });

  it('splits a 16-bit access into two byte registers, as the ISA bus does', () => {
    uart.portWrite(LCR, 2, 0x0b03);
    expect(rd(LCR)).toBe(0x03);
    expect(rd(MCR)).toBe(0x0b);
    expect(uart.portRead(LCR, 2)).toBe(0x0b03);
  });

  it('logs writes to the read-only status registers', () => {
    wr(LSR, 0);
    wr(MSR, 0);
    expect(logs.filter((l) => l.startsWith('unimp'))).toHaveLength(2);
    expect(rd(LSR)).toBe(0x60);
  });
});

describe('transmit', () => {
  it('sends at once and leaves THR and the shifter empty', () => {
    wr(LCR, 0x03);
    for (const c of 'hi') wr(RBR, c.charCodeAt(0));
    expect(out).toEqual([0x68, 0x69]);
    expect(rd(LSR) & 0x60).toBe(0x60);
  });

  it('sends only the programmed word length', () => {
    wr(LCR, 0x02);
    wr(RBR, 0xff);
    expect(out).toEqual([0x7f]);
  });
});

describe('THRE interrupt', () => {
  beforeEach(() => wr(MCR, 0x08));

  it('rises when IER.THRE is enabled with THR empty, and reading IIR clears it', () => {
    wr(IER, 0x02);
    expect(level()).toBe(true);
    expect(rd(IIR)).toBe(0x02);
    expect(level()).toBe(false);
    expect(rd(IIR)).toBe(0x01);
  });

  it('comes back after each THR write', () => {
    wr(IER, 0x02);
    rd(IIR);
    wr(RBR, 0x41);
    expect(level()).toBe(true);
    expect(rd(IIR)).toBe(0x02);
  });

  it('re-arms when IER.THRE is toggled off and on, not on a rewrite of the same value', () => {
    wr(IER, 0x02);
    rd(IIR);
    wr(IER, 0x02);
    expect(rd(IIR)).toBe(0x01);
    wr(IER, 0x00);
    wr(IER, 0x02);
    expect(rd(IIR)).toBe(0x02);
  });

  it('is not cleared by an IIR read that reports a higher-priority source', () => {
    wr(FCR, 0x01);
    wr(MCR, 0x18);
    wr(RBR, 0x55); // loopback: received, and THR empty again
    wr(IER, 0x03);
    expect(rd(IIR)).toBe(0xc4);
    expect(rd(IIR)).toBe(0xc4);
    rd(RBR);
    expect(rd(IIR)).toBe(0xc2);
    expect(rd(IIR)).toBe(0xc1);
  });
});

describe('IRQ line', () => {
  it('is gated by MCR.OUT2', () => {
    wr(IER, 0x02);
    expect(irq).toEqual([]);
    expect(rd(IIR)).toBe(0x02); // pending, just not driven
    wr(IER, 0);
    wr(IER, 0x02);
    wr(MCR, 0x08);
    expect(level()).toBe(true);
    wr(MCR, 0x00);
    expect(level()).toBe(false);
  });

  it('is driven in loopback too, still gated by MCR.OUT2 (PC UARTs; BSD sio probes this way)', () => {
    wr(MCR, 0x18);
    wr(IER, 0x02);
    expect(level()).toBe(true);
    wr(MCR, 0x10);
    expect(level()).toBe(false);
    expect(rd(IIR)).toBe(0x02); // still pending, just not driven
  });
});

describe('interrupt priority', () => {
  it('orders line status, received data, THRE, modem status', () => {
    wr(LCR, 0x03);
    wr(FCR, 0x07);
    wr(MCR, 0x10); // loopback: modem inputs change from DCD|DSR|CTS to none
    for (let i = 0; i < 17; i++) wr(RBR, 0x30 + i); // one more than the FIFO holds
    wr(IER, 0x0f);
    expect(rd(IIR)).toBe(0xc6);
    expect(rd(LSR)).toBe(0x63); // DR | OE | THRE | TEMT; OE clears on read
    expect(rd(LSR)).toBe(0x61);
    expect(rd(IIR)).toBe(0xc4);
    const got: number[] = [];
    while (rd(LSR) & 1) got.push(rd(RBR));
    expect(got).toEqual(Array.from({ length: 16 }, (_, i) => 0x30 + i)); // the 17th was lost
    expect(rd(IIR)).toBe(0xc2);
    expect(rd(IIR)).toBe(0xc0);
    expect(rd(MSR)).toBe(0x0b); // DCTS | DDSR | DDCD
    expect(rd(IIR)).toBe(0xc1);
  });
});

describe('FIFO', () => {
  beforeEach(() => {
    setDivisor(1);
    wr(LCR, 0x03);
    wr(MCR, 0x08);
    wr(IER, 0x01);
  });

  it('reports IIR bits 7:6 only with FIFOs enabled', () => {
    expect(rd(IIR)).toBe(0x01);
    wr(FCR, 0x01);
    expect(rd(IIR)).toBe(0xc1);
    wr(FCR, 0x00);
    expect(rd(IIR)).toBe(0x01);
  });

  it('raises received-data at the trigger level (14)', () => {
    wr(FCR, 0xc1);
    uart.receive(new Uint8Array(14).fill(0x61));
    advance(13 * CT_115200);
    expect(rd(LSR) & 1).toBe(1);
    expect(rd(IIR)).toBe(0xc1);
    expect(level()).toBe(false);
    advance(CT_115200);
    expect(rd(IIR)).toBe(0xc4);
    expect(level()).toBe(true);
    rd(RBR);
    expect(rd(IIR)).toBe(0xc1);
  });

  it('raises a character timeout 4 character times after the last arrival, and a read restarts it', () => {
    wr(FCR, 0x81); // trigger 8
    uart.receive(new Uint8Array([1, 2, 3]));
    advance(3 * CT_115200);
    const arrived = clock.now;
    advance(4 * CT_115200 - 1);
    expect(rd(IIR)).toBe(0xc1);
    advance(1);
    expect(clock.now - arrived).toBe(4 * CT_115200);
    expect(rd(IIR)).toBe(0xcc);
    expect(level()).toBe(true);
    expect(rd(RBR)).toBe(1);
    expect(rd(IIR)).toBe(0xc1);
    expect(level()).toBe(false);
    advance(4 * CT_115200 - 1);
    expect(rd(IIR)).toBe(0xc1);
    advance(1);
    expect(rd(IIR)).toBe(0xcc);
    rd(RBR);
    rd(RBR);
    advance(100 * CT_115200);
    expect(rd(IIR)).toBe(0xc1); // empty FIFO: no timeout
  });

  it('clears the RX FIFO on FCR bit 1', () => {
    wr(FCR, 0x01);
    uart.receive(new Uint8Array([1, 2]));
    advance(2 * CT_115200);
    expect(rd(LSR) & 1).toBe(1);
    wr(FCR, 0x03);
    expect(rd(LSR) & 1).toBe(0);
  });
});

describe('receive pacing', () => {
  it('moves one byte per character time at 115200 8N1', () => {
    setDivisor(1);
    wr(LCR, 0x03);
    wr(FCR, 0x01);
    expect(uart.charTimeNs()).toBe(86806);
    uart.receive(new TextEncoder().encode('abc'));
    expect(uart.hasPendingInput()).toBe(true);
    advance(CT_115200 - 1);
    expect(rd(LSR) & 1).toBe(0);
    advance(1);
    expect(uart.rxFifo).toEqual([0x61]);
    advance(CT_115200);
    expect(uart.rxFifo).toEqual([0x61, 0x62]);
    advance(CT_115200);
    expect(uart.rxFifo).toEqual([0x61, 0x62, 0x63]);
    expect(uart.hasPendingInput()).toBe(false);
  });

  it('derives the character time from divisor and framing', () => {
    setDivisor(12);
    wr(LCR, 0x1e); // 7 data bits, even parity, 2 stop bits: 11 bits
    expect(uart.charTimeNs()).toBe(Math.round(11 * 12 * 1e9 / 115200));
    wr(LCR, 0x04); // 5 data bits, 1.5 stop bits: 7.5 bits
    expect(uart.charTimeNs()).toBe(Math.round(7.5 * 12 * 1e9 / 115200));
  });

  it('holds host input while the FIFO is full instead of overrunning', () => {
    setDivisor(1);
    wr(LCR, 0x03);
    wr(FCR, 0x01);
    uart.receive(new Uint8Array(40).map((_, i) => i));
    advance(100 * CT_115200);
    expect(uart.rxFifo).toHaveLength(16);
    expect(uart.hasPendingInput()).toBe(true);
    expect(rd(LSR)).toBe(0x61); // no overrun
    const got: number[] = [];
    for (let i = 0; i < 40; i++) {
      while (!(rd(LSR) & 1)) advance(CT_115200);
      got.push(rd(RBR));
    }
    expect(got).toEqual(Array.from({ length: 40 }, (_, i) => i));
    expect(uart.hasPendingInput()).toBe(false);
  });

  it('without FIFOs, waits for each byte to be read', () => {
    setDivisor(1);
    wr(LCR, 0x03);
    uart.receive(new Uint8Array([7, 8]));
    advance(10 * CT_115200);
    expect(rd(LSR)).toBe(0x61);
    expect(rd(RBR)).toBe(7);
    advance(CT_115200 - 1);
    expect(rd(LSR) & 1).toBe(0);
    advance(1);
    expect(rd(RBR)).toBe(8);
  });

  it('keeps host input queued during loopback', () => {
    setDivisor(1);
    wr(MCR, 0x10);
    uart.receive(new Uint8Array([9]));
    advance(10 * CT_115200);
    expect(rd(LSR) & 1).toBe(0);
    wr(MCR, 0x00);
    advance(CT_115200);
    expect(rd(RBR)).toBe(9);
  });
});

describe('loopback', () => {
  beforeEach(() => wr(LCR, 0x03));

  it('returns transmitted bytes to the receiver instead of the host', () => {
    wr(MCR, 0x10);
    wr(RBR, 0x42);
    expect(out).toEqual([]);
    expect(rd(LSR)).toBe(0x61);
    expect(rd(RBR)).toBe(0x42);
  });

  it('overwrites RBR on overrun without FIFOs', () => {
    wr(MCR, 0x10);
    wr(RBR, 1);
    wr(RBR, 2);
    expect(rd(LSR)).toBe(0x63);
    expect(rd(RBR)).toBe(2);
  });

  it('feeds MCR outputs to the modem inputs, with deltas and a modem-status interrupt', () => {
    wr(MCR, 0x10);
    rd(MSR);
    wr(MCR, 0x1a); // RTS and OUT2: Linux's autoconfig expects CTS|DCD = 0x90
    expect(rd(MSR)).toBe(0x99);
    expect(rd(MSR)).toBe(0x90);
    wr(MCR, 0x15); // DTR and OUT1: DSR and RI
    wr(IER, 0x08);
    expect(rd(IIR)).toBe(0x00);
    expect(rd(MSR)).toBe(0x6b);
    wr(MCR, 0x11); // RI falls: trailing-edge RI
    expect(rd(MSR)).toBe(0x24);
    expect(rd(IIR)).toBe(0x01);
  });
});

/**
 * The cascaded 8259A pair against the Intel datasheet: ICW sequence and
 * remapping, masks, EOI forms, priority and rotation, cascade through IR2,
 * spurious IRQ 7/15, poll, special mask and fully nested modes, AEOI, and
 * PIIX ELCR level triggering.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { Pic8259Pair } from '../../emu/machine/pic8259.js';

let pic: Pic8259Pair;
let intr: boolean[];
let logs: string[];

const wr = (p: number, v: number): void => pic.portWrite(p, 1, v);
const rd = (p: number): number => pic.portRead(p, 1);
const raise = (irq: number): void => pic.setIrq(irq, true);
const lower = (irq: number): void => pic.setIrq(irq, false);

/** Linux's init: edge, cascade, ICW4; master at 0x20, slave at 0x28 on IR2; optional ICW4 bits. */
function init(masterIcw4 = 0x01, slaveIcw4 = 0x01): void {
  wr(0x20, 0x11); wr(0x21, 0x20); wr(0x21, 0x04); wr(0x21, masterIcw4);
  wr(0xa0, 0x11); wr(0xa1, 0x28); wr(0xa1, 0x02); wr(0xa1, slaveIcw4);
}

function isr(port: number): number {
  wr(port, 0x0b);
  const v = rd(port);
  wr(port, 0x0a);
  return v;
}

beforeEach(() => {
  intr = [];
  logs = [];
  pic = new Pic8259Pair((l) => intr.push(l), (c, l) => logs.push(`${c}: ${l}`));
});

describe('initialisation', () => {
  it('starts with every input masked and delivers nothing', () => {
    expect(rd(0x21)).toBe(0xff);
    expect(rd(0xa1)).toBe(0xff);
    raise(1);
    expect(intr).toEqual([]);
    expect(rd(0x20)).toBe(0x02); // the request is in IRR, just masked
  });

  it('remaps to 0x20/0x28 and clears IMR with ICW1', () => {
    init();
    expect(rd(0x21)).toBe(0x00);
    expect(rd(0xa1)).toBe(0x00);
    raise(1);
    expect(intr).toEqual([true]);
    expect(pic.acknowledge()).toBe(0x21);
    expect(intr).toEqual([true, false]);
  });

  it('needs a new rising edge after ICW1 for an input already high', () => {
    raise(4);
    init();
    expect(intr).toEqual([]);
    lower(4);
    raise(4);
    expect(pic.acknowledge()).toBe(0x24);
  });

  it('takes OCW1 between ICWs only once the sequence is complete', () => {
    wr(0x20, 0x11);
    wr(0x21, 0x40);
    wr(0x21, 0x04);
    wr(0x21, 0x01);
    wr(0x21, 0xfd);
    expect(rd(0x21)).toBe(0xfd);
    raise(1);
    expect(pic.acknowledge()).toBe(0x41);
  });
});

describe('masking, EOI and priority', () => {
  beforeEach(() => init());

  it('holds a masked request in IRR and delivers it when unmasked', () => {
    wr(0x21, 0x08);
    raise(3);
    expect(intr).toEqual([]);
    wr(0x21, 0x00);
    expect(intr).toEqual([true]);
    expect(pic.acknowledge()).toBe(0x23);
  });

  it('serves the higher priority first and holds lower ones until EOI', () => {
    raise(3);
    raise(1);
    expect(pic.acknowledge()).toBe(0x21);
    expect(isr(0x20)).toBe(0x02);
    expect(pic.intr).toBe(false); // IRQ 3 waits behind IRQ 1 in service
    raise(0);
    expect(pic.intr).toBe(true); // IRQ 0 nests
    expect(pic.acknowledge()).toBe(0x20);
    wr(0x20, 0x20); // non-specific EOI: IRQ 0
    expect(isr(0x20)).toBe(0x02);
    expect(pic.intr).toBe(false);
    wr(0x20, 0x61); // specific EOI for IRQ 1
    expect(isr(0x20)).toBe(0x00);
    expect(pic.acknowledge()).toBe(0x23);
  });

  it('reads IRR by default and ISR after OCW3', () => {
    raise(5);
    raise(6);
    expect(rd(0x20)).toBe(0x60);
    pic.acknowledge();
    wr(0x20, 0x0b);
    expect(rd(0x20)).toBe(0x20);
    wr(0x20, 0x0a);
    expect(rd(0x20)).toBe(0x40);
  });

  it('does not interrupt again on a level that stays high in edge mode', () => {
    raise(4);
    expect(pic.acknowledge()).toBe(0x24);
    wr(0x20, 0x20);
    expect(pic.intr).toBe(false);
    lower(4);
    raise(4);
    expect(pic.intr).toBe(true);
  });

  it('rotates priorities with set-priority and rotate-on-EOI commands', () => {
    wr(0x20, 0xc3); // IR3 lowest, IR4 highest
    raise(1);
    raise(5);
    expect(pic.acknowledge()).toBe(0x25);
    wr(0x20, 0xa0); // rotate on non-specific EOI: IR5 becomes lowest
    expect(pic.acknowledge()).toBe(0x21);
    wr(0x20, 0x20);
    lower(5);
    raise(5);
    raise(7);
    expect(pic.acknowledge()).toBe(0x27); // IR6 is now highest, then 7 … 5 last
  });

  it('answers a poll with the highest request and marks it in service', () => {
    raise(6);
    wr(0x20, 0x0c);
    expect(rd(0x20)).toBe(0x86);
    expect(isr(0x20)).toBe(0x40);
    wr(0x20, 0x0c);
    expect(rd(0x20)).toBe(0x00);
  });

  it('lets lower priorities through in special mask mode', () => {
    raise(1);
    expect(pic.acknowledge()).toBe(0x21);
    raise(3);
    expect(pic.intr).toBe(false);
    wr(0x21, 0x02);
    wr(0x20, 0x68); // set special mask
    expect(pic.intr).toBe(true);
    expect(pic.acknowledge()).toBe(0x23);
    wr(0x20, 0x20); // non-specific EOI skips the masked IRQ 1
    expect(isr(0x20)).toBe(0x02);
    wr(0x20, 0x48); // reset special mask
  });
});

describe('cascade and spurious interrupts', () => {
  beforeEach(() => init());

  it('delivers slave IRQs through master IR2 with both ISRs set', () => {
    raise(12);
    expect(intr).toEqual([true]);
    expect(pic.acknowledge()).toBe(0x2c);
    expect(isr(0x20)).toBe(0x04);
    expect(isr(0xa0)).toBe(0x10);
    raise(9);
    expect(pic.intr).toBe(false); // master IR2 in service blocks the slave
    wr(0xa0, 0x20);
    wr(0x20, 0x20);
    expect(pic.acknowledge()).toBe(0x29);
  });

  it('lets a higher slave IRQ nest in special fully nested mode', () => {
    init(0x11);
    raise(12);
    expect(pic.acknowledge()).toBe(0x2c);
    raise(9);
    expect(pic.intr).toBe(true);
    expect(pic.acknowledge()).toBe(0x29);
    expect(isr(0xa0)).toBe(0x12);
  });

  it('answers IRQ 7 when the edge request fell before the acknowledge, without setting ISR', () => {
    raise(3);
    expect(pic.intr).toBe(true);
    lower(3);
    expect(pic.intr).toBe(false);
    expect(rd(0x20)).toBe(0x00);
    expect(pic.acknowledge()).toBe(0x27);
    expect(isr(0x20)).toBe(0x00);
  });

  it('answers IRQ 7 when the request was masked before the acknowledge', () => {
    raise(12);
    wr(0xa1, 0x10);
    expect(pic.intr).toBe(false);
    expect(pic.acknowledge()).toBe(0x27);
    expect(isr(0x20)).toBe(0x00);
    expect(isr(0xa0)).toBe(0x00);
    wr(0xa1, 0x00);
    expect(pic.acknowledge()).toBe(0x2c); // the masked request was kept
  });

  it('does not set ISR in auto-EOI mode', () => {
    init(0x03);
    raise(5);
    expect(pic.acknowledge()).toBe(0x25);
    expect(isr(0x20)).toBe(0x00);
    raise(6);
    expect(pic.acknowledge()).toBe(0x26);
  });
});

describe('ELCR level triggering', () => {
  beforeEach(() => init());

  it('requests while a level-triggered line is high, again after EOI', () => {
    wr(0x4d1, 0x08); // IRQ 11 level
    expect(rd(0x4d1)).toBe(0x08);
    raise(11);
    expect(pic.acknowledge()).toBe(0x2b);
    expect(pic.intr).toBe(false);
    wr(0xa0, 0x20);
    wr(0x20, 0x20);
    expect(pic.intr).toBe(true); // still high: asks again
    lower(11);
    expect(pic.intr).toBe(false);
    expect(rd(0xa0)).toBe(0x00);
  });

  it('keeps IRQ 0, 1, 2, 8 and 13 edge-triggered', () => {
    wr(0x4d0, 0xff);
    wr(0x4d1, 0xff);
    expect(rd(0x4d0)).toBe(0xf8);
    expect(rd(0x4d1)).toBe(0xde);
    expect(logs.filter((l) => l.startsWith('guest_errors'))).toHaveLength(2);
  });

  it('rejects the cascade input as an IRQ source', () => {
    expect(() => raise(2)).toThrow(RangeError);
  });
});

/**
 * How PCI devices reach the rest of the machine: BARs decoded where the guest
 * puts them (moved, turned off, overlapping another window), INTx# lines that
 * share an IRQ as a wired OR, and the PIIX3/SeaBIOS routing of (slot, pin) to
 * IRQ 10 and 11 that QEMU's `pc` uses.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { MmioBus, PortBus, type MmioDevice, type PortDevice } from '../../emu/machine/bus.js';
import { PciFunction, attachBars, PCI_COMMAND_IO, PCI_COMMAND_MEMORY } from '../../emu/machine/pci.js';
import { SharedIrq, pciIntxIrq } from '../../emu/machine/irq.js';

let ports: PortBus;
let mmio: MmioBus;
let logs: string[];
let fn: PciFunction;
const seen: string[] = [];

const regs: MmioDevice = { mmioRead: (o, size) => { seen.push(`mem read ${o.toString(16)}/${size}`); return 0x1234; }, mmioWrite: (o, size, v) => { seen.push(`mem write ${o.toString(16)}/${size}=${v.toString(16)}`); } };
const io: PortDevice = { portRead: (p, size) => { seen.push(`io read ${p}/${size}`); return 0x56; }, portWrite: (p, size, v) => { seen.push(`io write ${p}/${size}=${v.toString(16)}`); } };

beforeEach(() => {
  logs = [];
  seen.length = 0;
  const log = (c: string, l: string): void => { logs.push(`${c}: ${l}`); };
  ports = new PortBus(log);
  mmio = new MmioBus(log);
  fn = new PciFunction({ vendor: 0x1af4, device: 0x1001, classCode: 0x018000, revision: 0 });
  fn.addBar(0, 'io', 0x40);
  fn.addBar(4, 'mem64', 0x4000);
  attachBars(fn, ports, mmio, log, { 0: io, 4: regs });
});

function place(ioBase: number, memBase: number, command = PCI_COMMAND_IO | PCI_COMMAND_MEMORY): void {
  fn.writeConfig(0x10, 4, ioBase);
  fn.writeConfig(0x20, 4, memBase);
  fn.writeConfig(0x24, 4, 0);
  fn.writeConfig(0x04, 2, command);
}

describe('attachBars', () => {
  it('decodes each BAR at its address with offsets relative to the BAR, in the access width given', () => {
    place(0xc000, 0xe0000000);
    expect(ports.read(0xc012, 2)).toBe(0x56);
    ports.write(0xc03f, 1, 0xaa);
    expect(mmio.read(0xe0003000, 2)).toBe(0x1234);
    mmio.write(0xe0000010, 4, 0xdeadbeef);
    expect(seen).toEqual(['io read 18/2', 'io write 63/1=aa', 'mem read 3000/2', 'mem write 10/4=deadbeef']);
  });

  it('follows a moved BAR and stops decoding when the command register turns decoding off', () => {
    place(0xc000, 0xe0000000);
    place(0xd000, 0xe0010000);
    expect(ports.read(0xc000, 1)).toBe(0xff);
    expect(mmio.read(0xe0000000, 4)).toBe(0xffffffff);
    expect(ports.read(0xd000, 1)).toBe(0x56);
    expect(mmio.read(0xe0010000, 4)).toBe(0x1234);
    fn.writeConfig(0x04, 2, 0);
    expect(ports.read(0xd000, 1)).toBe(0xff);
    expect(mmio.read(0xe0010000, 4)).toBe(0xffffffff);
  });

  it('does not decode a BAR placed over another window, and says so, without stopping', () => {
    mmio.map(0xe0000000, 0x1000, { mmioRead: () => 7, mmioWrite: () => {} });
    place(0xc000, 0xe0000000);
    expect(mmio.read(0xe0000000, 4)).toBe(7);
    expect(logs.join('\n')).toMatch(/guest_errors: pci: BAR 4: .*overlaps.*not decoded/);
    place(0xc000, 0xe0100000);
    expect(mmio.read(0xe0100000, 4)).toBe(0x1234);
  });
});

describe('INTx#', () => {
  it('is a wired OR: the line stays high while any sharer drives it', () => {
    const levels: boolean[] = [];
    const shared = new SharedIrq({ set: (l) => levels.push(l) });
    const a = shared.source(), b = shared.source();
    a.set(true); b.set(true); a.set(false); a.set(false); b.set(false);
    expect(levels).toEqual([true, false]);
  });

  it('reaches IRQ 10 or 11 as SeaBIOS routes the PIIX3 links on QEMU (slot 3 INTA# is IRQ 11)', () => {
    expect([3, 4, 5, 6, 7].map((slot) => pciIntxIrq(slot, 1))).toEqual([11, 11, 10, 10, 11]);
    expect([1, 2, 3, 4].map((pin) => pciIntxIrq(3, pin))).toEqual([11, 11, 10, 10]);
  });
});

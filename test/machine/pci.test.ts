/**
 * PCI configuration mechanism #1 and type 0 headers against PCI Local Bus 3.0:
 * CONFIG_ADDRESS decoding, all-ones for absent functions, byte lanes of
 * CONFIG_DATA, read-only fields, BAR sizing for every BAR kind, decode hooks,
 * capability lists, INTx and Interrupt Disable, and SeaBIOS-style assignment.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { PortBus } from '../../emu/machine/bus.js';
import { PciBus, PciFunction, assignBars, createHostBridge } from '../../emu/machine/pci.js';

let io: PortBus;
let pci: PciBus;
let resets: string[] = [];
let logs: string[];

const addr = (dev: number, fn: number, reg: number, bus = 0): number => (0x80000000 | (bus << 16) | (dev << 11) | (fn << 8) | reg) >>> 0;
function cfgRead(dev: number, fn: number, reg: number, size: 1 | 2 | 4 = 4): number {
  io.write(0xcf8, 4, addr(dev, fn, reg & 0xfc));
  return io.read(0xcfc + (reg & 3), size);
}
function cfgWrite(dev: number, fn: number, reg: number, size: 1 | 2 | 4, v: number): void {
  io.write(0xcf8, 4, addr(dev, fn, reg & 0xfc));
  io.write(0xcfc + (reg & 3), size, v);
}

const nic = (): PciFunction => new PciFunction({ vendor: 0x1af4, device: 0x1000, classCode: 0x020000, revision: 1 });

beforeEach(() => {
  logs = [];
  const log = (c: string, l: string): void => { logs.push(`${c}: ${l}`); };
  io = new PortBus(log);
  resets = [];
  pci = new PciBus(log, (reason) => { resets.push(reason); });
  pci.register(io);
  pci.add(0, 0, createHostBridge());
});

describe('configuration mechanism #1', () => {
  it('shows the i440FX host bridge at 00:00.0 as QEMU does', () => {
    expect(cfgRead(0, 0, 0x00)).toBe(0x12378086);
    expect(cfgRead(0, 0, 0x08)).toBe(0x06000002);
    expect(cfgRead(0, 0, 0x2c)).toBe(0x11001af4);
    expect(cfgRead(0, 0, 0x0c) >>> 16 & 0x7f).toBe(0); // header type 0
  });

  it('reads all ones from absent devices, functions and buses', () => {
    expect(cfgRead(1, 0, 0)).toBe(0xffffffff);
    expect(cfgRead(0, 1, 0)).toBe(0xffffffff);
    expect(cfgRead(0, 0, 0, 4)).not.toBe(0xffffffff);
    io.write(0xcf8, 4, addr(0, 0, 0, 1));
    expect(io.read(0xcfc, 4)).toBe(0xffffffff);
    expect(cfgRead(31, 7, 2, 2)).toBe(0xffff);
    expect(cfgRead(31, 7, 3, 1)).toBe(0xff);
  });

  it('reads all ones, and ignores writes, while the enable bit is clear', () => {
    io.write(0xcf8, 4, 0x00000000);
    expect(io.read(0xcfc, 4)).toBe(0xffffffff);
    io.write(0xcf8, 4, 0x0000003c);
    io.write(0xcfc, 1, 0x0b);
    expect(cfgRead(0, 0, 0x3c, 1)).toBe(0x00);
  });

  it('keeps CONFIG_ADDRESS reserved and type bits zero', () => {
    io.write(0xcf8, 4, 0xffffffff);
    expect(io.read(0xcf8, 4)).toBe(0x80fffffc);
  });

  it('decodes only dword accesses to CONFIG_ADDRESS (and the reset control byte), and says so', () => {
    io.write(0xcf8, 4, addr(0, 0, 0));
    io.write(0xcf8, 1, 0);
    expect(io.read(0xcf8, 4)).toBe(addr(0, 0, 0));
    expect(io.read(0xcfa, 1)).toBe(0xff);
    expect(io.read(0xcf8, 2)).toBe(0xffff);
    expect(logs.filter((l) => l.startsWith('unimp: pci'))).toHaveLength(3);
  });

  it('resets the system when bit 2 of the reset control register at 0xcf9 goes from 0 to 1, keeping only bit 1 (PIIX3)', () => {
    io.write(0xcf9, 1, 0x02);
    expect([io.read(0xcf9, 1), resets]).toEqual([0x02, []]);
    io.write(0xcf9, 1, 0x06);
    expect(resets).toEqual(['hard reset by the reset control register (0xcf9)']);
    io.write(0xcf9, 1, 0x04);
    expect(resets).toHaveLength(2);
    expect(resets[1]).toBe('soft reset by the reset control register (0xcf9)');
    expect(io.read(0xcf8, 4)).toBe(0);
    expect(logs).toEqual([]);
  });

  it('maps bytes and words of CONFIG_DATA onto their lanes', () => {
    expect(cfgRead(0, 0, 0x00, 2)).toBe(0x8086);
    expect(cfgRead(0, 0, 0x02, 2)).toBe(0x1237);
    expect(cfgRead(0, 0, 0x01, 1)).toBe(0x80);
    expect(cfgRead(0, 0, 0x03, 1)).toBe(0x12);
    expect(cfgRead(0, 0, 0x0b, 1)).toBe(0x06);
  });

  it('rejects an access that crosses the dword', () => {
    io.write(0xcf8, 4, addr(0, 0, 0));
    expect(io.read(0xcff, 2)).toBe(0xffff);
    expect(logs.some((l) => l.startsWith('guest_errors: pci'))).toBe(true);
  });

  it('keeps identification fields read-only and the interrupt line writable', () => {
    const f = nic();
    f.setInterruptPin(1);
    pci.add(3, 0, f);
    cfgWrite(3, 0, 0x00, 4, 0);
    cfgWrite(3, 0, 0x08, 4, 0);
    expect(cfgRead(3, 0, 0x00)).toBe(0x10001af4);
    expect(cfgRead(3, 0, 0x08)).toBe(0x02000001);
    cfgWrite(3, 0, 0x3c, 2, 0xff0b);
    expect(cfgRead(3, 0, 0x3c, 2)).toBe(0x010b);
  });

  it('sets the multi-function bit of function 0 when other functions exist', () => {
    pci.add(4, 1, nic());
    const f0 = nic();
    pci.add(4, 0, f0);
    expect(cfgRead(4, 0, 0x0e, 1)).toBe(0x80);
    expect(cfgRead(0, 0, 0x0e, 1)).toBe(0x00);
    expect(() => pci.add(4, 0, nic())).toThrow(/taken/);
  });
});

describe('BARs', () => {
  let f: PciFunction;
  const changes: [number, number | null][] = [];

  beforeEach(() => {
    f = nic();
    f.addBar(0, 'mem32', 0x1000);
    f.addBar(1, 'io', 0x20);
    f.addBar(2, 'mem64', 0x4000, true);
    f.addBar(4, 'mem32', 0x100000, true);
    changes.length = 0;
    f.onBarChange = (i, a) => changes.push([i, a]);
    pci.add(2, 0, f);
  });

  it('read back the size mask with the type bits after all ones are written', () => {
    for (let r = 0x10; r <= 0x24; r += 4) cfgWrite(2, 0, r, 4, 0xffffffff);
    expect(cfgRead(2, 0, 0x10)).toBe(0xfffff000);
    expect(cfgRead(2, 0, 0x14)).toBe(0xffffffe1);
    expect(cfgRead(2, 0, 0x18)).toBe(0xffffc00c);
    expect(cfgRead(2, 0, 0x1c)).toBe(0xffffffff);
    expect(cfgRead(2, 0, 0x20)).toBe(0xfff00008);
    expect(cfgRead(2, 0, 0x24)).toBe(0x00000000); // no BAR 5
  });

  it('size a 64-bit BAR larger than 4 GiB in its upper half', () => {
    const g = nic();
    g.addBar(0, 'mem64', 2 ** 33);
    g.writeConfig(0x10, 4, 0xffffffff);
    g.writeConfig(0x14, 4, 0xffffffff);
    expect(g.readConfig(0x10, 4)).toBe(0x00000004);
    expect(g.readConfig(0x14, 4)).toBe(0xfffffffe);
  });

  it('report decoding changes from the command register and BAR writes', () => {
    const commands: number[] = [];
    f.onCommandChange = (c) => commands.push(c);
    cfgWrite(2, 0, 0x10, 4, 0xe0001000);
    expect(changes).toEqual([]); // memory decoding is off
    cfgWrite(2, 0, 0x04, 2, 0x0002);
    expect(commands).toEqual([0x0002]);
    expect(changes).toEqual([[0, 0xe0001000]]); // the 64-bit BAR at 0 and I/O stay off
    cfgWrite(2, 0, 0x18, 4, 0x00000000);
    cfgWrite(2, 0, 0x1c, 4, 0x00000001);
    expect(changes.at(-1)).toEqual([2, 2 ** 32]);
    cfgWrite(2, 0, 0x10, 4, 0xffffffff); // sizing with decoding on: nothing valid to decode
    expect(changes.at(-1)).toEqual([0, null]);
    cfgWrite(2, 0, 0x10, 4, 0xe0002000);
    cfgWrite(2, 0, 0x04, 2, 0x0000);
    expect(changes.slice(-3)).toEqual([[0, 0xe0002000], [0, null], [2, null]]);
    expect(f.bars[0]!.mapped).toBeNull();
  });

  it('rejects sizes that are not powers of two and overlapping declarations', () => {
    const g = nic();
    expect(() => g.addBar(0, 'mem32', 0x3000)).toThrow();
    expect(() => g.addBar(0, 'io', 2)).toThrow();
    g.addBar(0, 'mem64', 0x1000);
    expect(() => g.addBar(1, 'io', 4)).toThrow();
  });
});

describe('capabilities and INTx', () => {
  it('chains capabilities from 0x34 with read-only headers and masked bodies', () => {
    const f = nic();
    const a = f.addCapability(0x05, [0x80, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], [0x01, 0, 0xfc, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0xff, 0xff]);
    const b = f.addCapability(0x11, [0x03, 0x00, 0x01, 0, 0, 0, 0x01, 0x08, 0, 0]);
    pci.add(5, 0, f);
    expect(a).toBe(0x40);
    expect(b).toBe(0x50);
    expect(cfgRead(5, 0, 0x06, 2) & 0x10).toBe(0x10);
    expect(cfgRead(5, 0, 0x34, 1)).toBe(0x40);
    expect(cfgRead(5, 0, 0x40, 2)).toBe(0x5005);
    expect(cfgRead(5, 0, 0x50, 2)).toBe(0x0011);
    cfgWrite(5, 0, 0x40, 4, 0xffffffff);
    expect(cfgRead(5, 0, 0x40)).toBe(0x00815005);
    cfgWrite(5, 0, 0x44, 4, 0xfee00003);
    expect(cfgRead(5, 0, 0x44)).toBe(0xfee00000);
    cfgWrite(5, 0, 0x50, 4, 0xffffffff);
    expect(cfgRead(5, 0, 0x50)).toBe(0x00030011);
  });

  it('refuses a capability that does not fit', () => {
    expect(() => nic().addCapability(0x09, new Array(0xc0).fill(0))).toThrow();
  });

  it('drives INTx unless Interrupt Disable is set; the status bit always shows it', () => {
    const f = nic();
    const line: boolean[] = [];
    f.intx = { set: (l) => line.push(l) };
    pci.add(6, 0, f);
    f.setIntx(true);
    expect(line).toEqual([true]);
    expect(cfgRead(6, 0, 0x06, 2) & 0x08).toBe(0x08);
    cfgWrite(6, 0, 0x04, 2, 0x0400);
    expect(line).toEqual([true, false]);
    expect(cfgRead(6, 0, 0x06, 2) & 0x08).toBe(0x08);
    f.setIntx(false);
    cfgWrite(6, 0, 0x04, 2, 0x0000);
    expect(line).toEqual([true, false]);
    expect(cfgRead(6, 0, 0x06, 2) & 0x08).toBe(0);
  });
});

describe('assignBars', () => {
  it('places BARs naturally aligned, largest first, and enables decoding', () => {
    const a = nic(), b = nic();
    a.addBar(0, 'mem32', 0x1000);
    a.addBar(1, 'io', 0x40);
    b.addBar(0, 'mem64', 0x100000);
    b.addBar(2, 'io', 0x100);
    b.addBar(3, 'mem32', 0x4000);
    pci.add(3, 0, a);
    pci.add(4, 0, b);
    const mapped: string[] = [];
    for (const [name, f] of [['a', a], ['b', b]] as const) f.onBarChange = (i, x) => mapped.push(`${name}${i}@${x?.toString(16)}`);
    const end = assignBars(pci, 0xe0000000, 0xc000);
    expect(b.decodedAddress(0)).toBe(0xe0000000);
    expect(b.decodedAddress(3)).toBe(0xe0100000);
    expect(a.decodedAddress(0)).toBe(0xe0104000);
    expect(b.decodedAddress(2)).toBe(0xc000);
    expect(a.decodedAddress(1)).toBe(0xc100);
    expect(end).toEqual({ mmioEnd: 0xe0105000, ioEnd: 0xc140 });
    expect(cfgRead(4, 0, 0x04, 2)).toBe(0x0103);
    expect(cfgRead(0, 0, 0x04, 2)).toBe(0x0103);
    expect(mapped.sort()).toEqual(['a0@e0104000', 'a1@c100', 'b0@e0000000', 'b2@c000', 'b3@e0100000']);
  });

  it('fails loudly when the window is too small', () => {
    const a = nic();
    a.addBar(0, 'mem32', 0x80000000);
    pci.add(3, 0, a);
    expect(() => assignBars(pci, 0xe0000000, 0xc000)).toThrow(/too small/);
  });
});

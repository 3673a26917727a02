/**
 * MSI-X against PCI Local Bus 3.0 §6.8.2: the capability's read-only and
 * writable fields, the table's reset state (every vector masked), delivery,
 * the pending bit of a masked vector and its delivery when the mask lifts
 * (per vector and function-wide), and the dword-only table rule.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { PciFunction } from '../../emu/machine/pci.js';
import { Msix, PCI_CAP_MSIX } from '../../emu/machine/msix.js';

let fn: PciFunction;
let msix: Msix;
let sent: [number, number][];
let logs: string[];

beforeEach(() => {
  fn = new PciFunction({ vendor: 0x1af4, device: 0x1001, classCode: 0x018000, revision: 0 });
  fn.addBar(1, 'mem32', 0x1000);
  sent = [];
  logs = [];
  msix = new Msix(fn, { vectors: 3, tableBar: 1, tableOffset: 0, pbaBar: 1, pbaOffset: 0x800 }, (a, d) => sent.push([a, d]), (c, l) => logs.push(`${c}: ${l}`));
});

const control = (): number => fn.readConfig(msix.cap + 2, 2);
const setControl = (v: number): void => fn.writeConfig(msix.cap + 2, 2, v);
function program(v: number, address: number, data: number, masked: boolean): void {
  msix.tableWindow.mmioWrite(v * 16, 4, address);
  msix.tableWindow.mmioWrite(v * 16 + 4, 4, 0);
  msix.tableWindow.mmioWrite(v * 16 + 8, 4, data);
  msix.tableWindow.mmioWrite(v * 16 + 12, 4, masked ? 1 : 0);
}

describe('the capability', () => {
  it('is in the capability list with table size N-1 and the BIR/offset fields read-only', () => {
    expect(fn.readConfig(0x34, 1)).toBe(msix.cap);
    expect(fn.readConfig(msix.cap, 1)).toBe(PCI_CAP_MSIX);
    expect(control()).toBe(2);
    expect(fn.readConfig(msix.cap + 4, 4)).toBe(0x000 | 1);
    expect(fn.readConfig(msix.cap + 8, 4)).toBe(0x800 | 1);
    fn.writeConfig(msix.cap + 4, 4, 0xffffffff);
    fn.writeConfig(msix.cap + 2, 2, 0x07ff);
    expect(fn.readConfig(msix.cap + 4, 4)).toBe(1);
    expect(control()).toBe(2);
  });

  it('starts disabled: notify returns false so the device uses INTx', () => {
    expect(msix.enabled).toBe(false);
    expect(msix.notify(0)).toBe(false);
    expect(sent).toEqual([]);
  });
});

describe('the table', () => {
  it('comes out of reset with every vector masked and zero address and data', () => {
    for (let v = 0; v < 3; v++) {
      expect(msix.tableWindow.mmioRead(v * 16, 4)).toBe(0);
      expect(msix.tableWindow.mmioRead(v * 16 + 12, 4)).toBe(1);
    }
  });

  it('keeps the address low bits and the control reserved bits at zero', () => {
    msix.tableWindow.mmioWrite(0, 4, 0xfee01003);
    msix.tableWindow.mmioWrite(12, 4, 0xfffffffe);
    expect(msix.tableWindow.mmioRead(0, 4)).toBe(0xfee01000);
    expect(msix.tableWindow.mmioRead(12, 4)).toBe(0);
  });

  it('refuses narrower writes, which the spec does not allow, with a log line', () => {
    msix.tableWindow.mmioWrite(8, 2, 0x41);
    expect(msix.tableWindow.mmioRead(8, 4)).toBe(0);
    expect(logs.join('\n')).toMatch(/2-byte table write/);
  });
});

describe('delivery', () => {
  beforeEach(() => setControl(0x8000));

  it('sends an unmasked vector as an MSI write of its address and data', () => {
    program(1, 0xfee02000, 0x4031, false);
    expect(msix.notify(1)).toBe(true);
    expect(sent).toEqual([[0xfee02000, 0x4031]]);
  });

  it('holds a masked vector in the PBA and sends it once when the vector is unmasked', () => {
    program(2, 0xfee00000, 0x41, true);
    msix.notify(2);
    msix.notify(2);
    expect(sent).toEqual([]);
    expect(msix.pbaWindow.mmioRead(0, 4)).toBe(0b100);
    msix.tableWindow.mmioWrite(2 * 16 + 12, 4, 0);
    expect(sent).toEqual([[0xfee00000, 0x41]]);
    expect(msix.pbaWindow.mmioRead(0, 4)).toBe(0);
  });

  it('holds every vector while the function mask is set and releases them when it clears', () => {
    program(0, 0xfee00000, 0x30, false);
    program(1, 0xfee00000, 0x31, false);
    setControl(0xc000);
    msix.notify(1);
    msix.notify(0);
    expect(sent).toEqual([]);
    setControl(0x8000);
    expect(sent).toEqual([[0xfee00000, 0x30], [0xfee00000, 0x31]]);
  });

  it('drops, with a log line, a message addressed above 4 GiB where no APIC listens', () => {
    program(0, 0xfee00000, 0x30, false);
    msix.tableWindow.mmioWrite(4, 4, 1);
    msix.notify(0);
    expect(sent).toEqual([]);
    expect(logs.join('\n')).toMatch(/above 4 GiB/);
  });

  it('ignores writes to the pending-bit array', () => {
    msix.pbaWindow.mmioWrite(0, 4, 7);
    expect(msix.pbaWindow.mmioRead(0, 4)).toBe(0);
  });
});

describe('snapshots', () => {
  it('carry the table and the pending bits to a fresh function, even a bit left pending while MSI-X is off', () => {
    setControl(0x8000);
    program(0, 0xfee00000, 0x30, true);
    program(2, 0xfee03000, 0x52, false);
    msix.notify(0);
    setControl(0);
    const fresh = new PciFunction({ vendor: 0x1af4, device: 0x1001, classCode: 0x018000, revision: 0 });
    fresh.addBar(1, 'mem32', 0x1000);
    const got: [number, number][] = [];
    const copy = new Msix(fresh, msix.layout, (a, d) => got.push([a, d]), () => {});
    copy.restore(msix.save());
    for (let o = 0; o < 48; o += 4) expect(copy.tableWindow.mmioRead(o, 4)).toBe(msix.tableWindow.mmioRead(o, 4));
    expect(copy.pbaWindow.mmioRead(0, 4)).toBe(1);
    fresh.writeConfig(copy.cap + 2, 2, 0x8000);
    copy.tableWindow.mmioWrite(12, 4, 0);
    expect(got).toEqual([[0xfee00000, 0x30]]);
    expect(() => copy.restore({ table: new Uint8Array(16), pending: new Uint8Array(3) })).toThrow(/3 vectors/);
  });
});

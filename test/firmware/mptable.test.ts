/**
 * The Intel MP 1.4 tables: every byte of the floating pointer, header and
 * entries decoded here independently of the writer, checksums, the BSP flag,
 * where the tables may go, and a round trip through parseMpTable.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { MP_TABLE_ADDR, MpTableError, parseMpTable, writeMpTable, type MpConfig } from '../../emu/firmware/mptable.js';

const RAM_SIZE = 2 << 20;
const FILL = 0x5a;
let ram: { bytes: Uint8Array; size: number };
beforeEach(() => {
  ram = { bytes: new Uint8Array(RAM_SIZE).fill(FILL), size: RAM_SIZE };
});

const u8 = (a: number): number => ram.bytes[a];
const u16 = (a: number): number => ram.bytes[a] | (ram.bytes[a + 1] << 8);
const u32 = (a: number): number => new DataView(ram.bytes.buffer).getUint32(a, true);
const text = (a: number, n: number): string => String.fromCharCode(...ram.bytes.subarray(a, a + n));
const sum = (a: number, n: number): number => ram.bytes.subarray(a, a + n).reduce((s, x) => s + x, 0) % 256;

const SIGNATURE = 0x00050654, FEATURES = 0x078bfbff;

function config(n = 4, bsp = 0): MpConfig {
  return {
    cpus: Array.from({ length: n }, (_, k) => ({ apicId: k, bsp: k === bsp })),
    ioapic: { id: n, address: 0xfec00000, version: 0x20 },
    lapicAddress: 0xfee00000,
    lapicVersion: 0x14,
    cpuSignature: SIGNATURE,
    cpuFeatures: FEATURES,
    isaIrqPins: (irq) => (irq === 0 ? 2 : irq),
  };
}

/** The I/O interrupt entries a 4-CPU table must hold: ExtINT on pin 0, then ISA IRQs 0–15 but 2 (IRQ 0 at pin 2). */
const ISA_ENTRIES = [[3, 3, 0, 1, 0, 4, 0], ...[0, 1, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15].map((irq) => [3, 0, 0, 1, irq, 4, irq === 0 ? 2 : irq])];

describe('writeMpTable', () => {
  it('writes the floating pointer structure with a good checksum', () => {
    const loc = writeMpTable(ram, config(), MP_TABLE_ADDR);
    const fp = loc.floatingPointer;
    expect(fp).toBe(0xf0000);
    expect(text(fp, 4)).toBe('_MP_');
    expect(u32(fp + 4)).toBe(loc.table);
    expect(u8(fp + 8)).toBe(1);
    expect(u8(fp + 9)).toBe(4);
    expect(sum(fp, 16)).toBe(0);
    expect([...ram.bytes.subarray(fp + 11, fp + 16)]).toEqual([0, 0, 0, 0, 0]); // a table, no default config, no IMCR
  });

  it('writes the header and every entry, in type order', () => {
    const loc = writeMpTable(ram, config(), MP_TABLE_ADDR);
    const t = loc.table;
    const length = 44 + 4 * 20 + 2 * 8 + 8 + 16 * 8 + 2 * 8;
    expect(loc.tableLength).toBe(length);
    expect(loc.end).toBe(t + length);
    expect(text(t, 4)).toBe('PCMP');
    expect(u16(t + 4)).toBe(length);
    expect(u8(t + 6)).toBe(4);
    expect(sum(t, length)).toBe(0);
    expect(text(t + 8, 8)).toBe('DAMSELFL');
    expect(text(t + 16, 12)).toBe('DAMSELFLY   ');
    expect([u32(t + 28), u16(t + 32)]).toEqual([0, 0]);
    expect(u16(t + 34)).toBe(4 + 2 + 1 + 16 + 2);
    expect(u32(t + 36)).toBe(0xfee00000);
    expect([u16(t + 40), u8(t + 42), u8(t + 43)]).toEqual([0, 0, 0]);
    expect(u8(t + length)).toBe(FILL); // nothing written past the table

    let a = t + 44;
    for (let k = 0; k < 4; k++, a += 20) {
      expect([u8(a), u8(a + 1), u8(a + 2), u8(a + 3), u32(a + 4), u32(a + 8)]).toEqual([0, k, 0x14, k === 0 ? 3 : 1, SIGNATURE, FEATURES]);
      expect([...ram.bytes.subarray(a + 12, a + 20)]).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
    }
    expect([u8(a), u8(a + 1), text(a + 2, 6)]).toEqual([1, 0, 'PCI   ']);
    a += 8;
    expect([u8(a), u8(a + 1), text(a + 2, 6)]).toEqual([1, 1, 'ISA   ']);
    a += 8;
    expect([u8(a), u8(a + 1), u8(a + 2), u8(a + 3), u32(a + 4)]).toEqual([2, 4, 0x20, 1, 0xfec00000]);
    a += 8;
    const interrupt = (x: number): number[] => [u8(x), u8(x + 1), u16(x + 2), u8(x + 4), u8(x + 5), u8(x + 6), u8(x + 7)];
    for (const want of ISA_ENTRIES) { expect(interrupt(a)).toEqual(want); a += 8; }
    expect(interrupt(a)).toEqual([4, 3, 0, 1, 0, 0, 0]); // ExtINT → BSP LINT0
    expect(interrupt(a + 8)).toEqual([4, 1, 0, 1, 0, 0xff, 1]); // NMI → every LINT1
    expect(a + 16).toBe(t + length);
  });

  it('sets the BP flag on exactly the BSP, which need not be APIC 0', () => {
    const loc = writeMpTable(ram, config(3, 2), MP_TABLE_ADDR);
    const flags = [0, 1, 2].map((k) => u8(loc.table + 44 + 20 * k + 3));
    expect(flags).toEqual([1, 1, 3]);
    expect(parseMpTable(ram.bytes, 0).localInterrupts[0].dstApic).toBe(2);
  });

  it('lists PCI INTx routes on bus 0', () => {
    const cfg = { ...config(), pciInterrupts: [{ device: 3, pin: 1, ioapicPin: 11 }, { device: 4, pin: 2, ioapicPin: 10 }] };
    const p = parseMpTable(ram.bytes.subarray(0, writeMpTable(ram, cfg, MP_TABLE_ADDR).end), 0);
    expect(p.ioInterrupts.slice(16)).toEqual([
      { intType: 0, flags: 1, srcBus: 0, srcIrq: (3 << 2) | 0, dstApic: 4, dstPin: 11 },
      { intType: 0, flags: 1, srcBus: 0, srcIrq: (4 << 2) | 1, dstApic: 4, dstPin: 10 },
    ]);
    expect(p.header.entryCount).toBe(25 + 2);
  });

  it('may go in the last KiB of base memory, clear of the boot GDT', () => {
    const loc = writeMpTable(ram, config(2), 0x9fc20);
    expect(parseMpTable(ram.bytes, 0).floating.address).toBe(loc.floatingPointer);
  });

  it('refuses bad placements and configurations without writing anything', () => {
    const bad = (cfg: MpConfig, at: number, msg: string | RegExp): void => {
      expect(() => writeMpTable(ram, cfg, at)).toThrow(MpTableError);
      expect(() => writeMpTable(ram, cfg, at)).toThrow(msg);
      expect(ram.bytes.every((b) => b === FILL)).toBe(true);
    };
    bad(config(), 0xf0008, 'MP floating pointer address 0xf0008 is not 16-byte aligned');
    bad(config(), 0x80000, /outside the areas an OS searches/);
    bad(config(), 0xfff00, 'MP tables (0x134 bytes at 0xfff00) do not fit in the F segment, which ends at 0x100000');
    bad(config(60), 0x9fc20, /do not fit in the last KiB of base memory/);
    bad(config(2), 0x9fc00, 'MP tables (0x9fc00-0x9fd0b) would overlap the boot GDT at 0x9fc00');
    bad({ ...config(), cpus: [{ apicId: 0, bsp: true }, { apicId: 1, bsp: true }] }, MP_TABLE_ADDR, 'exactly one CPU must be the bootstrap processor (got 2)');
    bad({ ...config(), cpus: [{ apicId: 0, bsp: false }] }, MP_TABLE_ADDR, 'exactly one CPU must be the bootstrap processor (got 0)');
    bad({ ...config(), cpus: [{ apicId: 1, bsp: true }, { apicId: 1, bsp: false }] }, MP_TABLE_ADDR, 'local APIC ID 1 is used twice');
    bad({ ...config(), cpus: [{ apicId: 255, bsp: true }] }, MP_TABLE_ADDR, 'bad local APIC ID 255');
    bad({ ...config(), pciInterrupts: [{ device: 1, pin: 5, ioapicPin: 10 }] }, MP_TABLE_ADDR, 'bad PCI interrupt pin 5 (1-4 for INTA#-INTD#)');
    bad({ ...config(), isaIrqPins: () => 300 }, MP_TABLE_ADDR, 'destination pin 300 does not fit in a byte');
    const small = { bytes: ram.bytes.subarray(0, 0xf0080), size: 0xf0080 };
    expect(() => writeMpTable(small, config(), MP_TABLE_ADDR)).toThrow('MP tables at 0xf0000 lie outside RAM (0xf0080 bytes)');
  });
});

describe('parseMpTable', () => {
  it('reads back what was written, from all of RAM or from the F segment alone', () => {
    const cfg = config(4, 1);
    writeMpTable(ram, cfg, MP_TABLE_ADDR + 0x40);
    const p = parseMpTable(ram.bytes, 0);
    expect(p.floating).toEqual({ address: 0xf0040, tableAddress: 0xf0050, specRev: 4, features: [0, 0, 0, 0, 0] });
    expect(p.header).toMatchObject({ address: 0xf0050, specRev: 4, oemId: 'DAMSELFL', productId: 'DAMSELFLY   ', lapicAddress: 0xfee00000, entryCount: 25, extendedLength: 0 });
    expect(p.processors).toEqual(cfg.cpus.map((c) => ({ apicId: c.apicId, apicVersion: 0x14, enabled: true, bsp: c.bsp, signature: SIGNATURE, features: FEATURES })));
    expect(p.processors.filter((c) => c.bsp)).toHaveLength(1);
    expect(p.buses).toEqual([{ id: 0, type: 'PCI   ' }, { id: 1, type: 'ISA   ' }]);
    expect(p.ioapics).toEqual([{ id: 4, version: 0x20, enabled: true, address: 0xfec00000 }]);
    expect(p.ioInterrupts.map((i) => [3, i.intType, i.flags, i.srcBus, i.srcIrq, i.dstApic, i.dstPin])).toEqual(ISA_ENTRIES);
    expect(p.localInterrupts).toEqual([
      { intType: 3, flags: 0, srcBus: 1, srcIrq: 0, dstApic: 1, dstPin: 0 },
      { intType: 1, flags: 0, srcBus: 1, srcIrq: 0, dstApic: 0xff, dstPin: 1 },
    ]);
    expect(parseMpTable(ram.bytes.subarray(0xf0000, 0x100000), 0xf0000)).toEqual(p);
  });

  it('rejects a corrupted table or floating pointer', () => {
    const loc = writeMpTable(ram, config(), MP_TABLE_ADDR);
    ram.bytes[loc.table + 50] ^= 1;
    expect(() => parseMpTable(ram.bytes, 0)).toThrow('MP configuration table checksum is wrong');
    ram.bytes[loc.table + 50] ^= 1;
    ram.bytes[loc.floatingPointer + 4] ^= 1;
    expect(() => parseMpTable(ram.bytes, 0)).toThrow(/no MP floating pointer structure/);
  });

  it('finds nothing in memory without tables', () => {
    expect(() => parseMpTable(ram.bytes, 0)).toThrow(MpTableError);
  });
});

/** Bus-master RAM access: little-endian fields, bounds, and the code-page notice that keeps decoded code coherent with DMA. */
import { describe, expect, it } from 'vitest';
import { PhysMem } from '../../emu/cpu/physmem.js';
import { CodePages } from '../../emu/cpu/codepages.js';
import { DmaError, GuestMemory } from '../../emu/machine/dma.js';

function setup() {
  const phys = new PhysMem(64 * 1024);
  const code = new CodePages();
  const written: number[] = [];
  code.attach({ unmapWritesTo: () => {} } as never, (p) => written.push(p));
  return { phys, code, written, mem: new GuestMemory(phys, code) };
}

describe('GuestMemory', () => {
  it('reads and writes little-endian fields of every width', () => {
    const { mem, phys } = setup();
    mem.setU64(0x100, 0x1_2345_6789);
    expect(phys.bytes.subarray(0x100, 0x108)).toEqual(Uint8Array.of(0x89, 0x67, 0x45, 0x23, 1, 0, 0, 0));
    expect(mem.u64(0x100)).toBe(0x1_2345_6789);
    mem.setU16(0x200, 0xbeef);
    expect(mem.u16(0x200)).toBe(0xbeef);
    expect(mem.u8(0x200)).toBe(0xef);
    mem.setU32(0x300, -1);
    expect(mem.u32(0x300)).toBe(0xffffffff);
  });

  it('refuses an access that leaves RAM with a DmaError naming it', () => {
    const { mem } = setup();
    expect(() => mem.read(0xfff0, 0x20)).toThrow(DmaError);
    expect(() => mem.write(0x10000, new Uint8Array(1))).toThrow(/0x10000\+1 is outside RAM/);
    expect(() => mem.u32(-4)).toThrow(DmaError);
    expect(mem.read(0xfff0, 0x10).length).toBe(16);
  });

  it('tells the code-page registry about every page a write touches, and only registered pages matter', () => {
    const { mem, code, written } = setup();
    code.add(1); code.add(2); code.add(5);
    mem.write(0x1ff0, new Uint8Array(0x20));
    expect(written).toEqual([1, 2]);
    mem.fill(0x5000, 0, 0);
    expect(written).toEqual([1, 2]);
    mem.setU8(0x5000, 1);
    expect(written).toEqual([1, 2, 5]);
    expect(code.has(5)).toBe(false);
  });
});

describe('MMIO access widths', () => {
  it("reach a device as one access of the CPU's width, 16-bit included", () => {
    const phys = new PhysMem(4096);
    const seen: string[] = [];
    phys.mmio = { read: (a, size) => { seen.push(`r ${a.toString(16)}/${size}`); return 0xabcd; }, write: (a, size, v) => { seen.push(`w ${a.toString(16)}/${size}=${v.toString(16)}`); } };
    expect(phys.read16(0xe0000002)).toBe(0xabcd);
    phys.write16(0xe0000004, 0x12345);
    expect(seen).toEqual(['r e0000002/2', 'w e0000004/2=2345']);
  });
});

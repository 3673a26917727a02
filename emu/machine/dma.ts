/**
 * Bus-master access to guest RAM, as a PCI device does it: reads and writes of
 * physical addresses that bypass the CPUs' TLBs and caches. A write tells the
 * code-page registry, so a vCPU that had decoded or compiled instructions on a
 * page a disk just overwrote decodes them afresh (the coherence real hardware
 * gives DMA for free). An access that leaves RAM is a DmaError: the device
 * reports it to the guest as its specification says (a master abort, an error
 * status) instead of reading MMIO on a device's behalf.
 */
import type { PhysMem } from '../cpu/physmem.js';
import type { CodePages } from '../cpu/codepages.js';

export class DmaError extends Error {
  constructor(readonly address: number, readonly length: number) {
    super(`DMA to 0x${address.toString(16)}+${length} is outside RAM`);
  }
}

const PAGE = 4096;

export class GuestMemory {
  constructor(private readonly phys: PhysMem, private readonly code: CodePages) {}

  get size(): number { return this.phys.size; }

  private check(addr: number, len: number): void {
    if (!(Number.isSafeInteger(addr) && addr >= 0 && len >= 0 && addr + len <= this.phys.size)) throw new DmaError(addr, len);
  }

  /** A view of `len` bytes at `addr`; valid until the next write through this object. */
  view(addr: number, len: number): Uint8Array {
    this.check(addr, len);
    return this.phys.bytes.subarray(addr, addr + len);
  }

  read(addr: number, len: number): Uint8Array { return this.view(addr, len).slice(); }

  write(addr: number, data: Uint8Array): void {
    this.check(addr, data.length);
    this.phys.bytes.set(data, addr);
    this.touched(addr, data.length);
  }

  fill(addr: number, len: number, value: number): void {
    this.check(addr, len);
    this.phys.bytes.fill(value, addr, addr + len);
    this.touched(addr, len);
  }

  u8(addr: number): number { this.check(addr, 1); return this.phys.bytes[addr]; }
  u16(addr: number): number { this.check(addr, 2); return this.phys.view.getUint16(addr, true); }
  u32(addr: number): number { this.check(addr, 4); return this.phys.view.getUint32(addr, true); }
  /** A 64-bit field as a Number: addresses and lengths a guest gives a device (above 2^53 is a DmaError later, not a wrong address). */
  u64(addr: number): number {
    this.check(addr, 8);
    return this.phys.view.getUint32(addr + 4, true) * 2 ** 32 + this.phys.view.getUint32(addr, true);
  }

  setU8(addr: number, v: number): void { this.check(addr, 1); this.phys.bytes[addr] = v; this.touched(addr, 1); }
  setU16(addr: number, v: number): void { this.check(addr, 2); this.phys.view.setUint16(addr, v, true); this.touched(addr, 2); }
  setU32(addr: number, v: number): void { this.check(addr, 4); this.phys.view.setUint32(addr, v >>> 0, true); this.touched(addr, 4); }
  setU64(addr: number, v: number): void {
    this.check(addr, 8);
    this.phys.view.setUint32(addr, v >>> 0, true);
    this.phys.view.setUint32(addr + 4, Math.floor(v / 2 ** 32) >>> 0, true);
    this.touched(addr, 8);
  }

  private touched(addr: number, len: number): void {
    for (let p = Math.floor(addr / PAGE), end = Math.floor((addr + len - 1) / PAGE); len > 0 && p <= end; p++) this.code.written(p);
  }
}

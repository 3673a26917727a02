/**
 * The two address spaces devices live in besides RAM: x86 I/O ports and
 * memory-mapped registers. A port or MMIO address nobody claims behaves as an
 * open bus on a PC (reads all ones, writes vanish), and is logged once under
 * `-d unimp` so that a guest poking at missing hardware is visible.
 */
import type { MmioHandler } from '../cpu/physmem.js';

export type Size = 1 | 2 | 4;

export interface PortDevice {
  portRead(port: number, size: Size): number;
  portWrite(port: number, size: Size, value: number): void;
}

/**
 * An 8-bit ISA device: the bus splits a wider access into byte cycles at
 * consecutive ports, low byte first, as the ISA bus does.
 */
export abstract class ByteDevice implements PortDevice {
  protected abstract readByte(port: number): number;
  protected abstract writeByte(port: number, value: number): void;

  portRead(port: number, size: Size): number {
    let v = 0;
    for (let i = 0; i < size; i++) v |= this.readByte(port + i) << (8 * i);
    return v >>> 0;
  }

  portWrite(port: number, size: Size, value: number): void {
    for (let i = 0; i < size; i++) this.writeByte(port + i, (value >>> (8 * i)) & 0xff);
  }
}

export interface MmioDevice {
  /** `offset` is relative to the region's base. */
  mmioRead(offset: number, size: Size): number;
  mmioWrite(offset: number, size: Size, value: number): void;
}

/** Where diagnostics go, by QEMU `-d` category ('int', 'unimp', 'guest_errors', …). */
export type Log = (category: string, line: string) => void;

const ONES: Record<Size, number> = { 1: 0xff, 2: 0xffff, 4: 0xffffffff };

export class PortBus {
  private readonly devices: (PortDevice | undefined)[] = new Array(65536);
  private readonly reported = new Set<number>();

  constructor(private readonly log: Log) {}

  register(first: number, count: number, dev: PortDevice): void {
    for (let p = first; p < first + count; p++) {
      if (this.devices[p]) throw new Error(`I/O port 0x${p.toString(16)} is claimed twice`);
      this.devices[p] = dev;
    }
  }

  /** Releases every port `dev` holds (an I/O BAR moving or turned off). */
  unregister(dev: PortDevice): void {
    for (let p = 0; p < this.devices.length; p++) if (this.devices[p] === dev) this.devices[p] = undefined;
  }

  read(port: number, size: Size): number {
    const dev = this.devices[port];
    if (dev) return dev.portRead(port, size);
    this.unclaimed(port, 'read');
    return ONES[size];
  }

  write(port: number, size: Size, value: number): void {
    const dev = this.devices[port];
    if (dev) { dev.portWrite(port, size, value); return; }
    this.unclaimed(port, `write 0x${(value >>> 0).toString(16)}`);
  }

  private unclaimed(port: number, what: string): void {
    if (this.reported.has(port)) return;
    this.reported.add(port);
    this.log('unimp', `unclaimed I/O port 0x${port.toString(16)} (${what}); further accesses not logged`);
  }
}

interface Region { base: number; size: number; dev: MmioDevice }

/**
 * Physical addresses outside RAM. Regions may be moved (a relocated APIC, a
 * PCI BAR) by unmapping and mapping again. Accesses wider than 4 bytes arrive
 * split into dwords, and one that crosses a page into bytes (see PhysMem, Mmu).
 */
export class MmioBus implements MmioHandler {
  private regions: Region[] = [];
  private readonly reported = new Set<number>();

  constructor(private readonly log: Log) {}

  map(base: number, size: number, dev: MmioDevice): void {
    for (const r of this.regions) {
      if (base < r.base + r.size && r.base < base + size) throw new Error(`MMIO 0x${base.toString(16)}+0x${size.toString(16)} overlaps a mapped region`);
    }
    this.regions.push({ base, size, dev });
  }

  unmap(dev: MmioDevice): void { this.regions = this.regions.filter((r) => r.dev !== dev); }

  read(addr: number, size: Size): number {
    const r = this.find(addr);
    if (r) return r.dev.mmioRead(addr - r.base, size);
    this.unclaimed(addr, 'read');
    return ONES[size];
  }

  write(addr: number, size: Size, value: number): void {
    const r = this.find(addr);
    if (r) { r.dev.mmioWrite(addr - r.base, size, value); return; }
    this.unclaimed(addr, `write 0x${(value >>> 0).toString(16)}`);
  }

  private find(addr: number): Region | undefined {
    for (const r of this.regions) if (addr >= r.base && addr < r.base + r.size) return r;
    return undefined;
  }

  private unclaimed(addr: number, what: string): void {
    const page = Math.floor(addr / 4096);
    if (this.reported.has(page)) return;
    this.reported.add(page);
    this.log('unimp', `unclaimed physical address 0x${addr.toString(16)} (${what}); further accesses to this page not logged`);
  }
}

/**
 * Guest physical memory: RAM from address 0 in one ArrayBuffer. The buffer
 * is zero-filled lazily by the host OS, so an untouched gigabyte costs nothing.
 * Accesses outside RAM go to `mmio` (the machine installs device windows
 * there); with no handler they fail loudly rather than read as zero.
 */
export interface MmioHandler {
  read(addr: number, size: 1 | 2 | 4): number;
  write(addr: number, size: 1 | 2 | 4, value: number): void;
}

export class PhysMem {
  readonly bytes: Uint8Array;
  readonly view: DataView;
  mmio: MmioHandler | null = null;

  constructor(readonly size: number) {
    if (size % 4096 !== 0) throw new Error(`RAM size ${size} is not a multiple of 4 KiB`);
    const buffer = new ArrayBuffer(size);
    this.bytes = new Uint8Array(buffer);
    this.view = new DataView(buffer);
  }

  isRam(addr: number): boolean { return addr >= 0 && addr < this.size; }

  read8(addr: number): number {
    if (addr < this.size) return this.bytes[addr];
    return this.device(addr).read(addr, 1);
  }

  /** A word access outside RAM reaches the device as one 16-bit cycle (virtio's 16-bit registers need it). */
  read16(addr: number): number {
    if (addr + 2 <= this.size) return this.view.getUint16(addr, true);
    return this.device(addr).read(addr, 2) & 0xffff;
  }

  read32(addr: number): number {
    if (addr + 4 <= this.size) return this.view.getInt32(addr, true);
    return this.device(addr).read(addr, 4) | 0;
  }

  write8(addr: number, v: number): void {
    if (addr < this.size) { this.bytes[addr] = v; return; }
    this.device(addr).write(addr, 1, v & 0xff);
  }

  write16(addr: number, v: number): void {
    if (addr + 2 <= this.size) { this.view.setUint16(addr, v, true); return; }
    this.device(addr).write(addr, 2, v & 0xffff);
  }

  write32(addr: number, v: number): void {
    if (addr + 4 <= this.size) { this.view.setInt32(addr, v, true); return; }
    this.device(addr).write(addr, 4, v | 0);
  }

  private device(addr: number): MmioHandler {
    if (this.mmio) return this.mmio;
    throw new Error(`physical address 0x${addr.toString(16)} is outside RAM (${this.size} bytes) and no device claims it`);
  }
}

/**
 * A bench for the virtio-blk model: the device on its own, with RAM, the two
 * buses, a clock and an in-memory disk, BARs placed as SeaBIOS places them on
 * QEMU, and a small driver that lays out split rings and requests in RAM the
 * way virtio 1.1 §2.6 and §5.2.6 describe — written from the spec, not from
 * the device's code.
 */
import { PhysMem } from '../../emu/cpu/physmem.js';
import { CodePages } from '../../emu/cpu/codepages.js';
import { GuestMemory } from '../../emu/machine/dma.js';
import { VirtualClock } from '../../emu/machine/clock.js';
import { MmioBus, PortBus, type Size } from '../../emu/machine/bus.js';
import { createVirtioBlk, type VirtioBlk } from '../../emu/machine/virtio-blk.js';
import { NO_LATENCY, type DiskTimingConfig } from '../../emu/machine/disk-timing.js';
import { MemDisk } from '../helpers/mem-disk.js';

export { MemDisk };

export const IO = 0xc000, MSIX = 0xe0010000, MODERN = 0xe0000000;
export const NOTIFY_MULTIPLIER = 4;
export const SECTOR = 512;
export const F = { SEG_MAX: 2, BLK_SIZE: 6, FLUSH: 9, ANY_LAYOUT: 27, INDIRECT: 28, EVENT_IDX: 29, VERSION_1: 32 };
export const S = { ACK: 1, DRIVER: 2, DRIVER_OK: 4, FEATURES_OK: 8, NEEDS_RESET: 0x40 };
export const T = { IN: 0, OUT: 1, FLUSH: 4, GET_ID: 8 };
export const DESC_NEXT = 1, DESC_WRITE = 2, DESC_INDIRECT = 4;
/** Common configuration offsets (§4.1.4.3). */
export const C = {
  dfselect: 0x00, df: 0x04, gfselect: 0x08, gf: 0x0c, msix: 0x10, numq: 0x12, status: 0x14, gen: 0x15,
  qsel: 0x16, qsize: 0x18, qmsix: 0x1a, qenable: 0x1c, qnotify: 0x1e, qdesc: 0x20, qdriver: 0x28, qdevice: 0x30,
};

export interface Bench {
  phys: PhysMem;
  mem: GuestMemory;
  clock: VirtualClock;
  ports: PortBus;
  mmio: MmioBus;
  disk: MemDisk;
  dev: VirtioBlk;
  logs: string[];
  msis: [number, number][];
  intx: boolean[];
  /** INTx# as the interrupt controller sees it now. */
  readonly line: boolean;
}

export function bench(opts: { timing?: DiskTimingConfig; diskBytes?: number; serial?: string; disk?: MemDisk; clock?: VirtualClock; phys?: PhysMem; cpus?: number } = {}): Bench {
  const phys = opts.phys ?? new PhysMem(4 << 20);
  const mem = new GuestMemory(phys, new CodePages());
  const clock = opts.clock ?? new VirtualClock();
  const logs: string[] = [];
  const log = (c: string, l: string): void => { logs.push(`${c}: ${l}`); };
  const ports = new PortBus(log), mmio = new MmioBus(log);
  const disk = opts.disk ?? new MemDisk(opts.diskBytes ?? 1 << 20);
  const msis: [number, number][] = [];
  const intx: boolean[] = [];
  const dev = createVirtioBlk({ clock, mem, ports, mmio, log, msi: (a, d) => msis.push([a, d]), cpus: opts.cpus ?? 1 },
    { disk, interface: 'virtio', serial: opts.serial ?? 'SN-0001', timing: opts.timing ?? NO_LATENCY }, 3) as VirtioBlk;
  dev.pci.intx = { set: (l) => intx.push(l) };
  const fn = dev.pci;
  fn.writeConfig(0x10, 4, IO);
  fn.writeConfig(0x14, 4, MSIX);
  fn.writeConfig(0x20, 4, MODERN);
  fn.writeConfig(0x24, 4, 0);
  fn.writeConfig(0x04, 2, 0x7);
  return { phys, mem, clock, ports, mmio, disk, dev, logs, msis, intx, get line() { return intx.length > 0 && intx[intx.length - 1]; } };
}

export const common = {
  read: (b: Bench, off: number, size: Size): number => b.mmio.read(MODERN + off, size),
  write: (b: Bench, off: number, size: Size, v: number): void => b.mmio.write(MODERN + off, size, v),
};
export const isr = (b: Bench): number => b.mmio.read(MODERN + 0x1000, 1);
export const devcfg = (b: Bench, off: number, size: Size): number => b.mmio.read(MODERN + 0x2000 + off, size);
export const notify = (b: Bench, q: number): void => b.mmio.write(MODERN + 0x3000 + q * NOTIFY_MULTIPLIER, 2, q);

/** Ring areas and buffers in RAM: the rings low, buffers from 1 MiB. */
export const RING = { desc: 0x10000, avail: 0x12000, used: 0x13000 };
export const BUF = 0x100000;

export interface Buf { addr: number; len: number; write?: boolean }

/** The driver side of one split queue (§2.6), on `size` entries. */
export class Ring {
  private nextDesc = 0;
  availIdx = 0;
  lastUsed = 0;

  constructor(private readonly b: Bench, readonly size: number, readonly at = RING) {}

  /** Descriptors for `bufs` as one chain, linked with NEXT; returns its head. */
  chain(bufs: Buf[]): number {
    const head = this.nextDesc;
    bufs.forEach((buf, i) => {
      const d = this.nextDesc++ % this.size;
      const last = i === bufs.length - 1;
      this.desc(d, buf.addr, buf.len, (buf.write ? DESC_WRITE : 0) | (last ? 0 : DESC_NEXT), last ? 0 : (d + 1) % this.size);
    });
    return head % this.size;
  }

  desc(i: number, addr: number, len: number, flags: number, next: number, table = this.at.desc): void {
    const m = this.b.mem, at = table + 16 * i;
    m.setU64(at, addr);
    m.setU32(at + 8, len);
    m.setU16(at + 12, flags);
    m.setU16(at + 14, next);
  }

  /** Makes chain `head` available: ring entry first, then idx (§2.6.13). */
  publish(head: number): void {
    this.b.mem.setU16(this.at.avail + 4 + 2 * (this.availIdx % this.size), head);
    this.availIdx = (this.availIdx + 1) & 0xffff;
    this.b.mem.setU16(this.at.avail + 2, this.availIdx);
  }

  set availFlags(v: number) { this.b.mem.setU16(this.at.avail, v); }
  set usedEvent(v: number) { this.b.mem.setU16(this.at.avail + 4 + 2 * this.size, v); }
  get availEvent(): number { return this.b.mem.u16(this.at.used + 4 + 8 * this.size); }
  get usedIdx(): number { return this.b.mem.u16(this.at.used + 2); }

  /** The used entries since the last call: [id, len]. */
  used(): [number, number][] {
    const out: [number, number][] = [];
    while (this.lastUsed !== this.usedIdx) {
      const at = this.at.used + 4 + 8 * (this.lastUsed % this.size);
      out.push([this.b.mem.u32(at), this.b.mem.u32(at + 4)]);
      this.lastUsed = (this.lastUsed + 1) & 0xffff;
    }
    return out;
  }
}

/** Writes a request header (§5.2.6) at `at` and returns its buffer. */
export function header(b: Bench, at: number, type: number, sector: number): Buf {
  b.mem.setU32(at, type);
  b.mem.setU32(at + 4, 0);
  b.mem.setU64(at + 8, sector);
  return { addr: at, len: 16 };
}

/** The modern driver's initialisation (§3.1.1, §4.1.5.1): features, one queue of `size`, DRIVER_OK. */
export function modernInit(b: Bench, opts: { features?: bigint; size?: number; queueVector?: number; configVector?: number; driverOk?: boolean; rings?: typeof RING } = {}): Ring {
  const size = opts.size ?? 8;
  common.write(b, C.status, 1, 0);
  common.write(b, C.status, 1, S.ACK);
  common.write(b, C.status, 1, S.ACK | S.DRIVER);
  const features = opts.features ?? (1n << BigInt(F.VERSION_1)) | (1n << BigInt(F.FLUSH)) | (1n << BigInt(F.BLK_SIZE));
  for (const sel of [0, 1]) {
    common.write(b, C.gfselect, 4, sel);
    common.write(b, C.gf, 4, Number((features >> BigInt(32 * sel)) & 0xffffffffn));
  }
  common.write(b, C.status, 1, S.ACK | S.DRIVER | S.FEATURES_OK);
  if (opts.configVector !== undefined) common.write(b, C.msix, 2, opts.configVector);
  common.write(b, C.qsel, 2, 0);
  common.write(b, C.qsize, 2, size);
  if (opts.queueVector !== undefined) common.write(b, C.qmsix, 2, opts.queueVector);
  const rings = opts.rings ?? RING;
  for (const [off, addr] of [[C.qdesc, rings.desc], [C.qdriver, rings.avail], [C.qdevice, rings.used]]) {
    common.write(b, off, 4, addr);
    common.write(b, off + 4, 4, 0);
  }
  b.mem.fill(RING.desc, 0x4000, 0);
  common.write(b, C.qenable, 2, 1);
  if (opts.driverOk ?? true) common.write(b, C.status, 1, S.ACK | S.DRIVER | S.FEATURES_OK | S.DRIVER_OK);
  return new Ring(b, size);
}

/** MSI-X on, function unmasked, vector v → (0xfee00000, data 0x40 + v), unmasked. */
export function enableMsix(b: Bench): void {
  const cap = b.dev.transport.msix.cap;
  for (let v = 0; v < 2; v++) {
    b.mmio.write(MSIX + 16 * v, 4, 0xfee00000);
    b.mmio.write(MSIX + 16 * v + 4, 4, 0);
    b.mmio.write(MSIX + 16 * v + 8, 4, 0x40 + v);
    b.mmio.write(MSIX + 16 * v + 12, 4, 0);
  }
  b.dev.pci.writeConfig(cap + 2, 2, 0x8000);
}

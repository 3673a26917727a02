/**
 * The machine's disks: each `-drive` becomes a PCI function on bus 0 — a
 * virtio-blk (the "HDD") or an NVMe controller (the "SSD") — in the order
 * given, from slot 3 up (QEMU's `pc` puts the PIIX3 at 1 and VGA at 2).
 * A device model gets what a bus-master PCI device has: its configuration
 * header, guest RAM by physical address, MSI writes, an INTx# line, the clock.
 */
import type { Disk } from '../storage/disk.js';
import type { VirtualClock } from './clock.js';
import type { Log, MmioBus, PortBus } from './bus.js';
import type { GuestMemory } from './dma.js';
import type { PciFunction } from './pci.js';
import type { DiskTimingConfig } from './disk-timing.js';
import type { Stateful } from './state.js';

export type DriveInterface = 'virtio' | 'nvme';

export interface DriveConfig {
  disk: Disk;
  interface: DriveInterface;
  /** What the device reports as its serial number (virtio-blk GET_ID, NVMe Identify). */
  serial: string;
  timing: DiskTimingConfig;
}

export interface DeviceContext {
  clock: VirtualClock;
  mem: GuestMemory;
  ports: PortBus;
  mmio: MmioBus;
  log: Log;
  /** A message-signalled interrupt: a dword write of `data` to `address` (0xFEExxxxx). */
  msi(address: number, data: number): void;
  /** The machine's CPU count: devices that give each CPU a queue (as QEMU's virtio-blk does) size themselves by it. */
  cpus: number;
}

/**
 * A device model on the bus; it drives INTx# through `pci.setIntx`, which the
 * machine has routed (pciIntxIrq). Its state, with requests in flight, goes
 * into machine snapshots (state.ts); its clock events carry tags.
 */
export interface BlockDevice extends Stateful {
  readonly pci: PciFunction;
}

export type BlockDeviceFactory = (ctx: DeviceContext, drive: DriveConfig, slot: number) => BlockDevice;

export const FIRST_DRIVE_SLOT = 3;

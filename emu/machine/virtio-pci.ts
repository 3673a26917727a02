/**
 * The virtio PCI transport (virtio 1.1 §4.1) as QEMU 7.2's `pc` machine
 * presents a transitional device: one function that a legacy driver drives
 * through an I/O BAR and a virtio 1.x driver through vendor capabilities
 * pointing into a memory BAR, with MSI-X in a BAR of its own. The layout is
 * QEMU's, read back from a running QEMU 7.2 (`-device virtio-blk-pci`):
 *
 *   BAR0  I/O, 128 bytes    legacy registers (§4.1.4.8), then the device's config
 *   BAR1  mem32, 4 KiB      MSI-X table at 0, pending bits at 0x800; queues + 1 vectors
 *   BAR4  mem64 pref, 16 KiB  0x0000 common cfg · 0x1000 ISR · 0x2000 device cfg ·
 *                           0x3000 notify (queue q at q × NOTIFY_MULTIPLIER)
 *
 *   capabilities, in the order a driver walking from 0x34 meets them
 *   (QEMU prepends each new one, so they sit in memory the other way round):
 *     0x98 MSI-X · 0x84 PCI cfg access (type 5) · 0x70 notify (2) ·
 *     0x60 device cfg (4) · 0x50 ISR (3) · 0x40 common cfg (1)
 *
 *   vendor capability (§4.1.4): +2 cap_len · +3 cfg_type · +4 bar · +5 id ·
 *     +6 padding[2] · +8 le32 offset · +12 le32 length; notify adds
 *     +16 le32 notify_off_multiplier; PCI cfg access adds +16 pci_cfg_data[4].
 *
 * Device status and feature negotiation (§2.1, §3.1): VERSION_1 is offered
 * only through the modern interface, and FEATURES_OK is refused (left clear)
 * when the driver accepted a feature not offered, or did not accept VERSION_1
 * there. A guest error that leaves the device unusable — a malformed ring, a
 * DMA outside RAM — sets DEVICE_NEEDS_RESET, is logged under guest_errors,
 * and the device does nothing more until it is reset (§2.1.2).
 *
 * Interrupts (§4.1.5.3, §4.1.5.4): with MSI-X enabled, the vector the driver
 * mapped to the queue or to configuration changes (none: NO_VECTOR); without,
 * the ISR bits and INTx#, level, until the driver reads the ISR.
 */
import type { Log, MmioDevice, PortDevice, Size } from './bus.js';
import type { DeviceContext } from './drives.js';
import { DmaError } from './dma.js';
import { attachBars, PCI_COMMAND_MASTER, PciFunction } from './pci.js';
import { Msix } from './msix.js';
import { NO_VECTOR, SplitQueue, VirtqueueError } from './virtqueue.js';
import type { StateValue } from './state.js';
import { asRecord, restoreFields, saveFields } from './fields.js';

export const enum Status {
  ACKNOWLEDGE = 1,
  DRIVER = 2,
  DRIVER_OK = 4,
  FEATURES_OK = 8,
  DEVICE_NEEDS_RESET = 0x40,
  FAILED = 0x80,
}

/** Transport feature bits (§6). */
export const F_ANY_LAYOUT = 27, F_INDIRECT_DESC = 28, F_EVENT_IDX = 29, F_VERSION_1 = 32;
const bit = (n: number): bigint => 1n << BigInt(n);

const enum Isr { QUEUE = 1, CONFIG = 2 }

/** Legacy registers (§4.1.4.8): offset → width. With MSI-X enabled, two vector registers push the device config from 0x14 to 0x18. */
const enum Legacy {
  HOST_FEATURES = 0x00, GUEST_FEATURES = 0x04, QUEUE_PFN = 0x08, QUEUE_NUM = 0x0c, QUEUE_SEL = 0x0e,
  QUEUE_NOTIFY = 0x10, STATUS = 0x12, ISR = 0x13, CONFIG_VECTOR = 0x14, QUEUE_VECTOR = 0x16,
}
const LEGACY_WIDTH = new Map<number, Size>([[0x00, 4], [0x04, 4], [0x08, 4], [0x0c, 2], [0x0e, 2], [0x10, 2], [0x12, 1], [0x13, 1], [0x14, 2], [0x16, 2]]);
/** Legacy rings: the queue's page number, the used ring on the next 4 KiB boundary after the available ring. */
const LEGACY_PAGE = 4096;

/** Common configuration (§4.1.4.3): offset → width. The 64-bit addresses are written as two dwords. */
const enum Common {
  DEVICE_FEATURE_SELECT = 0x00, DEVICE_FEATURE = 0x04, DRIVER_FEATURE_SELECT = 0x08, DRIVER_FEATURE = 0x0c,
  MSIX_CONFIG = 0x10, NUM_QUEUES = 0x12, DEVICE_STATUS = 0x14, CONFIG_GENERATION = 0x15,
  QUEUE_SELECT = 0x16, QUEUE_SIZE = 0x18, QUEUE_MSIX_VECTOR = 0x1a, QUEUE_ENABLE = 0x1c, QUEUE_NOTIFY_OFF = 0x1e,
  QUEUE_DESC = 0x20, QUEUE_DRIVER = 0x28, QUEUE_DEVICE = 0x30,
}
const COMMON_WIDTH = new Map<number, Size>([
  [0x00, 4], [0x04, 4], [0x08, 4], [0x0c, 4], [0x10, 2], [0x12, 2], [0x14, 1], [0x15, 1], [0x16, 2], [0x18, 2], [0x1a, 2],
  [0x1c, 2], [0x1e, 2], [0x20, 4], [0x24, 4], [0x28, 4], [0x2c, 4], [0x30, 4], [0x34, 4],
]);

const enum CfgType { COMMON = 1, NOTIFY = 2, ISR = 3, DEVICE = 4, PCI = 5 }
const MODERN_BAR = 4, MSIX_BAR = 1, LEGACY_BAR = 0;
const REGION = 0x1000;
const NOTIFY_MULTIPLIER = 4;
const PCI_CAP_VENDOR = 0x09; // vendor-specific capability (PCI 3.0 App. H)
const ONES: Record<Size, number> = { 1: 0xff, 2: 0xffff, 4: 0xffffffff };

/** What a virtio device type (block, …) gives the transport. */
export interface VirtioDevice {
  /** Device-type feature bits it offers (bits 0–23, §6). */
  readonly features: bigint;
  /** Its configuration structure, little-endian, read-only to the driver. */
  readonly config: Uint8Array;
  /** The driver made buffers available on queue `q`, and the device may use them. */
  queueNotify(q: number): void;
  /** The driver reset the device: requests in flight are dropped. */
  reset(): void;
}

export interface VirtioPciIds {
  /** Its name in log lines, e.g. "virtio-blk 00:03.0". */
  name: string;
  /** The transitional PCI device ID (0x1000 + type − 1 for legacy types) and subsystem ID (the virtio device type, §4.1.2.1). */
  pciDevice: number;
  subsystem: number;
  classCode: number;
  queues: number;
  queueMax: number;
}

const TRANSPORT_STATE = ['status', 'deviceFeatureSelect', 'driverFeatureSelect', 'configVector', 'queueSelect', 'isr'] as const;

export class VirtioPci {
  readonly pci: PciFunction;
  readonly msix: Msix;
  readonly queues: SplitQueue[];
  status = 0;
  deviceFeatureSelect = 0;
  driverFeatureSelect = 0;
  /** What the driver accepted so far. */
  driverFeatures = 0n;
  configVector = NO_VECTOR;
  queueSelect = 0;
  isr = 0;
  private readonly log: Log;
  private readonly cfgCap: number;

  constructor(ctx: DeviceContext, private readonly device: VirtioDevice, private readonly ids: VirtioPciIds) {
    this.log = ctx.log;
    const fn = this.pci = new PciFunction({ vendor: 0x1af4, device: ids.pciDevice, classCode: ids.classCode, revision: 0, subsystemVendor: 0x1af4, subsystem: ids.subsystem });
    fn.setInterruptPin(1);
    fn.addBar(LEGACY_BAR, 'io', 0x80);
    fn.addBar(MSIX_BAR, 'mem32', 0x1000);
    fn.addBar(MODERN_BAR, 'mem64', 4 * REGION, true);
    const caps = [
      this.vendorCap(CfgType.COMMON, 0 * REGION, REGION),
      this.vendorCap(CfgType.ISR, 1 * REGION, REGION),
      this.vendorCap(CfgType.DEVICE, 2 * REGION, REGION),
      this.vendorCap(CfgType.NOTIFY, 3 * REGION, REGION, [NOTIFY_MULTIPLIER, 0, 0, 0]),
    ];
    // The PCI configuration access capability: bar, offset and length are the driver's, and so is the data window behind them.
    this.cfgCap = fn.addCapability(PCI_CAP_VENDOR, [20, CfgType.PCI, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
      [0, 0, 0xff, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
    caps.push(this.cfgCap);
    this.msix = new Msix(fn, { vectors: ids.queues + 1, tableBar: MSIX_BAR, tableOffset: 0, pbaBar: MSIX_BAR, pbaOffset: 0x800 },
      (address, data) => ctx.msi(address, data), ctx.log);
    caps.push(this.msix.cap);
    // Relinked into QEMU's order: the list starts at the last one added, each pointing at the one added before it.
    fn.setConfig(0x34, 1, caps[caps.length - 1]);
    caps.forEach((cap, i) => fn.setConfig(cap + 1, 1, i === 0 ? 0 : caps[i - 1]));
    this.queues = Array.from({ length: ids.queues }, () => new SplitQueue(ids.queueMax, ctx.mem));

    const legacy: PortDevice = { portRead: (o, size) => this.legacyRead(o, size), portWrite: (o, size, v) => this.legacyWrite(o, size, v) };
    const modern: MmioDevice = { mmioRead: (o, size) => this.modernRead(o, size), mmioWrite: (o, size, v) => this.modernWrite(o, size, v) };
    const msixBar: MmioDevice = {
      mmioRead: (o, size) => (o < 0x800 ? this.msix.tableWindow.mmioRead(o, size) : this.msix.pbaWindow.mmioRead(o - 0x800, size)),
      mmioWrite: (o, size, v) => (o < 0x800 ? this.msix.tableWindow.mmioWrite(o, size, v) : this.msix.pbaWindow.mmioWrite(o - 0x800, size, v)),
    };
    attachBars(fn, ctx.ports, ctx.mmio, ctx.log, { [LEGACY_BAR]: legacy, [MSIX_BAR]: msixBar, [MODERN_BAR]: modern });

    const configWrite = fn.onConfigWrite;
    fn.onConfigWrite = (offset, size) => {
      configWrite(offset, size);
      if (this.overlapsCfgData(offset, size)) this.cfgAccessWrite();
      // Enabling MSI-X takes the function off INTx# (PCI 3.0 §6.8.2).
      this.updateIntx();
    };
    const configRead = fn.readConfig.bind(fn);
    fn.readConfig = (offset, size) => {
      if (this.overlapsCfgData(offset, size)) this.cfgAccessRead();
      return configRead(offset, size);
    };
  }

  private vendorCap(type: CfgType, offset: number, length: number, extra: number[] = []): number {
    const le32 = (v: number): number[] => [v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, v >>> 24];
    return this.pci.addCapability(PCI_CAP_VENDOR, [16 + extra.length, type, MODERN_BAR, 0, 0, 0, ...le32(offset), ...le32(length), ...extra]);
  }

  has(feature: number): boolean { return (this.driverFeatures & bit(feature)) !== 0n; }

  /** The features offered through the modern (VERSION_1) or the legacy interface. */
  offered(modern: boolean): bigint {
    const transport = bit(F_INDIRECT_DESC) | bit(F_EVENT_IDX) | (modern ? bit(F_VERSION_1) : bit(F_ANY_LAYOUT));
    return this.device.features | transport;
  }

  // ---- notifications -----------------------------------------------------------------

  /** Queue `q` has new used entries since used idx was `before`: interrupt the driver if it wants it. */
  usedBuffer(q: number, before: number): void {
    const queue = this.queues[q];
    if (!queue.wantsInterrupt(before)) return;
    if (this.msix.enabled) {
      if (queue.vector !== NO_VECTOR) this.msix.notify(queue.vector);
    } else {
      this.isr |= Isr.QUEUE;
      this.updateIntx();
    }
  }

  private configChanged(): void {
    if (this.msix.enabled) {
      if (this.configVector !== NO_VECTOR) this.msix.notify(this.configVector);
    } else {
      this.isr |= Isr.CONFIG;
      this.updateIntx();
    }
  }

  private updateIntx(): void { this.pci.setIntx(this.isr !== 0 && !this.msix.enabled); }

  get broken(): boolean { return (this.status & Status.DEVICE_NEEDS_RESET) !== 0; }

  /** A guest error the device cannot go on from (§2.1.2): NEEDS_RESET, and a configuration interrupt if the driver is running. */
  fail(why: string): void {
    this.log('guest_errors', `${this.ids.name}: ${why}; the device needs a reset`);
    if (this.broken) return;
    this.status |= Status.DEVICE_NEEDS_RESET;
    if (this.status & Status.DRIVER_OK) this.configChanged();
  }

  /** Runs `work` (ring and buffer access), turning a malformed ring or a DMA outside RAM into NEEDS_RESET. */
  guarded(work: () => void): void {
    try {
      work();
    } catch (e) {
      if (!(e instanceof VirtqueueError || e instanceof DmaError)) throw e;
      this.fail(e.message);
    }
  }

  private notify(q: number): void {
    if (q >= this.queues.length) {
      this.log('guest_errors', `${this.ids.name}: notification of queue ${q}, which does not exist`);
      return;
    }
    // Before DRIVER_OK the buffers wait (setStatus takes them); after NEEDS_RESET nothing is looked at.
    if (this.broken || !(this.status & Status.DRIVER_OK)) return;
    if (!this.queues[q].enabled) {
      this.log('guest_errors', `${this.ids.name}: notification of queue ${q}, which is not set up`);
      return;
    }
    if (!(this.pci.command & PCI_COMMAND_MASTER)) {
      this.log('guest_errors', `${this.ids.name}: queue ${q} notified with bus mastering off (PCI command bit 2); ignored`);
      return;
    }
    this.device.queueNotify(q);
  }

  // ---- status, features, reset ----------------------------------------------------------

  private setStatus(value: number, modern: boolean): void {
    if (value === 0) {
      this.reset();
      return;
    }
    const before = this.status;
    if (before & ~value & ~Status.DEVICE_NEEDS_RESET) this.log('guest_errors', `${this.ids.name}: status 0x${value.toString(16)} clears bits of 0x${before.toString(16)} (§2.1.2: only a reset may)`);
    let status = (value & ~Status.DEVICE_NEEDS_RESET) | (before & Status.DEVICE_NEEDS_RESET);
    if (status & Status.FEATURES_OK && !(before & Status.FEATURES_OK)) {
      const refused = this.refusal(modern);
      if (refused) {
        this.log('guest_errors', `${this.ids.name}: FEATURES_OK refused: ${refused}`);
        status &= ~Status.FEATURES_OK;
      }
    }
    this.status = status;
    // Buffers made available before DRIVER_OK are the device's from now on (§3.1.1).
    if (status & Status.DRIVER_OK && !(before & Status.DRIVER_OK)) this.queues.forEach((queue, q) => { if (queue.enabled) this.notify(q); });
  }

  private refusal(modern: boolean): string | null {
    const extra = this.driverFeatures & ~this.offered(modern);
    if (extra) return `the driver accepted features 0x${extra.toString(16)} that were not offered`;
    if (modern && !this.has(F_VERSION_1)) return 'VERSION_1 not accepted through the modern interface';
    return null;
  }

  private setDriverFeatures(features: bigint): void {
    this.driverFeatures = features;
    for (const queue of this.queues) {
      queue.indirect = this.has(F_INDIRECT_DESC);
      queue.eventIdx = this.has(F_EVENT_IDX);
    }
  }

  /** Device reset (§2.1.2, §4.1.4.3.2): everything the driver set up goes; MSI-X table and PCI state are the bus's and stay. */
  reset(): void {
    this.device.reset();
    this.status = 0;
    this.deviceFeatureSelect = this.driverFeatureSelect = this.queueSelect = 0;
    this.setDriverFeatures(0n);
    this.configVector = NO_VECTOR;
    for (const q of this.queues) q.reset();
    this.isr = 0;
    this.updateIntx();
  }

  private mapVector(v: number): number {
    // §4.1.5.1.2: a vector the table does not have is not mapped, and reads back as NO_VECTOR.
    return v < this.msix.vectors ? v : NO_VECTOR;
  }

  private get selected(): SplitQueue | undefined { return this.queues[this.queueSelect]; }

  private readIsr(): number {
    const v = this.isr;
    this.isr = 0;
    this.updateIntx();
    return v;
  }

  // ---- legacy interface (BAR0) --------------------------------------------------------

  private get legacyHeader(): number { return this.msix.enabled ? 0x18 : 0x14; }

  private legacyRead(o: number, size: Size): number {
    const header = this.legacyHeader;
    if (o >= header) return this.configRead(o - header, size);
    if (LEGACY_WIDTH.get(o) !== size) {
      this.log('guest_errors', `${this.ids.name}: legacy ${size}-byte read at 0x${o.toString(16)} is not a register`);
      return ONES[size];
    }
    const q = this.selected;
    switch (o as Legacy) {
      case Legacy.HOST_FEATURES: return Number(this.offered(false) & 0xffffffffn);
      case Legacy.GUEST_FEATURES: return Number(this.driverFeatures & 0xffffffffn);
      case Legacy.QUEUE_PFN: return q ? Math.floor(q.desc / LEGACY_PAGE) : 0;
      case Legacy.QUEUE_NUM: return q ? q.size : 0;
      case Legacy.QUEUE_SEL: return this.queueSelect;
      case Legacy.QUEUE_NOTIFY: return 0;
      case Legacy.STATUS: return this.status;
      case Legacy.ISR: return this.readIsr();
      case Legacy.CONFIG_VECTOR: return this.configVector;
      case Legacy.QUEUE_VECTOR: return q ? q.vector : NO_VECTOR;
    }
    return ONES[size];
  }

  private legacyWrite(o: number, size: Size, v: number): void {
    const header = this.legacyHeader;
    if (o >= header) return this.configWrite(o - header, size);
    if (LEGACY_WIDTH.get(o) !== size) {
      this.log('guest_errors', `${this.ids.name}: legacy ${size}-byte write at 0x${o.toString(16)} is not a register`);
      return;
    }
    const q = this.selected;
    switch (o as Legacy) {
      case Legacy.GUEST_FEATURES: {
        const offered = this.offered(false);
        if (BigInt(v >>> 0) & ~offered) this.log('guest_errors', `${this.ids.name}: legacy driver accepted features 0x${(BigInt(v >>> 0) & ~offered).toString(16)} not offered; dropped`);
        this.setDriverFeatures(BigInt(v >>> 0) & offered);
        return;
      }
      case Legacy.QUEUE_PFN:
        if (!q) return;
        this.legacyQueue(q, v >>> 0);
        return;
      case Legacy.QUEUE_SEL: this.queueSelect = v; return;
      case Legacy.QUEUE_NOTIFY: this.notify(v); return;
      case Legacy.STATUS:
        this.setStatus(v, false);
        // QEMU's rule for legacy drivers that never set Bus Master Enable (Linux before 2.6.34): DRIVER_OK sets it for them.
        if (v & Status.DRIVER_OK && !(this.pci.command & PCI_COMMAND_MASTER)) this.pci.writeConfig(0x04, 2, this.pci.command | PCI_COMMAND_MASTER);
        return;
      case Legacy.CONFIG_VECTOR: this.configVector = this.mapVector(v); return;
      case Legacy.QUEUE_VECTOR: if (q) q.vector = this.mapVector(v); return;
    }
    this.log('guest_errors', `${this.ids.name}: legacy register 0x${o.toString(16)} is read-only; write ignored`);
  }

  /** A legacy queue lives in one page-aligned block of its fixed size; page 0 turns it off. */
  private legacyQueue(q: SplitQueue, pfn: number): void {
    if (pfn === 0) {
      q.enabled = false;
      q.desc = q.driver = q.device = 0;
      return;
    }
    q.size = q.max;
    q.desc = pfn * LEGACY_PAGE;
    q.driver = q.desc + 16 * q.size;
    q.device = Math.ceil((q.driver + 6 + 2 * q.size) / LEGACY_PAGE) * LEGACY_PAGE;
    q.enabled = true;
  }

  // ---- modern interface (BAR4) ----------------------------------------------------------

  private modernRead(o: number, size: Size): number {
    const off = o % REGION;
    switch (Math.floor(o / REGION)) {
      case 0: return this.commonRead(off, size);
      case 1: return off === 0 ? this.readIsr() : 0;
      case 2: return this.configRead(off, size);
      default: return 0;
    }
  }

  private modernWrite(o: number, size: Size, v: number): void {
    const off = o % REGION;
    switch (Math.floor(o / REGION)) {
      case 0: this.commonWrite(off, size, v); return;
      case 1: this.log('guest_errors', `${this.ids.name}: write to the read-only ISR status ignored`); return;
      case 2: this.configWrite(off, size); return;
      default:
        // §4.1.4.4: queue q's notify address is queue_notify_off (= q) × the multiplier.
        if (off % NOTIFY_MULTIPLIER) this.log('guest_errors', `${this.ids.name}: notification at 0x${off.toString(16)} is not a queue's address`);
        else this.notify(off / NOTIFY_MULTIPLIER);
    }
  }

  private commonRead(o: number, size: Size): number {
    if (COMMON_WIDTH.get(o) !== size) {
      this.log('guest_errors', `${this.ids.name}: ${size}-byte read at common cfg 0x${o.toString(16)} is not a field (§4.1.3.1: natural widths)`);
      return 0;
    }
    const q = this.selected;
    const word = (f: bigint, sel: number): number => (sel < 2 ? Number((f >> BigInt(32 * sel)) & 0xffffffffn) : 0);
    switch (o & ~4) {
      case Common.QUEUE_DESC: return q ? half(q.desc, o & 4) : 0;
      case Common.QUEUE_DRIVER: return q ? half(q.driver, o & 4) : 0;
      case Common.QUEUE_DEVICE: return q ? half(q.device, o & 4) : 0;
    }
    switch (o as Common) {
      case Common.DEVICE_FEATURE_SELECT: return this.deviceFeatureSelect;
      case Common.DEVICE_FEATURE: return word(this.offered(true), this.deviceFeatureSelect);
      case Common.DRIVER_FEATURE_SELECT: return this.driverFeatureSelect;
      case Common.DRIVER_FEATURE: return word(this.driverFeatures, this.driverFeatureSelect);
      case Common.MSIX_CONFIG: return this.configVector;
      case Common.NUM_QUEUES: return this.queues.length;
      case Common.DEVICE_STATUS: return this.status;
      case Common.CONFIG_GENERATION: return 0;
      case Common.QUEUE_SELECT: return this.queueSelect;
      case Common.QUEUE_SIZE: return q ? q.size : 0;
      case Common.QUEUE_MSIX_VECTOR: return q ? q.vector : NO_VECTOR;
      case Common.QUEUE_ENABLE: return q?.enabled ? 1 : 0;
      case Common.QUEUE_NOTIFY_OFF: return this.queueSelect;
    }
    return 0;
  }

  private commonWrite(o: number, size: Size, v: number): void {
    if (COMMON_WIDTH.get(o) !== size) {
      this.log('guest_errors', `${this.ids.name}: ${size}-byte write at common cfg 0x${o.toString(16)} is not a field (§4.1.3.1: natural widths)`);
      return;
    }
    const q = this.selected;
    switch (o as Common) {
      case Common.DEVICE_FEATURE_SELECT: this.deviceFeatureSelect = v >>> 0; return;
      case Common.DRIVER_FEATURE_SELECT: this.driverFeatureSelect = v >>> 0; return;
      case Common.DRIVER_FEATURE: {
        if (this.status & Status.FEATURES_OK) {
          this.log('guest_errors', `${this.ids.name}: driver features written after FEATURES_OK; ignored`);
          return;
        }
        const sel = this.driverFeatureSelect;
        if (sel > 1) return;
        const shift = BigInt(32 * sel);
        this.setDriverFeatures((this.driverFeatures & ~(0xffffffffn << shift)) | (BigInt(v >>> 0) << shift));
        return;
      }
      case Common.MSIX_CONFIG: this.configVector = this.mapVector(v); return;
      case Common.DEVICE_STATUS: this.setStatus(v, true); return;
      case Common.QUEUE_SELECT: this.queueSelect = v; return;
      case Common.QUEUE_MSIX_VECTOR: if (q) q.vector = this.mapVector(v); return;
      case Common.DEVICE_FEATURE: case Common.NUM_QUEUES: case Common.CONFIG_GENERATION: case Common.QUEUE_NOTIFY_OFF:
        this.log('guest_errors', `${this.ids.name}: common cfg 0x${o.toString(16)} is read-only; write ignored`);
        return;
      case Common.QUEUE_ENABLE:
        if (!q) return;
        // §4.1.4.3.2: the driver never writes 0; QEMU calls it a guest error that needs a reset, and so does this device.
        if (v !== 1) this.fail(`queue_enable written with ${v}`);
        else q.enabled = true;
        return;
    }
    if (!q) return;
    if (q.enabled) {
      this.log('guest_errors', `${this.ids.name}: queue ${this.queueSelect} reconfigured while enabled; ignored`);
      return;
    }
    switch (o & ~4) {
      case Common.QUEUE_DESC: q.desc = setHalf(q.desc, o & 4, v); return;
      case Common.QUEUE_DRIVER: q.driver = setHalf(q.driver, o & 4, v); return;
      case Common.QUEUE_DEVICE: q.device = setHalf(q.device, o & 4, v); return;
    }
    // §2.6: a split ring's size is a power of two, at most the maximum the device reported.
    if (v === 0 || v > q.max || v & (v - 1)) this.log('guest_errors', `${this.ids.name}: queue size ${v} (a power of two up to ${q.max}); ignored`);
    else q.size = v;
  }

  /** The device's configuration structure; beyond its end reads as all ones, as on QEMU. */
  private configRead(o: number, size: Size): number {
    const c = this.device.config;
    if (o + size > c.length) return ONES[size];
    let v = 0;
    for (let i = 0; i < size; i++) v |= c[o + i] << (8 * i);
    return v >>> 0;
  }

  private configWrite(o: number, size: Size): void {
    this.log('guest_errors', `${this.ids.name}: ${size}-byte write to device configuration 0x${o.toString(16)}, which is read-only; ignored`);
  }

  // ---- PCI configuration access capability (§4.1.4.7) ----------------------------------

  private overlapsCfgData(offset: number, size: number): boolean {
    const data = this.cfgCap + 16;
    return offset < data + 4 && offset + size > data;
  }

  /** The window the capability's bar, offset and length select, or null (logged) when it is not one the device decodes. */
  private cfgWindow(): { offset: number; size: Size } | null {
    const bar = this.pci.configWord(this.cfgCap + 4, 1);
    const offset = this.pci.configWord(this.cfgCap + 8, 4), size = this.pci.configWord(this.cfgCap + 12, 4);
    if (bar !== MODERN_BAR || !(size === 1 || size === 2 || size === 4) || offset % size || offset + size > 4 * REGION) {
      this.log('guest_errors', `${this.ids.name}: PCI cfg access to BAR ${bar} offset 0x${offset.toString(16)} length ${size} is not an access to the virtio structures`);
      return null;
    }
    return { offset, size };
  }

  private cfgAccessRead(): void {
    const w = this.cfgWindow();
    if (w) this.pci.setConfig(this.cfgCap + 16, w.size, this.modernRead(w.offset, w.size));
  }

  private cfgAccessWrite(): void {
    const w = this.cfgWindow();
    if (w) this.modernWrite(w.offset, w.size, this.pci.configWord(this.cfgCap + 16, w.size));
  }

  // ---- snapshots --------------------------------------------------------------------

  /** The transport's state; the PCI header itself is saved with the bus. */
  save(): StateValue {
    return {
      ...saveFields(this, TRANSPORT_STATE),
      driverFeatures: this.driverFeatures.toString(),
      queues: this.queues.map((q) => saveFields(q, SplitQueue.STATE)),
      msix: this.msix.save(),
    };
  }

  restore(s: StateValue): void {
    const r = asRecord(s, 'virtio-pci');
    restoreFields(this, TRANSPORT_STATE, r);
    const { driverFeatures, queues } = r;
    if (typeof driverFeatures !== 'string' || !Array.isArray(queues) || queues.length !== this.queues.length) {
      throw new Error(`snapshot: ${this.ids.name}'s transport state is malformed`);
    }
    this.driverFeatures = BigInt(driverFeatures);
    this.queues.forEach((q, i) => restoreFields(q, SplitQueue.STATE, queues[i]));
    this.msix.restore(r.msix);
    this.updateIntx();
  }
}

function half(v: number, high: number): number { return high ? Math.floor(v / 2 ** 32) >>> 0 : v >>> 0; }

function setHalf(cur: number, high: number, v: number): number {
  return high ? (v >>> 0) * 2 ** 32 + (cur >>> 0) : Math.floor(cur / 2 ** 32) * 2 ** 32 + (v >>> 0);
}

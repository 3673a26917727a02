/**
 * virtio-blk (virtio 1.1 §5.2), the machine's "HDD": a request queue of 256
 * entries per CPU behind the virtio PCI transport (virtio-pci.ts), as QEMU
 * 7.2's `virtio-blk-pci` on `pc` sizes it (VIRTIO_BLK_F_MQ when more than one).
 *
 *   configuration (§5.2.4), little-endian:
 *     0   le64 capacity     in 512-byte sectors
 *     8   le32 size_max     (not offered)
 *     12  le32 seg_max      queue size − 2: the header and the status take two descriptors
 *     16  geometry          (not offered)
 *     20  le32 blk_size     512
 *     24  topology          (not offered)
 *     32  u8 writeback · u8 unused · le16 num_queues (the CPU count)
 *
 *   request (§5.2.6): device-readable  le32 type · le32 reserved · le64 sector · data (OUT)
 *                     device-writable  data (IN, GET_ID) · u8 status
 *
 * Types: IN (read), OUT (write), FLUSH, GET_ID (the drive's serial number, 20
 * bytes NUL-padded); any other is answered UNSUPP. A transfer that is not a
 * whole number of sectors or runs past the end is IOERR. A request finishes
 * when the drive's timing model says (disk-timing.ts), on the virtual clock:
 * the disk is read or written then, and then the status, the used ring and
 * the interrupt. Requests in flight are part of the device's saved state.
 */
import type { ClockEvent } from './clock.js';
import type { BlockDevice, BlockDeviceFactory, DeviceContext, DriveConfig } from './drives.js';
import { DiskTiming } from './disk-timing.js';
import { DmaError } from './dma.js';
import type { PciFunction } from './pci.js';
import type { StateValue } from './state.js';
import { asRecord } from './fields.js';
import { VirtioPci, type VirtioDevice } from './virtio-pci.js';
import { type Chain, type Segment, VirtqueueError } from './virtqueue.js';

const SECTOR = 512;
const QUEUE_SIZE = 256;
const ID_BYTES = 20;
const HEADER_BYTES = 16;

/** Device feature bits (§5.2.3). */
const F_SEG_MAX = 2, F_BLK_SIZE = 6, F_FLUSH = 9, F_MQ = 12;

const enum ReqType { IN = 0, OUT = 1, FLUSH = 4, GET_ID = 8 }
const enum BlkStatus { OK = 0, IOERR = 1, UNSUPP = 2 }

/** A request taken from the ring and waiting for its completion time. */
interface Request {
  id: number;
  queue: number;
  head: number;
  type: number;
  sector: number;
  /** The data buffers: read from for OUT, written to for IN and GET_ID. */
  data: Segment[];
  /** Guest-physical address of the status byte. */
  statusAt: number;
  /** The used-ring length: every device-writable byte of the chain, as QEMU reports it. */
  written: number;
  /** Decided when the request arrived (IOERR, UNSUPP), or null: do the transfer at completion. */
  verdict: number | null;
}

export const createVirtioBlk: BlockDeviceFactory = (ctx, drive, slot) => new VirtioBlk(ctx, drive, slot);

export class VirtioBlk implements BlockDevice, VirtioDevice {
  readonly features: bigint;
  readonly config = new Uint8Array(36);
  readonly transport: VirtioPci;
  private readonly timing: DiskTiming;
  private readonly capacity: number;
  private readonly requests = new Map<number, Request>();
  private readonly events = new Map<number, ClockEvent>();
  private nextId = 0;
  private readonly name: string;
  private readonly unsupportedLogged = new Set<number>();

  constructor(private readonly ctx: DeviceContext, private readonly drive: DriveConfig, private readonly slot: number) {
    this.name = `virtio-blk 00:${slot.toString(16).padStart(2, '0')}.0`;
    this.capacity = Math.floor(drive.disk.size / SECTOR);
    const c = new DataView(this.config.buffer);
    c.setUint32(0, this.capacity >>> 0, true);
    c.setUint32(4, Math.floor(this.capacity / 2 ** 32), true);
    c.setUint32(12, QUEUE_SIZE - 2, true);
    c.setUint32(20, SECTOR, true);
    const queues = Math.max(1, ctx.cpus);
    c.setUint16(34, queues, true);
    this.features = (1n << BigInt(F_SEG_MAX)) | (1n << BigInt(F_BLK_SIZE)) | (1n << BigInt(F_FLUSH)) | (queues > 1 ? 1n << BigInt(F_MQ) : 0n);
    this.timing = new DiskTiming(drive.timing, drive.disk.size);
    this.transport = new VirtioPci(ctx, this, { name: this.name, pciDevice: 0x1001, subsystem: 2, classCode: 0x010000, queues, queueMax: QUEUE_SIZE });
  }

  get pci(): PciFunction { return this.transport.pci; }

  queueNotify(q: number): void {
    const queue = this.transport.queues[q];
    this.transport.guarded(() => {
      for (let chain = queue.pop(); chain; chain = queue.pop()) this.submit(q, chain);
    });
  }

  reset(): void {
    for (const e of this.events.values()) this.ctx.clock.cancel(e);
    this.events.clear();
    this.requests.clear();
  }

  /** Parses a request, decides what it needs, and schedules its completion. */
  private submit(queue: number, chain: Chain): void {
    const readable = total(chain.readable), writable = total(chain.writable);
    if (readable < HEADER_BYTES || writable < 1) throw new VirtqueueError(`request at head ${chain.head} has ${readable} readable and ${writable} writable bytes; it needs a 16-byte header and a status byte`);
    const header = new DataView(this.gather(chain.readable, 0, HEADER_BYTES).buffer);
    const type = header.getUint32(0, true);
    const sector = header.getUint32(12, true) * 2 ** 32 + header.getUint32(8, true);
    const r: Request = {
      id: this.nextId++, queue, head: chain.head, type, sector, data: [], statusAt: lastByte(chain.writable), written: writable, verdict: null,
    };
    const now = this.ctx.clock.time();
    let done = now;
    switch (type) {
      case ReqType.IN:
      case ReqType.OUT: {
        r.data = type === ReqType.IN ? slice(chain.writable, 0, writable - 1) : slice(chain.readable, HEADER_BYTES, readable - HEADER_BYTES);
        const bytes = total(r.data);
        if (bytes % SECTOR || sector > this.capacity || sector + bytes / SECTOR > this.capacity) {
          this.ctx.log('guest_errors', `${this.name}: ${type === ReqType.IN ? 'read' : 'write'} of ${bytes} bytes at sector ${sector} (capacity ${this.capacity}); IOERR`);
          r.verdict = BlkStatus.IOERR;
        } else {
          done = this.timing.complete(now, type === ReqType.IN ? 'read' : 'write', sector * SECTOR, bytes);
        }
        break;
      }
      case ReqType.FLUSH:
        done = this.timing.complete(now, 'flush', 0, 0);
        break;
      case ReqType.GET_ID:
        r.data = slice(chain.writable, 0, writable - 1);
        break;
      default:
        if (!this.unsupportedLogged.has(type)) {
          this.unsupportedLogged.add(type);
          this.ctx.log('unimp', `${this.name}: request type ${type} is not supported; answered UNSUPP (further ones not logged)`);
        }
        r.verdict = BlkStatus.UNSUPP;
    }
    this.requests.set(r.id, r);
    this.events.set(r.id, this.ctx.clock.schedule(done, () => this.complete(r.id), this.tag(r.id)));
  }

  private tag(id: number): string { return `virtio-blk@${this.slot}:request ${id}`; }

  /** The request's time has come: move the data, then status, used ring, interrupt. */
  private complete(id: number): void {
    const r = this.requests.get(id);
    this.requests.delete(id);
    this.events.delete(id);
    if (!r || this.transport.broken) return;
    this.transport.guarded(() => {
      const status = r.verdict ?? this.transfer(r);
      this.ctx.mem.setU8(r.statusAt, status);
      const queue = this.transport.queues[r.queue];
      const before = queue.usedIdx;
      queue.push(r.head, r.written);
      this.transport.usedBuffer(r.queue, before);
    });
  }

  private transfer(r: Request): number {
    const disk = this.drive.disk, pos = r.sector * SECTOR;
    try {
      switch (r.type) {
        case ReqType.IN: this.scatter(r.data, disk.read(pos, total(r.data))); break;
        case ReqType.OUT: disk.write(pos, this.gather(r.data, 0, total(r.data))); break;
        case ReqType.FLUSH: disk.flush(); break;
        case ReqType.GET_ID: {
          const id = new Uint8Array(ID_BYTES);
          for (let i = 0; i < Math.min(ID_BYTES, this.drive.serial.length); i++) id[i] = this.drive.serial.charCodeAt(i);
          this.scatter(r.data, id.subarray(0, Math.min(ID_BYTES, total(r.data))));
          break;
        }
      }
    } catch (e) {
      if (e instanceof DmaError) throw e;
      this.ctx.log('guest_errors', `${this.name}: ${disk.path}: ${(e as Error).message}; IOERR`);
      return BlkStatus.IOERR;
    }
    return BlkStatus.OK;
  }

  /** `len` bytes from offset `skip` of the buffers, read from guest RAM. */
  private gather(segs: Segment[], skip: number, len: number): Uint8Array {
    const out = new Uint8Array(len);
    let done = 0;
    for (const s of slice(segs, skip, len)) {
      out.set(this.ctx.mem.view(s.addr, s.len), done);
      done += s.len;
    }
    return out;
  }

  private scatter(segs: Segment[], data: Uint8Array): void {
    let done = 0;
    for (const s of segs) {
      if (done >= data.length) break;
      const n = Math.min(s.len, data.length - done);
      this.ctx.mem.write(s.addr, data.subarray(done, done + n));
      done += n;
    }
  }

  // ---- snapshots --------------------------------------------------------------------

  save(): StateValue {
    return {
      transport: this.transport.save(),
      timing: this.timing.save(),
      nextId: this.nextId,
      requests: [...this.requests.values()].map((r) => ({
        id: r.id, queue: r.queue, head: r.head, type: r.type, sector: r.sector,
        data: r.data.flatMap((s) => [s.addr, s.len]), statusAt: r.statusAt, written: r.written, verdict: r.verdict,
      })),
    };
  }

  restore(s: StateValue): void {
    const r = asRecord(s, this.name);
    const timing = asRecord(r.timing, `${this.name} timing`);
    if (typeof r.nextId !== 'number' || !Array.isArray(r.requests) || !Array.isArray(timing.free) || typeof timing.head !== 'number') {
      throw new Error(`snapshot: ${this.name}'s state is malformed`);
    }
    this.transport.restore(r.transport);
    this.timing.load({ free: timing.free.map(Number), head: timing.head });
    this.nextId = r.nextId;
    this.requests.clear();
    for (const item of r.requests) {
      const q = asRecord(item, `${this.name} request`);
      const n = (k: string): number => {
        if (typeof q[k] !== 'number') throw new Error(`snapshot: ${this.name} request field ${k} is malformed`);
        return q[k] as number;
      };
      if (!Array.isArray(q.data) || (q.verdict !== null && typeof q.verdict !== 'number')) throw new Error(`snapshot: ${this.name} request is malformed`);
      const flat = q.data.map(Number);
      const data: Segment[] = [];
      for (let i = 0; i + 1 < flat.length; i += 2) data.push({ addr: flat[i], len: flat[i + 1] });
      this.requests.set(n('id'), {
        id: n('id'), queue: n('queue'), head: n('head'), type: n('type'), sector: n('sector'), data, statusAt: n('statusAt'), written: n('written'), verdict: q.verdict,
      });
    }
  }

  event(tag: string): () => void {
    const id = this.idOf(tag);
    return () => this.complete(id);
  }

  adopt(tag: string, e: ClockEvent): void { this.events.set(this.idOf(tag), e); }

  private idOf(tag: string): number {
    const m = /^virtio-blk@\d+:request (\d+)$/.exec(tag);
    if (!m || !this.requests.has(Number(m[1]))) throw new Error(`snapshot: ${this.name} has no request for the clock event '${tag}'`);
    return Number(m[1]);
  }
}

function total(segs: Segment[]): number { return segs.reduce((n, s) => n + s.len, 0); }

/** The part of the buffers from byte `skip`, `len` bytes long. */
function slice(segs: Segment[], skip: number, len: number): Segment[] {
  const out: Segment[] = [];
  for (const s of segs) {
    if (len <= 0) break;
    if (skip >= s.len) { skip -= s.len; continue; }
    const n = Math.min(s.len - skip, len);
    out.push({ addr: s.addr + skip, len: n });
    len -= n;
    skip = 0;
  }
  return out;
}

/** Guest-physical address of the last byte of the buffers (the status byte). */
function lastByte(segs: Segment[]): number {
  for (let i = segs.length - 1; i >= 0; i--) if (segs[i].len > 0) return segs[i].addr + segs[i].len - 1;
  throw new VirtqueueError('request without a writable byte for its status');
}

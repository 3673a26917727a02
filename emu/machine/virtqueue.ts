/**
 * Split virtqueues (virtio 1.1 §2.6), the device's side: three areas in guest
 * RAM the driver sets up, read and written only through bus-master access.
 *
 *   descriptor table (§2.6.5), 16 bytes per entry:
 *     +0   le64 addr     guest-physical buffer
 *     +8   le32 len
 *     +12  le16 flags    NEXT 1 · WRITE 2 (device writes it) · INDIRECT 4 (addr/len is a table)
 *     +14  le16 next     the chain's next entry when NEXT is set
 *
 *   driver area ("available ring", §2.6.6):
 *     +0   le16 flags    NO_INTERRUPT 1 (ignored when EVENT_IDX is negotiated)
 *     +2   le16 idx      where the driver will put its next entry (free-running)
 *     +4   le16 ring[size]   heads of chains
 *     +4+2·size  le16 used_event   (EVENT_IDX) interrupt once used idx passes it
 *
 *   device area ("used ring", §2.6.8):
 *     +0   le16 flags    NO_NOTIFY 1 (ignored when EVENT_IDX is negotiated)
 *     +2   le16 idx
 *     +4   {le32 id, le32 len}[size]   finished chains, len = bytes written into them
 *     +4+8·size  le16 avail_event  (EVENT_IDX) notify once avail idx passes it
 *
 * The device takes each chain the driver makes available (pop), finishes it
 * some time later in any order (push), and asks whether the driver wants an
 * interrupt for it (§2.6.7.2). A malformed ring (a loop, an index beyond the
 * table, a readable buffer after a writable one, an indirect table where none
 * may be, §2.6.5.3) is a VirtqueueError: the transport sets NEEDS_RESET.
 *
 * The device takes every chain as soon as it is notified, so it never asks the
 * driver to hold its notifications back: used.flags stays 0, and with
 * EVENT_IDX avail_event always names the next entry it has not seen.
 */
import type { GuestMemory } from './dma.js';

const DESC_F_NEXT = 1, DESC_F_WRITE = 2, DESC_F_INDIRECT = 4;
const AVAIL_F_NO_INTERRUPT = 1;
const DESC_BYTES = 16;
export const NO_VECTOR = 0xffff;

export class VirtqueueError extends Error {}

/** A guest-physical buffer of a chain. */
export interface Segment { addr: number; len: number }

/** One request as the driver laid it out: readable buffers first, then writable ones. */
export interface Chain {
  head: number;
  readable: Segment[];
  writable: Segment[];
}

export class SplitQueue {
  /** Entries, as the driver set them (the maximum until it writes another). */
  size: number;
  enabled = false;
  desc = 0;
  driver = 0;
  device = 0;
  /** The MSI-X vector of its used-buffer notifications. */
  vector = NO_VECTOR;
  /** The next available-ring entry the device will take. */
  lastAvail = 0;
  /** The device's copy of used.idx: the next used-ring entry it fills. */
  usedIdx = 0;
  /** VIRTIO_F_RING_INDIRECT_DESC and VIRTIO_F_RING_EVENT_IDX, as negotiated. */
  indirect = false;
  eventIdx = false;

  constructor(readonly max: number, private readonly mem: GuestMemory) {
    this.size = max;
  }

  reset(): void {
    this.size = this.max;
    this.enabled = false;
    this.desc = this.driver = this.device = 0;
    this.vector = NO_VECTOR;
    this.lastAvail = this.usedIdx = 0;
  }

  /** The next chain the driver made available, or null when there is none. */
  pop(): Chain | null {
    const availIdx = this.mem.u16(this.driver + 2);
    const waiting = (availIdx - this.lastAvail) & 0xffff;
    if (waiting === 0) return null;
    // §2.6.6: the driver never has more than `size` entries outstanding.
    if (waiting > this.size) throw new VirtqueueError(`available index moved from ${this.lastAvail} to ${availIdx}, more than the ${this.size} entries of the ring`);
    const head = this.mem.u16(this.driver + 4 + 2 * (this.lastAvail % this.size));
    this.lastAvail = (this.lastAvail + 1) & 0xffff;
    if (this.eventIdx) this.mem.setU16(this.device + 4 + 8 * this.size, this.lastAvail);
    return this.walk(head);
  }

  /** Returns chain `head` to the driver with `len` bytes written into it. */
  push(head: number, len: number): void {
    const slot = this.device + 4 + 8 * (this.usedIdx % this.size);
    this.mem.setU32(slot, head);
    this.mem.setU32(slot + 4, len);
    this.usedIdx = (this.usedIdx + 1) & 0xffff;
    this.mem.setU16(this.device + 2, this.usedIdx);
  }

  /**
   * Whether the driver wants an interrupt now that used idx went from `before`
   * to the present (§2.6.7.2): with EVENT_IDX, when it passed used_event;
   * otherwise unless the driver set NO_INTERRUPT.
   */
  wantsInterrupt(before: number): boolean {
    if (!this.eventIdx) return (this.mem.u16(this.driver) & AVAIL_F_NO_INTERRUPT) === 0;
    const event = this.mem.u16(this.driver + 4 + 2 * this.size);
    return ((this.usedIdx - event - 1) & 0xffff) < ((this.usedIdx - before) & 0xffff);
  }

  /** The chain starting at `head`, following NEXT and at most one indirect table (§2.6.5.3). */
  private walk(head: number): Chain {
    const chain: Chain = { head, readable: [], writable: [] };
    let table = this.desc, entries = this.size, i = head, seen = 0, inIndirect = false;
    if (head >= entries) throw new VirtqueueError(`chain head ${head} is beyond the ${entries}-entry descriptor table`);
    for (;;) {
      const at = table + DESC_BYTES * i;
      const addr = this.mem.u64(at), len = this.mem.u32(at + 8), flags = this.mem.u16(at + 12), next = this.mem.u16(at + 14);
      if (flags & DESC_F_INDIRECT) {
        if (!this.indirect) throw new VirtqueueError(`descriptor ${i} is INDIRECT, but VIRTIO_F_RING_INDIRECT_DESC was not negotiated`);
        if (inIndirect) throw new VirtqueueError(`descriptor ${i} of an indirect table is itself INDIRECT`);
        if (flags & DESC_F_NEXT) throw new VirtqueueError(`descriptor ${i} is both INDIRECT and NEXT`);
        if (len === 0 || len % DESC_BYTES) throw new VirtqueueError(`indirect table of ${len} bytes is not a whole number of descriptors`);
        table = addr;
        entries = len / DESC_BYTES;
        i = 0;
        seen = 0;
        inIndirect = true;
        continue;
      }
      if (++seen > entries) throw new VirtqueueError(`chain from head ${head} loops (more than ${entries} descriptors)`);
      if (flags & DESC_F_WRITE) chain.writable.push({ addr, len });
      else if (chain.writable.length) throw new VirtqueueError(`chain from head ${head}: a device-readable descriptor follows a device-writable one`);
      else chain.readable.push({ addr, len });
      if (!(flags & DESC_F_NEXT)) return chain;
      if (next >= entries) throw new VirtqueueError(`descriptor ${i} links to ${next}, beyond the ${entries}-entry table`);
      i = next;
    }
  }

  /** The fields a snapshot keeps (restored into a queue of the same max). */
  static readonly STATE = ['size', 'enabled', 'desc', 'driver', 'device', 'vector', 'lastAvail', 'usedIdx', 'indirect', 'eventIdx'] as const;
}

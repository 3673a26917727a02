/**
 * Physical Region Page entries (NVMe 1.4 §4.3): how a command names the
 * guest memory its data moves to or from. PRP1 points into the first page,
 * possibly at an offset; if the data ends within one more page PRP2 is that
 * page, otherwise PRP2 points to a list of page addresses, whose last entry
 * chains to the next list page when more pages follow than the list page holds.
 *
 *   PRP entry:  63 ─ page base address ─ n | n-1 ─ offset ─ 2 | 1:0 = 00
 *               (n = log2 of CC.MPS's page size; offsets only in PRP1 and list pointers)
 */
import { DmaError, type GuestMemory } from './dma.js';
import { Status } from './nvme-defs.js';

/** A command whose PRPs break §4.3's rules; the status to complete it with. */
export class PrpError extends Error {
  constructor(readonly status: Status, why: string) { super(why); }
}

export interface Segment { addr: number; len: number }

/**
 * The guest memory `length` bytes occupy, in order. Reads PRP lists from guest
 * memory, so it throws DmaError when one lies outside RAM.
 */
export function prpSegments(mem: GuestMemory, prp1: number, prp2: number, length: number, pageSize: number): Segment[] {
  if (prp1 % 4 !== 0) throw new PrpError(Status.PRP_OFFSET_INVALID, `PRP1 0x${prp1.toString(16)} is not dword aligned`);
  const first = Math.min(length, pageSize - (prp1 % pageSize));
  const segs: Segment[] = [{ addr: prp1, len: first }];
  let left = length - first;
  if (left === 0) return segs;
  if (left <= pageSize) {
    if (prp2 % pageSize !== 0) throw new PrpError(Status.PRP_OFFSET_INVALID, `PRP2 0x${prp2.toString(16)} has an offset into its page`);
    segs.push({ addr: prp2, len: left });
    return segs;
  }
  let entry = prp2;
  if (entry % 8 !== 0) throw new PrpError(Status.PRP_OFFSET_INVALID, `PRP list pointer 0x${entry.toString(16)} is not qword aligned`);
  while (left > 0) {
    const lastInPage = (entry + 8) % pageSize === 0;
    const value = mem.u64(entry);
    if (lastInPage && left > pageSize) {
      if (value % 8 !== 0) throw new PrpError(Status.PRP_OFFSET_INVALID, `PRP list chain pointer 0x${value.toString(16)} is not qword aligned`);
      entry = value;
      continue;
    }
    if (value % pageSize !== 0) throw new PrpError(Status.PRP_OFFSET_INVALID, `PRP list entry 0x${value.toString(16)} has an offset into its page`);
    const len = Math.min(left, pageSize);
    segs.push({ addr: value, len });
    left -= len;
    entry += 8;
  }
  return segs;
}

/** Guest memory → one buffer. */
export function gather(mem: GuestMemory, segs: Segment[], length: number): Uint8Array {
  const out = new Uint8Array(length);
  let at = 0;
  for (const s of segs) { out.set(mem.view(s.addr, s.len), at); at += s.len; }
  return out;
}

/** One buffer → guest memory. */
export function scatter(mem: GuestMemory, segs: Segment[], data: Uint8Array): void {
  let at = 0;
  for (const s of segs) { mem.write(s.addr, data.subarray(at, at + s.len)); at += s.len; }
}

/**
 * Moves a command's data: `toGuest` writes `data` out, otherwise the guest's
 * bytes are returned. The status is Data Transfer Error when the memory is
 * outside RAM, or the PrpError's.
 */
export function transfer(mem: GuestMemory, prp1: number, prp2: number, pageSize: number, length: number, data: Uint8Array | null): { status: Status; data: Uint8Array | null; why: string } {
  try {
    const segs = prpSegments(mem, prp1, prp2, length, pageSize);
    if (data) { scatter(mem, segs, data); return { status: Status.SUCCESS, data: null, why: '' }; }
    return { status: Status.SUCCESS, data: gather(mem, segs, length), why: '' };
  } catch (e) {
    if (e instanceof PrpError) return { status: e.status, data: null, why: e.message };
    if (e instanceof DmaError) return { status: Status.DATA_TRANSFER_ERROR, data: null, why: e.message };
    throw e;
  }
}

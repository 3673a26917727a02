/**
 * Asynchronous events (NVMe 1.4 §5.2): the host leaves Asynchronous Event
 * Request commands outstanding (up to AERL + 1); the controller completes
 * one when an event happens, or keeps the event until a request comes. Once
 * an event has been reported, further events of its log page are held back
 * until the host reads that log page (§5.2), and are dropped meanwhile. The
 * only events this controller raises are error events about doorbell writes.
 *
 *   completion dword 0:  23:16 log page ┬ 15:8 event information ┬ 2:0 event type
 */
import { Status } from './nvme-defs.js';
import type { StateValue } from './state.js';
import type { Completion } from './nvme.js';

/** Error status events (type 0), reported in the Error Information log (01h). */
export const EVENT_INVALID_DOORBELL_REGISTER = eventDword(0, 0x00, 0x01);
export const EVENT_INVALID_DOORBELL_VALUE = eventDword(0, 0x01, 0x01);

function eventDword(type: number, info: number, logPage: number): number { return (logPage << 16) | (info << 8) | type; }

export class AsyncEvents {
  /** CIDs of outstanding requests, oldest first. */
  private requests: number[] = [];
  /** Events not yet reported (no request was outstanding). */
  private queued: number[] = [];
  /** Log pages whose event was reported and not yet read. */
  private masked = new Set<number>();

  constructor(private readonly limit: number, private readonly complete: (cid: number, c: Completion) => void) {}

  /** An Asynchronous Event Request arrives: null while it waits, or a completion now. */
  request(cid: number): Completion | null {
    if (this.requests.length >= this.limit) return { status: Status.AER_LIMIT_EXCEEDED, dw0: 0 };
    const event = this.queued.shift();
    if (event !== undefined) {
      this.masked.add(event >>> 16);
      return { status: Status.SUCCESS, dw0: event };
    }
    this.requests.push(cid);
    return null;
  }

  raise(event: number): void {
    const page = event >>> 16;
    if (this.masked.has(page) || this.queued.some((e) => e >>> 16 === page)) return;
    const cid = this.requests.shift();
    if (cid === undefined) { this.queued.push(event); return; }
    this.masked.add(page);
    this.complete(cid, { status: Status.SUCCESS, dw0: event });
  }

  logRead(page: number): void { this.masked.delete(page); }

  /** A controller reset drops requests and events alike. */
  reset(): void { this.requests = []; this.queued = []; this.masked.clear(); }

  save(): StateValue { return { requests: [...this.requests], queued: [...this.queued], masked: [...this.masked] }; }
  restore(s: { requests: number[]; queued: number[]; masked: number[] }): void {
    this.requests = [...s.requests];
    this.queued = [...s.queued];
    this.masked = new Set(s.masked);
  }
}

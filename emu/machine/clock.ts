/**
 * The one virtual clock of a machine, in nanoseconds (nominal 1 GHz: one
 * retired instruction is one nanosecond). Every timed thing — TSC, LAPIC
 * timers, PIT, RTC, UART character times, disk latency — reads this clock and
 * schedules events on it; nothing reads the host's clock.
 *
 * vCPUs run in rounds. `now` is the start of the current round; while a vCPU
 * runs, `time()` adds the instructions it has retired in this round, so a
 * device register read mid-round sees that CPU's own notion of the present.
 * The machine ends a round at the next due event, so no event is ever late.
 *
 * A machine snapshot saves the present, the creation counter and the pending
 * events as (time, creation number, tag); restoring re-inserts them with
 * their numbers, so equal-time events fire in the order they would have.
 */
import type { StateValue } from './state.js';
import { asRecord } from './fields.js';

export interface ClockEvent {
  readonly at: number;
  /** Creation order: events due at the same time fire in the order they were scheduled. */
  readonly seq: number;
  readonly fire: () => void;
  /** What the event is for, so a machine snapshot can save it and its owner re-create it (state.ts). */
  readonly tag: string | undefined;
  cancelled: boolean;
}

export class VirtualClock {
  /** Start of the current round. */
  now = 0;
  /** Nanoseconds the running vCPU has advanced past `now` (set by the machine). */
  elapsed: () => number = () => 0;
  private heap: ClockEvent[] = [];
  private seq = 0;

  /** The present as seen by whoever is running. */
  time(): number { return this.now + this.elapsed(); }

  /** Told of every new event, so a running slice can end before it is due (Machine.run). */
  onSchedule: (at: number) => void = () => {};

  /** Runs `fire` at virtual time `at` (never earlier than the present). */
  schedule(at: number, fire: () => void, tag?: string): ClockEvent {
    const e: ClockEvent = { at: Math.max(at, this.time()), seq: this.seq++, fire, tag, cancelled: false };
    this.onSchedule(e.at);
    this.push(e);
    return e;
  }

  private push(e: ClockEvent): void {
    const h = this.heap;
    h.push(e);
    let k = h.length - 1;
    while (k > 0) {
      const p = (k - 1) >> 1;
      if (!before(h[k], h[p])) break;
      [h[k], h[p]] = [h[p], h[k]];
      k = p;
    }
  }

  /** The pending events in firing order (snapshots). */
  pending(): ClockEvent[] {
    return this.heap.filter((e) => !e.cancelled).sort((a, b) => (before(a, b) ? -1 : 1));
  }

  /** A saved event back in the queue with its original time and creation number. */
  reinsert(at: number, seq: number, tag: string, fire: () => void): ClockEvent {
    const e: ClockEvent = { at, seq, fire, tag, cancelled: false };
    this.push(e);
    return e;
  }

  save(): StateValue { return { now: this.now, seq: this.seq }; }

  restore(s: StateValue): void {
    const r = asRecord(s, 'clock');
    if (typeof r.now !== 'number' || typeof r.seq !== 'number') throw new Error('snapshot: the clock state is malformed');
    this.now = r.now;
    this.seq = r.seq;
    // What the fresh machine scheduled while being built is replaced by the saved events.
    this.heap = [];
  }

  /** A cancelled event stays in the heap and is dropped when it comes due. */
  cancel(e: ClockEvent | null): void { if (e) e.cancelled = true; }

  /** Time of the earliest pending event, or Infinity. */
  nextDue(): number {
    this.dropCancelled();
    return this.heap.length ? this.heap[0].at : Infinity;
  }

  /** Advances `now` to `t` and fires every event due by then, in (time, creation) order. */
  advanceTo(t: number): void {
    for (;;) {
      this.dropCancelled();
      const e = this.heap[0];
      if (e === undefined || e.at > t) break;
      this.pop();
      this.now = Math.max(this.now, e.at);
      e.fire();
    }
    this.now = Math.max(this.now, t);
  }

  private dropCancelled(): void {
    while (this.heap.length && this.heap[0].cancelled) this.pop();
  }

  private pop(): void {
    const h = this.heap;
    const last = h.pop()!;
    if (h.length === 0) return;
    h[0] = last;
    let k = 0;
    for (;;) {
      const l = 2 * k + 1, r = l + 1;
      let m = k;
      if (l < h.length && before(h[l], h[m])) m = l;
      if (r < h.length && before(h[r], h[m])) m = r;
      if (m === k) break;
      [h[k], h[m]] = [h[m], h[k]];
      k = m;
    }
  }
}

function before(a: ClockEvent, b: ClockEvent): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}

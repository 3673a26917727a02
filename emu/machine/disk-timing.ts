/**
 * How long a drive takes, on the virtual clock, so that I/O-bound results
 * (swapcache against a spinning disk, a disk scheduler's ordering) are
 * measurable and repeat exactly. A drive serves its requests in the order they
 * reach it; `complete` returns when a request finishes, given when it arrives.
 *
 * - HDD: a seek proportional to the distance the head travels (plus settling
 *   when it moves at all), then the rotational delay until the sector passes
 *   under the head — computed from the platter's angle at that virtual
 *   instant, not averaged — then transfer at the media rate.
 * - SSD: a fixed latency per command plus transfer, on several channels that
 *   work in parallel (a request takes the channel that frees up first).
 * - none: requests complete at once (a RAM disk; tests of other things).
 */
export type DiskModel = 'hdd' | 'ssd' | 'none';

export interface DiskTimingConfig {
  model: DiskModel;
  /** Media transfer rate, bytes per second. */
  rate: number;
  /** SSD: nanoseconds per command before data moves. */
  latency: number;
  /** SSD: commands in flight at once. */
  channels: number;
  /** HDD: nanoseconds to sweep the whole disk, and to settle after any seek. */
  fullSeek: number;
  settle: number;
  /** HDD: spindle speed. */
  rpm: number;
}

export const HDD_DEFAULTS: DiskTimingConfig = { model: 'hdd', rate: 100e6, latency: 0, channels: 1, fullSeek: 15e6, settle: 1e6, rpm: 7200 };
export const SSD_DEFAULTS: DiskTimingConfig = { model: 'ssd', rate: 500e6, latency: 30e3, channels: 4, fullSeek: 0, settle: 0, rpm: 0 };
export const NO_LATENCY: DiskTimingConfig = { model: 'none', rate: Infinity, latency: 0, channels: 1, fullSeek: 0, settle: 0, rpm: 0 };

/** Sectors per track, for the platter's angle: a fixed geometry is enough for a delay that depends on where the sector is. */
const SECTORS_PER_TRACK = 1024;
const SECTOR = 512;

export type DiskOp = 'read' | 'write' | 'flush';

export class DiskTiming {
  private readonly free: number[];
  /** HDD: the byte offset the head is over. */
  private head = 0;

  constructor(readonly config: DiskTimingConfig, private readonly diskBytes: number) {
    this.free = new Array(Math.max(1, config.channels)).fill(0);
  }

  /** Virtual time at which a request arriving at `now` completes. */
  complete(now: number, op: DiskOp, pos: number, bytes: number): number {
    const c = this.config;
    if (c.model === 'none') return now;
    let ch = 0;
    for (let i = 1; i < this.free.length; i++) if (this.free[i] < this.free[ch]) ch = i;
    const start = Math.max(now, this.free[ch]);
    let done: number;
    if (c.model === 'ssd') {
      done = start + c.latency + (op === 'flush' ? 0 : transfer(bytes, c.rate));
    } else if (op === 'flush') {
      // The write cache goes to the platter: one revolution bounds it.
      done = start + Math.round(60e9 / c.rpm);
    } else {
      const distance = Math.abs(pos - this.head);
      const seek = distance === 0 ? 0 : c.settle + Math.round(c.fullSeek * distance / Math.max(1, this.diskBytes));
      const revolution = 60e9 / c.rpm;
      const arrive = start + seek;
      const sectorAngle = (Math.floor(pos / SECTOR) % SECTORS_PER_TRACK) / SECTORS_PER_TRACK;
      const headAngle = (arrive % revolution) / revolution;
      const rotation = Math.round((((sectorAngle - headAngle) % 1) + 1) % 1 * revolution);
      done = arrive + rotation + transfer(bytes, c.rate);
      this.head = pos + bytes;
    }
    this.free[ch] = done;
    return done;
  }

  /** The state a machine snapshot keeps. */
  save(): { free: number[]; head: number } { return { free: [...this.free], head: this.head }; }
  load(s: { free: number[]; head: number }): void { this.free.splice(0, this.free.length, ...s.free); this.head = s.head; }
}

function transfer(bytes: number, rate: number): number { return Math.round(bytes * 1e9 / rate); }

/**
 * The timing options of -drive: model=hdd|ssd|none, rate=MB/s, lat=µs (SSD),
 * seek=ms (HDD full stroke), rpm=N (HDD). Throws on a bad value, naming it.
 */
export function parseTiming(base: DiskTimingConfig, opts: Map<string, string>): DiskTimingConfig {
  const model = opts.get('model');
  let c = { ...base };
  if (model !== undefined) {
    if (model === 'hdd') c = { ...HDD_DEFAULTS };
    else if (model === 'ssd') c = { ...SSD_DEFAULTS };
    else if (model === 'none') c = { ...NO_LATENCY };
    else throw new Error(`model=${model}: hdd, ssd or none`);
  }
  const num = (key: string, min: number): number | undefined => {
    const v = opts.get(key);
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!/^\d+(\.\d+)?$/.test(v) || !(n >= min)) throw new Error(`${key}=${v}: a number ≥ ${min}`);
    return n;
  };
  const rate = num('rate', 1), lat = num('lat', 0), seek = num('seek', 0), rpm = num('rpm', 1);
  if (rate !== undefined) c.rate = rate * 1e6;
  if (lat !== undefined) c.latency = lat * 1e3;
  if (seek !== undefined) c.fullSeek = seek * 1e6;
  if (rpm !== undefined) c.rpm = rpm;
  return c;
}

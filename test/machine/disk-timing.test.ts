/**
 * The drives' latency model on the virtual clock: an HDD's seek grows with the
 * distance the head moves and its rotational delay depends on where the platter
 * is at that instant; an SSD's latency is fixed, its channels work in parallel;
 * requests queue behind each other; -drive's timing options.
 */
import { describe, expect, it } from 'vitest';
import { DiskTiming, HDD_DEFAULTS, NO_LATENCY, SSD_DEFAULTS, parseTiming } from '../../emu/machine/disk-timing.js';

const GiB = 2 ** 30;

describe('HDD', () => {
  it('takes longer for a longer seek, and reading on from where the head is costs no seek', () => {
    const near = new DiskTiming(HDD_DEFAULTS, GiB);
    const far = new DiskTiming(HDD_DEFAULTS, GiB);
    const tNear = near.complete(0, 'read', 1 << 20, 4096);
    const tFar = far.complete(0, 'read', GiB - 4096, 4096);
    expect(tFar - tNear).toBeGreaterThan(HDD_DEFAULTS.fullSeek * 0.9 - 60e9 / HDD_DEFAULTS.rpm);
    const h = new DiskTiming(HDD_DEFAULTS, GiB);
    const first = h.complete(0, 'read', 0, 65536);
    const next = h.complete(first, 'read', 65536, 65536);
    // Sequential: no seek, no settle; only rotation (under one revolution) and transfer.
    expect(next - first).toBeLessThan(60e9 / HDD_DEFAULTS.rpm + 65536 * 1e9 / HDD_DEFAULTS.rate + 1);
  });

  it('waits for the sector to come round: the delay depends on the instant, and is under one revolution', () => {
    const rev = 60e9 / HDD_DEFAULTS.rpm;
    const delays = [0, rev / 4, rev / 2].map((start) => new DiskTiming(HDD_DEFAULTS, GiB).complete(start, 'read', 0, 512) - start);
    expect(new Set(delays).size).toBe(3);
    for (const d of delays) expect(d).toBeLessThan(rev + 512 * 1e9 / HDD_DEFAULTS.rate + 1);
  });

  it('transfers at the media rate: 100 MB/s makes a MiB take about 10 ms', () => {
    const h = new DiskTiming(HDD_DEFAULTS, GiB);
    const small = h.complete(0, 'read', 0, 512);
    const h2 = new DiskTiming(HDD_DEFAULTS, GiB);
    const big = h2.complete(0, 'read', 0, 512 + (1 << 20));
    expect(big - small).toBe(Math.round((512 + (1 << 20)) * 1e9 / 100e6) - Math.round(512 * 1e9 / 100e6));
  });

  it('serves requests one after another: a request arriving while one is in progress starts when it ends', () => {
    const h = new DiskTiming(HDD_DEFAULTS, GiB);
    const a = h.complete(0, 'write', 0, 1 << 20);
    const b = h.complete(10, 'write', 1 << 20, 4096);
    expect(b).toBeGreaterThan(a);
  });
});

describe('SSD', () => {
  it('costs the fixed latency plus transfer at 500 MB/s', () => {
    const s = new DiskTiming(SSD_DEFAULTS, GiB);
    expect(s.complete(1000, 'read', 123 * 4096, 4096)).toBe(1000 + 30e3 + Math.round(4096 * 1e9 / 500e6));
    expect(new DiskTiming(SSD_DEFAULTS, GiB).complete(0, 'flush', 0, 0)).toBe(30e3);
  });

  it('runs as many requests at once as it has channels, and queues the next', () => {
    const s = new DiskTiming(SSD_DEFAULTS, GiB);
    const done = Array.from({ length: 5 }, () => s.complete(0, 'read', 0, 4096));
    expect(new Set(done.slice(0, 4)).size).toBe(1);
    expect(done[4]).toBe(2 * done[0]);
  });

  it('continues identically after save and load', () => {
    const a = new DiskTiming(SSD_DEFAULTS, GiB);
    a.complete(0, 'read', 0, 1 << 20);
    const b = new DiskTiming(SSD_DEFAULTS, GiB);
    b.load(a.save());
    expect(b.complete(5, 'write', 0, 8192)).toBe(a.complete(5, 'write', 0, 8192));
  });
});

describe('none', () => {
  it('completes at once', () => {
    expect(new DiskTiming(NO_LATENCY, GiB).complete(777, 'read', 0, 1 << 20)).toBe(777);
  });
});

describe('parseTiming (-drive options)', () => {
  const parse = (s: string, base = HDD_DEFAULTS) => parseTiming(base, new Map(s ? s.split(',').map((kv) => kv.split('=') as [string, string]) : []));

  it('starts from the interface default and takes model, rate, lat, seek and rpm', () => {
    expect(parse('')).toEqual(HDD_DEFAULTS);
    expect(parse('model=ssd,lat=80,rate=2000')).toEqual({ ...SSD_DEFAULTS, latency: 80e3, rate: 2000e6 });
    expect(parse('seek=8,rpm=15000')).toEqual({ ...HDD_DEFAULTS, fullSeek: 8e6, rpm: 15000 });
    expect(parse('model=none').model).toBe('none');
  });

  it('refuses unknown models and values that are not numbers in range, naming them', () => {
    expect(() => parse('model=tape')).toThrow(/model=tape/);
    expect(() => parse('rate=fast')).toThrow(/rate=fast/);
    expect(() => parse('rate=0')).toThrow(/rate=0/);
    expect(() => parse('rpm=-1')).toThrow(/rpm=-1/);
  });
});

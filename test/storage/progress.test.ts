/** The `emu img` progress bar, with a made-up clock and terminal, and the library's progress callbacks. */
import { describe, expect, it } from 'vitest';
import * as path from 'node:path';
import { ProgressBar, formatBytes, renderProgress } from '../../emu/cli/progress.js';
import { nodeEnv } from '../../emu/storage/node.js';
import { createImage } from '../../emu/storage/create.js';
import { openDisk } from '../../emu/storage/open.js';
import { convertImage, compactImage } from '../../emu/storage/convert.js';
import { checkImage } from '../../emu/storage/check.js';
import { commitImage } from '../../emu/storage/commit.js';
import { tempDir, uuid } from './helpers.js';

const MiB = 1 << 20;

function fakeTerminal(columns: number) {
  const out: string[] = [];
  let now = 0;
  return { out, term: { columns, write: (s: string) => { out.push(s); } }, clock: () => now, advance: (ms: number) => { now += ms; } };
}

describe('rendering', () => {
  it('byte counts in binary units', () => {
    expect([0, 1023, 1024, 1536, MiB, 1.25 * 2 ** 30].map(formatBytes)).toEqual(['0 B', '1023 B', '1.0 KiB', '1.5 KiB', '1.0 MiB', '1.3 GiB']);
  });

  it('percent, bar, bytes and rate fill the width but the last column', () => {
    const line = renderProgress('convert', 30 * MiB, 120 * MiB, 2, 80);
    expect(line).toBe('convert  25% [######.....................]   30.0 MiB / 120.0 MiB    15.0 MiB/s');
    expect(line.length).toBe(79);
  });

  it('keeps its length as the figures grow, so the bar does not jitter', () => {
    const lens = [0, 1, 5 * MiB, 99 * MiB, 120 * MiB].map((d) => renderProgress('check', d, 120 * MiB, 1, 100).length);
    expect(new Set(lens)).toEqual(new Set([99]));
  });

  it('no rate before any time has passed; done beyond total counts as 100%', () => {
    expect(renderProgress('x', 0, 10, 0, 50)).toBe('x   0% [.............]   0 B / 10 B              ');
    expect(renderProgress('x', 20, 10, 1, 50)).toMatch(/^x 100% \[#+\]/);
    expect(renderProgress('x', 0, 0, 1, 50)).toMatch(/^x 100% /);
  });

  it('on a narrow terminal the bar goes first, then the line is cut', () => {
    expect(renderProgress('commit', MiB, 4 * MiB, 1, 50)).toBe('commit  25%  1.0 MiB / 4.0 MiB     1.0 MiB/s');
    expect(renderProgress('commit', MiB, 4 * MiB, 1, 20)).toBe('commit  25%  1.0 Mi');
  });
});

describe('the bar', () => {
  it('redraws at most every 100 ms and erases itself at the end', () => {
    const t = fakeTerminal(60);
    const bar = new ProgressBar(t.term, 'convert', t.clock);
    bar.update(0, 100);
    t.advance(50);
    bar.update(10, 100);
    expect(t.out).toEqual([]); // nothing in the first 100 ms: short work shows no bar
    t.advance(50);
    bar.update(20, 100);
    t.advance(99);
    bar.update(30, 100);
    t.advance(1);
    bar.update(40, 100);
    bar.finish();
    expect(t.out).toEqual([
      '\r\x1b[K' + renderProgress('convert', 20, 100, 0.1, 60),
      '\r\x1b[K' + renderProgress('convert', 40, 100, 0.2, 60),
      '\r\x1b[K',
    ]);
    expect(t.out[1]).toMatch(/^\r\x1b\[Kconvert  40% \[#+\.+\]/);
  });

  it('finish() without a drawing writes nothing', () => {
    const t = fakeTerminal(60);
    const bar = new ProgressBar(t.term, 'check', t.clock);
    bar.update(1, 2);
    bar.finish();
    expect(t.out).toEqual([]);
  });
});

describe('the operations report progress up to the whole disk', () => {
  const dir = tempDir('progress');
  const f = (n: string) => path.join(dir, n);
  const record = () => {
    const calls: [number, number][] = [];
    return { calls, progress: (done: number, total: number) => { calls.push([done, total]); } };
  };
  const rising = (calls: [number, number][], total: number) => {
    expect(calls.length).toBeGreaterThan(1);
    expect(calls.every(([d, t], i) => t === total && d <= t && (i === 0 || d >= calls[i - 1][0]))).toBe(true);
    expect(calls.at(-1)![0]).toBe(total);
  };

  it('convert, check, compact and commit', () => {
    const size = 4 * MiB + 512;
    createImage(nodeEnv, f('base.img'), { size, uuid: uuid(1) });
    createImage(nodeEnv, f('top.img'), { backing: f('base.img'), uuid: uuid(2) });
    for (const file of ['base.img', 'top.img']) {
      const d = openDisk(nodeEnv, f(file), { writable: true });
      for (let p = 0; p < size; p += 300000) d.write(p, new Uint8Array(1000).fill(file.length));
      d.write(size - 512, new Uint8Array(512).fill(7));
      d.close();
    }
    for (const [name, run] of [
      ['convert raw', (p) => convertImage(nodeEnv, f('top.img'), f('flat.raw'), 'raw', undefined, p)],
      ['convert dfly', (p) => convertImage(nodeEnv, f('top.img'), f('flat.img'), 'dfly', undefined, p)],
      ['check', (p) => checkImage(nodeEnv, f('top.img'), p)],
      ['compact', (p) => compactImage(nodeEnv, f('top.img'), p)],
      ['commit', (p) => commitImage(nodeEnv, f('top.img'), p)],
    ] as [string, (p: (d: number, t: number) => void) => void][]) {
      const r = record();
      run(r.progress);
      expect(r.calls.length, name).toBeGreaterThan(1);
      rising(r.calls, size);
    }
  });
});

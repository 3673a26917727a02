/** The throw-away overlay of -snapshot: reads fall through, writes stay in memory, the disk below never changes. */
import { afterAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { nodeEnv } from '../../emu/storage/node.js';
import { openDisk } from '../../emu/storage/open.js';
import { ScratchOverlay, SCRATCH_CHUNK } from '../../emu/storage/scratch.js';
import { tempDir } from './helpers.js';

/** Bytes that differ at every offset, so a misplaced copy shows. */
function data(len: number, seed: number): Uint8Array {
  const b = new Uint8Array(len);
  for (let i = 0; i < len; i++) b[i] = (i * 31 + seed * 7 + (i >> 8)) & 0xff;
  return b;
}

const dir = tempDir('scratch');
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('ScratchOverlay', () => {
  it('reads the disk below until written, then its own copy, across chunk boundaries; the file is untouched', () => {
    const file = path.join(dir, 'base.raw');
    const base = data(3 * SCRATCH_CHUNK + 4096, 7);
    fs.writeFileSync(file, base);
    const overlay = new ScratchOverlay(openDisk(nodeEnv, file, { writable: false }));
    expect(overlay.size).toBe(base.length);
    expect(overlay.read(100, 70000)).toEqual(base.subarray(100, 70100));
    const patch = data(2 * SCRATCH_CHUNK, 9);
    overlay.write(SCRATCH_CHUNK - 10, patch);
    const want = Buffer.from(base);
    want.set(patch, SCRATCH_CHUNK - 10);
    expect(Buffer.from(overlay.read(0, base.length))).toEqual(want);
    expect([...overlay.chunks.keys()].sort()).toEqual([0, 1, 2]);
    overlay.flush();
    overlay.close();
    expect(fs.readFileSync(file)).toEqual(Buffer.from(base));
  });

  it('keeps the last, partial chunk of an odd-sized disk inside the disk', () => {
    const file = path.join(dir, 'odd.raw');
    fs.writeFileSync(file, new Uint8Array(SCRATCH_CHUNK + 512));
    const overlay = new ScratchOverlay(openDisk(nodeEnv, file));
    overlay.write(SCRATCH_CHUNK, Uint8Array.of(1, 2, 3));
    expect(overlay.read(SCRATCH_CHUNK, 4)).toEqual(Uint8Array.of(1, 2, 3, 0));
    expect(() => overlay.write(SCRATCH_CHUNK + 510, new Uint8Array(4))).toThrow(/outside the disk/);
    overlay.close();
  });
});

/** Overlays: read-through and copy-on-write three deep; commit, rebase, compact and convert keep contents. */
import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { nodeEnv } from '../../emu/storage/node.js';
import { createImage } from '../../emu/storage/create.js';
import { openDisk } from '../../emu/storage/open.js';
import { DflyImage } from '../../emu/storage/image.js';
import { commitImage } from '../../emu/storage/commit.js';
import { rebaseImage } from '../../emu/storage/rebase.js';
import { compactImage, convertImage } from '../../emu/storage/convert.js';
import { checkImage } from '../../emu/storage/check.js';
import { imageInfo } from '../../emu/storage/info.js';
import { data, prng, tempDir, uuid } from './helpers.js';

const CH = 65536;
const SIZE = 32 * CH;

function readAll(file: string): Buffer {
  const d = openDisk(nodeEnv, file);
  try { return Buffer.from(d.read(0, d.size)); } finally { d.close(); }
}

/** Writes random data (zeros included) to file and to the model. */
function scribble(file: string, model: Uint8Array, seed: number, n = 30): void {
  const rand = prng(seed);
  const d = openDisk(nodeEnv, file, { writable: true });
  for (let i = 0; i < n; i++) {
    const len = rand() < 0.3 ? CH : 1 + Math.floor(rand() * 4000);
    const pos = Math.floor(rand() * (model.length - len));
    const b = data(rand, len);
    d.write(pos, b);
    model.set(b, pos);
  }
  d.close();
}

/** base <- mid <- top, in a directory of their own, with the model of each level. */
function threeDeep() {
  const dir = tempDir('ovl');
  const f = (n: string) => path.join(dir, n);
  const models = [new Uint8Array(SIZE)];
  createImage(nodeEnv, f('base.img'), { size: SIZE, uuid: uuid(1) });
  scribble(f('base.img'), models[0], 1);
  createImage(nodeEnv, f('mid.img'), { backing: f('base.img'), uuid: uuid(2) });
  models.push(models[0].slice());
  scribble(f('mid.img'), models[1], 2);
  createImage(nodeEnv, f('top.img'), { backing: f('mid.img'), uuid: uuid(3) });
  models.push(models[1].slice());
  scribble(f('top.img'), models[2], 3);
  return { dir, f, models };
}

describe('overlays', () => {
  it('read through to their parents and copy on write, three deep', () => {
    const { f, models } = threeDeep();
    expect(readAll(f('base.img')).equals(Buffer.from(models[0]))).toBe(true);
    expect(readAll(f('mid.img')).equals(Buffer.from(models[1]))).toBe(true);
    expect(readAll(f('top.img')).equals(Buffer.from(models[2]))).toBe(true);
    const info = imageInfo(nodeEnv, f('top.img'));
    expect(info.map((i) => path.basename(i.path))).toEqual(['top.img', 'mid.img', 'base.img']);
    expect(info[0].parent).toEqual({ path: 'mid.img', uuid: '02020202-0202-0202-0202-020202020202' });
    // The overlay holds only what was written to it.
    const top = openDisk(nodeEnv, f('top.img')) as DflyImage;
    expect(top.chunkNumbers().length).toBeLessThan(top.chunks);
    top.close();
  });

  it('a zero write in an overlay hides the parent\'s data without taking space', () => {
    const { f } = threeDeep();
    const d = openDisk(nodeEnv, f('top.img'), { writable: true }) as DflyImage;
    d.write(0, new Uint8Array(SIZE));
    d.close();
    expect(readAll(f('top.img')).every((b) => b === 0)).toBe(true);
    const e = openDisk(nodeEnv, f('top.img')) as DflyImage;
    expect(e.chunkNumbers().map((k) => e.entry(k)!.stored)).toEqual(new Array(32).fill(0));
    e.close();
  });

  it('commit folds an overlay into its parent', () => {
    const { f, models } = threeDeep();
    const r = commitImage(nodeEnv, f('top.img'));
    expect(path.basename(r.parent)).toBe('mid.img');
    expect(readAll(f('mid.img')).equals(Buffer.from(models[2]))).toBe(true);
    expect(readAll(f('top.img')).equals(Buffer.from(models[2]))).toBe(true);
    expect(readAll(f('base.img')).equals(Buffer.from(models[0]))).toBe(true);
    expect(checkImage(nodeEnv, f('mid.img')).errors).toEqual([]);
  });

  it('commit into a raw parent', () => {
    const dir = tempDir('rawc');
    const base = path.join(dir, 'base.raw'), top = path.join(dir, 'top.img');
    const model = new Uint8Array(SIZE);
    fs.writeFileSync(base, model);
    createImage(nodeEnv, top, { backing: base, uuid: uuid(4) });
    scribble(top, model, 9);
    commitImage(nodeEnv, top);
    expect(fs.readFileSync(base).equals(Buffer.from(model))).toBe(true);
  });

  it('safe rebase onto the grandparent keeps what the overlay reads', () => {
    const { f, models } = threeDeep();
    const r = rebaseImage(nodeEnv, f('top.img'), f('base.img'));
    expect(r.copied).toBeGreaterThan(0);
    expect(readAll(f('top.img')).equals(Buffer.from(models[2]))).toBe(true);
    expect(imageInfo(nodeEnv, f('top.img')).length).toBe(2);
    // And to no parent at all.
    rebaseImage(nodeEnv, f('top.img'), null);
    expect(imageInfo(nodeEnv, f('top.img')).length).toBe(1);
    expect(readAll(f('top.img')).equals(Buffer.from(models[2]))).toBe(true);
  });

  it('unsafe rebase only changes the header', () => {
    const { f, models } = threeDeep();
    fs.copyFileSync(f('mid.img'), f('copy.img'));
    rebaseImage(nodeEnv, f('top.img'), f('copy.img'), true);
    expect(readAll(f('top.img')).equals(Buffer.from(models[2]))).toBe(true);
    expect(path.basename(imageInfo(nodeEnv, f('top.img'))[1].path)).toBe('copy.img');
  });

  it('compact drops garbage and keeps contents, UUID and parent', () => {
    const { f, models } = threeDeep();
    scribble(f('top.img'), models[2], 4, 200); // rewrites leave old copies behind
    const before = fs.statSync(f('top.img')).size;
    const r = compactImage(nodeEnv, f('top.img'));
    expect(r.before).toBe(before);
    expect(r.after).toBeLessThan(before);
    // All that is left unreferenced is the new file's first, empty index (20 bytes).
    expect(checkImage(nodeEnv, f('top.img')).leaked).toBe(20);
    expect(readAll(f('top.img')).equals(Buffer.from(models[2]))).toBe(true);
    expect(imageInfo(nodeEnv, f('top.img'))[0].uuid).toBe('03030303-0303-0303-0303-030303030303');
  });

  it('convert flattens a chain to a standalone image and to raw, and back', () => {
    const { f, models } = threeDeep();
    convertImage(nodeEnv, f('top.img'), f('flat.img'), 'dfly', uuid(7));
    expect(imageInfo(nodeEnv, f('flat.img')).length).toBe(1);
    expect(readAll(f('flat.img')).equals(Buffer.from(models[2]))).toBe(true);
    convertImage(nodeEnv, f('flat.img'), f('flat.raw'), 'raw');
    expect(fs.readFileSync(f('flat.raw')).equals(Buffer.from(models[2]))).toBe(true);
    convertImage(nodeEnv, f('flat.raw'), f('again.img'), 'dfly', uuid(7));
    expect(fs.readFileSync(f('again.img')).equals(fs.readFileSync(f('flat.img')))).toBe(true);
  });
});

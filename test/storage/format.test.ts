/** The image format on its own: random writes against a plain buffer, reopening, zero chunks, determinism. */
import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { nodeEnv } from '../../emu/storage/node.js';
import { createImage } from '../../emu/storage/create.js';
import { openDisk } from '../../emu/storage/open.js';
import { DflyImage } from '../../emu/storage/image.js';
import { crc32 } from '../../emu/storage/crc32.js';
import { DATA_START } from '../../emu/storage/format.js';
import { data, prng, tempDir, uuid } from './helpers.js';

const CH = 65536;

describe('the damselfly image format', () => {
  it('crc32 is zlib\'s CRC-32', () => {
    const rand = prng(7);
    for (const len of [0, 1, 3, 100, 65536]) {
      const b = data(rand, len);
      expect(crc32(b)).toBe(zlib.crc32(b));
    }
  });

  it('round-trips random writes against a Buffer model, across flushes, evictions and reopening', () => {
    const dir = tempDir('rt');
    const file = path.join(dir, 'a.img');
    const size = 12 * 1024 * 1024 + 512; // a partial last chunk, and more chunks than the dirty limit
    createImage(nodeEnv, file, { size, uuid: uuid(1) });
    const model = new Uint8Array(size);
    const rand = prng(42);
    let d = openDisk(nodeEnv, file, { writable: true });
    for (let i = 0; i < 400; i++) {
      const r = rand();
      const len = r < 0.1 ? CH * 3 : r < 0.5 ? 1 + Math.floor(rand() * 5000) : 512;
      const pos = Math.floor(rand() * (size - len));
      const b = data(rand, len);
      d.write(pos, b);
      model.set(b, pos);
      if (i % 37 === 0) d.flush();
      if (i % 101 === 100) { d.close(); d = openDisk(nodeEnv, file, { writable: i % 2 === 0 }); if (i % 2) { d.close(); d = openDisk(nodeEnv, file, { writable: true }); } }
      if (i % 50 === 0) {
        const p = Math.floor(rand() * (size - 70000));
        expect(Buffer.from(d.read(p, 70000)).equals(Buffer.from(model.subarray(p, p + 70000)))).toBe(true);
      }
    }
    d.close();
    d = openDisk(nodeEnv, file);
    expect(d.format).toBe('dfly');
    expect(d.size).toBe(size);
    expect(Buffer.from(d.read(0, size)).equals(Buffer.from(model))).toBe(true);
    d.close();
  });

  it('stores all-zero chunks as nothing', () => {
    const dir = tempDir('zero');
    const file = path.join(dir, 'z.img');
    createImage(nodeEnv, file, { size: 64 * CH, uuid: uuid(2) });
    const d = openDisk(nodeEnv, file, { writable: true }) as DflyImage;
    d.write(5 * CH, new Uint8Array(CH).fill(9));
    d.flush();
    const before = fs.statSync(file).size;
    d.write(0, new Uint8Array(40 * CH)); // zeros over unallocated and over chunk 5
    d.flush();
    expect(d.chunkNumbers()).toEqual([]);
    // Only a new (empty) index was appended.
    expect(fs.statSync(file).size - before).toBeLessThan(64);
    d.close();
    const fresh = path.join(dir, 'fresh.img');
    createImage(nodeEnv, fresh, { size: 1024 * 1024 * 1024, uuid: uuid(3) });
    expect(fs.statSync(fresh).size).toBeLessThan(DATA_START + 64);
  });

  it('compresses: a chunk of one repeated byte takes a few bytes', () => {
    const file = path.join(tempDir('z'), 'c.img');
    createImage(nodeEnv, file, { size: 4 * CH, uuid: uuid(4) });
    const d = openDisk(nodeEnv, file, { writable: true }) as DflyImage;
    d.write(0, new Uint8Array(4 * CH).fill(0x41));
    d.close();
    const e = (openDisk(nodeEnv, file) as DflyImage);
    expect(e.entry(0)!.stored).toBeLessThan(200);
    e.close();
  });

  it('is deterministic: the same UUID and writes give the same bytes', () => {
    const dir = tempDir('det');
    const make = (name: string) => {
      const f = path.join(dir, name);
      createImage(nodeEnv, f, { size: 8 * CH, uuid: uuid(5) });
      const d = openDisk(nodeEnv, f, { writable: true });
      const rand = prng(3);
      for (let i = 0; i < 20; i++) { d.write(Math.floor(rand() * 7 * CH), data(rand, 3000)); if (i % 5 === 4) d.flush(); }
      d.close();
      return fs.readFileSync(f);
    };
    expect(make('1.img').equals(make('2.img'))).toBe(true);
  });

  it('reads raw images, recognised by content', () => {
    const file = path.join(tempDir('raw'), 'disk.raw');
    const b = Buffer.alloc(3 * CH);
    b.write('hello', CH + 10);
    fs.writeFileSync(file, b);
    const d = openDisk(nodeEnv, file, { writable: true });
    expect(d.format).toBe('raw');
    expect(Buffer.from(d.read(CH + 10, 5)).toString()).toBe('hello');
    d.write(0, Buffer.from('boot'));
    d.close();
    expect(fs.readFileSync(file).subarray(0, 4).toString()).toBe('boot');
  });
});

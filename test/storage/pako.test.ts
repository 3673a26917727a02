/**
 * pako (the browser's codec) and node:zlib write and read the same raw deflate streams:
 * chunk by chunk in both directions, and whole images written by one, opened and checked
 * by the other.
 */
import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { nodeCodec, nodeEnv, nodeHost } from '../../emu/storage/node.js';
import { pakoCodec } from '../../emu/storage/pako-codec.js';
import { createImage } from '../../emu/storage/create.js';
import { openDisk } from '../../emu/storage/open.js';
import { checkImage } from '../../emu/storage/check.js';
import { DflyImage } from '../../emu/storage/image.js';
import type { Codec, Env } from '../../emu/storage/host.js';
import { prng, tempDir, uuid } from './helpers.js';

const CH = 65536;
const pakoEnv: Env = { host: nodeHost, codec: pakoCodec };
const same = (a: Uint8Array, b: Uint8Array) => Buffer.from(a.buffer, a.byteOffset, a.length).equals(Buffer.from(b.buffer, b.byteOffset, b.length));

function random(seed: number, len: number): Uint8Array {
  const r = prng(seed), b = new Uint8Array(len);
  for (let i = 0; i < len; i++) b[i] = r() * 256;
  return b;
}
function text(len: number): Uint8Array {
  const words = ['kernel', 'disk', 'chunk', 'the', 'deflate', 'sector', 'of', 'an', 'image', '\n'];
  const r = prng(7);
  let s = '';
  while (s.length < len) s += words[Math.floor(r() * words.length)] + ' ';
  return new TextEncoder().encode(s.slice(0, len));
}
/** Runs of a byte with random bytes between: long and short matches, literals. */
function mixed(len: number): Uint8Array {
  const b = random(9, len), r = prng(10);
  for (let i = 0; i < len; i += 1 + Math.floor(r() * 3000)) b.fill(r() * 256, i, Math.min(len, i + Math.floor(r() * 2000)));
  return b;
}

const SAMPLES: [string, Uint8Array][] = [
  ['empty', new Uint8Array(0)],
  ['one byte', new Uint8Array([42])],
  ['64 KiB of zeros', new Uint8Array(CH)],
  ['64 KiB random', random(1, CH)],
  ['64 KiB of text', text(CH)],
  ['64 KiB mixed runs', mixed(CH)],
  ['64 KiB - 1 random', random(2, CH - 1)],
  ['64 KiB + 1 of text', text(CH + 1)],
  ['64 KiB + 1 zeros', new Uint8Array(CH + 1)],
  ['64 KiB of one byte but the last', new Uint8Array(CH).fill(0xee).fill(1, CH - 1)],
  ['1 MiB mixed', mixed(1 << 20)],
];

describe('raw deflate streams', () => {
  it.each(SAMPLES)('%s: node:zlib deflates, pako inflates the same bytes', (_name, data) => {
    const z = nodeCodec.deflate(data);
    expect(same(pakoCodec.inflate(z), data)).toBe(true);
  });

  it.each(SAMPLES)('%s: pako deflates, node:zlib inflates the same bytes', (_name, data) => {
    const z = pakoCodec.deflate(data);
    expect(same(nodeCodec.inflate(z), data)).toBe(true);
  });

  it.each([['node:zlib', nodeCodec], ['pako', pakoCodec]] as [string, Codec][])('%s refuses a truncated or damaged stream', (_name, codec) => {
    const z = nodeCodec.deflate(text(CH));
    expect(() => codec.inflate(z.subarray(0, z.length >> 1))).toThrow();
    const bad = z.slice();
    bad[0] ^= 0x06; // block type 11: reserved (RFC 1951 §3.2.3)
    expect(() => codec.inflate(bad)).toThrow();
  });
});

describe('whole images across codecs', () => {
  const dir = tempDir('pako');
  const f = (n: string) => path.join(dir, n);

  /** Chunks of every kind, and writes that straddle 64 KiB boundaries. */
  function fill(env: Env, file: string): Uint8Array {
    const size = 12 * CH;
    createImage(env, file, { size, uuid: uuid(3) });
    const want = new Uint8Array(size);
    const put = (pos: number, b: Uint8Array) => { want.set(b, pos); d.write(pos, b); };
    const d = openDisk(env, file, { writable: true });
    put(0, text(CH));
    put(CH, random(4, CH));
    put(3 * CH, mixed(CH));
    put(5 * CH - 1, new Uint8Array([0xab, 0xcd]));
    put(6 * CH + 100, random(5, 2 * CH));
    put(9 * CH, new Uint8Array(CH).fill(0x5a));
    d.flush();
    put(CH + 10, new Uint8Array(30)); // a flushed chunk rewritten
    d.close();
    return want;
  }

  it.each([
    ['written with pako, opened and checked with node:zlib', pakoEnv, nodeEnv],
    ['written with node:zlib, opened and checked with pako', nodeEnv, pakoEnv],
  ] as [string, Env, Env][])('%s', (name, writer, reader) => {
    const file = f(`${name.split(' ')[2]}.img`);
    const want = fill(writer, file);
    const r = checkImage(reader, file);
    expect(r.errors).toEqual([]);
    expect(r.chunks).toBe(9);
    const d = openDisk(reader, file);
    expect(same(d.read(0, d.size), want)).toBe(true);
    d.close();
  });

  it('a damaged chunk read through pako is refused like through node:zlib', () => {
    const file = f('damaged.img');
    fill(nodeEnv, file);
    const img = openDisk(nodeEnv, file) as DflyImage;
    const at = img.entry(1)!.offset;
    img.close();
    const b = fs.readFileSync(file);
    b[at + 20] ^= 0xff;
    fs.writeFileSync(file, b);
    for (const env of [nodeEnv, pakoEnv]) {
      const d = openDisk(env, file);
      expect(() => d.read(CH, 512)).toThrow(new RegExp(`damaged\\.img: chunk 1 at offset ${at}: (CRC mismatch|corrupt deflate data)`));
      d.close();
    }
  });
});

/** The two per-chunk byte scans of the image format: CRC-32 against node:zlib's, and the zero test, at every alignment. */
import { describe, expect, it } from 'vitest';
import * as zlib from 'node:zlib';
import { crc32 } from '../../emu/storage/crc32.js';
import { allZero } from '../../emu/storage/zero.js';

const bytes = new Uint8Array(70000).map((_, i) => (i * 2654435761) >>> 13);

describe('crc32', () => {
  it('equals zlib.crc32 at every length and alignment around the 8-byte step, and chains', () => {
    for (const off of [0, 1, 3, 7]) {
      for (const len of [0, 1, 2, 7, 8, 9, 15, 16, 17, 63, 64, 65, 65536]) {
        const b = bytes.subarray(off, off + len);
        expect(crc32(b)).toBe(zlib.crc32(b));
        const cut = len >> 1;
        expect(crc32(b.subarray(cut), crc32(b.subarray(0, cut)))).toBe(zlib.crc32(b));
      }
    }
  });
});

describe('allZero', () => {
  it('finds a single non-zero byte anywhere, at every alignment and length', () => {
    const z = new Uint8Array(64);
    for (let off = 0; off < 9; off++) {
      for (const len of [0, 1, 7, 8, 9, 17, 40]) {
        const b = z.subarray(off, off + len);
        expect(allZero(b)).toBe(true);
        for (let i = 0; i < len; i++) {
          b[i] = 0x80;
          expect(allZero(b)).toBe(false);
          b[i] = 0;
        }
      }
    }
  });
});

/**
 * Whether a buffer is all zeros. Zero chunks are stored as nothing, so every write and
 * convert asks this of every 64 KiB; a byte-wise `every` was the slowest step of writing
 * an image (about 200 MB/s), so aligned stretches are tested eight bytes at a time.
 */
export function allZero(b: Uint8Array): boolean {
  let i = 0;
  const head = Math.min(b.length, (8 - (b.byteOffset & 7)) & 7);
  for (; i < head; i++) if (b[i] !== 0) return false;
  const words = Math.floor((b.length - i) / 8);
  if (words > 0) {
    const w = new BigUint64Array(b.buffer, b.byteOffset + i, words);
    for (let k = 0; k < words; k++) if (w[k] !== 0n) return false;
    i += words * 8;
  }
  for (; i < b.length; i++) if (b[i] !== 0) return false;
  return true;
}

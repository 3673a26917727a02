/**
 * CRC-32 (IEEE 802.3, the one zlib and gzip use). Our own so that the image format reads the
 * same in the browser, where node:zlib's crc32 does not exist. Eight bytes per step
 * ("slicing by 8"): table k holds the CRC of a byte followed by k zero bytes, so eight
 * independent lookups replace eight dependent ones — reading an image is bound by this.
 */
const TABLES = (() => {
  const t = new Uint32Array(8 * 256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  for (let n = 0; n < 256; n++) {
    for (let k = 1; k < 8; k++) {
      const prev = t[(k - 1) * 256 + n];
      t[k * 256 + n] = (prev >>> 8) ^ t[prev & 0xff];
    }
  }
  return t;
})();

export function crc32(data: Uint8Array, crc = 0): number {
  const T = TABLES;
  let c = ~crc;
  let i = 0;
  const end8 = data.length - 7;
  for (; i < end8; i += 8) {
    const lo = c ^ (data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) | (data[i + 3] << 24));
    c = T[7 * 256 + (lo & 0xff)] ^ T[6 * 256 + ((lo >>> 8) & 0xff)] ^ T[5 * 256 + ((lo >>> 16) & 0xff)] ^ T[4 * 256 + (lo >>> 24)] ^
      T[3 * 256 + data[i + 4]] ^ T[2 * 256 + data[i + 5]] ^ T[256 + data[i + 6]] ^ T[data[i + 7]];
  }
  for (; i < data.length; i++) c = T[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

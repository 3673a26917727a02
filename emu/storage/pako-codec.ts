/**
 * Raw deflate by pako, for the browser (node.ts has node:zlib's). Both write and read the
 * same RFC 1951 streams, so an image written by one opens with the other:
 * test/storage/pako.test.ts proves it both ways.
 */
import { deflateRaw, inflateRaw } from 'pako';
import type { Codec } from './host.js';

export const pakoCodec: Codec = {
  deflate: (data) => deflateRaw(data),
  inflate: (data) => {
    const out = inflateRaw(data);
    // pako reports most bad streams by throwing a string; a stream that never ends yields no result.
    if (!out) throw new Error('deflate stream ends early');
    return out;
  },
};

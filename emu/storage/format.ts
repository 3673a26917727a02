/**
 * The on-disk layout of a damselfly image (README.md has the byte table): a header sector,
 * two commit slots in sectors of their own, then an append-only area of deflated chunks
 * and index blocks. Encoding and decoding only; image.ts does the I/O.
 */
import { crc32 } from './crc32.js';
import { ImageError } from './host.js';

export const MAGIC = new TextEncoder().encode('DFLYIMG\0');
export const VERSION = 1;
export const CHUNK_SHIFT = 16;
export const CHUNK = 1 << CHUNK_SHIFT;
export const HEADER_SIZE = 512;
/** Each slot in its own 512-byte sector, so a torn slot write cannot touch the other slot. */
export const SLOT_OFFSETS = [512, 1024] as const;
export const SLOT_SIZE = 36;
export const DATA_START = 4096;
const MAX_PARENT_PATH = 446;
const INDEX_MAGIC = 0x58494644; // 'DFIX' little-endian
const SLOT_MAGIC = 0x4c534644; // 'DFSL'
const INDEX_HEAD = 16;
const ENTRY = 20;

export interface Header {
  size: number;
  uuid: Uint8Array;
  /** Absent: no parent. uuid all zero: a raw parent, which has no UUID to check. */
  parent?: { path: string; uuid: Uint8Array };
}

/** stored 0: an all-zero chunk that hides the parent's and takes no space. */
export interface Entry { offset: number; stored: number; crc: number }

export interface Slot { generation: number; indexOffset: number; indexLength: number; indexCrc: number }

export const ZERO_UUID = new Uint8Array(16);

/**
 * Four bytes decide the format, so that an image with a damaged magic is refused as ours
 * rather than served as a raw disk. A raw disk starts with boot code or a partition
 * table, never with 'DFLY'.
 */
export function isOurs(first: Uint8Array): boolean {
  return first.length >= 4 && MAGIC.subarray(0, 4).every((b, i) => first[i] === b);
}

export function encodeHeader(h: Header): Uint8Array {
  const b = new Uint8Array(HEADER_SIZE);
  const v = new DataView(b.buffer);
  b.set(MAGIC, 0);
  v.setUint32(8, VERSION, true);
  v.setUint32(12, CHUNK_SHIFT, true);
  v.setBigUint64(16, BigInt(h.size), true);
  b.set(h.uuid, 24);
  if (h.parent) {
    const path = new TextEncoder().encode(h.parent.path);
    if (path.length === 0 || path.length > MAX_PARENT_PATH) throw new Error(`parent path must be 1..${MAX_PARENT_PATH} bytes`);
    b.set(h.parent.uuid, 40);
    v.setUint16(56, path.length, true);
    b.set(path, 58);
  }
  v.setUint32(508, crc32(b.subarray(0, 508)), true);
  return b;
}

export function decodeHeader(b: Uint8Array, file: string): Header {
  if (b.length < HEADER_SIZE) throw new ImageError(file, `truncated header (${b.length} of ${HEADER_SIZE} bytes)`);
  if (!MAGIC.every((m, i) => b[i] === m)) throw new ImageError(file, 'bad magic (not a damselfly image)');
  const v = new DataView(b.buffer, b.byteOffset, HEADER_SIZE);
  if (v.getUint32(508, true) !== crc32(b.subarray(0, 508))) throw new ImageError(file, 'header CRC mismatch (corrupt header)');
  const version = v.getUint32(8, true);
  if (version !== VERSION) throw new ImageError(file, `unsupported image version ${version} (this emu reads version ${VERSION})`);
  const shift = v.getUint32(12, true);
  if (shift !== CHUNK_SHIFT) throw new ImageError(file, `unsupported chunk size 2^${shift}`);
  const size = Number(v.getBigUint64(16, true));
  if (!Number.isSafeInteger(size)) throw new ImageError(file, 'virtual size out of range');
  const h: Header = { size, uuid: b.slice(24, 40) };
  const plen = v.getUint16(56, true);
  if (plen > MAX_PARENT_PATH) throw new ImageError(file, 'parent path too long (corrupt header)');
  if (plen > 0) h.parent = { uuid: b.slice(40, 56), path: new TextDecoder().decode(b.subarray(58, 58 + plen)) };
  return h;
}

export function encodeSlot(s: Slot): Uint8Array {
  const b = new Uint8Array(SLOT_SIZE);
  const v = new DataView(b.buffer);
  v.setUint32(0, SLOT_MAGIC, true);
  v.setBigUint64(8, BigInt(s.generation), true);
  v.setBigUint64(16, BigInt(s.indexOffset), true);
  v.setUint32(24, s.indexLength, true);
  v.setUint32(28, s.indexCrc, true);
  v.setUint32(32, crc32(b.subarray(0, 32)), true);
  return b;
}

/** null for a slot never written or torn by a crash: the other slot then holds the last commit. */
export function decodeSlot(b: Uint8Array): Slot | null {
  if (b.length < SLOT_SIZE) return null;
  const v = new DataView(b.buffer, b.byteOffset, SLOT_SIZE);
  if (v.getUint32(0, true) !== SLOT_MAGIC || v.getUint32(32, true) !== crc32(b.subarray(0, 32))) return null;
  return {
    generation: Number(v.getBigUint64(8, true)),
    indexOffset: Number(v.getBigUint64(16, true)),
    indexLength: v.getUint32(24, true),
    indexCrc: v.getUint32(28, true),
  };
}

/** Entries sorted by chunk number; the slot carries the block's CRC, the block carries it too. */
export function encodeIndex(generation: number, entries: Map<number, Entry>): Uint8Array {
  const keys = [...entries.keys()].sort((a, b) => a - b);
  const b = new Uint8Array(INDEX_HEAD + keys.length * ENTRY + 4);
  const v = new DataView(b.buffer);
  v.setUint32(0, INDEX_MAGIC, true);
  v.setUint32(4, keys.length, true);
  v.setBigUint64(8, BigInt(generation), true);
  keys.forEach((k, i) => {
    const e = entries.get(k)!;
    const p = INDEX_HEAD + i * ENTRY;
    v.setUint32(p, k, true);
    v.setUint32(p + 4, e.stored, true);
    v.setBigUint64(p + 8, BigInt(e.offset), true);
    v.setUint32(p + 16, e.crc, true);
  });
  v.setUint32(b.length - 4, crc32(b.subarray(0, b.length - 4)), true);
  return b;
}

/** Checks everything an index can say about itself, given where it sits and the disk's size. */
export function decodeIndex(b: Uint8Array, slot: Slot, size: number, file: string): Map<number, Entry> {
  const bad = (what: string) => new ImageError(file, `corrupt index at offset ${slot.indexOffset}: ${what}`);
  if (b.length !== slot.indexLength) throw new ImageError(file, `truncated (index at offset ${slot.indexOffset} runs past the end of the file)`);
  if (crc32(b) !== slot.indexCrc) throw new ImageError(file, `index CRC mismatch (corrupt index at offset ${slot.indexOffset})`);
  const v = new DataView(b.buffer, b.byteOffset, b.length);
  if (b.length < INDEX_HEAD + 4 || v.getUint32(0, true) !== INDEX_MAGIC) throw bad('bad magic');
  const count = v.getUint32(4, true);
  if (b.length !== INDEX_HEAD + count * ENTRY + 4) throw bad('length does not match its entry count');
  if (Number(v.getBigUint64(8, true)) !== slot.generation) throw bad('generation does not match its slot');
  const chunks = Math.ceil(size / CHUNK);
  const entries = new Map<number, Entry>();
  let prev = -1;
  for (let i = 0; i < count; i++) {
    const p = INDEX_HEAD + i * ENTRY;
    const k = v.getUint32(p, true);
    const e: Entry = { stored: v.getUint32(p + 4, true), offset: Number(v.getBigUint64(p + 8, true)), crc: v.getUint32(p + 16, true) };
    if (k <= prev) throw bad(`chunk ${k} out of order`);
    if (k >= chunks) throw bad(`chunk ${k} beyond the virtual size`);
    if (e.stored > 0 && (e.offset < DATA_START || e.offset + e.stored > slot.indexOffset)) throw bad(`chunk ${k} points outside the data area`);
    entries.set(k, e);
    prev = k;
  }
  return entries;
}

/**
 * The damselfly image: chunks deflated into an append-only area, an index appended after
 * them at every flush, and a commit slot pointing at the newest index. Nothing already
 * committed is ever overwritten, so a crash at any instant leaves the last commit intact.
 */
import { crc32 } from './crc32.js';
import { type BlockFile, type Env, ImageError } from './host.js';
import {
  CHUNK, DATA_START, HEADER_SIZE, SLOT_OFFSETS, SLOT_SIZE,
  decodeHeader, decodeIndex, decodeSlot, encodeHeader, encodeIndex, encodeSlot,
  type Entry, type Header, type Slot,
} from './format.js';
import { checkRange, readClamped, type Disk } from './disk.js';
import { allZero } from './zero.js';

/** Dirty chunks kept uncompressed until a flush or until there are this many (4 MiB). */
const MAX_DIRTY = 64;
/** Decoded clean chunks, so that sector-sized reads do not inflate a chunk 128 times. */
const MAX_CLEAN = 16;
const ZERO_CRC = crc32(new Uint8Array(CHUNK));

export class DflyImage implements Disk {
  readonly format = 'dfly' as const;
  private readonly dirty = new Map<number, Uint8Array>();
  private readonly clean = new Map<number, Uint8Array>();
  /** Entries changed since the last commit (a flush with none writes nothing). */
  private changed = false;

  private constructor(
    private readonly env: Env,
    private readonly file: BlockFile,
    readonly header: Header,
    private entries: Map<number, Entry>,
    private slot: Slot,
    private end: number,
    readonly writable: boolean,
    readonly parent: Disk | null,
  ) {}

  get path(): string { return this.file.path; }
  get size(): number { return this.header.size; }
  get uuid(): Uint8Array { return this.header.uuid; }
  get generation(): number { return this.slot.generation; }

  /** A new image with nothing in it: header, an empty index and slot 0, all synced. */
  static writeEmpty(env: Env, path: string, header: Header): void {
    const f = env.host.create(path);
    try {
      const idx = encodeIndex(0, new Map());
      f.write(0, encodeHeader(header));
      f.write(DATA_START, idx);
      f.write(SLOT_OFFSETS[0], encodeSlot({ generation: 0, indexOffset: DATA_START, indexLength: idx.length, indexCrc: crc32(idx) }));
      f.sync();
    } finally {
      f.close();
    }
  }

  /** openParent receives the decoded header and opens (and checks) the parent, or returns null. */
  static open(env: Env, file: BlockFile, writable: boolean, openParent: (h: Header) => Disk | null): DflyImage {
    const path = file.path;
    const header = decodeHeader(file.read(0, HEADER_SIZE), path);
    const slot = SLOT_OFFSETS.map((o) => decodeSlot(file.read(o, SLOT_SIZE)))
      .reduce<Slot | null>((best, s) => (s && (!best || s.generation > best.generation) ? s : best), null);
    if (!slot) throw new ImageError(path, 'no valid commit slot (corrupt or truncated header area)');
    const size = file.size();
    if (slot.indexOffset < DATA_START || slot.indexOffset + slot.indexLength > size) {
      throw new ImageError(path, `truncated (index at offset ${slot.indexOffset} runs past the end of the file, ${size} bytes)`);
    }
    const entries = decodeIndex(file.read(slot.indexOffset, slot.indexLength), slot, header.size, path);
    const end = slot.indexOffset + slot.indexLength;
    const parent = openParent(header);
    // A crashed writer may have left unflushed chunks past the last index; nothing refers to them.
    if (writable && size > end) file.truncate(end);
    return new DflyImage(env, file, header, entries, slot, end, writable, parent);
  }

  read(pos: number, len: number): Uint8Array {
    checkRange(this, pos, len);
    const out = new Uint8Array(len);
    for (let done = 0; done < len;) {
      const k = Math.floor((pos + done) / CHUNK), at = (pos + done) % CHUNK;
      const n = Math.min(CHUNK - at, len - done);
      out.set(this.chunk(k).subarray(at, at + n), done);
      done += n;
    }
    return out;
  }

  write(pos: number, data: Uint8Array): void {
    if (!this.writable) throw new ImageError(this.path, 'opened read-only');
    checkRange(this, pos, data.length);
    for (let done = 0; done < data.length;) {
      const k = Math.floor((pos + done) / CHUNK), at = (pos + done) % CHUNK;
      const n = Math.min(CHUNK - at, data.length - done);
      let buf = this.dirty.get(k);
      if (!buf) {
        buf = n === CHUNK ? new Uint8Array(CHUNK) : this.chunk(k).slice();
        this.clean.delete(k);
        this.dirty.set(k, buf);
      }
      buf.set(data.subarray(done, done + n), at);
      done += n;
    }
    while (this.dirty.size > MAX_DIRTY) {
      const [k, buf] = this.dirty.entries().next().value!;
      this.dirty.delete(k);
      this.store(k, buf);
    }
  }

  /** Appends the dirty chunks and a new index, syncs, then points a slot at it and syncs again. */
  flush(): void {
    if (!this.writable) return;
    for (const [k, buf] of this.dirty) this.store(k, buf);
    this.dirty.clear();
    if (!this.changed) return;
    const generation = this.slot.generation + 1;
    const idx = encodeIndex(generation, this.entries);
    this.file.write(this.end, idx);
    // The index and every chunk it names must be durable before a slot can point at them.
    this.file.sync();
    const slot: Slot = { generation, indexOffset: this.end, indexLength: idx.length, indexCrc: crc32(idx) };
    // The slot the previous commit is not in: a torn write here leaves that commit readable.
    this.file.write(SLOT_OFFSETS[generation % 2], encodeSlot(slot));
    this.file.sync();
    this.slot = slot;
    this.end += idx.length;
    this.changed = false;
  }

  close(): void {
    try {
      if (this.writable) this.flush();
    } finally {
      this.file.close();
      this.parent?.close();
    }
  }

  /** What the index says about chunk k: undefined reads through to the parent. */
  entry(k: number): Entry | undefined { return this.entries.get(k); }
  chunkNumbers(): number[] { return [...this.entries.keys()].sort((a, b) => a - b); }
  get chunks(): number { return Math.ceil(this.size / CHUNK); }
  get committedEnd(): number { return this.end; }
  get fileSize(): number { return this.file.size(); }
  get commitSlot(): Slot { return this.slot; }

  /** The deflated bytes of a data chunk, checked, for copying without recompressing. */
  storedChunk(k: number): Uint8Array {
    const e = this.entries.get(k);
    if (!e || e.stored === 0) throw new Error(`chunk ${k} has no stored data`);
    const z = this.file.read(e.offset, e.stored);
    this.decode(k, e, z);
    return z;
  }

  /** Copies a chunk already deflated elsewhere (compact, rebase): same bytes, same CRC. */
  putStored(k: number, z: Uint8Array, crc: number): void {
    this.file.write(this.end, z);
    this.entries.set(k, { offset: this.end, stored: z.length, crc });
    this.end += z.length;
    this.changed = true;
  }

  /** An explicit zero chunk: takes no space and hides whatever the parent holds there. */
  putZero(k: number): void {
    this.entries.set(k, { offset: 0, stored: 0, crc: ZERO_CRC });
    this.changed = true;
  }

  /** The chunk's 64 KiB, read through the parent chain. May be shared: callers copy before changing it. */
  chunk(k: number): Uint8Array {
    const d = this.dirty.get(k) ?? this.clean.get(k);
    if (d) return d;
    const e = this.entries.get(k);
    let buf: Uint8Array;
    if (e) buf = e.stored === 0 ? new Uint8Array(CHUNK) : this.load(k, e);
    else if (this.parent) {
      buf = new Uint8Array(CHUNK);
      buf.set(readClamped(this.parent, k * CHUNK, Math.min(CHUNK, this.size - k * CHUNK)));
    } else buf = new Uint8Array(CHUNK);
    this.clean.set(k, buf);
    if (this.clean.size > MAX_CLEAN) this.clean.delete(this.clean.keys().next().value!);
    return buf;
  }

  private load(k: number, e: Entry): Uint8Array {
    const z = this.file.read(e.offset, e.stored);
    if (z.length !== e.stored) throw new ImageError(this.path, `truncated (chunk ${k} at offset ${e.offset} runs past the end of the file)`);
    return this.decode(k, e, z);
  }

  private decode(k: number, e: Entry, z: Uint8Array): Uint8Array {
    let data: Uint8Array;
    try {
      data = this.env.codec.inflate(z);
    } catch {
      throw new ImageError(this.path, `chunk ${k} at offset ${e.offset}: corrupt deflate data`);
    }
    if (data.length !== CHUNK || crc32(data) !== e.crc) throw new ImageError(this.path, `chunk ${k} at offset ${e.offset}: CRC mismatch`);
    return data;
  }

  private store(k: number, buf: Uint8Array): void {
    this.changed = true;
    if (allZero(buf)) {
      // Without a parent, absent already reads as zeros; an overlay must hide the parent's data.
      if (this.header.parent) this.entries.set(k, { offset: 0, stored: 0, crc: ZERO_CRC });
      else this.entries.delete(k);
      return;
    }
    const z = this.env.codec.deflate(buf);
    this.file.write(this.end, z);
    this.entries.set(k, { offset: this.end, stored: z.length, crc: crc32(buf) });
    this.end += z.length;
  }
}

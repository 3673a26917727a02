/**
 * An in-memory Disk (emu/storage/disk.ts) for tests: the bytes are the disk,
 * so tests read and damage them directly, and flush() is counted.
 */
import { checkRange, type Disk } from '../../emu/storage/disk.js';

export class MemDisk implements Disk {
  readonly format = 'raw' as const;
  readonly parent = null;
  readonly bytes: Uint8Array;
  /** How many times flush() was called. */
  flushes = 0;
  /** `contents`: the disk's bytes (used, not copied), or a size for a zeroed disk. */
  constructor(contents: Uint8Array | number, readonly path = 'mem.img') {
    this.bytes = typeof contents === 'number' ? new Uint8Array(contents) : contents;
  }
  get size(): number { return this.bytes.length; }
  read(pos: number, len: number): Uint8Array {
    checkRange(this, pos, len);
    return this.bytes.slice(pos, pos + len);
  }
  write(pos: number, data: Uint8Array): void {
    checkRange(this, pos, data.length);
    this.bytes.set(data, pos);
  }
  flush(): void { this.flushes++; }
  close(): void {}
}

/**
 * A disk of `blocks` 512-byte blocks, block b holding bytes (b * 7 + i) & 0xff
 * (i counting from the disk's start), so any misplaced block shows. The test
 * kernels' drivers and tools/check-qemu.mjs expect this pattern.
 */
export function patternDisk(blocks: number, path?: string): MemDisk {
  return new MemDisk(new Uint8Array(blocks * 512).map((_, i) => (Math.floor(i / 512) * 7 + i) & 0xff), path);
}

/** A zeroed disk of `size` bytes with `extents` written on it. */
export function diskWith(size: number, extents: { at: number; bytes: Uint8Array }[]): MemDisk {
  const d = new MemDisk(size);
  for (const e of extents) d.write(e.at, e.bytes);
  return d;
}

/**
 * What the image code needs from its surroundings. Everything in emu/storage/ except
 * node.ts speaks only these interfaces, so the browser can read images with an in-memory
 * file and pako instead of node:fs and node:zlib.
 */

/** One open file. Synchronous: the machine runs in one thread and devices must not interleave. */
export interface BlockFile {
  readonly path: string;
  size(): number;
  /** Up to len bytes at pos; fewer only at the end of the file. */
  read(pos: number, len: number): Uint8Array;
  write(pos: number, data: Uint8Array): void;
  /** Everything written so far is durable when this returns (fsync). */
  sync(): void;
  truncate(len: number): void;
  close(): void;
}

export interface Host {
  /** Throws ImageError naming the path (no such file, is a directory…). */
  open(path: string, mode: 'r' | 'rw'): BlockFile;
  /** A new empty file; fails if it exists. */
  create(path: string): BlockFile;
  exists(path: string): boolean;
  /** Atomic replacement of `to`, as rename(2). */
  rename(from: string, to: string): void;
  remove(path: string): void;
  /** A parent path stored in an overlay is relative to the overlay's directory, as in qcow2. */
  resolve(fromFile: string, stored: string): string;
  relative(fromFile: string, target: string): string;
  randomUUID(): Uint8Array;
}

/** Raw deflate (RFC 1951, no zlib or gzip wrapper): node:zlib and pako write the same streams. */
export interface Codec {
  deflate(data: Uint8Array): Uint8Array;
  inflate(data: Uint8Array): Uint8Array;
}

export interface Env { host: Host; codec: Codec }

/** Every refusal is one line: the file, then what is wrong with it. */
export class ImageError extends Error {
  constructor(readonly file: string, readonly what: string) {
    super(`${file}: ${what}`);
  }
}

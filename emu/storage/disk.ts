/** A virtual disk as the devices see it, whatever file holds it. */
export interface Disk {
  readonly path: string;
  readonly format: 'raw' | 'dfly' | 'qcow2' | 'scratch';
  readonly size: number;
  /** The disk's parent, for overlays: reads fall through to it. */
  readonly parent: Disk | null;
  read(pos: number, len: number): Uint8Array;
  write(pos: number, data: Uint8Array): void;
  /** Every write before it is durable once it returns. */
  flush(): void;
  close(): void;
}

export function checkRange(d: Disk, pos: number, len: number): void {
  if (!(Number.isSafeInteger(pos) && Number.isSafeInteger(len) && pos >= 0 && len >= 0 && pos + len <= d.size)) {
    throw new RangeError(`${d.path}: access at ${pos}+${len} is outside the disk (${d.size} bytes)`);
  }
}

/** Reads of a parent smaller than its overlay: the missing part reads as zeros, as in qcow2. */
export function readClamped(d: Disk, pos: number, len: number): Uint8Array {
  const out = new Uint8Array(len);
  const n = Math.max(0, Math.min(len, d.size - pos));
  if (n > 0) out.set(d.read(pos, n));
  return out;
}

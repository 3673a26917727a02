/** Opens any disk file, recognising the format by content, with its parent chain. */
import { type Env, ImageError } from './host.js';
import { isOurs, ZERO_UUID } from './format.js';
import { DflyImage } from './image.js';
import { RawDisk } from './raw.js';
import { isQcow2, Qcow2Disk, QCOW2_READ_ONLY } from './qcow2.js';
import type { Disk } from './disk.js';

export interface OpenOptions {
  writable?: boolean;
  /** Open an overlay without its parent (rebase -u, info on a broken chain): reads of unallocated chunks give zeros. */
  noParent?: boolean;
  /** The parent opened writable too (commit). */
  parentWritable?: boolean;
}

const MAX_DEPTH = 64;

export function openDisk(env: Env, path: string, opts: OpenOptions = {}, depth = 0): Disk {
  const file = env.host.open(path, opts.writable ? 'rw' : 'r');
  try {
    const head = file.read(0, 8);
    if (isOurs(head)) {
      return DflyImage.open(env, file, !!opts.writable, (h) => {
        if (!h.parent || opts.noParent) return null;
        if (depth >= MAX_DEPTH) throw new ImageError(path, `parent chain deeper than ${MAX_DEPTH} (a loop?)`);
        const p = env.host.resolve(path, h.parent.path);
        if (!env.host.exists(p)) throw new ImageError(path, `missing parent ${p}`);
        const parent = openDisk(env, p, { writable: opts.parentWritable }, depth + 1);
        if (!sameUuid(h.parent.uuid, ZERO_UUID)) {
          const got = parent instanceof DflyImage ? parent.uuid : null;
          if (!got || !sameUuid(got, h.parent.uuid)) {
            parent.close();
            throw new ImageError(path, `parent ${p} is not the image this overlay was made on (UUID ${got ? formatUuid(got) : 'none'}, expected ${formatUuid(h.parent.uuid)})`);
          }
        }
        return parent;
      });
    }
    if (isQcow2(head)) {
      const q = Qcow2Disk.open(file, env.codec);
      // Refused only after the header is read, so that a bad one says what is wrong with it.
      if (opts.writable) throw new ImageError(path, QCOW2_READ_ONLY);
      return q;
    }
    return new RawDisk(file);
  } catch (e) {
    file.close();
    throw e;
  }
}

export function sameUuid(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

export function formatUuid(u: Uint8Array): string {
  const h = [...u].map((b) => b.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** The whole chain, top first. */
export function chain(d: Disk): Disk[] {
  const out: Disk[] = [];
  for (let x: Disk | null = d; x; x = x.parent) out.push(x);
  return out;
}

/**
 * emu img rebase: gives an overlay a new parent (or none). Safe mode keeps what the overlay
 * reads: every chunk it takes from its old chain that the new parent holds differently is
 * copied into it first. Unsafe mode (-u) only rewrites the header, as qemu-img rebase -u.
 */
import type { Env } from './host.js';
import { CHUNK, ZERO_UUID, type Header } from './format.js';
import { ImageError } from './host.js';
import { DflyImage } from './image.js';
import { openDisk } from './open.js';
import { readClamped, type Disk } from './disk.js';
import { writeImage } from './rewrite.js';
import { allZero } from './zero.js';

export function rebaseImage(env: Env, path: string, backing: string | null, unsafe = false): { copied: number } {
  const d = openDisk(env, path, { noParent: unsafe });
  let np: Disk | null = null;
  let copied = 0;
  try {
    if (!(d instanceof DflyImage)) throw new ImageError(path, 'is a raw image; it cannot have a backing file');
    np = backing === null ? null : openDisk(env, backing);
    const header: Header = { size: d.size, uuid: d.uuid };
    if (np) header.parent = { path: env.host.relative(path, backing!), uuid: np instanceof DflyImage ? np.uuid : ZERO_UUID };
    writeImage(env, path, header, (out) => {
      for (const k of d.chunkNumbers()) {
        const e = d.entry(k)!;
        if (e.stored === 0) out.putZero(k);
        else out.putStored(k, d.storedChunk(k), e.crc);
      }
      if (unsafe) return;
      for (let k = 0; k < d.chunks; k++) {
        if (d.entry(k)) continue;
        const len = Math.min(CHUNK, d.size - k * CHUNK);
        const old = d.chunk(k).subarray(0, len);
        const now = np ? readClamped(np, k * CHUNK, len) : new Uint8Array(len);
        if (old.every((b, i) => b === now[i])) continue;
        copied++;
        if (allZero(old)) out.putZero(k);
        else out.write(k * CHUNK, old);
      }
    });
    return { copied };
  } finally {
    np?.close();
    d.close();
  }
}

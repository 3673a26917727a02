/**
 * emu img commit: writes an overlay's chunks into its parent, through the parent's own
 * crash-safe write path. The overlay is left as it was (qemu-img commit -d): it still reads
 * the same, now mostly duplicating its parent.
 */
import { type Env, ImageError } from './host.js';
import { CHUNK } from './format.js';
import { DflyImage } from './image.js';
import { openDisk } from './open.js';
import type { Progress } from './progress.js';
import { allZero } from './zero.js';

export function commitImage(env: Env, path: string, progress?: Progress): { chunks: number; parent: string } {
  const d = openDisk(env, path, { parentWritable: true });
  try {
    if (!(d instanceof DflyImage)) throw new ImageError(path, 'is a raw image; it has no backing file to commit into');
    const parent = d.parent;
    if (!parent) throw new ImageError(path, 'has no backing file to commit into');
    const ks = d.chunkNumbers();
    // Every check before the first write, so that a refusal leaves the parent untouched.
    for (const k of ks) {
      const room = parent.size - k * CHUNK;
      if (d.entry(k)!.stored) d.storedChunk(k);
      if (room < Math.min(CHUNK, d.size - k * CHUNK) && !allZero(d.chunk(k).subarray(Math.max(0, room)))) {
        throw new ImageError(path, `has data beyond the end of its parent ${parent.path} (resizing the parent is not supported)`);
      }
    }
    for (const k of ks) {
      const len = Math.min(CHUNK, d.size - k * CHUNK, parent.size - k * CHUNK);
      if (len > 0) parent.write(k * CHUNK, d.chunk(k).subarray(0, len));
      progress?.(Math.min(d.size, (k + 1) * CHUNK), d.size);
    }
    parent.flush();
    return { chunks: ks.length, parent: parent.path };
  } finally {
    d.close();
  }
}

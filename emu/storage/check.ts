/**
 * emu img check: the header, the commit slots, the index, and every chunk's CRC. Problems
 * are lines naming the file; an image that cannot even be opened yields that one line.
 * qcow2 (no checksums to verify) gets its tables checked instead: check-qcow2.ts.
 */
import { type Env, ImageError } from './host.js';
import { CHUNK, DATA_START } from './format.js';
import { DflyImage } from './image.js';
import { openDisk } from './open.js';
import { Qcow2Disk } from './qcow2.js';
import { checkQcow2 } from './check-qcow2.js';
import type { Progress } from './progress.js';

export interface CheckResult {
  errors: string[];
  /** Bytes not referenced by the last commit: a crashed writer's tail, or older copies of chunks. */
  leaked: number;
  /** Data chunks verified (dfly), or allocated clusters checked (qcow2). */
  chunks: number;
  format: 'raw' | 'dfly' | 'qcow2';
}

export function checkImage(env: Env, path: string, progress?: Progress): CheckResult {
  let d;
  try {
    d = openDisk(env, path);
  } catch (e) {
    if (e instanceof ImageError) return { errors: [e.message], leaked: 0, chunks: 0, format: 'dfly' };
    throw e;
  }
  try {
    if (d instanceof Qcow2Disk) return checkQcow2(d, progress);
    if (!(d instanceof DflyImage)) return { errors: [], leaked: 0, chunks: 0, format: 'raw' };
    const errors: string[] = [];
    const extents: [number, number, number][] = [];
    let used = DATA_START + d.commitSlot.indexLength;
    for (const k of d.chunkNumbers()) {
      const e = d.entry(k)!;
      if (e.stored === 0) continue;
      extents.push([e.offset, e.stored, k]);
      used += e.stored;
      try {
        d.storedChunk(k);
      } catch (err) {
        if (!(err instanceof ImageError)) throw err;
        errors.push(err.message);
      }
      progress?.(Math.min(d.size, (k + 1) * CHUNK), d.size);
    }
    extents.sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < extents.length; i++) {
      const [o, n, k] = extents[i - 1];
      if (o + n > extents[i][0]) errors.push(`${path}: chunks ${k} and ${extents[i][2]} overlap at offset ${extents[i][0]}`);
    }
    return { errors, leaked: Math.max(0, d.fileSize - used), chunks: extents.length, format: 'dfly' };
  } finally {
    d.close();
  }
}

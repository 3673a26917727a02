/** emu img convert and compact: whole new files, written beside the target and renamed into place. */
import { type Env, ImageError } from './host.js';
import { CHUNK } from './format.js';
import { DflyImage } from './image.js';
import { chain, openDisk } from './open.js';
import { writeImage, writeRaw } from './rewrite.js';
import { type Progress, reportingReads } from './progress.js';
import { allZero } from './zero.js';

/** Flattens src and its parents (or a qcow2 image) into one standalone image (dfly) or a sparse raw file. */
export function convertImage(env: Env, src: string, dst: string, format: 'dfly' | 'raw', uuid?: Uint8Array, progress?: Progress): void {
  const d = openDisk(env, src);
  try {
    const target = env.host.resolve('./x', dst);
    for (const x of chain(d)) {
      if (env.host.resolve('./x', x.path) === target) throw new ImageError(dst, `is ${x === d ? 'the source' : 'in the source\'s parent chain'}; convert to another file`);
    }
    const from = progress ? reportingReads(d, progress) : d;
    if (format === 'raw') return writeRaw(env, dst, from, CHUNK);
    writeImage(env, dst, { size: d.size, uuid: uuid ?? env.host.randomUUID() }, (out) => {
      for (let pos = 0; pos < d.size; pos += CHUNK) {
        const buf = from.read(pos, Math.min(CHUNK, d.size - pos));
        if (!allZero(buf)) out.write(pos, buf);
      }
    });
  } finally {
    d.close();
  }
}

/** The same image (UUID and parent included) without the space older commits and crashes left behind. */
export function compactImage(env: Env, path: string, progress?: Progress): { before: number; after: number } {
  const d = openDisk(env, path, { noParent: true });
  let before = 0;
  try {
    if (!(d instanceof DflyImage)) throw new ImageError(path, 'is a raw image; there is nothing to compact');
    before = d.fileSize;
    writeImage(env, path, d.header, (out) => {
      for (const k of d.chunkNumbers()) {
        const e = d.entry(k)!;
        if (e.stored === 0) out.putZero(k);
        else out.putStored(k, d.storedChunk(k), e.crc);
        progress?.(Math.min(d.size, (k + 1) * CHUNK), d.size);
      }
    });
  } finally {
    d.close();
  }
  const after = openDisk(env, path, { noParent: true });
  try {
    return { before, after: (after as DflyImage).fileSize };
  } finally {
    after.close();
  }
}

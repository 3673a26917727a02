/**
 * Whole-file rewrites (create, convert, compact, rebase) build a temporary file beside the
 * target and rename it into place, so that the target is either untouched or complete.
 */
import type { Env } from './host.js';
import type { Header } from './format.js';
import { DflyImage } from './image.js';
import type { Disk } from './disk.js';
import { openDisk } from './open.js';
import { allZero } from './zero.js';

export function tempName(env: Env, target: string): string {
  const tag = [...env.host.randomUUID().subarray(0, 4)].map((b) => b.toString(16).padStart(2, '0')).join('');
  return `${target}.tmp-${tag}`;
}

export function replaceWith(env: Env, target: string, build: (tmp: string) => void): void {
  const tmp = tempName(env, target);
  try {
    build(tmp);
    env.host.rename(tmp, target);
  } catch (e) {
    env.host.remove(tmp);
    throw e;
  }
}

/** A new image at target, filled by fill() through an image opened without its parent chain. */
export function writeImage(env: Env, target: string, header: Header, fill: (img: DflyImage) => void): void {
  replaceWith(env, target, (tmp) => {
    DflyImage.writeEmpty(env, tmp, header);
    const img = openDisk(env, tmp, { writable: true, noParent: true }) as DflyImage;
    try {
      fill(img);
    } finally {
      img.close();
    }
  });
}

/** A raw file of d's size holding d's contents, zero chunks left as holes. */
export function writeRaw(env: Env, target: string, src: Disk, step: number): void {
  replaceWith(env, target, (tmp) => {
    const f = env.host.create(tmp);
    try {
      f.truncate(src.size);
      for (let pos = 0; pos < src.size; pos += step) {
        const buf = src.read(pos, Math.min(step, src.size - pos));
        if (!allZero(buf)) f.write(pos, buf);
      }
      f.sync();
    } finally {
      f.close();
    }
  });
}

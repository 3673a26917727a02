/**
 * Writes a planned disk as a dfly image (through emu/storage: compressed,
 * all-zero chunks stored as nothing) or a sparse raw file. Either is built
 * under a temporary name beside the target and renamed over it, so the target
 * is untouched unless the whole image was written and flushed.
 */
import type { Env } from '../../emu/storage/host.js';
import { replaceWith, writeImage } from '../../emu/storage/rewrite.js';
import { RawDisk } from '../../emu/storage/raw.js';
import type { DiskPlan } from './layout.js';

export function writeDisk(env: Env, target: string, format: 'dfly' | 'raw', plan: DiskPlan): void {
  if (format === 'dfly') {
    writeImage(env, target, { size: plan.size, uuid: plan.imageUuid }, (img) => {
      for (const e of plan.extents) img.write(e.at, e.bytes);
    });
    return;
  }
  replaceWith(env, target, (tmp) => {
    const f = env.host.create(tmp);
    try {
      f.truncate(plan.size);
    } catch (e) {
      f.close();
      throw e;
    }
    const disk = new RawDisk(f);
    try {
      for (const e of plan.extents) disk.write(e.at, e.bytes);
      disk.flush();
    } finally {
      disk.close();
    }
  });
}

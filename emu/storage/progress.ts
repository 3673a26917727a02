/**
 * How long operations (convert, commit, compact, check) say how far they are: bytes of
 * the virtual disk done, of total. Called often; whoever draws it decides how often to
 * redraw (emu/cli/progress.ts). Nothing here knows about terminals.
 */
import type { Disk } from './disk.js';

export type Progress = (done: number, total: number) => void;

/** d, reporting each read's end as progress: for operations that read a disk front to back. */
export function reportingReads(d: Disk, progress: Progress): Disk {
  return {
    get path() { return d.path; },
    get format() { return d.format; },
    get size() { return d.size; },
    get parent() { return d.parent; },
    read(pos, len) {
      const out = d.read(pos, len);
      progress(pos + len, d.size);
      return out;
    },
    write: (pos, data) => d.write(pos, data),
    flush: () => d.flush(),
    close: () => d.close(),
  };
}

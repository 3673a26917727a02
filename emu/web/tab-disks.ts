/**
 * The console's disks, on both sides: images opened read-only under a
 * ScratchOverlay, so neither the tab nor a remote machine ever writes back
 * to the files `emu serve` was given (a page's writes would have nowhere to
 * go, and two connections writing one image would corrupt it). Also the
 * rules for a snapshot's drives: only the disks the console serves, by the
 * name they were given on the command line, and only scratch ones.
 * Platform-free: the tab opens images from memory (MemoryHost), the server
 * from its files.
 */
import { ImageError, type BlockFile, type Codec, type Env, type Host } from '../storage/host.js';
import { openDisk } from '../storage/open.js';
import { ScratchOverlay } from '../storage/scratch.js';
import type { Disk } from '../storage/disk.js';
import type { DriveConfig, DriveInterface } from '../machine/drives.js';
import type { DiskTimingConfig } from '../machine/disk-timing.js';
import type { LoadEnv } from '../machine/snapshot.js';

/** A file the page fetched whole; the images are opened read-only, so nothing writes to it. */
class MemoryFile implements BlockFile {
  constructor(readonly path: string, private readonly bytes: Uint8Array) {}
  size(): number { return this.bytes.length; }
  read(pos: number, len: number): Uint8Array { return this.bytes.slice(pos, Math.min(this.bytes.length, pos + len)); }
  write(): void { throw new ImageError(this.path, 'the page holds its disk images read-only'); }
  sync(): void {}
  truncate(): void { throw new ImageError(this.path, 'the page holds its disk images read-only'); }
  close(): void {}
}

/**
 * The images the page fetched, by name: enough of a Host for openDisk to read
 * them. A dfly overlay's parent is found only if it was fetched too.
 */
export class MemoryHost implements Host {
  constructor(private readonly files: ReadonlyMap<string, Uint8Array>) {}
  open(path: string, mode: 'r' | 'rw'): BlockFile {
    const bytes = this.files.get(path);
    if (!bytes) throw new ImageError(path, 'not one of the disk images this page holds');
    if (mode === 'rw') throw new ImageError(path, 'the page holds its disk images read-only');
    return new MemoryFile(path, bytes);
  }
  create(path: string): BlockFile { throw new ImageError(path, 'the page cannot create files'); }
  exists(path: string): boolean { return this.files.has(path); }
  rename(from: string): void { throw new ImageError(from, 'the page cannot rename files'); }
  remove(path: string): void { throw new ImageError(path, 'the page cannot remove files'); }
  resolve(_fromFile: string, stored: string): string { return stored; }
  relative(_fromFile: string, target: string): string { return target; }
  randomUUID(): Uint8Array { throw new Error('the page creates no images'); }
}

export function memoryEnv(files: ReadonlyMap<string, Uint8Array>, codec: Codec): Env {
  return { host: new MemoryHost(files), codec };
}

/** One of the console's disks: the name given to `emu serve`, and how to open the image read-only. */
export interface DiskSource {
  name: string;
  open(): Disk;
}

export interface DriveSpec {
  interface: DriveInterface;
  serial: string;
  timing: DiskTimingConfig;
}

/** Fresh drives for a new machine: each image opened anew under its own empty overlay. */
export function scratchDrives(sources: DiskSource[], specs: DriveSpec[]): DriveConfig[] {
  const out: DriveConfig[] = [];
  try {
    sources.forEach((s, i) => out.push({ ...specs[i], disk: new ScratchOverlay(s.open()) }));
  } catch (e) {
    for (const d of out) d.disk.close();
    throw e;
  }
  return out;
}

/**
 * LoadEnv.openDisk for a snapshot uploaded to the console: its drives must be
 * disks the console serves (anything else of the host's is out of reach) and
 * must have been scratch drives, since these are never opened writable.
 */
export function snapshotDiskOpener(sources: DiskSource[]): LoadEnv['openDisk'] {
  return (d) => {
    const source = sources.find((s) => s.name === d.path);
    if (!source) {
      const have = sources.length ? `it has ${sources.map((s) => s.name).join(', ')}` : 'it has none';
      throw new Error(`the snapshot needs the disk ${d.path}, which this console does not serve (${have})`);
    }
    if (!d.scratch) throw new Error(`the snapshot wrote to ${d.path} itself (saved without -snapshot); the console opens disks only under a scratch overlay`);
    return source.open();
  };
}

/** The download's name, after the virtual time of the save as `emu boot`'s Ctrl-A s names its file. */
export function snapshotFileName(virtualNs: number): string {
  return `damselfly-${virtualNs}ns.snap`;
}

/**
 * What the server tells the page at /config.json: the machine `emu serve`
 * was given, with the kernel, modules and disk images as URLs to fetch. The
 * page builds the same machine from it that the server builds for remote mode.
 */
import type { RunnerConfig } from './runner.js';
import type { DriveConfig } from '../machine/drives.js';
import type { DiskTimingConfig } from '../machine/disk-timing.js';
import type { DriveSpec } from './tab-disks.js';
import { kernelFromDisk } from '../firmware/diskboot.js';

/**
 * The most disk image bytes the page fetches: the tab holds each file whole
 * in memory (plus the overlays' writes and the guest's RAM), and past a few
 * hundred MiB a tab runs out of memory or time to download. Beyond it the
 * page uses the machine in the server.
 */
export const TAB_DISK_LIMIT = 512 * 2 ** 20;

export interface PageDrive extends Omit<DriveSpec, 'timing'> {
  /** The file as given to `emu serve`: also what a snapshot calls it. */
  name: string;
  url: string;
  /** Bytes of the file (not the disk it holds: a dfly image is sparse and deflated). */
  fileBytes: number;
  timing: JsonTiming;
}

/** DiskTimingConfig with an unlimited rate (model=none) as the string "Infinity": JSON has no Infinity. */
export type JsonTiming = { [K in keyof DiskTimingConfig]: DiskTimingConfig[K] | 'Infinity' };

export interface PageConfig {
  cpus: number;
  ramBytes: number;
  /** Decimal: JSON has no bigint. */
  seed: string;
  append: string;
  noReboot: boolean;
  rtcBase?: number;
  jit: boolean;
  /** null: the kernel and its command line come from drive 0's boot partition, as `emu boot DISK` does. */
  kernel: { name: string; url: string } | null;
  modules: { name: string; cmdline: string; url: string }[];
  drives: PageDrive[];
  /** Why this machine cannot run in a tab (then the page uses the server's), or null. */
  remoteOnly: string | null;
}

export interface Images {
  kernel: Uint8Array | null;
  modules: Uint8Array[];
}

export function encodeTiming(t: DiskTimingConfig): JsonTiming {
  return Object.fromEntries(Object.entries(t).map(([k, v]) => [k, v === Infinity ? 'Infinity' : v])) as JsonTiming;
}

export function decodeTiming(t: JsonTiming): DiskTimingConfig {
  return Object.fromEntries(Object.entries(t).map(([k, v]) => [k, v === 'Infinity' ? Infinity : v])) as unknown as DiskTimingConfig;
}

/** Why the tab cannot hold these images, or null when it can. */
export function tabRefusal(drives: { name: string; fileBytes: number }[], limit = TAB_DISK_LIMIT): string | null {
  const total = drives.reduce((n, d) => n + d.fileBytes, 0);
  if (total <= limit) return null;
  const mib = (n: number): string => `${Math.ceil(n / 2 ** 20)} MiB`;
  return `the disk images are ${mib(total)}, more than the ${mib(limit)} a tab holds`;
}

/**
 * The machine from the configuration, the fetched images and the opened
 * drives. Without a kernel, the firmware's disk boot: drive 0's boot
 * partition gives the kernel and a command line, which -append follows.
 */
export function runnerConfig(c: PageConfig, images: Images, drives: DriveConfig[]): RunnerConfig {
  let kernel = c.kernel && images.kernel ? { name: c.kernel.name, bytes: images.kernel } : null;
  let append = c.append;
  if (!kernel) {
    if (drives.length === 0) throw new Error('no kernel and no disk to boot from');
    ({ kernel, append } = kernelFromDisk(drives[0].disk, c.append));
  }
  return {
    cpus: c.cpus,
    ramBytes: c.ramBytes,
    seed: BigInt(c.seed),
    kernel,
    append,
    modules: c.modules.map((m, k) => ({ name: m.name, cmdline: m.cmdline, bytes: images.modules[k] })),
    drives,
    noReboot: c.noReboot,
    rtcBase: c.rtcBase,
    jit: c.jit,
  };
}

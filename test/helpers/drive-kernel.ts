/**
 * A test kernel that drives a disk (test/fixtures/kernel/nvme.ts,
 * virtio-blk.ts) on a Session with one drive: booted to its exit, or saved
 * while a request is in flight and resumed from the snapshot.
 */
import { expect } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Session } from '../../emu/machine/session.js';
import type { DiskTimingConfig } from '../../emu/machine/disk-timing.js';
import type { DriveInterface } from '../../emu/machine/drives.js';
import type { Disk } from '../../emu/storage/disk.js';
import { nodeEnv } from '../../emu/storage/node.js';
import { openDisk } from '../../emu/storage/open.js';
import { ScratchOverlay } from '../../emu/storage/scratch.js';

export interface DriveKernel {
  /** The built ELF, once the file's beforeAll has built it. */
  elf: () => string;
  cpus: number;
  interface: DriveInterface;
  serial: string;
}

/** The kernel on a machine whose one drive is `disk`; guest_errors and unimp lines are added to `logs`. */
export function driveSession(k: DriveKernel, disk: Disk, timing: DiskTimingConfig, logs: string[] = []): Session {
  return new Session({
    kernel: { name: path.basename(k.elf()), bytes: fs.readFileSync(k.elf()) }, cpus: k.cpus, seed: 1n, noReboot: true,
    drives: [{ disk, interface: k.interface, serial: k.serial, timing }],
    log: (category, line) => { if (category === 'guest_errors' || category === 'unimp') logs.push(`${category}: ${line}`); },
  });
}

/** Boots the kernel on `disk` to its exit: its serial output, exit status, logs and the virtual time it ended at. */
export async function bootDrive<D extends Disk>(k: DriveKernel, disk: D, timing: DiskTimingConfig): Promise<{ out: string; status: number | null; disk: D; logs: string[]; end: number }> {
  const logs: string[] = [];
  const s = driveSession(k, disk, timing, logs);
  const stop = await s.runToExit({ virtualTimeout: 20e9 });
  return { out: s.serial.output, status: stop.kind === 'exit' ? stop.status : null, disk, logs, end: s.machine.clock.now };
}

export interface MidFlight {
  /** The raw file to write `contents` to; the drive is a scratch overlay over it, so the disk's writes travel in the snapshot. */
  image: string;
  contents: Uint8Array;
  timing: DiskTimingConfig;
  /** Save once the serial output has `after` and a clock event tagged `pendingTag`… is pending, stepping `step` ns at a time, before `limit`. */
  after: string;
  pendingTag: string;
  step: number;
  limit: number;
  /** The snapshot's file name, for its messages. */
  snapshot: string;
  transcript: string;
}

/**
 * Runs the kernel until a request is in flight, saves the machine and loads
 * the snapshot as a second one; both must run to the same exit at the same
 * virtual time, print `transcript` between them and leave the same disk.
 */
export async function expectResumesIdentically(k: DriveKernel, m: MidFlight): Promise<void> {
  fs.writeFileSync(m.image, m.contents);
  const a = driveSession(k, new ScratchOverlay(openDisk(nodeEnv, m.image, { writable: false })), m.timing);
  const inFlight = (): boolean => a.machine.clock.pending().some((e) => e.tag?.startsWith(m.pendingTag));
  for (let t = 0; !(a.serial.output.includes(m.after) && inFlight()); t += m.step) {
    expect(await a.runUntil(t)).toEqual({ kind: 'time' });
    expect(t).toBeLessThan(m.limit);
  }
  const before = a.serial.output;
  const snap = a.saveState(nodeEnv.codec);
  const b = Session.loadState(m.snapshot, snap, { codec: nodeEnv.codec, openDisk: (d) => openDisk(nodeEnv, d.path, { writable: !d.scratch }) });
  const [stopA, stopB] = [await a.runToExit({ virtualTimeout: 20e9 }), await b.runToExit({ virtualTimeout: 20e9 })];
  expect(stopB).toEqual(stopA);
  expect(a.serial.output).toBe(m.transcript);
  expect(before + b.serial.output).toBe(m.transcript);
  expect(b.machine.clock.now).toBe(a.machine.clock.now);
  const diskOf = (s: Session) => s.machine.config.drives![0].disk;
  expect(Buffer.compare(diskOf(b).read(0, m.contents.length), diskOf(a).read(0, m.contents.length))).toBe(0);
}

/** The kernels' write landed where it was aimed and nowhere else: blocks `first`… (`count` of them) hold bytes (i * 13 + 5) & 0xff, the rest is `original`. */
export function expectWrittenOnly(disk: Uint8Array, original: Uint8Array, first: number, count: number): void {
  const want = new Uint8Array(count * 512).map((_, i) => (i * 13 + 5) & 0xff);
  expect(disk.subarray(first * 512, (first + count) * 512)).toEqual(want);
  expect(Buffer.compare(disk.subarray(0, first * 512), original.subarray(0, first * 512))).toBe(0);
  expect(Buffer.compare(disk.subarray((first + count) * 512), original.subarray((first + count) * 512))).toBe(0);
}

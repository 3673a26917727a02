/**
 * `emu boot`'s machine snapshots on the Node side: `--save-state FILE`
 * (with `--save-state-at TIME`, or Ctrl-A s), `--load-state FILE`. The
 * format and what is saved are emu/machine/snapshot.ts's; here are the
 * files, the option checks and the one-line refusals.
 */
import * as fs from 'node:fs';
import * as zlib from 'node:zlib';
import { nodeEnv } from '../storage/node.js';
import type { Codec } from '../storage/host.js';
import { openDisk } from '../storage/open.js';
import { ImageError } from '../storage/host.js';
import { loadState, saveState, SnapshotError, type LoadEnv } from '../machine/snapshot.js';
import type { Machine } from '../machine/machine.js';

/**
 * Raw deflate at level 1: a snapshot is written while the user waits, and on
 * a guest's RAM level 1 deflates ~10× faster than zlib's default for files
 * ~1.5× larger (test/bench/ snapshot section); reading is the same either way.
 */
export const snapshotCodec: Codec = {
  deflate: (d) => zlib.deflateRawSync(d, { level: 1 }),
  inflate: nodeEnv.codec.inflate,
};

/** `2s`, `150ms`, `40us`, `1000000ns` or a bare number of nanoseconds: virtual time since power-on. */
export function parseVirtualTime(s: string): number {
  const m = /^(\d+(?:\.\d+)?)(ns|us|µs|ms|s)?$/.exec(s);
  if (!m) throw new Error(`--save-state-at: '${s}' is not a virtual time (e.g. 2s, 150ms, 40us, 1000ns)`);
  const scale = { ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: 1e9 }[(m[2] ?? 'ns') as 'ns'];
  return Math.round(Number(m[1]) * scale);
}

/** Options that describe the machine: with --load-state the snapshot does, and these would contradict it. */
const MACHINE_OPTIONS = ['kernel', 'append', 'initrd', 'm', 'smp', 'seed', 'no-reboot', 'rtc', 'drive', 'snapshot', 'replay'];

/** The first machine-describing option on the command line, as the user wrote it, or null. */
export function conflictingOption(argv: string[]): string | null {
  for (const a of argv) {
    const m = /^--?([a-z-]+)(=.*)?$/i.exec(a);
    if (m && MACHINE_OPTIONS.includes(m[1])) return a.replace(/=.*/, '');
  }
  return null;
}

/** A machine resumed from FILE: its kernel and drives are the ones the snapshot names. */
export function loadMachineFile(file: string, env: Omit<LoadEnv, 'codec' | 'openDisk'>): Machine {
  let bytes: Uint8Array;
  try {
    bytes = fs.readFileSync(file);
  } catch (e) {
    const code = (e as { code?: string }).code;
    throw new Error(`--load-state ${file}: ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : (e as Error).message}`);
  }
  try {
    return loadState(file, bytes, {
      ...env,
      codec: snapshotCodec,
      openDisk: (d) => openDisk(nodeEnv, d.path, { writable: !d.scratch }),
    });
  } catch (e) {
    if (e instanceof SnapshotError || e instanceof ImageError) throw new Error(e.message);
    throw new Error(`${file}: ${(e as Error).message}`);
  }
}

/** Saves the machine to FILE through a temporary file and a rename: a failed save leaves FILE as it was. */
export function saveMachineFile(file: string, machine: Machine): number {
  const bytes = saveState(machine, snapshotCodec);
  const tmp = `${file}.tmp-${process.pid}`;
  try {
    fs.writeFileSync(tmp, bytes);
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw new Error(`--save-state ${file}: ${(e as Error).message}`);
  }
  return bytes.length;
}

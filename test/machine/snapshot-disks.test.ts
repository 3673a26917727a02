/**
 * Disks in machine snapshots: a scratch overlay's chunks travel in the file;
 * an image is named by its identity (dfly: UUID and commit generation; raw:
 * size and the CRC-32 of its first MiB), and what if it changed since?
 */
import { beforeEach, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Machine } from '../../emu/machine/machine.js';
import { diskIdentity, loadState, readSnapshot, saveState, SnapshotError, type LoadEnv } from '../../emu/machine/snapshot.js';
import { NO_LATENCY, SSD_DEFAULTS, type DiskTimingConfig } from '../../emu/machine/disk-timing.js';
import { nodeEnv } from '../../emu/storage/node.js';
import { openDisk } from '../../emu/storage/open.js';
import { createImage } from '../../emu/storage/create.js';
import { ScratchOverlay } from '../../emu/storage/scratch.js';
import type { Disk } from '../../emu/storage/disk.js';
import { gunzipSync } from 'node:zlib';

const codec = nodeEnv.codec;
let dir = '';
beforeEach(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'emu-snapdisk-')); });

function machineWith(disk: Disk, timing: DiskTimingConfig = SSD_DEFAULTS): Machine {
  const m = new Machine({
    ramBytes: 32 << 20, cpus: 1, seed: 1n, noReboot: true,
    kernel: { name: 'hello.elf', bytes: fs.readFileSync('test/guest/bin/hello.elf') },
    drives: [{ disk, interface: 'nvme', serial: 'SNAP0001', timing }],
  });
  m.run(50_000);
  return m;
}

const env: LoadEnv = { codec, openDisk: (d) => openDisk(nodeEnv, d.path, { writable: !d.scratch }) };

function refusal(f: () => unknown): string {
  try { f(); } catch (e) { expect(e).toBeInstanceOf(SnapshotError); return (e as Error).message; }
  throw new Error('not refused');
}

describe('a scratch overlay (-snapshot) over a raw disk', () => {
  it('its chunks are in the snapshot and come back; the raw file is untouched', () => {
    const file = path.join(dir, 'disk.raw');
    fs.writeFileSync(file, Buffer.alloc(4 << 20, 0x5a));
    const overlay = new ScratchOverlay(openDisk(nodeEnv, file, { writable: false }));
    overlay.write(3 << 20, new Uint8Array(5000).fill(7));
    overlay.write(0, new Uint8Array(512));
    const snap = saveState(machineWith(overlay), codec);
    const { manifest } = readSnapshot('s.snap', snap);
    expect(manifest.drives).toEqual([expect.objectContaining({ path: file, interface: 'nvme', serial: 'SNAP0001', scratch: true, identity: diskIdentity(overlay.parent!) })]);
    const resumed = loadState('s.snap', snap, env);
    const disk = resumed.config.drives![0].disk;
    expect(disk).toBeInstanceOf(ScratchOverlay);
    expect([...(disk as ScratchOverlay).chunks.keys()].sort()).toEqual([...overlay.chunks.keys()].sort());
    expect(disk.read((3 << 20) - 10, 20)).toEqual(overlay.read((3 << 20) - 10, 20));
    expect(disk.read(0, 1024)).toEqual(overlay.read(0, 1024));
    expect(fs.readFileSync(file).every((b) => b === 0x5a)).toBe(true);
  });

  it('what if the raw file changed in its first MiB, or in size? refused, naming the drive', () => {
    const file = path.join(dir, 'disk.raw');
    fs.writeFileSync(file, Buffer.alloc(2 << 20));
    const snap = saveState(machineWith(new ScratchOverlay(openDisk(nodeEnv, file, { writable: false }))), codec);
    const fd = fs.openSync(file, 'r+');
    fs.writeSync(fd, Buffer.from([1]), 0, 1, 4096);
    fs.closeSync(fd);
    expect(refusal(() => loadState('s.snap', snap, env))).toMatch(/^s\.snap: drive 0 \(.*disk\.raw\) has changed since the snapshot: raw, 2097152 bytes, first MiB CRC-32 [0-9a-f]+, the snapshot has raw/);
    fs.writeFileSync(file, Buffer.alloc(3 << 20));
    expect(refusal(() => loadState('s.snap', snap, env))).toMatch(/has changed since the snapshot: raw, 3145728 bytes/);
  });
});

describe('a dfly image written directly', () => {
  it('is flushed by the save, and resumes while nothing else has written it', () => {
    const file = path.join(dir, 'disk.dfly');
    createImage(nodeEnv, file, { size: 8 << 20 });
    const disk = openDisk(nodeEnv, file, { writable: true });
    disk.write(65536, new Uint8Array(4096).fill(9));
    const m = machineWith(disk, NO_LATENCY);
    const snap = saveState(m, codec);
    const identity = readSnapshot('s.snap', snap).manifest.drives[0].identity;
    expect(identity).toMatchObject({ format: 'dfly', size: 8 << 20, generation: 1 });
    disk.close();
    const resumed = loadState('s.snap', snap, env);
    expect(resumed.config.drives![0].disk.read(65536, 4)).toEqual(Uint8Array.of(9, 9, 9, 9));
    // model=none has an unlimited rate, which JSON cannot hold as a number.
    expect(resumed.config.drives![0].timing).toEqual(NO_LATENCY);
    resumed.config.drives![0].disk.close();
  });

  it('what if the image was written and committed after the save? refused with both generations', () => {
    const file = path.join(dir, 'disk.dfly');
    createImage(nodeEnv, file, { size: 8 << 20 });
    const disk = openDisk(nodeEnv, file, { writable: true });
    const snap = saveState(machineWith(disk), codec);
    disk.write(0, new Uint8Array(512).fill(1));
    disk.flush();
    disk.close();
    expect(refusal(() => loadState('s.snap', snap, env))).toMatch(/drive 0 \(.*disk\.dfly\) has changed since the snapshot: dfly image [0-9a-f-]+ at commit 1, .* the snapshot has dfly image [0-9a-f-]+ at commit 0/);
  });

  it('what if the image is gone? the loader names the missing file', () => {
    const file = path.join(dir, 'gone.dfly');
    createImage(nodeEnv, file, { size: 1 << 20 });
    const disk = openDisk(nodeEnv, file, { writable: true });
    const snap = saveState(machineWith(disk), codec);
    disk.close();
    fs.rmSync(file);
    expect(() => loadState('s.snap', snap, env)).toThrow(/gone\.dfly/);
  });
});

describe('a scratch overlay over a qcow2 image (qcow2 is read-only)', () => {
  it('is named by format, size and first MiB, and resumes with its chunks', () => {
    const file = path.join(dir, 'disk.qcow2');
    fs.writeFileSync(file, gunzipSync(fs.readFileSync('test/fixtures/qcow2/v3-4k-mixed.qcow2.gz')));
    const overlay = new ScratchOverlay(openDisk(nodeEnv, file, { writable: false }));
    overlay.write(4096, new Uint8Array(100).fill(9));
    const snap = saveState(machineWith(overlay), codec);
    expect(readSnapshot('s.snap', snap).manifest.drives[0].identity).toMatchObject({ format: 'qcow2', size: overlay.size });
    const disk = loadState('s.snap', snap, env).config.drives![0].disk;
    expect(disk.read(0, 8192)).toEqual(overlay.read(0, 8192));
  });
});

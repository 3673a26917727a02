/**
 * The console's disks and snapshots without a browser (the platform-free
 * code the page and the server share): a mkdisk image held in memory boots
 * from its boot partition under a scratch overlay that never writes the
 * image; a machine saved by the runner resumes in another one with its
 * overlay; and what a snapshot or an image may and may not be.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ROOT } from '../helpers/emu.js';
import { nodeEnv } from '../../emu/storage/node.js';
import { pakoCodec } from '../../emu/storage/pako-codec.js';
import { openDisk } from '../../emu/storage/open.js';
import { ScratchOverlay } from '../../emu/storage/scratch.js';
import { HDD_DEFAULTS, NO_LATENCY } from '../../emu/machine/disk-timing.js';
import type { ManifestDrive } from '../../emu/machine/snapshot.js';
import { MachineRunner } from '../../emu/web/runner.js';
import { decodeTiming, encodeTiming, runnerConfig, tabRefusal, TAB_DISK_LIMIT, type PageConfig } from '../../emu/web/page-config.js';
import { memoryEnv, scratchDrives, snapshotDiskOpener, snapshotFileName, type DiskSource } from '../../emu/web/tab-disks.js';
import { parseRecipe } from '../../tools/mkdisk/recipe.js';
import { planDisk } from '../../tools/mkdisk/layout.js';
import { writeDisk } from '../../tools/mkdisk/write.js';

const NAME = 'disks/hello.img';
let image: Uint8Array;

beforeAll(() => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tab-disks-'));
  try {
    const recipe = path.join(dir, 'disk.json');
    const text = JSON.stringify({ partitions: [{ type: 'boot', kernel: path.join(ROOT, 'test/guest/bin/hello.elf'), cmdline: 'from-the-disk' }] });
    fs.writeFileSync(recipe, text);
    writeDisk(nodeEnv, path.join(dir, 'disk.img'), 'dfly', planDisk(parseRecipe(recipe, text), Buffer.from(text)));
    image = fs.readFileSync(path.join(dir, 'disk.img'));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

const page: PageConfig = {
  cpus: 1, ramBytes: 256 << 20, seed: '5', append: 'extra=1', noReboot: true, jit: true, kernel: null, modules: [],
  drives: [], remoteOnly: null,
};
const spec = { interface: 'virtio' as const, serial: 'DFLY0000', timing: HDD_DEFAULTS };

function sources(): DiskSource[] {
  const env = memoryEnv(new Map([[NAME, image]]), pakoCodec);
  return [{ name: NAME, open: () => openDisk(env, NAME) }];
}

/** Runs until the guest stops; a fake clock makes each call one slice, so runs repeat exactly. */
function runToEnd(r: MachineRunner, slices = Infinity): string {
  let out = '';
  let t = 0;
  for (let k = 0; k < slices && r.wantsToRun; k++) {
    r.run(1, () => (t += 1));
    out += new TextDecoder().decode(r.takeOutput());
  }
  return out;
}

describe('disks in the tab', () => {
  it('boots a mkdisk image held in memory from its boot partition, -append after its command line', () => {
    const r = new MachineRunner(runnerConfig(page, { kernel: null, modules: [] }, scratchDrives(sources(), [spec])));
    const out = runToEnd(r);
    expect(out).toMatch(/hello: damselfly guest test kernel/);
    expect(out).toMatch(/from-the-disk extra=1/);
    expect(r.current).toEqual({ kind: 'stopped', reason: 'the guest exited with status 1' });
  });

  it('puts every write in the overlay: the fetched image is never changed', () => {
    const before = Uint8Array.from(image);
    const [drive] = scratchDrives(sources(), [spec]);
    expect(drive.disk).toBeInstanceOf(ScratchOverlay);
    drive.disk.write(0, new Uint8Array(4096).fill(0xaa));
    expect(drive.disk.read(0, 4)).toEqual(new Uint8Array(4).fill(0xaa));
    expect(Buffer.from(image).equals(before)).toBe(true);
    const env = memoryEnv(new Map([[NAME, image]]), pakoCodec);
    expect(() => openDisk(env, NAME, { writable: true })).toThrow(`${NAME}: the page holds its disk images read-only`);
    expect(() => openDisk(env, 'other.img')).toThrow('other.img: not one of the disk images this page holds');
  });

  it('refuses to boot with neither a kernel nor a disk', () => {
    expect(() => runnerConfig(page, { kernel: null, modules: [] }, [])).toThrow('no kernel and no disk to boot from');
  });

  it('sends an unlimited transfer rate through JSON', () => {
    expect(decodeTiming(JSON.parse(JSON.stringify(encodeTiming(NO_LATENCY))))).toEqual(NO_LATENCY);
    expect(decodeTiming(JSON.parse(JSON.stringify(encodeTiming(HDD_DEFAULTS))))).toEqual(HDD_DEFAULTS);
  });

  it('leaves images past the limit to the server', () => {
    expect(tabRefusal([{ name: 'a', fileBytes: TAB_DISK_LIMIT }])).toBeNull();
    expect(tabRefusal([{ name: 'a', fileBytes: TAB_DISK_LIMIT / 2 }, { name: 'b', fileBytes: TAB_DISK_LIMIT / 2 + 1 }]))
      .toBe('the disk images are 513 MiB, more than the 512 MiB a tab holds');
  });
});

describe('snapshots in the console', () => {
  /** The echo kernel (it never stops, and answers keys) with the disk attached. */
  const echo = (): MachineRunner => new MachineRunner(runnerConfig(
    { ...page, kernel: { name: 'echo.elf', url: '' } },
    { kernel: fs.readFileSync(path.join(ROOT, 'test/guest/bin/echo.elf')), modules: [] },
    scratchDrives(sources(), [spec]),
  ));

  it('resumes a saved machine in another runner, its overlay and queued input included, and runs on exactly as the original', () => {
    const a = echo();
    expect(runToEnd(a, 3)).toMatch(/echo: damselfly console echo/);
    a.pause();
    a.input(new TextEncoder().encode('queued'));
    a.machine.config.drives![0].disk.write(1 << 20, new TextEncoder().encode('overlay sentinel'));
    const bytes = a.save(pakoCodec);
    expect(snapshotFileName(a.machine.clock.now)).toMatch(/^damselfly-[1-9]\d*ns\.snap$/);
    const savedAt = a.machine.clock.now;
    a.resume();
    const rest = runToEnd(a, 20);
    expect(rest).toBe('QUEUED');

    const b = echo();
    runToEnd(b, 1);
    b.load('a.snap', bytes, { codec: pakoCodec, openDisk: snapshotDiskOpener(sources()) });
    expect(b.machine.clock.now).toBe(savedAt);
    expect(new TextDecoder().decode(b.machine.config.drives![0].disk.read(1 << 20, 16))).toBe('overlay sentinel');
    expect(runToEnd(b, 20)).toBe(rest);
    expect(b.machine.clock.now).toBe(a.machine.clock.now);
  });

  it('refuses a damaged file, or one naming other disks, and the machine runs on', () => {
    const a = echo();
    runToEnd(a, 3);
    const bytes = a.save(pakoCodec);
    const damaged = Uint8Array.from(bytes);
    damaged[damaged.length >> 1] ^= 0x40;
    const machine = a.machine;
    expect(() => a.load('bad.snap', damaged, { codec: pakoCodec, openDisk: snapshotDiskOpener(sources()) })).toThrow(/^bad\.snap: corrupt section \w+ \(CRC mismatch\)$/);
    expect(() => a.load('a.snap', bytes, { codec: pakoCodec, openDisk: snapshotDiskOpener([]) }))
      .toThrow(`the snapshot needs the disk ${NAME}, which this console does not serve (it has none)`);
    expect(a.machine).toBe(machine);
    a.input(new TextEncoder().encode('on'));
    expect(runToEnd(a, 20)).toBe('ON');
  });

  it('refuses a drive that was not a scratch drive: the console never opens an image writable', () => {
    const open = snapshotDiskOpener(sources());
    const drive = { path: NAME, interface: 'virtio', serial: 'S', timing: HDD_DEFAULTS, identity: { format: 'raw', size: 0 } } as const;
    expect(() => open({ ...drive, scratch: false } as ManifestDrive)).toThrow(`the snapshot wrote to ${NAME} itself (saved without -snapshot)`);
    expect(open({ ...drive, scratch: true } as ManifestDrive).format).toBe('dfly');
  });
});


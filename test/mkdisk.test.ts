/**
 * mkdisk end to end, as a user runs it (bin/mkdisk.mjs, built by `pretest`):
 * recipe → image → `emu img info` and the GPT read back; the same inputs give
 * the same bytes; bad recipes get one line naming the file and leave the
 * output alone; and `emu boot disk.img` boots the kernel in the boot
 * partition with its command line (test/guest's hello prints it).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ROOT, runEmu } from './helpers/emu.js';
import { openDisk } from '../emu/storage/open.js';
import { nodeEnv } from '../emu/storage/node.js';
import { DflyImage } from '../emu/storage/image.js';
import { readGpt, SECTOR } from '../emu/firmware/gpt.js';
import { BOOT_PARTITION_TYPE } from '../emu/firmware/bootpart.js';
import { DATA_PARTITION_TYPE, SWAP_PARTITION_TYPE } from '../tools/mkdisk/recipe.js';
import { ustarArchive } from '../tools/mkdisk/ustar.js';
import { treeEntries } from '../tools/mkdisk/tree.js';
import { makeSampleTree } from './mkdisk/sample-tree.js';

const HELLO = path.join(ROOT, 'test/guest/bin/hello.elf');
const CHUNK = 65536;

function mkdisk(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'bin/mkdisk.mjs'), ...args], { cwd: dir, env: {}, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d; });
    child.stderr.on('data', (d: Buffer) => { stderr += d; });
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

let dir = '';
const RECIPE = {
  size: '64M',
  partitions: [
    { name: 'boot', type: 'boot', kernel: 'hello.elf', cmdline: 'hello-arg=1 x=y' },
    { name: 'root', type: 'data', from: 'tree', size: '32M' },
    { name: 'swap', type: 'swap', size: '16M' },
  ],
};
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mkdisk-'));
  fs.copyFileSync(HELLO, path.join(dir, 'hello.elf'));
  makeSampleTree(path.join(dir, 'tree'));
  fs.writeFileSync(path.join(dir, 'disk.json'), JSON.stringify(RECIPE));
});
afterAll(() => { fs.rmSync(dir, { recursive: true, force: true }); });

const stable = (t: string) => t.split('\n').filter((l) => !l.startsWith('~ '));

describe('mkdisk', () => {
  it('writes a dfly image with a GPT, the kernel, the archived tree and an unallocated swap partition', async () => {
    const r = await mkdisk(['disk.json', '-o', 'disk.img']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout.split('\n')[0]).toBe('disk.img: dfly image, 64 MiB, GPT with 3 partition(s)');
    expect(r.stdout).toContain('  1 boot: LBA 2048..4095 (1 MiB), type 946BB628-F2AB-4512-88D2-237D8E4F4B3B: kernel hello.elf (20396 bytes), command line "hello-arg=1 x=y"');
    expect(r.stdout).toContain('  3 swap: LBA 69632..102399 (16 MiB), type 9D58FDBD-1CA5-11DC-8817-01301BB8A9F5: empty');

    const info = await runEmu(['img', 'info', path.join(dir, 'disk.img')]);
    expect(info.status).toBe(0);
    expect(info.stdout.toString()).toContain('file format: dfly\nvirtual size: 64 MiB (67108864 bytes)\n');
    // Chunks 0 (pMBR, primary GPT), 16 (the boot partition at 1 MiB), 32 (the archive at 2 MiB), 1023 (backup GPT).
    expect(info.stdout.toString()).toContain('allocated chunks: 4 of 1024 (and 0 zero chunks)');
    const check = await runEmu(['img', 'check', path.join(dir, 'disk.img')]);
    expect(check.status).toBe(0);

    const disk = openDisk(nodeEnv, path.join(dir, 'disk.img')) as DflyImage;
    try {
      const gpt = readGpt(disk);
      expect(gpt.damage).toBeNull();
      expect(gpt.partitions.map((p) => [p.name, p.type, p.firstLba, p.lastLba])).toEqual([
        ['boot', BOOT_PARTITION_TYPE, 2048, 4095],
        ['root', DATA_PARTITION_TYPE, 4096, 69631],
        ['swap', SWAP_PARTITION_TYPE, 69632, 102399],
      ]);
      const tar = ustarArchive(treeEntries(path.join(dir, 'tree')));
      expect(Buffer.from(disk.read(4096 * SECTOR, tar.length)).equals(Buffer.from(tar))).toBe(true);
      expect(disk.read(4096 * SECTOR + tar.length, CHUNK).every((b) => b === 0)).toBe(true);
      for (let k = (69632 * SECTOR) / CHUNK; k <= (102399 * SECTOR) / CHUNK; k++) expect(disk.entry(k)).toBeUndefined();
    } finally {
      disk.close();
    }
  });

  it('gives the same bytes for the same recipe and inputs, and the same disk as raw', async () => {
    await mkdisk(['disk.json', '-o', 'a.img']);
    await mkdisk(['disk.json', '-o', 'b.img']);
    expect(fs.readFileSync(path.join(dir, 'a.img')).equals(fs.readFileSync(path.join(dir, 'b.img')))).toBe(true);
    const raw = await mkdisk(['disk.json', '-o', 'disk.raw', '--format', 'raw']);
    expect(raw.status).toBe(0);
    expect(raw.stdout.split('\n')[0]).toBe('disk.raw: raw image, 64 MiB, GPT with 3 partition(s)');
    const conv = await runEmu(['img', 'convert', '-O', 'raw', path.join(dir, 'a.img'), path.join(dir, 'a.raw')]);
    expect(conv.status).toBe(0);
    expect(fs.readFileSync(path.join(dir, 'disk.raw')).equals(fs.readFileSync(path.join(dir, 'a.raw')))).toBe(true);
    // A raw file reads as Node Buffers: the GPT must read the same through them.
    const rawDisk = openDisk(nodeEnv, path.join(dir, 'disk.raw'));
    try {
      const gpt = readGpt(rawDisk);
      expect([gpt.source, gpt.damage, gpt.partitions.length]).toEqual(['primary', null, 3]);
    } finally {
      rawDisk.close();
    }
  });

  it('sizes a disk from its partitions when the recipe gives no sizes', async () => {
    fs.writeFileSync(path.join(dir, 'small.json'), JSON.stringify({ partitions: [{ type: 'boot', kernel: 'hello.elf' }, { type: 'data', from: 'tree' }] }));
    const r = await mkdisk(['small.json', '-o', 'small.img']);
    expect(r.status).toBe(0);
    // 1 MiB before the first partition, two of 1 MiB, 1 MiB for the backup GPT.
    expect(r.stdout.split('\n')[0]).toBe('small.img: dfly image, 4 MiB, GPT with 2 partition(s)');
  });

  it('replaces an existing output whole', async () => {
    fs.writeFileSync(path.join(dir, 'old.img'), 'old contents');
    expect((await mkdisk(['disk.json', '-o', 'old.img'])).status).toBe(0);
    expect(fs.readFileSync(path.join(dir, 'old.img')).equals(fs.readFileSync(path.join(dir, 'a.img')))).toBe(true);
    expect(fs.readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });

  const bad: [string, unknown, RegExp][] = [
    ['not JSON', '{ "partitions": [', /^bad\.json: not JSON \(/],
    ['an unknown key', { partitions: [{ type: 'swap', sise: '1M' }] }, /^bad\.json: partitions\[0\]\.sise: unknown key here \(known: name, type, size\)$/],
    ['a missing kernel', { partitions: [{ type: 'boot', kernel: 'nope.elf' }] }, /^bad\.json: partitions\[0\]\.kernel: .*nope\.elf: no such file or directory$/],
    ['a boot partition without a kernel', { partitions: [{ type: 'boot' }] }, /^bad\.json: partitions\[0\]\.kernel: missing/],
    ['contents larger than the partition', { partitions: [{ type: 'boot', kernel: 'hello.elf', size: '16K' }] }, /^bad\.json: partitions\[0\] 'boot': its contents take 24492 bytes, more than its size 16384$/],
    ['a disk too small', { size: '2M', partitions: [{ type: 'swap', size: '1M' }] }, /^bad\.json: size: 2097152 bytes is too small for the partitions and the backup GPT \(2114048 bytes needed\)$/],
    ['a size that is not a multiple of 512', { partitions: [{ type: 'swap', size: 1000 }] }, /^bad\.json: partitions\[0\]\.size: 1000 is not a multiple of 512 bytes$/],
    ['a size that is not a size', { partitions: [{ type: 'swap', size: '1 MB' }] }, /^bad\.json: partitions\[0\]\.size: "1 MB" is not a size/],
    ['two boot partitions', { partitions: [{ type: 'boot', kernel: 'hello.elf' }, { name: 'b2', type: 'boot', kernel: 'hello.elf' }] }, /^bad\.json: more than one boot partition$/],
    ['an empty partition without a size', { partitions: [{ type: 'data' }] }, /^bad\.json: partitions\[0\]: an empty partition needs a size$/],
    ['a tree that is a file', { partitions: [{ type: 'data', from: 'hello.elf' }] }, /^bad\.json: partitions\[0\]\.from: .*hello\.elf is not a directory$/],
    ['an unknown type', { partitions: [{ type: 'ext4', size: '1M' }] }, /^bad\.json: partitions\[0\]\.type: "ext4" is not boot, data, swap or a GUID$/],
    ['a name used twice', { partitions: [{ type: 'swap', size: '1M' }, { type: 'swap', size: '1M' }] }, /^bad\.json: partitions\[1\]\.name: 'swap' is used twice$/],
    ['a name too long for the GPT', { partitions: [{ name: 'n'.repeat(37), type: 'swap', size: '1M' }] }, /^bad\.json: partitions\[0\]\.name: not a string of 1\.\.36 characters$/],
    ['no partitions', { size: '1M' }, /^bad\.json: partitions: missing/],
    ['more partitions than a GPT holds', { partitions: Array.from({ length: 129 }, (_, i) => ({ name: `p${i}`, type: 'swap', size: '1M' })) }, /^bad\.json: partitions: 129 of them \(a GPT here holds 128\)$/],
    ['a bad format', { format: 'qcow2', partitions: [{ type: 'swap', size: '1M' }] }, /^bad\.json: format: "qcow2" is not "dfly" or "raw"$/],
  ];
  for (const [what, recipe, message] of bad) {
    it(`refuses a recipe with ${what}: one line, status 2, the output untouched`, async () => {
      fs.writeFileSync(path.join(dir, 'bad.json'), typeof recipe === 'string' ? recipe : JSON.stringify(recipe));
      fs.writeFileSync(path.join(dir, 'keep.img'), 'keep');
      const r = await mkdisk(['bad.json', '-o', 'keep.img']);
      expect(r.status).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr.endsWith('\n') && r.stderr.split('\n').length === 2).toBe(true);
      expect(r.stderr.slice('mkdisk: '.length, -1)).toMatch(message);
      expect(fs.readFileSync(path.join(dir, 'keep.img'), 'utf8')).toBe('keep');
      expect(fs.readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]);
    });
  }

  it('refuses bad command lines and a missing recipe in one line', async () => {
    for (const [args, message] of [
      [['nope.json', '-o', 'x.img'], 'mkdisk: nope.json: no such file\n'],
      [['disk.json'], 'mkdisk: missing -o OUT\n'],
      [['disk.json', '-o', 'x.img', '--format', 'qcow2'], "mkdisk: --format: 'qcow2' is not dfly or raw\n"],
      [['disk.json', '-o', 'no/such/dir/x.img'], 'mkdisk: no/such/dir/x.img: no such file\n'],
      [['disk.json', '-o', 'tree'], 'mkdisk: tree: is a directory\n'],
    ] as [string[], string][]) {
      const r = await mkdisk(args);
      expect([r.status, r.stderr]).toEqual([2, message]);
    }
    expect(fs.existsSync(path.join(dir, 'x.img'))).toBe(false);
  });
});

describe('emu boot DISK', () => {
  it('boots the kernel in the boot partition with its command line, no -kernel', async () => {
    const r = await runEmu(['boot', path.join(dir, 'disk.img'), '-no-reboot']);
    expect(r.stderr).toBe('');
    expect(stable(r.stdout.toString())).toEqual(stable(fs.readFileSync(path.join(ROOT, 'test/guest/expected/hello.txt'), 'utf8')));
    expect(r.stdout.toString()).toContain('~ cmdline: hello.elf hello-arg=1 x=y\n');
    expect(r.status).toBe(1);
  });

  it('puts -append after the disk\'s command line', async () => {
    const r = await runEmu(['boot', path.join(dir, 'disk.img'), '-append', 'extra=2']);
    expect(r.stdout.toString()).toContain('cmdline args: hello-arg=1 x=y extra=2\n');
    expect(r.status).toBe(1);
  });

  it('boots -kernel instead when given one, with only -append, the disk still attached', async () => {
    const r = await runEmu(['boot', '-kernel', 'test/guest/bin/hello.elf', '-append', 'only=this', path.join(dir, 'disk.img')]);
    expect(r.stdout.toString()).toContain('cmdline args: only=this\n');
    expect(r.status).toBe(1);
  });

  it('leaves the image as it was with -snapshot', async () => {
    const before = fs.readFileSync(path.join(dir, 'disk.img'));
    const r = await runEmu(['boot', '-snapshot', path.join(dir, 'disk.img')]);
    expect(r.status).toBe(1);
    expect(fs.readFileSync(path.join(dir, 'disk.img')).equals(before)).toBe(true);
  });

  it('boots from the backup GPT when the primary header is damaged, and says so on stderr', async () => {
    expect((await mkdisk(['disk.json', '-o', 'damaged.raw', '-f', 'raw'])).status).toBe(0);
    const file = path.join(dir, 'damaged.raw');
    const fd = fs.openSync(file, 'r+');
    fs.writeSync(fd, Buffer.from('XFI PART'), 0, 8, SECTOR);
    fs.closeSync(fd);
    const r = await runEmu(['boot', '-snapshot', file]);
    expect(r.stderr).toBe(`emu: ${file}: primary GPT header: no "EFI PART" signature at LBA 1; using the backup GPT\n`);
    expect(r.stdout.toString()).toContain('cmdline args: hello-arg=1 x=y\n');
    expect(r.status).toBe(1);
  });

  it('refuses a disk without a GPT, or without a boot partition, in one line', async () => {
    const blank = path.join(dir, 'blank.img');
    expect((await runEmu(['img', 'create', blank, '8M'])).status).toBe(0);
    const r = await runEmu(['boot', blank]);
    expect([r.status, r.stderr]).toEqual([2, `emu: ${blank}: no GPT (LBA 0 holds no protective MBR: no 0x55AA signature with a 0xEE partition record)\n`]);
    fs.writeFileSync(path.join(dir, 'data.json'), JSON.stringify({ partitions: [{ type: 'data', size: '1M' }] }));
    expect((await mkdisk(['data.json', '-o', 'data.img'])).status).toBe(0);
    const d = await runEmu(['boot', path.join(dir, 'data.img')]);
    expect([d.status, d.stderr]).toEqual([2, `emu: ${path.join(dir, 'data.img')}: no boot partition (type ${BOOT_PARTITION_TYPE}) in its GPT of 1 partition(s)\n`]);
  });

  it('takes one DISK at most', async () => {
    const r = await runEmu(['boot', 'a.img', 'b.img']);
    expect([r.status, r.stderr]).toEqual([2, "emu: boot: unexpected argument 'b.img' (one DISK at most; more disks go in -drive)\n"]);
  });
});

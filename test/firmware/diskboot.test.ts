/**
 * The disk boot: the kernel and command line come out of the boot partition
 * exactly as mkdisk put them in, damaged or missing pieces are refused in one
 * line naming the disk, and a disk made by mkdisk boots test/guest's hello
 * kernel through the library with its recorded command line.
 */
import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { encodeGpt, SECTOR, type PartitionSpec } from '../../emu/firmware/gpt.js';
import { BOOT_HEADER_SIZE, BOOT_PARTITION_TYPE, encodeBootPartition } from '../../emu/firmware/bootpart.js';
import { bootFromDisk } from '../../emu/firmware/diskboot.js';
import { openDisk } from '../../emu/storage/open.js';
import { nodeEnv } from '../../emu/storage/node.js';
import { Session } from '../../emu/machine/session.js';
import { HDD_DEFAULTS } from '../../emu/machine/disk-timing.js';
import { parseRecipe } from '../../tools/mkdisk/recipe.js';
import { planDisk } from '../../tools/mkdisk/layout.js';
import { writeDisk } from '../../tools/mkdisk/write.js';
import { diskWith, type MemDisk } from '../helpers/mem-disk.js';
import { ROOT } from '../helpers/emu.js';

const SECTORS = 16384;
const GUID = '11111111-2222-3333-4444-555555555555';
const BOOT_LBA = 2048;
const kernel = Uint8Array.from({ length: 70_001 }, (_, i) => (i * 31 + 7) & 0xff);

function bootDisk(contents: Uint8Array, opts: { type?: string; lastLba?: number } = {}): MemDisk {
  const parts: PartitionSpec[] = [
    { type: '0488F94D-0D27-405E-ADCB-61BB4F8A605F', guid: 'AAAAAAAA-BBBB-4CCC-8DDD-EEEEEEEEEEE0', firstLba: 8192, lastLba: 9215, attributes: 0n, name: 'data' },
    { type: opts.type ?? BOOT_PARTITION_TYPE, guid: 'AAAAAAAA-BBBB-4CCC-8DDD-EEEEEEEEEEE1', firstLba: BOOT_LBA, lastLba: opts.lastLba ?? 4095, attributes: 0n, name: 'boot' },
  ];
  return diskWith(SECTORS * SECTOR, [...encodeGpt(SECTORS, GUID, parts), { at: BOOT_LBA * SECTOR, bytes: contents }]);
}

describe('bootFromDisk', () => {
  it('returns the kernel, its recorded name and command line, from the first boot partition (here entry 2)', () => {
    const b = bootFromDisk(bootDisk(encodeBootPartition({ name: 'kernel.elf', cmdline: 'selftest=all console=ttyS0', kernel })));
    expect(b.kernel.name).toBe('kernel.elf');
    expect(Buffer.from(b.kernel.bytes).equals(Buffer.from(kernel))).toBe(true);
    expect(b.append).toBe('selftest=all console=ttyS0');
    expect(b.partition.index).toBe(1);
    expect(b.notes).toEqual([]);
  });

  it('boots from the backup GPT when the primary is damaged, and says so', () => {
    const d = bootDisk(encodeBootPartition({ name: 'k', cmdline: '', kernel }));
    d.bytes[SECTOR + 24] ^= 1;
    const b = bootFromDisk(d);
    expect(b.kernel.bytes.length).toBe(kernel.length);
    expect(b.notes).toEqual(['mem.img: primary GPT header: header CRC-32 mismatch at LBA 1; using the backup GPT']);
  });

  it('refuses a disk without a boot partition', () => {
    const d = bootDisk(encodeBootPartition({ name: 'k', cmdline: '', kernel }), { type: '0FC63DAF-8483-4772-8E79-3D69D8477DE4' });
    expect(() => bootFromDisk(d)).toThrow(`mem.img: no boot partition (type ${BOOT_PARTITION_TYPE}) in its GPT of 2 partition(s)`);
  });

  it('refuses a disk without a GPT', () => {
    expect(() => bootFromDisk(diskWith(SECTORS * SECTOR, []))).toThrow(/^mem\.img: no GPT/);
  });

  it('refuses a boot partition without the magic, or with a damaged header', () => {
    expect(() => bootFromDisk(bootDisk(new Uint8Array(16)))).toThrow('mem.img: boot partition 2: no "DFLYBOOT" magic at the start of the boot partition');
    const img = encodeBootPartition({ name: 'k', cmdline: 'a=b', kernel });
    img[70] ^= 1;
    expect(() => bootFromDisk(bootDisk(img))).toThrow('mem.img: boot partition 2: boot header CRC-32 mismatch');
  });

  it('refuses a damaged kernel (its CRC-32)', () => {
    const img = encodeBootPartition({ name: 'k', cmdline: '', kernel });
    img[BOOT_HEADER_SIZE + 5000] ^= 0x10;
    expect(() => bootFromDisk(bootDisk(img))).toThrow('mem.img: boot partition 2: kernel CRC-32 mismatch (the image is damaged)');
  });

  it('refuses a kernel longer than its partition', () => {
    const img = encodeBootPartition({ name: 'k', cmdline: '', kernel });
    // 64 sectors = 32 KiB: the header fits, the 70 KB kernel does not.
    expect(() => bootFromDisk(bootDisk(img.subarray(0, 32768), { lastLba: BOOT_LBA + 63 }))).toThrow('mem.img: boot partition 2: the kernel (70001 bytes at offset 4096) does not fit the partition\'s 32768 bytes');
  });

  it('refuses a header of another version', () => {
    const img = encodeBootPartition({ name: 'k', cmdline: '', kernel });
    img[8] = 2;
    // Keep the header CRC right, so that the version is what is refused.
    new DataView(img.buffer).setUint32(4092, zlib.crc32(img.subarray(0, 4092)), true);
    expect(() => bootFromDisk(bootDisk(img))).toThrow('mem.img: boot partition 2: boot header version 2 (this firmware reads version 1)');
  });
});

describe('a disk made by mkdisk, through the library', () => {
  it('boots test/guest/bin/hello.elf with the command line in its boot partition, the disk attached', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'diskboot-'));
    try {
      const recipeFile = path.join(dir, 'disk.json');
      const text = JSON.stringify({ partitions: [{ type: 'boot', kernel: path.join(ROOT, 'test/guest/bin/hello.elf'), cmdline: 'hello-arg=1 x=y' }] });
      fs.writeFileSync(recipeFile, text);
      const out = path.join(dir, 'disk.img');
      writeDisk(nodeEnv, out, 'dfly', planDisk(parseRecipe(recipeFile, text), Buffer.from(text)));
      const disk = openDisk(nodeEnv, out);
      try {
        const boot = bootFromDisk(disk);
        const s = new Session({
          kernel: boot.kernel, append: boot.append, noReboot: true,
          drives: [{ disk, interface: 'virtio', serial: 'DFLY0000', timing: HDD_DEFAULTS }],
        });
        const stop = await s.runToExit({ virtualTimeout: 20e9 });
        expect(stop).toEqual({ kind: 'exit', status: 1 });
        const stable = (t: string) => t.split('\n').filter((l) => !l.startsWith('~ '));
        expect(stable(s.serial.output)).toEqual(stable(fs.readFileSync(path.join(ROOT, 'test/guest/expected/hello.txt'), 'utf8')));
        expect(s.serial.output).toContain('~ cmdline: hello.elf hello-arg=1 x=y\n');
      } finally {
        disk.close();
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

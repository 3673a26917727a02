/**
 * virtio-blk driven by a guest driver: test/fixtures/kernel/virtio-blk.ts (an
 * AssemblyScript test kernel) booted with one virtio drive over an in-memory
 * disk — the modern interface with MSI-X, then the legacy one with INTx#. The
 * transcript is the one QEMU 7.2's virtio-blk-pci prints for the same kernel
 * and disk (`node tools/check-qemu.mjs kernel.virtio-blk` compares the two);
 * here it is pinned, and the disk is checked afterwards.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { HDD_DEFAULTS, NO_LATENCY, type DiskTimingConfig } from '../emu/machine/disk-timing.js';
import { buildElf } from '../tools/wasm2x64/ts2elf.js';
import { bootDrive, expectResumesIdentically, expectWrittenOnly, type DriveKernel } from './helpers/drive-kernel.js';
import { ROOT } from './helpers/emu.js';
import { patternDisk, type MemDisk } from './helpers/mem-disk.js';

const SECTORS = 2048;
const SERIAL = 'VIRTIO-SN-0042';

/** Sector s holds bytes (s * 7 + i) & 0xff, as tools/check-qemu.mjs prepares the disk for QEMU. */
const testDisk = (): MemDisk => patternDisk(SECTORS, 'virtio-test.img');

const TRANSCRIPT = `\
virtio-blk: 00:03.0 1af4:1001 subsystem 1af4:0002 class 010000 revision 0, interrupt pin 1 line 11
bars: 0 i/o 128 bytes 1 32-bit memory 4096 bytes 4 64-bit prefetchable memory 16384 bytes
capabilities: 0x98 msi-x 0x84 pci-cfg 0x70 notify 0x60 device-cfg 0x50 isr 0x40 common-cfg
structures: common +0x0000, isr +0x1000, device +0x2000, notify +0x3000 multiplier 4, all in bar 4
msi-x: 2 vectors, table bar 1 +0x000, pba bar 1 +0x800
reset: status 0x00
features offered: version_1 yes, indirect_desc yes, event_idx yes, flush yes, blk_size yes, seg_max yes, any_layout NO
features ok: status 0x0b
config: capacity 2048 sectors, blk_size 512, seg_max 254, num_queues 1
queue 0: max 256 entries, using 16, notify offset 0, enabled 0
vectors: config 0x0000, queue 0x0001, vector 2 reads back 0xffff
driver ok: status 0x0f
read sector 0: status 0, used len 513, data yes, interrupt yes vector 0x50
read 8-23 (indirect table, 2 buffers): head 5, status 0, used len 8193, data yes
write 100-103: status 0, used len 1; read back: status 0, equal yes
flush: status 0, used len 1
get id: status 0, used len 21, serial "${SERIAL}", NUL after it yes
request type 0x55: status 2
read past the end: status 1
event idx: avail_event 9 = avail idx yes; used_event ahead: no interrupt yes, then interrupt yes
pci cfg access: queue_size 16 equal yes
reset: status 0x00, queue enabled 0, queue size 256
legacy: features flush yes, any_layout yes, accepted 0x00000240; config at 0x14: capacity 2048
legacy queue 0: 256 entries, page number read back yes, status 0x07
legacy read sector 1: status 0, data yes, intx on line 11 yes, isr 0x01 then 0x00
legacy reset: status 0x00
done
`;

let dir = '';
const elf = (): string => path.join(dir, 'virtio-blk.elf');
beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kernel-virtio-'));
  await buildElf(path.join(ROOT, 'test/fixtures/kernel/virtio-blk.ts'), elf(), { target: 'kernel' });
}, 120_000);
afterAll(() => { fs.rmSync(dir, { recursive: true, force: true }); });

const VIRTIO: DriveKernel = { elf, cpus: 1, interface: 'virtio', serial: SERIAL };
const boot = (timing: DiskTimingConfig) => bootDrive(VIRTIO, testDisk(), timing);

describe('test/fixtures/kernel/virtio-blk.ts on a virtio drive', () => {
  it('negotiates, sets up a queue with MSI-X, reads (also through an indirect table), writes, flushes, gets the serial; then the legacy interface with INTx#', async () => {
    const { out, status, disk, logs } = await boot(HDD_DEFAULTS);
    expect(out).toBe(TRANSCRIPT);
    expect(status).toBe(1);
    // The write landed where it was aimed and nowhere else; each of the three FLUSH requests (one, and two in the event idx check) reached the disk.
    expectWrittenOnly(disk.bytes, testDisk().bytes, 100, 4);
    expect(disk.flushes).toBe(3);
    // Only the deliberate mistakes are reported.
    expect(logs).toEqual([
      'unimp: virtio-blk 00:03.0: request type 85 is not supported; answered UNSUPP (further ones not logged)',
      'guest_errors: virtio-blk 00:03.0: read of 1024 bytes at sector 2047 (capacity 2048); IOERR',
    ]);
  }, 120_000);

  it('prints the same on a disk without latency, which finishes sooner in virtual time: the HDD\'s seeks and rotations are waited for', async () => {
    const hdd = await boot(HDD_DEFAULTS);
    const instant = await boot(NO_LATENCY);
    expect(instant.out).toBe(TRANSCRIPT);
    // A dozen requests, each several milliseconds on the HDD model.
    expect(hdd.end - instant.end).toBeGreaterThan(12 * HDD_DEFAULTS.settle);
  }, 120_000);

  it('what if the machine is saved while a request is in flight? the resumed machine finishes identically', async () => {
    // Saved once the write (after the indirect read) is on the clock.
    await expectResumesIdentically(VIRTIO, {
      image: path.join(dir, 'disk.raw'), contents: testDisk().bytes, timing: HDD_DEFAULTS,
      after: 'read 8-23', pendingTag: 'virtio-blk@3:', step: 20000, limit: 2e9, snapshot: 'virtio.snap', transcript: TRANSCRIPT,
    });
  }, 120_000);
});

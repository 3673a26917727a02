/**
 * The NVMe controller driven by a guest driver: test/fixtures/kernel/nvme.ts
 * (an AssemblyScript test kernel) booted on a 2-CPU machine with one NVMe
 * drive over an in-memory disk: INTA# through the IOAPIC under INTMS/INTMC,
 * then a queue pair per CPU, each CQ interrupting its own CPU through MSI-X. The transcript is the one QEMU's `nvme` prints for
 * the same kernel and disk (`node tools/check-qemu.mjs kernel.nvme` compares
 * the two); here it is pinned, and the disk is checked afterwards.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { HDD_DEFAULTS, SSD_DEFAULTS, type DiskTimingConfig } from '../emu/machine/disk-timing.js';
import { buildElf } from '../tools/wasm2x64/ts2elf.js';
import { bootDrive, expectResumesIdentically, expectWrittenOnly, type DriveKernel } from './helpers/drive-kernel.js';
import { ROOT } from './helpers/emu.js';
import { patternDisk, type MemDisk } from './helpers/mem-disk.js';

const BLOCKS = 2048;

/** Block b holds bytes (b * 7 + i) & 0xff, as tools/check-qemu.mjs prepares the disk for QEMU. */
const testDisk = (): MemDisk => patternDisk(BLOCKS, 'nvme-test.img');

const TRANSCRIPT = `\
nvme: 00:03.0 1b36:0010 class 010802, interrupt pin 1
bar0: 64-bit yes
msi-x: 65 vectors, table bar 0 +0x2000, pba bar 0 +0x3000
cap: mqes 2047, contiguous queues yes, dstrd 0, nvm command set yes, pages 4096-65536; version 1.4.0
reset: ready cleared yes
enable: ready yes, fatal status clear
identify controller: status 0x0, vid 1b36, serial "NVME-SERIAL-7", version 0x10400, sqes 0x66, cqes 0x44
active namespaces: status 0x0, first 1, then 0
namespace 1: status 0x0, 2048 blocks of 512 bytes
number of queues (2 asked): status 0x0, at least 2 given yes
intx: irq 11, masked by intms: interrupts 0; unmasked by intmc: interrupts 1; after the entry is consumed: 1
create cq 0: status 0x101
create cq of 2049 entries: status 0x102
create sq on missing cq 5: status 0x100
admin opcode 0x7f: status 0x1
create cq 1 (4 entries, vector 1): status 0x0
create sq 1 (4 entries): status 0x0
read 0-7 (prp1): status 0x0, sq head 1, data yes, interrupt yes
read 8-19 (prp1 at +0x400, prp2): status 0x0, data yes
read 100-140 (prp list): status 0x0, data yes
write 300-315: status 0x0; read back: status 0x0, equal yes
flush: status 0x0, sq head 2, cq wrapped to phase 0
read past the end: status 0x80
i/o opcode 0x03: status 0x1
create cq 2 (vector 2, the other cpu): status 0x0; sq 2: status 0x0
cpu 1: read 500-507 on queue pair 2: status 0x0, data yes, interrupt here yes, vector 0x51
delete cq 1 while sq 1 uses it: status 0x10c
delete sq 1: status 0x0
delete cq 1: status 0x0
delete sq 2: status 0x0; cq 2: status 0x0
shutdown: complete yes
`;

let dir = '';
const elf = (): string => path.join(dir, 'nvme.elf');
beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kernel-nvme-'));
  await buildElf(path.join(ROOT, 'test/fixtures/kernel/nvme.ts'), elf(), { target: 'kernel' });
}, 120_000);
afterAll(() => { fs.rmSync(dir, { recursive: true, force: true }); });

const NVME: DriveKernel = { elf, cpus: 2, interface: 'nvme', serial: 'NVME-SERIAL-7' };
const boot = (timing: DiskTimingConfig) => bootDrive(NVME, testDisk(), timing);

describe('test/fixtures/kernel/nvme.ts on an NVMe drive', () => {
  it('finds, enables and identifies the controller, does I/O through PRP1, PRP2 and a PRP list with MSI-X, a queue pair per CPU, and shuts it down', async () => {
    const { out, status, disk, logs } = await boot(SSD_DEFAULTS);
    expect(out).toBe(TRANSCRIPT);
    expect(status).toBe(1);
    // The write landed where it was aimed and nowhere else; Flush and the shutdown flushed.
    expectWrittenOnly(disk.bytes, testDisk().bytes, 300, 16);
    expect(disk.flushes).toBe(2);
    // Only the two deliberately unknown opcodes are reported.
    expect(logs).toEqual([
      'unimp: nvme: admin opcode 0x7f not implemented; Invalid Command Opcode',
      'unimp: nvme: I/O opcode 0x3 not implemented; Invalid Command Opcode',
    ]);
  }, 120_000);

  it('what if the machine is saved while NVMe commands are in flight? the resumed machine finishes identically', async () => {
    // Saved once an I/O command (past "create sq 1") is on the clock.
    await expectResumesIdentically(NVME, {
      image: path.join(dir, 'disk.raw'), contents: testDisk().bytes, timing: SSD_DEFAULTS,
      after: 'create sq 1', pendingTag: 'nvme@3:', step: 2000, limit: 1e9, snapshot: 'nvme.snap', transcript: TRANSCRIPT,
    });
  }, 120_000);

  it('prints the same on a drive a hundred times slower, which only takes longer in virtual time', async () => {
    const fast = await boot(SSD_DEFAULTS);
    const slow = await boot({ ...HDD_DEFAULTS, rate: 5e6 });
    expect(slow.out).toBe(TRANSCRIPT);
    expect(slow.end).toBeGreaterThan(fast.end + 10e6);
  }, 120_000);
});

/**
 * Booting from a disk: what a boot loader in ROM would do before the
 * multiboot loader runs. Reads the disk's GPT (gpt.ts), takes the first
 * partition of the damselfly boot type (bootpart.ts), and returns the kernel
 * and its command line for MachineConfig — the machine itself only ever sees
 * kernel bytes. Every refusal is one line naming the disk.
 */
import type { Disk } from '../storage/disk.js';
import { ScratchOverlay } from '../storage/scratch.js';
import { GptError, readGpt, SECTOR, type GptPartition } from './gpt.js';
import { BOOT_HEADER_SIZE, BOOT_PARTITION_TYPE, decodeBootHeader } from './bootpart.js';
import { crc32 } from '../storage/crc32.js';

export interface DiskBoot {
  /** For MachineConfig.kernel: the name is the one recorded in the boot partition. */
  kernel: { name: string; bytes: Uint8Array };
  /** The command line recorded with the kernel, for MachineConfig.append. */
  append: string;
  partition: GptPartition;
  /** Damage that did not stop the boot (a bad backup GPT header), for a firmware log line. */
  notes: string[];
}

export class DiskBootError extends GptError {}

export function bootFromDisk(disk: Disk): DiskBoot {
  const gpt = readGpt(disk);
  const p = gpt.partitions.find((x) => x.type === BOOT_PARTITION_TYPE);
  if (!p) throw new DiskBootError(disk.path, `no boot partition (type ${BOOT_PARTITION_TYPE}) in its GPT of ${gpt.partitions.length} partition(s)`);
  const where = `boot partition ${p.index + 1}`;
  const start = p.firstLba * SECTOR, size = (p.lastLba - p.firstLba + 1) * SECTOR;
  if (size < BOOT_HEADER_SIZE) throw new DiskBootError(disk.path, `${where} is ${size} bytes, smaller than its header`);
  let h;
  try {
    h = decodeBootHeader(disk.read(start, BOOT_HEADER_SIZE));
  } catch (e) {
    throw new DiskBootError(disk.path, `${where}: ${(e as Error).message}`);
  }
  if (!(h.kernelOffset >= BOOT_HEADER_SIZE && h.kernelLength > 0 && h.kernelOffset + h.kernelLength <= size)) {
    throw new DiskBootError(disk.path, `${where}: the kernel (${h.kernelLength} bytes at offset ${h.kernelOffset}) does not fit the partition's ${size} bytes`);
  }
  const bytes = disk.read(start + h.kernelOffset, h.kernelLength);
  if (crc32(bytes) !== h.kernelCrc) throw new DiskBootError(disk.path, `${where}: kernel CRC-32 mismatch (the image is damaged)`);
  const notes = gpt.damage ? [`${disk.path}: ${gpt.damage}; using the ${gpt.source} GPT`] : [];
  return { kernel: { name: h.name, bytes }, append: h.cmdline, partition: p, notes };
}

/**
 * What a machine with no -kernel boots from its first drive: the boot
 * partition's kernel, and its command line with `append` after it (a kernel
 * that reads key=value takes the last, so -append overrides what the disk
 * recorded). A -snapshot overlay holds nothing yet: the image below is read,
 * and names the disk in messages.
 */
export function kernelFromDisk(disk: Disk, append: string): { kernel: DiskBoot['kernel']; append: string; notes: string[] } {
  const b = bootFromDisk(disk instanceof ScratchOverlay ? disk.parent : disk);
  return { kernel: b.kernel, append: [b.append, append].filter((s) => s !== '').join(' '), notes: b.notes };
}

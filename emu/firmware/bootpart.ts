/**
 * The damselfly boot partition: one header block, then the kernel image as it
 * would be passed to `-kernel`. mkdisk writes it; the disk boot reads it. Our
 * own layout, as small as a boot loader's config: no filesystem to parse.
 *
 *   offset  size  field (integers little-endian)
 *        0     8  magic "DFLYBOOT"
 *        8     4  version = 1
 *       12     4  reserved, 0
 *       16     8  kernel offset from the partition's start (4096)
 *       24     8  kernel length in bytes
 *       32     4  CRC-32 of the kernel bytes
 *       36     2  length of the kernel's name (UTF-8)
 *       38     2  length of the command line (UTF-8)
 *       40    24  reserved, 0
 *       64     …  the name, then the command line, no terminators
 *     4092     4  CRC-32 of bytes 0..4091
 *     4096     …  the kernel image
 *
 * The name is the first word of the multiboot command line ("FILE ARGS"), as
 * the kernel's file name is when QEMU or GRUB loads it.
 */
import { crc32 } from '../storage/crc32.js';

/** The partition type GUID that marks it: ours, made for damselfly. */
export const BOOT_PARTITION_TYPE = '946BB628-F2AB-4512-88D2-237D8E4F4B3B';
export const BOOT_MAGIC = 'DFLYBOOT';
export const BOOT_VERSION = 1;
export const BOOT_HEADER_SIZE = 4096;
const STRINGS = 64;
const HEADER_CRC = BOOT_HEADER_SIZE - 4;
/** Room for the name and the command line together. */
export const BOOT_STRINGS_MAX = HEADER_CRC - STRINGS;
const enum F { Magic = 0, Version = 8, KernelOffset = 16, KernelLength = 24, KernelCrc = 32, NameLength = 36, CmdlineLength = 38 }

export interface BootImage { name: string; cmdline: string; kernel: Uint8Array }

/** Partition-relative bytes: the header block followed by the kernel. */
export function encodeBootPartition(b: BootImage): Uint8Array {
  const name = utf8(b.name), cmdline = utf8(b.cmdline);
  if (name.length + cmdline.length > BOOT_STRINGS_MAX) throw new Error(`kernel name and command line take ${name.length + cmdline.length} bytes (at most ${BOOT_STRINGS_MAX})`);
  if (b.cmdline.includes('\0') || b.name.includes('\0')) throw new Error('a NUL byte in the kernel name or command line');
  const out = new Uint8Array(BOOT_HEADER_SIZE + b.kernel.length);
  const v = new DataView(out.buffer);
  out.set(Uint8Array.from(BOOT_MAGIC, (c) => c.charCodeAt(0)), F.Magic);
  v.setUint32(F.Version, BOOT_VERSION, true);
  v.setBigUint64(F.KernelOffset, BigInt(BOOT_HEADER_SIZE), true);
  v.setBigUint64(F.KernelLength, BigInt(b.kernel.length), true);
  v.setUint32(F.KernelCrc, crc32(b.kernel), true);
  v.setUint16(F.NameLength, name.length, true);
  v.setUint16(F.CmdlineLength, cmdline.length, true);
  out.set(name, STRINGS);
  out.set(cmdline, STRINGS + name.length);
  v.setUint32(HEADER_CRC, crc32(out.subarray(0, HEADER_CRC)), true);
  out.set(b.kernel, BOOT_HEADER_SIZE);
  return out;
}

export interface BootHeader { name: string; cmdline: string; kernelOffset: number; kernelLength: number; kernelCrc: number }

/** Decodes the header block; throws an Error saying what is wrong with it. */
export function decodeBootHeader(h: Uint8Array): BootHeader {
  const v = new DataView(h.buffer, h.byteOffset, h.byteLength);
  if (String.fromCharCode(...h.subarray(0, 8)) !== BOOT_MAGIC) throw new Error(`no "${BOOT_MAGIC}" magic at the start of the boot partition`);
  if (v.getUint32(HEADER_CRC, true) !== crc32(h.subarray(0, HEADER_CRC))) throw new Error('boot header CRC-32 mismatch');
  const version = v.getUint32(F.Version, true);
  if (version !== BOOT_VERSION) throw new Error(`boot header version ${version} (this firmware reads version ${BOOT_VERSION})`);
  const nameLength = v.getUint16(F.NameLength, true), cmdlineLength = v.getUint16(F.CmdlineLength, true);
  if (nameLength + cmdlineLength > BOOT_STRINGS_MAX) throw new Error(`boot header strings of ${nameLength + cmdlineLength} bytes (at most ${BOOT_STRINGS_MAX})`);
  const text = new TextDecoder();
  return {
    name: text.decode(h.subarray(STRINGS, STRINGS + nameLength)),
    cmdline: text.decode(h.subarray(STRINGS + nameLength, STRINGS + nameLength + cmdlineLength)),
    kernelOffset: Number(v.getBigUint64(F.KernelOffset, true)),
    kernelLength: Number(v.getBigUint64(F.KernelLength, true)),
    kernelCrc: v.getUint32(F.KernelCrc, true),
  };
}

const utf8 = (s: string) => new TextEncoder().encode(s);

/**
 * The data structures Identify and Get Log Page return (NVMe 1.4 §5.15,
 * §5.14.1), each a 4 KiB or 512-byte page built fresh for the command.
 *
 * Identify Controller (CNS 01h, Figure 247), the fields set here:
 *
 *   0 VID   2 SSVID   4 SN[20]   24 MN[40]   64 FR[8]   72 RAB   77 MDTS   78 CNTLID
 *   80 VER   111 CNTRLTYPE   258 ACL   259 AERL   260 FRMW   261 LPA   262 ELPE
 *   266 WCTEMP   268 CCTEMP   512 SQES   513 CQES   516 NN   525 VWC
 *   768 SUBNQN[256]   2048 PSD0 (power state 0: MP in centiwatts)
 *
 * Identify Namespace (CNS 00h, Figure 249):
 *
 *   0 NSZE   8 NCAP   16 NUSE   25 NLBAF   26 FLBAS   128 LBAF0 (LBADS 23:16)
 *
 * Namespace Identification Descriptor (CNS 03h, Figure 251): 0 NIDT, 1 NIDL, 4 NID.
 */
import { crc32 } from '../storage/crc32.js';

export const IDENTIFY_BYTES = 4096;
export const BLOCK = 512;
const LBADS = 9;

/** What the controller says about itself; the PCI IDs repeat in Identify. */
export interface ControllerIdentity {
  vendor: number;
  subsystemVendor: number;
  serial: string;
  model: string;
  firmware: string;
  /** log2 of the largest transfer in units of the minimum page size (MDTS). */
  mdts: number;
  /** 0's based: outstanding Abort and Asynchronous Event Request commands. */
  acl: number;
  aerl: number;
}

/** NVMe 1.4. */
export const VERSION = 0x00010400;

export function identifyController(id: ControllerIdentity): Uint8Array {
  const d = new Uint8Array(IDENTIFY_BYTES);
  const v = new DataView(d.buffer);
  v.setUint16(0, id.vendor, true);
  v.setUint16(2, id.subsystemVendor, true);
  ascii(d, 4, 20, id.serial);
  ascii(d, 24, 40, id.model);
  ascii(d, 64, 8, id.firmware);
  d[72] = 0; // recommended arbitration burst: one command at a time
  d[77] = id.mdts;
  v.setUint32(80, VERSION, true);
  d[111] = 1; // an I/O controller
  d[258] = id.acl;
  d[259] = id.aerl;
  d[260] = 0x03; // one firmware slot, read-only
  d[261] = 0x04; // Get Log Page takes NUMDU and an offset
  d[262] = 0; // one Error Information entry
  v.setUint16(266, 0x0157, true); // warning composite temperature: 343 K
  v.setUint16(268, 0x0175, true); // critical: 373 K
  d[512] = (6 << 4) | 6; // SQ entries 64 bytes, no more, no less
  d[513] = (4 << 4) | 4; // CQ entries 16 bytes
  v.setUint32(516, 1, true);
  d[525] = 0x07; // a volatile write cache; Flush takes NSID FFFFFFFFh
  ascii(d, 768, 256, `nqn.2026-01.org.damselfly:nvme:${id.serial}`, 0);
  v.setUint16(2048, 2500, true); // power state 0: 25 W
  return d;
}

export function identifyNamespace(blocks: number): Uint8Array {
  const d = new Uint8Array(IDENTIFY_BYTES);
  const v = new DataView(d.buffer);
  for (const off of [0, 8, 16]) v.setBigUint64(off, BigInt(blocks), true);
  d[25] = 0; // one LBA format
  d[26] = 0; // formatted with LBA format 0
  d[128 + 2] = LBADS; // 512-byte blocks, no metadata
  return d;
}

/** CNS 02h: active NSIDs above `after`, ascending, zero-terminated (this controller has NSID 1 only). */
export function activeNamespaces(after: number): Uint8Array {
  const d = new Uint8Array(IDENTIFY_BYTES);
  if (after < 1) new DataView(d.buffer).setUint32(0, 1, true);
  return d;
}

/**
 * CNS 03h: one descriptor, the namespace's UUID (NIDT 3). It is made from the
 * drive's serial number, so it stays the same from boot to boot (RFC 9562
 * version 8: its bits are the implementation's choice).
 */
export function namespaceDescriptors(serial: string): Uint8Array {
  const d = new Uint8Array(IDENTIFY_BYTES);
  const v = new DataView(d.buffer);
  d[0] = 3;
  d[1] = 16;
  const name = new TextEncoder().encode(`damselfly nvme namespace 1 of ${serial}`);
  for (let i = 0; i < 4; i++) v.setUint32(4 + 4 * i, crc32(name, i * 0x9e3779b9));
  d[4 + 6] = (d[4 + 6] & 0x0f) | 0x80;
  d[4 + 8] = (d[4 + 8] & 0x3f) | 0x80;
  return d;
}

/** Counters the SMART / Health Information log reports (§5.14.1.2). */
export interface Health {
  blocksRead: number;
  blocksWritten: number;
  readCommands: number;
  writeCommands: number;
}

export function smartLog(h: Health): Uint8Array {
  const d = new Uint8Array(512);
  const v = new DataView(d.buffer);
  v.setUint16(1, 0x0143, true); // composite temperature 323 K
  d[3] = 100; // available spare
  d[4] = 10; // available spare threshold
  // Data units are thousands of 512-byte units, rounded up.
  v.setBigUint64(32, BigInt(Math.ceil(h.blocksRead / 1000)), true);
  v.setBigUint64(48, BigInt(Math.ceil(h.blocksWritten / 1000)), true);
  v.setBigUint64(64, BigInt(h.readCommands), true);
  v.setBigUint64(80, BigInt(h.writeCommands), true);
  v.setBigUint64(112, 1n, true); // power cycles
  return d;
}

/** §5.14.1.3: slot 1 active, holding `firmware`. */
export function firmwareSlotLog(firmware: string): Uint8Array {
  const d = new Uint8Array(512);
  d[0] = 1;
  ascii(d, 8, 8, firmware);
  return d;
}

/** ASCII fields are left-justified and padded with spaces (§1.5); NQNs are NUL-padded. */
function ascii(d: Uint8Array, off: number, len: number, s: string, pad = 0x20): void {
  for (let i = 0; i < len; i++) d[off + i] = i < s.length ? s.charCodeAt(i) & 0x7f : pad;
}

/**
 * The GUID Partition Table (UEFI 2.10 §5.3) on 512-byte sectors: encoding one
 * (mkdisk) and reading one the way firmware must (the disk boot).
 *
 *   LBA 0            protective MBR (§5.2.3): one 0xEE record covering the disk
 *   LBA 1            primary GPT header
 *   LBA 2..33        primary partition entry array (128 entries of 128 bytes)
 *   LBA 34..last-33  usable: the partitions
 *   LBA last-32..-1  backup partition entry array
 *   LBA last         backup GPT header
 *
 * A header is valid (§5.3.2) when its signature, its CRC-32, its MyLBA and the
 * CRC-32 of the entry array it points to all check. When the primary is not
 * valid the backup, at the last LBA, is used instead; a damaged backup beside a
 * valid primary is noted (firmware would rewrite it; we only read).
 */
import { crc32 } from '../storage/crc32.js';
import type { Disk } from '../storage/disk.js';

export const SECTOR = 512;
/** What every writer uses, and the smallest array the spec allows (16 KiB, §5.3.2). */
export const ENTRY_COUNT = 128;
export const ENTRY_SIZE = 128;
const ARRAY_SECTORS = (ENTRY_COUNT * ENTRY_SIZE) / SECTOR;
/** The first LBA a partition may use: after the pMBR, the primary header and its array. */
export const FIRST_USABLE = 2 + ARRAY_SECTORS;
/** Sectors the tables take at the end of the disk: the backup array and header. */
export const TAIL_SECTORS = ARRAY_SECTORS + 1;

/*
 * GPT header (§5.3.2, Table 5-5), in its own sector, the rest of which is zero:
 *
 *   0  8 Signature "EFI PART"        40  8 FirstUsableLBA
 *   8  4 Revision 0x00010000         48  8 LastUsableLBA
 *  12  4 HeaderSize (92)             56 16 DiskGUID
 *  16  4 HeaderCRC32 (over HeaderSize 72  8 PartitionEntryLBA
 *        bytes, this field zero)     80  4 NumberOfPartitionEntries
 *  20  4 Reserved, 0                 84  4 SizeOfPartitionEntry (128 × 2^n)
 *  24  8 MyLBA                       88  4 PartitionEntryArrayCRC32
 *  32  8 AlternateLBA
 */
const SIGNATURE = 'EFI PART';
const REVISION = 0x00010000;
const HEADER_SIZE = 92;
const enum H { Signature = 0, Revision = 8, HeaderSize = 12, HeaderCrc = 16, MyLba = 24, AlternateLba = 32, FirstUsable = 40, LastUsable = 48, DiskGuid = 56, EntryLba = 72, EntryCount = 80, EntrySize = 84, ArrayCrc = 88 }

/*
 * Partition entry (§5.3.3, Table 5-6); an all-zero type GUID is an unused entry:
 *
 *   0 16 PartitionTypeGUID     40  8 EndingLBA (inclusive)
 *  16 16 UniquePartitionGUID   48  8 Attributes
 *  32  8 StartingLBA           56 72 PartitionName, UTF-16LE, NUL-padded
 */
const enum E { TypeGuid = 0, UniqueGuid = 16, FirstLba = 32, LastLba = 40, Attributes = 48, Name = 56 }
export const NAME_UNITS = 36;

/** MBR layout (§5.2.1, Table 5-1) and the protective record (§5.2.3, Table 5-4). */
const MBR_RECORDS = 446;
const MBR_SIGNATURE = 510;
const PROTECTIVE_TYPE = 0xee;

export class GptError extends Error {
  constructor(readonly file: string, readonly what: string) {
    super(`${file}: ${what}`);
  }
}

export interface GptPartition {
  /** Its entry's index in the array, from 0. */
  index: number;
  type: string;
  guid: string;
  firstLba: number;
  lastLba: number;
  attributes: bigint;
  name: string;
}

export interface Gpt {
  diskGuid: string;
  firstUsable: number;
  lastUsable: number;
  /** Used entries, in array order. */
  partitions: GptPartition[];
  /** Which header the table came from. */
  source: 'primary' | 'backup';
  /** What was wrong with the other copy, if anything. */
  damage: string | null;
}

export type PartitionSpec = Omit<GptPartition, 'index'>;

/** A GUID as text ("C12A7328-F81F-11D2-BA4B-00A0C93EC93B") ↔ its 16 bytes: the first three fields little-endian (§Appendix A). */
export function guidBytes(text: string): Uint8Array {
  const m = /^([0-9a-f]{8})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{12})$/i.exec(text);
  if (!m) throw new Error(`'${text}' is not a GUID (XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX)`);
  const hex = (s: string) => s.match(/../g)!.map((b) => parseInt(b, 16));
  return Uint8Array.from([...hex(m[1]).reverse(), ...hex(m[2]).reverse(), ...hex(m[3]).reverse(), ...hex(m[4]), ...hex(m[5])]);
}

export function guidText(b: Uint8Array): string {
  const hex = (bytes: number[]) => bytes.map((x) => x.toString(16).padStart(2, '0')).join('').toUpperCase();
  const a = [...b.subarray(0, 16)];
  return `${hex(a.slice(0, 4).reverse())}-${hex(a.slice(4, 6).reverse())}-${hex(a.slice(6, 8).reverse())}-${hex(a.slice(8, 10))}-${hex(a.slice(10, 16))}`;
}

export const UNUSED_GUID = '00000000-0000-0000-0000-000000000000';

/** The extents a GPT occupies on a disk of `sectors` sectors: the pMBR, both arrays, both headers. */
export function encodeGpt(sectors: number, diskGuid: string, partitions: PartitionSpec[]): { at: number; bytes: Uint8Array }[] {
  if (partitions.length > ENTRY_COUNT) throw new Error(`${partitions.length} partitions (a GPT here holds ${ENTRY_COUNT})`);
  const last = sectors - 1;
  const lastUsable = last - TAIL_SECTORS;
  if (lastUsable < FIRST_USABLE) throw new Error(`a disk of ${sectors} sectors has no room for a GPT`);
  for (const p of partitions) {
    if (!(p.firstLba >= FIRST_USABLE && p.firstLba <= p.lastLba && p.lastLba <= lastUsable)) {
      throw new Error(`partition '${p.name}' (LBA ${p.firstLba}..${p.lastLba}) is outside the usable LBAs ${FIRST_USABLE}..${lastUsable}`);
    }
  }
  const array = new Uint8Array(ENTRY_COUNT * ENTRY_SIZE);
  partitions.forEach((p, i) => array.set(encodeEntry(p), i * ENTRY_SIZE));
  const arrayCrc = crc32(array);
  const header = (my: number, alternate: number, entries: number) =>
    encodeHeader({ my, alternate, firstUsable: FIRST_USABLE, lastUsable, diskGuid, entryLba: entries, arrayCrc });
  return [
    { at: 0, bytes: protectiveMbr(sectors) },
    { at: SECTOR, bytes: header(1, last, 2) },
    { at: 2 * SECTOR, bytes: array },
    { at: (lastUsable + 1) * SECTOR, bytes: array },
    { at: last * SECTOR, bytes: header(last, 1, lastUsable + 1) },
  ];
}

function protectiveMbr(sectors: number): Uint8Array {
  const mbr = new Uint8Array(SECTOR);
  const v = view(mbr);
  const r = MBR_RECORDS;
  mbr.set([0x00, ...chs(1), PROTECTIVE_TYPE, ...chs(Math.min(sectors - 1, 0xffffffff))], r);
  v.setUint32(r + 8, 1, true);
  v.setUint32(r + 12, Math.min(sectors - 1, 0xffffffff), true);
  v.setUint16(MBR_SIGNATURE, 0xaa55, true);
  return mbr;
}

/**
 * An MBR CHS address (head; sector | cylinder bits 9..8 << 6; cylinder bits
 * 7..0) in the 255-head, 63-sector geometry of LBA-assist BIOSes; 0xFFFFFF
 * past cylinder 1023, as §5.2.3 asks when the LBA cannot be represented.
 */
function chs(lba: number): number[] {
  const cylinder = Math.floor(lba / (255 * 63));
  if (cylinder > 1023) return [0xff, 0xff, 0xff];
  const head = Math.floor(lba / 63) % 255, sector = (lba % 63) + 1;
  return [head, sector | ((cylinder >> 8) << 6), cylinder & 0xff];
}

interface HeaderFields { my: number; alternate: number; firstUsable: number; lastUsable: number; diskGuid: string; entryLba: number; arrayCrc: number }

function encodeHeader(h: HeaderFields): Uint8Array {
  const b = new Uint8Array(SECTOR);
  const v = view(b);
  b.set(ascii(SIGNATURE), H.Signature);
  v.setUint32(H.Revision, REVISION, true);
  v.setUint32(H.HeaderSize, HEADER_SIZE, true);
  v.setBigUint64(H.MyLba, BigInt(h.my), true);
  v.setBigUint64(H.AlternateLba, BigInt(h.alternate), true);
  v.setBigUint64(H.FirstUsable, BigInt(h.firstUsable), true);
  v.setBigUint64(H.LastUsable, BigInt(h.lastUsable), true);
  b.set(guidBytes(h.diskGuid), H.DiskGuid);
  v.setBigUint64(H.EntryLba, BigInt(h.entryLba), true);
  v.setUint32(H.EntryCount, ENTRY_COUNT, true);
  v.setUint32(H.EntrySize, ENTRY_SIZE, true);
  v.setUint32(H.ArrayCrc, h.arrayCrc, true);
  v.setUint32(H.HeaderCrc, crc32(b.subarray(0, HEADER_SIZE)), true);
  return b;
}

function encodeEntry(p: PartitionSpec): Uint8Array {
  const b = new Uint8Array(ENTRY_SIZE);
  const v = view(b);
  b.set(guidBytes(p.type), E.TypeGuid);
  b.set(guidBytes(p.guid), E.UniqueGuid);
  v.setBigUint64(E.FirstLba, BigInt(p.firstLba), true);
  v.setBigUint64(E.LastLba, BigInt(p.lastLba), true);
  v.setBigUint64(E.Attributes, p.attributes, true);
  if (p.name.length > NAME_UNITS) throw new Error(`partition name '${p.name}' is longer than ${NAME_UNITS} UTF-16 units`);
  for (let i = 0; i < p.name.length; i++) v.setUint16(E.Name + 2 * i, p.name.charCodeAt(i), true);
  return b;
}

/**
 * The partition table of `disk`, from the primary header or, when that is not
 * valid, from the backup. Throws GptError (one line naming the disk) when the
 * disk has no protective MBR or neither header is valid.
 */
export function readGpt(disk: Disk): Gpt {
  if (disk.size < (FIRST_USABLE + TAIL_SECTORS + 1) * SECTOR) throw new GptError(disk.path, `too small for a GPT (${disk.size} bytes)`);
  checkProtectiveMbr(disk);
  const last = Math.floor(disk.size / SECTOR) - 1;
  let primaryProblem: string;
  try {
    const table = readTable(disk, 1, last);
    return { ...table, source: 'primary', damage: backupDamage(disk, table.alternate, last) };
  } catch (e) {
    if (!(e instanceof TableError)) throw e;
    primaryProblem = e.message;
  }
  try {
    const table = readTable(disk, last, last);
    return { ...table, source: 'backup', damage: `primary GPT header: ${primaryProblem}` };
  } catch (e) {
    if (!(e instanceof TableError)) throw e;
    throw new GptError(disk.path, `no valid GPT (primary header: ${primaryProblem}; backup header: ${e.message})`);
  }
}

function checkProtectiveMbr(disk: Disk): void {
  const mbr = disk.read(0, SECTOR);
  const hasEe = [0, 1, 2, 3].some((k) => mbr[MBR_RECORDS + 16 * k + 4] === PROTECTIVE_TYPE);
  if (view(mbr).getUint16(MBR_SIGNATURE, true) !== 0xaa55 || !hasEe) {
    throw new GptError(disk.path, 'no GPT (LBA 0 holds no protective MBR: no 0x55AA signature with a 0xEE partition record)');
  }
}

function backupDamage(disk: Disk, alternate: number, last: number): string | null {
  if (alternate !== last) return `backup GPT header: AlternateLBA is ${alternate}, not the last LBA ${last}`;
  try {
    readTable(disk, last, last);
    return null;
  } catch (e) {
    if (!(e instanceof TableError)) throw e;
    return `backup GPT header: ${e.message}`;
  }
}

class TableError extends Error {}

function readTable(disk: Disk, lba: number, last: number): Omit<Gpt, 'source' | 'damage'> & { alternate: number } {
  const b = disk.read(lba * SECTOR, SECTOR);
  const v = view(b);
  if (String.fromCharCode(...b.subarray(0, 8)) !== SIGNATURE) throw new TableError(`no "EFI PART" signature at LBA ${lba}`);
  const size = v.getUint32(H.HeaderSize, true);
  if (size < HEADER_SIZE || size > SECTOR) throw new TableError(`HeaderSize ${size} is outside ${HEADER_SIZE}..${SECTOR}`);
  // A copy even when the disk hands out Node Buffers, whose slice() is a view.
  const crcCopy = new Uint8Array(b.subarray(0, size));
  view(crcCopy).setUint32(H.HeaderCrc, 0, true);
  if (crc32(crcCopy) !== v.getUint32(H.HeaderCrc, true)) throw new TableError(`header CRC-32 mismatch at LBA ${lba}`);
  if (v.getUint32(H.Revision, true) >>> 16 !== 1) throw new TableError(`revision 0x${v.getUint32(H.Revision, true).toString(16)} is not 1.x`);
  const my = u64(v, H.MyLba);
  if (my !== lba) throw new TableError(`MyLBA is ${my}, but the header is at LBA ${lba}`);
  const firstUsable = u64(v, H.FirstUsable), lastUsable = u64(v, H.LastUsable);
  const entryLba = u64(v, H.EntryLba), count = v.getUint32(H.EntryCount, true), entrySize = v.getUint32(H.EntrySize, true);
  if (entrySize < ENTRY_SIZE || (entrySize & (entrySize - 1)) !== 0) throw new TableError(`SizeOfPartitionEntry ${entrySize} is not 128 × 2^n`);
  const arrayBytes = count * entrySize;
  const arraySectors = Math.ceil(arrayBytes / SECTOR);
  if (arrayBytes > 1 << 20) throw new TableError(`a partition entry array of ${arrayBytes} bytes (more than 1 MiB)`);
  if (!(firstUsable <= lastUsable && lastUsable <= last)) throw new TableError(`usable LBAs ${firstUsable}..${lastUsable} do not fit a disk whose last LBA is ${last}`);
  const arrayEnd = entryLba + arraySectors - 1;
  if (entryLba < 1 || arrayEnd > last || (entryLba <= lastUsable && arrayEnd >= firstUsable)) {
    throw new TableError(`the partition entry array (LBA ${entryLba}..${arrayEnd}) is off the disk or overlaps the usable LBAs`);
  }
  const array = disk.read(entryLba * SECTOR, arrayBytes);
  if (crc32(array) !== v.getUint32(H.ArrayCrc, true)) throw new TableError(`partition entry array CRC-32 mismatch at LBA ${entryLba}`);
  const partitions: GptPartition[] = [];
  for (let i = 0; i < count; i++) {
    const e = array.subarray(i * entrySize, i * entrySize + ENTRY_SIZE);
    const type = guidText(e.subarray(E.TypeGuid));
    if (type === UNUSED_GUID) continue;
    const ev = view(e);
    const p: GptPartition = {
      index: i, type, guid: guidText(e.subarray(E.UniqueGuid)),
      firstLba: u64(ev, E.FirstLba), lastLba: u64(ev, E.LastLba), attributes: ev.getBigUint64(E.Attributes, true),
      name: decodeName(ev),
    };
    if (!(firstUsable <= p.firstLba && p.firstLba <= p.lastLba && p.lastLba <= lastUsable)) {
      throw new TableError(`partition ${i + 1} (LBA ${p.firstLba}..${p.lastLba}) is outside the usable LBAs ${firstUsable}..${lastUsable}`);
    }
    partitions.push(p);
  }
  return { diskGuid: guidText(b.subarray(H.DiskGuid)), firstUsable, lastUsable, partitions, alternate: u64(v, H.AlternateLba) };
}

function decodeName(v: DataView): string {
  let s = '';
  for (let i = 0; i < NAME_UNITS; i++) {
    const c = v.getUint16(E.Name + 2 * i, true);
    if (c === 0) break;
    s += String.fromCharCode(c);
  }
  return s;
}

/** LBAs beyond 2^53 cannot be on a disk this code can open; they are reported as that huge number and fail the range checks. */
function u64(v: DataView, at: number): number {
  return Number(v.getBigUint64(at, true));
}

const view = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);
const ascii = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));

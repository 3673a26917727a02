/**
 * From a recipe to the disk's bytes: reads the kernel and the directory trees,
 * places the partitions 1 MiB-aligned from LBA 2048 (as fdisk and sgdisk do)
 * and encodes the GPT around them. The result is a list of extents; every
 * byte outside them is zero, so empty partitions and the gaps cost nothing.
 *
 * The GUIDs (disk, partitions, dfly image) are derived from a SHA-256 of the
 * recipe and the partitions' contents: the same inputs make the same image.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { encodeGpt, SECTOR, TAIL_SECTORS, type PartitionSpec } from '../../emu/firmware/gpt.js';
import { encodeBootPartition } from '../../emu/firmware/bootpart.js';
import { RecipeError, type Recipe } from './recipe.js';
import { treeEntries } from './tree.js';
import { ustarArchive, type TarEntry } from './ustar.js';

export const ALIGN = 1 << 20;

export interface PlannedPartition extends PartitionSpec {
  /** The partition's bytes from its start (the rest reads as zeros). */
  contents: Uint8Array;
  /** What is in it, for the summary. */
  what: string;
}

export interface DiskPlan {
  size: number;
  diskGuid: string;
  imageUuid: Uint8Array;
  partitions: PlannedPartition[];
  extents: { at: number; bytes: Uint8Array }[];
}

export function planDisk(recipe: Recipe, recipeBytes: Uint8Array): DiskPlan {
  const fail = (what: string): never => { throw new RecipeError(recipe.file, what); };
  const contents = recipe.partitions.map((p, i) => {
    const at = `partitions[${i}]`;
    if (p.kernel !== undefined) return bootContents(p.kernel, p.cmdline ?? '', at, fail);
    if (p.from !== undefined) return treeContents(p.from, at, fail);
    return { bytes: new Uint8Array(0), what: 'empty' };
  });

  const seed = createHash('sha256').update('damselfly mkdisk\0').update(recipeBytes);
  for (const c of contents) seed.update(createHash('sha256').update(c.bytes).digest());
  const digest = seed.digest();
  const derived = (tag: string) => createHash('sha256').update(digest).update(tag).digest();

  let lba = ALIGN / SECTOR;
  const partitions = recipe.partitions.map((p, i): PlannedPartition => {
    const c = contents[i];
    const size = p.size ?? alignUp(Math.max(c.bytes.length, 1), ALIGN);
    if (c.bytes.length > size) fail(`partitions[${i}] '${p.name}': its contents take ${c.bytes.length} bytes, more than its size ${size}`);
    const firstLba = lba;
    lba = alignUp(firstLba + size / SECTOR, ALIGN / SECTOR);
    return {
      type: p.type, guid: uuidText(derived(`partition ${i}`)), firstLba, lastLba: firstLba + size / SECTOR - 1,
      attributes: 0n, name: p.name, contents: c.bytes, what: c.what,
    };
  });
  const end = (partitions[partitions.length - 1].lastLba + 1) * SECTOR;
  const needed = end + TAIL_SECTORS * SECTOR;
  // The backup GPT gets a MiB of its own, as the first partition leaves one for the primary.
  const size = recipe.size ?? alignUp(end, ALIGN) + ALIGN;
  if (size < needed) fail(`size: ${size} bytes is too small for the partitions and the backup GPT (${needed} bytes needed)`);
  const diskGuid = uuidText(derived('disk'));
  const extents = encodeGpt(size / SECTOR, diskGuid, partitions);
  for (const p of partitions) if (p.contents.length) extents.push({ at: p.firstLba * SECTOR, bytes: p.contents });
  return { size, diskGuid, imageUuid: derived('image').subarray(0, 16), partitions, extents };
}

interface Contents { bytes: Uint8Array; what: string }

function bootContents(file: string, cmdline: string, at: string, fail: (what: string) => never): Contents {
  const kernel = readInput(file, `${at}.kernel`, fail);
  const name = path.basename(file);
  try {
    return { bytes: encodeBootPartition({ name, cmdline, kernel }), what: `kernel ${name} (${kernel.length} bytes), command line ${JSON.stringify(cmdline)}` };
  } catch (e) {
    return fail(`${at}: ${(e as Error).message}`);
  }
}

function treeContents(dir: string, at: string, fail: (what: string) => never): Contents {
  let entries: TarEntry[];
  try {
    if (!fs.statSync(dir).isDirectory()) fail(`${at}.from: ${dir} is not a directory`);
    entries = treeEntries(dir);
  } catch (e) {
    if (e instanceof RecipeError) throw e;
    return fail(`${at}.from: ${describeFsError(e, dir)}`);
  }
  try {
    const bytes = ustarArchive(entries);
    return { bytes, what: `ustar archive of ${dir}: ${entries.length} entries, ${bytes.length} bytes` };
  } catch (e) {
    return fail(`${at}.from: ${(e as Error).message}`);
  }
}

function readInput(file: string, what: string, fail: (what: string) => never): Uint8Array {
  try {
    const st = fs.statSync(file);
    if (!st.isFile()) fail(`${what}: ${file} is not a file`);
    return fs.readFileSync(file);
  } catch (e) {
    if (e instanceof RecipeError) throw e;
    return fail(`${what}: ${describeFsError(e, file)}`);
  }
}

function describeFsError(e: unknown, file: string): string {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return `${file}: no such file or directory`;
  if (code === 'EACCES') return `${file}: permission denied`;
  return (e as Error).message;
}

/** 16 bytes as a random-form (version 4, RFC 9562 variant) GUID. */
function uuidText(h: Uint8Array): string {
  const x = [...h.subarray(0, 16)].map((b) => b.toString(16).padStart(2, '0')).join('');
  const variant = ((parseInt(x[16], 16) & 3) | 8).toString(16);
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-4${x.slice(13, 16)}-${variant}${x.slice(17, 20)}-${x.slice(20, 32)}`.toUpperCase();
}

const alignUp = (n: number, a: number) => Math.ceil(n / a) * a;

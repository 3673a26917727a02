/**
 * The mkdisk recipe: a JSON file saying what goes on the disk. Paths in it
 * are relative to the recipe's own directory. Checked whole before anything
 * is read or written; unknown keys are refused, so a typo is never ignored.
 *
 *   {
 *     "size": "64M",                      optional: the sum of the partitions plus 2 MiB
 *     "format": "dfly",                   optional: dfly (default) or raw; -f on the command line wins
 *     "partitions": [
 *       { "name": "boot", "type": "boot", "kernel": "build/kernel.elf", "cmdline": "selftest=all" },
 *       { "name": "root", "type": "data", "from": "rootfs", "size": "32M" },
 *       { "name": "swap", "type": "swap", "size": "16M" }
 *     ]
 *   }
 *
 * A size is a byte count, or a string of digits with K, M, G or T (powers of
 * 1024), a multiple of 512. A boot or filled data partition without a size is
 * as large as its contents, rounded up to 1 MiB; an empty one needs a size.
 */
import * as path from 'node:path';
import { ENTRY_COUNT, guidBytes, NAME_UNITS, UNUSED_GUID } from '../../emu/firmware/gpt.js';
import { BOOT_PARTITION_TYPE } from '../../emu/firmware/bootpart.js';

/** Filled from a directory tree as a ustar archive, or left empty: ours, made for damselfly. */
export const DATA_PARTITION_TYPE = '0488F94D-0D27-405E-ADCB-61BB4F8A605F';
/** DragonFly BSD's swap partition type. */
export const SWAP_PARTITION_TYPE = '9D58FDBD-1CA5-11DC-8817-01301BB8A9F5';

export type PartitionKind = 'boot' | 'data' | 'swap' | 'other';

export interface PartitionRecipe {
  name: string;
  kind: PartitionKind;
  /** The GPT partition type GUID. */
  type: string;
  size?: number;
  /** boot: the kernel file (resolved) and its command line. */
  kernel?: string;
  cmdline?: string;
  /** data: the directory tree to archive (resolved). */
  from?: string;
}

export interface Recipe {
  file: string;
  size?: number;
  format?: 'dfly' | 'raw';
  partitions: PartitionRecipe[];
}

export class RecipeError extends Error {
  constructor(readonly file: string, readonly what: string) {
    super(`${file}: ${what}`);
  }
}

const TOP_KEYS = ['size', 'format', 'partitions'];
const KEYS: Record<PartitionKind, string[]> = {
  boot: ['name', 'type', 'size', 'kernel', 'cmdline'],
  data: ['name', 'type', 'size', 'from'],
  swap: ['name', 'type', 'size'],
  other: ['name', 'type', 'size'],
};
const TYPES: Record<Exclude<PartitionKind, 'other'>, string> = { boot: BOOT_PARTITION_TYPE, data: DATA_PARTITION_TYPE, swap: SWAP_PARTITION_TYPE };

export function parseRecipe(file: string, text: string): Recipe {
  const fail = (what: string): never => { throw new RecipeError(file, what); };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    fail(`not JSON (${(e as Error).message})`);
  }
  if (!isObject(json)) return fail('the recipe is not a JSON object');
  unknownKeys(json, TOP_KEYS, '', fail);
  const dir = path.dirname(file);
  const recipe: Recipe = { file, partitions: [] };
  if (json.size !== undefined) recipe.size = parseSize(json.size, 'size', fail);
  if (json.format !== undefined) {
    if (json.format !== 'dfly' && json.format !== 'raw') fail(`format: ${JSON.stringify(json.format)} is not "dfly" or "raw"`);
    recipe.format = json.format as 'dfly' | 'raw';
  }
  if (!Array.isArray(json.partitions) || json.partitions.length === 0) fail('partitions: missing, or not a non-empty array');
  if ((json.partitions as unknown[]).length > ENTRY_COUNT) fail(`partitions: ${(json.partitions as unknown[]).length} of them (a GPT here holds ${ENTRY_COUNT})`);
  const parts = json.partitions as unknown[];
  const names = new Set<string>();
  parts.forEach((p, i) => {
    const at = `partitions[${i}]`;
    if (!isObject(p)) return fail(`${at}: not an object`);
    if (typeof p.type !== 'string') return fail(`${at}.type: missing (boot, data, swap or a partition type GUID)`);
    const kind: PartitionKind = Object.hasOwn(TYPES, p.type) ? p.type as PartitionKind : 'other';
    const type = kind === 'other' ? p.type.toUpperCase() : TYPES[kind as keyof typeof TYPES];
    if (kind === 'other') {
      try { guidBytes(type); } catch { fail(`${at}.type: ${JSON.stringify(p.type)} is not boot, data, swap or a GUID`); }
      if (type === UNUSED_GUID) fail(`${at}.type: the all-zero GUID marks an unused entry`);
    }
    unknownKeys(p, KEYS[kind], `${at}.`, fail);
    const name = p.name === undefined ? kind : p.name;
    if (typeof name !== 'string' || name.length === 0 || name.length > NAME_UNITS) fail(`${at}.name: not a string of 1..${NAME_UNITS} characters`);
    if (names.has(name as string)) fail(`${at}.name: '${name}' is used twice`);
    names.add(name as string);
    const part: PartitionRecipe = { name: name as string, kind, type };
    if (p.size !== undefined) part.size = parseSize(p.size, `${at}.size`, fail);
    if (kind === 'boot') {
      if (typeof p.kernel !== 'string' || p.kernel === '') fail(`${at}.kernel: missing (the kernel image, relative to the recipe)`);
      part.kernel = path.resolve(dir, p.kernel as string);
      if (p.cmdline !== undefined && typeof p.cmdline !== 'string') fail(`${at}.cmdline: not a string`);
      part.cmdline = (p.cmdline as string | undefined) ?? '';
    }
    if (kind === 'data' && p.from !== undefined) {
      if (typeof p.from !== 'string' || p.from === '') fail(`${at}.from: not a directory path`);
      part.from = path.resolve(dir, p.from as string);
    }
    if (part.size === undefined && part.kernel === undefined && part.from === undefined) fail(`${at}: an empty partition needs a size`);
    recipe.partitions.push(part);
  });
  if (recipe.partitions.filter((p) => p.kind === 'boot').length > 1) fail('more than one boot partition');
  return recipe;
}

export function parseSize(v: unknown, what: string, fail: (what: string) => never): number {
  let n = NaN;
  if (typeof v === 'number') n = v;
  else if (typeof v === 'string') {
    const m = /^(\d+)([KMGT]?)$/i.exec(v);
    if (m) n = Number(m[1]) * 1024 ** ' KMGT'.indexOf(m[2].toUpperCase() || ' ');
  }
  if (!(Number.isSafeInteger(n) && n > 0)) return fail(`${what}: ${JSON.stringify(v)} is not a size (bytes, or e.g. "64M")`);
  if (n % 512 !== 0) fail(`${what}: ${JSON.stringify(v)} is not a multiple of 512 bytes`);
  return n;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function unknownKeys(o: Record<string, unknown>, known: string[], at: string, fail: (what: string) => never): void {
  const bad = Object.keys(o).find((k) => !known.includes(k));
  if (bad !== undefined) fail(`${at}${bad}: unknown key here (known: ${known.join(', ')})`);
}

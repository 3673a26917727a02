/**
 * `mkdisk RECIPE -o OUT [-f|--format dfly|raw]`: a bootable disk image from a
 * recipe (recipe.ts). Prints the partition table it wrote; a bad recipe or
 * input is one line `mkdisk: FILE: what is wrong`, exit status 2, and OUT is
 * left as it was.
 */
import * as fs from 'node:fs';
import { nodeEnv } from '../../emu/storage/node.js';
import { ImageError } from '../../emu/storage/host.js';
import { parseRecipe } from './recipe.js';
import { planDisk } from './layout.js';
import { writeDisk } from './write.js';
import { SECTOR } from '../../emu/firmware/gpt.js';

const USAGE = [
  'usage: mkdisk RECIPE -o OUT [-f|--format dfly|raw]',
  '',
  'Builds a GPT disk image from a JSON recipe: a boot partition holding a',
  'multiboot kernel and its command line (so that `emu boot OUT` needs no',
  '-kernel), data partitions filled from directory trees (ustar), empty ones.',
  'The format defaults to the recipe\'s "format", else dfly. See tools/mkdisk/README.md.',
].join('\n');

interface Args { recipe: string; out: string; format?: 'dfly' | 'raw' }

function parseArgs(argv: string[]): Args | 'help' {
  let recipe: string | undefined, out: string | undefined, format: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '-h' || a === '--help') return 'help';
    if (a === '-o' || a === '--output') out = value();
    else if (a === '-f' || a === '--format') format = value();
    else if (a.startsWith('-') && a.length > 1) throw new Error(`unknown option '${a}'`);
    else if (recipe === undefined) recipe = a;
    else throw new Error(`unexpected argument '${a}' (one RECIPE)`);
  }
  if (recipe === undefined) throw new Error('missing RECIPE');
  if (out === undefined) throw new Error('missing -o OUT');
  if (format !== undefined && format !== 'dfly' && format !== 'raw') throw new Error(`--format: '${format}' is not dfly or raw`);
  return { recipe, out, format: format as Args['format'] };
}

export function main(argv: string[]): number {
  try {
    const args = parseArgs(argv);
    if (args === 'help') {
      process.stdout.write(USAGE + '\n');
      return 0;
    }
    let bytes: Uint8Array;
    try {
      bytes = fs.readFileSync(args.recipe);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new Error(`${args.recipe}: ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : (e as Error).message}`);
    }
    if (fs.statSync(args.out, { throwIfNoEntry: false })?.isDirectory()) throw new Error(`${args.out}: is a directory`);
    const recipe = parseRecipe(args.recipe, new TextDecoder().decode(bytes));
    const plan = planDisk(recipe, bytes);
    const format = args.format ?? recipe.format ?? 'dfly';
    try {
      writeDisk(nodeEnv, args.out, format, plan);
    } catch (e) {
      // The temporary file's name means nothing to the user; the target does.
      if (e instanceof ImageError) throw new Error(`${args.out}: ${e.what}`);
      throw e;
    }
    process.stdout.write(summary(args.out, format, plan.size, plan.partitions));
    return 0;
  } catch (e) {
    process.stderr.write(`mkdisk: ${(e as Error).message}\n`);
    return 2;
  }
}

function summary(out: string, format: string, size: number, parts: ReturnType<typeof planDisk>['partitions']): string {
  const mib = (n: number) => `${+(n / 2 ** 20).toFixed(2)} MiB`;
  const lines = [`${out}: ${format} image, ${mib(size)}, GPT with ${parts.length} partition(s)`];
  parts.forEach((p, i) => {
    lines.push(`  ${i + 1} ${p.name}: LBA ${p.firstLba}..${p.lastLba} (${mib((p.lastLba - p.firstLba + 1) * SECTOR)}), type ${p.type}: ${p.what}`);
  });
  return lines.join('\n') + '\n';
}

/**
 * `emu img`: disk image tools in qemu-img's vocabulary, a thin layer over emu/storage/.
 * Refusals throw, and main() prints them as one line with a non-zero exit.
 */
import { nodeEnv } from '../storage/node.js';
import { createImage } from '../storage/create.js';
import { formatInfo, imageInfo } from '../storage/info.js';
import { checkImage } from '../storage/check.js';
import { compactImage, convertImage } from '../storage/convert.js';
import { commitImage } from '../storage/commit.js';
import { rebaseImage } from '../storage/rebase.js';
import { QCOW2_UNCHECKED } from '../storage/check-qcow2.js';
import { withProgress } from './progress.js';

export const IMG_USAGE = [
  'emu img create [-f dfly|raw] [-b BACKING] FILE [SIZE]',
  'emu img info FILE',
  'emu img convert [-O dfly|raw] SRC DST',
  'emu img check FILE',
  'emu img commit FILE',
  'emu img compact FILE',
  'emu img rebase [-u] -b BACKING FILE    (-b "" removes the backing file)',
  '',
  'SIZE is bytes with an optional K, M, G or T suffix (powers of 1024).',
  'Images are damselfly images (dfly), raw, or qcow2 (read-only: info, convert and check it,',
  'or boot it with -drive …,snapshot=on), recognised by content. Long work shows a',
  'progress bar when stderr is a terminal.',
].join('\n');

interface Parsed { flags: Map<string, string | true>; args: string[] }

/** Flags with a value (-f X) or without (-u); everything else is positional. */
function parse(cmd: string, argv: string[], valued: string[], bare: string[], nargs: [number, number]): Parsed {
  const flags = new Map<string, string | true>();
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a.startsWith('-') && a.length > 1) {
      const name = a.replace(/^--?/, '');
      if (valued.includes(name)) {
        if (i + 1 >= argv.length) throw new Error(`img ${cmd}: ${a} needs a value`);
        flags.set(name, argv[++i]);
      } else if (bare.includes(name)) flags.set(name, true);
      else throw new Error(`img ${cmd}: unknown option '${a}'`);
    } else args.push(a);
  }
  if (args.length < nargs[0]) throw new Error(`img ${cmd}: missing ${nargs[0] - args.length === 1 && nargs[0] > 1 ? 'an argument' : 'FILE'} (usage: ${IMG_USAGE.split('\n').find((l) => l.startsWith(`emu img ${cmd}`))})`);
  if (args.length > nargs[1]) throw new Error(`img ${cmd}: unexpected argument '${args[nargs[1]]}'`);
  return { flags, args };
}

function format(cmd: string, v: string | true | undefined): 'dfly' | 'raw' {
  if (v === undefined) return 'dfly';
  if (v === 'dfly' || v === 'raw') return v;
  throw new Error(`img ${cmd}: unknown format '${v}' (dfly or raw)`);
}

export function parseImageSize(s: string): number {
  const m = /^(\d+)([KMGT]?)$/i.exec(s);
  if (!m) throw new Error(`img create: '${s}' is not a size (e.g. 64M, 10G)`);
  return Number(m[1]) * 1024 ** ' KMGT'.indexOf(m[2].toUpperCase() || ' ');
}

const out = (s: string) => process.stdout.write(s);

export async function imgCommand(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case 'create': {
      const p = parse(cmd, rest, ['f', 'b'], [], [1, 2]);
      const backing = p.flags.get('b') as string | undefined;
      createImage(nodeEnv, p.args[0], {
        size: p.args[1] === undefined ? undefined : parseImageSize(p.args[1]),
        backing, format: format(cmd, p.flags.get('f')),
      });
      return 0;
    }
    case 'info': {
      out(formatInfo(imageInfo(nodeEnv, parse(cmd, rest, [], [], [1, 1]).args[0])));
      return 0;
    }
    case 'convert': {
      const p = parse(cmd, rest, ['O'], [], [2, 2]);
      const to = format(cmd, p.flags.get('O'));
      withProgress('convert', (progress) => convertImage(nodeEnv, p.args[0], p.args[1], to, undefined, progress));
      return 0;
    }
    case 'check': {
      const file = parse(cmd, rest, [], [], [1, 1]).args[0];
      const r = withProgress('check', (progress) => checkImage(nodeEnv, file, progress));
      if (r.errors.length) {
        process.stderr.write(r.errors.map((e) => `emu: ${e}\n`).join(''));
        return 2;
      }
      if (r.format === 'raw') out(`${file}: raw image; it has no checksums to check.\n`);
      else if (r.format === 'qcow2') out(`No errors were found in the qcow2 tables.\n${r.chunks} allocated clusters checked; not checked: ${QCOW2_UNCHECKED}.\n`);
      else out(`No errors were found on the image.\n${r.chunks} data chunks verified; ${r.leaked} bytes unreferenced${r.leaked ? ' (emu img compact reclaims them)' : ''}.\n`);
      return 0;
    }
    case 'commit': {
      const file = parse(cmd, rest, [], [], [1, 1]).args[0];
      const r = withProgress('commit', (progress) => commitImage(nodeEnv, file, progress));
      out(`Image committed: ${r.chunks} chunks written into ${r.parent}.\n`);
      return 0;
    }
    case 'compact': {
      const file = parse(cmd, rest, [], [], [1, 1]).args[0];
      const r = withProgress('compact', (progress) => compactImage(nodeEnv, file, progress));
      out(`${r.before} -> ${r.after} bytes.\n`);
      return 0;
    }
    case 'rebase': {
      const p = parse(cmd, rest, ['b'], ['u'], [1, 1]);
      const b = p.flags.get('b');
      if (typeof b !== 'string') throw new Error('img rebase: missing -b BACKING (-b "" for none)');
      rebaseImage(nodeEnv, p.args[0], b === '' ? null : b, p.flags.get('u') === true);
      return 0;
    }
    case undefined: case '--help': case '-h':
      out(IMG_USAGE + '\n');
      return cmd === undefined ? 2 : 0;
    default:
      throw new Error(`img: unknown command '${cmd}' (create, info, convert, check, commit, compact, rebase)`);
  }
}

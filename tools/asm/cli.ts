/**
 * The `asm` command (bin/asm.mjs, bundled to dist/asm.mjs by tools/build.mjs):
 *
 *   asm [-m 16|32|64] [-f bin|elf] [--origin ADDR] [-D NAME=VALUE]… [--symbols] [-o OUT] FILE.s
 *
 * A flat binary by default, an ELF64 object with -f elf or an output name
 * ending in .o. Errors are one line on stderr (`asm: boot.s:12: …`) and exit
 * status 1; usage errors exit with 2.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { AsmError, assemble, assembleElf } from './index.js';
import type { Mode } from './match.js';

const USAGE = `usage: asm [-m 16|32|64] [-f bin|elf] [--origin ADDR] [-D NAME=VALUE]... [--symbols] [-o OUT] FILE.s
  -m MODE        code size at the start (as .code16/.code32/.code64; default 64)
  -f FORMAT      bin: a flat image of the sections from ADDR; elf: an ELF64 object for ld
                 (default: elf when OUT ends in .o, else bin)
  --origin ADDR  address of the flat image (default 0)
  -D NAME=VALUE  a value for an undefined symbol (flat images)
  --symbols      print the symbols of a flat image, one "ADDRESS NAME" per line
  -o OUT         output file (default: FILE with .bin or .o)`;

class Usage extends Error {}

interface Args { input: string; output: string; mode: Mode; format: 'bin' | 'elf'; origin: bigint; defines: Record<string, bigint>; symbols: boolean }

function number(s: string, what: string): bigint {
  if (!/^(0x[0-9a-f]+|[0-9]+)$/i.test(s)) throw new Usage(`${what}: '${s}' is not a number`);
  return BigInt(s);
}

function parseArgs(argv: string[]): Args | null {
  let input: string | undefined, output: string | undefined, format: string | undefined;
  let mode: Mode = 64, origin = 0n, symbols = false;
  const defines: Record<string, bigint> = {};
  for (let k = 0; k < argv.length; k++) {
    const a = argv[k];
    const value = (): string => {
      const v = argv[++k];
      if (v === undefined) throw new Usage(`${a} needs a value`);
      return v;
    };
    switch (a) {
      case '-h': case '--help': return null;
      case '-o': output = value(); break;
      case '-f': format = value(); break;
      case '-m': {
        const m = value();
        if (m !== '16' && m !== '32' && m !== '64') throw new Usage(`-m: '${m}' is not 16, 32 or 64`);
        mode = Number(m) as Mode;
        break;
      }
      case '--origin': origin = number(value(), '--origin'); break;
      case '-D': {
        const d = /^([A-Za-z_.$][\w.$]*)=(.+)$/.exec(value());
        if (d === null) throw new Usage('-D wants NAME=VALUE');
        defines[d[1]] = number(d[2], `-D ${d[1]}`);
        break;
      }
      case '--symbols': symbols = true; break;
      default:
        if (a.startsWith('-')) throw new Usage(`unknown option '${a}'`);
        if (input !== undefined) throw new Usage(`one input file only ('${input}', '${a}')`);
        input = a;
    }
  }
  if (input === undefined) throw new Usage('no input file');
  if (format !== undefined && format !== 'bin' && format !== 'elf') throw new Usage(`-f: '${format}' is not bin or elf`);
  const fmt = (format ?? (output?.endsWith('.o') ? 'elf' : 'bin')) as 'bin' | 'elf';
  output ??= input.replace(/\.[sS]$/, '') + (fmt === 'elf' ? '.o' : '.bin');
  return { input, output, mode, format: fmt, origin, defines, symbols };
}

/** Runs the command; returns the exit status. */
export function main(argv: string[]): number {
  let args: Args | null;
  try {
    args = parseArgs(argv);
  } catch (e) {
    if (!(e instanceof Usage)) throw e;
    process.stderr.write(`asm: ${e.message}\n${USAGE}\n`);
    return 2;
  }
  if (args === null) { process.stdout.write(`${USAGE}\n`); return 0; }
  let source: string;
  try {
    source = readFileSync(args.input, 'utf8');
  } catch (e) {
    process.stderr.write(`asm: cannot read ${args.input}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}\n`);
    return 1;
  }
  try {
    const file = basename(args.input);
    if (args.format === 'elf') {
      writeFileSync(args.output, assembleElf(source, { file, mode: args.mode }));
    } else {
      const image = assemble(source, { file, mode: args.mode, origin: args.origin, defines: args.defines });
      writeFileSync(args.output, image.bytes);
      if (args.symbols) {
        const lines = [...image.symbols].sort((a, b) => (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
        process.stdout.write(lines.map(([n, v]) => `${BigInt.asUintN(64, v).toString(16).padStart(16, '0')} ${n}\n`).join(''));
      }
    }
  } catch (e) {
    if (!(e instanceof AsmError)) throw e;
    process.stderr.write(`asm: ${e.message}\n`);
    return 1;
  }
  return 0;
}

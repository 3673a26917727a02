/**
 * The `emu` command. Subcommands are thin layers over the library:
 *   emu run PROGRAM [ARGS…]   run a static Linux x86-64 program in user mode
 * Diagnostics go to stderr (or the -D file), never to the program's stdout.
 */
import yargs from 'yargs';
import { runCommand } from './run.js';

// Printed as written (wrap(null)): yargs' own wrapping splits words in the usage text.
const USAGE = [
  'emu run [options] PROGRAM [ARGS...]',
  '',
  'Runs a statically linked Linux x86-64 program on the emulated',
  'CPU, passing its output through and exiting with its status,',
  'like qemu-user.',
].join('\n');

export async function main(argv: string[]): Promise<void> {
  let status = 0;
  try {
    status = await dispatch(argv);
  } catch (e) {
    process.stderr.write(`emu: ${(e as Error).message}\n`);
    status = 2;
  }
  // Output written with writeSync is already on its way; exit once stdio has drained.
  process.exitCode = status;
}

async function dispatch(argv: string[]): Promise<number> {
  const parser = yargs(argv)
    .scriptName('emu')
    .usage(USAGE)
    .parserConfiguration({ 'halt-at-non-option': true, 'short-option-groups': false, 'unknown-options-as-args': false })
    .option('seed', { type: 'string', default: '0', describe: 'seed for AT_RANDOM and getrandom (decimal or 0x hex)' })
    .option('host-time', { type: 'boolean', default: false, describe: 'use the host clock instead of the virtual clock' })
    .option('m', { type: 'string', default: '1G', describe: 'guest physical memory (e.g. 512M, 2G)' })
    .option('d', { type: 'string', describe: 'trace items, comma-separated: in_asm, cpu' })
    .option('D', { type: 'string', describe: 'write the -d trace to FILE instead of stderr' })
    .option('jit', { type: 'boolean', default: true, describe: 'compile hot blocks (--no-jit interprets every instruction)' })
    .option('stats', { type: 'boolean', default: false, describe: 'print retired instructions and guest MIPS on stderr at exit' })
    .strict()
    .help()
    .wrap(null)
    .version(false)
    .exitProcess(false)
    .fail((msg, err) => { throw err ?? new Error(msg); });
  const [cmd, ...rest] = argv;
  if (cmd === undefined || cmd === '--help' || cmd === '-h') {
    process.stdout.write(await parser.getHelp() + '\n');
    return cmd === undefined ? 2 : 0;
  }
  if (cmd !== 'run') throw new Error(`unknown command '${cmd}' (try 'emu run PROGRAM')`);
  const args = await parser.parse(rest);
  if (args.help) return 0;
  const positional = args._.map(String);
  if (positional.length === 0) throw new Error('run: missing PROGRAM');
  return runCommand(positional[0], positional.slice(1), {
    seed: parseSeed(args.seed),
    hostTime: args['host-time'],
    mem: parseSize(args.m),
    debug: args.d ? args.d.split(',') : [],
    debugFile: args.D,
    stats: args.stats,
    jit: args.jit,
  });
}

function parseSeed(s: string): bigint {
  if (!/^(0x[0-9a-f]+|\d+)$/i.test(s)) throw new Error(`--seed: '${s}' is not a number`);
  return BigInt(s);
}

export function parseSize(s: string): number {
  const m = /^(\d+)([KMG]?)$/i.exec(s);
  if (!m) throw new Error(`-m: '${s}' is not a size (e.g. 512M)`);
  const n = Number(m[1]) * { '': 1 << 20, K: 1 << 10, M: 1 << 20, G: 1 << 30 }[m[2].toUpperCase() as '' | 'K' | 'M' | 'G'];
  if (n < 16 << 20 || n > 4 * 2 ** 30) throw new Error(`-m: ${s} is outside 16M..4G`);
  return n;
}

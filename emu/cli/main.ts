/**
 * The `emu` command. Subcommands are thin layers over the library:
 *   emu run PROGRAM [ARGS…]   run a static Linux x86-64 program in user mode
 *   emu boot DISK | -kernel FILE   boot a multiboot kernel on the SMP machine
 *   emu serve DISK | -kernel FILE   the same machine in a browser tab
 *   emu img COMMAND …         disk images (create, info, convert, check, commit, compact, rebase)
 * Diagnostics go to stderr (or the -D file), never to the program's stdout.
 */
import yargs, { type Argv } from 'yargs';
import { runCommand } from './run.js';
import { bootCommand } from './boot.js';
import { parseDrive } from './drive.js';
import { parseRtcBase } from '../machine/rtc.js';
import { conflictingOption, parseVirtualTime } from './machine-state.js';

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

const BOOT_USAGE = [
  'emu boot DISK [options]',
  'emu boot -kernel FILE [options]',
  'emu boot --load-state SNAPSHOT [options]',
  '',
  'Boots a multiboot (v1) kernel on an SMP x86-64 PC, as',
  'qemu-system-x86_64 -kernel does, with COM1 on this terminal:',
  'the one in DISK\'s boot partition (made by mkdisk; DISK is attached',
  'as -drive file=DISK,if=virtio), or FILE.',
  'Ctrl-A x exits, Ctrl-A s saves the machine, Ctrl-A h lists the',
  'console keys. The exit status is the debug-exit status (port',
  '0xf4), 124 after --timeout.',
].join('\n');

/** The machine's options, shared by boot and serve: the same flags build the same machine. */
function machineOptions<T>(y: Argv<T>) {
  return y
    .option('kernel', { type: 'string', describe: 'the multiboot kernel image (ELF32 or a.out-kludge)' })
    .option('append', { type: 'string', default: '', describe: 'the kernel command line (after the one in DISK\'s boot partition)' })
    .option('initrd', { type: 'string', describe: 'multiboot modules: "FILE [ARGS][,FILE [ARGS]…]"' })
    .option('m', { type: 'string', default: '256M', describe: 'guest RAM (e.g. 256M, 1G; at most 3G)' })
    .option('smp', { type: 'string', default: '1', describe: 'number of CPUs (1..64)' })
    .option('seed', { type: 'string', default: '0', describe: 'seed of the CPU interleaving (decimal or 0x hex)' })
    .option('no-reboot', { type: 'boolean', default: false, describe: 'stop instead of rebooting on a triple fault or reset' })
    .option('rtc', { type: 'string', describe: 'base=ISO-DATE|utc|localtime (default: 2026-01-01T00:00:00Z, fixed)' })
    .option('drive', { type: 'string', array: true, describe: 'a disk: file=PATH[,if=virtio|nvme][,snapshot=on][,serial=S][,model=hdd|ssd|none][,rate=MB/s][,lat=us][,seek=ms][,rpm=N]' })
    .option('snapshot', { type: 'boolean', default: false, describe: 'send every disk write to a throw-away overlay' })
    .option('no-jit', { type: 'boolean', default: false, describe: 'interpret every instruction (no block compiler)' });
}

type MachineArgs = Awaited<ReturnType<ReturnType<typeof machineOptions>['parse']>>;

function machineArgs(cmd: string, args: MachineArgs) {
  if (args._.length > 1) throw new Error(`${cmd}: unexpected argument '${args._[1]}' (one DISK at most; more disks go in -drive)`);
  const disk = args._.length === 1 ? String(args._[0]) : undefined;
  const smp = Number(args.smp);
  if (!/^\d+$/.test(args.smp) || smp < 1 || smp > 64) throw new Error(`-smp: '${args.smp}' is not a CPU count in 1..64`);
  return {
    kernel: args.kernel, disk, append: args.append, initrd: args.initrd, mem: parseSize(args.m, 3 * 2 ** 30), smp,
    seed: parseSeed(args.seed), noReboot: args['no-reboot'], rtcBase: parseRtc(args.rtc), jit: !args['no-jit'],
    drives: (args.drive ?? []).map(parseDrive), snapshot: args.snapshot,
  };
}

function subcommand(rest: string[], name: string, usage: string) {
  return yargs(rest)
    .scriptName(`emu ${name}`)
    .usage(usage)
    .parserConfiguration({ 'short-option-groups': false, 'boolean-negation': false, 'unknown-options-as-args': false });
}

function finish<T>(y: Argv<T>) {
  return y
    .strictOptions()
    .help()
    .wrap(null)
    .version(false)
    .exitProcess(false)
    .fail((msg, err) => { throw err ?? new Error(msg); });
}

async function dispatchBoot(rest: string[]): Promise<number> {
  const parser = finish(machineOptions(subcommand(rest, 'boot', BOOT_USAGE))
    .option('timeout', { type: 'number', describe: 'stop after SECONDS of host time, exit status 124' })
    .option('serial', { type: 'string', default: 'stdio', describe: 'COM1: stdio, file:PATH or none' })
    .option('d', { type: 'string', describe: 'log items, comma-separated: int, cpu, in_asm, cpu_reset, guest_errors, unimp' })
    .option('D', { type: 'string', describe: 'write the -d log to FILE instead of stderr' })
    .option('stats', { type: 'boolean', default: false, describe: 'print instructions and guest MIPS on stderr at exit' })
    .option('pace', { type: 'boolean', describe: 'keep virtual time from running ahead of host time (default: when COM1 is a terminal)' })
    .option('no-pace', { type: 'boolean', describe: 'let virtual time run as fast as the host can (default when COM1 is not a terminal)' })
    .option('record', { type: 'string', describe: 'write COM1 input with its virtual times to FILE' })
    .option('replay', { type: 'string', describe: 'feed COM1 from a --record FILE (the session repeats exactly)' })
    .option('save-state', { type: 'string', describe: 'save the whole machine to FILE at --save-state-at, or on Ctrl-A s' })
    .option('save-state-at', { type: 'string', describe: 'virtual time of the save: 2s, 150ms, 40us, 1000ns' })
    .option('load-state', { type: 'string', describe: 'resume the machine saved in FILE (its kernel and disks come from it)' }));
  const args = await parser.parse(rest);
  if (args.help) return 0;
  const machine = machineArgs('boot', args);
  const loadState = args['load-state'];
  if (loadState !== undefined) {
    const clash = machine.disk !== undefined ? machine.disk : conflictingOption(rest);
    if (clash !== null) throw new Error(`--load-state: ${clash} conflicts with it (the machine, its kernel and its disks come from the snapshot)`);
  } else if (!machine.kernel && machine.disk === undefined) throw new Error('boot: missing -kernel FILE or a DISK (or --load-state FILE)');
  if (args['save-state-at'] !== undefined && args['save-state'] === undefined) throw new Error('--save-state-at: needs --save-state FILE');
  if (args.timeout !== undefined && !(args.timeout > 0)) throw new Error(`--timeout: '${args.timeout}' is not a positive number of seconds`);
  return bootCommand({
    ...machine, timeout: args.timeout, serial: args.serial,
    debug: args.d ? args.d.split(',') : [], debugFile: args.D,
    stats: args.stats, record: args.record, replay: args.replay, pace: args['no-pace'] ? false : args.pace,
    saveState: args['save-state'], saveStateAt: args['save-state-at'] === undefined ? undefined : parseVirtualTime(args['save-state-at']), loadState,
  });
}

const SERVE_USAGE = [
  'emu serve DISK [options] [--port 8080]',
  'emu serve -kernel FILE [DISK] [options] [--port 8080]',
  '',
  'Serves a page that runs the machine in a browser tab, COM1 on a',
  'terminal beside a live view of its CPUs and IPIs. Open the printed',
  'URL; add ?remote=1 to run the machine in this process instead.',
  'Disks are read by the page (or by this process) under a scratch',
  'overlay: writes never reach the image files.',
].join('\n');

async function dispatchServe(rest: string[]): Promise<number> {
  const parser = finish(machineOptions(subcommand(rest, 'serve', SERVE_USAGE))
    .option('port', { type: 'number', default: 8080, describe: 'TCP port (0: any free port)' })
    .option('host', { type: 'string', default: '127.0.0.1', describe: 'address to listen on (0.0.0.0: every interface)' }));
  const args = await parser.parse(rest);
  if (args.help) return 0;
  const machine = machineArgs('serve', args);
  if (!machine.kernel && machine.disk === undefined) throw new Error('serve: missing -kernel FILE or a DISK');
  if (!Number.isInteger(args.port) || args.port < 0 || args.port > 65535) throw new Error(`--port: '${args.port}' is not a port number`);
  const { serveCommand } = await import('./serve.js');
  return serveCommand({ ...machine, host: args.host, port: args.port });
}

/** -rtc base=…: a fixed date, or the host clock when asked for (utc/localtime). */
function parseRtc(s: string | undefined): number | undefined {
  if (s === undefined) return undefined;
  const m = /^base=(.+)$/.exec(s);
  if (!m) throw new Error(`-rtc: '${s}' is not base=DATE|utc|localtime`);
  const base = parseRtcBase(m[1]);
  return base ?? Math.floor(Date.now() / 1000);
}

async function dispatch(argv: string[]): Promise<number> {
  if (argv[0] === 'boot') return dispatchBoot(argv.slice(1));
  if (argv[0] === 'serve') return dispatchServe(argv.slice(1));
  if (argv[0] === 'img') return (await import('./img.js')).imgCommand(argv.slice(1));
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
  if (cmd !== 'run') throw new Error(`unknown command '${cmd}' (try 'emu run PROGRAM', 'emu boot -kernel FILE', 'emu serve -kernel FILE' or 'emu img')`);
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

export function parseSize(s: string, max = 4 * 2 ** 30): number {
  const m = /^(\d+)([KMG]?)$/i.exec(s);
  if (!m) throw new Error(`-m: '${s}' is not a size (e.g. 512M)`);
  const n = Number(m[1]) * { '': 1 << 20, K: 1 << 10, M: 1 << 20, G: 1 << 30 }[m[2].toUpperCase() as '' | 'K' | 'M' | 'G'];
  if (n < 16 << 20 || n > max) throw new Error(`-m: ${s} is outside 16M..${max / 2 ** 30}G`);
  if (n % 4096 !== 0) throw new Error(`-m: ${s} is not a multiple of 4K`);
  return n;
}

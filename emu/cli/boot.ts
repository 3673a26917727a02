/**
 * `emu boot`: a whole machine booting a multiboot kernel, COM1 on the
 * terminal. A thin layer over emu/machine: it reads files, routes logs,
 * drives the run loop in slices so that keystrokes and timeouts get through,
 * and turns the machine's stop into an exit status — the debug-exit status,
 * 124 on --timeout, 0 after Ctrl-A x or a shutdown.
 */
import * as fs from 'node:fs';
import { writeAll } from '../host-io.js';
import { Machine, type StopReason } from '../machine/machine.js';
import { Pacer } from '../machine/pacer.js';
import { BootError, type MultibootModule } from '../firmware/multiboot.js';
import { Console } from './console.js';
import { machineTrace } from './trace.js';
import { closeDrives, openDrives, withBootDisk, type DriveSpec } from './drive.js';
import { kernelFromDisk } from '../firmware/diskboot.js';
import { GptError } from '../firmware/gpt.js';
import type { DriveConfig } from '../machine/drives.js';
import { loadMachineFile, saveMachineFile } from './machine-state.js';

export interface BootOptions {
  /** The kernel file; without it, the kernel in the boot partition of `disk`. */
  kernel?: string;
  /** A disk made by mkdisk, attached as `-drive file=DISK,if=virtio` before the -drive ones. */
  disk?: string;
  append: string;
  initrd?: string;
  mem: number;
  smp: number;
  seed: bigint;
  timeout?: number;
  noReboot: boolean;
  serial: string;
  debug: string[];
  debugFile?: string;
  rtcBase?: number;
  jit: boolean;
  stats: boolean;
  /** Write every input byte with the virtual time it reached COM1 to this file. */
  record?: string;
  /** Feed COM1 from a file written by --record instead of the terminal. */
  replay?: string;
  /**
   * Keep virtual time from running ahead of host time (emu/machine/pacer.ts).
   * Default: on when COM1 is a terminal.
   */
  pace?: boolean;
  drives: DriveSpec[];
  /** Every drive's writes go to a throw-away overlay. */
  snapshot: boolean;
  /** Where --save-state-at and Ctrl-A s save the machine. */
  saveState?: string;
  /** Virtual time (ns) of the save: the first round boundary at or after it. */
  saveStateAt?: number;
  /** Resume this snapshot instead of booting (the kernel and drives are its own). */
  loadState?: string;
}

/**
 * A recording is one line per input chunk: the virtual time in ns, a space,
 * the bytes in hex. Replaying it gives the guest the same bytes at the same
 * virtual times, so an interactive session repeats byte for byte.
 */
function readRecording(path: string): { at: number; bytes: Uint8Array }[] {
  const text = readFile(path, '--replay').toString();
  return text.split('\n').filter((l) => l !== '').map((line, k) => {
    const m = /^(\d+) ((?:[0-9a-f]{2})+)$/.exec(line);
    if (!m) throw new Error(`--replay ${path}: line ${k + 1} is not "TIME HEXBYTES"`);
    return { at: Number(m[1]), bytes: Buffer.from(m[2], 'hex') };
  });
}

/** Log categories shown without -d: the loud ones (missing hardware, firmware remarks, COM2 lines). */
const ALWAYS = ['unimp', 'firmware', 'serial'];
const DEBUG_ITEMS = ['int', 'cpu', 'in_asm', 'cpu_reset', 'guest_errors', 'unimp'];
/** Virtual nanoseconds per slice of the run loop between looks at the host (input, timeout). */
const SLICE = 2_000_000;

export function readFile(path: string, what: string): Uint8Array {
  try {
    return fs.readFileSync(path);
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'ENOENT') throw new Error(`${what} ${path}: no such file`);
    if (code === 'EISDIR') throw new Error(`${what} ${path}: is a directory`);
    throw new Error(`${what} ${path}: ${(e as Error).message}`);
  }
}

/** QEMU's -initrd for multiboot: comma-separated modules, each "FILE [ARGS]"; ",," is a literal comma. */
export function parseModules(spec: string | undefined): MultibootModule[] {
  if (!spec) return [];
  return spec.split(/(?<!,),(?!,)/).map((item) => {
    const text = item.replace(/,,/g, ',');
    const file = text.split(' ')[0];
    return { name: file, bytes: readFile(file, '-initrd'), cmdline: text };
  });
}

export async function bootCommand(o: BootOptions): Promise<number> {
  const unknown = o.debug.find((d) => !DEBUG_ITEMS.includes(d));
  if (unknown) throw new Error(`-d: unknown item '${unknown}' (known: ${DEBUG_ITEMS.join(', ')})`);
  const serialMatch = /^(stdio|none|file:(.+))$/.exec(o.serial);
  if (!serialMatch) throw new Error(`-serial: '${o.serial}' is not stdio, none or file:PATH`);
  const kernelFile = o.kernel === undefined ? undefined : { name: o.kernel, bytes: readFile(o.kernel, '-kernel') };
  const modules = parseModules(o.initrd);

  let logFd = 2;
  if (o.debugFile) {
    try { logFd = fs.openSync(o.debugFile, 'w'); } catch (e) { throw new Error(`-D ${o.debugFile}: ${(e as Error).message}`); }
  }
  let serialFd = -1;
  if (serialMatch[2]) {
    try { serialFd = fs.openSync(serialMatch[2], 'w'); } catch (e) { throw new Error(`-serial ${o.serial}: ${(e as Error).message}`); }
  }
  const shown = new Set([...ALWAYS, ...o.debug]);
  const log = (category: string, line: string): void => {
    if (shown.has(category)) writeAll(logFd, `emu: ${line}\n`);
  };
  const pending: number[] = [];
  const flushSerial = (): void => {
    if (pending.length === 0) return;
    const bytes = Buffer.from(pending);
    pending.length = 0;
    if (serialMatch[1] === 'stdio') process.stdout.write(bytes);
    else if (serialFd >= 0) writeAll(serialFd, bytes);
  };
  const traceItems = o.debug.filter((d) => d === 'cpu' || d === 'in_asm');

  const driveSpecs = withBootDisk(o.disk, o.drives);
  let drives: DriveConfig[] = openDrives(driveSpecs, o.snapshot);
  let machine: Machine;
  if (o.loadState !== undefined) {
    machine = loadMachineFile(o.loadState, {
      jit: o.jit, log, serial: (b) => { pending.push(b); },
      trace: traceItems.length ? machineTrace(traceItems, (line) => writeAll(logFd, line + '\n')) : undefined,
    });
    drives = machine.config.drives ?? [];
  } else try {
    const boot = kernelFile ? { kernel: kernelFile, append: o.append, notes: [] } : kernelFromDisk(drives[0].disk, o.append);
    for (const note of boot.notes) log('firmware', note);
    machine = new Machine({
      ramBytes: o.mem, cpus: o.smp, seed: o.seed, kernel: boot.kernel, append: boot.append, modules, drives,
      noReboot: o.noReboot, rtcBase: o.rtcBase, jit: o.jit, log,
      serial: (b) => { pending.push(b); },
      trace: traceItems.length ? machineTrace(traceItems, (line) => writeAll(logFd, line + '\n')) : undefined,
    });
  } catch (e) {
    closeDrives(drives);
    if (e instanceof BootError) throw new Error(kernelFile ? e.message : `${o.disk}: the kernel in its boot partition: ${e.message}`);
    if (e instanceof GptError) throw new Error(e.message);
    throw e;
  }

  const recording: string[] = [];
  if (o.replay) for (const { at, bytes } of readRecording(o.replay)) machine.scheduleSerial(at, bytes);
  let saveRequested = false, saveAt = o.saveStateAt ?? Infinity;
  /** Ctrl-A s without --save-state names the file after the virtual time. */
  const save = (): void => {
    const file = o.saveState ?? `emu-${machine.clock.now}ns.snap`;
    const size = saveMachineFile(file, machine);
    const kib = Math.ceil(size / 1024);
    process.stderr.write(`emu: machine saved to ${file} at virtual time ${(machine.clock.now / 1e6).toFixed(3)} ms (${kib < 1024 ? `${kib} KiB` : `${(kib / 1024).toFixed(1)} MiB`})\r\n`);
  };
  let quit = false, inputEnded = serialMatch[1] !== 'stdio' || o.replay !== undefined;
  let wake: (() => void) | null = null;
  const console = new Console({
    input: (bytes) => {
      if (o.replay) return;
      if (o.record) recording.push(`${machine.clock.now} ${Buffer.from(bytes).toString('hex')}`);
      machine.sendSerial(bytes);
      wake?.();
    },
    quit: () => { quit = true; wake?.(); },
    save: () => { saveRequested = true; wake?.(); },
    end: () => { inputEnded = true; wake?.(); },
  });
  if (serialMatch[1] === 'stdio') console.open();
  let timedOut = false;
  const timer = o.timeout !== undefined ? setTimeout(() => { timedOut = true; wake?.(); }, o.timeout * 1000) : null;
  timer?.unref();
  const started = process.hrtime.bigint();
  const pace = o.pace ?? (serialMatch[1] === 'stdio' && process.stdin.isTTY === true);
  const pacer = new Pacer(() => performance.now());
  pacer.anchor(machine.clock.now);

  try {
    for (;;) {
      const r: StopReason = machine.run(Math.min(machine.clock.now + SLICE, saveAt));
      flushSerial();
      if (machine.clock.now >= saveAt) { saveAt = Infinity; save(); }
      if (saveRequested) {
        saveRequested = false;
        // A failed Ctrl-A s is reported and the session goes on; a failed --save-state-at ends it.
        try { save(); } catch (e) { process.stderr.write(`emu: ${(e as Error).message}\r\n`); }
      }
      if (quit) return 0;
      if (timedOut) { log('firmware', `timeout after ${o.timeout} s`); return 124; }
      switch (r.kind) {
        case 'time': {
          // A keystroke or Ctrl-A ends the wait early, so the console stays responsive.
          const wait = pace ? Math.min(pacer.ahead(machine.clock.now), 100) : 0;
          if (wait >= 1) {
            await new Promise<void>((resolve) => { wake = resolve; setTimeout(resolve, wait); });
            wake = null;
          } else await new Promise((resolve) => setImmediate(resolve));
          continue;
        }
        case 'idle':
          if (inputEnded) {
            writeAll(logFd, 'emu: every CPU is halted and nothing is left to wake one (no timer armed, no input)\n');
            return 1;
          }
          await new Promise<void>((resolve) => { wake = resolve; });
          wake = null;
          continue;
        case 'exit': return r.status;
        case 'shutdown': writeAll(logFd, `emu: shutdown: ${r.reason}\n`); return 0;
        case 'error': writeAll(logFd, `emu: ${r.message}\n`); return 1;
      }
    }
  } finally {
    flushSerial();
    if (saveAt !== Infinity) writeAll(logFd, `emu: the run ended at virtual time ${(machine.clock.now / 1e6).toFixed(3)} ms, before --save-state-at; nothing was saved\n`);
    console.close();
    closeDrives(drives);
    if (timer) clearTimeout(timer);
    if (o.stats) {
      const secs = Number(process.hrtime.bigint() - started) / 1e9;
      const n = machine.vcpus.reduce((s, v) => s + v.cpu.icount, 0);
      writeAll(logFd, `emu: ${n} instructions in ${secs.toFixed(3)} s (${(n / secs / 1e6).toFixed(1)} MIPS), virtual time ${(machine.clock.now / 1e6).toFixed(3)} ms\n`);
    }
    if (logFd !== 2) fs.closeSync(logFd);
    if (serialFd >= 0) fs.closeSync(serialFd);
    if (o.record) {
      fs.writeFileSync(o.record + '.tmp', recording.map((l) => l + '\n').join(''));
      fs.renameSync(o.record + '.tmp', o.record);
    }
  }
}

/** `emu run`: load, run, report, exit with the program's status. */
import * as fs from 'node:fs';
import { writeAll } from '../host-io.js';
import { LinuxProcess } from '../linux/process.js';
import { ElfError } from '../linux/elf.js';
import { OutOfMemory } from '../linux/addrspace.js';
import { traceHook } from './trace.js';

export interface RunCommandOptions {
  seed: bigint;
  hostTime: boolean;
  mem: number;
  debug: string[];
  debugFile?: string;
  stats: boolean;
  jit: boolean;
}

export function runCommand(program: string, args: string[], o: RunCommandOptions): number {
  let logFd = 2;
  if (o.debugFile) {
    try { logFd = fs.openSync(o.debugFile, 'w'); } catch (e) { throw new Error(`-D ${o.debugFile}: ${(e as Error).message}`); }
  }
  const log = (line: string): void => { writeAll(2, line + '\n'); };
  const traceLog = (line: string): void => { writeAll(logFd, line + '\n'); };
  const unknown = o.debug.filter((d) => d !== 'in_asm' && d !== 'cpu');
  if (unknown.length) throw new Error(`-d: unknown item '${unknown[0]}' (known: in_asm, cpu)`);
  let proc: LinuxProcess;
  try {
    const env = Object.entries(process.env).map(([k, v]) => `${k}=${v ?? ''}`);
    proc = LinuxProcess.fromFile(program, {
      argv: [program, ...args], env, seed: o.seed, hostTime: o.hostTime, memBytes: o.mem, log, jit: o.jit,
      trace: o.debug.length ? traceHook(o.debug, traceLog) : undefined,
    });
  } catch (e) {
    if (e instanceof ElfError) throw new Error(`${program}: ${e.message}`);
    const code = (e as { code?: string }).code;
    if (code === 'ENOENT') throw new Error(`${program}: no such file`);
    if (code === 'EISDIR') throw new Error(`${program}: is a directory`);
    if (code === 'EACCES') throw new Error(`${program}: permission denied`);
    throw e;
  }
  const started = process.hrtime.bigint();
  try {
    const status = proc.run();
    if (o.stats) {
      const secs = Number(process.hrtime.bigint() - started) / 1e9;
      log(`emu: ${proc.cpu.icount} instructions in ${secs.toFixed(3)} s (${(proc.cpu.icount / secs / 1e6).toFixed(1)} MIPS)`);
    }
    return status;
  } catch (e) {
    if (e instanceof OutOfMemory) { log(`emu: ${program}: ${e.message}`); return 137; }
    throw e;
  } finally {
    if (logFd !== 2) fs.closeSync(logFd);
  }
}

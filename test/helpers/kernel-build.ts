/**
 * Kernels for tests: one built once per test file (in its beforeAll, into a
 * temporary directory removed afterwards), and a boot of one in a Session
 * to its exit.
 */
import { afterAll, beforeAll } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Session } from '../../emu/machine/session.js';
import { buildElf } from '../../tools/wasm2x64/ts2elf.js';
import { ROOT } from './emu.js';

/**
 * Builds `src` (relative to the repository) with `ts2elf --target kernel`
 * before the file's tests; returns the ELF's path, valid once they run.
 */
export function builtKernel(src: string): () => string {
  let dir = '';
  const elf = (): string => path.join(dir, `${path.basename(src, '.ts')}.elf`);
  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kernel-build-'));
    await buildElf(path.join(ROOT, src), elf(), { target: 'kernel' });
  }, 120_000);
  afterAll(() => { fs.rmSync(dir, { recursive: true, force: true }); });
  return elf;
}

export interface KernelBoot {
  cpus: number;
  seed: bigint;
  append?: string;
  /** Typed on COM1 from the start. */
  input?: string;
  /** Virtual nanoseconds before the boot counts as hung (default 20 s). */
  virtualTimeout?: number;
}

/** A Session of the kernel at `elf`, stopping rather than rebooting on a reset. */
export function kernelSession(elf: string, b: Omit<KernelBoot, 'input' | 'virtualTimeout'>): Session {
  return new Session({ kernel: { name: 'kernel.elf', bytes: fs.readFileSync(elf) }, cpus: b.cpus, seed: b.seed, append: b.append, noReboot: true });
}

/** Boots the kernel at `elf` to its exit: COM1's transcript, the exit status (null if it did not exit), each CPU's instruction count. */
export async function bootKernel(elf: string, b: KernelBoot): Promise<{ out: string; status: number | null; instructions: number[] }> {
  const s = kernelSession(elf, b);
  if (b.input) s.serial.send(b.input);
  const stop = await s.runToExit({ virtualTimeout: b.virtualTimeout ?? 20e9 });
  return { out: s.serial.output, status: stop.kind === 'exit' ? stop.status : null, instructions: s.cpus().map((c) => c.instructions) };
}

/** Runs the built `emu` command line (dist/, built by `pretest`) as a user would. */
import { spawn } from 'node:child_process';
import { expect } from 'vitest';
import { fileURLToPath } from 'node:url';
import * as path from 'node:path';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const EMU = path.join(ROOT, 'bin/emu.mjs');

export interface EmuResult { status: number | null; stdout: Buffer; stderr: string }

export function runEmu(args: string[], opts: { env?: Record<string, string>; stdin?: string } = {}): Promise<EmuResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [EMU, ...args], {
      cwd: ROOT,
      env: opts.env ?? {},
      stdio: [opts.stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    let err = '';
    child.stdout!.on('data', (d: Buffer) => out.push(d));
    child.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
    if (opts.stdin !== undefined) child.stdin!.end(opts.stdin);
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout: Buffer.concat(out), stderr: err }));
  });
}

/** Bad input's contract: a non-zero exit, nothing on stdout, and one stderr line matching `pattern`. */
export async function expectRefusal(args: string[], pattern: RegExp): Promise<void> {
  const r = await runEmu(args);
  expect(r.status).not.toBe(0);
  expect(r.stdout.length).toBe(0);
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(pattern);
}

/** Shared by the storage tests: temporary directories, bundled entry points, child processes. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

export { data, prng, uuid } from './random.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export function tempDir(tag: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `emu-storage-${tag}-`));
}

/**
 * Bundles a TypeScript entry point (or inline source) for a child process. The output sits
 * under node_modules/.cache so that its external packages resolve from the repository.
 */
export async function bundle(name: string, contents: string): Promise<string> {
  const outfile = path.join(ROOT, 'node_modules/.cache/storage-test', `${name}.mjs`);
  await build({
    stdin: { contents, resolveDir: ROOT, loader: 'ts', sourcefile: `${name}.ts` },
    outfile, bundle: true, platform: 'node', format: 'esm', target: 'node20', packages: 'external', logLevel: 'warning',
  });
  return outfile;
}

export interface Run { status: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }

/** killAfterMs counts from the child's first line of output, so that its start-up time does not blur the kill point. */
export function runNode(script: string, args: string[], opts: { cwd?: string; killAfterMs?: number } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], { cwd: opts.cwd ?? ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: {} });
    let stdout = '', stderr = '';
    let timer: NodeJS.Timeout | undefined;
    child.stdout.on('data', (d: Buffer) => {
      if (stdout === '' && opts.killAfterMs !== undefined) timer = setTimeout(() => child.kill('SIGKILL'), opts.killAfterMs);
      stdout += d;
    });
    child.stderr.on('data', (d: Buffer) => { stderr += d; });
    child.on('error', reject);
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      resolve({ status, signal, stdout, stderr });
    });
  });
}

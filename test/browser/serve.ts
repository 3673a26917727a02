/**
 * Runs the built `emu serve` (as a user would) on a free port and returns
 * the URL it prints. stop() ends exactly the process it started.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { ROOT } from '../helpers/emu.js';

export interface Served { url: string; stop(): Promise<void> }

const START_DEADLINE_MS = 60_000;

export function serve(args: string[]): Promise<Served> {
  const child: ChildProcess = spawn(process.execPath, [path.join(ROOT, 'bin/emu.mjs'), 'serve', '--port', '0', ...args], {
    cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stop = (): Promise<void> => new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) { resolve(); return; }
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
  return new Promise((resolve, reject) => {
    let out = '', err = '';
    const timer = setTimeout(() => { void stop(); reject(new Error(`emu serve printed no URL within ${START_DEADLINE_MS / 1000} s:\n${out}${err}`)); }, START_DEADLINE_MS);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /serving .* at (http:\/\/\S+\/) /.exec(out);
      if (m) { clearTimeout(timer); resolve({ url: m[1], stop }); }
    });
    child.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`emu serve exited (${code}) before serving:\n${out}${err}`)); });
  });
}

/**
 * The process the crash test kills: opens an image, does crashOps(seed), and prints "F n"
 * once the n-th flush has returned. With a kill point it dies by its own SIGKILL at its
 * n-th file operation, a write torn after `tear` bytes, to hit every instant between syscalls.
 */
import * as fs from 'node:fs';
import { nodeEnv, NodeFile } from '../../emu/storage/node.js';
import { openDisk } from '../../emu/storage/open.js';
import type { Env } from '../../emu/storage/host.js';
import { crashOps } from './crash-ops.js';

const [file, seedArg, killAtArg, tearArg] = process.argv.slice(2);
let ops = 0;
const killAt = killAtArg === undefined ? -1 : Number(killAtArg);

function die(): never {
  process.kill(process.pid, 'SIGKILL');
  for (;;);
}

function point(): void {
  if (ops++ === killAt) die();
}

class DyingFile extends NodeFile {
  override write(pos: number, bytes: Uint8Array): void {
    if (ops === killAt) {
      super.write(pos, bytes.subarray(0, Math.floor(Number(tearArg) * bytes.length)));
      die();
    }
    point();
    super.write(pos, bytes);
  }
  override sync(): void { point(); super.sync(); }
  override truncate(len: number): void { point(); super.truncate(len); }
}

// Always counting, so that an uninterrupted run reports how many kill points there are.
const env: Env = {
  codec: nodeEnv.codec,
  host: { ...nodeEnv.host, open: (p, mode) => new DyingFile(p, fs.openSync(p, mode === 'r' ? 'r' : 'r+')) },
};

const d = openDisk(env, file, { writable: true });
const start = performance.now();
fs.writeSync(1, 'ready\n');
let flushes = 0;
for (const op of crashOps(Number(seedArg))) {
  if (op === 'flush') {
    d.flush();
    fs.writeSync(1, `F ${++flushes}\n`);
  } else d.write(op.pos, op.bytes);
}
fs.writeSync(1, `done ${ops} ${(performance.now() - start).toFixed(1)}\n`);

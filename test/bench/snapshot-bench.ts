/**
 * The `snapshot` section's measurement (bundled and run by snapshot.mjs in a
 * fresh Node): a 256 MiB machine that has run bench-memloop.elf part-way,
 * saved and restored; then the same with 64 MiB more of RAM written, a larger
 * working set. Prints one JSON line.
 */
import { readFileSync } from 'node:fs';
import { Machine } from '../../emu/machine/machine.js';
import { loadState, saveState } from '../../emu/machine/snapshot.js';
import { snapshotCodec } from '../../emu/cli/machine-state.js';

const RUNS = 5;
const codec = snapshotCodec;
const noDisks = (): never => { throw new Error('no disks'); };

function best<T>(fn: () => T): { ms: number; value: T } {
  let ms = Infinity, value!: T;
  for (let k = 0; k < RUNS; k++) {
    const t = process.hrtime.bigint();
    value = fn();
    ms = Math.min(ms, Number(process.hrtime.bigint() - t) / 1e6);
  }
  return { ms, value };
}

/** Fills `bytes` at `from` with pages like a kernel's: a quarter random bytes, the rest small structured words. */
function working(bytes: Uint8Array, from: number, len: number): void {
  let x = 0x2545f491;
  for (let p = from; p < from + len; p += 4096) {
    for (let i = 0; i < 1024; i++) { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; bytes[p + i] = x & 0xff; }
    for (let i = 1024; i < 4096; i += 8) bytes[p + i] = (i >> 3) & 0x3f;
  }
}

const m = new Machine({
  ramBytes: 256 << 20, cpus: 1, seed: 0n, noReboot: true,
  kernel: { name: 'bench-memloop.elf', bytes: readFileSync('test/guest/bin/bench-memloop.elf') },
});
m.run(40e6);
const rows = [];
for (const extra of [0, 64 << 20]) {
  if (extra) working(m.phys.bytes, 128 << 20, extra);
  const save = best(() => saveState(m, codec));
  const restore = best(() => loadState('bench.snap', save.value, { codec, openDisk: noDisks }));
  let touched = 0;
  for (let c = 0; c < m.phys.size; c += 65536) if (m.phys.bytes.subarray(c, c + 65536).some((b) => b !== 0)) touched++;
  rows.push({ touchedMiB: touched / 16, fileMiB: save.value.length / 2 ** 20, saveMs: save.ms, restoreMs: restore.ms, same: restore.value.clock.now === m.clock.now });
}
console.log(JSON.stringify(rows));

// `npm run bench`: CPU-bound programs natively and under `emu run`, in the same run.
// Prints guest MIPS and the slowdown against native (wall time, best of N).
// A benchmark, not a test: nothing here passes or fails on speed.
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const programs = (process.argv[2] ?? 'crc32,sha256,sieve,qsort,bignum').split(',');
const libc = process.env.BENCH_LIBC ?? 'musl';
// e.g. BENCH_EMU_FLAGS=--no-jit to measure the interpreter alone.
const emuFlags = (process.env.BENCH_EMU_FLAGS ?? '').split(' ').filter(Boolean);
const NATIVE_RUNS = 10, EMU_RUNS = 1;

function best(runs, fn) {
  let t = Infinity, last;
  for (let k = 0; k < runs; k++) { const s = process.hrtime.bigint(); last = fn(); t = Math.min(t, Number(process.hrtime.bigint() - s) / 1e9); }
  return { t, last };
}

const rows = [];
for (const name of programs) {
  const bin = path.join(root, 'test/fixtures/bin', `${name}-${libc}`);
  const native = best(NATIVE_RUNS, () => spawnSync(bin, [], { cwd: root, env: {} }));
  if (native.last.status !== 0) throw new Error(`${name}: native run failed`);
  const emu = best(EMU_RUNS, () => spawnSync(process.execPath, [path.join(root, 'bin/emu.mjs'), 'run', '--stats', ...emuFlags, bin], { cwd: root, env: {} }));
  const m = /emu: (\d+) instructions in ([\d.]+) s/.exec(emu.last.stderr.toString());
  if (emu.last.status !== 0 || !m) throw new Error(`${name}: emu run failed: ${emu.last.stderr}`);
  const insns = Number(m[1]), runSecs = Number(m[2]);
  rows.push({ name: `${name}-${libc}`, native: native.t, emu: emu.t, insns, mips: insns / runSecs / 1e6, ratio: emu.t / native.t, loopRatio: runSecs / native.t });
}

const pad = (s, n) => String(s).padStart(n);
// "wall" is the whole `emu run` (Node start-up and loading included) against the
// whole native process; "run" counts only the emulator's run loop.
console.log(`${'program'.padEnd(14)} ${pad('native s', 9)} ${pad('emu s', 8)} ${pad('guest insns', 12)} ${pad('MIPS', 7)} ${pad('wall', 8)} ${pad('run', 8)}`);
for (const r of rows) {
  console.log(`${r.name.padEnd(14)} ${pad(r.native.toFixed(3), 9)} ${pad(r.emu.toFixed(2), 8)} ${pad(r.insns, 12)} ${pad(r.mips.toFixed(1), 7)} ${pad(r.ratio.toFixed(1) + 'x', 8)} ${pad(r.loopRatio.toFixed(1) + 'x', 8)}`);
}
const geo = (key) => Math.exp(rows.reduce((a, r) => a + Math.log(r[key]), 0) / rows.length);
console.log(`geometric mean slowdown: ${geo('ratio').toFixed(1)}x wall, ${geo('loopRatio').toFixed(1)}x run loop` +
  ` (targets: interpreter <= 60x, JIT <= 8x; this run: ${emuFlags.includes('--no-jit') ? 'interpreter only' : 'with the block JIT'})`);

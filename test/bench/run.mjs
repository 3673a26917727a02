// `npm run bench`: CPU-bound programs natively and under `emu run`, in the same run.
// Prints guest MIPS and the slowdown against native (wall time, best of N); then
// the time `emu boot` takes to boot a small kernel to its exit, and the memloop
// benchmark in system mode (`emu boot`, paging on) beside user mode (`emu run`).
// A benchmark, not a test: nothing here passes or fails on speed. See README.md.
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchAot } from './aot.mjs';
import { benchSnapshot } from './snapshot.mjs';
import { benchImage } from './image.mjs';
import { benchKernel } from './kernel.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
// Fixture programs by name, plus `boot`, `memloop`, `aot`, `snapshot`, `image` and `kernel` for the sections after the table.
const names = (process.argv[2] ?? 'crc32,sha256,sieve,qsort,bignum,boot,memloop,aot,snapshot,image,kernel').split(',');
const SECTIONS = ['boot', 'memloop', 'aot', 'snapshot', 'image', 'kernel'];
const programs = names.filter((n) => !SECTIONS.includes(n));
const libc = process.env.BENCH_LIBC ?? 'musl';
// e.g. BENCH_EMU_FLAGS=--no-jit to measure the interpreter alone.
const emuFlags = (process.env.BENCH_EMU_FLAGS ?? '').split(' ').filter(Boolean);
const NATIVE_RUNS = 10, EMU_RUNS = 1, BOOT_RUNS = 10, QEMU_RUNS = 3, MEMLOOP_RUNS = 5;
const emuBin = path.join(root, 'bin/emu.mjs');

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
const header = () => console.log(`${'program'.padEnd(14)} ${pad('native s', 9)} ${pad('emu s', 8)} ${pad('guest insns', 12)} ${pad('MIPS', 7)} ${pad('wall', 8)} ${pad('run', 8)}`);
const printRow = (r) => console.log(`${r.name.padEnd(14)} ${pad(r.native.toFixed(3), 9)} ${pad(r.emu.toFixed(2), 8)} ${pad(r.insns, 12)} ${pad(r.mips.toFixed(1), 7)} ${pad(r.ratio.toFixed(1) + 'x', 8)} ${pad(r.loopRatio.toFixed(1) + 'x', 8)}`);
if (rows.length) {
  header();
  for (const r of rows) printRow(r);
  const geo = (key) => Math.exp(rows.reduce((a, r) => a + Math.log(r[key]), 0) / rows.length);
  console.log(`geometric mean slowdown: ${geo('ratio').toFixed(1)}x wall, ${geo('loopRatio').toFixed(1)}x run loop` +
    ` (targets: interpreter <= 60x, JIT <= 8x; this run: ${emuFlags.includes('--no-jit') ? 'interpreter only' : 'with the block JIT'})`);
}

/**
 * Runs each of `jobs` ({ args, status, what }) under emu `runs` times, interleaved so that
 * a change in host load hits them alike: per job, the best wall time and the best run
 * loop with its instruction count (--stats).
 */
function emuBest(runs, jobs) {
  const res = jobs.map(() => ({ wall: Infinity, loop: Infinity, insns: 0 }));
  for (let k = 0; k < runs; k++) {
    jobs.forEach(({ args, status, what }, j) => {
      const s = process.hrtime.bigint();
      const r = spawnSync(process.execPath, [emuBin, ...args], { cwd: root, env: {} });
      res[j].wall = Math.min(res[j].wall, Number(process.hrtime.bigint() - s) / 1e9);
      const m = /emu: (\d+) instructions in ([\d.]+) s/.exec(r.stderr.toString());
      if (r.status !== status || !m) throw new Error(`${what}: emu exited with ${r.status ?? r.signal} (want ${status}): ${r.stderr}`);
      res[j].loop = Math.min(res[j].loop, Number(m[2]));
      res[j].insns = Number(m[1]);
    });
  }
  return res;
}
const ms = (secs) => (secs * 1000).toFixed(0);

// Boot: `emu boot` of test/guest/bin/hello.elf, from spawning Node to the guest's
// write to the debug-exit port (status 1), against a Node process that does nothing.
if (names.includes('boot')) {
  const hello = 'test/guest/bin/hello.elf';
  const [boot] = emuBest(BOOT_RUNS, [{ args: ['boot', '-kernel', hello, '-serial', 'none', '--stats', ...emuFlags], status: 1, what: 'boot hello.elf' }]);
  const node = best(BOOT_RUNS, () => spawnSync(process.execPath, ['-e', ''], { cwd: root, env: {} }));
  console.log(`boot hello.elf to exit: ${ms(boot.wall)} ms wall, best of ${BOOT_RUNS} (\`node -e ''\` ${ms(node.t)} ms, so emu's own ${ms(boot.wall - node.t)} ms;` +
    ` run loop ${ms(boot.loop)} ms for ${boot.insns} guest insns)`);
  // Informational only, when QEMU happens to be installed: the same image, SeaBIOS and all.
  const qemuArgs = ['-machine', 'pc', '-cpu', 'max', '-m', '256M', '-display', 'none', '-serial', 'null', '-monitor', 'none', '-net', 'none',
    '-no-reboot', '-device', 'isa-debug-exit,iobase=0xf4,iosize=0x04', '-kernel', hello];
  const qemuEnv = { PATH: process.env.PATH ?? '/usr/bin:/bin' };
  if (!spawnSync('qemu-system-x86_64', ['--version'], { env: qemuEnv }).error) {
    const q = best(QEMU_RUNS, () => spawnSync('qemu-system-x86_64', qemuArgs, { cwd: root, env: qemuEnv }));
    console.log(q.last.status === 1
      ? `  (informational: qemu-system-x86_64 boots the same image to exit in ${ms(q.t)} ms, best of ${QEMU_RUNS})`
      : `  (informational: qemu-system-x86_64 did not run the image: status ${q.last.status ?? q.last.signal})`);
  }
}

// memloop: the same loop (test/bench/memloop.inc) natively, under `emu run` (user mode)
// and under `emu boot` at CPL 0 with 4-level paging and 4 KiB pages (system mode).
if (names.includes('memloop')) {
  const user = path.join(root, 'test/bench/bin/memloop-user');
  const guest = path.join(root, 'test/guest/bin/bench-memloop.elf');
  const native = best(NATIVE_RUNS, () => spawnSync(user, [], { cwd: root, env: {} }));
  if (native.last.status !== 0) throw new Error(`memloop: native run failed (status ${native.last.status ?? native.last.signal})`);
  const [u, s] = emuBest(MEMLOOP_RUNS, [
    { args: ['run', '--stats', ...emuFlags, user], status: 0, what: 'memloop-user' },
    { args: ['boot', '-kernel', guest, '-serial', 'none', '--stats', ...emuFlags], status: 1, what: 'bench-memloop.elf' },
  ]);
  const row = (name, e) => ({ name, native: native.t, emu: e.wall, insns: e.insns, mips: e.insns / e.loop / 1e6, ratio: e.wall / native.t, loopRatio: e.loop / native.t });
  const ru = row('memloop-user', u), rs = row('memloop-system', s);
  console.log(`memloop: 6 MiB sieve + CRC-32, user mode (emu run) and system mode (emu boot, long mode, 4 KiB pages); best of ${MEMLOOP_RUNS}`);
  header();
  printRow(ru);
  printRow(rs);
  console.log(`system/user: ${(rs.mips / ru.mips).toFixed(2)}x the MIPS, ${(ru.mips / rs.mips).toFixed(2)}x the time per instruction` +
    ` (target: system mode with paging costs at most ~1.20x)`);
}

// aot: tools/wasm2x64's code against V8 on the same .wasm, and its compile speed (aot.mjs).
if (names.includes('aot')) await benchAot(root, best);

// snapshot: machine snapshot save and restore for a 256 MiB guest (snapshot.mjs).
if (names.includes('snapshot')) await benchSnapshot(root);

// image: dfly image write and read throughput against raw node:zlib on the same chunks (image.mjs).
if (names.includes('image')) await benchImage(root);

// kernel: the kernel's micro-benchmarks and its boot to the monitor prompt (kernel.mjs).
if (names.includes('kernel')) await benchKernel(root);

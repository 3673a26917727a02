// The `aot` section of `npm run bench`: the AssemblyScript programs of test/fixtures/as
// compiled by tools/wasm2x64 (through `ts2elf`) and run natively, against V8 running the
// same .wasm with TurboFan (`node --no-liftoff`), in the same run; and how fast the
// compiler itself is, in functions per second of wasm → ELF: in a fresh process (what one
// `ts2elf` run costs, mostly V8 warming up the compiler) and warm (the compiler's own speed).
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const PROGRAMS = ['sha256', 'sort', 'sieve', 'bignum', 'interp', 'floats'];
const NATIVE_RUNS = 10, V8_RUNS = 10, WARM_COMPILES = 5;

/**
 * V8's time per program: instantiation plus `_start`, best of V8_RUNS, in one Node
 * process with Liftoff off so that TurboFan compiles everything up front (module
 * compilation is outside the timed part, as the AOT compile is outside the native one).
 */
function v8Times(root, wasms) {
  const script = `
    import { run } from ${JSON.stringify(path.join(root, 'test/fixtures/as/build.mjs'))};
    import * as fs from 'node:fs';
    const out = {};
    for (const [name, file] of Object.entries(${JSON.stringify(wasms)})) {
      const wasm = fs.readFileSync(file);
      let best = Infinity;
      for (let k = 0; k < ${V8_RUNS}; k++) best = Math.min(best, run(wasm).ms);
      out[name] = best / 1000;
    }
    console.log(JSON.stringify(out));`;
  const r = spawnSync(process.execPath, ['--no-liftoff', '--input-type=module', '-e', script], { cwd: root });
  if (r.status !== 0) throw new Error(`aot: the V8 runs failed: ${r.stderr}`);
  return JSON.parse(r.stdout.toString());
}

export async function benchAot(root, best) {
  const { compile } = await import(path.join(root, 'test/fixtures/as/build.mjs'));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'damselfly-aot-'));
  try {
    const wasms = {};
    let funcs = 0, coldSecs = 0, warmSecs = 0;
    const { ts2elf } = await import(path.join(root, 'dist/ts2elf.mjs'));
    for (const name of PROGRAMS) {
      wasms[name] = path.join(dir, `${name}.wasm`);
      fs.writeFileSync(wasms[name], await compile(name));
      const r = spawnSync(process.execPath, [path.join(root, 'bin/ts2elf.mjs'), wasms[name], '-o', path.join(dir, name), '--target', 'linux-user', '--stats'], { cwd: root });
      const m = /(\d+) functions compiled in ([\d.]+) ms/.exec(r.stderr.toString());
      if (r.status !== 0 || !m) throw new Error(`aot: ts2elf ${name} failed: ${r.stderr}`);
      funcs += Number(m[1]);
      coldSecs += Number(m[2]) / 1000;
    }
    // Warm: this process compiles every program several times and keeps each one's best.
    for (const name of PROGRAMS) {
      let bestMs = Infinity;
      for (let k = 0; k < WARM_COMPILES; k++) await ts2elf(wasms[name], { target: 'linux-user', stats: (_n, ms) => { bestMs = Math.min(bestMs, ms); } });
      warmSecs += bestMs / 1000;
    }
    const v8 = v8Times(root, wasms);
    console.log(`aot: AssemblyScript programs, wasm2x64 native code against V8 TurboFan on the same .wasm (best of ${NATIVE_RUNS} / ${V8_RUNS})`);
    console.log(`${'program'.padEnd(10)} ${'native ms'.padStart(10)} ${'V8 ms'.padStart(8)} ${'ratio'.padStart(7)}`);
    let logSum = 0;
    // What spawning a process costs here, to take out of the native times: V8's are in-process.
    const spawnCost = best(NATIVE_RUNS, () => spawnSync('/bin/true', [], { env: {} })).t;
    for (const name of PROGRAMS) {
      const native = best(NATIVE_RUNS, () => spawnSync(path.join(dir, name), [], { env: {} }));
      if (native.last.status !== 0) throw new Error(`aot: ${name} exited with ${native.last.status ?? native.last.signal}`);
      native.t = Math.max(native.t - spawnCost, 1e-6);
      const ratio = native.t / v8[name];
      logSum += Math.log(ratio);
      console.log(`${name.padEnd(10)} ${(native.t * 1000).toFixed(1).padStart(10)} ${(v8[name] * 1000).toFixed(1).padStart(8)} ${(ratio.toFixed(2) + 'x').padStart(7)}`);
    }
    console.log(`geometric mean: ${Math.exp(logSum / PROGRAMS.length).toFixed(2)}x V8's time (target <= 1.5x;` +
      ` native times less ${(spawnCost * 1000).toFixed(1)} ms, the cost of spawning /bin/true)`);
    const speed = (secs) => `${(secs * 1000).toFixed(0)} ms, ${(funcs / secs).toFixed(0)} functions/s`;
    console.log(`compile speed (wasm → ELF, assembler included; ${funcs} functions): a fresh ts2elf process each ${speed(coldSecs)}; warm ${speed(warmSecs)}`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

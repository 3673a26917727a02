#!/usr/bin/env node
/**
 * The assembler's speed, in source lines per second:
 *
 *   node tools/asm/bench.mjs [--save DIR] [FILE.wasm | FILE.s]...
 *
 * Inputs: what tools/wasm2x64 writes for each .wasm (linux-user target; default
 * build/as/{sha256,sort,interp,bignum}.wasm), any .s files (64-bit, flat), the
 * golden programs and the golden corpus one line at a time, as test/asm.test.ts
 * assembles it. `first` is the input's first assemble (for the first input, in
 * a cold process, as in one ts2elf run); `warm` the fastest repeat. --save writes the
 * wasm2x64 text to DIR, to benchmark the same text later whatever the compiler does.
 * Bundles the sources with esbuild, so it needs no build step.
 */
import { build } from 'esbuild';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');

// linux-user.ts calls assemble: a stand-in records the text and options it passes.
const capture = {
  name: 'capture',
  setup(b) {
    b.onResolve({ filter: /^\.\.\/asm\/index\.js$/ }, (a) => (a.importer.endsWith('linux-user.ts') ? { path: 'capture', namespace: 'capture' } : undefined));
    b.onLoad({ filter: /.*/, namespace: 'capture' }, () => ({
      resolveDir: root,
      contents: `import { assemble as real } from './tools/asm/index.ts';
export function assemble(src, opts) { globalThis.__asmCaptured?.(src, opts); return real(src, opts); }`,
    }));
  },
};

const dir = mkdtempSync(join(tmpdir(), 'asm-bench-'));
const bundle = join(dir, 'bench.mjs');
await build({
  stdin: {
    contents: `export { assemble } from './tools/asm/index.ts'; export { compileLinuxUser } from './tools/wasm2x64/linux-user.ts';`,
    resolveDir: root, loader: 'ts',
  },
  outfile: bundle, bundle: true, platform: 'node', format: 'esm', target: 'node20', packages: 'external', logLevel: 'warning',
  plugins: [capture],
});
const { assemble, compileLinuxUser } = await import(pathToFileURL(bundle).href);
rmSync(dir, { recursive: true });

const args = process.argv.slice(2);
let save;
const saveAt = args.indexOf('--save');
if (saveAt >= 0) { save = args[saveAt + 1]; args.splice(saveAt, 2); mkdirSync(save, { recursive: true }); }
const files = args.length > 0 ? args : ['sha256', 'sort', 'interp', 'bignum'].map((n) => join(root, `build/as/${n}.wasm`));

/** Inputs: a name, a count of lines, and a thunk that assembles them once. */
const inputs = [];
for (const f of files) {
  if (f.endsWith('.wasm')) {
    let got;
    globalThis.__asmCaptured = (src, opts) => { got = { src, opts }; };
    compileLinuxUser(readFileSync(f));
    globalThis.__asmCaptured = undefined;
    if (save) writeFileSync(join(save, basename(f, '.wasm') + '.s'), got.src);
    inputs.push({ name: basename(f), lines: got.src.split('\n').length, run: () => assemble(got.src, got.opts) });
  } else {
    const src = readFileSync(f, 'utf8');
    inputs.push({ name: basename(f), lines: src.split('\n').length, run: () => assemble(src, { file: basename(f), origin: 0x400000 }) });
  }
}
const golden = JSON.parse(readFileSync(join(root, 'test/golden/asm/cases.json'), 'utf8'));
for (const p of golden.programs) {
  const src = readFileSync(join(root, 'test/golden/asm/programs', p.name), 'utf8');
  const defines = Object.fromEntries([...src.matchAll(/--defsym=(\w+)=(\w+)/g)].map((m) => [m[1], BigInt(m[2])]));
  inputs.push({ name: p.name, lines: src.split('\n').length, run: () => assemble(src, { mode: p.mode, origin: BigInt(p.origin), file: p.name, defines }) });
}
inputs.push({
  name: 'golden lines', lines: golden.lines.length,
  run: () => { for (const c of golden.lines) { try { assemble(c.src, { mode: c.mode }); } catch { /* GNU as refused some too */ } } },
});

const pad = (s, n) => String(s).padStart(n);
console.log(`${'input'.padEnd(14)} ${pad('lines', 7)} ${pad('first ms', 9)} ${pad('warm ms', 9)} ${pad('lines/s', 10)}`);
let totalLines = 0, totalMs = 0;
for (const i of inputs) {
  let t = performance.now();
  i.run();
  const first = performance.now() - t;
  // Repeat for about a second, at least three times; the fastest run, as other processes share the machine.
  let warm = Infinity;
  for (let n = 0, start = performance.now(); n < 3 || performance.now() - start < 1000; n++) {
    t = performance.now();
    i.run();
    warm = Math.min(warm, performance.now() - t);
  }
  totalLines += i.lines;
  totalMs += warm;
  console.log(`${i.name.padEnd(14)} ${pad(i.lines, 7)} ${pad(first.toFixed(1), 9)} ${pad(warm.toFixed(2), 9)} ${pad(Math.round(i.lines / warm * 1000), 10)}`);
}
console.log(`${'all'.padEnd(14)} ${pad(totalLines, 7)} ${pad('', 9)} ${pad(totalMs.toFixed(2), 9)} ${pad(Math.round(totalLines / totalMs * 1000), 10)}`);

// `npm run fuzz`: bundles the differential fuzzer (tools/wasm2x64/fuzz/main.ts) and runs it; see there
// for the options. The V8 runner of test/fixtures/as/build.mjs stays a module of its own (bundled, its
// command-line check would think it was the program); `--emu` rebuilds dist/ first so emu is current.
import { build } from 'esbuild';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
if (args.includes('--emu')) await import('./build.mjs');
const outfile = join(root, 'build/fuzz/fuzz.mjs');
await build({
  entryPoints: [join(root, 'tools/wasm2x64/fuzz/main.ts')],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  logLevel: 'warning',
  plugins: [{
    name: 'as-runner',
    setup(b) {
      b.onResolve({ filter: /fixtures\/as\/build\.mjs$/ }, (a) => ({ path: pathToFileURL(resolve(a.resolveDir, a.path)).href, external: true }));
    },
  }],
});
process.env.DAMSELFLY_ROOT = root;
const { main } = await import(pathToFileURL(outfile).href);
try {
  process.exitCode = await main(args);
} catch (err) {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 2;
}

// Bundles the emulator's command line into dist/emu.mjs (run by bin/emu.mjs).
// esbuild takes ~50 ms, so `prepare` and `pretest` can afford to run it every time.
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
await build({
  entryPoints: [join(root, 'emu/cli/main.ts')],
  outfile: join(root, 'dist/emu.mjs'),
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  sourcemap: 'linked',
  logLevel: 'warning',
});

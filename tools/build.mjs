// Bundles the command lines into dist/ (emu.mjs, asm.mjs, ts2elf.mjs, mkdisk.mjs; run by bin/), and the
// browser console's page into dist/web/ (served by `emu serve`, beside dist/emu.mjs).
// esbuild takes well under a second for all of them, so `prepare` and `pretest` can afford it every time.
import { build } from 'esbuild';
import { copyFile, mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const web = join(root, 'dist/web');
/** A command line bundled for Node, its npm dependencies left as imports. */
const nodeCommand = (entry, outfile) => build({
  entryPoints: [join(root, entry)],
  outfile: join(root, outfile),
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  sourcemap: 'linked',
  logLevel: 'warning',
});

await Promise.all([
  nodeCommand('emu/cli/main.ts', 'dist/emu.mjs'),
  // The assembler's command line (bin/asm.mjs).
  nodeCommand('tools/asm/cli.ts', 'dist/asm.mjs'),
  // AssemblyScript → ELF (bin/ts2elf.mjs); asc stays an import from node_modules.
  nodeCommand('tools/wasm2x64/ts2elf.ts', 'dist/ts2elf.mjs'),
  // Disk images from a recipe (bin/mkdisk.mjs).
  nodeCommand('tools/mkdisk/cli.ts', 'dist/mkdisk.mjs'),
  // platform 'browser' fails the build on any node: import: the machine must stay free of them.
  build({
    entryPoints: { app: join(root, 'emu/web/page/main.ts') },
    outdir: web,
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    minify: true,
    sourcemap: 'linked',
    logLevel: 'warning',
  }),
]);
await mkdir(web, { recursive: true });
await copyFile(join(root, 'emu/web/page/index.html'), join(web, 'index.html'));

// npm start / npm run serve: builds build/kernel.elf when it is older than
// the kernel's sources or the toolchain that compiles it (a progress line on
// stderr), then boots it on a 4-CPU machine into the kernel monitor: on this
// terminal (`start.mjs boot`) or in a browser tab (`start.mjs serve`). Further
// arguments go to `emu boot`/`emu serve` (e.g. `npm start -- -smp 8`).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const elf = join(root, 'build/kernel.elf');
const [mode = 'boot', ...rest] = process.argv.slice(2);
if (mode !== 'boot' && mode !== 'serve') {
  process.stderr.write(`start: '${mode}' is not boot or serve\n`);
  process.exit(2);
}

/** The newest modification time (ms) of the files under dir ending in one of exts, and that file. */
function newest(dir, exts, best = { mtime: 0, file: '' }) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) newest(p, exts, best);
    else if (exts.some((x) => e.name.endsWith(x))) {
      const mtime = statSync(p).mtimeMs;
      if (mtime > best.mtime) Object.assign(best, { mtime, file: p });
    }
  }
  return best;
}

const source = newest(join(root, 'kernel'), ['.ts']);
for (const d of ['tools/wasm2x64', 'tools/asm']) newest(join(root, d), ['.ts'], source);
newest(join(root, 'dist'), ['ts2elf.mjs'], source);
if (!existsSync(elf) || statSync(elf).mtimeMs < source.mtime) {
  const why = existsSync(elf) ? `${source.file.slice(root.length + 1)} is newer` : 'not built yet';
  process.stderr.write(`start: building build/kernel.elf (${why}) … `);
  const t = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [join(root, 'bin/ts2elf.mjs'), join(root, 'kernel/main.ts'), '-o', elf, '--target', 'kernel'], { stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) {
    process.stderr.write('start: the kernel did not build\n');
    process.exit(r.status ?? 1);
  }
  process.stderr.write(`done in ${(Number(process.hrtime.bigint() - t) / 1e9).toFixed(1)} s\n`);
}
const smp = rest.some((a) => a === '-smp' || a.startsWith('-smp=')) ? [] : ['-smp', '4'];
const r = spawnSync(process.execPath, [join(root, 'bin/emu.mjs'), mode, '-kernel', elf, ...smp, ...rest], { stdio: 'inherit' });
process.exit(r.status ?? 1);

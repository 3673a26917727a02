// The `snapshot` section of `npm run bench`: machine snapshot save and restore time for a
// 256 MiB guest (target: restore < 0.3 s; v86 takes 0.27 s). snapshot-bench.ts is bundled
// with esbuild into a temporary directory and run in a fresh Node, best of 5 each.
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export async function benchSnapshot(root) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'emu-bench-snap-'));
  try {
    const out = path.join(dir, 'snapshot-bench.mjs');
    await build({ entryPoints: [path.join(root, 'test/bench/snapshot-bench.ts')], outfile: out, bundle: true, platform: 'node', format: 'esm', target: 'node20', packages: 'external', logLevel: 'warning' });
    const r = spawnSync(process.execPath, [out], { cwd: root, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`snapshot bench failed: ${r.stderr}`);
    const rows = JSON.parse(r.stdout.trim().split('\n').pop());
    console.log('snapshot: save and restore of a 256 MiB machine (bench-memloop.elf run to 40 ms), best of 5');
    console.log('  RAM touched   file      save       restore    (target: restore < 300 ms)');
    for (const x of rows) {
      if (!x.same) throw new Error('snapshot bench: the restored machine is not at the saved time');
      console.log(`  ${x.touchedMiB.toFixed(1).padStart(6)} MiB  ${x.fileMiB.toFixed(1).padStart(5)} MiB  ${x.saveMs.toFixed(0).padStart(5)} ms  ${x.restoreMs.toFixed(0).padStart(7)} ms`);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

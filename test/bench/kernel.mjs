// The `kernel` section of `npm run bench`: the kernel's own micro-benchmarks
// (kernel/kern/kern_bench.ts, booted with `bench=all` at -smp 4) in virtual
// cycles as the guest measures them, with the host time per operation taken
// between each benchmark's start line and its result; then the host time
// from spawning `emu boot` to the monitor's first prompt at -smp 4 (target:
// under 2 s).
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** Runs emu with args; calls onLine(line, hostSeconds since spawn) for each COM1 line; resolves with the exit status. */
function stream(root, args, onLine, input) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const p = spawn(process.execPath, [path.join(root, 'bin/emu.mjs'), ...args], { cwd: root, stdio: ['pipe', 'pipe', 'inherit'] });
    let buf = '';
    p.stdout.on('data', (d) => {
      const now = Number(process.hrtime.bigint() - t0) / 1e9;
      buf += d.toString('latin1');
      let i;
      while ((i = buf.search(/\n|db> /)) >= 0) {
        const isPrompt = buf.startsWith('db> ', i);
        onLine(buf.slice(0, isPrompt ? i + 4 : i), now, p);
        buf = buf.slice(isPrompt ? i + 4 : i + 1);
      }
    });
    if (input === undefined) p.stdin.end();
    p.on('error', reject);
    p.on('close', (status) => resolve(status));
  });
}

export async function benchKernel(root) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'emu-bench-kernel-'));
  try {
    const elf = path.join(dir, 'kernel.elf');
    const b = spawnSync(process.execPath, [path.join(root, 'bin/ts2elf.mjs'), 'kernel/main.ts', '-o', elf, '--target', 'kernel'], { cwd: root, encoding: 'utf8' });
    if (b.status !== 0) throw new Error(`kernel bench: the kernel did not build: ${b.stderr}`);

    const started = new Map();
    const rows = [];
    const status = await stream(root, ['boot', '-kernel', elf, '-smp', '4', '-append', 'bench=all'], (line, t) => {
      let m = /^bench (\S+) start$/.exec(line);
      if (m) { started.set(m[1], t); return; }
      m = /^bench (\S+): (\d+) ops, (\d+) cycles\/op, (\d+) ns\/op$/.exec(line);
      if (m) rows.push({ name: m[1], ops: Number(m[2]), cycles: Number(m[3]), hostUs: (t - started.get(m[1])) * 1e6 / Number(m[2]) });
    });
    if (status !== 1) throw new Error(`kernel bench: bench=all exited with status ${status}`);
    console.log('kernel: micro-benchmarks at -smp 4 (kernel/kern/kern_bench.ts): guest TSC cycles per operation (virtual time), host time per operation');
    console.log(`  ${'benchmark'.padEnd(20)} ${'ops'.padStart(7)} ${'cycles/op'.padStart(10)} ${'host us/op'.padStart(11)}`);
    for (const r of rows) console.log(`  ${r.name.padEnd(20)} ${String(r.ops).padStart(7)} ${String(r.cycles).padStart(10)} ${r.hostUs.toFixed(2).padStart(11)}`);

    let prompt = NaN;
    const halted = await stream(root, ['boot', '-kernel', elf, '-smp', '4', '--no-pace'], (line, t, p) => {
      if (line === 'db> ' && Number.isNaN(prompt)) { prompt = t; p.stdin.end('halt\r'); }
    }, 'interactive');
    if (halted !== 1 || Number.isNaN(prompt)) throw new Error(`kernel bench: the monitor did not come up and halt (status ${halted})`);
    console.log(`  boot to the monitor prompt at -smp 4: ${(prompt * 1000).toFixed(0)} ms host time, from spawning emu (target: under 2000 ms)`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

#!/usr/bin/env node
// Runs the guest test programs (test/guest/bin/*.elf) on QEMU and compares their
// serial transcripts with the committed goldens in test/guest/expected/; then
// boots the AssemblyScript kernel (kernel/, built afresh) with selftest=all and checks its banners and self-tests,
// and once more into its monitor, typing commands at it (kernel.monitor),
// and boots the test kernels of test/fixtures/kernel on QEMU and under emu boot,
// whose transcripts and exit statuses must be identical.
//
//   node tools/check-qemu.mjs [--update] [--verbose] [--qemu PATH] [NAME...]
//
// test/guest/runs.json says how each program is run. Lines starting with "~ "
// depend on the implementation (timing, firmware layout) and are not compared.
// The exit status (QEMU's: (value written to 0xF4) << 1 | 1, or 0 after a
// shutdown with -no-reboot) must match each run's `status`. --update rewrites
// the goldens from this run (review the diff before committing). -cpu max: the
// programs use 1 GiB pages, NX and SSE, which QEMU's default CPU model lacks
// in part; nothing in a compared line depends on other CPUID bits.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const guest = 'test/guest';

// How each program runs, shared with the emulator's tests (test/guest/README.md):
// id (the golden is expected/ID.txt), prog, smp (CPUs, default 1), append (the
// command-line arguments), reboot (true: a triple fault resets the machine
// instead of shutting it down), status (expected exit status, default 1),
// timeout (seconds on QEMU, default 30).
const RUNS = JSON.parse(readFileSync(join(root, guest, 'runs.json'), 'utf8'));

const args = process.argv.slice(2);
const update = args.includes('--update');
const verbose = args.includes('--verbose');
let qemu = 'qemu-system-x86_64';
const names = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--qemu') qemu = args[++i];
  else if (args[i].startsWith('--')) {
    if (args[i] !== '--update' && args[i] !== '--verbose') usage(`unknown option ${args[i]}`);
  } else names.push(args[i]);
}
function usage(why) {
  console.error(`check-qemu: ${why}\nusage: node tools/check-qemu.mjs [--update] [--verbose] [--qemu PATH] [NAME...]`);
  process.exit(2);
}
const runs = RUNS.filter((r) => names.length === 0 || names.includes(r.prog) || names.includes(r.id));

// The kernel runs with the toolchain issue's command line: plain -smp N is N cores in one
// socket, so SeaBIOS's MP table lists one CPU and the kernel must find the rest in the ACPI MADT.
const KERNEL_RUNS = [1, 4].map((smp) => ({ id: `kernel.smp${smp}`, smp }))
  .filter((r) => names.length === 0 || names.includes('kernel') || names.includes(r.id));
// Test kernels whose whole transcript and exit status must be the same on QEMU as under emu boot.
// `prepare(dir)`, when present, makes the run's files in a fresh directory and returns the
// arguments each side adds (a disk for QEMU's -drive/-device and emu's -drive).
const SAME_RUNS = [{ id: 'kernel.traps', src: 'test/fixtures/kernel/traps.ts', smp: 2 },
  {
    // QEMU's nvme and ours, each on its own copy of a 1 MiB disk whose block b holds bytes (b * 7 + i) & 0xff.
    id: 'kernel.nvme', src: 'test/fixtures/kernel/nvme.ts', smp: 2,
    prepare(dir) {
      const disk = Buffer.alloc(2048 * 512, 0).map((_, i) => (Math.floor(i / 512) * 7 + i) & 0xff);
      for (const side of ['qemu', 'emu']) writeFileSync(join(dir, `${side}.img`), disk);
      return {
        qemu: ['-drive', `file=${join(dir, 'qemu.img')},if=none,id=nv0,format=raw`, '-device', 'nvme,drive=nv0,serial=NVME-SERIAL-7'],
        emu: ['-drive', `file=${join(dir, 'emu.img')},if=nvme,serial=NVME-SERIAL-7`],
      };
    },
  },
  ...[1, 2].map((smp) => ({
    // QEMU's virtio-blk-pci and ours, each on its own copy of a 1 MiB disk whose sector s holds bytes (s * 7 + i) & 0xff.
    // Both give a request queue per CPU (num_queues, printed, follows -smp).
    id: smp === 1 ? 'kernel.virtio-blk' : `kernel.virtio-blk.smp${smp}`, src: 'test/fixtures/kernel/virtio-blk.ts', smp,
    prepare(dir) {
      const disk = Buffer.alloc(2048 * 512, 0).map((_, i) => (Math.floor(i / 512) * 7 + i) & 0xff);
      for (const side of ['qemu', 'emu']) writeFileSync(join(dir, `${side}.img`), disk);
      return {
        qemu: ['-drive', `file=${join(dir, 'qemu.img')},if=none,id=vd0,format=raw`, '-device', 'virtio-blk-pci,drive=vd0,serial=VIRTIO-SN-0042'],
        emu: ['-drive', `file=${join(dir, 'emu.img')},if=virtio,serial=VIRTIO-SN-0042`],
      };
    },
  }))]
  .filter((r) => names.length === 0 || names.includes('kernel') || names.includes(r.id));
if (runs.length + KERNEL_RUNS.length + SAME_RUNS.length === 0) usage(`no run matches ${names.join(' ')}`);

const probe = await new Promise((resolve) => {
  const p = spawn(qemu, ['--version'], { stdio: 'ignore' });
  p.on('error', (e) => resolve(e.message));
  p.on('close', (code) => resolve(code === 0 ? null : `exit status ${code}`));
});
if (probe) {
  console.error(`check-qemu: cannot run ${qemu} (${probe}); on Debian: apt-get install qemu-system-x86`);
  process.exit(2);
}

/**
 * -smp N,sockets=N: SeaBIOS's MP table lists one processor entry per package
 * (the MP spec's rule for hyper-threading), and QEMU's default topology for
 * -smp N is N cores in one socket, which would leave the APs out of the table.
 */
const smpArg = (n) => `${n},sockets=${n}`;

/** The command line for one run (also printed with --verbose). */
function qemuArgs(r) {
  const a = ['-machine', 'pc', '-cpu', 'max', '-m', '256M', '-smp', smpArg(r.smp ?? 1),
    '-nographic', '-net', 'none',
    '-device', 'isa-debug-exit,iobase=0xf4,iosize=0x04',
    '-kernel', `${guest}/bin/${r.prog}.elf`];
  if (!r.reboot) a.push('-no-reboot');
  if (r.append) a.push('-append', r.append);
  return a;
}

/** `typed`: lines typed on COM1 one at a time, each when a new `db> ` prompt has appeared (the kernel monitor). */
function runQemu(args, timeout, typed = []) {
  return new Promise((resolve) => {
    const child = spawn(qemu, args, { cwd: root, stdio: [typed.length ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
    const out = [];
    const err = [];
    let timedOut = false;
    let sent = 0;
    const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL'); }, timeout * 1000);
    child.stdout.on('data', (d) => {
      out.push(d);
      const prompts = Buffer.concat(out).toString('latin1').split('db> ').length - 1;
      while (sent < typed.length && sent < prompts) child.stdin.write(typed[sent++] + '\r');
    });
    child.stderr.on('data', (d) => err.push(d));
    child.on('error', (e) => { clearTimeout(timer); resolve({ error: e.message }); });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, timedOut, stdout: Buffer.concat(out).toString('latin1'), stderr: Buffer.concat(err).toString('latin1') });
    });
  });
}

/**
 * The guest's serial output without the firmware's: with -nographic SeaBIOS
 * writes its banner to the same serial port (starting with ESC c, ending with
 * "Booting from ROM...\r\n"), once per boot. The guest's UART set-up may cut
 * the tail of that line off, so any part of it is removed.
 */
function transcript(stdout) {
  let s = stdout.replace(/\r/g, '');
  s = s.replace(/\x1bc[\s\S]*?Booting from ROM\.*\n?/g, '');
  return s;
}

const compared = (text) => text.split('\n').filter((l) => !l.startsWith('~ '));

function diff(want, got) {
  const a = compared(want);
  const b = compared(got);
  const lines = [];
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if (a[i] !== b[i]) {
      lines.push(`    line ${i + 1} (ignoring "~ " lines): expected ${JSON.stringify(a[i] ?? '<end>')}, got ${JSON.stringify(b[i] ?? '<end>')}`);
      if (lines.length >= 5) break;
    }
  }
  return lines;
}

let passed = 0;
let failed = 0;
for (const r of runs) {
  const elf = join(root, guest, 'bin', `${r.prog}.elf`);
  const file = join(root, guest, 'expected', `${r.id}.txt`);
  const problems = [];
  if (!existsSync(elf)) problems.push(`missing ${guest}/bin/${r.prog}.elf (run test/guest/build.sh)`);
  let got = '';
  if (problems.length === 0) {
    if (verbose) console.log(`  ${qemu} ${qemuArgs(r).join(' ')}`);
    const t0 = Date.now();
    const res = await runQemu(qemuArgs(r), r.timeout ?? 30);
    const ms = Date.now() - t0;
    if (res.error) problems.push(`cannot run ${qemu}: ${res.error}`);
    else {
      got = transcript(res.stdout);
      const want = r.status ?? 1;
      if (res.timedOut) problems.push(`timed out after ${r.timeout ?? 30} s`);
      else if (res.code !== want) problems.push(`exit status ${res.code ?? res.signal}, expected ${want}`);
      if (res.stderr.trim() && verbose) console.log(res.stderr.trim().replace(/^/gm, '    qemu: '));
      if (update && problems.length === 0) {
        mkdirSync(dirname(file), { recursive: true });
        writeFileSync(file, got);
      } else if (!existsSync(file)) problems.push(`no golden ${guest}/expected/${r.id}.txt (run with --update)`);
      else problems.push(...diff(readFileSync(file, 'latin1'), got));
      if (verbose) console.log(`  ${r.id}: ${ms} ms`);
    }
  }
  if (problems.length === 0) {
    passed++;
    console.log(`ok   ${r.id}${update ? ' (golden written)' : ''}`);
  } else {
    failed++;
    console.log(`FAIL ${r.id}`);
    for (const p of problems) console.log(p.startsWith('    ') ? p : `    ${p}`);
    if (verbose && got) console.log(got.replace(/^/gm, '    | '));
  }
}
if (KERNEL_RUNS.length) await checkKernel();
if (SAME_RUNS.length) await checkSame();

/** Builds each SAME_RUNS kernel and boots it on QEMU and under emu boot: the transcripts and statuses must agree. */
async function checkSame() {
  const { buildElf } = await import('../dist/ts2elf.mjs');
  for (const r of SAME_RUNS) {
    const dir = mkdtempSync(join(tmpdir(), 'check-qemu-same-'));
    const elf = join(dir, 'kernel.elf');
    const problems = [];
    let got = '';
    try {
      await buildElf(join(root, r.src), elf, { target: 'kernel' });
      const extra = r.prepare ? await r.prepare(dir) : { qemu: [], emu: [] };
      const res = await runQemu(['-machine', 'pc', '-smp', String(r.smp), '-nographic', '-net', 'none', '-no-reboot',
        '-device', 'isa-debug-exit,iobase=0xf4,iosize=0x04', '-kernel', elf, ...extra.qemu], 30);
      if (res.error) problems.push(`cannot run ${qemu}: ${res.error}`);
      else {
        got = transcript(res.stdout);
        const emu = spawnSync(process.execPath, [join(root, 'bin/emu.mjs'), 'boot', '-kernel', elf, '-smp', String(r.smp), ...extra.emu], { encoding: 'utf8' });
        if (res.timedOut) problems.push('timed out after 30 s');
        if (res.code !== emu.status) problems.push(`exit status ${res.code ?? res.signal} on QEMU, ${emu.status} under emu boot`);
        if (got !== emu.stdout) problems.push('transcripts differ (emu boot expected, QEMU got):', ...diff(emu.stdout, got));
      }
    } catch (e) {
      problems.push(`cannot build ${r.src}: ${e.message.split('\n')[0]} (npm run build first?)`);
    }
    rmSync(dir, { recursive: true, force: true });
    if (problems.length === 0) { passed++; console.log(`ok   ${r.id}`); continue; }
    failed++;
    console.log(`FAIL ${r.id}`);
    for (const p of problems) console.log(p.startsWith('    ') ? p : `    ${p}`);
    if (verbose && got) console.log(got.replace(/^/gm, '    | '));
  }
}

/** Builds kernel/main.ts with the bundled ts2elf (npm run build) and boots it on each KERNEL_RUNS. */
async function checkKernel() {
  const report = (id, problems, got) => {
    if (problems.length === 0) { passed++; console.log(`ok   ${id}`); return; }
    failed++;
    console.log(`FAIL ${id}`);
    for (const p of problems) console.log(`    ${p}`);
    if (verbose && got) console.log(got.replace(/^/gm, '    | '));
  };
  const dir = mkdtempSync(join(tmpdir(), 'check-qemu-kernel-'));
  const elf = join(dir, 'kernel.elf');
  try {
    const { buildElf } = await import('../dist/ts2elf.mjs');
    await buildElf(join(root, 'kernel/main.ts'), elf, { target: 'kernel' });
  } catch (e) {
    for (const r of KERNEL_RUNS) report(r.id, [`cannot build the kernel: ${e.message.split('\n')[0]} (npm run build first?)`], '');
    rmSync(dir, { recursive: true, force: true });
    return;
  }
  for (const r of KERNEL_RUNS) {
    const args = ['-machine', 'pc', '-smp', String(r.smp), '-nographic', '-net', 'none', '-no-reboot',
      '-device', 'isa-debug-exit,iobase=0xf4,iosize=0x04', '-kernel', elf, '-append', 'selftest=all'];
    if (verbose) console.log(`  ${qemu} ${args.join(' ')}`);
    const res = await runQemu(args, 30);
    if (res.error) { report(r.id, [`cannot run ${qemu}: ${res.error}`], ''); continue; }
    const got = transcript(res.stdout);
    const want = ['cpu 0: apic id 0, bsp', `cpus: ${r.smp} in the ACPI MADT`,
      ...Array.from({ length: r.smp - 1 }, (_, i) => `cpu ${i + 1}: apic id ${i + 1}, online`), `${r.smp} of ${r.smp} cpus online`];
    const problems = want.filter((l) => !got.split('\n').includes(l)).map((l) => `missing line ${JSON.stringify(l)}`);
    const summary = new RegExp(`^selftest: \\d+ tests? on ${r.smp} cpus?: all ok$`, 'm');
    if (!summary.test(got)) problems.push(`the kernel self-tests (selftest=all) did not all pass on ${r.smp} cpus`);
    if (res.timedOut) problems.push('timed out after 30 s');
    else if (res.code !== 1) problems.push(`exit status ${res.code ?? res.signal}, expected 1`);
    report(r.id, problems, got);
  }
  if (names.length === 0 || names.includes('kernel') || names.includes('kernel.monitor')) await checkMonitor(elf, report);
  rmSync(dir, { recursive: true, force: true });
}

/** The kernel monitor at -smp 4 on QEMU: COM1's interrupt through QEMU's IOAPIC, commands answered by every CPU, halt. */
async function checkMonitor(elf, report) {
  const args = ['-machine', 'pc', '-smp', '4', '-nographic', '-net', 'none', '-no-reboot',
    '-device', 'isa-debug-exit,iobase=0xf4,iosize=0x04', '-kernel', elf];
  const res = await runQemu(args, 60, ['ps', 'bt 1', 'selftest tsleep,msgport.storm', 'msgs', 'halt']);
  if (res.error) { report('kernel.monitor', [`cannot run ${qemu}: ${res.error}`], ''); return; }
  const got = transcript(res.stdout);
  const problems = [];
  const running = got.split('\n').filter((l) => / running /.test(l)).length;
  if (running !== 4) problems.push(`ps showed ${running} running threads, expected one per cpu (4)`);
  if (!/^cpu 1:\n {2}#0 0x[0-9a-f]{16} kern\/lwkt_thread\/lwkt_idle_loop\+0x/m.test(got)) problems.push('bt 1 did not show cpu 1 in its idle loop');
  if (!/^selftest: 4 tests on 4 cpus: all ok$/m.test(got)) problems.push('selftest tsleep,msgport.storm did not pass on every cpu');
  if (!/^ {2}3 +[1-9]\d* +[1-9]\d* +[1-9]\d* +[1-9]\d*$/m.test(got)) problems.push('msgs showed no messages on cpu 3');
  if (!got.endsWith('db> halt\nhalting\n')) problems.push('halt did not end the transcript');
  if (res.timedOut) problems.push('timed out after 60 s');
  else if (res.code !== 1) problems.push(`exit status ${res.code ?? res.signal}, expected 1`);
  report('kernel.monitor', problems, got);
}

console.log(`check-qemu: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);

/** emu run's own policies: signals as exits, determinism from --seed, traces kept off stdout. */
import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { runEmu, ROOT } from './helpers/emu.js';
import { symbolElf } from './helpers/symbol-elf.js';
import { assemble } from '../tools/asm/index.js';

const CRASH = 'test/fixtures/bin/crash-musl';
const ENTROPY = 'test/fixtures/bin/entropy-musl';

describe('a fault ends the program like the signal would', () => {
  const cases: [string, number, RegExp][] = [
    ['ill', 132, /^emu: SIGILL at rip=0x[0-9a-f]+ bytes=0f 0b [0-9a-f ]+\(#UD: ud2\)$/],
    ['segv', 139, /^emu: SIGSEGV at rip=0x[0-9a-f]+ address=0x10 \(not mapped, write\)$/],
    ['fpe', 136, /^emu: SIGFPE at rip=0x[0-9a-f]+ \(integer divide error\)$/],
    ['abort', 134, /^emu: SIGABRT sent by the program to itself$/],
    ['trap', 133, /^emu: SIGTRAP at rip=0x[0-9a-f]+ \(int3\)$/],
  ];
  for (const [what, status, line] of cases) {
    it(`${what}: exit status ${status}, output so far kept, one line on stderr`, async () => {
      const r = await runEmu(['run', CRASH, what]);
      expect(r.status).toBe(status);
      expect(r.stdout.toString()).toBe(`about to ${what}\n`);
      expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(r.stderr.trimEnd()).toMatch(line);
    });
  }
});

describe('determinism', () => {
  it('the same seed gives the same AT_RANDOM, getrandom, clocks and TSC', async () => {
    const a = await runEmu(['run', '--seed', '42', ENTROPY]);
    const b = await runEmu(['run', '--seed', '42', ENTROPY]);
    expect(a.status).toBe(0);
    expect(a.stdout.toString()).toBe(b.stdout.toString());
  });

  it('a different seed gives different AT_RANDOM and getrandom bytes', async () => {
    const a = (await runEmu(['run', '--seed', '1', ENTROPY])).stdout.toString().split('\n');
    const b = (await runEmu(['run', '--seed', '2', ENTROPY])).stdout.toString().split('\n');
    expect(a[0]).toMatch(/^AT_RANDOM [0-9a-f]{32}$/);
    expect(a[0]).not.toBe(b[0]);
    expect(a[1]).not.toBe(b[1]);
  });

  it('virtual time starts at the epoch 2026-01-01 and advances with instructions', async () => {
    const out = (await runEmu(['run', ENTROPY])).stdout.toString();
    const mono = Number(/monotonic (\S+)/.exec(out)![1]);
    const real = Number(/realtime (\S+)/.exec(out)![1]);
    expect(mono).toBeGreaterThan(0);
    expect(mono).toBeLessThan(0.01);
    expect(real - mono).toBeCloseTo(1767225600, 3);
  });

  it('--host-time reads the host clock', async () => {
    const before = Date.now() / 1000;
    const out = (await runEmu(['run', '--host-time', ENTROPY])).stdout.toString();
    const real = Number(/realtime (\S+)/.exec(out)![1]);
    expect(real).toBeGreaterThanOrEqual(Math.floor(before));
    expect(real).toBeLessThan(before + 3600);
  });
});

describe('tracing', () => {
  it('-d in_asm,cpu -D FILE writes the trace to FILE and leaves stdout alone', async () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'emu-trace-')), 'trace.txt');
    const r = await runEmu(['run', '-d', 'in_asm,cpu', '-D', file, 'test/fixtures/bin/hello-musl']);
    expect(r.status).toBe(0);
    expect(r.stdout.toString()).toBe('Hello, world!\n');
    const trace = fs.readFileSync(file, 'utf8');
    expect(trace).toMatch(/^0x0000000000401[0-9a-f]{3}:  48 31 ed +xor {4}rbp,rbp$/m);
    expect(trace).toMatch(/^RIP=0000000000401[0-9a-f]{3} RFL=/m);
    expect(trace).toMatch(/ syscall$/m);
  });

  it('a program with a symbol table: -d in_asm heads blocks with IN: name+0xoff, a fault line names the function', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'emu-syms-'));
    const program = (work: string): string => {
      const src = `_start:\n call work\n mov edi, eax\n mov eax, 60\n syscall\nwork:\n${work}`;
      const img = assemble(src, { origin: 0x401000 });
      const file = path.join(dir, work.includes('ud2') ? 'crash' : 'ok');
      fs.writeFileSync(file, symbolElf(64, img.bytes, 0x401000, 0x401000,
        ['_start', 'work'].map((name) => ({ name, value: img.symbols.get(name)!, type: 2 }))).bytes);
      return file;
    };
    const trace = path.join(dir, 'trace.txt');
    const ok = await runEmu(['run', '-d', 'in_asm', '-D', trace, program(' mov eax, 7\n nop\n ret')]);
    expect(ok.status).toBe(7);
    expect(ok.stderr).toBe('');
    expect(fs.readFileSync(trace, 'utf8')).toMatch(new RegExp([
      'IN: _start', '0x0000000000401000:  e8 .* call .*',
      'IN: work', '0x000000000040100e:  b8 07 00 00 00 +mov +eax,0x7', '0x0000000000401013:  90 +nop', '0x0000000000401014:  c3 +ret',
      'IN: _start\\+0x5', '0x0000000000401005:  89 c7 +mov +edi,eax', '',
    ].join('\n')));
    const crash = await runEmu(['run', program(' nop\n ud2')]);
    expect(crash.status).toBe(132);
    expect(crash.stderr).toMatch(/^emu: SIGILL at rip=0x40100f <work\+0x1> bytes=0f 0b [0-9a-f ]+\(#UD: ud2\)\n$/);
  });

  it('an unknown trace item is refused', async () => {
    const r = await runEmu(['run', '-d', 'everything', 'test/fixtures/bin/hello-musl']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/-d: unknown item 'everything'/);
  });
});

describe('inherited descriptors', () => {
  it('output redirected to a file continues at the offset the shell left it at', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'emu-offset-'));
    const file = path.join(dir, 'out.txt');
    const fd = fs.openSync(file, 'w');
    fs.writeSync(fd, 'before\n');
    const r = spawnSync(process.execPath, [path.join(ROOT, 'bin/emu.mjs'), 'run', 'test/fixtures/bin/hello-musl'], { cwd: ROOT, stdio: ['ignore', fd, fd], env: {} });
    fs.writeSync(fd, 'after\n');
    fs.closeSync(fd);
    expect(r.status).toBe(0);
    expect(fs.readFileSync(file, 'utf8')).toBe('before\nHello, world!\nafter\n');
  });
});

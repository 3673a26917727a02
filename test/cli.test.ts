/** What `emu run` says about inputs it cannot run: one line naming the file and the reason, non-zero exit. */
import { describe, expect, it, beforeAll } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runEmu, ROOT } from './helpers/emu.js';

const HELLO = path.join(ROOT, 'test/fixtures/bin/hello-musl');
let dir = '';

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'emu-cli-'));
  fs.writeFileSync(path.join(dir, 'notes.txt'), 'just some text\n');
  const elf = fs.readFileSync(HELLO);
  fs.writeFileSync(path.join(dir, 'truncated'), elf.subarray(0, 200));
  const elf32 = Buffer.from(elf);
  elf32[4] = 1;
  fs.writeFileSync(path.join(dir, 'elf32'), elf32);
});

async function refuses(args: string[], pattern: RegExp): Promise<void> {
  const r = await runEmu(args);
  expect(r.status).not.toBe(0);
  expect(r.stdout.length).toBe(0);
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(pattern);
}

describe('emu run refuses bad input with one clear line', () => {
  it('a text file', () => refuses(['run', path.join(dir, 'notes.txt')], /notes\.txt: not an ELF file/));
  it('a truncated ELF', () => refuses(['run', path.join(dir, 'truncated')], /truncated: .*(truncated|past the end)/));
  it('a 32-bit ELF', () => refuses(['run', path.join(dir, 'elf32')], /elf32: 32-bit ELF is not supported/));
  it('a dynamically linked ELF', () => refuses(['run', 'test/fixtures/bad/hello-dynamic'], /hello-dynamic: dynamically linked \(needs \/lib64\/ld-linux-x86-64\.so\.2\)/));
  it('a missing file', () => refuses(['run', 'no/such/program'], /no\/such\/program: no such file/));
  it('a directory', () => refuses(['run', 'test'], /test: is a directory/));
  it('an unknown option', () => refuses(['run', '--frobnicate', HELLO], /Unknown argument: frobnicate/));
  it('an unknown command', () => refuses(['fly', HELLO], /unknown command 'fly'/));
  it('a bad memory size', () => refuses(['run', '-m', 'lots', HELLO], /-m: 'lots' is not a size/));
});

describe('help', () => {
  it('emu run --help prints the options and exits 0', async () => {
    const r = await runEmu(['run', '--help']);
    expect(r.status).toBe(0);
    expect(r.stdout.toString()).toMatch(/^emu run \[options\] PROGRAM \[ARGS\.\.\.\]\n/);
    expect(r.stdout.toString()).toMatch(/--no-jit interprets every instruction/);
    expect(r.stderr).toBe('');
  });
});

describe('emu boot refuses bad input with one clear line', () => {
  it('no kernel', () => refuses(['boot'], /boot: missing -kernel FILE/));
  it('a missing kernel file', () => refuses(['boot', '-kernel', 'no/such.elf'], /-kernel no\/such\.elf: no such file/));
  it('a text file', () => refuses(['boot', '-kernel', path.join(dir, 'notes.txt')], /notes\.txt: .*multiboot/));
  it('an ELF64 without multiboot address fields', () => refuses(['boot', '-kernel', HELLO], /hello-musl: .*(ELF64|multiboot)/));
  it('a bad CPU count', () => refuses(['boot', '-kernel', 'test/guest/bin/hello.elf', '-smp', '65'], /-smp: '65' is not a CPU count in 1\.\.64/));
  it('too much memory', () => refuses(['boot', '-kernel', 'test/guest/bin/hello.elf', '-m', '4G'], /-m: 4G is outside 16M\.\.3G/));
  it('an unknown -d item', () => refuses(['boot', '-kernel', 'test/guest/bin/hello.elf', '-d', 'everything'], /-d: unknown item 'everything'/));
  it('a bad -serial', () => refuses(['boot', '-kernel', 'test/guest/bin/hello.elf', '-serial', 'pty'], /-serial: 'pty' is not stdio, none or file:PATH/));
  it('a bad -rtc', () => refuses(['boot', '-kernel', 'test/guest/bin/hello.elf', '-rtc', 'base=yesterday'], /yesterday/));
  it('a disk image argument, which needs the storage issue', () => refuses(['boot', 'disk.img', '-kernel', 'test/guest/bin/hello.elf'], /unexpected argument 'disk\.img'/));
});

describe('emu boot runs a kernel', () => {
  it('prints the guest console on stdout and exits with the debug-exit status', async () => {
    const r = await runEmu(['boot', '-kernel', 'test/guest/bin/hello.elf', '-append', 'x=1']);
    expect(r.stdout.toString()).toMatch(/^hello: damselfly guest test kernel\n[^]*cmdline args: x=1\n[^]*PASS\n$/);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe('');
  });

  it('--timeout stops a kernel that never exits with status 124', async () => {
    const r = await runEmu(['boot', '-kernel', 'test/guest/bin/echo.elf', '--timeout', '1'], { stdin: '' });
    expect(r.status).toBe(124);
    expect(r.stderr).toMatch(/timeout after 1 s/);
  });

  it('--replay gives the guest a --record session\'s input at the same virtual times', async () => {
    const rec = path.join(dir, 'session.rec');
    const live = await runEmu(['boot', '-kernel', 'test/guest/bin/echo.elf', '--record', rec, '--timeout', '1'], { stdin: 'typed words' });
    expect(live.stdout.toString()).toMatch(/TYPED WORDS$/);
    expect(fs.readFileSync(rec, 'utf8')).toMatch(/^\d+ 7479706564/);
    const replayed = await runEmu(['boot', '-kernel', 'test/guest/bin/echo.elf', '--replay', rec, '--timeout', '1']);
    expect(replayed.stdout.toString()).toBe(live.stdout.toString());
  });

  it('-d int logs each exception with vector, error code and where, -d in_asm each instruction, into -D', async () => {
    const log = path.join(dir, 'int.log');
    const r = await runEmu(['boot', '-kernel', 'test/guest/bin/exceptions.elf', '-d', 'int,in_asm', '-D', log]);
    expect(r.status).toBe(1);
    const text = fs.readFileSync(log, 'utf8');
    expect(text).toMatch(/^emu: cpu0: v=00 e=0000 i=0 cpl=0 IP=0008:[0-9a-f]{16} SP=0010:[0-9a-f]{16} CR2=0{16} \(#DE/m);
    expect(text).toMatch(/^emu: cpu0: v=0e e=0002 i=0 cpl=0 .* \(#PF\)$/m);
    expect(text).toMatch(/^cpu0 0x00000000001[0-9a-f]{5}:  fa +cli$/m);
  });

  it('a malformed recording is refused with its line number', async () => {
    fs.writeFileSync(path.join(dir, 'bad.rec'), '12 6162\nnot a line\n');
    await refuses(['boot', '-kernel', 'test/guest/bin/echo.elf', '--replay', path.join(dir, 'bad.rec')], /bad\.rec: line 2 is not "TIME HEXBYTES"/);
  });

  it('-no-reboot turns a triple fault into a shutdown with status 0, logged', async () => {
    const r = await runEmu(['boot', '-kernel', 'test/guest/bin/triple-fault.elf', '-no-reboot', '-d', 'cpu_reset']);
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/triple fault/);
  });
});

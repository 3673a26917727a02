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

  it('-no-reboot turns a triple fault into a shutdown with status 0, logged', async () => {
    const r = await runEmu(['boot', '-kernel', 'test/guest/bin/triple-fault.elf', '-no-reboot', '-d', 'cpu_reset']);
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/triple fault/);
  });
});

/** What `emu run` says about inputs it cannot run: one line naming the file and the reason, non-zero exit. */
import { describe, expect, it, beforeAll } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runEmu, ROOT, expectRefusal } from './helpers/emu.js';

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


describe('emu run refuses bad input with one clear line', () => {
  it('a text file', () => expectRefusal(['run', path.join(dir, 'notes.txt')], /notes\.txt: not an ELF file/));
  it('a truncated ELF', () => expectRefusal(['run', path.join(dir, 'truncated')], /truncated: .*(truncated|past the end)/));
  it('a 32-bit ELF', () => expectRefusal(['run', path.join(dir, 'elf32')], /elf32: 32-bit ELF is not supported/));
  it('a dynamically linked ELF', () => expectRefusal(['run', 'test/fixtures/bad/hello-dynamic'], /hello-dynamic: dynamically linked \(needs \/lib64\/ld-linux-x86-64\.so\.2\)/));
  it('a missing file', () => expectRefusal(['run', 'no/such/program'], /no\/such\/program: no such file/));
  it('a directory', () => expectRefusal(['run', 'test'], /test: is a directory/));
  it('an unknown option', () => expectRefusal(['run', '--frobnicate', HELLO], /Unknown argument: frobnicate/));
  it('an unknown command', () => expectRefusal(['fly', HELLO], /unknown command 'fly'/));
  it('a bad memory size', () => expectRefusal(['run', '-m', 'lots', HELLO], /-m: 'lots' is not a size/));
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
  it('no kernel', () => expectRefusal(['boot'], /boot: missing -kernel FILE/));
  it('a missing kernel file', () => expectRefusal(['boot', '-kernel', 'no/such.elf'], /-kernel no\/such\.elf: no such file/));
  it('a text file', () => expectRefusal(['boot', '-kernel', path.join(dir, 'notes.txt')], /notes\.txt: .*multiboot/));
  it('an ELF64 without multiboot address fields', () => expectRefusal(['boot', '-kernel', HELLO], /hello-musl: .*(ELF64|multiboot)/));
  it('a bad CPU count', () => expectRefusal(['boot', '-kernel', 'test/guest/bin/hello.elf', '-smp', '65'], /-smp: '65' is not a CPU count in 1\.\.64/));
  it('too much memory', () => expectRefusal(['boot', '-kernel', 'test/guest/bin/hello.elf', '-m', '4G'], /-m: 4G is outside 16M\.\.3G/));
  it('an unknown -d item', () => expectRefusal(['boot', '-kernel', 'test/guest/bin/hello.elf', '-d', 'everything'], /-d: unknown item 'everything'/));
  it('a bad -serial', () => expectRefusal(['boot', '-kernel', 'test/guest/bin/hello.elf', '-serial', 'pty'], /-serial: 'pty' is not stdio, none or file:PATH/));
  it('a bad -rtc', () => expectRefusal(['boot', '-kernel', 'test/guest/bin/hello.elf', '-rtc', 'base=yesterday'], /yesterday/));
  it('a disk image that does not exist', () => expectRefusal(['boot', 'disk.img', '-kernel', 'test/guest/bin/hello.elf'], /^emu: disk\.img: no such file$/));
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
    expect(text).toMatch(/^emu: cpu0: v=00 e=0000 i=0 cpl=0 IP=0008:[0-9a-f]{16} <de_insn> SP=0010:[0-9a-f]{16} CR2=0{16} \(#DE/m);
    expect(text).toMatch(/^emu: cpu0: v=0e e=0002 i=0 cpl=0 .* \(#PF\)$/m);
    expect(text).toMatch(/^cpu0 0x00000000001[0-9a-f]{5}:  fa +cli$/m);
  });

  it('with the image\'s symbols, -d in_asm heads each block with IN: name+0xoff, and -d int and -d cpu name RIP', async () => {
    const log = path.join(dir, 'sym.log');
    const r = await runEmu(['boot', '-kernel', 'test/guest/bin/exceptions.elf', '-d', 'int,in_asm', '-D', log]);
    expect(r.status).toBe(1);
    const text = fs.readFileSync(log, 'utf8');
    // The entry point, a call's target, the faulting instruction (reached by falling through onto its label), the return from the handler.
    expect(text).toMatch(/^cpu0 IN: _start\ncpu0 0x[0-9a-f]{16}:  fa +cli$/m);
    expect(text).toMatch(/^cpu0 IN: gdt_init32\n/m);
    expect(text).toMatch(/^cpu0 IN: de_insn\ncpu0 0x0000000000100031:  f7 f1 +div +ecx\nemu: cpu0: v=00 [^\n]*IP=0008:0000000000100031 <de_insn> SP=/m);
    expect(text).toMatch(/^cpu0 IN: de_insn\+0x2\n/m);
    const again = path.join(dir, 'sym2.log');
    await runEmu(['boot', '-kernel', 'test/guest/bin/exceptions.elf', '-d', 'int,in_asm', '-D', again]);
    expect(fs.readFileSync(again, 'utf8') === text).toBe(true);

    const regs = path.join(dir, 'cpu.log');
    await runEmu(['boot', '-kernel', 'test/guest/bin/hello.elf', '-d', 'cpu', '-D', regs]);
    const dump = fs.readFileSync(regs, 'utf8');
    expect(dump).toMatch(/^cpu0 RIP=0000000000100629 <_start> RFL=/m);
    expect(dump).toMatch(/^cpu0 RIP=000000000010062a <_start\+0x1> RFL=/m);
  });

  it('a malformed symbol table is one warning line, and the kernel boots without symbols', async () => {
    const img = fs.readFileSync('test/guest/bin/hello.elf');
    const v = new DataView(img.buffer, img.byteOffset, img.byteLength);
    const shoff = v.getUint32(32, true), shnum = v.getUint16(48, true);
    for (let k = 0; k < shnum; k++) {
      // .symtab's sh_link now names .text, which is no string table.
      if (v.getUint32(shoff + 40 * k + 4, true) === 2) v.setUint32(shoff + 40 * k + 24, 1, true);
    }
    const bad = path.join(dir, 'badsym.elf');
    fs.writeFileSync(bad, img);
    const warning = `emu: ${bad}: symbol table ignored: its string table (section 1) is not a string table`;
    const r = await runEmu(['boot', '-kernel', bad]);
    expect(r.status).toBe(1);
    expect(r.stdout.toString()).toMatch(/PASS\n$/);
    expect(r.stderr).toBe(`${warning}\n`);
    const log = path.join(dir, 'badsym.log');
    await runEmu(['boot', '-kernel', bad, '-d', 'in_asm', '-D', log]);
    const text = fs.readFileSync(log, 'utf8');
    expect(text.split('\n').filter((l) => l.startsWith('emu: '))).toEqual([warning]);
    expect(text).not.toMatch(/ IN: /);
    expect(text).toMatch(/^cpu0 0x[0-9a-f]{16}:  fa +cli$/m);
  });

  it('a malformed recording is refused with its line number', async () => {
    fs.writeFileSync(path.join(dir, 'bad.rec'), '12 6162\nnot a line\n');
    await expectRefusal(['boot', '-kernel', 'test/guest/bin/echo.elf', '--replay', path.join(dir, 'bad.rec')], /bad\.rec: line 2 is not "TIME HEXBYTES"/);
  });

  it('-no-reboot turns a triple fault into a shutdown with status 0, logged', async () => {
    const r = await runEmu(['boot', '-kernel', 'test/guest/bin/triple-fault.elf', '-no-reboot', '-d', 'cpu_reset']);
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/triple fault/);
  });
});

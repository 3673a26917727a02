/**
 * Bad input gets one clear line naming file:line and the problem, as an
 * AsmError from the library and as exit status 1 (2 for usage) from the CLI.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AsmError, assemble, assembleElf, type AsmOptions } from '../tools/asm/index.js';

function error(source: string, opts: AsmOptions = {}): string {
  try {
    assemble(source, { file: 'bad.s', ...opts });
  } catch (e) {
    expect(e).toBeInstanceOf(AsmError);
    return (e as Error).message;
  }
  throw new Error('assembled without an error');
}

describe('errors name the file, the line and the problem', () => {
  it.each<[string, string, AsmOptions?]>([
    ['nop\nmovz eax, ebx', "bad.s:2: unknown mnemonic 'movz'"],
    ['mov eax, bl', "bad.s:1: no form of 'mov' takes these operands"],
    ['add eax, 1, 2', "bad.s:1: no form of 'add' takes these operands (add takes 2 operands)"],
    ['inc [rax]', "bad.s:1: ambiguous operand size for 'inc'"],
    ['mov [rax], 1', "bad.s:1: ambiguous operand size for 'mov'"],
    ['movzx eax, [rax]', "bad.s:1: ambiguous operand size for 'movzx'"],
    ['mov al, 0x100', 'bad.s:1: no form of \'mov\' takes these operands (value 256 does not fit Ib)'],
    ['nop\n\njmp nowhere', "bad.s:3: undefined symbol 'nowhere'"],
    ['mov eax, [rip+nowhere]', "bad.s:1: undefined symbol 'nowhere'"],
    ['.byte 256', 'bad.s:1: value 256 does not fit 8 bits'],
    ['.byte later\n.fill 300\nlater:', 'bad.s:1: value 301 does not fit 8 bits'],
    ['x: loop y\n.fill 200\ny:', 'bad.s:1: branch or rip-relative target out of reach (200 does not fit 8 bits)'],
    ['mov r8, rax', "bad.s:1: no form of 'mov' takes these operands", { mode: 32 }],
    ['mov ah, sil', "bad.s:1: no form of 'mov' takes these operands (ah, bh, ch or dh cannot be used with a REX prefix)"],
    ['lock mov [rax], eax', "bad.s:1: lock prefix on 'mov' without a memory destination it allows"],
    ['lock add eax, ebx', "bad.s:1: lock prefix on 'add' without a memory destination it allows"],
    ['a:\na:', "bad.s:2: symbol 'a' is already defined"],
    ['jmp 1b', 'bad.s:1: no label 1: before 1b'],
    ['.fill 10\n.org 4', 'bad.s:2: .org moves backwards (to 4 from 10)'],
    ['.frobnicate 1', "bad.s:1: unknown directive '.frobnicate'"],
    ['mov eax, (1 + 2', "bad.s:1: expected ')' at the end"],
    ['mov eax, [rax+rbx+rcx]', 'bad.s:1: more than two registers in an address'],
    ['mov eax, [rax*3]', 'bad.s:1: the scale must be 1, 2, 4 or 8'],
    ['mov eax, [rsp*2]', "bad.s:1: no form of 'mov' takes these operands (rsp cannot be an index)"],
    ['.long 1 / 0', 'bad.s:1: division by zero'],
    ['.ascii "abc', 'bad.s:1: unterminated string'],
    ['.att_syntax', 'bad.s:1: AT&T syntax is not supported: this assembler reads Intel syntax'],
    ['es mov eax, [rax]', 'bad.s:1: the es prefix does nothing in 64-bit mode'],
  ])('%s → %s', (source, message, opts = {}) => {
    expect(error(source, opts)).toContain(message);
  });

  it('an object file may leave symbols undefined, for the linker', () => {
    expect(() => assembleElf('call printf\njmp exit')).not.toThrow();
  });
});

const work = mkdtempSync(join(tmpdir(), 'asm-cli-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const cli = (...args: string[]) => spawnSync(process.execPath, [new URL('../bin/asm.mjs', import.meta.url).pathname, ...args], { encoding: 'utf8' });

describe('the asm command', () => {
  it('an error is one line on stderr and exit status 1', () => {
    const src = join(work, 'bad.s');
    writeFileSync(src, 'start:\n    movz eax, 1\n');
    const r = cli(src, '-o', join(work, 'bad.bin'));
    expect(r.status).toBe(1);
    expect(r.stderr).toBe("asm: bad.s:2: unknown mnemonic 'movz'\n");
  });

  it('a usage error exits with 2 and shows the usage', () => {
    const r = cli('--bogus');
    expect(r.status).toBe(2);
    expect(r.stderr.split('\n')[0]).toBe("asm: unknown option '--bogus'");
  });

  it('writes a flat image at an origin and lists its symbols', () => {
    const src = join(work, 'ok.s'), out = join(work, 'ok.bin');
    writeFileSync(src, 'start:\n    mov eax, 1\n    jmp start\n');
    const r = cli(src, '-o', out, '--origin', '0x1000', '--symbols');
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('0000000000001000 start\n');
  });
});

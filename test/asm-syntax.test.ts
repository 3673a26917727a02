/**
 * The source language, piece by piece: comments and statement separators,
 * number and string syntax, expressions (GNU as's operators and precedence,
 * checked against GNU as's own results), the spellings of one memory operand,
 * local labels, and the flat layout of several sections. Whole programs
 * against GNU as are in asm.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { assemble } from '../tools/asm/index.js';

const hex = (src: string, opts: Parameters<typeof assemble>[1] = {}): string => Buffer.from(assemble(src, opts).bytes).toString('hex');
const quads = (src: string): bigint[] => {
  const b = assemble(src).bytes;
  return Array.from({ length: b.length / 8 }, (_, k) => new DataView(b.buffer, b.byteOffset + 8 * k, 8).getBigUint64(0, true));
};

describe('lexical syntax', () => {
  it('# and /* */ are comments, ; separates statements (rep; movsb is rep movsb)', () => {
    expect(hex('nop # a comment\n/* one\n two */ nop ; nop')).toBe('909090');
    expect(hex('rep; movsb')).toBe(hex('rep movsb'));
  });

  it('numbers: hex, binary, leading-zero octal, Intel h suffix, characters', () => {
    expect(hex(".byte 0x10, 0b101, 017, 0ah, 'A', '\\n', 'z'")).toBe('10050f0a410a7a');
  });

  it('strings: escapes, .ascii without and .asciz/.string with a terminating zero', () => {
    expect(hex('.ascii "a\\"\\\\\\t\\x41\\101"')).toBe('61225c094141');
    expect(hex('.asciz "ab"\n.string "c"')).toBe('6162006300');
  });

  it('mnemonics, registers and size keywords are case-insensitive', () => {
    expect(hex('MOV EAX, DWORD PTR [RBX]')).toBe(hex('mov eax, dword ptr [rbx]'));
  });
});

describe('expressions', () => {
  // Values GNU as 2.40 gives for the same .quad line.
  it('follow GNU as: + below & | ^, >> logical, / and % truncating, comparisons -1', () => {
    expect(quads('.quad -1 >> 60, -7 / 2, -7 % 2, 1 + 2 & 3, 2 * 3 + 1, (1 < 2), 1 == 1, 5 ! 1, 1 || 0, 2 && 3, ~0, 1 << 63')).toEqual(
      [0xfn, -3n, -1n, 3n, 7n, -1n, -1n, -1n, 1n, 1n, -1n, 1n << 63n].map((v) => BigInt.asUintN(64, v)));
  });

  it('= .equ .set assign, and .set may count', () => {
    expect(quads('A = 2\n.equ B, A * 3\n.set n, 0\n.set n, n + 1\n.set n, n + 1\n.quad A, B, n')).toEqual([2n, 6n, 2n]);
  });

  it('. is the address of the statement, or of each data item', () => {
    expect(hex('.fill 4\n.byte ., ., . + 1', { origin: 0x10 })).toBe('00000000141517');
  });

  it('a difference of labels is a number, known only after layout across a branch', () => {
    expect(hex('a: jmp b\nb: .byte b - a')).toBe('eb0002');
  });
});

describe('operands', () => {
  it('one address spelled many ways', () => {
    const want = hex('mov eax, DWORD PTR [rbx+rcx*4+0x8]');
    for (const src of ['mov eax, [rbx+rcx*4+8]', 'mov eax, [rcx*4+rbx+8]', 'mov eax, [8+4*rcx+rbx]', 'mov eax, 8[rbx+rcx*4]', 'mov eax, [rbx][rcx*4+8]']) {
      expect([src, hex(src)]).toEqual([src, want]);
    }
  });

  it('a bare label is memory, OFFSET label and a label difference are immediates (Intel syntax)', () => {
    expect(hex('x: mov eax, x', { mode: 32 })).toBe('a100000000');
    expect(hex('x: mov eax, OFFSET x', { mode: 32 })).toBe('b800000000');
    expect(hex('x: mov eax, OFFSET FLAT:x', { mode: 32 })).toBe('b800000000');
    expect(hex('x: mov eax, y - x\ny:', { mode: 32 })).toBe('b805000000');
  });

  it('segment overrides: in the operand, or as a prefix word; the default segment is dropped', () => {
    expect(hex('mov rax, fs:0x28')).toBe('64488b042528000000');
    expect(hex('mov eax, gs:[rdi]')).toBe('658b07');
    expect(hex('mov eax, ds:[rax]')).toBe('8b00');
    expect(hex('mov eax, ds:[rbp]')).toBe('3e8b4500');
  });

  it('x87 stack registers: st, st(i)', () => {
    expect(hex('fadd st, st(3)\nfxch st(1)\nfstp st(0)')).toBe('d8c3d9c9ddd8');
  });
});

describe('labels', () => {
  it('numeric labels: 1b is the last 1:, 1f the next', () => {
    expect(hex('1: nop\njmp 1b\njmp 1f\n1: nop\njmp 1b')).toBe('90ebfdeb0090ebfd');
  });
});

describe('flat images', () => {
  it('lay out .text, .data, then .bss, each at its alignment, from the origin', () => {
    const img = assemble('.text\nmov eax, OFFSET d\nmov ebx, OFFSET b\n.data\n.align 8\nd: .byte 1\n.bss\nb: .zero 4', { origin: 0x1000, mode: 32 });
    expect(Buffer.from(img.bytes).toString('hex')).toBe('b810100000bb11100000' + '000000000000' + '01');
    expect(img.symbols.get('d')).toBe(0x1010n);
    expect(img.symbols.get('b')).toBe(0x1011n);
    expect(img.sections.map((s) => [s.name, Number(s.addr), s.size])).toEqual([['.text', 0x1000, 10], ['.data', 0x1010, 1], ['.bss', 0x1011, 4]]);
  });

  it('defines supply symbols the source leaves undefined', () => {
    expect(hex('call putc', { origin: 0x1000, defines: { putc: 0x2000 } })).toBe('e8fb0f0000');
  });
});

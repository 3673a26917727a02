/**
 * Guest symbols (emu/firmware/symbols.ts): which ELF symbols name code
 * addresses, how far each reaches, and that a damaged table is one warning
 * and no symbols, never a refusal.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { Symbols, formatHit } from '../../emu/firmware/symbols.js';
import { symbolElf, DATA_OFFSET_FROM_ORIGIN, type TestSymbol } from '../helpers/symbol-elf.js';

const ORIGIN = 0x401000;
const CODE = new Uint8Array(0x40).fill(0x90);
const FUNC = 2, OBJECT = 1, SECTION = 3, ABS = 0xfff1;

function load(cls: 32 | 64, symbols: TestSymbol[], bias = 0): { syms: Symbols; warnings: string[] } {
  const warnings: string[] = [];
  const syms = Symbols.fromElf(symbolElf(cls, CODE, ORIGIN, ORIGIN, symbols).bytes, 'x.elf', (l) => warnings.push(l), bias);
  return { syms, warnings };
}

const name = (s: Symbols, addr: number): string | null => { const h = s.lookup(addr); return h && formatHit(h); };

describe('Symbols.fromElf', () => {
  for (const cls of [32, 64] as const) {
    it(`ELF${cls}: functions and labels with an address; sizes where given, else up to the next name or the section's end`, () => {
      const { syms, warnings } = load(cls, [
        { name: '_start', value: ORIGIN, size: 0x10, type: FUNC },
        { name: 'work', value: ORIGIN + 0x20, local: true },
        { name: 'inner', value: ORIGIN + 0x28, local: true },
        { name: 'table', value: ORIGIN + 0x30, size: 8, type: OBJECT },
        { name: 'CONST', value: ORIGIN + 0x8, shndx: ABS },
        { name: 'text', value: ORIGIN, type: SECTION, local: true },
        { name: 'extern', value: 0, shndx: 0 },
        { name: 'buffer', value: ORIGIN + DATA_OFFSET_FROM_ORIGIN, shndx: 4 },
      ]);
      expect(warnings).toEqual([]);
      expect(name(syms, ORIGIN)).toBe('_start');
      expect(name(syms, ORIGIN + 8)).toBe('_start+0x8');
      expect(name(syms, ORIGIN + 0x10)).toBeNull(); // past _start's size, before the next name
      expect(name(syms, ORIGIN + 0x27)).toBe('work+0x7');
      expect(name(syms, ORIGIN + 0x28)).toBe('inner');
      expect(name(syms, ORIGIN + 0x30)).toBe('inner+0x8'); // objects name no code
      expect(name(syms, ORIGIN + 0x3f)).toBe('inner+0x17');
      expect(name(syms, ORIGIN + 0x40)).toBeNull(); // .text ends
      expect(name(syms, ORIGIN + DATA_OFFSET_FROM_ORIGIN + 0x10)).toBe('buffer+0x10');
      expect(name(syms, ORIGIN - 1)).toBeNull();
      expect(syms.annotate(ORIGIN + 0x21)).toBe(' <work+0x1>');
      expect(syms.annotate(ORIGIN + 0x10)).toBe('');
    });
  }

  it('a function enclosing a shorter one names the addresses after it; of two at one address, a global function wins', () => {
    const { syms } = load(64, [
      { name: 'outer', value: ORIGIN, size: 0x40, type: FUNC },
      { name: 'helper', value: ORIGIN + 0x10, size: 4, type: FUNC },
      { name: 'alias', value: ORIGIN + 0x20, local: true },
      { name: 'entry', value: ORIGIN + 0x20, size: 8, type: FUNC },
      { name: 'also_entry', value: ORIGIN + 0x20, size: 8, type: FUNC },
    ]);
    expect(name(syms, ORIGIN + 0x12)).toBe('helper+0x2');
    expect(name(syms, ORIGIN + 0x14)).toBe('outer+0x14');
    expect(name(syms, ORIGIN + 0x20)).toBe('entry');
    expect(name(syms, ORIGIN + 0x28)).toBe('alias+0x8'); // entry's 8 bytes end; the label runs on to .text's end
  });

  it('a higher-half address is looked up in the signed form RIP has; a PIE bias moves every symbol', () => {
    const high = 0xffffffff80001000n;
    const warnings: string[] = [];
    const img = symbolElf(64, CODE, Number(BigInt.asIntN(64, high)), 0, [{ name: 'kstart', value: high, size: 0x10, type: FUNC }]);
    const syms = Symbols.fromElf(img.bytes, 'k.elf', (l) => warnings.push(l));
    expect(warnings).toEqual([]);
    expect(name(syms, Number(BigInt.asIntN(64, high + 4n)))).toBe('kstart+0x4');
    const pie = load(64, [{ name: 'main', value: 0x1000, size: 0x10, type: FUNC }], 0x555555554000).syms;
    expect(name(pie, 0x555555555004)).toBe('main+0x4');
    expect(name(pie, 0x1004)).toBeNull();
  });

  it('no table, or not ELF: no symbols and nothing to say', () => {
    const img = symbolElf(32, CODE, ORIGIN, ORIGIN, [{ name: 'x', value: ORIGIN }]);
    new DataView(img.bytes.buffer).setUint32(img.symtabHeader + 4, 0, true); // SHT_NULL: as if stripped
    const warnings: string[] = [];
    expect(Symbols.fromElf(img.bytes, 'x.elf', (l) => warnings.push(l)).lookup(ORIGIN)).toBeNull();
    expect(Symbols.fromElf(new TextEncoder().encode('just text, long enough to look at the header of, surely'), 't', (l) => warnings.push(l)).lookup(0)).toBeNull();
    expect(warnings).toEqual([]);
  });

  const damage: [string, (v: DataView, img: ReturnType<typeof symbolElf>) => void, RegExp][] = [
    ['its string table link points elsewhere', (v, img) => v.setUint32(img.symtabHeader + 40, 1, true), /string table \(section 1\) is not a string table/],
    ['it extends past the end of the file', (v, img) => v.setBigUint64(img.symtabHeader + 24, BigInt(img.bytes.length), true), /past the end of the file/],
    ['a wrong entry size', (v, img) => v.setBigUint64(img.symtabHeader + 56, 16n, true), /symbol size 16, not 24/],
    ['a name outside the string table', (v, img) => v.setUint32(img.symtabOffset + 24, 0x7fffffff, true), /symbol 1's name is outside the string table/],
    ['a section index beyond the headers', (v, img) => v.setUint16(img.symtabOffset + 24 + 6, 77, true), /symbol 1 names section 77 of 5/],
  ];
  for (const [what, hurt, message] of damage) {
    it(`a malformed table (${what}) is one warning naming the file, and no symbols`, () => {
      const img = symbolElf(64, CODE, ORIGIN, ORIGIN, [{ name: 'f', value: ORIGIN, type: FUNC }]);
      hurt(new DataView(img.bytes.buffer), img);
      const warnings: string[] = [];
      const syms = Symbols.fromElf(img.bytes, 'bad.elf', (l) => warnings.push(l));
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(/^bad\.elf: symbol table ignored: /);
      expect(warnings[0]).toMatch(message);
      expect(syms.lookup(ORIGIN)).toBeNull();
    });
  }

  it('reads the table GNU ld wrote into a committed guest image', () => {
    const bytes = readFileSync('test/guest/bin/hello.elf');
    const entry = new DataView(bytes.buffer, bytes.byteOffset).getUint32(24, true);
    const syms = Symbols.fromElf(bytes, 'hello.elf', (l) => { throw new Error(l); });
    expect(name(syms, entry)).toBe('_start');
    expect(name(syms, entry + 1)).toBe('_start+0x1');
  });
});

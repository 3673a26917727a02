/**
 * The disassembler against GNU objdump: test/golden/disasm/cases.json holds
 * objdump's Intel-syntax text for encodings of every opcode table row, a
 * ModRM/SIB sweep and instructions from the fixture binaries. After adding
 * rows, regenerate it with `node test/golden/disasm/generate.mjs`.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Decoder, Mode } from '../emu/cpu/decode.js';
import { disassemble, formatBytes } from '../emu/cpu/disasm.js';
import { Insn } from '../emu/cpu/insn.js';
import { opTable } from '../emu/cpu/opcodes.js';
import type { OpRow } from '../emu/cpu/table.js';

interface GoldenCase { group: string; mode: Mode; addr: string; bytes: string; text: string }

const golden = JSON.parse(readFileSync(new URL('golden/disasm/cases.json', import.meta.url), 'utf8')) as { cases: GoldenCase[] };
const decoder = new Decoder(opTable);

const parseHex = (s: string): number[] => Array.from({ length: s.length / 2 }, (_, k) => parseInt(s.slice(2 * k, 2 * k + 2), 16));
const squash = (s: string): string => s.trim().replace(/\s+/g, ' ');
const describeRow = (r: OpRow): string =>
  `${r.mn} ${r.code.toString(16).padStart(2, '0')}${r.pfx ? ` pfx ${r.pfx.toString(16)}` : ''}${r.digit !== undefined ? ` /${r.digit}` : ''}` +
  `${r.rm !== undefined ? ` rm=${r.rm}` : ''}${r.mod ? ` ${r.mod}` : ''} ${r.ops ?? ''}`;

interface Outcome { c: GoldenCase; row?: OpRow; len?: number; text?: string; error?: string }

/** Decodes and disassembles a case; running off the end of its bytes is an error, so a length mismatch shows. */
function run(c: GoldenCase): Outcome {
  const bytes = parseHex(c.bytes);
  const insn = new Insn();
  try {
    decoder.decode((k) => {
      if (k >= bytes.length) throw new Error(`decoder wants more than objdump's ${bytes.length} bytes`);
      return bytes[k];
    }, c.mode, insn);
    return { c, row: insn.row, len: insn.len, text: disassemble(insn, bytes, BigInt(c.addr), c.mode) };
  } catch (e) {
    return { c, error: (e as Error).message };
  }
}

const outcomes = golden.cases.map(run);

describe('disassembler against GNU objdump -M intel', () => {
  it('every opcode table row has a golden case that decodes to it (else: node test/golden/disasm/generate.mjs)', () => {
    const covered = new Set(outcomes.map((o) => o.row));
    const missing = opTable.rows.filter((r) => !covered.has(r)).map(describeRow);
    expect(missing).toEqual([]);
  });

  const groups = [...new Set(golden.cases.map((c) => c.group))];
  it.each(groups)('%s: each case decodes to objdump\'s length and prints objdump\'s text', (group) => {
    const wrong: string[] = [];
    for (const o of outcomes) {
      if (o.c.group !== group) continue;
      const where = `${o.c.mode}-bit ${formatBytes(parseHex(o.c.bytes))}`;
      if (o.error !== undefined) wrong.push(`${where}: ${o.error} (objdump: ${o.c.text})`);
      else if (o.len !== o.c.bytes.length / 2) wrong.push(`${where}: length ${o.len} (objdump: ${o.c.text})`);
      else if (squash(o.text!) !== squash(o.c.text)) wrong.push(`${where}: '${o.text}' (objdump: '${o.c.text}')`);
    }
    expect(wrong).toEqual([]);
  });

  it.each([
    ['48 03 44 8b 10', 0x401000, 'add    rax,QWORD PTR [rbx+rcx*4+0x10]'],
    ['8b 05 1a 2f 00 00', 0x401000, 'mov    eax,DWORD PTR [rip+0x2f1a]        # 0x403f20'],
    ['75 1e', 0x401000, 'jne    0x401020'],
    ['f3 48 ab', 0, 'rep stos QWORD PTR es:[rdi],rax'],
    ['64 48 8b 04 25 28 00 00 00', 0, 'mov    rax,QWORD PTR fs:0x28'],
    ['66 2e 0f 1f 84 00 00 00 00 00', 0, 'cs nop WORD PTR [rax+rax*1+0x0]'],
    ['48 83 c4 f0', 0, 'add    rsp,0xfffffffffffffff0'],
    ['dd 44 24 08', 0, 'fld    QWORD PTR [rsp+0x8]'],
    ['dd d9', 0, 'fstp   st(1)'],
    ['66 0f 6f 06', 0, 'movdqa xmm0,XMMWORD PTR [rsi]'],
  ])('%s reads as objdump prints it', (hex, addr, text) => {
    const bytes = hex.split(' ').map((h) => parseInt(h, 16));
    const insn = new Insn();
    decoder.decode((k) => bytes[k], Mode.Long64, insn);
    expect(disassemble(insn, bytes, addr)).toBe(text);
  });

  it('formats instruction bytes as objdump lists them', () => {
    expect(formatBytes([0x48, 0x01, 0xd8])).toBe('48 01 d8');
    expect(formatBytes(new Uint8Array([0x0f, 0x05, 0xcc]), 2)).toBe('0f 05');
  });
});

/**
 * tools/asm against GNU as: test/golden/asm/cases.json holds source lines
 * (objdump's text of the disassembler goldens, and every table row written
 * out in several operand forms, in 16-, 32- and 64-bit code) with the bytes
 * GNU as made of them, and whole programs (test/golden/asm/programs) with
 * the image as + ld made. Regenerate with `node test/golden/asm/generate.mjs`
 * after adding rows.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { assemble } from '../tools/asm/index.js';
import type { Mode } from '../tools/asm/index.js';
import { Decoder } from '../emu/cpu/decode.js';
import { Insn } from '../emu/cpu/insn.js';
import { opTable } from '../emu/cpu/opcodes.js';
import type { OpRow } from '../emu/cpu/table.js';

interface Line { group: string; mode: Mode; src: string; bytes: string }
interface Rejected { group: string; mode: Mode; src: string; gas: string }
interface Program { name: string; mode: Mode; origin: string; image: string; symbols: Record<string, string> }

const golden = JSON.parse(readFileSync(new URL('golden/asm/cases.json', import.meta.url), 'utf8')) as { lines: Line[]; programs: Program[]; rejected: Rejected[] };

/**
 * Where we knowingly differ from GNU as. smsw with a 64-bit register: GNU as
 * adds REX.W, though CR0's upper half is zero either way; the table gives
 * smsw the same 'Rv/Mw' as sldt, str and mov from a segment register, where
 * GNU as leaves REX.W out, so no rule read from the table can tell them apart.
 */
const KNOWN = ['64:smsw rsi', '64:smsw rbx', '64:smsw rbp'];

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

function run(c: Line): string {
  try {
    return hex(assemble(c.src, { mode: c.mode }).bytes);
  } catch (e) {
    return `error: ${(e as Error).message}`;
  }
}

describe('assembler against GNU as, one line at a time', () => {
  const groups = [...new Set(golden.lines.map((c) => c.group))];
  it.each(groups)('%s: every line assembles to the bytes GNU as made', (group) => {
    const wrong: string[] = [];
    for (const c of golden.lines) {
      if (c.group !== group || KNOWN.includes(`${c.mode}:${c.src}`)) continue;
      const got = run(c);
      if (got !== c.bytes) wrong.push(`${c.mode}-bit '${c.src}': ${got} (as: ${c.bytes})`);
    }
    expect(wrong).toEqual([]);
  });

  it('the known differences from GNU as are still there (else drop them from KNOWN)', () => {
    const still = golden.lines.filter((c) => KNOWN.includes(`${c.mode}:${c.src}`) && run(c) !== c.bytes);
    expect(still.map((c) => `${c.mode}:${c.src}`).sort()).toEqual([...KNOWN].sort());
  });

  // GNU as never emits an encoding that repeats an earlier row's mnemonic and operands
  // (82 /r, test f6 /1, shl /6, the reserved NOPs 0f 18..1e): neither do we.
  it('GNU as\'s bytes reach every table row but the aliases of earlier rows (else regenerate)', () => {
    const decoder = new Decoder(opTable);
    const reached = new Set<OpRow>();
    for (const c of golden.lines) {
      const b = Buffer.from(c.bytes, 'hex');
      const insn = new Insn();
      try { decoder.decode((k) => b[k], c.mode, insn); reached.add(insn.row); } catch { /* two instructions objdump showed as one */ }
    }
    const alias = (r: OpRow, k: number): boolean => opTable.rows.slice(0, k).some((e) => e.mn === r.mn && e.ops === r.ops);
    const missing = opTable.rows.filter((r, k) => !reached.has(r) && !alias(r, k));
    expect(missing.map((r) => `${r.mn} ${r.code.toString(16)} ${r.ops ?? ''}`)).toEqual([]);
  });
});

/**
 * Lines GNU as refuses that we assemble, on purpose:
 *   - bswap of a 16-bit register: the table's Zv allows it (the SDM leaves the result undefined);
 *   - a far pointer with REX.W (TBYTE PTR, m16:64) for jmp/call/lss/lfs/lgs: Intel reads
 *     it, as our CPU does; GNU as follows AMD, which has only m16:32;
 *   - addr32 on a branch: GNU as drops the prefix with a warning, we keep it.
 */
const ACCEPTED = [/^bswap (?:[a-d]x|[sd]i|[sb]p|r\d+w)$/, /TBYTE PTR/, /^addr32 (?:call|j)/];

describe('lines GNU as rejects', () => {
  it('are errors here too, but for the ones accepted on purpose', () => {
    const accepted = golden.rejected.filter((c) => {
      try { assemble(c.src, { mode: c.mode }); } catch { return false; }
      return !ACCEPTED.some((re) => re.test(c.src));
    });
    expect(accepted.map((c) => `${c.mode}-bit '${c.src}' (as: ${c.gas})`)).toEqual([]);
  });
});

describe('assembler against GNU as + ld, whole programs linked flat', () => {
  it.each(golden.programs.map((p) => [p.name, p] as const))('%s', (_name, p) => {
    const src = readFileSync(new URL(`golden/asm/programs/${p.name}`, import.meta.url), 'utf8');
    const defines = Object.fromEntries([...src.matchAll(/--defsym=(\w+)=(\w+)/g)].map((m) => [m[1], BigInt(m[2])]));
    const out = assemble(src, { mode: p.mode, origin: BigInt(p.origin), file: p.name, defines });
    expect(hex(out.bytes)).toBe(p.image);
    // nm prints values as unsigned 64-bit numbers.
    const got = (name: string): string => { const v = out.symbols.get(name); return v === undefined ? 'missing' : `0x${BigInt.asUintN(64, v).toString(16)}`; };
    for (const [name, value] of Object.entries(p.symbols)) expect([name, got(name)]).toEqual([name, value]);
  });
});

/**
 * tools/asm's ELF64 objects against GNU as's: for each program of
 * test/golden/asm/programs, the same sections and contents, the same
 * relocations (type, symbol, addend at each offset) and the same symbols,
 * read with test/helpers/elf-object.ts; and, where GNU ld is installed, our
 * object linked flat gives as + ld's image.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { assembleElf } from '../tools/asm/index.js';
import type { Mode } from '../tools/asm/index.js';
import { readObject, type ObjectFacts } from './helpers/elf-object.js';

interface Program { name: string; mode: Mode; origin: string; image: string; object: ObjectFacts }

const golden = JSON.parse(readFileSync(new URL('golden/asm/cases.json', import.meta.url), 'utf8')) as { programs: Program[] };
const source = (p: Program): string => readFileSync(new URL(`golden/asm/programs/${p.name}`, import.meta.url), 'utf8');
const programs = golden.programs.map((p) => [p.name, p] as const);

describe('ELF objects against GNU as', () => {
  it.each(programs)('%s: sections, relocations and symbols as GNU as writes them', (_name, p) => {
    const ours = readObject(assembleElf(source(p), { mode: p.mode, file: p.name }));
    expect(ours.sections).toEqual(p.object.sections);
    expect(ours.relocs).toEqual(p.object.relocs);
    expect(ours.symbols).toEqual(p.object.symbols);
  });
});

const haveLd = spawnSync('ld', ['--version']).status === 0;
const work = mkdtempSync(join(tmpdir(), 'asm-elf-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe.skipIf(!haveLd)('ELF objects linked by GNU ld (skipped without ld)', () => {
  it.each(programs)('%s: links flat to the image as + ld made', (name, p) => {
    const obj = join(work, `${name}.o`), elf = join(work, `${name}.elf`), bin = join(work, `${name}.bin`);
    writeFileSync(obj, assembleElf(source(p), { mode: p.mode, file: p.name }));
    const ldArgs = (/^# ld: (.*)$/m.exec(source(p))?.[1] ?? '').split(/\s+/).filter(Boolean);
    const script = fileURLToPath(new URL('golden/asm/flat.ld', import.meta.url));
    execFileSync('ld', ['-m', 'elf_x86_64', '--no-warn-rwx-segments', '-T', script, `--defsym=FLAT_ORIGIN=${p.origin}`, ...ldArgs, '-o', elf, obj]);
    execFileSync('objcopy', ['-O', 'binary', elf, bin]);
    expect(readFileSync(bin).toString('hex')).toBe(p.image);
  });
});

/**
 * Differential testing against V8 (tools/wasm2x64/fuzz): random valid
 * modules, and random AssemblyScript programs compiled by asc, whose stdout
 * and exit status (or trap) must agree under V8, natively and under
 * `emu run`. Fixed seeds: 100 modules with sizes cycling 4–16, every fifth
 * also under emu, and 4 programs (asc takes a second each), one also under
 * emu — about 20 s in all. `npm run fuzz` hunts with new seeds for as long as
 * it is left running; what it finds goes to wasm2x64-fuzz-regress.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { compile } from './fixtures/as/build.mjs';
import { generateAs } from '../tools/wasm2x64/fuzz/as-gen.js';
import { differential, expected, type Where } from '../tools/wasm2x64/fuzz/diff.js';
import { generate } from '../tools/wasm2x64/fuzz/gen.js';
import { reduce } from '../tools/wasm2x64/fuzz/reduce.js';

const native = process.platform === 'linux' && process.arch === 'x64';
const SEEDS = Array.from({ length: 100 }, (_, i) => i + 1);
const AS_SEEDS = [1, 2, 3, 4];
const where = (emu: boolean): Where[] => [...(native ? ['native' as const] : []), ...(emu ? ['emu' as const] : [])];

describe('random modules: V8, natively and under emu run agree', () => {
  it('a seed names one module', () => {
    expect(generate(7, 12).wasm).toEqual(generate(7, 12).wasm);
    expect(generate(8, 12).wasm).not.toEqual(generate(7, 12).wasm);
  });

  /** Seeds run, and how many of them ran to the end (no trap). */
  let ran = 0, finished = 0;
  for (const seed of SEEDS) {
    const size = [4, 8, 12, 16][seed % 4];
    const w = where(seed % 5 === 0);
    it.skipIf(w.length === 0)(`seed ${seed} size ${size} ${w.join(', ')}`, async () => {
      const r = await differential(generate(seed, size).wasm, w);
      expect(r.problem).toBeNull();
      ran++;
      if (r.v8?.trap === null) finished++;
    });
  }

  it('most modules run to the end rather than trap', () => {
    expect(finished).toBeGreaterThan(0.6 * ran);
  });

  it('the reducer keeps the failure and little else', async () => {
    // A trap stands in for a failure: the first seed whose module traps.
    const seed = SEEDS.find((x) => expected(generate(x, 8).wasm).trap !== null)!;
    const g = generate(seed, 8);
    const trap = expected(g.wasm).trap;
    const r = await reduce(seed, 8, async (c) => expected(c.wasm).trap === trap);
    expect(expected(r.generated.wasm).trap).toBe(trap);
    expect(r.kept).toBeLessThan(Math.min(12, g.ends.length / 4));
  });
});

describe('random AssemblyScript programs: V8, natively and under emu run agree', () => {
  for (const seed of AS_SEEDS) {
    const w = where(seed === 1);
    it.skipIf(w.length === 0)(`seed ${seed} ${w.join(', ')}`, async () => {
      const r = await differential(await compile('fuzz', { source: generateAs(seed, 8) }), w);
      expect(r.v8?.status).toBe(0);
      expect(r.problem).toBeNull();
    });
  }
});

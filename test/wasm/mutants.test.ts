/**
 * What if a module is almost right? Every binary module of the spec suite,
 * with a few bytes changed (anywhere, or only inside function bodies, where
 * the validator gets a real workout), must be accepted or refused by our
 * front end exactly when V8 accepts or refuses it. The only allowed
 * disagreements are features V8 has and we deliberately lack.
 */
import { describe, expect, it } from 'vitest';
import { decodeModule, parseModule, WasmError } from '../../tools/wasm2x64/wasm/index.js';
import { loadScript, readModule, scriptNames, SPEC_MISSING } from './spec.js';

/** Opcodes V8 11.3 knows beyond our set: exception handling and tail calls. */
const V8_ONLY_OPCODES = new Set([0x06, 0x07, 0x08, 0x09, 0x12, 0x13, 0x18, 0x19]);
/** The tag section (exception handling). */
const V8_ONLY_SECTION = 13;
const MUTANTS_PER_MODULE = 8;

/** Why our refusal of a module V8 accepts is intended, or null if it is a bug. */
function intended(bytes: Uint8Array, e: WasmError): string | null {
  if (e.kind === 'unsupported') return 'SIMD';
  if (e.reason === 'illegal opcode' && V8_ONLY_OPCODES.has(bytes[e.offset])) return 'exceptions or tail calls';
  if (e.reason === 'malformed section id' && bytes[e.offset] === V8_ONLY_SECTION) return 'tag section';
  return null;
}

function ours(bytes: Uint8Array): WasmError | null {
  try {
    parseModule(bytes);
    return null;
  } catch (e) {
    if (e instanceof WasmError) return e;
    throw new Error(`crash on ${Buffer.from(bytes).toString('hex')}: ${(e as Error).stack}`);
  }
}

/** A deterministic xorshift32, so a failure names a mutant that can be rebuilt. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
}

function mutate(orig: Uint8Array, ranges: readonly [number, number][], rand: () => number): Uint8Array<ArrayBuffer> {
  const b = Uint8Array.from(orig);
  const edits = 1 + Math.floor(rand() * 3);
  for (let j = 0; j < edits; j++) {
    const [lo, hi] = ranges[Math.floor(rand() * ranges.length)];
    const i = lo + Math.floor(rand() * (hi - lo));
    const r = rand();
    b[i] = r < 0.4 ? Math.floor(rand() * 256) : r < 0.8 ? b[i] ^ (1 << Math.floor(rand() * 8)) : b[i] + (r < 0.9 ? 1 : -1);
  }
  return b;
}

describe.skipIf(SPEC_MISSING)(`mutated spec modules: our front end agrees with V8${SPEC_MISSING ? ` (skipped: ${SPEC_MISSING})` : ''}`, () => {
  const modules = (SPEC_MISSING ? [] : scriptNames()).flatMap((n) => loadScript(n).commands)
    .flatMap((c) => ('module' in c && c.module.format === 'binary' ? [readModule(c.module)] : []));

  it('on every mutant, apart from features we leave out', () => {
    const rand = rng(0x5eed);
    const tally = { mutants: 0, bothAccept: 0, bothRefuse: 0, intended: new Map<string, number>() };
    const disagreements: string[] = [];
    for (const orig of modules) {
      let bodies: [number, number][] = [];
      try {
        bodies = decodeModule(orig).funcs.flatMap((f) => (f.code && f.code.end - f.code.pos > 3 ? [[f.code.pos + 2, f.code.end] as [number, number]] : []));
      } catch {
        // Malformed originals are mutated anywhere only.
      }
      for (let k = 0; k < MUTANTS_PER_MODULE; k++) {
        const ranges: [number, number][] = k % 2 === 0 || bodies.length === 0 ? [[8, orig.length]] : bodies;
        if (ranges[0][1] <= ranges[0][0]) continue;
        const b = mutate(orig, ranges, rand);
        tally.mutants++;
        const v8 = WebAssembly.validate(b);
        const e = ours(b);
        if (v8 && e === null) tally.bothAccept++;
        else if (!v8 && e !== null) tally.bothRefuse++;
        else {
          const why = e === null ? null : intended(b, e);
          if (why) tally.intended.set(why, (tally.intended.get(why) ?? 0) + 1);
          else disagreements.push(`${v8 ? 'V8 accepts' : 'V8 refuses'}, we ${e ? `refuse: ${e.message}` : 'accept'}: ${Buffer.from(b).toString('hex')}`);
        }
      }
    }
    console.log(`mutants: ${tally.mutants}, both accept ${tally.bothAccept}, both refuse ${tally.bothRefuse}, ` +
      `V8-only features ${JSON.stringify(Object.fromEntries(tally.intended))}`);
    expect(disagreements.slice(0, 10)).toEqual([]);
    // Enough mutants must stay valid for the comparison to say something about validation.
    expect(tally.bothAccept).toBeGreaterThan(tally.mutants / 20);
  });
});

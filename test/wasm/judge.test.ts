/**
 * The harness must be able to say no: wrong bits, the wrong NaN class, a
 * missing trap, a module accepted that should be refused — each is a failure,
 * and an executor that answers wrongly fails a real script.
 */
import { describe, expect, it } from 'vitest';
import type { Executor, Outcome } from './executor.js';
import { judge, runScript } from './judge.js';
import { type Command, loadScript, SPEC_MISSING } from './spec.js';
import { matches, parseExpected, parseValue } from './values.js';
import { v8Executor } from './v8-executor.js';

const f32 = (bits: number) => ({ type: 'f32' as const, bits: BigInt(bits) });
const f64 = (bits: bigint) => ({ type: 'f64' as const, bits });

describe('values', () => {
  it('reads wast2json numbers as unsigned bit patterns', () => {
    expect(parseValue({ type: 'i32', value: '4294967295' })).toEqual({ type: 'i32', bits: 0xffffffffn });
    expect(parseValue({ type: 'f32', value: '2143289344' })).toEqual(f32(0x7fc00000));
    expect(parseValue({ type: 'externref', value: '1' })).toEqual({ type: 'externref', ref: 1 });
  });

  it('compares numbers bit for bit: -0 is not +0', () => {
    expect(matches(f32(0x80000000), f32(0))).toBe(false);
    expect(matches(parseExpected({ type: 'i64', value: '18446744073709551615' }), { type: 'i64', bits: 2n ** 64n - 1n })).toBe(true);
    expect(matches(f32(0), { type: 'i32', bits: 0n })).toBe(false);
  });

  it('accepts a canonical NaN of either sign and nothing else for nan:canonical', () => {
    const canonical = parseExpected({ type: 'f32', value: 'nan:canonical' });
    expect(matches(canonical, f32(0x7fc00000))).toBe(true);
    expect(matches(canonical, f32(0xffc00000))).toBe(true);
    expect(matches(canonical, f32(0x7fc00001))).toBe(false);
    expect(matches(canonical, f32(0x7f800001))).toBe(false);
  });

  it('accepts any quiet NaN for nan:arithmetic, but not a signalling one or infinity', () => {
    const arithmetic = parseExpected({ type: 'f64', value: 'nan:arithmetic' });
    expect(matches(arithmetic, f64(0xfff8000000000123n))).toBe(true);
    expect(matches(arithmetic, f64(0x7ff0000000000001n))).toBe(false);
    expect(matches(arithmetic, f64(0x7ff0000000000000n))).toBe(false);
  });
});

describe('judge', () => {
  const action = { kind: 'invoke', module: null, field: 'f', args: [] } as const;
  const ret: Command = { kind: 'assert_return', line: 1, action, expected: [{ type: 'i32', bits: 1n }] };
  const trap: Command = { kind: 'assert_trap', line: 2, action, resultTypes: [], text: 'unreachable' };
  const invalid: Command = { kind: 'assert_invalid', line: 3, module: { path: 'x.wasm', format: 'binary' }, text: 'type mismatch' };

  it('fails wrong results, wrong arity and traps where values were due', () => {
    expect(judge(ret, { kind: 'values', values: [{ type: 'i32', bits: 1n }] }).status).toBe('pass');
    expect(judge(ret, { kind: 'values', values: [{ type: 'i32', bits: 2n }] }).status).toBe('fail');
    expect(judge(ret, { kind: 'values', values: [] }).status).toBe('fail');
    expect(judge(ret, { kind: 'trap', message: 'unreachable' }).status).toBe('fail');
  });

  it('fails a missing trap, and a rejection at the wrong stage', () => {
    expect(judge(trap, { kind: 'trap', message: 'x' }).status).toBe('pass');
    expect(judge(trap, { kind: 'values', values: [] }).status).toBe('fail');
    expect(judge(trap, { kind: 'exhaustion', message: 'x' }).status).toBe('fail');
    expect(judge(invalid, { kind: 'rejected', stage: 'compile', message: 'x' }).status).toBe('pass');
    expect(judge(invalid, { kind: 'rejected', stage: 'link', message: 'x' }).status).toBe('fail');
    expect(judge(invalid, { kind: 'ok' }).status).toBe('fail');
  });

  it('skips text-format modules whatever the executor says', () => {
    const text: Command = { ...invalid, kind: 'assert_malformed', module: { path: 'x.wat', format: 'text' } } as Command;
    expect(judge(text, { kind: 'ok' }).status).toBe('skip');
  });
});

describe.skipIf(SPEC_MISSING)(`a wrong executor fails a real script${SPEC_MISSING ? ` (skipped: ${SPEC_MISSING})` : ''}`, () => {
  /** V8, except that every i32 result comes back one too high. */
  const offByOne: Executor = {
    name: 'off-by-one',
    cannotRun: () => null,
    async run(script) {
      const outs = await v8Executor.run(script);
      return outs.map((o): Outcome => (o.kind === 'values'
        ? { kind: 'values', values: o.values.map((v) => (v.type === 'i32' ? { ...v, bits: (v.bits + 1n) & 0xffffffffn } : v)) }
        : o));
    },
  };

  it('i32.wast passes on V8 and fails off by one', async () => {
    const script = loadScript('i32');
    expect((await runScript(v8Executor, script)).failures).toEqual([]);
    const r = await runScript(offByOne, script);
    expect(r.failures.length).toBe(r.counts.get('assert_return')!.fail);
    expect(r.counts.get('assert_return')!.fail).toBeGreaterThan(300);
  });

  it('a file the executor refuses is counted as skipped, with its reason', async () => {
    const refuses: Executor = { ...v8Executor, name: 'picky', cannotRun: () => 'no floats today' };
    const r = await runScript(refuses, loadScript('f32'));
    expect(r.fileSkip).toBe('no floats today');
    expect(r.counts.get('assert_return')).toEqual({ pass: 0, fail: 0, skip: 2500 });
  });
});

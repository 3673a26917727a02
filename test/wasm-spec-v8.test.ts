/**
 * The WebAssembly spec tests (../shared/wasm-spec, 88 files) through the
 * harness of test/wasm/, twice:
 * - on V8, which is correct, so any failure is the harness's: this is what
 *   lets the compiler's executor (emu run) trust the same harness later;
 * - through our decoder and validator: every valid module parses, every
 *   malformed or invalid one is refused for the spec's reason.
 * Files V8 cannot run are skipped with their reason printed, never silently.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { ISSUE_FEATURES } from '../tools/wasm2x64/wasm/index.js';
import { checkFrontEnd, type FrontEndReport, REASON_GAPS } from './wasm/front-end.js';
import { type Count, formatCounts, runScript, type ScriptReport } from './wasm/judge.js';
import { type CommandKind, loadScript, scriptNames, SPEC_MISSING } from './wasm/spec.js';
import { v8Executor } from './wasm/v8-executor.js';

/** Commands per kind in the suite (its README), so a command the harness drops cannot go unnoticed. */
const SUITE: Record<CommandKind, number> = {
  module: 1126, register: 21, action: 155, assert_return: 21453, assert_trap: 2354, assert_exhaustion: 15,
  assert_invalid: 1477, assert_malformed: 1113, assert_unlinkable: 83, assert_uninstantiable: 34,
};
/** assert_malformed commands on .wat text, which test a text parser we do not have. */
const TEXT_MODULES = 394;

const names = SPEC_MISSING ? [] : scriptNames();
const scripts = new Map(names.map((n) => [n, loadScript(n)]));
const v8: ScriptReport[] = [];
const ours: FrontEndReport[] = [];

function totals(reports: readonly ScriptReport[]): Map<CommandKind, Count> {
  const t = new Map<CommandKind, Count>();
  for (const r of reports) {
    for (const [k, c] of r.counts) {
      const s = t.get(k) ?? { pass: 0, fail: 0, skip: 0 };
      t.set(k, { pass: s.pass + c.pass, fail: s.fail + c.fail, skip: s.skip + c.skip });
    }
  }
  return t;
}

describe.skipIf(SPEC_MISSING)(`spec tests on ${v8Executor.name}${SPEC_MISSING ? ` (skipped: ${SPEC_MISSING})` : ''}`, () => {
  it('finds all 88 converted files', () => {
    expect(names.length).toBe(88);
  });

  for (const name of names) {
    it(name, async () => {
      const r = await runScript(v8Executor, scripts.get(name)!);
      v8.push(r);
      expect(r.failures).toEqual([]);
    });
  }

  it('ran every command of the suite, skipping only text modules and files V8 cannot run', () => {
    const fileSkipped = new Map<CommandKind, number>();
    for (const r of v8.filter((r) => r.fileSkip !== null)) {
      for (const [k, c] of r.counts) fileSkipped.set(k, (fileSkipped.get(k) ?? 0) + c.skip);
    }
    for (const [kind, c] of totals(v8)) {
      const text = kind === 'assert_malformed' ? TEXT_MODULES : 0;
      expect({ kind, total: c.pass + c.fail + c.skip }).toEqual({ kind, total: SUITE[kind] });
      expect({ kind, skip: c.skip }).toEqual({ kind, skip: text + (fileSkipped.get(kind) ?? 0) });
    }
  });
});

describe.skipIf(SPEC_MISSING)(`our decoder and validator on every spec module${SPEC_MISSING ? ` (skipped: ${SPEC_MISSING})` : ''}`, () => {
  for (const name of names) {
    it(name, () => {
      const r = checkFrontEnd(scripts.get(name)!);
      ours.push(r);
      expect(r.failures).toEqual([]);
    });
  }

  it('judged every binary module, and every known reason gap still occurs', () => {
    const t = totals(ours);
    expect(t.get('assert_malformed')!.pass).toBe(SUITE.assert_malformed - TEXT_MODULES);
    for (const kind of ['module', 'assert_invalid', 'assert_unlinkable', 'assert_uninstantiable'] as const) {
      expect({ kind, pass: t.get(kind)!.pass }).toEqual({ kind, pass: SUITE[kind] });
    }
    expect(ours.flatMap((r) => r.gapsHit).sort()).toEqual([...REASON_GAPS.keys()].sort());
  });
});

afterAll(() => {
  const lines = [formatCounts(v8Executor.name, v8), formatCounts('decoder/validator', ours)];
  const fileSkips = v8.filter((r) => r.fileSkip !== null);
  lines.push(`files V8 cannot run: ${fileSkips.length}`, ...fileSkips.map((r) => `  ${r.script}: ${r.fileSkip}`));
  for (const gap of REASON_GAPS) lines.push(`reason gap ${gap[0]}: ${gap[1]}`);
  // What the code generator will meet beyond the issue's feature list (reference types, so far).
  const beyond = ours.map((r) => [r.script, [...r.features].filter((f) => !ISSUE_FEATURES.has(f))] as const).filter(([, fs]) => fs.length);
  lines.push(`files whose valid modules use features beyond the issue's list: ${beyond.length}`,
    `  ${beyond.map(([n, fs]) => `${n} (${fs.join(', ')})`).join(', ')}`);
  console.log(lines.join('\n'));
});

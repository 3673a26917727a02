/**
 * The spec files tools/wasm2x64 compiles so far, through the harness of
 * test/wasm/: each script becomes one linux-user ELF (modules + generated
 * driver), run natively and under `emu run`. No command may fail; commands in
 * modules the code generator refuses are skipped with its one-line reason
 * and counted. The counts are printed at the end.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { formatCounts, runScript, type ScriptReport } from './wasm/judge.js';
import { loadScript, SPEC_MISSING } from './wasm/spec.js';
import { type Built, x64Executor } from './wasm/x64-executor.js';

const FILES = [
  'address', 'br', 'br_if', 'br_table', 'block', 'call', 'call_indirect', 'data', 'elem', 'exports', 'fac',
  'forward', 'func', 'global', 'i32', 'i64', 'if', 'imports', 'int_exprs', 'int_literals', 'labels', 'linking',
  'load', 'local_get', 'local_set', 'local_tee', 'loop', 'memory', 'memory_grow', 'memory_size', 'memory_trap',
  'nop', 'return', 'select', 'stack', 'start', 'store', 'switch', 'traps', 'unreachable', 'unwind',
  'f32', 'f32_bitwise', 'f32_cmp', 'f64', 'f64_bitwise', 'f64_cmp', 'conversions', 'float_exprs', 'float_literals',
  'float_memory', 'float_misc', 'const', 'endianness', 'left-to-right',
  'align', 'binary', 'binary-leb128', 'comments', 'custom', 'func_ptrs', 'inline-module', 'memory_copy', 'memory_fill',
  'memory_redundancy', 'names', 'skip-stack-guard-page', 'token', 'type', 'unreached-invalid', 'unreached-valid',
  'utf8-custom-section-id', 'utf8-import-field', 'utf8-import-module',
  'bulk', 'memory_init', 'ref_func', 'ref_is_null', 'ref_null', 'table', 'table-sub', 'table_copy', 'table_fill',
  'table_get', 'table_grow', 'table_init', 'table_set', 'table_size',
];

const native = process.platform === 'linux' && process.arch === 'x64';
const cache = new Map<string, Built>();
const reports = { native: [] as ScriptReport[], emu: [] as ScriptReport[] };

for (const how of ['native', 'emu'] as const) {
  const why = SPEC_MISSING ?? (how === 'native' && !native ? 'not an x86-64 Linux host' : null);
  describe.skipIf(why !== null)(`wasm2x64 spec files ${how}${why ? ` (skipped: ${why})` : ''}`, () => {
    for (const name of FILES) {
      it(name, async () => {
        const r = await runScript(x64Executor(how, cache), loadScript(name));
        reports[how].push(r);
        expect(r.failures).toEqual([]);
      });
    }
  });
}

afterAll(() => {
  const lines: string[] = [];
  for (const how of ['native', 'emu'] as const) {
    lines.push(formatCounts(`wasm2x64 ${how}`, reports[how]));
    for (const r of reports[how]) {
      const c = [...r.counts.values()].reduce((a, x) => ({ p: a.p + x.pass, f: a.f + x.fail, s: a.s + x.skip }), { p: 0, f: 0, s: 0 });
      lines.push(`  ${r.script.padEnd(14)} ${c.p} passed ${c.f} failed ${c.s} skipped`);
    }
  }
  const reasons = new Map<string, number>();
  for (const r of reports.native.length ? reports.native : reports.emu) {
    for (const [k, n] of r.skipReasons) reasons.set(k.replace(/^func \d+ \(.*?\): /, ''), (reasons.get(k) ?? 0) + n);
  }
  lines.push('skip reasons:', ...[...reasons].sort((a, b) => b[1] - a[1]).map(([k, n]) => `  ${n} ${k}`));
  console.log(lines.join('\n'));
});

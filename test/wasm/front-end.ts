/**
 * Our decoder and validator (tools/wasm2x64/wasm) on every binary module of
 * a script: modules that must work — `module`, assert_unlinkable,
 * assert_uninstantiable (their failure is at link or run time) — must parse;
 * assert_malformed must fail as `malformed` and assert_invalid as `invalid`,
 * and the reason must begin with the spec's text, the way the spec
 * interpreter's own harness compares messages.
 */
import { type Feature, featuresUsed, parseModule, WasmError } from '../../tools/wasm2x64/wasm/index.js';
import { report, type ScriptReport, type Verdict } from './judge.js';
import { type Command, readModule, type Script } from './spec.js';

/**
 * Rejections of the right kind whose reason cannot match: the binary no
 * longer holds what the .wast said. Each entry must still be hit (a test
 * checks), so the list cannot go stale.
 */
export const REASON_GAPS: ReadonlyMap<string, string> = new Map([
  ['select.wast:324', 'wast2json encodes `(select (result))`, an annotation without types, as the untyped select, ' +
    'so the binary shows a missing operand ("type mismatch"), not the spec\'s "invalid result arity"'],
]);

export interface FrontEndReport extends ScriptReport {
  /** Keys of REASON_GAPS this script used. */
  readonly gapsHit: readonly string[];
  /** Post-MVP features its valid modules use. */
  readonly features: ReadonlySet<Feature>;
}

type ModuleCommand = Extract<Command, { module: unknown }>;

export function checkFrontEnd(script: Script): FrontEndReport {
  const commands = script.commands.filter((c): c is ModuleCommand => 'module' in c && c.module.format === 'binary');
  const gapsHit: string[] = [];
  const features = new Set<Feature>();
  const verdicts = commands.map((c): Verdict => {
    let err: unknown = null;
    try {
      for (const f of featuresUsed(parseModule(readModule(c.module)))) features.add(f);
    } catch (e) {
      err = e;
    }
    if (err !== null && !(err instanceof WasmError)) throw err;
    if (c.kind !== 'assert_malformed' && c.kind !== 'assert_invalid') {
      return err === null ? { status: 'pass' } : { status: 'fail', detail: `refused a valid module: ${err.message}` };
    }
    const want = c.kind === 'assert_malformed' ? 'malformed' : 'invalid';
    if (err === null) return { status: 'fail', detail: `accepted; expected ${want} (${c.text})` };
    if (err.kind !== want) return { status: 'fail', detail: `refused as ${err.kind}, expected ${want} (${c.text}): ${err.message}` };
    if (err.reason.startsWith(c.text)) return { status: 'pass' };
    const key = `${script.name}.wast:${c.line}`;
    if (REASON_GAPS.has(key)) {
      gapsHit.push(key);
      return { status: 'pass' };
    }
    return { status: 'fail', detail: `refused for another reason than "${c.text}": ${err.message}` };
  });
  return { ...report({ name: script.name, commands }, null, verdicts), gapsHit, features };
}

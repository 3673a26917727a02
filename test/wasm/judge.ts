/**
 * Whether an executor's outcome satisfies a command, and the per-script
 * report. Traps are judged by their occurrence, not their message (engines
 * word them differently; the spec harness does the same).
 */
import type { Executor, Outcome, RejectStage } from './executor.js';
import { type Command, type CommandKind, COMMAND_KINDS, type Script } from './spec.js';
import { matches, showValue } from './values.js';

export type Verdict =
  | { readonly status: 'pass' }
  | { readonly status: 'skip'; readonly reason: string }
  | { readonly status: 'fail'; readonly detail: string };

const PASS: Verdict = { status: 'pass' };

const REJECTION: Record<string, RejectStage> = {
  assert_malformed: 'compile',
  assert_invalid: 'compile',
  assert_unlinkable: 'link',
  assert_uninstantiable: 'instantiate',
};

export function judge(cmd: Command, out: Outcome): Verdict {
  if ('module' in cmd && cmd.module.format === 'text') return { status: 'skip', reason: 'text-format module (tests the .wat parser)' };
  if (out.kind === 'skipped') return { status: 'skip', reason: out.reason };
  const fail = (detail: string): Verdict => ({ status: 'fail', detail });
  switch (cmd.kind) {
    case 'module':
    case 'register':
      return out.kind === 'ok' ? PASS : fail(describe(out));
    case 'action':
      return out.kind === 'values' ? PASS : fail(describe(out));
    case 'assert_return': {
      if (out.kind !== 'values') return fail(describe(out));
      const want = cmd.expected;
      if (out.values.length !== want.length) return fail(`${out.values.length} results, expected ${want.length}`);
      for (let i = 0; i < want.length; i++) {
        if (!matches(want[i], out.values[i])) return fail(`result ${i} is ${showValue(out.values[i])}, expected ${showValue(want[i])}`);
      }
      return PASS;
    }
    case 'assert_trap':
      return out.kind === 'trap' ? PASS : fail(`expected a trap (${cmd.text}), got ${describe(out)}`);
    case 'assert_exhaustion':
      return out.kind === 'exhaustion' ? PASS : fail(`expected call stack exhaustion, got ${describe(out)}`);
    default: {
      const stage = REJECTION[cmd.kind];
      if (out.kind === 'rejected' && out.stage === stage) return PASS;
      return fail(`expected rejection at ${stage} (${cmd.text}), got ${describe(out)}`);
    }
  }
}

function describe(out: Outcome): string {
  switch (out.kind) {
    case 'ok': return 'ok';
    case 'values': return `values [${out.values.map(showValue).join(', ')}]`;
    case 'trap': return `trap: ${out.message}`;
    case 'exhaustion': return `exhaustion: ${out.message}`;
    case 'rejected': return `rejected at ${out.stage}: ${out.message}`;
    case 'skipped': return `skipped: ${out.reason}`;
    case 'error': return `executor error: ${out.message}`;
  }
}

export interface Count {
  pass: number;
  fail: number;
  skip: number;
}

export interface ScriptReport {
  readonly script: string;
  /** Set when the executor refused the whole file; then every command counts as skipped. */
  readonly fileSkip: string | null;
  readonly counts: Map<CommandKind, Count>;
  /** `name.wast:line kind: detail`, for every failed command. */
  readonly failures: string[];
  /** Reason → number of commands skipped for it. */
  readonly skipReasons: Map<string, number>;
}

export function emptyCounts(): Map<CommandKind, Count> {
  return new Map(COMMAND_KINDS.map((k) => [k, { pass: 0, fail: 0, skip: 0 }]));
}

export async function runScript(exec: Executor, script: Script): Promise<ScriptReport> {
  const fileSkip = exec.cannotRun(script);
  const outcomes: Outcome[] = fileSkip === null
    ? await exec.run(script)
    : script.commands.map(() => ({ kind: 'skipped', reason: `${exec.name} cannot run ${script.name}: ${fileSkip}` }));
  if (outcomes.length !== script.commands.length) {
    throw new Error(`${exec.name} answered ${outcomes.length} outcomes for ${script.commands.length} commands of ${script.name}`);
  }
  return report(script, fileSkip, script.commands.map((c, i) => judge(c, outcomes[i])));
}

/** Tallies verdicts (one per command) into a report. */
export function report(script: Script, fileSkip: string | null, verdicts: readonly Verdict[]): ScriptReport {
  const counts = emptyCounts();
  const failures: string[] = [];
  const skipReasons = new Map<string, number>();
  script.commands.forEach((cmd, i) => {
    const v = verdicts[i];
    counts.get(cmd.kind)![v.status]++;
    if (v.status === 'fail') failures.push(`${script.name}.wast:${cmd.line} ${cmd.kind}: ${v.detail}`);
    if (v.status === 'skip') skipReasons.set(v.reason, (skipReasons.get(v.reason) ?? 0) + 1);
  });
  return { script: script.name, fileSkip, counts, failures, skipReasons };
}

/** Sums reports and lays the counts out as a table, one row per command kind. */
export function formatCounts(title: string, reports: readonly ScriptReport[]): string {
  const total = emptyCounts();
  for (const r of reports) {
    for (const [k, c] of r.counts) {
      const t = total.get(k)!;
      t.pass += c.pass;
      t.fail += c.fail;
      t.skip += c.skip;
    }
  }
  const rows = [...total].filter(([, c]) => c.pass + c.fail + c.skip > 0)
    .map(([k, c]) => `  ${k.padEnd(22)} ${String(c.pass + c.fail + c.skip).padStart(6)} commands  ${String(c.pass).padStart(6)} passed  ${c.fail} failed  ${c.skip} skipped`);
  const failed = reports.reduce((n, r) => n + r.failures.length, 0);
  return [`${title}: ${reports.length} files, ${failed} failures`, ...rows].join('\n');
}

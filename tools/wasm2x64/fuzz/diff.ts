/**
 * One module three ways — V8 in this process (the AS programs' runner,
 * test/fixtures/as/build.mjs), the compiled ELF natively and under
 * `emu run` — and the first disagreement as one line. V8 is the reference:
 * stdout must be identical, and the exit status equal, or after a trap
 * 100 + one of the trap kinds V8's message may stand for (with our runtime's
 * message for that kind on stderr).
 */
import { run as runV8 } from '../../../test/fixtures/as/build.mjs';
import { runElf, type RunResult } from '../../../test/wasm/x64-executor.js';
import { Trap, TRAP_MESSAGES } from '../codegen/ops.js';
import { compileLinuxUser } from '../linux-user.js';

/** V8's RuntimeError messages and the kinds each may stand for: V8 names some traps more coarsely than we do. */
const V8_TRAPS: Readonly<Record<string, readonly Trap[]>> = {
  'unreachable': [Trap.Unreachable],
  'divide by zero': [Trap.DivByZero],
  'remainder by zero': [Trap.DivByZero],
  'divide result unrepresentable': [Trap.Overflow],
  'float unrepresentable in integer range': [Trap.Overflow, Trap.InvalidConversion],
  'memory access out of bounds': [Trap.OutOfBounds],
  'table index is out of bounds': [Trap.UndefinedElement, Trap.TableOutOfBounds],
  'element segment out of bounds': [Trap.TableOutOfBounds],
  'null function or function signature mismatch': [Trap.UninitializedElement, Trap.SignatureMismatch],
};

export type Where = 'native' | 'emu';

export interface Expected {
  readonly stdout: string;
  /** The exit status, or null after a trap. */
  readonly status: number | null;
  /** V8's trap message, or null. */
  readonly trap: string | null;
}

export interface Report {
  /** The first disagreement, or null when all agree. */
  readonly problem: string | null;
  readonly v8: Expected | null;
  readonly runs: Partial<Record<Where, RunResult>>;
}

const show = (s: string | undefined): string => (s === undefined ? 'nothing' : JSON.stringify(s.length > 60 ? `${s.slice(0, 60)}…` : s));

/** What is wrong with `r` against V8's result, or null. */
export function compare(want: Expected, r: RunResult): string | null {
  if (r.stdout !== want.stdout) {
    const a = want.stdout.split('\n'), b = r.stdout.split('\n');
    let i = 0;
    while (a[i] === b[i]) i++;
    return `stdout line ${i + 1}: ${show(b[i])}, V8 ${show(a[i])}`;
  }
  if (want.trap === null) {
    if (r.status !== want.status || r.stderr !== '') return `status ${r.status}${r.stderr ? ` (${r.stderr.trim()})` : ''}, V8 ${want.status}`;
    return null;
  }
  const kinds = V8_TRAPS[want.trap] ?? [];
  const kind = (r.status ?? 0) - 100;
  if (!kinds.includes(kind as Trap) || !r.stderr.startsWith(`wasm trap: ${TRAP_MESSAGES[kind as Trap]} in function `)) {
    return `status ${r.status}${r.stderr ? ` (${r.stderr.trim()})` : ''}, V8 trapped: ${want.trap}`;
  }
  return null;
}

/** V8's run of the module; a module V8 refuses is the generator's fault and throws. */
export function expected(wasm: Uint8Array<ArrayBuffer>): Expected {
  const r = runV8(wasm);
  return { stdout: r.stdout.toString(), status: r.status, trap: r.trap };
}

export async function differential(wasm: Uint8Array<ArrayBuffer>, where: readonly Where[]): Promise<Report> {
  let v8: Expected;
  try {
    v8 = expected(wasm);
  } catch (err) {
    return { problem: `V8: ${(err as Error).message.split('\n')[0]}`, v8: null, runs: {} };
  }
  let elf: Uint8Array;
  try {
    elf = compileLinuxUser(wasm);
  } catch (err) {
    return { problem: `wasm2x64: ${(err as Error).message.split('\n')[0]}`, v8, runs: {} };
  }
  const runs: Partial<Record<Where, RunResult>> = {};
  const results = await Promise.all(where.map((w) => runElf(elf, w)));
  let problem: string | null = null;
  where.forEach((w, i) => {
    runs[w] = results[i];
    const p = compare(v8, results[i]);
    if (p && !problem) problem = `${w}: ${p}`;
  });
  const n = runs.native, e = runs.emu;
  if (!problem && n && e && (n.stdout !== e.stdout || n.stderr !== e.stderr || n.status !== e.status)) {
    problem = `emu: status ${e.status} (${e.stderr.trim()}), natively ${n.status} (${n.stderr.trim()})`;
  }
  return { problem, v8, runs };
}

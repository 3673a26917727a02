/**
 * What runs a spec script. An executor gets a whole script and answers with
 * one Outcome per command, in order; it never decides whether an outcome is
 * right (judge.ts does). Taking the whole script at once lets an executor
 * batch: V8 runs each command as it comes, while a compiling executor can
 * turn a script into one program — every module compiled, the commands as a
 * generated driver — and run that once under `emu run`.
 *
 * Contract:
 * - `module`: ok, or rejected at the stage where it failed.
 * - `register`: ok (error if the module is unknown).
 * - invocations and gets: values (raw bits, see values.ts), trap, or
 *   exhaustion (call stack overflow).
 * - assert_* on a module: rejected with the stage, or ok if it was accepted.
 * - `skipped` for a command the executor cannot run, with the reason; text-
 *   format modules (.wat) are never run, whatever the executor answers.
 */
import type { Script } from './spec.js';
import type { Value } from './values.js';

/**
 * Where a module failed: `compile` (decoding or validation — V8 does not tell
 * them apart), `link` (imports), `instantiate` (a trap while instantiating:
 * an out-of-bounds segment or a trapping start function).
 */
export type RejectStage = 'compile' | 'link' | 'instantiate';

export type Outcome =
  | { readonly kind: 'ok' }
  | { readonly kind: 'values'; readonly values: readonly Value[] }
  | { readonly kind: 'trap'; readonly message: string }
  | { readonly kind: 'exhaustion'; readonly message: string }
  | { readonly kind: 'rejected'; readonly stage: RejectStage; readonly message: string }
  | { readonly kind: 'skipped'; readonly reason: string }
  /** The executor itself failed (e.g. an action on a module that never instantiated). */
  | { readonly kind: 'error'; readonly message: string };

export interface Executor {
  readonly name: string;
  /** Why this executor cannot run the script at all, or null. */
  cannotRun(script: Script): string | null;
  run(script: Script): Promise<Outcome[]>;
}

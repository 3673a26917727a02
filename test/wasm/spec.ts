/**
 * The WebAssembly spec tests (../shared/wasm-spec: wast2json output) as typed
 * scripts. A script is run in order; `module` makes a module current (and
 * maybe named), actions without a module name act on the current one. How
 * the commands are carried out is an executor's business (executor.ts);
 * whether the result is right is judge.ts's.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Expected, parseExpected, parseValue, type TypeName, typeName, type Value } from './values.js';

/** The converted suite, beside the repository (override with WASM_SPEC_DIR). */
export const SPEC_DIR = process.env.WASM_SPEC_DIR ??
  path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../shared/wasm-spec');

/**
 * The suite lives outside the repository, so a checkout elsewhere may not
 * have it: then the suites that need it are skipped and say why.
 */
export const SPEC_MISSING: string | null = fs.existsSync(SPEC_DIR) ? null : `${SPEC_DIR} is missing (set WASM_SPEC_DIR)`;

export type Action =
  | { readonly kind: 'invoke'; readonly module: string | null; readonly field: string; readonly args: readonly Value[] }
  | { readonly kind: 'get'; readonly module: string | null; readonly field: string };

/** A module file: `.wasm`, or for some assert_malformed a `.wat` of the text format. */
export interface ModuleFile {
  readonly path: string;
  readonly format: 'binary' | 'text';
}

interface At {
  /** Line in the original .wast. */
  readonly line: number;
}

export type Command = At & (
  | { readonly kind: 'module'; readonly module: ModuleFile; readonly name: string | null }
  | { readonly kind: 'register'; readonly as: string; readonly name: string | null }
  /** Must not trap; the results are not checked. */
  | { readonly kind: 'action'; readonly action: Action; readonly resultTypes: readonly TypeName[] }
  | { readonly kind: 'assert_return'; readonly action: Action; readonly expected: readonly Expected[] }
  | { readonly kind: 'assert_trap' | 'assert_exhaustion'; readonly action: Action; readonly resultTypes: readonly TypeName[]; readonly text: string }
  /** The module must be refused: by the decoder, the validator, linking, or instantiation (a trap). */
  | { readonly kind: ModuleAssertion; readonly module: ModuleFile; readonly text: string }
);

export type ActionCommand = Extract<Command, { action: Action }>;
export type ModuleAssertion = 'assert_malformed' | 'assert_invalid' | 'assert_unlinkable' | 'assert_uninstantiable';
export type CommandKind = Command['kind'];

export const COMMAND_KINDS: readonly CommandKind[] = [
  'module', 'register', 'action', 'assert_return', 'assert_trap', 'assert_exhaustion',
  'assert_invalid', 'assert_malformed', 'assert_unlinkable', 'assert_uninstantiable',
];

export interface Script {
  /** The .wast name without extension, e.g. `i32`. */
  readonly name: string;
  readonly commands: readonly Command[];
}

export function scriptNames(dir = SPEC_DIR): string[] {
  return fs.readdirSync(dir).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5)).sort();
}

export function loadScript(name: string, dir = SPEC_DIR): Script {
  const json = JSON.parse(fs.readFileSync(path.join(dir, `${name}.json`), 'utf8')) as { commands: RawCommand[] };
  return { name, commands: json.commands.map((c) => parseCommand(c, dir)) };
}

export function readModule(m: ModuleFile): Uint8Array<ArrayBuffer> {
  return new Uint8Array(fs.readFileSync(m.path));
}

interface RawCommand {
  type: string;
  line: number;
  filename?: string;
  module_type?: string;
  name?: string;
  as?: string;
  text?: string;
  action?: { type: string; module?: string; field: string; args?: { type: string; value?: string }[] };
  expected?: { type: string; value?: string }[];
}

function parseCommand(c: RawCommand, dir: string): Command {
  const line = c.line;
  const file = (): ModuleFile => ({
    path: path.join(dir, c.filename!),
    format: c.module_type === 'text' || c.filename!.endsWith('.wat') ? 'text' : 'binary',
  });
  switch (c.type) {
    case 'module':
      return { kind: 'module', line, module: file(), name: c.name ?? null };
    case 'register':
      return { kind: 'register', line, as: c.as!, name: c.name ?? null };
    case 'action':
      return { kind: 'action', line, action: parseAction(c), resultTypes: (c.expected ?? []).map((e) => typeName(e.type)) };
    case 'assert_return':
      return { kind: 'assert_return', line, action: parseAction(c), expected: c.expected!.map(parseExpected) };
    case 'assert_trap':
    case 'assert_exhaustion':
      return { kind: c.type, line, action: parseAction(c), resultTypes: c.expected!.map((e) => typeName(e.type)), text: c.text! };
    case 'assert_malformed':
    case 'assert_invalid':
    case 'assert_unlinkable':
    case 'assert_uninstantiable':
      return { kind: c.type, line, module: file(), text: c.text! };
  }
  throw new Error(`line ${line}: unknown command type ${c.type}`);
}

function parseAction(c: RawCommand): Action {
  const a = c.action!;
  const module = a.module ?? null;
  if (a.type === 'invoke') return { kind: 'invoke', module, field: a.field, args: (a.args ?? []).map(parseValue) };
  if (a.type === 'get') return { kind: 'get', module, field: a.field };
  throw new Error(`line ${c.line}: unknown action type ${a.type}`);
}

/** Result types an action's caller must expect, from whichever field the command gives them in. */
export function resultTypes(c: ActionCommand): readonly TypeName[] {
  return c.kind === 'assert_return' ? c.expected.map((e) => e.type) : c.resultTypes;
}

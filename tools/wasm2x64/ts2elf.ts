/**
 * `ts2elf PROG.ts -o OUT [--target linux-user|kernel] [--abort FILE/NAME]`:
 * AssemblyScript → wasm (the pinned asc, in-process) → x86-64 → ELF. A
 * `.wasm` input skips asc. Any failure is one line on stderr naming the
 * input and the problem, and status 1 (2 for a usage error); the output
 * appears whole or not at all (written to a temporary file, then renamed).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MEMORY_BASE } from './codegen/kernel-rt.js';
import { compileKernel } from './kernel.js';
import { compileLinuxUser } from './linux-user.js';
import { parseModule } from './wasm/index.js';

export type Target = 'linux-user' | 'kernel';
export const TARGETS: readonly Target[] = ['linux-user', 'kernel'];

/**
 * asc's flags (DESIGN §4, ../shared/reference/assemblyscript-notes.md): the
 * stub runtime has no shadow stack, threads brings the atomics, --debug keeps
 * the name section (function names for traps and the symbol table; the code
 * is the same). The kernel's data starts at MEMORY_BASE, below its image, and
 * its table is exported: a function whose value only reaches hw.stack_init or
 * hw.funcaddr as an index is otherwise removed by binaryen with the table,
 * when the module has no indirect call.
 */
export const ASC_FLAGS: Record<Target, readonly string[]> = {
  'linux-user': ['--runtime', 'stub', '-O3', '--noAssert', '--enable', 'threads', '--debug'],
  kernel: ['--runtime', 'stub', '-O3', '--noAssert', '--enable', 'threads', '--debug', '--memoryBase', String(MEMORY_BASE), '--exportTable'],
};

/** A failure, its message one line: `FILE: problem` or `FILE:LINE:COL: problem`. */
export class Ts2ElfError extends Error {}

export interface Ts2ElfOptions {
  target: Target;
  /**
   * asc's `--use abort=…`: FILE/NAME relative to the input's folder, FILE
   * without `.ts`. The kernel's default is the input's own `abort`.
   */
  abort?: string;
  /** Told how many functions the wasm → ELF step compiled and how long it took (asc not included). */
  stats?: (functions: number, ms: number) => void;
}

const oneLine = (s: string): string => s.split('\n')[0].trim();

/** Compiles an AssemblyScript file to wasm with the target's flags. */
export async function compileAs(input: string, opts: Ts2ElfOptions): Promise<Uint8Array> {
  const { default: asc } = await import('assemblyscript/asc');
  const dir = path.dirname(input), base = path.basename(input);
  const abort = opts.abort ?? (opts.target === 'kernel' ? `${base.replace(/\.ts$/, '')}/abort` : null);
  // asc colours its diagnostics whenever CI is set in the environment, which would hide them from ascProblem.
  const argv = [base, '--baseDir', dir, '--noColors', ...ASC_FLAGS[opts.target], ...(abort ? ['--use', `abort=${abort}`] : []), '-o', 'out.wasm'];
  let diagnostics = '';
  const sink = { write(s: string | Uint8Array): boolean { diagnostics += String(s); return true; } };
  let wasm: Uint8Array | null = null;
  const { error } = await asc.main(argv, {
    stdout: sink, stderr: sink,
    writeFile: (file: string, contents: string | Uint8Array) => { if (file === 'out.wasm' && contents instanceof Uint8Array) wasm = contents; },
  });
  if (abort && diagnostics.includes(`AS111: Element '${abort}' not found`)) {
    throw new Ts2ElfError(`${input}: no function '${abort}' for asc's abort: define abort(message, fileName, line, column) there, or name one with --abort FILE/NAME`);
  }
  if (error || !wasm) throw new Ts2ElfError(ascProblem(input, diagnostics, error));
  return wasm;
}

/**
 * asc prints `ERROR TS2304: Cannot find name 'foo'.`, the source line, and
 * `└─ in main.ts(2,16)`; the first error becomes `DIR/main.ts:2:16: error
 * TS2304: Cannot find name 'foo'.`, with a count of any others.
 */
function ascProblem(input: string, diagnostics: string, error: Error | null): string {
  const lines = diagnostics.split('\n');
  const first = lines.findIndex((l) => l.startsWith('ERROR '));
  if (first < 0) return `${input}: asc: ${oneLine(error?.message ?? 'no output')}`;
  const what = lines[first].replace(/^ERROR (\S+): /, 'error $1: ');
  const at = lines.slice(first + 1).find((l) => /^\s*(└─ )?in \S+\(\d+,\d+\)$/.test(l) || l.startsWith('ERROR '));
  const loc = at && !at.startsWith('ERROR ') ? /in (\S+)\((\d+),(\d+)\)$/.exec(at) : null;
  const where = loc ? `${loc[1].startsWith('~lib/') ? loc[1] : path.join(path.dirname(input), loc[1])}:${loc[2]}:${loc[3]}` : input;
  const more = lines.filter((l) => l.startsWith('ERROR ')).length - 1;
  return `${where}: ${what}${more > 0 ? ` (and ${more} more error${more > 1 ? 's' : ''})` : ''}`;
}

/** PROG (.ts, or .wasm as is) → the target's ELF. */
export async function ts2elf(input: string, opts: Ts2ElfOptions): Promise<Uint8Array> {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(input);
  } catch {
    throw new Ts2ElfError(`${input}: no such file`);
  }
  if (stat.isDirectory()) throw new Ts2ElfError(`${input}: is a directory`);
  const wasm = input.endsWith('.wasm') ? new Uint8Array(fs.readFileSync(input)) : await compileAs(input, opts);
  try {
    const t0 = performance.now();
    const elf = opts.target === 'kernel' ? compileKernel(wasm) : compileLinuxUser(wasm);
    opts.stats?.(parseModule(wasm).funcs.filter((f) => f.code).length, performance.now() - t0);
    return elf;
  } catch (e) {
    throw new Ts2ElfError(`${input}: ${oneLine((e as Error).message)}`);
  }
}

/** Builds OUT from PROG; OUT appears only complete. */
export async function buildElf(input: string, output: string, opts: Ts2ElfOptions): Promise<void> {
  const elf = await ts2elf(input, opts);
  const tmp = `${output}.${process.pid}.tmp`;
  try {
    fs.mkdirSync(path.dirname(output), { recursive: true });
    fs.writeFileSync(tmp, elf, { mode: 0o755 });
    fs.renameSync(tmp, output);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw new Ts2ElfError(`${output}: ${oneLine((e as Error).message)}`);
  }
}

const USAGE = 'usage: ts2elf PROG.ts|PROG.wasm -o OUT [--target linux-user|kernel] [--abort FILE/NAME] [--stats]';

/** The command line; returns the exit status. */
export async function main(argv: string[]): Promise<number> {
  const fail = (why: string, status: number): number => { process.stderr.write(`ts2elf: ${why}\n`); return status; };
  let input: string | null = null, output: string | null = null, abort: string | undefined;
  let target: Target = 'linux-user';
  let stats: Ts2ElfOptions['stats'];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--stats') {
      stats = (n, ms) => process.stderr.write(`ts2elf: ${n} functions compiled in ${ms.toFixed(1)} ms (${(n / ms * 1000).toFixed(0)} functions/s)\n`);
    } else if (a === '-o' || a === '--target' || a === '--abort') {
      const v = argv[++i];
      if (v === undefined) return fail(`${a} needs a value (${USAGE})`, 2);
      if (a === '-o') output = v;
      else if (a === '--abort') abort = v;
      else if (TARGETS.includes(v as Target)) target = v as Target;
      else return fail(`--target: '${v}' is not one of ${TARGETS.join(', ')}`, 2);
    } else if (a.startsWith('-') || input !== null) return fail(`unexpected argument '${a}' (${USAGE})`, 2);
    else input = a;
  }
  if (input === null || output === null) return fail(USAGE, 2);
  try {
    await buildElf(input, output, { target, abort, stats });
    return 0;
  } catch (e) {
    return fail(e instanceof Ts2ElfError ? e.message : `${input}: ${oneLine((e as Error).message)}`, 1);
  }
}

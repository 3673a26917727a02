/**
 * `npm run fuzz`: differential testing against V8 for as long as it runs.
 *
 *   npm run fuzz                          seeds from the clock's, natively, until Ctrl-C
 *   npm run fuzz -- --from 1000 --count 500 --emu
 *   npm run fuzz -- --seed 1234 --size 12 [--emu] [--reduce]
 *   npm run fuzz -- --as [...]            AssemblyScript programs (as-gen.ts) instead
 *
 * Each failing seed is one line with its first disagreement, then the
 * command that reproduces it. `--seed` runs one seed, writes its module to
 * build/fuzz/ (`--reduce` also the smallest variant that still fails the
 * same way, see reduce.ts) and prints what each side printed. Ctrl-C stops
 * after the seed in flight and prints the totals. An AssemblyScript
 * program is not reduced; `--seed` writes its source.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { compile } from '../../../test/fixtures/as/build.mjs';
import { generateAs } from './as-gen.js';
import { differential, type Report, type Where } from './diff.js';
import { generate } from './gen.js';
import { reduce } from './reduce.js';

interface Options {
  from: number;
  count: number;
  size: number | null;
  emu: boolean;
  seed: number | null;
  reduce: boolean;
  as: boolean;
}

const USAGE = 'usage: npm run fuzz -- [--as] [--from N] [--count N] [--size N] [--emu] | [--as] --seed N [--size N] [--emu] [--reduce]';

function options(args: readonly string[]): Options {
  const o: Options = { from: Date.now() % 1e9, count: Infinity, size: null, emu: false, seed: null, reduce: false, as: false };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const num = (): number => {
      const v = Number(args[++i]);
      if (!Number.isSafeInteger(v) || v < 0) throw new Error(`${a} wants a number\n${USAGE}`);
      return v;
    };
    if (a === '--from') o.from = num();
    else if (a === '--count') o.count = num();
    else if (a === '--size') o.size = num();
    else if (a === '--seed') o.seed = num();
    else if (a === '--emu') o.emu = true;
    else if (a === '--reduce') o.reduce = true;
    else if (a === '--as') o.as = true;
    else throw new Error(`unknown option ${a}\n${USAGE}`);
  }
  if (o.reduce && (o.seed === null || o.as)) throw new Error(`--reduce needs --seed, and a module\n${USAGE}`);
  return o;
}

/** Sizes cycle with the seed, so a plain run covers small and large modules. */
const sizeOf = (seed: number, o: Options): number => o.size ?? [4, 8, 12, 16][seed % 4];
const where = (o: Options): Where[] => (o.emu ? ['native', 'emu'] : ['native']);
const repro = (seed: number, size: number, o: Options): string => `npm run fuzz --${o.as ? ' --as' : ''} --seed ${seed} --size ${size}${o.emu ? ' --emu' : ''}`;

/** A seed's module, and for an AssemblyScript program its source. */
async function subject(seed: number, size: number, o: Options): Promise<{ wasm: Uint8Array<ArrayBuffer>; source: string | null }> {
  if (!o.as) return { wasm: generate(seed, size).wasm, source: null };
  const source = generateAs(seed, size);
  return { wasm: await compile('fuzz', { source }), source };
}
/** The kind of a disagreement, which a reduced module must keep: where, and what differs. */
const kind = (p: string | null): string | null => (p === null ? null : p.split(' ').slice(0, 2).join(' '));

async function hunt(o: Options): Promise<number> {
  let stop = false;
  process.on('SIGINT', () => {
    if (stop) process.exit(130);
    stop = true;
  });
  console.log(`fuzzing ${o.as ? 'AssemblyScript programs' : 'modules'} from seed ${o.from}${o.emu ? ', natively and under emu run' : ', natively'} (Ctrl-C stops)`);
  const t0 = Date.now();
  let n = 0, failed = 0, last = t0;
  for (let seed = o.from; n < o.count; seed++) {
    const size = sizeOf(seed, o);
    let problem: string | null;
    try {
      problem = (await differential((await subject(seed, size, o)).wasm, where(o))).problem;
    } catch (err) {
      // asc refusing a generated program: the generator's bug, but one to see too.
      problem = (err as Error).message.split('\n')[0];
    }
    // A run Ctrl-C interrupted proves nothing.
    if (stop) break;
    n++;
    if (problem) {
      failed++;
      console.log(`seed ${seed} size ${size}: ${problem}\n  ${repro(seed, size, o)}`);
    }
    if (Date.now() - last > 10_000) {
      last = Date.now();
      console.log(`… ${n} seeds, ${failed} failing, ${(n / ((last - t0) / 1000)).toFixed(1)}/s`);
    }
  }
  console.log(`${n} seeds (${o.from}..${o.from + n - 1}), ${failed} failing`);
  return failed ? 1 : 0;
}

function save(name: string, contents: Uint8Array | string): string {
  const dir = path.join(process.env.DAMSELFLY_ROOT ?? '.', 'build/fuzz');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, name);
  fs.writeFileSync(file, contents);
  return path.relative(process.cwd(), file);
}

function details(r: Report): void {
  const v = r.v8;
  if (v) console.log(`V8: ${v.trap ? `trap: ${v.trap}` : `status ${v.status}`}\n${v.stdout}`);
  for (const [w, x] of Object.entries(r.runs)) console.log(`${w}: status ${x.status}${x.stderr ? `, stderr ${x.stderr.trim()}` : ''}\n${x.stdout}`);
}

async function one(o: Options): Promise<number> {
  const seed = o.seed!, size = sizeOf(seed, o);
  const { wasm, source } = await subject(seed, size, o);
  const r = await differential(wasm, where(o));
  const name = `${o.as ? 'as-' : ''}seed-${seed}-${size}`;
  const saved = [save(`${name}.wasm`, wasm), ...(source === null ? [] : [save(`${name}.ts`, source)])];
  console.log(`seed ${seed} size ${size}: ${r.problem ?? 'all agree'} (${saved.join(', ')})`);
  details(r);
  if (!r.problem || !o.reduce) return r.problem ? 1 : 0;
  const want = kind(r.problem);
  const red = await reduce(seed, size, async (c) => kind((await differential(c.wasm, where(o))).problem) === want,
    (kept, tries) => process.stdout.write(`\rreducing: ${kept} nodes left after ${tries} tries`));
  const again = await differential(red.generated.wasm, where(o));
  console.log(`\nreduced to ${red.kept} nodes: ${again.problem} (${save(`${name}-reduced.wasm`, red.generated.wasm)})`);
  console.log(`omitted nodes: ${[...red.omit].join(',')}`);
  details(again);
  return 1;
}

export async function main(args: readonly string[]): Promise<number> {
  const o = options(args);
  return o.seed === null ? hunt(o) : one(o);
}

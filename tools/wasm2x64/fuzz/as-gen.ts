/**
 * Random AssemblyScript programs for the same differential test: asc -O3
 * (test/fixtures/as/build.mjs) turns them into the shapes real programs
 * have — inlined calls, Binaryen's block and loop forms, bulk memory — which
 * the module generator (gen.ts) does not write. `generateAs(seed, size)` is
 * the source of a program in the contract of test/fixtures/as (lib/io): it
 * calls each generated function with arguments read from memory (so the
 * optimizer cannot fold the calls away), folds each result into a hash and
 * prints it in hex, and exits with 0.
 *
 * Functions take and return i32, i64, f32 and f64, keep locals of all four,
 * and use integer and float arithmetic, signed and unsigned comparisons,
 * casts, ternaries, bounded for loops, if/else, switch, early returns and
 * arrays (StaticArray, unchecked indices masked into range). They call only later functions, so there is no
 * recursion. Float bits never become integers except NaN-canonicalized in
 * the hash (AS casts to integers saturate), and divisors are odd, so the
 * only trap left is signed division overflow, which is rare.
 */
import { Rng } from './rng.js';

type A = 'i32' | 'i64' | 'f32' | 'f64';
const TYPES: readonly A[] = ['i32', 'i64', 'f32', 'f64'];
const isInt = (t: A): boolean => t === 'i32' || t === 'i64';
const ARRAY = 16;

interface Fn { readonly name: string; readonly params: readonly A[]; readonly result: A }

export function generateAs(seed: number, size = 8): string {
  return new AsGenerator(seed, size).program();
}

class AsGenerator {
  private readonly r: Rng;
  private readonly fns: Fn[] = [];
  private readonly out: string[] = [];
  /** Variables in scope by type, in the function being written. */
  private vars = new Map<A, string[]>();
  private current = 0;
  private result: A = 'i32';
  private loops = 0;
  private budget = 0;

  constructor(seed: number, private readonly size: number) {
    this.r = new Rng(seed);
  }

  private type(): A { return this.r.pick(TYPES); }

  program(): string {
    const r = this.r;
    const n = r.range(2, 2 + Math.floor(this.size / 2));
    for (let i = 0; i < n; i++) this.fns.push({ name: `f${i}`, params: Array.from({ length: r.int(5) }, () => this.type()), result: this.type() });
    const args = this.fns.reduce((s, f) => s + f.params.length, 0);
    this.out.push(
      'import { printHex, newline, exit } from "./lib/io";',
      '',
      ...TYPES.map((t) => `const ${t.toUpperCase()}S = new StaticArray<${t}>(${ARRAY});`),
      `const ARGS: usize = memory.data<u64>([${Array.from({ length: args }, () => `0x${r.u64().toString(16)}`).join(', ')}]);`,
      'let hash: u64 = 0;',
      'function mix(v: u64): void { hash = rotl<u64>((hash ^ v) * 0x9e3779b97f4a7c15, 29); }',
      'function mixf(x: f64): void { mix(isNaN(x) ? 0x7ff8000000000000 : reinterpret<u64>(x)); }',
      '',
    );
    this.fns.forEach((f, i) => this.fn(f, i));
    this.out.push('export function _start(): void {');
    let k = 0;
    for (const f of this.fns) {
      const call = `${f.name}(${f.params.map((t) => `load<${t}>(ARGS + ${8 * k++})`).join(', ')})`;
      this.out.push(`  ${isInt(f.result) ? `mix(<u64>${call})` : `mixf(<f64>${call})`};`, '  printHex(hash, 16);', '  newline();');
    }
    for (const t of TYPES) {
      this.out.push(`  for (let i = 0; i < ${ARRAY}; i++) ${isInt(t) ? 'mix(<u64>' : 'mixf(<f64>'}unchecked(${t.toUpperCase()}S[i]));`);
    }
    this.out.push('  printHex(hash, 16);', '  newline();', '  exit(0);', '}', '');
    return this.out.join('\n');
  }

  private fn(f: Fn, index: number): void {
    const r = this.r;
    this.current = index;
    this.result = f.result;
    this.budget = 12 * this.size;
    this.vars = new Map(TYPES.map((t) => [t, []]));
    const params = f.params.map((t, i) => { this.vars.get(t)!.push(`p${i}`); return `p${i}: ${t}`; });
    this.out.push(`function ${f.name}(${params.join(', ')}): ${f.result} {`);
    for (let i = r.range(1, 8); i > 0; i--) {
      const t = this.type();
      const v = `v${this.vars.get(t)!.length}_${t}`;
      this.out.push(`  let ${v}: ${t} = ${this.expr(t, 2)};`);
      this.vars.get(t)!.push(v);
    }
    this.block(1, r.range(2, 2 + this.size));
    this.out.push(`  return ${this.expr(f.result, 0)};`, '}', '');
  }

  private block(indent: number, n: number): void {
    for (let i = 0; i < n && this.budget > 0; i++) this.stmt(indent);
  }

  private stmt(indent: number): void {
    const r = this.r;
    const pad = '  '.repeat(indent);
    this.budget--;
    const t = this.type();
    // Loop counters are read, never written: the loops must end.
    const vs = this.vars.get(t)!.filter((v) => !v.startsWith('i'));
    const k = r.weighted([vs.length ? 10 : 0, 5, indent < 4 ? 3 : 0, indent < 4 && this.loops < 2 ? 3 : 0, 4, 1, indent < 4 ? 2 : 0]);
    if (k === 0) {
      const op = isInt(t) ? r.pick(['=', '+=', '-=', '^=', '|=', '&=', '*=']) : r.pick(['=', '+=', '-=', '*=']);
      this.out.push(`${pad}${r.pick(vs)} ${op} ${this.expr(t, 0)};`);
    } else if (k === 1) {
      this.out.push(`${pad}unchecked(${t.toUpperCase()}S[${this.index()}] = ${this.expr(t, 0)});`);
    } else if (k === 2) {
      this.out.push(`${pad}if (${this.cond(0)}) {`);
      this.block(indent + 1, r.range(1, 3));
      if (r.chance(0.5)) {
        this.out.push(`${pad}} else {`);
        this.block(indent + 1, r.range(1, 3));
      }
      this.out.push(`${pad}}`);
    } else if (k === 3) {
      const i = `i${this.loops}`;
      this.out.push(`${pad}for (let ${i} = 0; ${i} < ${r.range(1, 6)}; ${i}++) {`);
      this.loops++;
      this.vars.get('i32')!.push(i);
      this.block(indent + 1, r.range(1, 4));
      this.vars.get('i32')!.pop();
      this.loops--;
      this.out.push(`${pad}}`);
    } else if (k === 4) {
      this.out.push(`${pad}${isInt(t) ? 'mix(<u64>' : 'mixf(<f64>'}${this.expr(t, 0)});`);
    } else if (k === 5) {
      this.out.push(`${pad}if (${this.cond(0)}) return ${this.expr(this.result, 0)};`);
    } else {
      // A jump table in the wasm (br_table), cases falling through or not.
      this.out.push(`${pad}switch ((${this.expr('i32', 1)}) & 7) {`);
      for (const c of [0, 1, 2, 3, 5].filter(() => r.chance(0.7))) {
        this.out.push(`${pad}  case ${c}: {`);
        this.block(indent + 2, r.range(1, 2));
        this.out.push(`${pad}  }`);
        if (r.chance(0.7)) this.out.push(`${pad}  break;`);
      }
      this.out.push(`${pad}  default: {`);
      this.block(indent + 2, 1);
      this.out.push(`${pad}  }`, `${pad}}`);
    }
  }

  /** An array index: any i32, masked into range. */
  private index(): string { return `(${this.expr('i32', 3)}) & ${ARRAY - 1}`; }

  private cond(d: number): string {
    const t = this.type();
    const op = this.r.pick(['==', '!=', '<', '<=', '>', '>=']);
    // Parenthesized: `x < (…` could start type arguments.
    if (isInt(t) && this.r.chance(0.3)) {
      const u = t === 'i32' ? 'u32' : 'u64';
      return `(<${u}>${this.expr(t, d + 1)}) ${op} (<${u}>${this.expr(t, d + 1)})`;
    }
    return `(${this.expr(t, d + 1)}) ${op} (${this.expr(t, d + 1)})`;
  }

  private literal(t: A): string {
    const r = this.r;
    switch (t) {
      case 'i32': return `<i32>${r.pick([0, 1, -1, 2, 31, 0x7fffffff, -0x80000000, 0xffff, r.range(-100, 100), r.u32() | 0])}`;
      case 'i64': return `<i64>${r.pick(['0', '1', '-1', '63', '0x7fffffffffffffff', 'i64.MIN_VALUE', `${r.range(-1000, 1000)}`, `0x${r.u64().toString(16)}`])}`;
      default: {
        const x = r.pick(['0.0', '-0.0', '1.0', '-1.5', '0.5', 'Infinity', '-Infinity', 'NaN', '1e300', '-3e-300', '2147483648.0',
          '4294967296.0', '9223372036854775808.0', `${r.range(-1e6, 1e6) / r.pick([1, 3, 7, 1024])}`]);
        return `<${t}>${x.startsWith('-') ? `(${x})` : x}`;
      }
    }
  }

  private expr(t: A, d: number): string {
    const r = this.r;
    this.budget--;
    const vs = this.vars.get(t)!;
    if (d >= 4 || this.budget < 0 || r.chance(0.25)) return vs.length && r.chance(0.6) ? r.pick(vs) : this.literal(t);
    const sub = (u: A = t): string => this.expr(u, d + 1);
    const later = this.fns.slice(this.current + 1).filter((f) => f.result === t);
    const k = r.weighted([10, isInt(t) ? 4 : 0, 3, 4, 3, 2, later.length ? 2 : 0, isInt(t) ? 0 : 2]);
    switch (k) {
      case 0: {
        const ops = isInt(t) ? ['+', '-', '*', '&', '|', '^'] : ['+', '-', '*', '/'];
        return `(${sub()} ${r.pick(ops)} ${sub()})`;
      }
      case 1: {
        const w = t === 'i32' ? 31 : 63;
        const u = t === 'i32' ? 'u32' : 'u64';
        return r.pick([
          `(${sub()} / (${sub()} | 1))`, `(${sub()} % (${sub()} | 1))`,
          `<${t}>(<${u}>${sub()} / <${u}>(${sub()} | 1))`, `<${t}>(<${u}>${sub()} % <${u}>(${sub()} | 1))`,
          `(${sub()} << (${sub()} & ${w}))`, `(${sub()} >> (${sub()} & ${w}))`, `(${sub()} >>> (${sub()} & ${w}))`,
          `rotl<${t}>(${sub()}, ${sub()})`, `<${t}>clz<${t}>(${sub()})`, `<${t}>popcnt<${t}>(${sub()})`,
        ]);
      }
      case 2: return `<${t}>${sub(this.type())}`;
      case 3: return `(${this.cond(d)} ? ${sub()} : ${sub()})`;
      case 4: return `unchecked(${t.toUpperCase()}S[${this.index()}])`;
      case 5: return `<${t}>(${this.cond(d)})`;
      case 6: {
        const f = r.pick(later);
        return `${f.name}(${f.params.map((p) => sub(p)).join(', ')})`;
      }
      default: {
        const m = t === 'f32' ? 'Mathf' : 'Math';
        return r.chance(0.3) ? `${m}.${r.pick(['min', 'max'])}(${sub()}, ${sub()})` : `${m}.${r.pick(['sqrt', 'floor', 'ceil', 'trunc', 'abs'])}(${sub()})`;
      }
    }
  }
}

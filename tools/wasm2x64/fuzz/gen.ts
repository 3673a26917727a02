/**
 * Random valid modules for differential testing: `generate(seed, size)`
 * always returns the same bytes for the same arguments. A module keeps to
 * the AssemblyScript program contract (test/fixtures/as/README.md): it
 * imports sys.write and sys.exit, exports `memory` and `_start`, and
 * `_start` calls every generated function with constant arguments, folding
 * each result into a running 64-bit hash (global 0) that it prints in hex
 * after every call; at the end it folds in the globals and the first page of
 * memory, prints once more and exits with the hash's low bits (or returns).
 * Functions also fold intermediate values into the hash as they go, so one
 * line of output covers many values, and a trap still leaves the lines
 * printed before it to compare. Half the modules have a start function too.
 *
 * What may legally differ between engines never reaches the hash: a NaN's
 * sign and payload (wasm lets arithmetic choose them), so every float is
 * canonicalized where its bits become observable — hashing, reinterpretation,
 * stores, and the sign operand of copysign.
 *
 * Table 0 holds every generated function, for call_indirect; table 1
 * (funcref, growable) and a passive element and data segment are for the
 * reference and bulk operators: funcref values live only inside expressions
 * (ref.null, ref.func, table.get, typed select) and end in ref.is_null or a
 * table.
 *
 * Everything terminates: loops run on a counter local nothing else writes
 * (and nothing else branches to a loop), and every function starts by
 * spending one unit of a global fuel that `_start` refills before each call,
 * returning constants when it is gone, so recursion, direct or through the
 * table, stays bounded. Traps are rare but present: out-of-bounds accesses,
 * division by zero and overflow, trapping float-to-int truncation, an
 * unreachable, call_indirect through a bad index.
 */
import { encodeModule, sleb, uleb } from '../wasm/builder.js';
import { Imm, Op, OPS, ValType } from '../wasm/index.js';
import { Rng } from './rng.js';

type T = ValType.I32 | ValType.I64 | ValType.F32 | ValType.F64;
const { I32, I64, F32, F64 } = ValType;
const NUM: readonly T[] = [I32, I64, F32, F64];
const isFloat = (t: T): boolean => t === F32 || t === F64;

/** A numeric operator from the front end's table. */
interface NumOp {
  readonly op: Op;
  readonly name: string;
  readonly params: readonly T[];
  readonly result: T;
}

const NUMERIC: readonly NumOp[] = OPS.filter((o) => o.sig && o.imm === Imm.None && o.width === 0 && !o.atomic
  && o.sig.params.length > 0 && o.sig.results.length === 1)
  .map((o) => ({ op: o.op, name: o.name, params: o.sig!.params as T[], result: o.sig!.results[0] as T }));
const isDivide = (o: NumOp): boolean => /\.(div|rem)_[su]$/.test(o.name);
const isTrappingTrunc = (o: NumOp): boolean => /\.trunc_f/.test(o.name);
const LOADS = OPS.filter((o) => o.imm === Imm.MemArg && !o.atomic && o.name.includes('.load'));
const STORES = OPS.filter((o) => o.imm === Imm.MemArg && !o.atomic && o.name.includes('.store'));
const COMPARES = NUMERIC.filter((o) => o.result === I32 && /\.(eqz|eq|ne|[lg][te](_[su])?)$/.test(o.name));

const enc = (op: Op): number[] => (op < 0x100 ? [op] : [op >> 8, ...uleb(op & 0xff)]);

const F32_NAN = 0x7fc00000;
const F64_NAN = 0x7ff8000000000000n;
const MIX_MUL = -0x61c8864680b583ebn; // 0x9e3779b97f4a7c15 as a signed i64

/** Function indices: the imports, the runtime helpers, then the generated functions and `_start`. */
const WRITE = 0, EXIT = 1, MIX = 2, MIX_F32 = 3, MIX_F64 = 4, PRINT = 5, FIRST = 6;
/** Global indices: the hash and the call fuel come before the generated globals. */
const HASH = 0, FUEL = 1;

/** Table 1's initial size, and the lengths of the passive segments (element 1, data 1). */
const TABLE1 = 8, PASSIVE_ELEMS = 4, PASSIVE_BYTES = 16;

/** Per top-level call from `_start`: how many calls the whole call tree may make. */
const FUEL_PER_CALL = 24;
const MAX_LOOP_NEST = 3;
/** How often a site that can trap is left to trap: out of thousands per module, a few per run. */
const TRAPPY = 0.004;

interface Sig { readonly params: readonly T[]; readonly results: readonly T[] }
interface Global { readonly type: T; readonly mutable: boolean }
/** A branch target: what a branch to it carries. Loops are targeted only by their own counter. */
interface Label { readonly kind: 'block' | 'loop' | 'if' | 'func'; readonly types: readonly T[] }

interface FnState {
  readonly sig: Sig;
  readonly locals: T[];
  /** Locals random code may read and write, by type. */
  readonly pool: Map<T, number[]>;
  readonly scratch: Map<T, number>;
  readonly counters: number[];
  /** i32 locals that hold addresses, for accesses whose bounds check the compiler may prove redundant. */
  readonly addrs: number[];
  readonly labels: Label[];
  loops: number;
  budget: number;
  code: number[];
}

export interface Generated {
  readonly wasm: Uint8Array<ArrayBuffer>;
  /**
   * Statements, expressions and `_start`'s calls are numbered from 0 in the
   * order they are generated, a node before the nodes inside it; node i
   * contains nodes i + 1 .. ends[i] - 1.
   */
  readonly ends: readonly number[];
}

/**
 * The module of a seed; `size` scales functions, statements and expression
 * depth. `omit` lists nodes to leave out — a statement or call as if it
 * were not there, an expression as a zero — for reducing a failing module:
 * everything else stays as it was, since an omitted node is still
 * generated (and thrown away), drawing the same random numbers.
 */
export function generate(seed: number, size = 10, omit: ReadonlySet<number> = new Set()): Generated {
  return new Generator(seed, size, omit).module();
}

class Generator {
  private readonly rng: Rng;
  private readonly types: [readonly T[], readonly T[]][] = [];
  private readonly typeIds = new Map<string, number>();
  private readonly sigs: Sig[] = [];
  private readonly globals: Global[] = [];
  private readonly maxDepth: number;
  private f!: FnState;
  private node = 0;
  private readonly ends: number[] = [];

  constructor(seed: number, private readonly size: number, private readonly omit: ReadonlySet<number>) {
    this.rng = new Rng(seed);
    this.maxDepth = 3 + Math.min(4, Math.floor(size / 4));
  }

  private typeIndex(params: readonly T[], results: readonly T[]): number {
    const key = `${params.join(',')}:${results.join(',')}`;
    let i = this.typeIds.get(key);
    if (i === undefined) {
      this.typeIds.set(key, i = this.types.length);
      this.types.push([params, results]);
    }
    return i;
  }

  private blockType(params: readonly T[], results: readonly T[]): number[] {
    if (params.length === 0 && results.length === 0) return [0x40];
    if (params.length === 0 && results.length === 1) return [results[0]];
    return sleb(this.typeIndex(params, results));
  }

  private randType(): T { return this.rng.pick(NUM); }
  private randTypes(max: number): T[] { return Array.from({ length: this.rng.int(max + 1) }, () => this.randType()); }

  module(): Generated {
    const r = this.rng;
    this.typeIndex([I32, I32, I32], [I32]);
    this.typeIndex([I32], []);
    const helperTypes = [this.typeIndex([I64], []), this.typeIndex([F32], []), this.typeIndex([F64], []), this.typeIndex([I64], [])];
    // A few signatures shared by several functions, so call_indirect has choices.
    const shapes: Sig[] = Array.from({ length: r.range(2, 5) }, () => ({
      params: this.randTypes(r.chance(0.2) ? 8 : 4),
      results: r.chance(0.3) ? this.randTypes(4) : r.chance(0.2) ? [] : [this.randType()],
    }));
    for (let i = r.range(2, 3 + Math.floor(this.size / 3)); i > 0; i--) this.sigs.push(r.pick(shapes));
    // Half the modules have a start function, which instantiation runs (on the fuel the global starts with).
    const start = r.chance(0.5) ? this.sigs.push({ params: [], results: [] }) - 1 : null;
    const n = this.sigs.length;
    this.globals.push({ type: I64, mutable: true }, { type: I32, mutable: true });
    for (let i = r.int(7); i > 0; i--) this.globals.push({ type: this.randType(), mutable: r.chance(0.8) });
    const init = (g: Global, i: number): number[] => (i === HASH ? this.constant(I64, 0x1234n) : i === FUEL ? this.constant(I32, BigInt(FUEL_PER_CALL)) : this.constant(g.type));
    const globalInits = this.globals.map((g, i) => [g.type, g.mutable ? 1 : 0, ...init(g, i), 0x0b]);

    const bodies = [this.mixBody(), this.mixFloatBody(F32), this.mixFloatBody(F64), this.printBody()];
    for (let i = 0; i < n; i++) bodies.push(this.function(this.sigs[i]));
    bodies.push(this.startBody());
    const maxPages = r.range(1, 5);
    const tableSize = n + 2;
    const bytes = (k: number): number[] => Array.from({ length: k }, () => r.int(256));
    const data = bytes(r.range(1, 64));
    const funcs = (k: number): number[] => Array.from({ length: k }, () => uleb(FIRST + r.int(n))).flat();
    const wasm = encodeModule({
      types: this.types,
      imports: [{ module: 'sys', name: 'write', desc: [0x00, 0] }, { module: 'sys', name: 'exit', desc: [0x00, 1] }],
      funcs: [...helperTypes, ...this.sigs.map((s) => this.typeIndex(s.params, s.results)), this.typeIndex([], [])],
      tables: [[0x70, 0x01, ...uleb(tableSize), ...uleb(tableSize)], [0x70, 0x01, TABLE1, TABLE1 + r.int(9)]],
      memories: [[0x01, 1, ...uleb(maxPages)]],
      globals: globalInits,
      exports: [{ name: '_start', kind: 0, index: FIRST + n }, { name: 'memory', kind: 2, index: 0 }],
      ...(start === null ? {} : { start: FIRST + start }),
      elems: [
        [0x00, 0x41, 0, 0x0b, ...uleb(n), ...Array.from({ length: n }, (_, i) => uleb(FIRST + i)).flat()],
        [0x01, 0x00, PASSIVE_ELEMS, ...funcs(PASSIVE_ELEMS)],
        [0x02, 1, 0x41, 0, 0x0b, 0x00, 3, ...funcs(3)],
      ],
      dataCount: 2,
      datas: [[0x00, 0x41, ...sleb(r.int(1024)), 0x0b, ...uleb(data.length), ...data], [0x01, PASSIVE_BYTES, ...bytes(PASSIVE_BYTES)]],
      bodies,
    });
    return { wasm, ends: this.ends };
  }

  // ---- the fixed helpers ----

  /** mix(v: i64): hash = rotl((hash ^ v) * K, 29). */
  private mixBody(): { code: number[] } {
    return { code: [0x23, HASH, 0x20, 0, 0x85, 0x42, ...sleb(MIX_MUL), 0x7e, 0x42, 29, 0x89, 0x24, HASH] };
  }

  /** mix_fN(x): mix(bits of x, or of the one canonical NaN). */
  private mixFloatBody(t: T): { code: number[] } {
    const [reinterp, nan, eq] = t === F32 ? [[0xbc, 0xad], this.constant(I64, BigInt(F32_NAN)), 0x5b] : [[0xbd], this.constant(I64, F64_NAN), 0x61];
    return { code: [0x20, 0, ...reinterp, ...nan, 0x20, 0, 0x20, 0, eq, 0x1b, 0x10, MIX] };
  }

  /** print(v: i64): 16 hex digits and a newline at address 0, then sys.write(1, 0, 17). */
  private printBody(): { locals: [number, number][]; code: number[] } {
    const code = [
      0x41, 16, 0x21, 1, // i = 16
      0x41, 16, 0x41, 10, 0x3a, 0, 0, // mem[16] = '\n'
      0x03, 0x40,
      0x20, 1, 0x41, 1, 0x6b, 0x21, 1, // i -= 1
      0x20, 0, 0xa7, 0x41, 15, 0x71, 0x21, 2, // d = v & 15
      0x20, 1, // address
      0x20, 2, 0x41, 48, 0x6a, 0x20, 2, 0x41, ...sleb(87), 0x6a, 0x20, 2, 0x41, 10, 0x49, 0x1b, // d < 10 ? '0' + d : 'a' - 10 + d
      0x3a, 0, 0, // store8
      0x20, 0, 0x42, 4, 0x88, 0x21, 0, // v >>= 4
      0x20, 1, 0x0d, 0, // loop while i != 0
      0x0b,
      0x41, 1, 0x41, 0, 0x41, 17, 0x10, WRITE, 0x1a,
    ];
    return { locals: [[2, I32]], code };
  }

  private startBody(): { locals: [number, number][]; code: number[] } {
    const r = this.rng;
    const code: number[] = [];
    this.sigs.forEach((s, i) => {
      for (let k = r.range(1, 2); k > 0; k--) {
        const call = [0x41, ...sleb(FUEL_PER_CALL), 0x24, FUEL];
        for (const p of s.params) call.push(...this.constant(p));
        call.push(0x10, ...uleb(FIRST + i));
        for (let j = s.results.length - 1; j >= 0; j--) call.push(...this.mixTop(s.results[j]));
        call.push(0x23, HASH, 0x10, PRINT);
        this.ends[this.node] = this.node + 1;
        if (this.omit.has(this.node++)) continue;
        code.push(...call);
      }
    });
    this.globals.forEach((g, i) => { if (i > FUEL) code.push(0x23, ...uleb(i), ...this.mixTop(g.type)); });
    // The first page, 8 bytes at a time; local 0 is the address.
    code.push(0x03, 0x40, 0x20, 0, 0x29, 3, 0, 0x10, MIX, 0x20, 0, 0x41, 8, 0x6a, 0x22, 0, 0x41, ...sleb(65536), 0x49, 0x0d, 0, 0x0b);
    code.push(0x3f, 0, 0xad, 0x10, MIX, 0x23, HASH, 0x10, PRINT);
    if (r.chance(0.5)) code.push(0x23, HASH, 0xa7, 0x41, 63, 0x71, 0x10, EXIT);
    return { locals: [[1, I32]], code };
  }

  /** Consumes the top value (of type t) into the hash. */
  private mixTop(t: T): number[] {
    return t === I32 ? [0xad, 0x10, MIX] : t === I64 ? [0x10, MIX] : [0x10, t === F32 ? MIX_F32 : MIX_F64];
  }

  // ---- constants ----

  private constant(t: T, v?: bigint): number[] {
    const r = this.rng;
    switch (t) {
      case I32: {
        const x = v ?? BigInt(r.pick([0, 1, -1, 2, 7, 31, 32, 0x7fffffff, -0x80000000, 0xff, 0x8000, 0xffff, 0x10000,
          r.range(-100, 100), r.range(-100, 100), r.u32() | 0, r.u32() | 0]));
        return [0x41, ...sleb(BigInt.asIntN(32, x))];
      }
      case I64: {
        const x = v ?? r.pick([0n, 1n, -1n, 63n, 64n, 0x7fffffffffffffffn, -0x8000000000000000n, 0xffffffffn, 0x100000000n,
          0x80000000n, BigInt(r.range(-100, 100)), BigInt(r.u32() | 0), r.u64(), r.u64()]);
        return [0x42, ...sleb(BigInt.asIntN(64, x))];
      }
      case F32: {
        const bits = v ?? BigInt(r.chance(0.3) ? r.u32() : r.pick([0, 0x80000000, 0x3f800000, 0xbf800000, 0x3f000000, 0xbf000000,
          0x7f800000, 0xff800000, F32_NAN, 0xffc00000, 0x7fa00000, 0x7fc00123, 0x00000001, 0x807fffff, 0x7f7fffff,
          0x4f000000, 0xcf000000, 0x4f800000, 0x5f000000, 0xdf000000, 0x5f800000, 0x4effffff, 0x3f7fffff, 0x3fc00000,
          this.floatBits(F32, r.range(-1000, 1000) / r.pick([1, 2, 3, 8, 10]))]));
        return [0x43, ...[0, 8, 16, 24].map((s) => Number((bits >> BigInt(s)) & 0xffn))];
      }
      case F64: {
        const bits = v ?? (r.chance(0.3) ? r.u64() : r.pick([0n, 0x8000000000000000n, 0x3ff0000000000000n, 0xbff0000000000000n,
          0x3fe0000000000000n, 0x7ff0000000000000n, 0xfff0000000000000n, F64_NAN, 0xfff8000000000000n, 0x7ff4000000000000n,
          0x7ff8000000000123n, 1n, 0x000fffffffffffffn, 0x7fefffffffffffffn, 0x41e0000000000000n, 0xc1e0000000000000n,
          0x41dfffffffc00000n, 0x41efffffffe00000n, 0x41f0000000000000n, 0x43e0000000000000n, 0xc3e0000000000000n, 0x43f0000000000000n,
          0x3fdfffffffffffffn, 0x3ff8000000000000n, this.floatBits(F64, r.range(-100000, 100000) / r.pick([1, 2, 3, 8, 10, 1000]))]));
        return [0x44, ...Array.from({ length: 8 }, (_, i) => Number((bits >> BigInt(8 * i)) & 0xffn))];
      }
    }
  }

  private floatBits(t: T, x: number): bigint {
    return t === F32 ? BigInt(new Uint32Array(new Float32Array([x]).buffer)[0]) : new BigUint64Array(new Float64Array([x]).buffer)[0];
  }

  // ---- functions ----

  private function(sig: Sig): { locals: [number, number][]; code: number[] } {
    const r = this.rng;
    const locals: T[] = [...sig.params, ...this.randTypes(r.chance(0.3) ? 40 : 10)];
    const pool = new Map<T, number[]>(NUM.map((t) => [t, []]));
    locals.forEach((t, i) => pool.get(t)!.push(i));
    const scratch = new Map<T, number>([[F32, locals.push(F32) - 1], [F64, locals.push(F64) - 1]]);
    const counters = Array.from({ length: MAX_LOOP_NEST }, () => locals.push(I32) - 1);
    const addrs = [locals.push(I32) - 1, locals.push(I32) - 1];
    this.f = { sig, locals, pool, scratch, counters, addrs, labels: [{ kind: 'func', types: sig.results }], loops: 0, budget: 30 * this.size, code: [] };
    // Fuel: out of it, return constants.
    this.emit(0x23, FUEL, 0x45, 0x04, 0x40);
    for (const t of sig.results) this.emit(...this.constant(t));
    this.emit(0x0f, 0x0b, 0x23, FUEL, 0x41, 1, 0x6b, 0x24, FUEL);
    this.seq([], sig.results, 0, r.range(2, 2 + this.size));
    const e = this.f.code;
    const decl: [number, number][] = [];
    for (const t of locals.slice(sig.params.length)) {
      if (decl.length && decl[decl.length - 1][1] === t) decl[decl.length - 1][0]++;
      else decl.push([1, t]);
    }
    return { locals: decl, code: e };
  }

  private emit(...bytes: number[]): void { for (const b of bytes) this.f.code.push(b); }

  /** The next node: `gen`, or if it is to be left out, `gen` for its random numbers only and then `instead`. */
  private nodeOf(gen: () => void, instead: () => void): void {
    const id = this.node++;
    if (this.omit.has(id)) {
      const code = this.f.code;
      this.f.code = [];
      gen();
      this.f.code = code;
      instead();
    } else gen();
    this.ends[id] = this.node;
  }

  /** With `params` on the stack: some consumed, `n` statements, then values up to `results`. */
  private seq(params: readonly T[], results: readonly T[], d: number, n: number): void {
    let keep = 0;
    while (keep < params.length && keep < results.length && params[keep] === results[keep]) keep++;
    keep = this.rng.int(keep + 1);
    for (let i = params.length - 1; i >= keep; i--) this.consume(params[i]);
    for (let i = 0; i < n && this.f.budget > 0; i++) this.stmt(d);
    this.values(results.slice(keep), d);
  }

  /** Takes the top value (of type t) off the stack: into a local, the hash, or nowhere. */
  private consume(t: T): void {
    const r = this.rng;
    const pool = this.f.pool.get(t)!;
    const k = r.int(3);
    if (k === 0 && pool.length) this.emit(0x21, ...uleb(r.pick(pool)));
    else if (k === 1) this.emit(...this.mixTop(t));
    else this.emit(0x1a);
  }

  private values(ts: readonly T[], d: number): void {
    const r = this.rng;
    if (ts.length > 1 && d < this.maxDepth && r.chance(0.3)) {
      const k = r.int(3);
      if (k === 0 && this.call(ts, d)) return;
      this.structured(r.pick(['block', 'if', 'loop'] as const), ts, d);
      return;
    }
    for (const t of ts) this.expr(t, d);
  }

  /** A block, if or loop producing `results` from random params. */
  private structured(kind: 'block' | 'if' | 'loop', results: readonly T[], d: number): void {
    const r = this.rng;
    if (kind === 'loop' && this.f.loops >= MAX_LOOP_NEST) kind = 'block';
    const params = r.chance(0.3) ? (r.chance(0.5) ? [...results] : this.randTypes(3)) : [];
    this.values(params, d + 1);
    const n = r.int(Math.max(1, this.size / 3));
    const bt = this.blockType(params, results);
    if (kind === 'if') {
      this.cond(d + 1);
      this.emit(0x04, ...bt);
      this.f.labels.push({ kind, types: results });
      this.seq(params, results, d + 1, n);
      const same = params.length === results.length && params.every((t, i) => t === results[i]);
      if (!same || r.chance(0.7)) {
        this.emit(0x05);
        this.seq(params, results, d + 1, n);
      }
    } else if (kind === 'block') {
      this.emit(0x02, ...bt);
      this.f.labels.push({ kind, types: results });
      this.seq(params, results, d + 1, n);
      if (results.length && r.chance(0.2)) {
        // Leaves early with the values it has, or goes on with them.
        this.cond(d + 1);
        this.emit(0x0d, 0);
      }
    } else {
      const c = this.f.counters[this.f.loops];
      this.emit(0x41, r.range(1, 5), 0x21, ...uleb(c), 0x03, ...bt);
      this.f.labels.push({ kind, types: params });
      this.f.loops++;
      this.seq(params, params, d + 1, n);
      this.emit(0x20, ...uleb(c), 0x41, 1, 0x6b, 0x22, ...uleb(c));
      if (r.chance(0.5)) this.emit(0x41, 0, 0x4a); // > 0, as flags
      this.emit(0x0d, 0);
      this.f.loops--;
      this.seq(params, results, d + 1, r.int(2));
    }
    this.f.labels.pop();
    this.emit(0x0b);
  }

  /** An i32 condition, usually a comparison (which the compiler keeps in the flags). */
  private cond(d: number): void {
    if (this.rng.chance(0.6) && d < this.maxDepth) this.numOp(this.rng.pick(COMPARES), d);
    else this.expr(I32, d);
  }

  // ---- expressions ----

  private expr(t: T, d: number): void {
    this.nodeOf(() => this.exprNode(t, d), () => this.emit(...this.constant(t, 0n)));
  }

  private exprNode(t: T, d: number): void {
    const r = this.rng;
    this.f.budget--;
    const pool = this.f.pool.get(t)!;
    const globals = this.globals.map((g, i) => [g, i] as const).filter(([g, i]) => g.type === t && i > FUEL);
    if (d >= this.maxDepth || this.f.budget <= 0) {
      const k = r.int(3);
      if (k === 0 && pool.length) this.emit(0x20, ...uleb(r.pick(pool)));
      else if (k === 1 && globals.length) this.emit(0x23, ...uleb(r.pick(globals)[1]));
      else this.emit(...this.constant(t));
      return;
    }
    const labels = this.branchTargets((ts) => ts.length === 1 && ts[0] === t);
    const choices: [number, () => void][] = [
      [10, () => this.emit(...this.constant(t))],
      [pool.length ? 12 : 0, () => this.emit(0x20, ...uleb(r.pick(pool)))],
      [globals.length ? 4 : 0, () => this.emit(0x23, ...uleb(r.pick(globals)[1]))],
      [40, () => this.numOp(r.pick(NUMERIC.filter((o) => o.result === t)), d)],
      [8, () => this.load(t, d)],
      [pool.length ? 5 : 0, () => { this.expr(t, d + 1); this.emit(0x22, ...uleb(r.pick(pool))); }],
      [5, () => this.select(t, d)],
      [5, () => { if (!this.call([t], d)) this.emit(...this.constant(t)); }],
      [4, () => this.structured(r.pick(['block', 'if', 'loop'] as const), [t], d)],
      [2, () => this.tower(t, d)],
      [labels.length ? 2 : 0, () => { this.values([t], d + 1); this.cond(d + 1); this.emit(0x0d, ...uleb(r.pick(labels))); }],
      [1.5, () => this.branch(d)],
      [t === I32 ? 2 : 0, () => this.memoryGrowOrSize(d)],
      [t === I32 ? 2 : 0, () => this.tableExpr(d)],
      [0.02, () => this.emit(0x00)],
    ];
    choices[r.weighted(choices.map(([w]) => w))][1]();
  }

  /** Depths of the labels (not loops) whose branch types satisfy `ok`. */
  private branchTargets(ok: (ts: readonly T[]) => boolean): number[] {
    const ls = this.f.labels;
    const out: number[] = [];
    ls.forEach((l, i) => { if (l.kind !== 'loop' && ok(l.types)) out.push(ls.length - 1 - i); });
    return out;
  }

  /** br, br_table or return with their values: the rest of the block is dead code (valid: the stack is polymorphic). */
  private branch(d: number): void {
    const r = this.rng;
    const k = r.int(4);
    if (k === 0) {
      this.values(this.f.sig.results, d + 1);
      this.emit(0x0f);
      return;
    }
    const depth = r.pick(this.branchTargets(() => true));
    const types = this.f.labels[this.f.labels.length - 1 - depth].types;
    this.values(types, d + 1);
    if (k === 1) this.emit(0x0c, ...uleb(depth));
    else {
      const same = this.branchTargets((ts) => ts.length === types.length && ts.every((t, i) => t === types[i]));
      const targets = Array.from({ length: r.range(1, 5) }, () => r.pick(same));
      this.expr(I32, d + 1);
      this.emit(0x41, 7, 0x71, 0x0e, ...uleb(targets.length), ...targets.flatMap((x) => uleb(x)), ...uleb(depth));
    }
  }

  /** An operator with its operands; guards keep traps rare: divisors get a bit set, trapping truncations a clamped operand. */
  private numOp(o: NumOp, d: number): void {
    const r = this.rng;
    if (isTrappingTrunc(o) && r.chance(0.7)) {
      o = NUMERIC.find((x) => x.name === o.name.replace('trunc_', 'trunc_sat_'))!;
    }
    for (const p of o.params) this.expr(p, d + 1);
    this.guard(o);
    this.emit(...enc(o.op));
  }

  /** Makes the top operand safe for `o` (most of the time): its only guards concern the top of the stack. */
  private guard(o: NumOp): void {
    const r = this.rng;
    const top = o.params[o.params.length - 1];
    if (isDivide(o) && !r.chance(TRAPPY)) {
      this.emit(...(top === I32 ? [0x41, ...sleb(BigInt.asIntN(32, 1n << BigInt(r.int(32)))), 0x72] : [0x42, ...sleb(BigInt.asIntN(64, 1n << BigInt(r.int(64)))), 0x84]));
    } else if (/reinterpret_f|copysign/.test(o.name)) {
      this.canonicalize(top);
    } else if (isTrappingTrunc(o) && !r.chance(10 * TRAPPY)) {
      // NaN → 0, then into a range every such truncation accepts.
      const unsigned = o.name.endsWith('_u');
      const bits = o.result === I32 ? 31 : 63;
      const [lo, hi] = unsigned ? [-0.75, 2 ** (bits + 1) * (1 - 2 ** -24)] : [-(2 ** bits), 2 ** bits * (1 - 2 ** -24)];
      const s = this.f.scratch.get(top)!;
      const [eq, max, min] = top === F32 ? [0x5b, 0x97, 0x96] : [0x61, 0xa5, 0xa4];
      this.emit(0x22, ...uleb(s), ...this.constant(top, this.floatBits(top, 0)), 0x20, ...uleb(s), 0x20, ...uleb(s), eq, 0x1b,
        ...this.constant(top, this.floatBits(top, lo)), max, ...this.constant(top, this.floatBits(top, hi)), min);
    }
  }

  /** The top float, or the canonical NaN if it is a NaN: select(x, NaN, x == x). */
  private canonicalize(t: T): void {
    const s = this.f.scratch.get(t)!;
    const [nan, eq] = t === F32 ? [this.constant(F32, BigInt(F32_NAN)), 0x5b] : [this.constant(F64, F64_NAN), 0x61];
    this.emit(0x22, ...uleb(s), ...nan, 0x20, ...uleb(s), 0x20, ...uleb(s), eq, 0x1b);
  }

  private select(t: T, d: number): void {
    this.expr(t, d + 1);
    this.expr(t, d + 1);
    this.cond(d + 1);
    this.emit(...(this.rng.chance(0.5) ? [0x1b] : [0x1c, 1, t]));
  }

  /**
   * Many values of mixed types at once, then folded pairwise from the top
   * (the top converted to the type below it): operand stacks deeper than the
   * registers, of both classes.
   */
  private tower(t: T, d: number): void {
    const r = this.rng;
    const ts = Array.from({ length: r.range(6, 10 + 2 * this.size) }, () => this.randType());
    for (const x of ts) this.expr(x, Math.max(d + 1, this.maxDepth - 1));
    for (let i = ts.length - 1; i > 0; i--) {
      this.convert(ts[i], ts[i - 1]);
      this.binary(ts[i - 1]);
    }
    this.convert(ts[0], t);
  }

  private convert(from: T, to: T): void {
    const ops = NUMERIC.filter((o) => o.params.length === 1 && o.params[0] === from && o.result === to && !isTrappingTrunc(o));
    if (!ops.length) return;
    const o = this.rng.pick(ops);
    this.guard(o);
    this.emit(...enc(o.op));
  }

  private binary(t: T): void {
    const o = this.rng.pick(NUMERIC.filter((x) => x.params.length === 2 && x.params[0] === t && x.params[1] === t && x.result === t));
    this.guard(o);
    this.emit(...enc(o.op));
  }

  private memoryGrowOrSize(d: number): void {
    if (this.rng.chance(0.5)) {
      this.emit(0x3f, 0);
      return;
    }
    this.expr(I32, d + 1);
    this.emit(0x41, 3, 0x71, 0x40, 0);
  }

  // ---- memory ----

  /**
   * An address and the offset for a `width`-byte access: nearly always
   * inside the first 64 KiB ((x & mask) + offset + width stays below it),
   * sometimes at the end of memory, rarely anywhere. A third are an address
   * local (see addressSet) as it is, which may be near the end of memory:
   * a second access through the same value needs no check only if it
   * reaches no further.
   */
  private address(width: number, d: number): number {
    const r = this.rng;
    const x = r.u32() / 2 ** 32;
    if (x >= 2 * TRAPPY && r.chance(0.35)) {
      const a = r.pick(this.f.addrs);
      if (r.chance(0.15)) {
        this.addressValue(d);
        this.emit(0x22, ...uleb(a));
      } else this.emit(0x20, ...uleb(a));
      return r.pick([0, 0, r.int(8), r.int(16), r.int(256)]);
    }
    if (x >= 2 * TRAPPY) {
      this.expr(I32, d + 1);
      this.emit(0x41, ...sleb(r.pick([0xff, 0xfff, 0x7fff])), 0x71);
      return r.pick([0, 0, 0, r.int(64), r.int(0x7ff0)]);
    }
    if (x >= TRAPPY) {
      this.emit(0x3f, 0, 0x41, 16, 0x74, 0x41, r.range(1, 16), 0x6b);
      return r.int(9);
    }
    this.expr(I32, d + 1);
    return r.chance(0.5) ? r.int(65536) : r.u32();
  }

  /** A value for an address local: mostly in the first half page, sometimes just below the end of memory. */
  private addressValue(d: number): void {
    const r = this.rng;
    const x = r.u32() / 2 ** 32;
    if (x < 5 * TRAPPY) this.expr(I32, d + 1);
    else if (x < 0.05) this.emit(0x3f, 0, 0x41, 16, 0x74, 0x41, ...sleb(r.range(1, 64)), 0x6b);
    else {
      this.expr(I32, d + 1);
      this.emit(0x41, ...sleb(0x7fff), 0x71);
    }
  }

  private memarg(width: number, offset: number): number[] {
    return [this.rng.int(Math.log2(width) + 1), ...uleb(offset)];
  }

  private load(t: T, d: number): void {
    const o = this.rng.pick(LOADS.filter((x) => x.sig!.results[0] === t));
    const offset = this.address(o.width, d);
    this.emit(...enc(o.op), ...this.memarg(o.width, offset));
  }

  private store(d: number): void {
    const o = this.rng.pick(STORES);
    const t = o.sig!.params[1] as T;
    const offset = this.address(o.width, d);
    this.expr(t, d + 1);
    if (isFloat(t)) this.canonicalize(t);
    this.emit(...enc(o.op), ...this.memarg(o.width, offset));
  }

  /**
   * Accesses in a row through one address local at small offsets, as code
   * reads and writes the fields of a struct: after the first, the compiler
   * may skip the checks of those that reach no further.
   */
  private burst(d: number): void {
    const r = this.rng;
    const a = r.pick(this.f.addrs);
    for (let k = r.range(2, 6); k > 0; k--) {
      const store = r.chance(0.5);
      const o = r.pick(store ? STORES : LOADS);
      const offset = r.int(24);
      this.emit(0x20, ...uleb(a));
      if (store) {
        const t = o.sig!.params[1] as T;
        this.expr(t, d + 1);
        if (isFloat(t)) this.canonicalize(t);
        this.emit(...enc(o.op), ...this.memarg(o.width, offset));
      } else {
        this.emit(...enc(o.op), ...this.memarg(o.width, offset), ...this.mixTop(o.sig!.results[0] as T));
      }
    }
  }

  /** memory.fill or memory.copy, in bounds unless rarely. */
  private bulk(d: number): void {
    const r = this.rng;
    const masked = (mask: number): void => {
      this.expr(I32, d + 1);
      if (!r.chance(TRAPPY)) this.emit(0x41, ...sleb(mask), 0x71);
    };
    masked(0x7fff);
    if (r.chance(0.5)) {
      this.expr(I32, d + 1);
      masked(0x3ff);
      this.emit(0xfc, 11, 0);
    } else {
      masked(0x7fff);
      masked(0x3ff);
      this.emit(0xfc, 10, 0, 0);
    }
  }

  // ---- references and tables ----

  /** A funcref, as a node: left out, it is ref.null. */
  private funcref(d: number): void {
    this.nodeOf(() => {
      const r = this.rng;
      const k = d >= this.maxDepth ? r.int(2) : r.int(4);
      if (k === 0) this.emit(0xd0, 0x70);
      else if (k === 1) this.emit(0xd2, ...uleb(FIRST + r.int(this.sigs.length)));
      else if (k === 2) {
        this.masked(7, d);
        this.emit(0x25, 1);
      } else {
        this.funcref(d + 1);
        this.funcref(d + 1);
        this.cond(d + 1);
        this.emit(0x1c, 1, 0x70);
      }
    }, () => this.emit(0xd0, 0x70));
  }

  /** An i32 expression, `& mask` unless rarely (then it may trap). */
  private masked(mask: number, d: number): void {
    this.expr(I32, d + 1);
    if (!this.rng.chance(TRAPPY)) this.emit(0x41, ...sleb(mask), 0x71);
  }

  /** ref.is_null, table.size or table.grow (of table 1, up to 3 elements). */
  private tableExpr(d: number): void {
    const k = this.rng.int(3);
    if (k === 0) {
      this.funcref(d + 1);
      this.emit(0xd1);
    } else if (k === 1) this.emit(0xfc, 16, 1);
    else {
      this.funcref(d + 1);
      this.masked(3, d);
      this.emit(0xfc, 15, 1);
    }
  }

  /**
   * table.set/fill/copy/init on table 1 and memory.init, over ranges within
   * the initial sizes; rarely a segment drop (after which its inits trap)
   * or a call_indirect through table 1 (null entries trap).
   */
  private tableStmt(d: number): void {
    const r = this.rng;
    const k = r.weighted([3, 2, 3, 2, 3, 2 * TRAPPY, 2 * TRAPPY, 30 * TRAPPY]);
    switch (k) {
      case 0:
        this.masked(7, d);
        this.funcref(d + 1);
        this.emit(0x26, 1);
        break;
      case 1:
        this.masked(3, d);
        this.funcref(d + 1);
        this.masked(3, d);
        this.emit(0xfc, 17, 1);
        break;
      case 2: case 3:
        this.masked(3, d);
        this.masked(1, d);
        this.masked(3, d);
        this.emit(...(k === 2 ? [0xfc, 14, 1, r.int(2)] : [0xfc, 12, 1, 1]));
        break;
      case 4:
        this.masked(0x7fff, d);
        this.masked(7, d);
        this.masked(7, d);
        this.emit(0xfc, 8, 1, 0);
        break;
      case 5: this.emit(0xfc, 13, 1); break;
      case 6: this.emit(0xfc, 9, 1); break;
      default: {
        const s = r.pick(this.sigs);
        this.values(s.params, d + 1);
        this.masked(7, d);
        this.emit(0x11, ...uleb(this.typeIndex(s.params, s.results)), 1);
        for (let i = s.results.length - 1; i >= 0; i--) this.consume(s.results[i]);
      }
    }
  }

  // ---- calls ----

  /** A call (direct or through the table) to a function with these results; false if there is none. */
  private call(results: readonly T[], d: number): boolean {
    const r = this.rng;
    const fit = this.sigs.map((s, i) => [s, i] as const)
      .filter(([s]) => s.results.length === results.length && s.results.every((t, i) => t === results[i]));
    if (!fit.length) return false;
    const [s, i] = r.pick(fit);
    this.values(s.params, d + 1);
    if (r.chance(0.6)) {
      this.emit(0x10, ...uleb(FIRST + i));
      return true;
    }
    // Table slot k holds function FIRST + k.
    if (!r.chance(2 * TRAPPY)) this.emit(0x41, ...sleb(i));
    else {
      this.expr(I32, d + 1);
      this.emit(0x41, 15, 0x71);
    }
    this.emit(0x11, ...uleb(this.typeIndex(s.params, s.results)), 0);
    return true;
  }

  // ---- statements ----

  /** Code that leaves the stack as it found it. */
  private stmt(d: number): void {
    this.nodeOf(() => this.stmtNode(d), () => {});
  }

  private stmtNode(d: number): void {
    const r = this.rng;
    this.f.budget--;
    if (d >= this.maxDepth) {
      this.localSet(d);
      return;
    }
    const mutable = this.globals.map((g, i) => [g, i] as const).filter(([g, i]) => g.mutable && i > FUEL);
    const voids = this.branchTargets((ts) => ts.length === 0);
    const choices: [number, () => void][] = [
      [20, () => this.localSet(d)],
      [5, () => { this.addressValue(d); this.emit(0x21, ...uleb(r.pick(this.f.addrs))); }],
      [4, () => this.burst(d)],
      [mutable.length ? 5 : 0, () => {
        const [g, i] = r.pick(mutable);
        this.expr(g.type, d + 1);
        this.emit(0x24, ...uleb(i));
      }],
      [10, () => this.store(d)],
      [12, () => { const t = this.randType(); this.expr(t, d + 1); this.emit(...this.mixTop(t)); }],
      [3, () => { this.expr(this.randType(), d + 1); this.emit(0x1a); }],
      [6, () => {
        const ts = r.pick(this.sigs).results;
        this.call(ts, d);
        for (let i = ts.length - 1; i >= 0; i--) this.consume(ts[i]);
      }],
      [10, () => this.structured(r.pick(['block', 'if', 'loop'] as const), [], d)],
      [4, () => { const ts = this.randTypes(5); this.values(ts, d + 1); for (let i = ts.length - 1; i >= 0; i--) this.consume(ts[i]); }],
      [voids.length ? 3 : 0, () => { this.cond(d + 1); this.emit(0x0d, ...uleb(r.pick(voids))); }],
      [3, () => this.bulk(d)],
      [3, () => this.tableStmt(d)],
      [1, () => this.emit(0x01)],
    ];
    choices[r.weighted(choices.map(([w]) => w))][1]();
  }

  private localSet(d: number): void {
    const t = this.randType();
    const pool = this.f.pool.get(t)!;
    this.expr(t, d + 1);
    if (pool.length) this.emit(0x21, ...uleb(this.rng.pick(pool)));
    else this.emit(...this.mixTop(t));
  }
}

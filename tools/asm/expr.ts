/**
 * Expressions, with GNU as's operators and precedence (as manual, "Infix
 * Operators"): unary - ~ ! bind tightest, then * / % << >>, then | & ^ !,
 * then + - and the comparisons, then && ||. Arithmetic is 64-bit.
 *
 * A value is a constant plus at most one symbol added and one subtracted
 * (`label + 4`, `end - start`, `target - .`): what a relocation or a
 * PC-relative field can hold. A symbol's meaning (absolute, a place in a
 * section, undefined) is decided by the caller's resolver, so the same
 * expression can be evaluated while parsing (is it known yet?) and after layout.
 */
import { fail, type Loc } from './errors.js';
import type { Token } from './lexer.js';

export type Expr =
  | { k: 'num'; v: bigint }
  | { k: 'sym'; name: string }
  | { k: 'un'; op: string; a: Expr }
  | { k: 'bin'; op: string; a: Expr; b: Expr };

/** A token cursor over one statement. */
export class Cursor {
  p = 0;
  constructor(readonly tokens: Token[], readonly loc: Loc) {}
  peek(k = 0): Token | undefined { return this.tokens[this.p + k]; }
  next(): Token | undefined { return this.tokens[this.p++]; }
  atEnd(): boolean { return this.p >= this.tokens.length; }
  isOp(v: string, k = 0): boolean { const t = this.peek(k); return t !== undefined && t.t === 'op' && t.v === v; }
  isId(v: string, k = 0): boolean { const t = this.peek(k); return t !== undefined && t.t === 'id' && t.v.toLowerCase() === v; }
  eatOp(v: string): boolean { if (this.isOp(v)) { this.p++; return true; } return false; }
  expectOp(v: string): void { if (!this.eatOp(v)) fail(this.loc, `expected '${v}'${this.atEnd() ? ' at the end' : ` before ${show(this.peek()!)}`}`); }
}

export function show(t: Token): string {
  switch (t.t) {
    case 'id': case 'op': return `'${t.v}'`;
    case 'num': return `'${t.v}'`;
    case 'str': return 'a string';
    case 'local': return `'${t.n}${t.dir}'`;
  }
}

const LEVELS: string[][] = [['&&', '||'], ['+', '-', '==', '!=', '<>', '<', '>', '<=', '>='], ['|', '&', '^', '!'], ['*', '/', '%', '<<', '>>']];

/** Names a numeric local label reference resolves to; supplied by the assembler. */
export type LocalRef = (n: string, dir: 'b' | 'f') => string;

export function parseExpr(c: Cursor, local: LocalRef, level = 0): Expr {
  if (level === LEVELS.length) return parseUnary(c, local);
  let a = parseExpr(c, local, level + 1);
  for (;;) {
    const t = c.peek();
    if (t === undefined || t.t !== 'op' || !LEVELS[level].includes(t.v)) return a;
    c.next();
    a = { k: 'bin', op: t.v, a, b: parseExpr(c, local, level + 1) };
  }
}

function parseUnary(c: Cursor, local: LocalRef): Expr {
  const t = c.next();
  if (t === undefined) fail(c.loc, 'expected an expression');
  switch (t.t) {
    case 'num': return { k: 'num', v: t.v };
    case 'id': return { k: 'sym', name: t.v };
    case 'local': return { k: 'sym', name: local(t.n, t.dir) };
    case 'op':
      if (t.v === '(') { const e = parseExpr(c, local); c.expectOp(')'); return e; }
      if (t.v === '-' || t.v === '~' || t.v === '!' || t.v === '+') return { k: 'un', op: t.v, a: parseUnary(c, local) };
  }
  fail(c.loc, `expected an expression, not ${show(t)}`);
}

/** A symbol as the resolver sees it; identity matters (two references to one symbol cancel). */
export interface SymRef { readonly name: string }

/** c + add - sub. */
export interface Value { c: bigint; add?: SymRef; sub?: SymRef }

/**
 * What a name means right now: a constant, a relocatable value, or (undefined)
 * nothing known yet. `diff` gives a - b when both are known to be a fixed
 * distance apart, else undefined.
 */
export interface Resolver {
  lookup(name: string): Value | undefined;
  diff(a: SymRef, b: SymRef): bigint | undefined;
}

export class Unknown extends Error {}

const wrap = (v: bigint): bigint => BigInt.asIntN(64, v);

/**
 * Evaluates `e`; throws Unknown when a name is not known, an AsmError when the
 * operands cannot be combined.
 */
export function evaluate(e: Expr, r: Resolver, loc: Loc): Value {
  switch (e.k) {
    case 'num': return { c: wrap(e.v) };
    case 'sym': {
      const v = r.lookup(e.name);
      if (v === undefined) throw new Unknown(e.name);
      return v;
    }
    case 'un': {
      const a = evaluate(e.a, r, loc);
      if (e.op === '+') return a;
      if (e.op === '-' && a.add === undefined && a.sub !== undefined) return { c: wrap(-a.c), add: a.sub };
      if (e.op === '-' && a.sub === undefined && a.add !== undefined) return { c: wrap(-a.c), sub: a.add };
      const x = constant(a, e.op, loc);
      return { c: wrap(e.op === '-' ? -x : e.op === '~' ? ~x : x === 0n ? 1n : 0n) };
    }
    case 'bin': {
      const a = evaluate(e.a, r, loc), b = evaluate(e.b, r, loc);
      if (e.op === '+') return simplify({ c: wrap(a.c + b.c), add: join(a.add, b.add, loc), sub: join(a.sub, b.sub, loc) }, r);
      if (e.op === '-') return simplify({ c: wrap(a.c - b.c), add: join(a.add, b.sub, loc), sub: join(a.sub, b.add, loc) }, r);
      return { c: wrap(binary(e.op, constant(a, e.op, loc), constant(b, e.op, loc), loc)) };
    }
  }
}

function join(x: SymRef | undefined, y: SymRef | undefined, loc: Loc): SymRef | undefined {
  if (x !== undefined && y !== undefined) fail(loc, `cannot add symbols '${x.name}' and '${y.name}'`);
  return x ?? y;
}

function simplify(v: Value, r: Resolver): Value {
  if (v.add !== undefined && v.sub !== undefined) {
    if (v.add === v.sub) return { c: v.c };
    const d = r.diff(v.add, v.sub);
    if (d !== undefined) return { c: wrap(v.c + d) };
  }
  return v;
}

function constant(v: Value, op: string, loc: Loc): bigint {
  if (v.add !== undefined || v.sub !== undefined) fail(loc, `operator '${op}' needs absolute operands, not '${(v.add ?? v.sub)!.name}'`);
  return v.c;
}

function binary(op: string, a: bigint, b: bigint, loc: Loc): bigint {
  const truth = (x: boolean): bigint => (x ? -1n : 0n);
  switch (op) {
    case '*': return a * b;
    case '/': if (b === 0n) fail(loc, 'division by zero'); return a / b;
    case '%': if (b === 0n) fail(loc, 'division by zero'); return a % b;
    case '<<': return b >= 64n || b < 0n ? 0n : a << b;
    case '>>': return b >= 64n || b < 0n ? 0n : BigInt.asUintN(64, a) >> b; // logical, as in GNU as
    case '|': return a | b;
    case '&': return a & b;
    case '^': return a ^ b;
    case '!': return a | ~b;
    case '==': return truth(a === b);
    case '!=': case '<>': return truth(a !== b);
    case '<': return truth(a < b);
    case '>': return truth(a > b);
    case '<=': return truth(a <= b);
    case '>=': return truth(a >= b);
    case '&&': return a !== 0n && b !== 0n ? 1n : 0n;
    case '||': return a !== 0n || b !== 0n ? 1n : 0n;
  }
  fail(loc, `unknown operator '${op}'`);
}

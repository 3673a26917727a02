/**
 * The assembler's first pass: statements in source order — labels,
 * assignments, directives (directives.ts) and instructions. Instructions are
 * matched against the opcode table (match.ts) and encoded at once, as GNU as
 * does, using only what is known at that point of the source; fields that
 * depend on later definitions or on layout become fixups, and jmp/jcc become
 * relaxable items (layout.ts).
 */
import { fail, type Loc } from './errors.js';
import { Cursor, evaluate, parseExpr, show, type Expr, type Resolver, type SymRef, type Value } from './expr.js';
import { lex, type Statement } from './lexer.js';
import { formsOf } from './forms.js';
import { best, match, noMatch, type Mode, type Plan } from './match.js';
import { encode, mergePrefixes, type Encoded, type Prefixes } from './encode.js';
import { parseOperands, type Operand } from './operands.js';
import { Field, rowSpecs } from './spec.js';
import { Section, Sym, type SectionFlags } from './sections.js';
import { directive } from './directives.js';

/** Prefix words and the slot each fills (GNU as spellings; objdump prints the same). */
const PREFIX_WORDS: Record<string, [keyof Prefixes, number]> = {
  lock: ['lock', 0xf0], rep: ['rep', 0xf3], repe: ['rep', 0xf3], repz: ['rep', 0xf3], repne: ['rep', 0xf2], repnz: ['rep', 0xf2],
  bnd: ['rep', 0xf2], data16: ['data', 0x66], data32: ['data', 0x66], addr16: ['addr', 0x67], addr32: ['addr', 0x67],
  es: ['seg', 0x26], cs: ['seg', 0x2e], ss: ['seg', 0x36], ds: ['seg', 0x3e], fs: ['seg', 0x64], gs: ['seg', 0x65], notrack: ['seg', 0x3e],
};

/** Default flags of the sections GNU as knows by name. */
export function defaultFlags(name: string): SectionFlags {
  if (name === '.text' || name.startsWith('.text.') || name.startsWith('.init') || name.startsWith('.fini')) return { alloc: true, write: false, exec: true, nobits: false };
  if (name === '.bss' || name.startsWith('.bss.') || name.startsWith('.tbss')) return { alloc: true, write: true, exec: false, nobits: true };
  if (name === '.data' || name.startsWith('.data.') || name.startsWith('.tdata')) return { alloc: true, write: true, exec: false, nobits: false };
  if (name === '.rodata' || name.startsWith('.rodata.')) return { alloc: true, write: false, exec: false, nobits: false };
  return { alloc: false, write: false, exec: false, nobits: false };
}

export class Assembler {
  readonly sections: Section[] = [];
  readonly syms = new Map<string, Sym>();
  section: Section;
  mode: Mode;
  private readonly localCount = new Map<string, number>();
  private dotCount = 0;
  /** The statement being assembled, for messages from deep inside parsing. */
  private loc: Loc;
  readonly parseResolver: Resolver;

  constructor(readonly file: string, mode: Mode) {
    this.mode = mode;
    this.loc = { file, line: 0 };
    // GNU as starts every object with these three, in this order.
    this.section = this.sectionNamed('.text');
    this.sectionNamed('.data');
    this.sectionNamed('.bss');
    this.parseResolver = {
      lookup: (name: string): Value | undefined => {
        const s = this.sym(name);
        return s.kind === 'equ' ? s.value : { c: 0n, add: s };
      },
      diff: (a: SymRef, b: SymRef): bigint | undefined => {
        const x = a as Sym, y = b as Sym;
        if (x.kind !== 'label' || y.kind !== 'label' || x.section !== y.section || x.frag !== y.frag) return undefined;
        return BigInt(x.fragOffset - y.fragOffset);
      },
    };
  }

  run(source: string): void {
    for (const st of lex(source, this.file)) this.statement(st);
  }

  sectionNamed(name: string, flags?: SectionFlags): Section {
    let s = this.sections.find((x) => x.name === name);
    if (s === undefined) {
      s = new Section(name, flags ?? defaultFlags(name), this.sections.length);
      this.sections.push(s);
    }
    return s;
  }

  sym(name: string): Sym {
    let s = this.syms.get(name);
    if (s === undefined) { s = new Sym(name); this.syms.set(name, s); }
    return s;
  }

  /** The name `n` + direction refers to: the last `n:` (b) or the next one (f). */
  readonly localRef = (n: string, dir: 'b' | 'f'): string => {
    const count = this.localCount.get(n) ?? 0;
    if (dir === 'b' && count === 0) fail(this.loc, `no label ${n}: before ${n}b`);
    return `.L${n}\u0002${dir === 'b' ? count : count + 1}`;
  };

  /** Defines `sym` as a label at the current position. */
  defineLabel(loc: Loc, name: string): Sym {
    const s = this.sym(name);
    if (s.kind !== 'undef') fail(loc, `symbol '${name}' is already defined`);
    this.placeLabel(s);
    return s;
  }

  private placeLabel(s: Sym): void {
    const sec = this.section;
    const last = sec.items.at(-1);
    s.kind = 'label';
    s.section = sec;
    if (last !== undefined && last.k === 'bytes') { s.item = sec.items.length - 1; s.within = last.bytes.length; } else { s.item = sec.items.length; s.within = 0; }
    s.frag = sec.frag;
    s.fragOffset = sec.fragOffset;
  }

  /** Replaces `.` in `e` by a label at the current position (GNU as: the start of the statement or data item). */
  bindDot(e: Expr): Expr {
    if (!mentionsDot(e)) return e;
    const name = `.L.dot\u0002${this.dotCount++}`;
    this.placeLabel(this.sym(name));
    return substituteDot(e, name);
  }

  /** The value of `e` if it is a known constant now; undefined if it depends on layout or later definitions. */
  readonly valueOf = (e: Expr): bigint | undefined => {
    try {
      const v = evaluate(e, this.parseResolver, this.loc);
      return v.add === undefined && v.sub === undefined ? v.c : undefined;
    } catch {
      return undefined;
    }
  };

  /**
   * GNU as's Intel syntax reads a bare symbol (± a constant) as a memory
   * reference, but a constant or a difference of symbols as an immediate,
   * deciding with what it knows at that point of the source.
   */
  readonly isAddress = (e: Expr): boolean => {
    try {
      const v = evaluate(e, this.parseResolver, this.loc);
      return v.add !== undefined && v.sub === undefined;
    } catch {
      return false;
    }
  };

  /** `name = expr`, `.set name, expr`: a constant, or a relocatable value kept as such. */
  assign(loc: Loc, name: string, e: Expr): void {
    const s = this.sym(name);
    if (s.kind === 'label') fail(loc, `symbol '${name}' is already a label`);
    const v = evaluate(this.bindDot(e), this.parseResolver, loc);
    s.kind = 'equ';
    s.value = v;
  }

  private statement(st: Statement): void {
    const c = new Cursor(st.tokens, st.loc);
    this.loc = st.loc;
    // Labels: `name:` and `1:`, several on one line.
    for (;;) {
      const t = c.peek();
      if (t?.t === 'id' && c.isOp(':', 1)) {
        c.p += 2;
        this.defineLabel(st.loc, t.v);
        continue;
      }
      if (t?.t === 'num' && c.isOp(':', 1)) {
        c.p += 2;
        const n = t.v.toString();
        const count = (this.localCount.get(n) ?? 0) + 1;
        this.localCount.set(n, count);
        this.defineLabel(st.loc, `.L${n}\u0002${count}`);
        continue;
      }
      break;
    }
    const head = c.next();
    if (head === undefined) return;
    if (head.t !== 'id') fail(st.loc, `expected a mnemonic or directive, not ${show(head)}`);
    if (c.isOp('=') || c.isOp('==')) {
      c.next();
      this.assign(st.loc, head.v, this.expr(c));
      this.end(c);
      return;
    }
    if (head.v.startsWith('.')) { directive(this, head.v.toLowerCase(), c); return; }
    this.instruction(c, head.v);
  }

  expr(c: Cursor): Expr {
    return parseExpr(c, this.localRef);
  }

  end(c: Cursor): void {
    if (!c.atEnd()) fail(c.loc, `unexpected ${show(c.peek()!)}`);
  }

  private instruction(c: Cursor, first: string): void {
    const loc = c.loc;
    const prefixes: Prefixes = {};
    let mn = first.toLowerCase();
    // Prefix words, then the mnemonic; a prefix alone is emitted as its byte (`rep; movsb`).
    for (;;) {
      const slot = PREFIX_WORDS[mn] ?? rexPrefix(mn);
      if (slot === undefined) break;
      const [key, byte] = slot;
      if (prefixes[key] !== undefined) fail(loc, `two ${key === 'seg' ? 'segment' : key} prefixes`);
      if (this.mode === 64 && (mn === 'es' || mn === 'ss')) fail(loc, `the ${mn} prefix does nothing in 64-bit mode`);
      prefixes[key] = byte;
      const t = c.peek();
      if (t === undefined) { this.emitPrefixes(loc, prefixes); return; }
      if (t.t !== 'id') fail(loc, `expected a mnemonic after '${mn}'`);
      c.next();
      mn = t.v.toLowerCase();
    }
    const forms = formsOf(mn);
    if (forms.length === 0) fail(loc, `unknown mnemonic '${mn}'`);
    const operands = parseOperands(c, this.localRef).map((o) => this.bindOperand(o));
    const branch = forms.some((f) => rowSpecs(f.row).some((s) => s.field === Field.Rel));
    const asz = prefixes.addr === undefined ? undefined : this.mode === 32 ? 2 : 4;
    const r = match({ mnemonic: mn, mode: this.mode, forms, operands, valueOf: this.valueOf, isAddress: this.isAddress, branch, loc, asz });
    const guessed = new Set(r.plans.filter((p) => p.guessedSize !== undefined).map((p) => p.guessedSize));
    if (r.plans.length === 0 || (r.ambiguous && guessed.size > 0) || guessed.size > 1) noMatch(loc, mn, { ...r, ambiguous: r.ambiguous || guessed.size > 1 });
    const rel = r.plans.filter((p) => p.rel !== undefined);
    if (rel.length > 0) {
      const short = best(rel.filter((p) => p.rel!.size === 1)), long = best(rel.filter((p) => p.rel!.size > 1));
      if (short !== undefined && long !== undefined) {
        const target = long.rel!.expr;
        const withMode = (e: Encoded): Encoded => ({ ...e, fixups: e.fixups.map((f) => ({ ...f, loc, mode: this.mode })) });
        const shortE = withMode(encode(short, this.check(loc, short, prefixes))), longE = withMode(encode(long, this.check(loc, long, prefixes)));
        this.section.addVariable({ k: 'branch', loc, short: shortE, long: longE, isLong: false, target, offset: 0 });
        return;
      }
    }
    const plan = best(r.plans)!;
    const e = encode(plan, this.check(loc, plan, prefixes));
    this.section.emit(loc, e.bytes, e.fixups, this.mode);
  }

  /** The written prefixes to add to plan `p`; fails on a lock it does not allow or a clash. */
  private check(loc: Loc, p: Plan, x: Prefixes): Prefixes {
    if (x.lock !== undefined && (!p.row.lock || p.mem === undefined)) fail(loc, `lock prefix on '${p.row.mn.split('|')[0]}' without a memory destination it allows`);
    const merged = mergePrefixes(p, x);
    if (typeof merged === 'string') fail(loc, merged);
    return merged;
  }

  private emitPrefixes(loc: Loc, x: Prefixes): void {
    const order: (keyof Prefixes)[] = ['seg', 'addr', 'data', 'rep', 'lock', 'rex'];
    this.section.emit(loc, order.filter((k) => x[k] !== undefined).map((k) => (k === 'rex' ? 0x40 | x.rex! : x[k]!)));
  }

  private bindOperand(o: Operand): Operand {
    switch (o.k) {
      case 'reg': return o;
      case 'mem': return o.disp === undefined ? o : { ...o, disp: this.bindDot(o.disp) };
      case 'imm': case 'bare': return { ...o, expr: this.bindDot(o.expr) };
      case 'far': return { ...o, sel: this.bindDot(o.sel), off: this.bindDot(o.off) };
    }
  }
}

/** rex, rex.W, rex.WRXB, …: the REX bits as a prefix word. */
function rexPrefix(word: string): [keyof Prefixes, number] | undefined {
  const m = /^rex(?:\.([wrxb]+))?$/.exec(word);
  if (m === null) return undefined;
  let bits = 0;
  for (const ch of m[1] ?? '') bits |= { w: 8, r: 4, x: 2, b: 1 }[ch]!;
  return ['rex', bits];
}

function mentionsDot(e: Expr): boolean {
  switch (e.k) {
    case 'num': return false;
    case 'sym': return e.name === '.';
    case 'un': return mentionsDot(e.a);
    case 'bin': return mentionsDot(e.a) || mentionsDot(e.b);
  }
}

function substituteDot(e: Expr, name: string): Expr {
  switch (e.k) {
    case 'num': return e;
    case 'sym': return e.name === '.' ? { k: 'sym', name } : e;
    case 'un': return { ...e, a: substituteDot(e.a, name) };
    case 'bin': return { ...e, a: substituteDot(e.a, name), b: substituteDot(e.b, name) };
  }
}

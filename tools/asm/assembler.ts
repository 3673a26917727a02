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
import { lex, type Statement, type Token } from './lexer.js';
import { formsOf, type Form } from './forms.js';
import { best, isBranch, match, noMatch, type MatchResult, type Mode, type Plan } from './match.js';
import { encode, mergePrefixes, type Encoded, type Fixup, type Prefixes } from './encode.js';
import { parseOperands, type Operand } from './operands.js';
import { Section, Sym, type SectionFlags } from './sections.js';
import { directive } from './directives.js';

/** Prefix words and the slot each fills (GNU as spellings; objdump prints the same). */
const PREFIX_WORDS = new Map(Object.entries<[keyof Prefixes, number]>({
  lock: ['lock', 0xf0], rep: ['rep', 0xf3], repe: ['rep', 0xf3], repz: ['rep', 0xf3], repne: ['rep', 0xf2], repnz: ['rep', 0xf2],
  bnd: ['rep', 0xf2], data16: ['data', 0x66], data32: ['data', 0x66], addr16: ['addr', 0x67], addr32: ['addr', 0x67],
  es: ['seg', 0x26], cs: ['seg', 0x2e], ss: ['seg', 0x36], ds: ['seg', 0x3e], fs: ['seg', 0x64], gs: ['seg', 0x65], notrack: ['seg', 0x3e],
}));

/** No prefix words: the common case, shared. */
const NO_PREFIXES: Prefixes = Object.freeze({});

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
  /** Instructions by the line they were alone on, to assemble the same line again without parsing it. */
  private readonly repeatable = new Map<string, Repeatable>();

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
    const statements = lex(source, this.file);
    for (let s = statements.next(); !s.done; s = statements.next()) {
      const st = s.value;
      if (this.repeat(st)) continue;
      const tokens = st.tokens;
      try {
        this.statement(st.loc, tokens, st.text);
      } catch (e) {
        // A source that does not lex is reported as such, wherever the first other error is.
        for (let s = statements.next(); !s.done; s = statements.next()) void s.value.tokens;
        throw e;
      }
    }
  }

  /** Assembles `st` as the same line was before, if that instruction is Repeatable; false if not. */
  private repeat(st: Statement): boolean {
    if (st.text === undefined) return false;
    const r = this.repeatable.get(st.text);
    if (r === undefined || r.mode !== this.mode) return false;
    for (const s of r.syms) if (s.kind === 'equ') return false;
    const loc = this.loc = st.loc;
    if (r.k === 'branch') {
      this.section.addVariable({ k: 'branch', loc, short: r.short, long: r.long, isLong: false, target: r.target, offset: 0 });
      return true;
    }
    const item = this.section.tail(loc);
    const base = item.bytes.length;
    for (const b of r.bytes) item.bytes.push(b);
    for (const f of r.fixups) item.fixups.push(fixupAt(f, base + f.at, loc));
    return true;
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

  /** `text`: the statement's line, if it is alone there. */
  private statement(loc: Loc, tokens: Token[], text: string | undefined): void {
    const c = new Cursor(tokens, loc);
    this.loc = loc;
    // Labels: `name:` and `1:`, several on one line.
    for (;;) {
      const t = c.peek();
      if (t?.t === 'id' && c.isOp(':', 1)) {
        c.p += 2;
        this.defineLabel(loc, t.v);
        continue;
      }
      if (t?.t === 'num' && c.isOp(':', 1)) {
        c.p += 2;
        const n = t.v.toString();
        const count = (this.localCount.get(n) ?? 0) + 1;
        this.localCount.set(n, count);
        this.defineLabel(loc, `.L${n}\u0002${count}`);
        continue;
      }
      break;
    }
    const head = c.next();
    if (head === undefined) return;
    if (head.t !== 'id') fail(loc, `expected a mnemonic or directive, not ${show(head)}`);
    if (c.isOp('=') || c.isOp('==')) {
      c.next();
      this.assign(loc, head.v, this.expr(c));
      this.end(c);
      return;
    }
    if (head.v.startsWith('.')) { directive(this, head.v.toLowerCase(), c); return; }
    this.instruction(c, head.v, c.p === 1 ? text : undefined);
  }

  expr(c: Cursor): Expr {
    return parseExpr(c, this.localRef);
  }

  end(c: Cursor): void {
    if (!c.atEnd()) fail(c.loc, `unexpected ${show(c.peek()!)}`);
  }

  /** `line`: the text the instruction is alone on, to repeat it by if it is Repeatable. */
  private instruction(c: Cursor, first: string, line: string | undefined): void {
    const loc = c.loc;
    let prefixes: Prefixes = NO_PREFIXES;
    let mn = first.toLowerCase();
    // Prefix words, then the mnemonic; a prefix alone is emitted as its byte (`rep; movsb`).
    for (;;) {
      const slot = PREFIX_WORDS.get(mn) ?? rexPrefix(mn);
      if (slot === undefined) break;
      const [key, byte] = slot;
      if (prefixes === NO_PREFIXES) prefixes = {};
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
    const operands = parseOperands(c, this.localRef);
    for (let k = 0; k < operands.length; k++) operands[k] = this.bindOperand(operands[k]);
    const asz = prefixes.addr === undefined ? undefined : this.mode === 32 ? 2 : 4;
    const req = { mnemonic: mn, mode: this.mode, forms, operands, valueOf: this.valueOf, isAddress: this.isAddress, loc, asz };
    const r = match(req);
    if (r.plans.length === 0 || (r.ambiguous && guessedSizes(r) > 0) || guessedSizes(r) > 1) {
      // Fit every row this time, for the most telling reason.
      const all = match(req, true);
      noMatch(loc, mn, { ...all, ambiguous: all.ambiguous || guessedSizes(all) > 1 });
    }
    if (r.plans.some((p) => p.rel !== undefined)) {
      const short = best(r.plans.filter((p) => p.rel?.size === 1)), long = best(r.plans.filter((p) => p.rel !== undefined && p.rel.size > 1));
      if (short !== undefined && long !== undefined) {
        const target = long.rel!.expr;
        const shortE: Encoded = { bytes: [], fixups: [] }, longE: Encoded = { bytes: [], fixups: [] };
        encode(short, this.check(loc, short, prefixes), loc, this.mode, shortE.bytes, shortE.fixups);
        encode(long, this.check(loc, long, prefixes), loc, this.mode, longE.bytes, longE.fixups);
        this.section.addVariable({ k: 'branch', loc, short: shortE, long: longE, isLong: false, target, offset: 0 });
        const syms = line === undefined ? null : this.dependsOn(operands, forms);
        if (syms !== null) this.repeatable.set(line!, { k: 'branch', mode: this.mode, syms, short: shortE, long: longE, target });
        return;
      }
    }
    const plan = best(r.plans)!;
    const x = this.check(loc, plan, prefixes);
    const item = this.section.tail(loc);
    const start = item.bytes.length, firstFixup = item.fixups.length;
    encode(plan, x, loc, this.mode, item.bytes, item.fixups);
    const syms = line === undefined ? null : this.dependsOn(operands, forms);
    if (syms !== null) {
      const fixups = item.fixups.slice(firstFixup).map((f) => fixupAt(f, f.at - start, f.loc));
      this.repeatable.set(line!, { k: 'bytes', mode: this.mode, syms, bytes: item.bytes.slice(start), fixups });
    }
  }

  /**
   * The symbols the encoding of these operands depends on, if it depends on
   * nothing else but their text; null if a value asked for while matching
   * could differ from place to place. A constant cannot; nor can an
   * expression with a single symbol, as long as that is no assignment
   * (label+8: not known while parsing, the label defined yet or not); nor a
   * branch target, which is not evaluated. `.` and `1f` stand for another
   * label in each place.
   */
  private dependsOn(operands: Operand[], forms: Form[]): Sym[] | null {
    const syms: Sym[] = [];
    const steady = (e: Expr | undefined): boolean => {
      if (e === undefined) return true;
      const names = symbolNames(e, []);
      if (names.length === 0) return true;
      const s = names.length === 1 && !names[0].includes('\u0002') ? this.syms.get(names[0]) : undefined;
      if (s === undefined || s.kind === 'equ') return false;
      syms.push(s);
      return true;
    };
    for (const o of operands) {
      switch (o.k) {
        case 'reg': break;
        case 'mem': if (!steady(o.disp)) return null; break;
        case 'imm': if (!steady(o.expr)) return null; break;
        case 'far': if (!steady(o.sel) || !steady(o.off)) return null; break;
        case 'bare':
          if (isBranch(forms) ? symbolNames(o.expr, []).some((n) => n.includes('\u0002')) : !steady(o.expr)) return null;
          break;
      }
    }
    return syms;
  }

  /** The written prefixes to add to plan `p`; fails on a lock it does not allow or a clash. */
  private check(loc: Loc, p: Plan, x: Prefixes): Prefixes {
    if (x === NO_PREFIXES) return x;
    if (x.lock !== undefined && (!p.row.lock || p.mem === undefined)) fail(loc, `lock prefix on '${p.row.mn.split('|')[0]}' without a memory destination it allows`);
    const merged = mergePrefixes(p, x);
    if (typeof merged === 'string') fail(loc, merged);
    return merged;
  }

  private emitPrefixes(loc: Loc, x: Prefixes): void {
    const order: (keyof Prefixes)[] = ['seg', 'addr', 'data', 'rep', 'lock', 'rex'];
    this.section.emit(loc, order.filter((k) => x[k] !== undefined).map((k) => (k === 'rex' ? 0x40 | x.rex! : x[k]!)));
  }

  /** `o` with `.` bound to a label here; `o` itself if it has none. */
  private bindOperand(o: Operand): Operand {
    switch (o.k) {
      case 'reg': return o;
      case 'mem': return o.disp === undefined || !mentionsDot(o.disp) ? o : { ...o, disp: this.bindDot(o.disp) };
      case 'imm': case 'bare': return mentionsDot(o.expr) ? { ...o, expr: this.bindDot(o.expr) } : o;
      case 'far': return mentionsDot(o.sel) || mentionsDot(o.off) ? { ...o, sel: this.bindDot(o.sel), off: this.bindDot(o.off) } : o;
    }
  }
}

/** How many sizes the plans guess for an unsized memory operand (2: more than one, which is ambiguous). */
function guessedSizes(r: MatchResult): number {
  let first: number | undefined;
  for (const p of r.plans) {
    if (p.guessedSize === undefined) continue;
    if (first === undefined) first = p.guessedSize;
    else if (p.guessedSize !== first) return 2;
  }
  return first === undefined ? 0 : 1;
}

/**
 * An instruction whose bytes depend on nothing but its text, the mode and
 * `syms` not being assignments: its bytes (`at` of fixups from its first
 * byte), or a relaxable branch's two forms.
 */
type Repeatable =
  | { k: 'bytes'; mode: Mode; syms: Sym[]; bytes: number[]; fixups: Fixup[] }
  | { k: 'branch'; mode: Mode; syms: Sym[]; short: Encoded; long: Encoded; target: Expr };

/** Appends the names of the symbols in `e` to `out`. */
function symbolNames(e: Expr, out: string[]): string[] {
  switch (e.k) {
    case 'num': break;
    case 'sym': out.push(e.name); break;
    case 'un': symbolNames(e.a, out); break;
    case 'bin': symbolNames(e.a, out); symbolNames(e.b, out); break;
  }
  return out;
}

/** A fixup's copy at `at`, from the statement at `loc`. */
function fixupAt(f: Fixup, at: number, loc: Loc): Fixup {
  return { at, field: f.field, pcrel: f.pcrel, toEnd: f.toEnd, branch: f.branch, loc, mode: f.mode };
}

/** rex, rex.W, rex.WRXB, …: the REX bits as a prefix word. */
function rexPrefix(word: string): [keyof Prefixes, number] | undefined {
  if (!word.startsWith('rex')) return undefined;
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

/**
 * Directives, as GNU as reads them: data (.byte .word .short .long .int .quad
 * .ascii .asciz .string .float .double), space (.fill .space .skip .zero),
 * position (.align .balign .p2align .org), sections (.section .text .data
 * .bss .previous), symbols (= .equ .set .equiv .globl .global .weak .type
 * .size .extern .hidden), modes (.code16 .code32 .code64 .intel_syntax);
 * .file and .ident are accepted and ignored.
 */
import { fail, type Loc } from './errors.js';
import { Cursor, show, type Expr } from './expr.js';
import type { Assembler } from './assembler.js';
import { defaultFlags } from './assembler.js';
import { putLE } from './encode.js';
import { fitsUnsigned } from './match.js';
import type { SectionFlags, Section } from './sections.js';

type Handler = (a: Assembler, c: Cursor) => void;

const DATA_SIZES = new Map(Object.entries({
  '.byte': 1, '.word': 2, '.short': 2, '.hword': 2, '.value': 2, '.2byte': 2,
  '.long': 4, '.int': 4, '.4byte': 4, '.quad': 8, '.8byte': 8,
}));

const previous = new WeakMap<Assembler, Section>();

export function directive(a: Assembler, name: string, c: Cursor): void {
  const size = DATA_SIZES.get(name);
  if (size !== undefined) { data(a, c, size); return; }
  const h = HANDLERS.get(name);
  if (h === undefined) fail(c.loc, `unknown directive '${name}'`);
  h(a, c);
}

/** Comma-separated arguments; an empty one (`.p2align 4,,10`) is undefined. */
function args(a: Assembler, c: Cursor): (Expr | undefined)[] {
  const out: (Expr | undefined)[] = [];
  if (c.atEnd()) return out;
  for (;;) {
    out.push(c.isOp(',') || c.atEnd() ? undefined : a.expr(c));
    if (c.atEnd()) return out;
    c.expectOp(',');
  }
}

/** A value that must be known where it is written (a count, an alignment). */
function known(a: Assembler, c: Cursor, e: Expr | undefined, what: string, dflt?: bigint): bigint {
  if (e === undefined) {
    if (dflt === undefined) fail(c.loc, `missing ${what}`);
    return dflt;
  }
  const v = a.valueOf(a.bindDot(e));
  if (v === undefined) fail(c.loc, `${what} must be a constant known at this point`);
  return v;
}

function emitValue(a: Assembler, loc: Loc, e: Expr, size: number): void {
  const expr = a.bindDot(e);
  const value = a.valueOf(expr);
  if (value !== undefined && !fitsUnsigned(value, size * 8)) fail(loc, `value ${value} does not fit ${size * 8} bits`);
  const item = a.section.tail(loc);
  const at = item.bytes.length;
  putLE(item.bytes, at, value ?? 0n, size);
  if (value === undefined) item.fixups.push({ at, field: { expr, size, signed: false }, pcrel: false, toEnd: size, branch: false, loc, mode: a.mode });
}

function data(a: Assembler, c: Cursor, size: number): void {
  for (;;) {
    const t = c.peek();
    if (t?.t === 'str' && size === 1) { c.next(); a.section.emit(c.loc, [...t.v]); } else emitValue(a, c.loc, a.expr(c), size);
    if (c.atEnd()) return;
    c.expectOp(',');
  }
}

function strings(zero: boolean): Handler {
  return (a, c) => {
    for (;;) {
      const t = c.next();
      if (t?.t !== 'str') fail(c.loc, `expected a string${t ? `, not ${show(t)}` : ''}`);
      a.section.emit(c.loc, zero ? [...t.v, 0] : [...t.v]);
      if (c.atEnd()) return;
      c.expectOp(',');
    }
  };
}

function floats(size: 4 | 8): Handler {
  return (a, c) => {
    for (;;) {
      let sign = 1;
      if (c.eatOp('-')) sign = -1;
      else c.eatOp('+');
      const t = c.next();
      let v: number;
      if (t?.t === 'num') {
        // 1.5 lexes as 1 then .5 (an identifier): join them back.
        const frac = c.peek();
        v = Number(t.v);
        if (frac?.t === 'id' && /^\.\d*(e[+-]?\d+)?$/i.test(frac.v)) { c.next(); v = Number(`${t.v}${frac.v}`); }
      } else if (t?.t === 'id' && /^\.\d+/.test(t.v)) v = Number(t.v);
      else fail(c.loc, 'expected a floating-point number');
      const buf = new DataView(new ArrayBuffer(size));
      if (size === 4) buf.setFloat32(0, sign * v, true); else buf.setFloat64(0, sign * v, true);
      a.section.emit(c.loc, [...new Uint8Array(buf.buffer)]);
      if (c.atEnd()) return;
      c.expectOp(',');
    }
  };
}

/** .align/.balign take bytes, .p2align a power of two; then fill and the most bytes to skip. */
function align(p2: boolean): Handler {
  return (a, c) => {
    const [n, fill, max] = args(a, c);
    const v = known(a, c, n, 'alignment');
    const bytes = p2 ? 1 << Number(v) : Number(v);
    if (bytes <= 0 || (bytes & (bytes - 1)) !== 0) fail(c.loc, `alignment ${bytes} is not a power of two`);
    const sec = a.section;
    sec.align = Math.max(sec.align, bytes);
    // In code, no fill or a fill of 0x90 (nop) means GNU as's long NOPs.
    let fillValue: number | 'nop' = fill === undefined ? 0x90 : Number(known(a, c, fill, 'fill') & 0xffn);
    if (fillValue === 0x90 && sec.flags.exec) fillValue = 'nop';
    else if (fill === undefined) fillValue = 0;
    const maxSkip = max === undefined ? Infinity : Number(known(a, c, max, 'maximum'));
    sec.addVariable({ k: 'align', loc: c.loc, align: bytes, fill: fillValue, fillSize: 1, max: maxSkip, mode: a.mode, size: 0, offset: 0 });
  };
}

function space(a: Assembler, c: Cursor): void {
  const [n, fill] = args(a, c);
  const count = Number(known(a, c, n, 'size'));
  if (count < 0) fail(c.loc, 'negative size');
  a.section.emit(c.loc, new Array<number>(count).fill(Number(known(a, c, fill, 'fill', 0n) & 0xffn)));
}

/** .fill repeat, size, value: each unit holds value's low 4 bytes, little-endian, the rest zero. */
function fillDirective(a: Assembler, c: Cursor): void {
  const [r, s, v] = args(a, c);
  const repeat = Number(known(a, c, r, 'repeat count'));
  const size = Math.min(Number(known(a, c, s, 'size', 1n)), 8);
  const value = known(a, c, v, 'value', 0n) & 0xffffffffn;
  const unit: number[] = [];
  for (let k = 0; k < size; k++) unit.push(k < 4 ? Number((value >> BigInt(8 * k)) & 0xffn) : 0);
  const out: number[] = [];
  for (let k = 0; k < repeat; k++) out.push(...unit);
  a.section.emit(c.loc, out);
}

function org(a: Assembler, c: Cursor): void {
  const [target, fill] = args(a, c);
  if (target === undefined) fail(c.loc, 'missing .org position');
  const fillValue = Number(known(a, c, fill, 'fill', 0n));
  a.section.addVariable({ k: 'org', loc: c.loc, target: a.bindDot(target), fill: fillValue, size: 0, offset: 0 });
}

function switchTo(a: Assembler, s: Section): void {
  previous.set(a, a.section);
  a.section = s;
}

function sectionDirective(a: Assembler, c: Cursor): void {
  const t = c.next();
  let name: string;
  if (t?.t === 'id') name = t.v;
  else if (t?.t === 'str') name = new TextDecoder().decode(t.v);
  else fail(c.loc, 'expected a section name');
  let flags: SectionFlags | undefined;
  if (c.eatOp(',')) {
    const f = c.next();
    if (f?.t !== 'str') fail(c.loc, 'expected section flags as a string ("ax", "aw", …)');
    const text = new TextDecoder().decode(f.v);
    flags = { alloc: text.includes('a'), write: text.includes('w'), exec: text.includes('x'), nobits: defaultFlags(name).nobits };
    if (c.eatOp(',')) {
      c.eatOp('@');
      c.eatOp('%');
      const type = c.next();
      const tname = type?.t === 'id' ? type.v.replace(/^@/, '') : '';
      if (tname === 'nobits') flags.nobits = true;
      else if (tname === 'progbits') flags.nobits = false;
      else fail(c.loc, 'section type must be @progbits or @nobits');
    }
  }
  const existing = a.sections.find((s) => s.name === name);
  switchTo(a, existing ?? a.sectionNamed(name, flags));
}

function symbols(apply: (a: Assembler, c: Cursor, name: string) => void): Handler {
  return (a, c) => {
    for (;;) {
      const t = c.next();
      if (t?.t !== 'id') fail(c.loc, 'expected a symbol name');
      apply(a, c, t.v);
      if (c.atEnd()) return;
      c.expectOp(',');
    }
  };
}

function assignDirective(once: boolean): Handler {
  return (a, c) => {
    const t = c.next();
    if (t?.t !== 'id') fail(c.loc, 'expected a symbol name');
    c.expectOp(',');
    if (once && a.syms.get(t.v) !== undefined && a.syms.get(t.v)!.kind !== 'undef') fail(c.loc, `symbol '${t.v}' is already defined`);
    a.assign(c.loc, t.v, a.expr(c));
    a.end(c);
  };
}

function code(mode: 16 | 32 | 64): Handler {
  return (a, c) => { a.mode = mode; a.end(c); };
}

const ignore: Handler = () => {};

const HANDLERS = new Map(Object.entries<Handler>({
  '.ascii': strings(false), '.asciz': strings(true), '.string': strings(true),
  '.float': floats(4), '.single': floats(4), '.double': floats(8),
  '.align': align(false), '.balign': align(false), '.p2align': align(true),
  '.space': space, '.skip': space, '.zero': space, '.fill': fillDirective, '.org': org,
  '.section': sectionDirective,
  '.text': (a, c) => { switchTo(a, a.sectionNamed('.text')); a.end(c); },
  '.data': (a, c) => { switchTo(a, a.sectionNamed('.data')); a.end(c); },
  '.bss': (a, c) => { switchTo(a, a.sectionNamed('.bss')); a.end(c); },
  '.previous': (a, c) => { const p = previous.get(a); if (p === undefined) fail(c.loc, 'no previous section'); switchTo(a, p); },
  '.globl': symbols((a, _c, n) => { a.sym(n).global = true; }),
  '.global': symbols((a, _c, n) => { a.sym(n).global = true; }),
  '.weak': symbols((a, _c, n) => { const s = a.sym(n); s.global = true; s.weak = true; }),
  '.extern': symbols(ignore), '.hidden': symbols(ignore), '.local': symbols(ignore),
  '.type': (a, c) => {
    const t = c.next();
    if (t?.t !== 'id') fail(c.loc, 'expected a symbol name');
    c.expectOp(',');
    c.eatOp('@');
    c.eatOp('%');
    const kind = c.next();
    if (kind?.t !== 'id') fail(c.loc, 'expected a symbol type');
    const k = kind.v.replace(/^@/, '').toLowerCase();
    if (k === 'function' || k === 'stt_func') a.sym(t.v).type = 'function';
    else if (k === 'object' || k === 'stt_object') a.sym(t.v).type = 'object';
    else if (k !== 'notype' && k !== 'stt_notype') fail(c.loc, `symbol type '${kind.v}' is not supported`);
  },
  '.size': (a, c) => {
    const t = c.next();
    if (t?.t !== 'id') fail(c.loc, 'expected a symbol name');
    c.expectOp(',');
    a.sym(t.v).size = a.bindDot(a.expr(c));
  },
  '.equ': assignDirective(false), '.set': assignDirective(false), '.equiv': assignDirective(true),
  '.code16': code(16), '.code32': code(32), '.code64': code(64),
  '.intel_syntax': (_a, c) => { if (c.isId('prefix')) fail(c.loc, 'only .intel_syntax noprefix is supported'); },
  '.att_syntax': (_a, c) => fail(c.loc, 'AT&T syntax is not supported: this assembler reads Intel syntax'),
  '.file': ignore, '.ident': ignore,
}));

/**
 * Source text → statements of tokens, as GNU as reads x86 source: `#` starts a
 * comment, `/* … *\/` comments may span lines, `;` separates statements on one
 * line. Numbers are 0x hex, 0b binary, leading-0 octal, decimal, or Intel's
 * `0ffh`; `1b`/`1f` are references to numeric local labels.
 */
import { fail, type Loc } from './errors.js';

export type Token =
  | { t: 'id'; v: string }
  | { t: 'num'; v: bigint }
  | { t: 'str'; v: Uint8Array }
  /** A numeric local label reference: 1b (back) or 1f (forward). */
  | { t: 'local'; n: string; dir: 'b' | 'f' }
  | { t: 'op'; v: string };

/**
 * A statement's tokens; for a line that holds one statement and nothing else
 * (no comment, string or `;`), also the line's text, lexed only when the
 * tokens are asked for: the assembler may know the statement by its text.
 */
export class Statement {
  private lexed: Token[] | undefined;
  constructor(readonly loc: Loc, readonly text: string | undefined, tokens?: Token[]) {
    this.lexed = tokens;
  }

  get tokens(): Token[] {
    return (this.lexed ??= tokenize(this.text!, this.loc));
  }
}

const OPS = ['<<', '>>', '==', '!=', '<=', '>=', '&&', '||', '<>'];
const PUNCTUATION = '+-*/%&|^~!()[],:=<>{}';

/** Character classes by code: what starts a name, what continues a name, a number, a decimal digit. */
const NAME_START = 1, NAME = 2, WORD = 4, DIGIT = 8;
const CLASS = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  const ch = String.fromCharCode(c);
  const letter = /[A-Za-z_]/.test(ch), digit = /[0-9]/.test(ch);
  CLASS[c] = (letter || '.$@'.includes(ch) ? NAME_START : 0) | (letter || digit || '.$@'.includes(ch) ? NAME : 0) |
    (letter || digit ? WORD : 0) | (digit ? DIGIT : 0);
}
const is = (text: string, p: number, cls: number): boolean => {
  const c = text.charCodeAt(p);
  return c < 128 && (CLASS[c] & cls) !== 0;
};
const isSpace = (c: string): boolean => c === ' ' || c === '\t' || c === '\r' || c === '\f';

/** What makes a line more than one plain statement: a comment, a string or character, a `;`. */
const NOT_PLAIN = /[;#"']|\/\*/;
/** Anything but the blanks the lexer skips. */
const NOT_BLANK = /[^ \t\r\f]/;

/**
 * The statements of `source` in order, lexed as they are asked for: tokens of
 * one statement are garbage once it is assembled, instead of all of them
 * living as long as the whole source.
 */
export function* lex(source: string, file: string): Generator<Statement> {
  let inComment = false;
  for (let start = 0, line = 1; start <= source.length; line++) {
    let stop = source.indexOf('\n', start);
    if (stop < 0) stop = source.length;
    const text = source.slice(start, stop);
    start = stop + 1;
    const loc = { file, line };
    if (!inComment && !NOT_PLAIN.test(text)) {
      if (NOT_BLANK.test(text)) yield new Statement(loc, text);
      continue;
    }
    let tokens: Token[] = [];
    let p = 0;
    while (p < text.length) {
      if (inComment) {
        const end = text.indexOf('*/', p);
        if (end < 0) { p = text.length; break; }
        inComment = false;
        p = end + 2;
        continue;
      }
      const c = text[p];
      if (isSpace(c)) { p++; continue; }
      if (c === '#') break;
      if (c === '/' && text[p + 1] === '*') { inComment = true; p += 2; continue; }
      if (c === ';') {
        if (tokens.length > 0) { yield new Statement(loc, undefined, tokens); tokens = []; }
        p++;
        continue;
      }
      if (c === '"') { const [bytes, end] = readString(text, p + 1, loc); tokens.push({ t: 'str', v: bytes }); p = end; continue; }
      if (c === "'") {
        // 'c' or GNU's 'c (no closing quote); \-escapes as in strings.
        const [bytes, end] = readChar(text, p + 1, loc);
        tokens.push({ t: 'num', v: BigInt(bytes) });
        p = end;
        continue;
      }
      p = token(text, p, loc, tokens);
    }
    if (tokens.length > 0) yield new Statement(loc, undefined, tokens);
  }
}

/** The tokens of a plain line (see NOT_PLAIN). */
function tokenize(text: string, loc: Loc): Token[] {
  const tokens: Token[] = [];
  for (let p = 0; p < text.length;) {
    if (isSpace(text[p])) p++;
    else p = token(text, p, loc, tokens);
  }
  return tokens;
}

/** Reads the name, number or operator at text[p] into `out`; returns where it ends. */
function token(text: string, p: number, loc: Loc, out: Token[]): number {
  const from = p;
  if (is(text, p, NAME_START)) {
    while (++p < text.length && is(text, p, NAME));
    out.push({ t: 'id', v: text.slice(from, p) });
    return p;
  }
  if (is(text, p, DIGIT)) {
    while (++p < text.length && is(text, p, WORD));
    out.push(readNumber(text.slice(from, p), loc));
    return p;
  }
  const two = text.slice(p, p + 2);
  if (OPS.includes(two)) { out.push({ t: 'op', v: two }); return p + 2; }
  const c = text[p];
  if (PUNCTUATION.includes(c)) { out.push({ t: 'op', v: c }); return p + 1; }
  fail(loc, `unexpected character '${c}'`);
}

function readNumber(s: string, loc: Loc): Token {
  // Plain decimal, the usual case, without the patterns below.
  if ((s.charCodeAt(0) !== 0x30 || s.length === 1) && allDigits(s)) return { t: 'num', v: BigInt(s) };
  const lower = s.toLowerCase();
  let m: RegExpExecArray | null;
  if ((m = /^0x([0-9a-f]+)$/.exec(lower))) return { t: 'num', v: BigInt('0x' + m[1]) };
  if ((m = /^0b([01]+)$/.exec(lower))) return { t: 'num', v: BigInt('0b' + m[1]) };
  if ((m = /^([0-9]+)([bf])$/.exec(lower))) return { t: 'local', n: m[1], dir: m[2] as 'b' | 'f' };
  if ((m = /^([0-9][0-9a-f]*)h$/.exec(lower))) return { t: 'num', v: BigInt('0x' + m[1]) };
  if (/^0[0-7]+$/.test(lower)) return { t: 'num', v: BigInt('0o' + lower.slice(1)) };
  if (/^[0-9]+$/.test(lower)) return { t: 'num', v: BigInt(lower) };
  fail(loc, `bad number '${s}'`);
}

function allDigits(s: string): boolean {
  for (let k = 0; k < s.length; k++) if (!is(s, k, DIGIT)) return false;
  return true;
}

const ESCAPES: Record<string, number> = { n: 10, t: 9, r: 13, b: 8, f: 12, v: 11, a: 7, '\\': 92, '"': 34, "'": 39 };

/** One character of a string or char constant at text[p] (after a backslash if any): [byte, next p]. */
function readEscaped(text: string, p: number, loc: Loc): [number, number] {
  const c = text[p];
  if (c !== '\\') return [text.charCodeAt(p), p + 1];
  const e = text[p + 1];
  if (e === undefined) fail(loc, 'backslash at the end of the line');
  if (e in ESCAPES) return [ESCAPES[e], p + 2];
  if (e === 'x' || e === 'X') {
    const m = /^[0-9a-fA-F]+/.exec(text.slice(p + 2));
    if (!m) fail(loc, 'bad \\x escape');
    return [parseInt(m[0], 16) & 0xff, p + 2 + m[0].length];
  }
  const oct = /^[0-7]{1,3}/.exec(text.slice(p + 1));
  if (oct) return [parseInt(oct[0], 8) & 0xff, p + 1 + oct[0].length];
  return [text.charCodeAt(p + 1), p + 2];
}

function readString(text: string, p: number, loc: Loc): [Uint8Array, number] {
  const bytes: number[] = [];
  while (p < text.length && text[p] !== '"') {
    const [b, next] = readEscaped(text, p, loc);
    if (b > 0xff) bytes.push(...new TextEncoder().encode(String.fromCharCode(b)));
    else bytes.push(b);
    p = next;
  }
  if (p >= text.length) fail(loc, 'unterminated string');
  return [new Uint8Array(bytes), p + 1];
}

function readChar(text: string, p: number, loc: Loc): [number, number] {
  if (p >= text.length) fail(loc, 'empty character constant');
  const [b, next] = readEscaped(text, p, loc);
  return [b, text[next] === "'" ? next + 1 : next];
}

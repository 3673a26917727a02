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

export interface Statement { loc: Loc; tokens: Token[] }

const OPS = ['<<', '>>', '==', '!=', '<=', '>=', '&&', '||', '<>'];

export function lex(source: string, file: string): Statement[] {
  const out: Statement[] = [];
  let inComment = false;
  source.split('\n').forEach((text, k) => {
    const loc = { file, line: k + 1 };
    let tokens: Token[] = [];
    let p = 0;
    const flush = (): void => { if (tokens.length > 0) out.push({ loc, tokens }); tokens = []; };
    while (p < text.length) {
      if (inComment) {
        const end = text.indexOf('*/', p);
        if (end < 0) { p = text.length; break; }
        inComment = false;
        p = end + 2;
        continue;
      }
      const c = text[p];
      if (c === ' ' || c === '\t' || c === '\r' || c === '\f') { p++; continue; }
      if (c === '#') break;
      if (c === '/' && text[p + 1] === '*') { inComment = true; p += 2; continue; }
      if (c === ';') { flush(); p++; continue; }
      if (c === '"') { const [bytes, end] = readString(text, p + 1, loc); tokens.push({ t: 'str', v: bytes }); p = end; continue; }
      if (c === "'") {
        // 'c' or GNU's 'c (no closing quote); \-escapes as in strings.
        const [bytes, end] = readChar(text, p + 1, loc);
        tokens.push({ t: 'num', v: BigInt(bytes) });
        p = end;
        continue;
      }
      const word = /^[A-Za-z_.$@][\w.$@]*/.exec(text.slice(p));
      if (word) { tokens.push({ t: 'id', v: word[0] }); p += word[0].length; continue; }
      const num = /^[0-9][\w]*/.exec(text.slice(p));
      if (num) { tokens.push(readNumber(num[0], loc)); p += num[0].length; continue; }
      const two = text.slice(p, p + 2);
      if (OPS.includes(two)) { tokens.push({ t: 'op', v: two }); p += 2; continue; }
      if ('+-*/%&|^~!()[],:=<>{}'.includes(c)) { tokens.push({ t: 'op', v: c }); p++; continue; }
      fail(loc, `unexpected character '${c}'`);
    }
    flush();
  });
  return out;
}

function readNumber(s: string, loc: Loc): Token {
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

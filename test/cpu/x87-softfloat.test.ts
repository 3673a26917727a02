/**
 * The soft-float core against vectors recorded on a real x87 (an AMD EPYC
 * host, by a small C program with inline assembly; see the header of
 * x87-host-vectors.txt). Each line: op fcw a(se sig) b(se sig) -> st0(se sig)
 * st1(se sig) fsw mem(se sig); `a` is ST0 and `b` ST1 before the operation,
 * and for stores and loads `mem` is the memory operand (it starts as b.se:a.sig).
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { type F80, type FpEnv, Exc } from '../../emu/cpu/softfloat80.js';
import { add, mul, div, sqrt, compare, roundToInt, scale, extract, remainder, examine } from '../../emu/cpu/softfloat80-arith.js';
import { fromF64, fromF32, toF64, toF32, toInt, fromInt, fromBcd, toBcd } from '../../emu/cpu/softfloat80-convert.js';
import { loadConstant, Const } from '../../emu/cpu/softfloat80-const.js';

interface Vector { line: string; op: string; cw: number; a: F80; b: F80; st0: F80; st1: F80; fsw: number; mem: bigint }

const f = (se: string, sig: string): F80 => ({ sign: parseInt(se, 16) >> 15, exp: parseInt(se, 16) & 0x7fff, sig: BigInt('0x' + sig) });
const hex = (v: F80): string => `${((v.sign << 15) | v.exp).toString(16).padStart(4, '0')} ${v.sig.toString(16).padStart(16, '0')}`;

function load(): Vector[] {
  const text = readFileSync(new URL('./x87-host-vectors.txt', import.meta.url), 'utf8');
  return text.split('\n').filter((l) => l && !l.startsWith('#')).map((line) => {
    const t = line.split(/\s+/);
    return {
      line, op: t[0], cw: parseInt(t[1], 16), a: f(t[2], t[3]), b: f(t[4], t[5]),
      st0: f(t[7], t[8]), st1: f(t[9], t[10]), fsw: parseInt(t[11], 16),
      mem: (BigInt('0x' + t[12]) << 64n) | BigInt('0x' + t[13]),
    };
  });
}

const REL_TO_CC = (r: number): number => ((r & 1) << 8) | ((r & 2) << 9) | ((r & 4) << 12);
const INT_WIDTH: Record<string, number> = { ist16: 16, ist32: 32, ist64: 64, istt16: 16, istt32: 32, istt64: 64 };
/** The host program stores these with a pop after `fld st0`: a refused store leaves the copy. */
const POPPED = new Set(['ist64', 'istt16', 'istt32', 'istt64']);
const CONSTS: Record<string, Const> = { ldpi: Const.Pi, ldl2e: Const.L2e, ldl2t: Const.L2t, ldlg2: Const.Lg2, ldln2: Const.Ln2, ld1: Const.One, ldz: Const.Zero };

/** What the soft-float layer says: [st0, st1, condition codes, memory image]. */
function emulate(v: Vector, env: FpEnv): [F80, F80, number, bigint] {
  const { a, b } = v;
  const keep = (r: F80 | null): F80 => r ?? a;
  const mem0 = v.mem;
  const store = (bits: bigint | null, width: number): bigint => {
    if (bits === null) return mem0;
    const m = (1n << BigInt(width)) - 1n;
    return (mem0 & ~m) | (bits & m);
  };
  switch (v.op) {
    case 'add': return [keep(add(env, a, b, false)), b, 0, mem0];
    case 'sub': return [keep(add(env, a, b, true)), b, 0, mem0];
    case 'subr': return [keep(add(env, b, a, true)), b, 0, mem0];
    case 'mul': return [keep(mul(env, a, b)), b, 0, mem0];
    case 'div': return [keep(div(env, a, b)), b, 0, mem0];
    case 'divr': return [keep(div(env, b, a)), b, 0, mem0];
    case 'sqrt': return [keep(sqrt(env, a)), b, 0, mem0];
    case 'rndint': return [keep(roundToInt(env, a)), b, 0, mem0];
    case 'scale': return [keep(scale(env, a, b)), b, 0, mem0];
    case 'xtract': { const r = extract(env, a); return r ? [r[0], r[1], 0, mem0] : [a, b, 0, mem0]; }
    case 'prem': case 'prem1': {
      const r = remainder(env, a, b, v.op === 'prem1');
      if (!r) return [a, b, 0, mem0];
      const q = r.quotient;
      const cc = r.partial ? 0x400 : ((q & 4) << 6) | ((q & 2) << 13) | ((q & 1) << 9);
      if (!r.partial) env.exc &= ~Exc.C1;
      return [r.value, b, cc, mem0];
    }
    case 'com': case 'ucom': return [a, b, REL_TO_CC(compare(env, a, b, v.op === 'ucom')), mem0];
    case 'tst': return [a, b, REL_TO_CC(compare(env, a, { sign: 0, exp: 0, sig: 0n }, false)), mem0];
    case 'xam': return [a, b, REL_TO_CC(examine(a, false)) | (a.sign << 9), mem0];
    case 'st64': return [a, b, 0, store(toF64(env, a), 64)];
    case 'st32': return [a, b, 0, store(toF32(env, a), 32)];
    case 'ist16': case 'ist32': case 'ist64': case 'istt16': case 'istt32': case 'istt64': {
      const w = INT_WIDTH[v.op];
      const r = toInt(env, a, w, v.op.startsWith('istt'));
      return [a, r === null && POPPED.has(v.op) ? a : b, 0, store(r, w)];
    }
    case 'bstp': { const r = toBcd(env, a); return [a, r === null ? a : b, 0, store(r, 80)]; }
    case 'ld64': case 'ld32': {
      const r = v.op === 'ld64' ? fromF64(env, mem0 & ((1n << 64n) - 1n)) : fromF32(env, mem0 & 0xffffffffn);
      return r ? [r, a, 0, mem0] : [a, b, 0, mem0];
    }
    case 'ild16': case 'ild32': case 'ild64': {
      const w = Number(v.op.slice(3));
      return [fromInt(BigInt.asIntN(w, mem0)), a, 0, mem0];
    }
    case 'bld': return [fromBcd(mem0), a, 0, mem0];
    default: return [loadConstant(env.cw, CONSTS[v.op]), a, 0, mem0];
  }
}

describe('x87 soft-float agrees with a real x87', () => {
  const vectors = load();
  const ops = [...new Set(vectors.map((v) => v.op))];
  for (const op of ops) {
    it(`${op}: result bits, exception flags, C1 and condition codes match the host`, () => {
      const bad: string[] = [];
      for (const v of vectors.filter((x) => x.op === op)) {
        const env: FpEnv = { cw: v.cw, exc: 0 };
        const [st0, st1, cc, mem] = emulate(v, env);
        let fsw = (env.exc & (Exc.ALL | Exc.SF | Exc.C1)) | cc;
        if (fsw & ~v.cw & Exc.ALL) fsw |= 0x8080;
        const got = `${hex(st0)} ${hex(st1)} ${fsw.toString(16).padStart(4, '0')} ${(mem >> 64n).toString(16).padStart(4, '0')} ${(mem & ((1n << 64n) - 1n)).toString(16).padStart(16, '0')}`;
        const t = v.line.split(/\s+/);
        const want = `${t[7]} ${t[8]} ${t[9]} ${t[10]} ${(parseInt(t[11], 16) & ~0x3800).toString(16).padStart(4, '0')} ${t[12]} ${t[13]}`;
        if (got !== want) bad.push(`${v.line}\n   got ${got}`);
      }
      expect(bad.slice(0, 8).join('\n')).toBe('');
    });
  }
});

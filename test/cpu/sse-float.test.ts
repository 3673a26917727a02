import { describe, expect, it } from 'vitest';
import { F } from '../../emu/cpu/flags.js';
import type { Sandbox } from '../../emu/cpu/sandbox.js';
import { run, vector, pd, ps, dw, lanesF64, lanesF32, lanesU32, bits64 } from './sse-helpers.js';

const ADDSD = [0xf2, 0x0f, 0x58, 0xc1];
const SUBSD = [0xf2, 0x0f, 0x5c, 0xc1];
const MULSD = [0xf2, 0x0f, 0x59, 0xc1];
const DIVSD = [0xf2, 0x0f, 0x5e, 0xc1];
const DIVSS = [0xf3, 0x0f, 0x5e, 0xc1];
const SQRTSD = [0xf2, 0x0f, 0x51, 0xc1];

const IE = 1, DE = 2, ZE = 4, OE = 8, UE = 16, PE = 32, DAZ = 0x40, FTZ = 0x8000;
const MASKS = 0x1f80;
const rc = (mode: number): number => MASKS | (mode << 13);

/** Runs a binary xmm0 ← op(xmm0, xmm1) with MXCSR `mx`. */
function op(code: number[], a: bigint, b: bigint, mx = MASKS): Sandbox {
  return run(code, (s) => { s.setXmm(0, a); s.setXmm(1, b); s.cpu.mxcsr = mx; });
}
const lo64 = (s: Sandbox): bigint => s.getXmm(0) & 0xffffffffffffffffn;
const flags = (s: Sandbox): number => s.cpu.mxcsr & 0x3f;

describe('scalar double arithmetic', () => {
  it('0.1 + 0.2 rounds to nearest and sets PE', () => {
    const s = op(ADDSD, pd(0.1, 7), pd(0.2, 9));
    expect(lanesF64(s.getXmm(0))).toEqual([0.30000000000000004, 7]);
    expect(flags(s)).toBe(PE);
  });

  it('an exact sum leaves every flag clear', () => {
    const s = op(ADDSD, pd(1.5), pd(2.25));
    expect(lanesF64(s.getXmm(0))[0]).toBe(3.75);
    expect(flags(s)).toBe(0);
  });

  it('the rounding control decides the last bit of 1/3', () => {
    const want64 = [0x3fd5555555555555n, 0x3fd5555555555555n, 0x3fd5555555555556n, 0x3fd5555555555555n];
    const want32 = [0x3eaaaaab, 0x3eaaaaaa, 0x3eaaaaab, 0x3eaaaaaa];
    for (let mode = 0; mode < 4; mode++) {
      expect(lo64(op(DIVSD, pd(1), pd(3), rc(mode)))).toBe(want64[mode]);
      expect(lanesU32(op(DIVSS, ps(1), ps(3), rc(mode)).getXmm(0))[0]).toBe(want32[mode]);
    }
  });

  it('x − x is +0, and −0 when rounding down', () => {
    expect(lo64(op(SUBSD, pd(1.5), pd(1.5)))).toBe(0n);
    expect(lo64(op(SUBSD, pd(1.5), pd(1.5), rc(1)))).toBe(0x8000000000000000n);
  });

  it('the first operand’s NaN wins and an SNaN is quieted with IE', () => {
    const s = op(ADDSD, dw(1, 0x7ff00000), dw(2, 0x7ff80000));
    expect(lo64(s)).toBe(0x7ff8000000000001n);
    expect(flags(s)).toBe(IE);
    const q = op(ADDSD, pd(1), dw(2, 0xfff80000));
    expect(lo64(q)).toBe(0xfff8000000000002n);
    expect(flags(q)).toBe(0);
  });

  it('∞ − ∞ gives the default NaN and IE', () => {
    const s = op(SUBSD, pd(Infinity), pd(Infinity));
    expect(lo64(s)).toBe(0xfff8000000000000n);
    expect(flags(s)).toBe(IE);
  });

  it('a finite number over zero is a signed infinity with ZE; 0/0 is invalid; ∞/0 raises nothing', () => {
    const z = op(DIVSD, pd(-2), pd(0));
    expect(lanesF64(z.getXmm(0))[0]).toBe(-Infinity);
    expect(flags(z)).toBe(ZE);
    const nan = op(DIVSD, pd(0), pd(-0));
    expect(lo64(nan)).toBe(0xfff8000000000000n);
    expect(flags(nan)).toBe(IE);
    expect(flags(op(DIVSD, pd(Infinity), pd(0)))).toBe(0);
  });

  it('a denormal divided by zero reports ZE but not DE, which ZE outranks', () => {
    expect(flags(op(DIVSD, pd(5e-324), pd(0)))).toBe(ZE);
  });

  it('√−1 is the default NaN with IE; √−0 is −0', () => {
    const s = op(SQRTSD, pd(0), pd(-1));
    expect(lo64(s)).toBe(0xfff8000000000000n);
    expect(flags(s)).toBe(IE);
    expect(lo64(op(SQRTSD, pd(0), pd(-0)))).toBe(0x8000000000000000n);
  });
});

describe('underflow, overflow and the denormal controls', () => {
  const MIN = 2 ** -1022;

  it('a tiny inexact result sets UE and PE and rounds to the nearest denormal', () => {
    const s = op(MULSD, pd(MIN * (1 + 2 ** -52)), pd(0.5));
    expect(lo64(s)).toBe(0x0008000000000000n);
    expect(flags(s)).toBe(UE | PE);
  });

  it('FTZ returns a signed zero for a tiny result and reports UE and PE', () => {
    const s = op(MULSD, pd(-MIN * (1 + 2 ** -52)), pd(0.5), MASKS | FTZ);
    expect(lo64(s)).toBe(0x8000000000000000n);
    expect(flags(s)).toBe(UE | PE);
  });

  it('a tiny exact result raises nothing while underflow is masked', () => {
    const s = op(MULSD, pd(MIN), pd(0.5));
    expect(lanesF64(s.getXmm(0))[0]).toBe(MIN / 2);
    expect(flags(s)).toBe(0);
  });

  it('a denormal operand raises DE; with DAZ it counts as zero and raises nothing', () => {
    const d = op(ADDSD, pd(5e-324), pd(1));
    expect(flags(d)).toBe(DE | PE);
    const z = op(ADDSD, pd(5e-324), pd(1), MASKS | DAZ);
    expect(lanesF64(z.getXmm(0))[0]).toBe(1);
    expect(flags(z)).toBe(0);
  });

  it('overflow gives ∞ when rounding to nearest and the largest finite number when rounding toward zero', () => {
    const n = op(MULSD, pd(Number.MAX_VALUE), pd(2));
    expect(lanesF64(n.getXmm(0))[0]).toBe(Infinity);
    expect(flags(n)).toBe(OE | PE);
    const z = op(MULSD, pd(-Number.MAX_VALUE), pd(2), rc(3));
    expect(lanesF64(z.getXmm(0))[0]).toBe(-Number.MAX_VALUE);
  });

  it('binary32 overflow rounding up from the largest float gives ∞', () => {
    const s = op([0xf3, 0x0f, 0x58, 0xc1], ps(3.4028234663852886e38), ps(1e30), rc(2));
    expect(lanesF32(s.getXmm(0))[0]).toBe(Infinity);
    expect(flags(s)).toBe(OE | PE);
  });
});

describe('unmasked exceptions', () => {
  it('an unmasked ZE raises #XM with the destination unchanged and ZE set', () => {
    const s = op(DIVSD, pd(1, 5), pd(0), MASKS & ~0x200);
    expect(vector(s)).toBe(19);
    expect(lanesF64(s.getXmm(0))).toEqual([1, 5]);
    expect(flags(s)).toBe(ZE);
  });

  it('an unmasked PE raises #XM after computing, destination unchanged', () => {
    const s = op([0x66, 0x0f, 0x5e, 0xc1], pd(1, 1), pd(3, 1), MASKS & ~0x1000);
    expect(vector(s)).toBe(19);
    expect(lanesF64(s.getXmm(0))).toEqual([1, 1]);
    expect(flags(s)).toBe(PE);
  });

  it('an unmasked pre-computation exception suppresses the post-computation flags of other elements', () => {
    const s = op([0x66, 0x0f, 0x5e, 0xc1], pd(1, 1), pd(0, 3), MASKS & ~0x200);
    expect(vector(s)).toBe(19);
    expect(flags(s)).toBe(ZE);
  });
});

describe('min, max and compares', () => {
  const MINSD = [0xf2, 0x0f, 0x5d, 0xc1];
  it('minsd returns the second operand for a NaN on either side (with IE) and for two zeros', () => {
    const a = op(MINSD, pd(NaN), pd(1));
    expect(lanesF64(a.getXmm(0))[0]).toBe(1);
    expect(flags(a)).toBe(IE);
    expect(lo64(op(MINSD, pd(1), dw(0, 0x7ff00001)))).toBe(0x7ff0000100000000n);
    expect(lo64(op(MINSD, pd(-0), pd(0)))).toBe(0n);
    expect(lo64(op(MINSD, pd(0), pd(-0)))).toBe(0x8000000000000000n);
    expect(lanesF64(op([0xf2, 0x0f, 0x5f, 0xc1], pd(2), pd(-3)).getXmm(0))[0]).toBe(2);
  });

  it('cmpps computes the eight predicates with NaN unordered', () => {
    const a = ps(1, NaN, 2, 1), b = ps(1, 1, 1, 2);
    const want = [
      [1, 0, 0, 0], [0, 0, 0, 1], [1, 0, 0, 1], [0, 1, 0, 0],
      [0, 1, 1, 1], [1, 1, 1, 0], [0, 1, 1, 0], [1, 0, 1, 1],
    ];
    for (let p = 0; p < 8; p++) {
      const s = op([0x0f, 0xc2, 0xc1, p], a, b);
      expect(lanesU32(s.getXmm(0)).map((v) => (v === 0xffffffff ? 1 : v)), `predicate ${p}`).toEqual(want[p]);
      // Only the signalling predicates (LT LE NLT NLE) raise IE for a QNaN.
      expect(flags(s), `predicate ${p}`).toBe([1, 2, 5, 6].includes(p) ? IE : 0);
    }
  });

  it('comisd sets ZF PF CF by the order and clears OF SF AF', () => {
    const cases: [number, number, number][] = [[1, 2, F.CF], [2, 1, 0], [2, 2, F.ZF], [NaN, 2, F.ZF | F.PF | F.CF]];
    for (const [a, b, want] of cases) {
      const s = run([0x66, 0x0f, 0x2f, 0xc1], (s) => { s.setXmm(0, pd(a)); s.setXmm(1, pd(b)); s.cpu.setFlags(0xfff); });
      expect(s.cpu.getFlags() & (F.ARITH), `${a} vs ${b}`).toBe(want);
    }
  });

  it('ucomisd signals IE only for an SNaN, comisd for a QNaN too', () => {
    const q = dw(0, 0x7ff80000), sn = dw(0, 0x7ff00001);
    expect(flags(op([0x66, 0x0f, 0x2e, 0xc1], q, pd(1)))).toBe(0);
    expect(flags(op([0x66, 0x0f, 0x2e, 0xc1], sn, pd(1)))).toBe(IE);
    expect(flags(op([0x66, 0x0f, 0x2f, 0xc1], q, pd(1)))).toBe(IE);
  });
});

describe('approximations and bitwise operations', () => {
  it('rcpps and rsqrtps stay within 1.5·2^-12 relative error', () => {
    const xs = [1, 3, 0.7, 12345.678];
    const r = lanesF32(op([0x0f, 0x53, 0xc1], 0n, ps(...(xs as [number, number, number, number]))).getXmm(0));
    const q = lanesF32(op([0x0f, 0x52, 0xc1], 0n, ps(...(xs as [number, number, number, number]))).getXmm(0));
    xs.forEach((x, k) => {
      expect(Math.abs(r[k] * x - 1)).toBeLessThanOrEqual(1.5 * 2 ** -12);
      expect(Math.abs(q[k] * Math.sqrt(x) - 1)).toBeLessThanOrEqual(1.5 * 2 ** -12);
    });
  });

  it('rcpss of ±0 is ±∞ and raises no flag', () => {
    const s = op([0xf3, 0x0f, 0x53, 0xc1], 0n, ps(-0));
    expect(lanesF32(s.getXmm(0))[0]).toBe(-Infinity);
    expect(flags(s)).toBe(0);
  });

  it('andnps computes (NOT a) AND b on the raw bits', () => {
    const s = op([0x0f, 0x55, 0xc1], dw(0x80000000, 0xffffffff, 0, 0x0f0f0f0f), dw(0xffc00001, 0x12345678, 0x7f800001, 0xffffffff));
    expect(s.getXmm(0)).toBe(dw(0x7fc00001, 0, 0x7f800001, 0xf0f0f0f0));
  });
});

describe('SSE3 and SSE4.1 floating point', () => {
  it('haddpd adds adjacent pairs of each operand; addsubps subtracts in even lanes', () => {
    expect(lanesF64(op([0x66, 0x0f, 0x7c, 0xc1], pd(1, 2), pd(10, 20)).getXmm(0))).toEqual([3, 30]);
    expect(lanesF32(op([0xf2, 0x0f, 0xd0, 0xc1], ps(1, 2, 3, 4), ps(1, 1, 1, 1)).getXmm(0))).toEqual([0, 3, 2, 5]);
  });

  it('dpps multiplies the lanes selected by imm8[7:4] and writes the sum to the lanes in imm8[3:0]', () => {
    const s = op([0x66, 0x0f, 0x3a, 0x40, 0xc1, 0xd5], ps(1, 2, 3, 4), ps(10, 20, 30, 40));
    expect(lanesF32(s.getXmm(0))).toEqual([10 + 90 + 160, 0, 10 + 90 + 160, 0]);
  });

  it('roundsd takes the mode from imm8 or from MXCSR, and imm8 bit 3 suppresses PE', () => {
    const r = (imm: number, x: number, mx = MASKS): Sandbox => op([0x66, 0x0f, 0x3a, 0x0b, 0xc1, imm], pd(0, 9), pd(x), mx);
    expect(lanesF64(r(0, 2.5).getXmm(0))).toEqual([2, 9]);
    expect(lanesF64(r(1, -2.5).getXmm(0))[0]).toBe(-3);
    expect(lanesF64(r(2, 2.1).getXmm(0))[0]).toBe(3);
    expect(lo64(r(3, -0.7))).toBe(bits64(-0));
    expect(lanesF64(r(4, 2.5, rc(2)).getXmm(0))[0]).toBe(3);
    expect(flags(r(0, 2.5))).toBe(PE);
    expect(flags(r(8, 2.5))).toBe(0);
  });

  it('roundss of an SNaN quiets it and raises IE', () => {
    const s = op([0x66, 0x0f, 0x3a, 0x0a, 0xc1, 0], 0n, dw(0xff800001));
    expect(lanesU32(s.getXmm(0))[0]).toBe(0xffc00001);
    expect(flags(s)).toBe(IE);
  });
});

import { describe, expect, it } from 'vitest';
import { R } from '../../emu/cpu/regs.js';
import type { Sandbox } from '../../emu/cpu/sandbox.js';
import { run, pd, ps, dw, lanesF64, lanesF32, lanesU32, poke, DATA } from './sse-helpers.js';

const IE = 1, DE = 2, OE = 8, PE = 32;
const MASKS = 0x1f80;
const rc = (mode: number): number => MASKS | (mode << 13);
const flags = (s: Sandbox): number => s.cpu.mxcsr & 0x3f;

function withGpr(code: number[], rax: bigint, mx = MASKS, xmm0 = 0n): Sandbox {
  return run(code, (s) => { s.setReg(R.AX, rax); s.cpu.mxcsr = mx; s.setXmm(0, xmm0); });
}
function fromXmm(code: number[], x: bigint, mx = MASKS): Sandbox {
  return run(code, (s) => { s.setReg(R.AX, 0x5555555555555555n); s.setXmm(1, x); s.cpu.mxcsr = mx; s.setXmm(0, -1n); });
}

describe('integer to float', () => {
  const CVTSI2SD_64 = [0xf2, 0x48, 0x0f, 0x2a, 0xc0];
  it('cvtsi2sd from a 64-bit register rounds 2^53+1 by MXCSR.RC and sets PE', () => {
    const n = withGpr(CVTSI2SD_64, 2n ** 53n + 1n);
    expect(lanesF64(n.getXmm(0))[0]).toBe(2 ** 53);
    expect(flags(n)).toBe(PE);
    expect(lanesF64(withGpr(CVTSI2SD_64, 2n ** 53n + 1n, rc(2)).getXmm(0))[0]).toBe(2 ** 53 + 2);
    expect(lanesF64(withGpr(CVTSI2SD_64, -(2n ** 63n)).getXmm(0))[0]).toBe(-(2 ** 63));
  });

  it('cvtsi2ss from a 32-bit register keeps the upper lanes and rounds 2^24+1', () => {
    const s = withGpr([0xf3, 0x0f, 0x2a, 0xc0], 16777217n, MASKS, ps(0, 2, 3, 4));
    expect(lanesF32(s.getXmm(0))).toEqual([16777216, 2, 3, 4]);
    expect(flags(s)).toBe(PE);
  });

  it('cvtsi2ss from a 64-bit register uses all 64 bits', () => {
    const s = withGpr([0xf3, 0x48, 0x0f, 0x2a, 0xc0], -(2n ** 40n) - 1n);
    expect(lanesF32(s.getXmm(0))[0]).toBe(-(2 ** 40));
  });

  it('cvtdq2ps rounds, cvtdq2pd is exact', () => {
    const s = fromXmm([0x0f, 0x5b, 0xc1], dw(16777217, 0xffffffff, 0x80000000, 7));
    expect(lanesF32(s.getXmm(0))).toEqual([16777216, -1, -2147483648, 7]);
    expect(flags(s)).toBe(PE);
    const d = fromXmm([0xf3, 0x0f, 0xe6, 0xc1], dw(0x7fffffff, 0x80000000, 5, 6));
    expect(lanesF64(d.getXmm(0))).toEqual([2147483647, -2147483648]);
    expect(flags(d)).toBe(0);
  });
});

describe('float to integer', () => {
  const CVTTSD2SI = [0xf2, 0x0f, 0x2c, 0xc1];
  const CVTSD2SI_64 = [0xf2, 0x48, 0x0f, 0x2d, 0xc1];

  it('cvttsd2si truncates toward zero and zero-extends the 32-bit result', () => {
    const s = fromXmm(CVTTSD2SI, pd(-1.9));
    expect(s.getReg(R.AX)).toBe(0xffffffffn);
    expect(flags(s)).toBe(PE);
    expect(fromXmm(CVTTSD2SI, pd(-2147483648)).getReg(R.AX)).toBe(0x80000000n);
  });

  it('what if the value does not fit: the integer indefinite 0x80000000 and IE', () => {
    for (const x of [2147483648, -2147483649, Infinity, NaN]) {
      const s = fromXmm(CVTTSD2SI, pd(x));
      expect(s.getReg(R.AX), String(x)).toBe(0x80000000n);
      expect(flags(s), String(x)).toBe(IE);
    }
  });

  it('cvtsd2si rounds by MXCSR.RC, ties to even', () => {
    expect(fromXmm(CVTSD2SI_64, pd(2.5)).getReg(R.AX)).toBe(2n);
    expect(fromXmm(CVTSD2SI_64, pd(3.5)).getReg(R.AX)).toBe(4n);
    expect(fromXmm(CVTSD2SI_64, pd(-2.5), rc(1)).getReg(R.AX)).toBe(-3n & 0xffffffffffffffffn);
    expect(fromXmm(CVTSD2SI_64, pd(-(2 ** 63))).getReg(R.AX)).toBe(0x8000000000000000n);
  });

  it('a 64-bit conversion out of range gives 0x8000000000000000', () => {
    const s = fromXmm(CVTSD2SI_64, pd(2 ** 63));
    expect(s.getReg(R.AX)).toBe(0x8000000000000000n);
    expect(flags(s)).toBe(IE);
  });

  it('cvtss2si of a large float is indefinite', () => {
    expect(fromXmm([0xf3, 0x0f, 0x2d, 0xc1], ps(1e10)).getReg(R.AX)).toBe(0x80000000n);
  });

  it('cvtps2dq converts each lane, NaN and overflow to the indefinite', () => {
    const s = fromXmm([0x66, 0x0f, 0x5b, 0xc1], ps(1.5, -1.5, NaN, 3e9));
    expect(lanesU32(s.getXmm(0))).toEqual([2, 0xfffffffe, 0x80000000, 0x80000000]);
    expect(flags(s)).toBe(IE | PE);
  });

  it('cvttpd2dq fills the low two dwords and zeroes the rest', () => {
    const s = fromXmm([0x66, 0x0f, 0xe6, 0xc1], pd(-7.9, 8.9));
    expect(lanesU32(s.getXmm(0))).toEqual([0xfffffff9, 8, 0, 0]);
  });
});

describe('float to float', () => {
  it('cvtsd2ss overflows to ∞ with OE and PE, keeping the upper lanes', () => {
    const s = run([0xf2, 0x0f, 0x5a, 0xc1], (s) => { s.setXmm(0, ps(0, 2, 3, 4)); s.setXmm(1, pd(1e300)); });
    expect(lanesF32(s.getXmm(0))).toEqual([Infinity, 2, 3, 4]);
    expect(flags(s)).toBe(OE | PE);
  });

  it('cvtsd2ss keeps the top of an SNaN payload and quiets it', () => {
    const s = fromXmm([0xf2, 0x0f, 0x5a, 0xc1], dw(0xe0000000, 0xfff00001));
    expect(lanesU32(s.getXmm(0))[0]).toBe(0xffc0000f);
    expect(flags(s)).toBe(IE);
  });

  it('cvtss2sd widens exactly, quiets an SNaN and reports a denormal source', () => {
    const n = fromXmm([0xf3, 0x0f, 0x5a, 0xc1], dw(0x7f800001));
    expect(n.getXmm(0) & 0xffffffffffffffffn).toBe(0x7ff8000020000000n);
    expect(flags(n)).toBe(IE);
    const d = fromXmm([0xf3, 0x0f, 0x5a, 0xc1], dw(1));
    expect(lanesF64(d.getXmm(0))[0]).toBe(2 ** -149);
    expect(flags(d)).toBe(DE);
  });

  it('cvtpd2ps zeroes the upper half; cvtps2pd reads the low two floats', () => {
    expect(lanesU32(fromXmm([0x66, 0x0f, 0x5a, 0xc1], pd(1.5, -2)).getXmm(0))).toEqual([0x3fc00000, 0xc0000000, 0, 0]);
    expect(lanesF64(fromXmm([0x0f, 0x5a, 0xc1], ps(0.5, -0, 9, 9)).getXmm(0))).toEqual([0.5, -0]);
  });
});

describe('MMX-register conversions', () => {
  it('cvtpi2ps from mm1 converts two ints, keeps the high lanes and enters MMX state', () => {
    const s = run([0x0f, 0x2a, 0xc1], (s) => {
      s.cpu.fpr[3] = 3; s.cpu.fpr[4] = -4;
      s.cpu.fsw = 5 << 11;
      s.setXmm(0, ps(9, 9, 7, 8));
    });
    expect(lanesF32(s.getXmm(0))).toEqual([3, -4, 7, 8]);
    expect(s.cpu.ftw).toBe(0);
    expect((s.cpu.fsw >> 11) & 7).toBe(0);
  });

  it('cvtpi2ps from memory does not touch the x87 state', () => {
    const s = run([0x0f, 0x2a, 0x00], (s) => { poke(s, DATA, [1, 0, 0, 0, 2, 0, 0, 0]); s.setReg(R.AX, BigInt(DATA)); });
    expect(lanesF32(s.getXmm(0)).slice(0, 2)).toEqual([1, 2]);
    expect(s.cpu.ftw).toBe(0xffff);
  });

  it('cvttps2pi writes mm0 and marks its x87 exponent all ones', () => {
    const s = run([0x0f, 0x2c, 0xc1], (s) => { s.setXmm(1, ps(-2.7, 1e20)); });
    expect([s.cpu.fpr[0] >>> 0, s.cpu.fpr[1] >>> 0, s.cpu.fpr[2]]).toEqual([0xfffffffe, 0x80000000, 0xffff]);
  });
});

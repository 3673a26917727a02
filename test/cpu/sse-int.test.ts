import { describe, expect, it } from 'vitest';
import { R } from '../../emu/cpu/regs.js';
import type { Sandbox } from '../../emu/cpu/sandbox.js';
import { run, vector, dw, lanesU32, poke, DATA } from './sse-helpers.js';

/** xmm0 ← op(xmm0, xmm1). */
function op(code: number[], a: bigint, b = 0n): bigint {
  return run(code, (s) => { s.setXmm(0, a); s.setXmm(1, b); }).getXmm(0);
}
/** An xmm value from 16-bit lanes (low first). */
function w(...v: number[]): bigint { return v.reduce((acc, x, k) => acc | (BigInt(x & 0xffff) << BigInt(16 * k)), 0n); }
/** An xmm value from bytes (low first). */
function b(...v: number[]): bigint { return v.reduce((acc, x, k) => acc | (BigInt(x & 0xff) << BigInt(8 * k)), 0n); }
function words(v: bigint): number[] { return Array.from({ length: 8 }, (_, k) => Number((v >> BigInt(16 * k)) & 0xffffn)); }
function bytes(v: bigint): number[] { return Array.from({ length: 16 }, (_, k) => Number((v >> BigInt(8 * k)) & 0xffn)); }

describe('saturating arithmetic and packs', () => {
  it('paddsb clamps at 127 and −128; paddusw at 65535; psubusb at 0', () => {
    expect(bytes(op([0x66, 0x0f, 0xec, 0xc1], b(127, -128, 5), b(1, -1, -10))).slice(0, 3)).toEqual([127, 0x80, 0xfb]);
    expect(words(op([0x66, 0x0f, 0xdd, 0xc1], w(65535, 1), w(1, 2))).slice(0, 2)).toEqual([65535, 3]);
    expect(bytes(op([0x66, 0x0f, 0xd8, 0xc1], b(0, 200), b(1, 100))).slice(0, 2)).toEqual([0, 100]);
  });

  it('packsswb and packuswb saturate signed words into bytes, first operand first', () => {
    expect(bytes(op([0x66, 0x0f, 0x63, 0xc1], w(300, -300, 5, -5, 0, 0, 0, 0), w(1, 2)))).toEqual(
      [127, 0x80, 5, 0xfb, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 0, 0]);
    expect(bytes(op([0x66, 0x0f, 0x67, 0xc1], w(300, -300, 255, 0x8000), 0n)).slice(0, 4)).toEqual([255, 0, 255, 0]);
  });

  it('packssdw and packusdw saturate dwords into words', () => {
    expect(words(op([0x66, 0x0f, 0x6b, 0xc1], dw(70000, 0xfffe0000, 3, 4), dw(5)))).toEqual([32767, 0x8000, 3, 4, 5, 0, 0, 0]);
    expect(words(op([0x66, 0x0f, 0x38, 0x2b, 0xc1], dw(70000, 0xffffffff, 3, 4), 0n)).slice(0, 4)).toEqual([65535, 0, 3, 4]);
  });
});

describe('wide arithmetic', () => {
  it('paddq carries from the low dword into the high dword; psubq borrows', () => {
    expect(op([0x66, 0x0f, 0xd4, 0xc1], dw(0xffffffff, 0, 0xffffffff, 0xffffffff), dw(1, 0, 1, 0))).toBe(dw(0, 1, 0, 0));
    expect(op([0x66, 0x0f, 0xfb, 0xc1], dw(0, 1), dw(1, 0))).toBe(dw(0xffffffff, 0));
  });

  it('pmuludq forms the full 64-bit product of the even dwords; pmuldq the signed one', () => {
    expect(op([0x66, 0x0f, 0xf4, 0xc1], dw(0xffffffff, 7, 3, 7), dw(0xffffffff, 7, 5, 7))).toBe(dw(1, 0xfffffffe, 15, 0));
    expect(op([0x66, 0x0f, 0x38, 0x28, 0xc1], dw(0xffffffff, 0, 0x80000000, 0), dw(5, 0, 0x80000000, 0))).toBe(dw(0xfffffffb, 0xffffffff, 0, 0x40000000));
  });

  it('pmaddwd of two (−32768·−32768) products wraps to 0x80000000', () => {
    expect(lanesU32(op([0x66, 0x0f, 0xf5, 0xc1], w(-32768, -32768, 2, 3), w(-32768, -32768, 4, 5))).slice(0, 2)).toEqual([0x80000000, 23]);
  });

  it('pmulhw and pmulhuw keep the high halves, signed and unsigned', () => {
    expect(words(op([0x66, 0x0f, 0xe5, 0xc1], w(-2, 0x4000), w(3, 0x4000))).slice(0, 2)).toEqual([0xffff, 0x1000]);
    expect(words(op([0x66, 0x0f, 0xe4, 0xc1], w(0xffff), w(0xffff)))[0]).toBe(0xfffe);
  });

  it('psadbw sums absolute byte differences into the low word of each qword', () => {
    expect(op([0x66, 0x0f, 0xf6, 0xc1], b(0, 255, 10, 0, 0, 0, 0, 0, 1), b(255, 0, 20, 0, 0, 0, 0, 0, 3))).toBe(dw(520, 0, 2, 0));
  });

  it('pavgb rounds halves up', () => {
    expect(bytes(op([0x66, 0x0f, 0xe0, 0xc1], b(1, 255, 0), b(2, 255, 0))).slice(0, 3)).toEqual([2, 255, 0]);
  });

  it('pcmpgtb compares signed bytes', () => {
    expect(bytes(op([0x66, 0x0f, 0x64, 0xc1], b(1, -1, 5), b(-1, 1, 5))).slice(0, 3)).toEqual([0xff, 0, 0]);
  });
});

describe('shifts', () => {
  it('a count of at least the element width zeroes logical shifts and fills arithmetic ones with the sign', () => {
    expect(op([0x66, 0x0f, 0xf1, 0xc1], w(0xffff, 1), dw(16))).toBe(0n);
    expect(words(op([0x66, 0x0f, 0x71, 0xe0, 200], w(0x8000, 0x7fff))).slice(0, 2)).toEqual([0xffff, 0]);
  });

  it('a shift count register with any high bits set counts as huge', () => {
    expect(op([0x66, 0x0f, 0xd3, 0xc1], dw(5, 5, 5, 5), dw(1, 1))).toBe(0n);
  });

  it('psllq and psrlq move bits across the dword boundary', () => {
    expect(op([0x66, 0x0f, 0x73, 0xf0, 4], dw(0xf0000000, 0, 1, 0))).toBe(dw(0, 0xf, 0x10, 0));
    expect(op([0x66, 0x0f, 0x73, 0xd0, 36], dw(0, 0xf0, 0, 0x80000000))).toBe(dw(0xf, 0, 0x08000000, 0));
  });

  it('pslldq and psrldq shift the register by bytes, 16 or more clearing it', () => {
    expect(op([0x66, 0x0f, 0x73, 0xf8, 3], b(1, 2, 3))).toBe(b(0, 0, 0, 1, 2, 3));
    expect(op([0x66, 0x0f, 0x73, 0xd8, 1], b(1, 2, 3))).toBe(b(2, 3));
    expect(op([0x66, 0x0f, 0x73, 0xd8, 16], -1n)).toBe(0n);
  });
});

describe('shuffles, unpacks and word access', () => {
  it('pshufd picks dwords by imm8; pshuflw and pshufhw shuffle one half and copy the other', () => {
    const src = w(0, 1, 2, 3, 4, 5, 6, 7);
    expect(op([0x66, 0x0f, 0x70, 0xc1, 0x1b], 0n, dw(10, 11, 12, 13))).toBe(dw(13, 12, 11, 10));
    expect(words(op([0xf2, 0x0f, 0x70, 0xc1, 0x1b], 0n, src))).toEqual([3, 2, 1, 0, 4, 5, 6, 7]);
    expect(words(op([0xf3, 0x0f, 0x70, 0xc1, 0x1b], 0n, src))).toEqual([0, 1, 2, 3, 7, 6, 5, 4]);
  });

  it('shufps takes the low pair from the destination and the high pair from the source', () => {
    expect(op([0x0f, 0xc6, 0xc1, 0b00_01_10_11], dw(0, 1, 2, 3), dw(4, 5, 6, 7))).toBe(dw(3, 2, 5, 4));
  });

  it('punpcklbw interleaves the low bytes; punpckhqdq joins the high qwords', () => {
    expect(bytes(op([0x66, 0x0f, 0x60, 0xc1], b(1, 2, 3), b(9, 8, 7))).slice(0, 6)).toEqual([1, 9, 2, 8, 3, 7]);
    expect(op([0x66, 0x0f, 0x6d, 0xc1], dw(1, 2, 3, 4), dw(5, 6, 7, 8))).toBe(dw(3, 4, 7, 8));
  });

  it('pinsrw and pextrw take the word index modulo eight and zero-extend', () => {
    const s = run([0x66, 0x0f, 0xc4, 0xc0, 0x0b], (s) => { s.setReg(R.AX, 0x12345678n); });
    expect(words(s.getXmm(0))).toEqual([0, 0, 0, 0x5678, 0, 0, 0, 0]);
    const e = run([0x66, 0x0f, 0xc5, 0xc1, 0x09], (s) => { s.setReg(R.AX, -1n); s.setXmm(1, w(0, 0xbeef)); });
    expect(e.getReg(R.AX)).toBe(0xbeefn);
  });
});

describe('MMX', () => {
  function mmx(code: number[], setup: (s: Sandbox) => void = () => {}): Sandbox {
    return run(code, (s) => { s.cpu.fpr.set([0x04030201, 0x08070605, 0, 0x01010101, 0x01010101, 0]); s.cpu.fsw = 3 << 11; setup(s); });
  }

  it('paddb mm0, mm1 writes mm0, sets its x87 exponent to all ones, TOP to 0 and every tag valid', () => {
    const s = mmx([0x0f, 0xfc, 0xc1]);
    expect([s.cpu.fpr[0], s.cpu.fpr[1], s.cpu.fpr[2]]).toEqual([0x05040302, 0x09080706, 0xffff]);
    expect(s.cpu.ftw).toBe(0);
    expect((s.cpu.fsw >> 11) & 7).toBe(0);
  });

  it('REX.R and REX.B do not reach mm8..15: they still name mm0 and mm1', () => {
    const s = mmx([0x45, 0x0f, 0xfc, 0xc1]);
    expect(s.cpu.fpr[0]).toBe(0x05040302);
  });

  it('emms empties every tag', () => {
    const s = run([0x0f, 0x77], (s) => { s.cpu.ftw = 0; });
    expect(s.cpu.ftw).toBe(0xffff);
  });

  it('movd eax, mm0 zero-extends and movq mm0, [rax] loads eight unaligned bytes', () => {
    expect(mmx([0x0f, 0x7e, 0xc0], (s) => s.setReg(R.AX, -1n)).getReg(R.AX)).toBe(0x04030201n);
    const s = mmx([0x0f, 0x6f, 0x00], (s) => { poke(s, DATA + 3, [9, 8, 7, 6, 5, 4, 3, 2]); s.setReg(R.AX, BigInt(DATA + 3)); });
    expect([s.cpu.fpr[0], s.cpu.fpr[1]]).toEqual([0x06070809, 0x02030405]);
  });

  it('pshufw, psadbw and pmuludq work on the 64-bit register', () => {
    expect(mmx([0x0f, 0x70, 0xc0, 0x1b]).cpu.fpr.slice(0, 2)).toEqual(new Int32Array([0x06050807, 0x02010403]));
    expect(mmx([0x0f, 0xf6, 0xc1]).cpu.fpr.slice(0, 2)).toEqual(new Int32Array([28, 0]));
    expect(mmx([0x0f, 0xf4, 0xc1]).cpu.fpr.slice(0, 2)).toEqual(new Int32Array([0x0a060301, 0x00040709]));
  });

  it('what if an x87 exception is pending: an MMX instruction raises #MF and changes nothing', () => {
    const s = mmx([0x0f, 0xfc, 0xc1], (s) => { s.cpu.fsw |= 0x81; s.cpu.ftw = 0xfff0; });
    expect(vector(s)).toBe(16);
    expect(s.cpu.ftw).toBe(0xfff0);
    expect(s.cpu.fpr[0]).toBe(0x04030201);
  });
});

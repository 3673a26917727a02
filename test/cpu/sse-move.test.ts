import { describe, expect, it } from 'vitest';
import { R } from '../../emu/cpu/regs.js';
import { run, vector, poke, peek, dw, ps, DATA, CODE } from './sse-helpers.js';

const BYTES16 = Array.from({ length: 16 }, (_, k) => 0x10 + k);
const WORDS16 = dw(0x13121110, 0x17161514, 0x1b1a1918, 0x1f1e1d1c);
const SNAN = 0x7f800001;

describe('whole-register moves', () => {
  it('movaps from a 16-byte aligned address loads all sixteen bytes', () => {
    const s = run([0x0f, 0x28, 0x00], (s) => { poke(s, DATA, BYTES16); s.setReg(R.AX, BigInt(DATA)); });
    expect(s.getXmm(0)).toBe(WORDS16);
  });

  it('what if movaps is given a misaligned address: #GP(0), xmm0 untouched, RIP on the instruction', () => {
    const s = run([0x0f, 0x28, 0x00], (s) => { s.setReg(R.AX, BigInt(DATA + 4)); s.setXmm(0, 7n); });
    expect(vector(s)).toBe(13);
    expect(s.faults[0].errorCode).toBe(0);
    expect(s.getXmm(0)).toBe(7n);
    expect(s.cpu.rip).toBe(CODE);
  });

  it('movups and movdqu accept a misaligned address', () => {
    for (const code of [[0x0f, 0x10, 0x00], [0xf3, 0x0f, 0x6f, 0x00]]) {
      const s = run(code, (s) => { poke(s, DATA + 4, BYTES16); s.setReg(R.AX, BigInt(DATA + 4)); });
      expect(s.faults).toEqual([]);
      expect(s.getXmm(0)).toBe(WORDS16);
    }
  });

  it('a misaligned movdqa store faults before writing anything', () => {
    const s = run([0x66, 0x0f, 0x7f, 0x00], (s) => { s.setReg(R.AX, BigInt(DATA + 8)); s.setXmm(0, -1n); });
    expect(vector(s)).toBe(13);
    expect(peek(s, DATA + 8, 16)).toEqual(new Array(16).fill(0));
  });

  it('movntps and movntdq are aligned stores', () => {
    const ok = run([0x0f, 0x2b, 0x00], (s) => { s.setReg(R.AX, BigInt(DATA)); s.setXmm(0, WORDS16); });
    expect(peek(ok, DATA, 16)).toEqual(BYTES16);
    const bad = run([0x66, 0x0f, 0xe7, 0x00], (s) => { s.setReg(R.AX, BigInt(DATA + 1)); });
    expect(vector(bad)).toBe(13);
  });

  it('a float move copies an SNaN bit for bit and raises no MXCSR flag', () => {
    const s = run([0x0f, 0x28, 0xc1], (s) => { s.setXmm(1, dw(SNAN, SNAN, 0xffc00001, 0)); });
    expect(s.getXmm(0)).toBe(dw(SNAN, SNAN, 0xffc00001, 0));
    expect(s.cpu.mxcsr).toBe(0x1f80);
  });

  it('lddqu loads from any address', () => {
    const s = run([0xf2, 0x0f, 0xf0, 0x00], (s) => { poke(s, DATA + 3, BYTES16); s.setReg(R.AX, BigInt(DATA + 3)); });
    expect(s.getXmm(0)).toBe(WORDS16);
  });

  it('movntdqa insists on alignment', () => {
    const s = run([0x66, 0x0f, 0x38, 0x2a, 0x00], (s) => { s.setReg(R.AX, BigInt(DATA + 8)); });
    expect(vector(s)).toBe(13);
  });
});

describe('scalar and half-register moves', () => {
  it('movss from memory zeroes the upper dwords; from a register it keeps them', () => {
    const mem = run([0xf3, 0x0f, 0x10, 0x00], (s) => { poke(s, DATA, [1, 2, 3, 4]); s.setReg(R.AX, BigInt(DATA)); s.setXmm(0, -1n); });
    expect(mem.getXmm(0)).toBe(0x04030201n);
    const reg = run([0xf3, 0x0f, 0x10, 0xc1], (s) => { s.setXmm(0, -1n); s.setXmm(1, dw(5, 6, 7, 8)); });
    expect(reg.getXmm(0)).toBe(dw(5, 0xffffffff, 0xffffffff, 0xffffffff));
  });

  it('movsd to memory stores only the low qword, at any alignment', () => {
    const s = run([0xf2, 0x0f, 0x11, 0x00], (s) => { s.setReg(R.AX, BigInt(DATA + 1)); s.setXmm(0, WORDS16); });
    expect(peek(s, DATA, 10)).toEqual([0, ...BYTES16.slice(0, 8), 0]);
  });

  it('movlps and movhps replace one qword of the register and keep the other', () => {
    const lo = run([0x0f, 0x12, 0x00], (s) => { poke(s, DATA, BYTES16); s.setReg(R.AX, BigInt(DATA)); s.setXmm(0, -1n); });
    expect(lo.getXmm(0)).toBe(dw(0x13121110, 0x17161514, 0xffffffff, 0xffffffff));
    const hi = run([0x66, 0x0f, 0x16, 0x00], (s) => { poke(s, DATA, BYTES16); s.setReg(R.AX, BigInt(DATA)); s.setXmm(0, -1n); });
    expect(hi.getXmm(0)).toBe(dw(0xffffffff, 0xffffffff, 0x13121110, 0x17161514));
  });

  it('movhps to memory stores the high qword', () => {
    const s = run([0x0f, 0x17, 0x00], (s) => { s.setReg(R.AX, BigInt(DATA)); s.setXmm(0, WORDS16); });
    expect(peek(s, DATA, 8)).toEqual(BYTES16.slice(8));
  });

  it('movhlps and movlhps move qwords between halves', () => {
    const hl = run([0x0f, 0x12, 0xc1], (s) => { s.setXmm(0, dw(1, 2, 3, 4)); s.setXmm(1, dw(5, 6, 7, 8)); });
    expect(hl.getXmm(0)).toBe(dw(7, 8, 3, 4));
    const lh = run([0x0f, 0x16, 0xc1], (s) => { s.setXmm(0, dw(1, 2, 3, 4)); s.setXmm(1, dw(5, 6, 7, 8)); });
    expect(lh.getXmm(0)).toBe(dw(1, 2, 5, 6));
  });

  it('movq xmm, xmm (F3 0F 7E) and movq xmm, xmm (66 0F D6) zero the high qword', () => {
    const a = run([0xf3, 0x0f, 0x7e, 0xc1], (s) => { s.setXmm(0, -1n); s.setXmm(1, dw(1, 2, 3, 4)); });
    expect(a.getXmm(0)).toBe(dw(1, 2));
    const b = run([0x66, 0x0f, 0xd6, 0xc8], (s) => { s.setXmm(0, -1n); s.setXmm(1, dw(1, 2, 3, 4)); });
    expect(b.getXmm(0)).toBe(dw(1, 2));
  });

  it('movddup duplicates an unaligned m64', () => {
    const s = run([0xf2, 0x0f, 0x12, 0x00], (s) => { poke(s, DATA + 8, BYTES16); s.setReg(R.AX, BigInt(DATA + 8)); });
    expect(s.getXmm(0)).toBe(dw(0x13121110, 0x17161514, 0x13121110, 0x17161514));
  });
});

describe('general registers and xmm', () => {
  it('movd xmm, r32 zero-extends into the whole register; REX.W makes it movq', () => {
    const d = run([0x66, 0x0f, 0x6e, 0xc0], (s) => { s.setReg(R.AX, 0x1122334455667788n); s.setXmm(0, -1n); });
    expect(d.getXmm(0)).toBe(0x55667788n);
    const q = run([0x66, 0x48, 0x0f, 0x6e, 0xc0], (s) => { s.setReg(R.AX, 0x1122334455667788n); s.setXmm(0, -1n); });
    expect(q.getXmm(0)).toBe(0x1122334455667788n);
  });

  it('movd r32, xmm zero-extends into the 64-bit register', () => {
    const s = run([0x66, 0x0f, 0x7e, 0xc0], (s) => { s.setReg(R.AX, -1n); s.setXmm(0, dw(0x89abcdef, 5)); });
    expect(s.getReg(R.AX)).toBe(0x89abcdefn);
  });

  it('movq m64, xmm with REX.W stores eight bytes', () => {
    const s = run([0x66, 0x48, 0x0f, 0x7e, 0x03], (s) => { s.setReg(R.BX, BigInt(DATA)); s.setXmm(0, WORDS16); });
    expect(peek(s, DATA, 9)).toEqual([...BYTES16.slice(0, 8), 0]);
  });

  it('movnti stores a 64-bit register with REX.W', () => {
    const s = run([0x48, 0x0f, 0xc3, 0x03], (s) => { s.setReg(R.BX, BigInt(DATA)); s.setReg(R.AX, 0x0807060504030201n); });
    expect(peek(s, DATA, 8)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it('movmskps and movmskpd collect the sign bits, of -0 and negative NaNs too', () => {
    const s = run([0x0f, 0x50, 0xc1], (s) => { s.setReg(R.AX, -1n); s.setXmm(1, ps(-0, 1, -Infinity, 2)); });
    expect(s.getReg(R.AX)).toBe(0b0101n);
    const d = run([0x66, 0x0f, 0x50, 0xc1], (s) => { s.setXmm(1, dw(0, 0xfff80000, 0, 0x7ff80000)); });
    expect(d.getReg(R.AX)).toBe(0b01n);
  });

  it('pmovmskb gathers the top bit of every byte, zero-extended', () => {
    const s = run([0x66, 0x48, 0x0f, 0xd7, 0xc1], (s) => { s.setReg(R.AX, -1n); s.setXmm(1, dw(0x80000080, 0, 0, 0xff000000)); });
    expect(s.getReg(R.AX)).toBe(0x8009n);
  });

  it('maskmovdqu writes only the bytes whose mask byte has its top bit set, at rdi', () => {
    const s = run([0x66, 0x0f, 0xf7, 0xc1], (s) => {
      poke(s, DATA, new Array(16).fill(0xee));
      s.setReg(R.DI, BigInt(DATA));
      s.setXmm(0, WORDS16);
      s.setXmm(1, dw(0x000080ff, 0, 0, 0x80000000));
    });
    const want = new Array(16).fill(0xee);
    want[0] = 0x10; want[1] = 0x11; want[15] = 0x1f;
    expect(peek(s, DATA, 16)).toEqual(want);
  });
});

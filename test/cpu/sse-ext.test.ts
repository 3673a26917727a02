import { describe, expect, it } from 'vitest';
import { R } from '../../emu/cpu/regs.js';
import { F } from '../../emu/cpu/flags.js';
import { cpuid, Leaf1Ecx, Leaf1Edx } from '../../emu/cpu/cpuid.js';
import { Sandbox } from '../../emu/cpu/sandbox.js';
import { run, vector, dw, pd, ps, lanesU32, lanesF64, poke, peek, DATA } from './sse-helpers.js';

function op(code: number[], a: bigint, b = 0n, setup: (s: Sandbox) => void = () => {}): Sandbox {
  return run(code, (s) => { s.setXmm(0, a); s.setXmm(1, b); setup(s); });
}
function b(...v: number[]): bigint { return v.reduce((acc, x, k) => acc | (BigInt(x & 0xff) << BigInt(8 * k)), 0n); }
function w(...v: number[]): bigint { return v.reduce((acc, x, k) => acc | (BigInt(x & 0xffff) << BigInt(16 * k)), 0n); }
function bytes(v: bigint): number[] { return Array.from({ length: 16 }, (_, k) => Number((v >> BigInt(8 * k)) & 0xffn)); }
function words(v: bigint): number[] { return Array.from({ length: 8 }, (_, k) => Number((v >> BigInt(16 * k)) & 0xffffn)); }
function str(s: string): bigint { return b(...Array.from(s, (c) => c.charCodeAt(0))); }

describe('SSSE3', () => {
  it('pshufb selects by the low four index bits and zeroes where the index byte has its top bit set', () => {
    const s = op([0x66, 0x0f, 0x38, 0x00, 0xc1], b(...Array.from({ length: 16 }, (_, k) => 100 + k)), b(15, 0x80, 0x13, 0xff));
    expect(bytes(s.getXmm(0)).slice(0, 4)).toEqual([115, 0, 103, 0]);
  });

  it('palignr shifts the pair right by bytes; 32 or more leaves zero', () => {
    expect(op([0x66, 0x0f, 0x3a, 0x0f, 0xc1, 4], dw(5, 6, 7, 8), dw(1, 2, 3, 4)).getXmm(0)).toBe(dw(2, 3, 4, 5));
    expect(op([0x66, 0x0f, 0x3a, 0x0f, 0xc1, 32], -1n, -1n).getXmm(0)).toBe(0n);
  });

  it('phaddw adds adjacent words of each operand; phaddsw saturates', () => {
    expect(words(op([0x66, 0x0f, 0x38, 0x01, 0xc1], w(1, 2, 3, 4, 5, 6, 7, 8), w(10, 20)).getXmm(0))).toEqual([3, 7, 11, 15, 30, 0, 0, 0]);
    expect(words(op([0x66, 0x0f, 0x38, 0x03, 0xc1], w(32767, 1, -32768, -1)).getXmm(0)).slice(0, 2)).toEqual([32767, 0x8000]);
  });

  it('pmaddubsw multiplies unsigned by signed bytes and saturates the pair sums', () => {
    expect(words(op([0x66, 0x0f, 0x38, 0x04, 0xc1], b(255, 255, 255, 1), b(127, 127, -128, 1)).getXmm(0)).slice(0, 2)).toEqual([32767, 0x8081]);
  });

  it('pmulhrsw rounds the scaled product; psignd negates, zeroes or keeps', () => {
    expect(words(op([0x66, 0x0f, 0x38, 0x0b, 0xc1], w(0x4000, -32768), w(0x4000, -32768)).getXmm(0)).slice(0, 2)).toEqual([0x2000, 0x8000]);
    expect(op([0x66, 0x0f, 0x38, 0x0a, 0xc1], dw(5, 5, 5, 0x80000000), dw(0xffffffff, 0, 9, 0xffffffff)).getXmm(0)).toBe(dw(0xfffffffb, 0, 5, 0x80000000));
  });

  it('pabsb of −128 is 0x80', () => {
    expect(bytes(op([0x66, 0x0f, 0x38, 0x1c, 0xc1], 0n, b(-128, -1, 5)).getXmm(0)).slice(0, 3)).toEqual([0x80, 1, 5]);
  });
});

describe('SSE4.1 integer and data movement', () => {
  it('pmovsxbw sign-extends eight bytes from an unaligned m64; pmovzxbd zero-extends four from m32', () => {
    const sx = run([0x66, 0x0f, 0x38, 0x20, 0x00], (s) => { poke(s, DATA + 1, [0xff, 1, 0x80, 0, 0, 0, 0, 0x7f]); s.setReg(R.AX, BigInt(DATA + 1)); });
    expect(words(sx.getXmm(0))).toEqual([0xffff, 1, 0xff80, 0, 0, 0, 0, 0x7f]);
    const zx = run([0x66, 0x0f, 0x38, 0x31, 0x00], (s) => { poke(s, DATA + 2, [0xff, 1, 0x80, 2]); s.setReg(R.AX, BigInt(DATA + 2)); });
    expect(zx.getXmm(0)).toBe(dw(0xff, 1, 0x80, 2));
  });

  it('ptest sets ZF when a AND b is zero and CF when (NOT a) AND b is zero, clearing the rest', () => {
    const t = (x: bigint, y: bigint): number => op([0x66, 0x0f, 0x38, 0x17, 0xc1], x, y, (s) => s.cpu.setFlags(0xfff)).cpu.getFlags() & F.ARITH;
    expect(t(dw(0xf0), dw(0x0f))).toBe(F.ZF);
    expect(t(dw(0xff), dw(0x0f))).toBe(F.CF);
    expect(t(dw(0xf0), dw(0x18))).toBe(0);
  });

  it('pblendvb and blendvpd choose by the top bits of the implicit xmm0', () => {
    const s = run([0x66, 0x0f, 0x38, 0x10, 0xca], (s) => { s.setXmm(0, b(0x80, 0x7f, 0xff)); s.setXmm(1, b(1, 2, 3, 4)); s.setXmm(2, b(9, 9, 9, 9)); });
    expect(bytes(s.getXmm(1)).slice(0, 4)).toEqual([9, 2, 9, 4]);
    const d = run([0x66, 0x0f, 0x38, 0x15, 0xca], (s) => { s.setXmm(0, dw(0, 0x80000000, 0xffffffff, 0x7fffffff)); s.setXmm(1, pd(1, 2)); s.setXmm(2, pd(3, 4)); });
    expect(lanesF64(d.getXmm(1))).toEqual([3, 2]);
  });

  it('pextrb zero-extends into the register and stores one byte to memory', () => {
    const r = op([0x66, 0x0f, 0x3a, 0x14, 0xc0, 0x12], b(0, 0, 0xfe), 0n, (s) => s.setReg(R.AX, -1n));
    expect(r.getReg(R.AX)).toBe(0xfen);
    const m = op([0x66, 0x0f, 0x3a, 0x14, 0x03, 2], b(0, 0, 0xfe), 0n, (s) => { s.setReg(R.BX, BigInt(DATA)); poke(s, DATA, [7, 7]); });
    expect(peek(m, DATA, 2)).toEqual([0xfe, 7]);
  });

  it('pinsrb takes the low byte of a 32-bit register: encoding 4 is esp, not ah', () => {
    const s = op([0x66, 0x0f, 0x3a, 0x20, 0xc4, 5], 0n, 0n, (s) => s.setReg(R.SP, 0x1234n));
    expect(bytes(s.getXmm(0))[5]).toBe(0x34);
  });

  it('pextrq and pinsrq need REX.W; extractps zero-extends its dword', () => {
    expect(op([0x66, 0x48, 0x0f, 0x3a, 0x16, 0xc0, 1], dw(1, 2, 3, 4)).getReg(R.AX)).toBe(0x0000000400000003n);
    expect(op([0x66, 0x48, 0x0f, 0x3a, 0x22, 0xc0, 1], 0n, 0n, (s) => s.setReg(R.AX, -2n)).getXmm(0)).toBe(dw(0, 0, 0xfffffffe, 0xffffffff));
    expect(op([0x66, 0x48, 0x0f, 0x3a, 0x17, 0xc0, 3], ps(0, 0, 0, -1), 0n, (s) => s.setReg(R.AX, -1n)).getReg(R.AX)).toBe(0xbf800000n);
  });

  it('insertps moves the chosen source dword, then zeroes the masked ones', () => {
    expect(op([0x66, 0x0f, 0x3a, 0x21, 0xc1, 0b11_01_0100], dw(1, 2, 3, 4), dw(5, 6, 7, 8)).getXmm(0)).toBe(dw(1, 8, 0, 4));
  });

  it('pminud, pmaxsb, pmulld and the qword compares', () => {
    expect(op([0x66, 0x0f, 0x38, 0x3b, 0xc1], dw(0xffffffff, 1), dw(2, 0xffffffff)).getXmm(0)).toBe(dw(2, 1));
    expect(bytes(op([0x66, 0x0f, 0x38, 0x3c, 0xc1], b(-1, 5), b(-2, -7)).getXmm(0)).slice(0, 2)).toEqual([0xff, 5]);
    expect(op([0x66, 0x0f, 0x38, 0x40, 0xc1], dw(0x10000, 3), dw(0x10000, 0xffffffff)).getXmm(0)).toBe(dw(0, 0xfffffffd));
    expect(op([0x66, 0x0f, 0x38, 0x37, 0xc1], dw(0, 0xffffffff, 1, 0), dw(0, 0, 0, 0)).getXmm(0)).toBe(dw(0, 0, 0xffffffff, 0xffffffff));
    expect(op([0x66, 0x0f, 0x38, 0x29, 0xc1], dw(1, 2, 3, 4), dw(1, 2, 3, 5)).getXmm(0)).toBe(dw(0xffffffff, 0xffffffff, 0, 0));
  });

  it('phminposuw finds the smallest word and its first index', () => {
    expect(op([0x66, 0x0f, 0x38, 0x41, 0xc1], -1n, w(9, 4, 7, 4, 8, 8, 8, 8)).getXmm(0)).toBe(dw(0x00010004));
  });

  it('mpsadbw compares the source block imm8[1:0] with eight sliding windows of the destination', () => {
    const s = op([0x66, 0x0f, 0x3a, 0x42, 0xc1, 0b001], b(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10), b(0, 0, 0, 0, 1, 1, 1, 1));
    expect(words(s.getXmm(0))).toEqual([4, 6, 10, 14, 18, 22, 26, 30]);
  });
});

describe('SSE4.2 string compares', () => {
  function cmpstr(imm: number, needle: bigint, hay: bigint, explicit?: [bigint, bigint], opcode = 0x63): Sandbox {
    return run([0x66, 0x0f, 0x3a, explicit ? opcode - 2 : opcode, 0xc1, imm], (s) => {
      s.setXmm(0, needle); s.setXmm(1, hay); s.setReg(R.CX, -1n);
      if (explicit) { s.setReg(R.AX, explicit[0]); s.setReg(R.DX, explicit[1]); }
    });
  }
  const flags = (s: Sandbox): number => s.cpu.getFlags() & F.ARITH;

  it('equal any finds the first byte of a set, as strcspn uses it', () => {
    const s = cmpstr(0x00, str('lo'), str('hello world'));
    expect(s.getReg(R.CX)).toBe(2n);
    expect(flags(s)).toBe(F.CF | F.ZF | F.SF);
  });

  it('equal ordered finds a substring, and a partial match at the end, as strstr uses it', () => {
    expect(cmpstr(0x0c, str('wor'), str('hello world')).getReg(R.CX)).toBe(6n);
    expect(cmpstr(0x0c, str('xyz'), str('0123456789abcdxy')).getReg(R.CX)).toBe(14n);
  });

  it('ranges with negative polarity finds the first byte outside a–z', () => {
    expect(cmpstr(0x04, str('az'), str('ABcd')).getReg(R.CX)).toBe(2n);
    expect(cmpstr(0x14, str('az'), str('abcD')).getReg(R.CX)).toBe(3n);
  });

  it('with no match the index is the element count and CF is clear', () => {
    const s = cmpstr(0x00, str('z'), str('0123456789abcdef'));
    expect(s.getReg(R.CX)).toBe(16n);
    expect(flags(s) & (F.CF | F.ZF)).toBe(0);
  });

  it('imm8 bit 6 reports the most significant match', () => {
    expect(cmpstr(0x40, str('l'), str('hello world')).getReg(R.CX)).toBe(9n);
  });

  it('explicit lengths take absolute values saturated to 16, so −3 means 3', () => {
    const s = cmpstr(0x08, str('abcX'), str('abcY'), [-3n, 100n]);
    // Equal each over the first three bytes, then forced false where only the string is valid.
    expect(s.getReg(R.CX)).toBe(0n);
    expect(flags(s) & (F.SF | F.ZF)).toBe(F.SF);
  });

  it('pcmpistrm with imm8 bit 6 writes a byte mask to xmm0', () => {
    const s = cmpstr(0x40, str('ab'), str('xaybz'), undefined, 0x62);
    expect(bytes(s.getXmm(0)).slice(0, 6)).toEqual([0, 0xff, 0, 0xff, 0, 0]);
  });

  it('word elements with signed ranges', () => {
    const s = cmpstr(0x07, w(-5, 5), w(-9, 3, 10), undefined, 0x63);
    expect(s.getReg(R.CX)).toBe(1n);
  });
});

describe('crc32', () => {
  it('computes CRC-32C: "123456789" checks to 0xE3069283', () => {
    const s = new Sandbox();
    poke(s, DATA, Array.from('123456789', (c) => c.charCodeAt(0)));
    // mov rcx,[rbx]; crc32 rax,rcx; movzx ecx,byte [rbx+8]; crc32 eax,cl
    s.load(0x1000, [0x48, 0x8b, 0x0b, 0xf2, 0x48, 0x0f, 0x38, 0xf1, 0xc1, 0x0f, 0xb6, 0x4b, 0x08, 0xf2, 0x0f, 0x38, 0xf0, 0xc1]);
    s.setReg(R.BX, BigInt(DATA));
    s.setReg(R.AX, 0xffffffffn);
    s.step(4);
    expect(s.faults).toEqual([]);
    expect((~Number(s.getReg(R.AX))) >>> 0).toBe(0xe3069283);
  });

  it('shares 0F 38 F1 with movbe: without F2 a memory form is movbe, a register form #UD', () => {
    const mb = run([0x0f, 0x38, 0xf1, 0x03], (s) => { s.setReg(R.BX, BigInt(DATA)); s.setReg(R.AX, 0x11223344n); });
    expect(peek(mb, DATA, 4)).toEqual([0x11, 0x22, 0x33, 0x44]);
    expect(vector(run([0x0f, 0x38, 0xf1, 0xc1]))).toBe(6);
  });

  it('the 16-bit form takes 66 with F2 and zero-extends the 32-bit result', () => {
    const s = run([0x66, 0xf2, 0x0f, 0x38, 0xf1, 0xc1], (s) => { s.setReg(R.AX, 0xffffffff00000000n); s.setReg(R.CX, 0xffffn); });
    expect(s.getReg(R.AX) >> 32n).toBe(0n);
    expect(s.faults).toEqual([]);
  });
});

describe('CPUID', () => {
  it('advertises FPU, MMX, FXSR, SSE, SSE2, SSE3, SSSE3, SSE4.1 and SSE4.2', () => {
    const [, , ecx, edx] = cpuid(1, 0, 0);
    const want = Leaf1Edx.FPU | Leaf1Edx.MMX | Leaf1Edx.FXSR | Leaf1Edx.SSE | Leaf1Edx.SSE2;
    expect(edx & want).toBe(want);
    const wantC = Leaf1Ecx.SSE3 | Leaf1Ecx.SSSE3 | Leaf1Ecx.SSE41 | Leaf1Ecx.SSE42;
    expect(ecx & wantC).toBe(wantC);
  });
});

describe('the xmm register file', () => {
  it('a scalar result is observable through the integer lanes', () => {
    expect(lanesU32(op([0xf3, 0x0f, 0x58, 0xc1], ps(1), ps(1)).getXmm(0))[0]).toBe(0x40000000);
  });
});

/**
 * x87 instructions end to end in the interpreter. Expected 80-bit images come
 * from BigInt arithmetic in x87-helpers.ts or were recorded with long double
 * programs on an x86-64 host (noted where so).
 */
import { describe, expect, it } from 'vitest';
import { R } from '../../emu/cpu/regs.js';
import { F } from '../../emu/cpu/flags.js';
import { cpuid } from '../../emu/cpu/cpuid.js';
import {
  X87, mem, reg, refDiv, FLD_M64, FSTP_M64, FST_M64, FLD_M32, FSTP_M32, FLD_M80, FSTP_M80, FILD_M64, FILD_M32,
  FISTP_M64, FISTTP_M64, FIST_M32, FLDCW, FNSTCW, FMUL_M64, FDIV_M64, FNSTSW_AX, FNINIT, FNCLEX, FWAIT,
  FRNDINT, FLD1, FLDZ, FLDPI, FPREM, FXAM, FDIVP,
} from './x87-helpers.js';

const IE = 1, ZE = 4, PE = 0x20, SF = 0x40, ES = 0x80, C0 = 0x100, C1 = 0x200, C2 = 0x400, C3 = 0x4000, B = 0x8000;
const bitsOf = (d: number): bigint => { const v = new DataView(new ArrayBuffer(8)); v.setFloat64(0, d); return v.getBigUint64(0); };

describe('x87 loads and stores', () => {
  it('fld m64 → fstp m80 → fld m80 → fstp m64 returns every class of double unchanged', () => {
    const cases: [bigint, string][] = [
      [bitsOf(1), '3fff 8000000000000000'],
      [bitsOf(-0.1), 'bffb ccccccccccccd000'],
      [bitsOf(Number.MAX_VALUE), '43fe fffffffffffff800'],
      [bitsOf(Number.MIN_VALUE), '3bcd 8000000000000000'],
      [bitsOf(2.2250738585072009e-308), '3c00 fffffffffffff000'],
      [bitsOf(-0), '8000 0000000000000000'],
      [bitsOf(Infinity), '7fff 8000000000000000'],
      [0xfff8000000000000n, 'ffff c000000000000000'],
      [0x7ff8000000000123n, '7fff c000000000091800'],
    ];
    for (const [bits, image] of cases) {
      const x = new X87();
      x.setU64(0, bits);
      expect(x.run(FLD_M64(0), FSTP_M80(16), FLD_M80(16), FSTP_M64(32))).toEqual([]);
      expect(x.hex80(16)).toBe(image);
      expect(x.u64(32)).toBe(bits);
    }
  });

  it('fld m64 of a signaling NaN raises IE and loads it quieted', () => {
    const x = new X87();
    x.setU64(0, 0x7ff0000000000001n);
    x.run(FLD_M64(0), FSTP_M64(8));
    expect(x.u64(8)).toBe(0x7ff8000000000001n);
    expect(x.fsw & (IE | SF)).toBe(IE);
  });

  it('fst m64 rounds per RC: 1 + 2^-63 goes up only under round-up, with PE and C1', () => {
    for (const [rc, expected, c1] of [[0, 0x3ff0000000000000n, 0], [1, 0x3ff0000000000000n, 0], [2, 0x3ff0000000000001n, C1], [3, 0x3ff0000000000000n, 0]] as const) {
      const x = new X87();
      x.set80(0, 0x3fff, 0x8000000000000001n);
      x.setU16(32, 0x37f | (rc << 10));
      x.run(FLDCW(32), FLD_M80(0), FST_M64(16));
      expect(x.u64(16)).toBe(expected);
      expect(x.fsw & (PE | C1)).toBe(PE | c1);
    }
  });

  it('fst m32 of a value above FLT_MAX overflows to infinity (masked OE)', () => {
    const x = new X87();
    x.setF64(0, 1e39);
    x.run(FLD_M64(0), FSTP_M32(8));
    expect(x.u32(8)).toBe(0x7f800000n);
    expect(x.fsw & 0x3f).toBe(0x08 | PE);
  });

  it('fild m64 is exact for every 64-bit integer and fistp m64 gives it back', () => {
    for (const v of [0n, 1n, -1n, (1n << 63n) - 1n, -(1n << 63n), 0x123456789abcdef1n, -0x7edcba9876543211n]) {
      const x = new X87();
      x.setU64(0, v);
      x.run(FILD_M64(0), FSTP_M80(16), FLD_M80(16), FISTP_M64(32));
      expect(BigInt.asIntN(64, x.u64(32))).toBe(v);
    }
    const x = new X87();
    x.setU64(0, (1n << 63n) - 1n);
    x.run(FILD_M64(0), FSTP_M80(16));
    expect(x.hex80(16)).toBe('403d fffffffffffffffe');
  });

  it('fistp stores the integer indefinite on overflow and on NaN', () => {
    const x = new X87();
    x.setF64(0, 3e9);
    x.setU64(8, 0x7ff8000000000000n);
    x.run(FLD_M64(0), FIST_M32(16), FLD_M64(8), FISTP_M64(24));
    expect(x.u32(16)).toBe(0x80000000n);
    expect(x.u64(24)).toBe(0x8000000000000000n);
    expect(x.fsw & IE).toBe(IE);
  });

  it('fisttp truncates whatever RC says; fistp follows RC', () => {
    const x = new X87();
    x.setF64(0, -2.75);
    x.run(FLD_M64(0), FISTTP_M64(8), FLD_M64(0), FISTP_M64(16));
    expect(BigInt.asIntN(64, x.u64(8))).toBe(-2n);
    expect(BigInt.asIntN(64, x.u64(16))).toBe(-3n);
  });

  it('fild/fmul/fistp: 123456789 × 1000 through the stack', () => {
    const x = new X87();
    x.setU64(0, 123456789n);
    x.setF64(8, 1000);
    x.run(FILD_M64(0), FMUL_M64(8), FISTP_M64(16));
    expect(x.u64(16)).toBe(123456789000n);
    expect(x.top).toBe(0);
    expect(x.s.cpu.ftw).toBe(0xffff);
  });

  it('fbstp then fbld round-trips 18 digits and the sign', () => {
    const x = new X87();
    x.setU64(0, -987654321987654321n);
    x.run(FILD_M64(0), mem(0xdf, 6, 16), mem(0xdf, 4, 16), FISTP_M64(32));
    expect(x.hex80(16)).toBe('8098 7654321987654321');
    expect(BigInt.asIntN(64, x.u64(32))).toBe(-987654321987654321n);
  });

  it('the constants are rounded per RC: fldpi ends in …c235 to nearest, …c234 toward zero', () => {
    const images: string[] = [];
    for (const rc of [0, 1, 2, 3]) {
      const x = new X87();
      x.setU16(32, 0x37f | (rc << 10));
      x.run(FLDCW(32), FLDPI, FSTP_M80(0));
      images.push(x.hex80(0));
      expect(x.fsw & PE).toBe(0);
    }
    expect(images).toEqual(['4000 c90fdaa22168c235', '4000 c90fdaa22168c234', '4000 c90fdaa22168c235', '4000 c90fdaa22168c234']);
  });
});

describe('x87 arithmetic sequences', () => {
  it('repeated division by 10 matches exact BigInt rounding at every step', () => {
    const x = new X87();
    x.setU64(0, 1234567890123456789n);
    x.setF64(8, 10);
    x.run(FILD_M64(0));
    let num = 1234567890123456789n, den = 1n;
    for (let step = 0; step < 25; step++) {
      x.run(FDIV_M64(8), FST_M64(16), reg(0xd9, 0, 0), FSTP_M80(32));
      // The reference divides the previously rounded value, as the FPU does.
      const want = refDiv(num, den * 10n);
      expect(x.hex80(32)).toBe(want);
      const e = parseInt(want.slice(0, 4), 16) - 16383 - 63;
      num = BigInt('0x' + want.slice(5));
      den = 1n;
      if (e >= 0) num <<= BigInt(e); else den <<= BigInt(-e);
    }
  });

  it('frndint rounds ±2.5, 3.5 and -0.5 under each RC', () => {
    const inputs = [2.5, -2.5, 3.5, -0.5, 1.25];
    const want: Record<number, number[]> = {
      0: [2, -2, 4, -0, 1],
      1: [2, -3, 3, -1, 1],
      2: [3, -2, 4, -0, 2],
      3: [2, -2, 3, -0, 1],
    };
    for (const rc of [0, 1, 2, 3]) {
      const got = inputs.map((v) => {
        const x = new X87();
        x.setF64(0, v);
        x.setU16(32, 0x37f | (rc << 10));
        x.run(FLDCW(32), FLD_M64(0), FRNDINT, FSTP_M64(8));
        expect(x.fsw & PE).toBe(PE);
        return x.f64(8);
      });
      expect(got).toEqual(want[rc]);
    }
  });

  it('precision control 24 rounds fdiv to single precision but keeps the exponent range', () => {
    const x = new X87();
    x.setU16(32, 0x07f);
    x.setF64(0, 1);
    x.setF64(8, 3);
    x.run(FLDCW(32), FLD_M64(0), FDIV_M64(8), FSTP_M80(16));
    expect(x.hex80(16)).toBe('3ffd aaaaab0000000000');
  });

  it('the DC register forms are reversed: DC E8+i is fsub ST(i), ST0', () => {
    const x = new X87();
    x.setF64(0, 10);
    x.setF64(8, 3);
    // fld 10; fld 3; fsub st(1), st(0) → st1 = 10 - 3; fstp; fstp m64
    x.run(FLD_M64(0), FLD_M64(8), reg(0xdc, 5, 1), reg(0xdd, 3, 0), FSTP_M64(16));
    expect(x.f64(16)).toBe(7);
    x.run(FLD_M64(0), FLD_M64(8), reg(0xdc, 4, 1), reg(0xdd, 3, 0), FSTP_M64(16));
    expect(x.f64(16)).toBe(-7);
  });

  it('fprem reduces 2^200 mod 3 exactly through partial steps (C2) to 1', () => {
    const x = new X87();
    x.set80(0, 0x3fff + 200, 1n << 63n);
    x.setF64(16, 3);
    x.run(FLD_M64(16), FLD_M80(0));
    let steps = 0;
    do { x.run(FPREM); steps++; } while (x.fsw & C2);
    // As on the host: partial remainders 2^160, 2^96, 2^32, then 2^32 = 3 × 0x55555555 + 1,
    // whose quotient's low bits 101 land in C0 C3 C1.
    expect(steps).toBe(4);
    expect(x.fsw & (C0 | C3 | C1)).toBe(C0 | C1);
    x.run(FSTP_M64(32));
    expect(x.f64(32)).toBe(1);
  });

  it('fyl2x, f2xm1, fsin, fcos, fpatan and fsqrt are close to the true values', () => {
    const x = new X87();
    x.setF64(0, 8);
    x.setF64(8, 0.5);
    x.setF64(16, 1);
    x.run(FLD1, FLD_M64(0), [0xd9, 0xf1], FSTP_M64(24)); // 1 × log2(8)
    expect(x.f64(24)).toBe(3);
    x.run(FLD_M64(8), [0xd9, 0xf0], FSTP_M64(24)); // 2^0.5 - 1
    expect(x.f64(24)).toBeCloseTo(Math.SQRT2 - 1, 15);
    x.run(FLD_M64(16), [0xd9, 0xfe], FSTP_M64(24));
    expect(x.f64(24)).toBeCloseTo(Math.sin(1), 15);
    x.run(FLD_M64(16), [0xd9, 0xff], FSTP_M64(24));
    expect(x.f64(24)).toBeCloseTo(Math.cos(1), 15);
    x.run(FLD_M64(16), FLD1, [0xd9, 0xf3], FSTP_M64(24)); // atan2(1, 1)
    expect(x.f64(24)).toBeCloseTo(Math.PI / 4, 15);
    x.run(FLD_M64(0), [0xd9, 0xfa], FSTP_M80(24));
    expect(x.hex80(24)).toBe('4000 b504f333f9de6484');
    expect(x.top).toBe(0);
  });

  it('fsin of 2^63 sets C2 and leaves the operand', () => {
    const x = new X87();
    x.set80(0, 0x3fff + 63, 1n << 63n);
    x.run(FLD_M80(0), [0xd9, 0xfe], FSTP_M80(16));
    expect(x.fsw & C2).toBe(C2);
    expect(x.hex80(16)).toBe('403e 8000000000000000');
  });
});

describe('x87 comparisons and classification', () => {
  it('fcomi sets ZF PF CF like an unsigned compare and clears OF SF AF', () => {
    const cases: [number, number, number][] = [[2, 1, 0], [1, 2, F.CF], [1, 1, F.ZF]];
    for (const [a, b, flags] of cases) {
      const x = new X87();
      x.setF64(0, b);
      x.setF64(8, a);
      x.s.cpu.setFlags(F.OF | F.SF | F.AF);
      x.run(FLD_M64(0), FLD_M64(8), reg(0xdb, 6, 1));
      expect(x.s.cpu.getFlags() & F.ARITH).toBe(flags);
    }
  });

  it('fucomip with a QNaN is unordered (ZF PF CF) without IE; fcomip raises IE', () => {
    const x = new X87();
    x.setU64(0, 0x7ff8000000000000n);
    x.run(FLD1, FLD_M64(0), reg(0xdf, 5, 1));
    expect(x.s.cpu.getFlags() & F.ARITH).toBe(F.ZF | F.PF | F.CF);
    expect(x.fsw & IE).toBe(0);
    x.run(FLD_M64(0), reg(0xdf, 6, 1));
    expect(x.fsw & IE).toBe(IE);
    expect(x.top).toBe(7);
  });

  it('fcompp sets C3 C2 C0 and pops twice; fnstsw ax copies FSW', () => {
    const x = new X87();
    x.setF64(0, 5);
    x.run(FLD1, FLD_M64(0), [0xde, 0xd9], FNSTSW_AX);
    expect(Number(x.s.getReg(R.AX)) & (C3 | C2 | C0)).toBe(0);
    expect(x.top).toBe(0);
    x.run(FLD_M64(0), FLD1, [0xde, 0xd9], FNSTSW_AX);
    expect(Number(x.s.getReg(R.AX)) & (C3 | C2 | C0)).toBe(C0);
  });

  it('fxam reports empty, zero, normal, infinity, NaN and denormal classes with the sign in C1', () => {
    const classes: [number[][], number][] = [
      [[], C3 | C0],
      [[FLDZ], C3],
      [[FLD1, [0xd9, 0xe0]], C2 | C1],
    ];
    for (const [setup, cc] of classes) {
      const x = new X87();
      x.run(...setup, FXAM);
      expect(x.fsw & (C3 | C2 | C1 | C0)).toBe(cc);
    }
    const x = new X87();
    x.set80(0, 0, 1n);
    x.run(FLD_M80(0), FXAM);
    expect(x.fsw & (C3 | C2 | C0)).toBe(C3 | C2);
  });

  it('fcmovb copies ST(i) only when CF is set', () => {
    const x = new X87();
    x.s.cpu.setFlags(F.CF);
    x.run(FLDZ, FLD1, reg(0xda, 0, 1), FSTP_M64(0));
    expect(x.f64(0)).toBe(0);
    x.s.cpu.setFlags(0);
    x.run(FLDZ, FLD1, reg(0xda, 0, 1), FSTP_M64(0));
    expect(x.f64(0)).toBe(1);
  });
});

describe('x87 stack faults and exceptions', () => {
  it('a ninth push overflows: IE SF C1 and the indefinite on top', () => {
    const x = new X87();
    x.run(...Array.from({ length: 9 }, () => FLD1));
    expect(x.fsw & (IE | SF | C1)).toBe(IE | SF | C1);
    x.run(FSTP_M80(0));
    expect(x.hex80(0)).toBe('ffff c000000000000000');
  });

  it('fadd with an empty ST1 underflows: IE SF, C1 clear, indefinite result', () => {
    const x = new X87();
    x.run(FLD1, reg(0xd8, 0, 1), FSTP_M80(0));
    expect(x.fsw & (IE | SF | C1)).toBe(IE | SF);
    expect(x.hex80(0)).toBe('ffff c000000000000000');
  });

  it('an unmasked divide-by-zero leaves ST alone and raises #MF at the next waiting instruction only', () => {
    const x = new X87();
    x.setU16(32, 0x37f & ~ZE);
    x.run(FLDCW(32), FLD1, FLDZ, FDIVP);
    expect(x.fsw & (ZE | ES | B)).toBe(ZE | ES | B);
    expect(x.top).toBe(6);
    expect(x.run(FNSTSW_AX, FNSTCW(34))).toEqual([]);
    expect(x.run(FWAIT)).toEqual([16]);
    expect(x.run(FNCLEX, FWAIT)).toEqual([]);
  });

  it('what if an exception flag is set and fldcw unmasks it: #MF on the next waiting instruction', () => {
    const x = new X87();
    x.setU16(32, 0x37f & ~PE);
    x.run(FLD1, FLDPI, FDIVP);
    expect(x.fsw & (PE | ES)).toBe(PE);
    expect(x.run(FLDCW(32))).toEqual([]);
    expect(x.fsw & ES).toBe(ES);
    expect(x.run(FLD1)).toEqual([16]);
  });
});

describe('x87 state save and restore', () => {
  it('fnstenv writes the 28-byte protected-mode image and masks all exceptions', () => {
    const x = new X87();
    x.setU16(32, 0x27f);
    x.run(FLDCW(32), FLD1, mem(0xd9, 6, 64));
    expect(x.u32(64)).toBe(0xffff027fn);
    expect(x.u32(68)).toBe(0xffff3800n);
    expect(x.u32(72)).toBe(0xffff3fffn);
    expect(x.u32(76)).toBe(BigInt(x.s.cpu.fip));
    expect(Number(x.u32(80) >> 16n)).toBe(0x1e8);
    expect(x.s.cpu.fcw).toBe(0x27f | 0x3f);
  });

  it('fnsave then frstor restores registers, tags and TOP; fnsave leaves the FPU initialised', () => {
    const x = new X87();
    x.setF64(0, -3.25);
    x.run(FLD1, FLD_M64(0), FLDZ, mem(0xdd, 6, 64));
    expect(x.s.cpu.fsw).toBe(0);
    expect(x.s.cpu.ftw).toBe(0xffff);
    expect(x.s.cpu.fcw).toBe(0x37f);
    expect(x.u32(72)).toBe(0xffff07ffn); // R5 zero, R6 valid, R7 valid
    x.run(mem(0xdd, 4, 64), FSTP_M80(0), FSTP_M64(16), FSTP_M64(24));
    expect(x.hex80(0)).toBe('0000 0000000000000000');
    expect(x.f64(16)).toBe(-3.25);
    expect(x.f64(24)).toBe(1);
    expect(x.s.cpu.ftw).toBe(0xffff);
  });

  it('fninit resets control, status and tags', () => {
    const x = new X87();
    x.setU16(32, 0);
    x.run(FLDCW(32), FLD1, FNINIT, FNSTCW(34));
    expect(x.u16(34)).toBe(0x37f);
    expect(x.s.cpu.ftw).toBe(0xffff);
    expect(x.fsw).toBe(0);
  });

  it('fldcw keeps bits 12..8 and 5..0 and reads bit 6 as one', () => {
    const x = new X87();
    x.setU16(32, 0xffff);
    x.setU16(34, 0);
    x.run(FLDCW(32), FNSTCW(36), FLDCW(34), FNSTCW(38));
    expect(x.u16(36)).toBe(0x1f7f);
    expect(x.u16(38)).toBe(0x40);
  });

  it('cpuid advertises the FPU', () => {
    expect(cpuid(1, 0, 0)[3] & 1).toBe(1);
  });

  it('fld m32 of a denormal float is exact (DE reported)', () => {
    const x = new X87();
    x.setU64(0, 1n);
    x.run(FLD_M32(0), FSTP_M80(16), FILD_M32(0));
    expect(x.hex80(16)).toBe('3f6a 8000000000000000');
    expect(x.fsw & 2).toBe(2);
  });
});

describe('x87 transcendentals against the host', () => {
  // op: a (ST0) and b (ST1) as "se sig", the host's result in the slot the op writes.
  const HOST: [string, string, string, string][] = [
    ['f2xm1', 'bfff 8000000000000000', 'bff3 d6dbeeb13174f5c1', 'bffe 8000000000000000'],
    ['f2xm1', '4001 8000000000000000', '400d ffffffffffffffff', '4001 8000000000000000'],
    ['f2xm1', '3fea a6586b66f2050c03', 'c00d 94a492a01487f8b5', '3fe9 e69a8da8dd301884'],
    ['yl2x', '3ffa bd87c24026c4f884', '3ffc a264d7667763d3b2', 'bffe b40088ffadaa0eb2'],
    ['yl2x', '4000 8000000000000000', '4004 e0b4b0f9b1e70b61', '4004 e0b4b0f9b1e70b61'],
    ['yl2xp1', '3ffc 8200000000000000', '4000 8df8c84745a4326f', '3ffd c3d6b8dfdb2e2fad'],
    ['yl2xp1', 'bfe4 80caa81139ffd2b8', 'bffe 8000000000000000', '3fe3 b9ce9a52b098d201'],
    ['patan', '3fe7 95e96770727ea147', '3ffd ea9310de28f05020', '3fff c90fd95aebfbc003'],
    ['patan', '4001 ac138bd8d559c531', '4000 cc7c38149a1cb229', '3ffe 893f4655f0994ce6'],
    ['sin', 'bfe7 d62944504e5a66aa', '4002 fa98a80f9705d5e1', 'bfe7 d62944504e5a02bf'],
    ['sin', '3ffc 8200000000000000', '4000 8df8c84745a4326f', '3ffc 81a6ad04c1b3cf77'],
    ['cos', 'c001 9ef3ad9ad632f7a8', '4003 ffffffffffffffff', '3ffd 811428868f5d9484'],
    ['cos', '3fe7 95e96770727ea147', '3ffd ea9310de28f05020', '3ffe ffffffffffff506d'],
    ['ptan', 'bfff 8000010000000000', 'bfff ffffffffffffffff', 'bfff c7592652e5f5047d'],
    ['ptan', 'c001 8000000400000201', '3ffd 9a070607b97a6616', 'bfff 94337d0499d562f6'],
  ];
  const OPS: Record<string, [number[], boolean]> = {
    f2xm1: [[0xd9, 0xf0], false], yl2x: [[0xd9, 0xf1], true], yl2xp1: [[0xd9, 0xf9], true], patan: [[0xd9, 0xf3], true],
    sin: [[0xd9, 0xfe], false], cos: [[0xd9, 0xff], false], ptan: [[0xd9, 0xf2, 0xdd, 0xd8], false],
  };
  const parse = (t: string): [number, bigint] => [parseInt(t.slice(0, 4), 16), BigInt('0x' + t.slice(5))];

  it('results agree with a real x87 to at least 50 bits (binary64 inside, see x87-transcendental.ts)', () => {
    for (const [op, a, b, want] of HOST) {
      const x = new X87();
      x.set80(0, ...parse(b));
      x.set80(16, ...parse(a));
      const [code, pops] = OPS[op];
      x.run(FLD_M80(0), FLD_M80(16), code, FSTP_M80(32));
      expect(x.top).toBe(pops ? 0 : 7);
      const [gse, gsig] = parse(x.hex80(32)), [wse, wsig] = parse(want);
      expect(gse, `${op} ${a}`).toBe(wse);
      const diff = gsig > wsig ? gsig - wsig : wsig - gsig;
      expect(diff < 1n << 14n, `${op} ${a}: ${x.hex80(32)} vs ${want}`).toBe(true);
    }
  });

  it('fsin reduces large arguments with a long π: sin(0xec613f6aa20dee0b / 8) is 0.0657613719…', () => {
    // The host's fsin gives 0.0684962… here: its π/2 has about 66 bits.
    const x = new X87();
    x.set80(0, 0x403b, 0xec613f6aa20dee0bn);
    x.run(FLD_M80(0), [0xd9, 0xfe], FSTP_M64(16));
    expect(x.f64(16)).toBeCloseTo(0.06576137191688171, 15);
  });
});

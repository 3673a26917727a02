import { describe, expect, it } from 'vitest';
import { R } from '../../emu/cpu/regs.js';
import { F } from '../../emu/cpu/flags.js';
import { ARITH, DATA, Runner, bit, exec, maskOf, modrm, parity, prefixes, sext } from './int-harness.js';

const WIDTHS = [8, 16, 32, 64];
const MUL = 4, IMUL = 5, DIV = 6, IDIV = 7;
const GARBAGE = 0xdeadbeefcafef00dn;

/** mul/imul flags as Intel sets them: CF = OF = overflow, SF and PF from the low half, ZF AF clear. */
function mulFlags(lo: bigint, w: number, overflow: boolean): number {
  return parity(lo) | (bit(lo, w - 1) ? F.SF : 0) | (overflow ? F.CF | F.OF : 0);
}

/** A deterministic spread of w-bit values: edges, then a linear congruential walk. */
function values(w: number, n: number): bigint[] {
  const M = maskOf(w), half = 1n << BigInt(w - 1);
  const out = [0n, 1n, 2n, 3n, M, M - 1n, half, half - 1n, half + 1n, 0x10n & M, (M / 3n)];
  let x = 0x9e3779b97f4a7c15n;
  while (out.length < n) {
    x = BigInt.asUintN(64, x * 6364136223846793005n + 1442695040888963407n);
    const v = x >> BigInt(64 - w);
    out.push(out.length % 3 === 0 ? v >> BigInt(Number(x & 31n) % w) : v);
  }
  return out;
}

/** Accumulator pair of width w as one value: AX for bytes, DX:AX, EDX:EAX, RDX:RAX. */
function setPair(w: number, n: bigint): Record<number, bigint> {
  const M = maskOf(w);
  if (w === 8) return { [R.AX]: (GARBAGE & ~0xffffn) | (n & 0xffffn) };
  return { [R.AX]: (GARBAGE & ~M) | (n & M), [R.DX]: (GARBAGE & ~M) | ((n >> BigInt(w)) & M) };
}

/** The registers expected after a width-w write of `lo` to AX-side and `hi` to DX-side. */
function expectPair(w: number, lo: bigint, hi: bigint): [bigint, bigint] {
  const M = maskOf(w);
  if (w === 8) return [(GARBAGE & ~0xffffn) | ((hi & 0xffn) << 8n) | (lo & 0xffn), 0n];
  if (w === 16) return [(GARBAGE & ~M) | lo, (GARBAGE & ~M) | hi];
  return [lo, hi];
}

/** F6/F7 /digit on register BX. */
function group3(w: number, digit: number): number[] {
  return [...prefixes(w, R.BX), w === 8 ? 0xf6 : 0xf7, modrm(3, digit, R.BX)];
}

describe('one-operand mul and imul against BigInt', () => {
  const runner = new Runner();
  for (const w of WIDTHS) {
    const M = maskOf(w);
    it(`mul r/m${w} gives the exact double-width product`, () => {
      for (const a of values(w, 40)) {
        for (const b of values(w, 40)) {
          const p = a * b, lo = p & M, hi = p >> BigInt(w);
          const r = runner.run(group3(w, MUL), { regs: { ...setPair(w, a), [R.BX]: b } });
          const [eax, edx] = expectPair(w, lo, hi);
          expect([r.reg(R.AX), r.reg(R.DX), r.flags], `${a} * ${b}`).toEqual([eax, w === 8 ? 0n : edx, mulFlags(lo, w, hi !== 0n)]);
        }
      }
    });
    it(`imul r/m${w} gives the exact signed double-width product`, () => {
      for (const a of values(w, 40)) {
        for (const b of values(w, 40)) {
          const p = sext(a, w) * sext(b, w), lo = p & M, hi = (p >> BigInt(w)) & M;
          const r = runner.run(group3(w, IMUL), { regs: { ...setPair(w, a), [R.BX]: b } });
          const [eax, edx] = expectPair(w, lo, hi);
          expect([r.reg(R.AX), r.reg(R.DX), r.flags], `${sext(a, w)} * ${sext(b, w)}`).toEqual([eax, w === 8 ? 0n : edx, mulFlags(lo, w, p !== sext(lo, w))]);
        }
      }
    });
  }
});

describe('truncating imul forms against BigInt', () => {
  const runner = new Runner();
  for (const w of [16, 32, 64]) {
    const M = maskOf(w);
    const check = (code: number[], x: bigint, y: bigint, regs: Record<number, bigint>): void => {
      const p = sext(x, w) * sext(y, w), lo = p & M;
      const r = runner.run(code, { regs });
      expect([r.reg(R.SI), r.flags], `${sext(x, w)} * ${sext(y, w)}`).toEqual([w === 16 ? (GARBAGE & ~M) | lo : lo, mulFlags(lo, w, p !== sext(lo, w))]);
    };
    it(`imul r${w}, r/m${w} (0F AF)`, () => {
      for (const x of values(w, 30)) {
        for (const y of values(w, 30)) {
          check([...prefixes(w, R.DI, R.SI), 0x0f, 0xaf, modrm(3, R.SI, R.DI)], x, y, { [R.DI]: x, [R.SI]: (GARBAGE & ~M) | y });
        }
      }
    });
    it(`imul r${w}, r/m${w}, imm8 (6B) sign-extends the immediate`, () => {
      for (const x of values(w, 30)) {
        for (const imm of [0n, 1n, 2n, 0x7fn, 0x80n, 0xffn, 0x55n, 0xfen]) {
          check([...prefixes(w, R.DI, R.SI), 0x6b, modrm(3, R.SI, R.DI), Number(imm)], x, sext(imm, 8) & M, { [R.DI]: x, [R.SI]: GARBAGE });
        }
      }
    });
    it(`imul r${w}, r/m${w}, imm${w === 16 ? 16 : 32} (69)`, () => {
      const iw = w === 16 ? 16 : 32;
      for (const x of values(w, 30)) {
        for (const imm of values(iw, 12)) {
          const bytes = Array.from({ length: iw / 8 }, (_, k) => Number((imm >> BigInt(8 * k)) & 0xffn));
          check([...prefixes(w, R.DI, R.SI), 0x69, modrm(3, R.SI, R.DI), ...bytes], x, sext(imm, iw) & M, { [R.DI]: x, [R.SI]: GARBAGE });
        }
      }
    });
  }

  it('imul rax, rbx sets CF and OF exactly when the 128-bit product does not sign-extend from 64 bits', () => {
    const ok = exec([0x48, 0x0f, 0xaf, modrm(3, R.AX, R.BX)], { regs: { [R.AX]: 1n << 62n, [R.BX]: maskOf(64) - 1n } });
    expect([ok.reg(R.AX), ok.flags & (F.CF | F.OF)]).toEqual([BigInt.asUintN(64, -(1n << 63n)), 0]);
    const over = exec([0x48, 0x0f, 0xaf, modrm(3, R.AX, R.BX)], { regs: { [R.AX]: 1n << 62n, [R.BX]: 2n } });
    expect([over.reg(R.AX), over.flags & (F.CF | F.OF)]).toEqual([1n << 63n, F.CF | F.OF]);
  });

  it('imul eax, [rbx], imm32 reads its factor from memory and zero-extends', () => {
    const r = exec([0x69, modrm(0, R.AX, R.BX), 0x10, 0, 0, 0], { regs: { [R.AX]: GARBAGE, [R.BX]: BigInt(DATA) }, mem: [[DATA, 4, 0xfffffffdn]] });
    expect(r.reg(R.AX)).toBe(0xffffffd0n);
    expect(r.flags & (F.CF | F.OF)).toBe(0);
  });
});

describe('mul and imul edge cases', () => {
  it('mul of the largest quadwords is exact in all 128 bits', () => {
    const r = exec([0x48, 0xf7, modrm(3, MUL, R.BX)], { regs: { [R.AX]: maskOf(64), [R.BX]: maskOf(64) } });
    expect([r.reg(R.DX), r.reg(R.AX)]).toEqual([maskOf(64) - 1n, 1n]);
    expect(r.flags).toBe(F.CF | F.OF);
  });

  it('imul of INT64_MIN by itself is 2^126', () => {
    const r = exec([0x48, 0xf7, modrm(3, IMUL, R.BX)], { regs: { [R.AX]: 1n << 63n, [R.BX]: 1n << 63n } });
    expect([r.reg(R.DX), r.reg(R.AX)]).toEqual([1n << 62n, 0n]);
    expect(r.flags & (F.CF | F.OF)).toBe(F.CF | F.OF);
  });

  it('mul r32 zero-extends both rax and rdx', () => {
    const r = exec([0xf7, modrm(3, MUL, R.BX)], { regs: { [R.AX]: 0xffffffff_cafef00fn, [R.DX]: GARBAGE, [R.BX]: 3n } });
    expect([r.reg(R.AX), r.reg(R.DX)]).toEqual([(0xcafef00fn * 3n) & 0xffffffffn, (0xcafef00fn * 3n) >> 32n]);
  });

  it('mul r/m8 writes AX and leaves DX alone', () => {
    const r = exec([0xf6, modrm(3, MUL, R.BX)], { regs: { [R.AX]: 0x12340010n, [R.BX]: 0x20n, [R.DX]: 0x5555n } });
    expect([r.reg(R.AX), r.reg(R.DX)]).toEqual([0x12340200n, 0x5555n]);
    expect(r.flags & (F.CF | F.OF | F.ZF)).toBe(F.CF | F.OF);
  });

  it('imul r/m8 with AH as the factor', () => {
    const r = exec([0xf6, modrm(3, IMUL, 4)], { regs: { [R.AX]: 0xfe03n } });
    expect(r.reg(R.AX)).toBe(0xfffan);
    expect(r.flags & (F.CF | F.OF)).toBe(0);
  });

  it('mul clears ZF even for a zero product (Intel)', () => {
    const r = exec([0xf7, modrm(3, MUL, R.BX)], { regs: { [R.AX]: 0n, [R.BX]: 5n }, flags: F.ZF | F.AF });
    expect(r.flags).toBe(F.PF);
  });
});

// ---- division -------------------------------------------------------------------------

/** div/idiv of the width-2w dividend n by d: quotient and remainder, or null for #DE. */
function refDiv(signed: boolean, w: number, n: bigint, d: bigint): [bigint, bigint] | null {
  const M = maskOf(w);
  if (d === 0n) return null;
  if (!signed) {
    const q = n / d;
    return q > M ? null : [q, n % d];
  }
  const sn = sext(n, 2 * w), sd = sext(d, w);
  const q = sn / sd;
  if (q !== sext(q & M, w)) return null;
  return [q & M, (sn % sd) & M];
}

function dividends(w: number): bigint[] {
  const W2 = 2 * w, M2 = maskOf(W2);
  return [...values(w, 12), ...values(w, 12).map((v) => (v << BigInt(w - 1)) & M2), ...values(w, 12).map((v) => (v * 0x10001n) & M2),
    1n << BigInt(W2 - 1), maskOf(W2), (1n << BigInt(W2 - 1)) - 1n, maskOf(W2) - maskOf(w)];
}

describe('div and idiv against BigInt', () => {
  const runner = new Runner();
  for (const w of WIDTHS) {
    for (const signed of [false, true]) {
      const name = signed ? 'idiv' : 'div';
      it(`${name} r/m${w}: quotient, remainder and #DE`, () => {
        let faults = 0, ok = 0;
        for (const n of dividends(w)) {
          for (const d of [...values(w, 24), 0n]) {
            const want = refDiv(signed, w, n, d);
            const regs: Record<number, bigint> = { ...setPair(w, n), [R.BX]: d };
            const r = runner.run(group3(w, signed ? IDIV : DIV), { regs, flags: F.CF | F.SF });
            if (want === null) {
              faults++;
              expect(r.fault?.vector, `${name} ${n} / ${d}`).toBe(0);
              expect([r.reg(R.AX), r.reg(R.DX), r.flags]).toEqual([regs[R.AX], regs[R.DX] ?? 0n, F.CF | F.SF]);
              expect(r.s.cpu.rip).toBe(0x1000);
            } else {
              ok++;
              const [q, rem] = want;
              const [eax, edx] = expectPair(w, q, rem);
              expect([r.fault, r.reg(R.AX), r.reg(R.DX)], `${name} ${n} / ${d}`).toEqual([undefined, eax, w === 8 ? 0n : edx]);
              expect(r.flags).toBe(signed ? F.CF | F.SF : F.ZF | F.PF);
            }
          }
        }
        expect(faults).toBeGreaterThan(20);
        expect(ok).toBeGreaterThan(200);
      });
    }
  }
});

describe('division edge cases', () => {
  it('idiv of INT_MIN by -1 is #DE at every width', () => {
    for (const w of WIDTHS) {
      const n = 1n << BigInt(2 * w - 1);
      const r = exec(group3(w, IDIV), { regs: { ...setPair(w, n), [R.BX]: maskOf(w) } });
      expect(r.fault?.vector, `width ${w}`).toBe(0);
    }
  });

  it('idiv r32 of INT32_MIN (sign-extended in EDX) by -1 overflows, by 1 does not', () => {
    const regs = { [R.AX]: 0x80000000n, [R.DX]: 0xffffffffn };
    expect(exec([0xf7, modrm(3, IDIV, R.BX)], { regs: { ...regs, [R.BX]: 0xffffffffn } }).fault?.vector).toBe(0);
    const r = exec([0xf7, modrm(3, IDIV, R.BX)], { regs: { ...regs, [R.BX]: 1n } });
    expect([r.fault, r.reg(R.AX), r.reg(R.DX)]).toEqual([undefined, 0x80000000n, 0n]);
  });

  it('idiv r64 reaches the most negative quotient without #DE', () => {
    // -2^64 / 2 = -2^63.
    const r = exec([0x48, 0xf7, modrm(3, IDIV, R.BX)], { regs: { [R.AX]: 0n, [R.DX]: maskOf(64), [R.BX]: 2n } });
    expect([r.fault, r.reg(R.AX), r.reg(R.DX)]).toEqual([undefined, 1n << 63n, 0n]);
  });

  it('idiv truncates toward zero and the remainder takes the dividend\'s sign', () => {
    const r = exec([0x48, 0xf7, modrm(3, IDIV, R.BX)], { regs: { [R.AX]: BigInt.asUintN(64, -7n), [R.DX]: maskOf(64), [R.BX]: 2n } });
    expect([r.reg(R.AX), r.reg(R.DX)]).toEqual([BigInt.asUintN(64, -3n), BigInt.asUintN(64, -1n)]);
  });

  it('div r64 by a divisor above 2^32 is exact in all 128 bits of the dividend', () => {
    const n = 0x0123456789abcdeffedcba9876543210n, d = 0x89abcdef01234567n;
    const r = exec([0x48, 0xf7, modrm(3, DIV, R.BX)], { regs: { [R.AX]: n & maskOf(64), [R.DX]: n >> 64n, [R.BX]: d } });
    expect([r.reg(R.AX), r.reg(R.DX)]).toEqual([n / d, n % d]);
  });

  it('div r64 with RDX equal to the divisor is #DE', () => {
    const r = exec([0x48, 0xf7, modrm(3, DIV, R.BX)], { regs: { [R.AX]: 0n, [R.DX]: 5n, [R.BX]: 5n } });
    expect(r.fault?.vector).toBe(0);
  });

  it('div by zero in memory is #DE and leaves the registers', () => {
    const r = exec([0xf7, modrm(0, DIV, R.BX)], { regs: { [R.AX]: 7n, [R.BX]: BigInt(DATA) }, mem: [[DATA, 4, 0n]] });
    expect([r.fault?.vector, r.reg(R.AX)]).toEqual([0, 7n]);
  });

  it('div r/m8 puts the quotient in AL and the remainder in AH', () => {
    const r = exec([0xf6, modrm(3, DIV, R.BX)], { regs: { [R.AX]: 0x5555000000001234n, [R.BX]: 0x80n } });
    expect(r.reg(R.AX)).toBe(0x5555000000003424n);
  });

  it('idiv leaves the flags as they were (Intel)', () => {
    const r = exec([0xf7, modrm(3, IDIV, R.BX)], { regs: { [R.AX]: 100n, [R.BX]: 7n }, flags: ARITH });
    expect([r.reg(R.AX), r.reg(R.DX), r.flags]).toEqual([14n, 2n, ARITH]);
  });
});

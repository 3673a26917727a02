import { describe, expect, it } from 'vitest';
import { R } from '../../emu/cpu/regs.js';
import { F } from '../../emu/cpu/flags.js';
import { ARITH, Runner, exec, maskOf, modrm, prefixes, sext, szp } from './int-harness.js';

const GARBAGE = 0xdeadbeefcafef00dn;
const MEM = 0x40000;

/** Flags of `cmp a, b` (or of `add`, with `add`) at width w. */
function arithFlags(w: number, a: bigint, b: bigint, add: boolean): number {
  const M = maskOf(w);
  const res = (add ? a + b : a - b) & M;
  const cf = add ? a + b > M : a < b;
  const sres = add ? sext(a, w) + sext(b, w) : sext(a, w) - sext(b, w);
  const of = sres !== sext(res, w);
  const af = ((a ^ b ^ res) & 0x10n) !== 0n;
  return szp(res, w) | (cf ? F.CF : 0) | (of ? F.OF : 0) | (af ? F.AF : 0);
}

const VALUES: Record<number, bigint[]> = {
  8: [0n, 1n, 0x7fn, 0x80n, 0xffn, 0x0fn],
  16: [0n, 1n, 0x7fffn, 0x8000n, 0xffffn, 0x0fffn],
  32: [0n, 1n, 0x7fffffffn, 0x80000000n, 0xffffffffn, 0x0000ffffn],
  64: [0n, 1n, (1n << 63n) - 1n, 1n << 63n, maskOf(64), 0xffffffffn],
};

describe('xadd', () => {
  const runner = new Runner();
  for (const w of [8, 16, 32, 64]) {
    it(`xadd r/m${w}, r${w} swaps and adds, with add's flags`, () => {
      const M = maskOf(w);
      const keep = w >= 32 ? 0n : GARBAGE & ~M;
      for (const a of VALUES[w]) {
        for (const b of VALUES[w]) {
          const r = runner.run([...prefixes(w, R.BX, R.SI), 0x0f, w === 8 ? 0xc0 : 0xc1, modrm(3, R.SI, R.BX)],
            { regs: { [R.BX]: (GARBAGE & ~M) | a, [R.SI]: (GARBAGE & ~M) | b } });
          expect([r.reg(R.BX), r.reg(R.SI), r.flags], `${a} + ${b}`).toEqual([keep | ((a + b) & M), keep | a, arithFlags(w, a, b, true)]);
          const m = runner.run([...prefixes(w, 0, R.SI), 0x0f, w === 8 ? 0xc0 : 0xc1, modrm(0, R.SI, R.BX)],
            { regs: { [R.BX]: BigInt(MEM), [R.SI]: (GARBAGE & ~M) | b }, mem: [[MEM, 8, GARBAGE], [MEM, w / 8, a]] });
          expect([m.mem(MEM, w / 8), m.reg(R.SI), m.flags], `[${a}] + ${b}`).toEqual([(a + b) & M, keep | a, arithFlags(w, a, b, true)]);
          expect(m.mem(MEM + w / 8, 1)).toBe((GARBAGE >> BigInt(w)) & 0xffn);
        }
      }
    });
  }

  it('xadd with one register as both operands leaves the sum in it', () => {
    const r = exec([0x0f, 0xc1, modrm(3, R.AX, R.AX)], { regs: { [R.AX]: 0xffffffff00000021n } });
    expect(r.reg(R.AX)).toBe(0x42n);
  });

  it('xadd byte with AH and AL', () => {
    const r = exec([0x0f, 0xc0, modrm(3, R.AX, 4)], { regs: { [R.AX]: 0x0305n } });
    expect(r.reg(R.AX)).toBe(0x0803n);
  });

  it('lock xadd to memory is allowed; to a register it is #UD', () => {
    const m = exec([0xf0, 0x0f, 0xc1, modrm(0, R.SI, R.BX)], { regs: { [R.BX]: BigInt(MEM), [R.SI]: 1n }, mem: [[MEM, 4, 41n]] });
    expect([m.fault, m.mem(MEM, 4), m.reg(R.SI)]).toEqual([undefined, 42n, 41n]);
    expect(exec([0xf0, 0x0f, 0xc1, modrm(3, R.SI, R.BX)]).fault?.vector).toBe(6);
  });
});

describe('cmpxchg', () => {
  const runner = new Runner();
  for (const w of [8, 16, 32, 64]) {
    it(`cmpxchg r/m${w}, r${w}: flags of cmp acc, dest, and which registers each outcome writes`, () => {
      const M = maskOf(w);
      const hiAcc = w === 8 ? GARBAGE & ~0xffn : GARBAGE & ~M;
      for (const acc of VALUES[w]) {
        for (const d of VALUES[w]) {
          const src = 0x5a5a5a5a5a5a5a5an & M;
          const regs = { [R.AX]: hiAcc | acc, [R.BX]: (GARBAGE & ~M) | d, [R.SI]: (GARBAGE & ~M) | src };
          const r = runner.run([...prefixes(w, R.BX, R.SI), 0x0f, w === 8 ? 0xb0 : 0xb1, modrm(3, R.SI, R.BX)], { regs, flags: ARITH });
          const eq = acc === d;
          // Success writes the destination (zero-extending a 32-bit one) and not RAX;
          // failure writes RAX (zero-extending EAX) and leaves the destination whole.
          const wDest = eq ? (w === 32 ? src : w === 64 ? src : (GARBAGE & ~M) | src) : regs[R.BX];
          const wAcc = eq ? regs[R.AX] : w === 32 ? d : w === 64 ? d : hiAcc | d;
          expect([r.reg(R.BX), r.reg(R.AX), r.flags], `acc=${acc} dest=${d}`).toEqual([wDest, wAcc, arithFlags(w, acc, d, false)]);
        }
      }
    });

    it(`cmpxchg m${w}, r${w} stores in both outcomes`, () => {
      const M = maskOf(w);
      for (const acc of VALUES[w]) {
        for (const d of VALUES[w]) {
          const src = 0x5a5a5a5a5a5a5a5an & M;
          const r = runner.run([...prefixes(w, 0, R.SI), 0x0f, w === 8 ? 0xb0 : 0xb1, modrm(0, R.SI, R.BX)],
            { regs: { [R.AX]: acc, [R.BX]: BigInt(MEM), [R.SI]: src }, mem: [[MEM, w / 8, d]] });
          expect([r.mem(MEM, w / 8), r.reg(R.AX)]).toEqual(acc === d ? [src, acc] : [d, d]);
        }
      }
    });
  }

  it('cmpxchg eax, ecx always succeeds and zero-extends RAX with ECX', () => {
    const r = exec([0x0f, 0xb1, modrm(3, R.CX, R.AX)], { regs: { [R.AX]: 0xffffffff00000005n, [R.CX]: 0xaaaaaaaa00000007n } });
    expect([r.reg(R.AX), r.flags & F.ZF]).toEqual([7n, F.ZF]);
  });

  it('cmpxchg AH, CL compares with AL and on failure loads AL from AH', () => {
    const r = exec([0x0f, 0xb0, modrm(3, R.CX, 4)], { regs: { [R.AX]: 0x1234n, [R.CX]: 0x99n } });
    expect([r.reg(R.AX), r.flags & F.ZF]).toEqual([0x1212n, 0]);
  });
});

describe('cmpxchg8b and cmpxchg16b', () => {
  const C7 = (rex: number[] = []): number[] => [...rex, 0x0f, 0xc7, modrm(0, 1, R.SI)];
  const regs = (ax: bigint, dx: bigint, bx: bigint, cx: bigint, at = MEM): Record<number, bigint> =>
    ({ [R.AX]: ax, [R.DX]: dx, [R.BX]: bx, [R.CX]: cx, [R.SI]: BigInt(at) });

  it('cmpxchg8b on a match stores ECX:EBX, sets ZF, and leaves RAX and RDX whole', () => {
    const r = exec(C7(), { regs: regs(0xffff000011111111n, 0xffff000022222222n, 0xbbbbbbbb33333333n, 0xcccccccc44444444n), mem: [[MEM, 8, 0x2222222211111111n]], flags: F.CF });
    expect(r.mem(MEM, 8)).toBe(0x4444444433333333n);
    expect([r.reg(R.AX), r.reg(R.DX), r.flags]).toEqual([0xffff000011111111n, 0xffff000022222222n, F.CF | F.ZF]);
  });

  it('cmpxchg8b on a mismatch loads EDX:EAX, zero-extending, clears ZF and keeps the other flags', () => {
    const r = exec(C7(), { regs: regs(0xffff000011111111n, 0xffff000022222222n, 0n, 0n), mem: [[MEM, 8, 0x2222222211111112n]], flags: F.ZF | F.OF });
    expect(r.mem(MEM, 8)).toBe(0x2222222211111112n);
    expect([r.reg(R.AX), r.reg(R.DX), r.flags]).toEqual([0x11111112n, 0x22222222n, F.OF]);
  });

  it('cmpxchg16b on a match stores RCX:RBX', () => {
    const r = exec(C7([0x48]), { regs: regs(1n, 2n, 3n, 4n), mem: [[MEM, 16, (2n << 64n) | 1n]] });
    expect([r.fault, r.mem(MEM, 16), r.flags]).toEqual([undefined, (4n << 64n) | 3n, F.ZF]);
  });

  it('cmpxchg16b on a mismatch in the high half loads RDX:RAX', () => {
    const r = exec(C7([0x48]), { regs: regs(1n, 2n, 3n, 4n), mem: [[MEM, 16, (5n << 64n) | 1n]], flags: F.ZF });
    expect([r.mem(MEM, 16), r.reg(R.AX), r.reg(R.DX), r.flags]).toEqual([(5n << 64n) | 1n, 1n, 5n, 0]);
  });

  it('what if cmpxchg16b\'s operand is only 8-byte aligned: #GP(0), nothing written', () => {
    const r = exec(C7([0x48]), { regs: regs(1n, 2n, 3n, 4n, MEM + 8), mem: [[MEM + 8, 16, (2n << 64n) | 1n]] });
    expect([r.fault?.vector, r.fault?.errorCode, r.mem(MEM + 8, 16)]).toEqual([13, 0, (2n << 64n) | 1n]);
  });

  it('cmpxchg8b needs no alignment', () => {
    const r = exec(C7(), { regs: regs(0n, 0n, 7n, 0n, MEM + 3) });
    expect([r.fault, r.mem(MEM + 3, 8)]).toEqual([undefined, 7n]);
  });

  it('lock cmpxchg16b is allowed; the register form is #UD', () => {
    expect(exec([0xf0, ...C7([0x48])], { regs: regs(0n, 0n, 0n, 0n) }).fault).toBeUndefined();
    expect(exec([0x0f, 0xc7, modrm(3, 1, R.SI)]).fault?.vector).toBe(6);
  });
});

import { describe, expect, it } from 'vitest';
import { R } from '../../emu/cpu/regs.js';
import { F } from '../../emu/cpu/flags.js';
import { ARITH, DATA, Runner, bit, exec, maskOf, modrm, prefixes, szp } from './int-harness.js';

const ROL = 0, ROR = 1, RCL = 2, RCR = 3, SHL = 4, SHR = 5, SAL = 6, SAR = 7;
const NAMES = ['rol', 'ror', 'rcl', 'rcr', 'shl', 'shr', 'sal', 'sar'];
const WIDTHS = [8, 16, 32, 64];

/**
 * Reference model: the SDM's loop of 1-bit steps, with OF taken from the
 * SDM's 1-bit formula on the first step (Intel's choice for any count) and
 * AF cleared by the shifts. Returns the result and the arithmetic flags.
 */
function refGroup2(op: number, w: number, a: bigint, count: number, f0: number): [bigint, number] {
  const M = maskOf(w), hiBit = BigInt(w - 1);
  const top = (x: bigint): bigint => (x >> hiBit) & 1n;
  const c = count & (w === 64 ? 63 : 31);
  if (c === 0) return [a, f0];
  let t = c;
  if (op === RCL || op === RCR) t = w === 8 ? c % 9 : w === 16 ? c % 17 : c;
  if (t === 0) return [a, f0];
  if (op === ROL || op === ROR) t = c % w;
  const step = (x: bigint, cf: bigint): [bigint, bigint] => {
    switch (op) {
      case ROL: return [((x << 1n) | top(x)) & M, top(x)];
      case ROR: return [(x >> 1n) | ((x & 1n) << hiBit), x & 1n];
      case RCL: return [((x << 1n) | cf) & M, top(x)];
      case RCR: return [(x >> 1n) | (cf << hiBit), x & 1n];
      case SHR: return [x >> 1n, x & 1n];
      case SAR: return [(x >> 1n) | (x & (1n << hiBit)), x & 1n];
      default: return [(x << 1n) & M, top(x)];
    }
  };
  const cf0 = f0 & F.CF ? 1n : 0n;
  const [x1, c1] = step(a, cf0);
  let of: bigint;
  switch (op) {
    case ROR: of = top(x1) ^ bit(x1, w - 2); break;
    case RCR: of = top(a) ^ cf0; break;
    case SHR: of = top(a); break;
    case SAR: of = 0n; break;
    default: of = top(x1) ^ c1; break; // rol rcl shl sal: MSB(DEST) xor CF
  }
  let x = a, cf = cf0;
  for (let k = 0; k < t; k++) [x, cf] = step(x, cf);
  if (op === ROL) cf = x & 1n;
  if (op === ROR) cf = top(x);
  const co = (cf ? F.CF : 0) | (of ? F.OF : 0);
  if (op <= RCR) return [x, (f0 & ~(F.CF | F.OF)) | co];
  return [x, szp(x, w) | co];
}

/** Group-2 encoding on register `rm`: form 'ib', '1' or 'cl'. */
function enc(w: number, op: number, form: string, rm: number, count = 0): number[] {
  const base = form === 'ib' ? 0xc0 : form === '1' ? 0xd0 : 0xd2;
  const code = [...prefixes(w, rm), base + (w === 8 ? 0 : 1), modrm(3, op, rm)];
  if (form === 'ib') code.push(count & 0xff);
  return code;
}

const VALUES: Record<number, bigint[]> = {
  8: [0x00n, 0x01n, 0x80n, 0xffn, 0x7fn, 0xc3n, 0x5an, 0x40n],
  16: [0x0000n, 0x0001n, 0x8000n, 0xffffn, 0x7fffn, 0xc001n, 0x5aa5n, 0x4000n],
  32: [0n, 1n, 0x80000000n, 0xffffffffn, 0x7fffffffn, 0xc0000001n, 0x5aa5f00fn, 0x40000000n],
  64: [0n, 1n, 1n << 63n, maskOf(64), (1n << 63n) - 1n, 0xc000000180000001n, 0x5aa5f00f0ff0a55an, 0x4000000000000000n],
};

function counts(w: number): number[] {
  const top = w === 64 ? 66 : 34;
  return [...Array.from({ length: top }, (_, k) => k), 96, 127, 128, 200, 255];
}

describe('group 2 against the bit-step reference', () => {
  const runner = new Runner();
  // Garbage in bits 63..w shows which forms keep or zero-extend the register.
  const GARBAGE = 0xdeadbeefcafef00dn;
  for (const w of WIDTHS) {
    for (let op = 0; op < 8; op++) {
      it(`${NAMES[op]} r${w} by CL, by imm8 and by 1 for every count`, () => {
        const M = maskOf(w);
        for (const a of VALUES[w]) {
          for (const f0 of [0, ARITH]) {
            for (const c of counts(w)) {
              const [res, flags] = refGroup2(op, w, a, c, f0);
              const full = w >= 32 ? res : (GARBAGE & ~M) | res;
              const init = (GARBAGE & ~M) | a;
              const cl = runner.run(enc(w, op, 'cl', R.BX), { regs: { [R.BX]: init, [R.CX]: BigInt(c) | 0x100n }, flags: f0 });
              expect([cl.reg(R.BX), cl.flags], `${NAMES[op]} ${a.toString(16)} by cl=${c} f0=${f0}`).toEqual([full, flags]);
              const ib = runner.run(enc(w, op, 'ib', R.BX, c), { regs: { [R.BX]: init }, flags: f0 });
              expect([ib.reg(R.BX), ib.flags], `${NAMES[op]} ${a.toString(16)} by ${c} f0=${f0}`).toEqual([full, flags]);
            }
            const [res1, flags1] = refGroup2(op, w, a, 1, f0);
            const one = runner.run(enc(w, op, '1', R.BX), { regs: { [R.BX]: (GARBAGE & ~M) | a }, flags: f0 });
            expect([one.reg(R.BX), one.flags]).toEqual([w >= 32 ? res1 : (GARBAGE & ~M) | res1, flags1]);
          }
        }
      });
    }
  }
});

describe('rotates through carry', () => {
  it('rcl by 9 on a byte rotates through CF modulo 9: value and every flag unchanged', () => {
    const r = exec([0xc0, modrm(3, RCL, R.AX), 9], { regs: { [R.AX]: 0x81n }, flags: F.CF | F.SF | F.OF });
    expect(r.reg(R.AX)).toBe(0x81n);
    expect(r.flags).toBe(F.CF | F.SF | F.OF);
  });

  it('rcl by 10 on a byte is rcl by 1: CF enters bit 0, bit 7 leaves into CF', () => {
    const r = exec([0xc0, modrm(3, RCL, R.AX), 10], { regs: { [R.AX]: 0x81n }, flags: F.CF });
    expect(r.reg(R.AX)).toBe(0x03n);
    expect(r.flags & (F.CF | F.OF)).toBe(F.CF | F.OF);
  });

  it('rcl by 8 on a byte is rcr by 1 in the 9-bit ring', () => {
    const r = exec([0xc0, modrm(3, RCL, R.AX), 8], { regs: { [R.AX]: 0x03n }, flags: F.CF });
    expect(r.reg(R.AX)).toBe(0x81n);
    expect(r.flags & F.CF).toBe(F.CF);
  });

  it('rcr by 17 on a word is the identity and leaves every flag alone', () => {
    const r = exec([0x66, 0xc1, modrm(3, RCR, R.DX), 17], { regs: { [R.DX]: 0x12348001n }, flags: F.ZF });
    expect(r.reg(R.DX)).toBe(0x12348001n);
    expect(r.flags).toBe(F.ZF);
  });

  it('rcr by 1 sets OF from the old CF against the old sign bit, before rotating', () => {
    const r = exec([0xd1, modrm(3, RCR, R.AX)], { regs: { [R.AX]: 0x00000001n }, flags: F.CF });
    expect(r.reg(R.AX)).toBe(0x80000000n);
    expect(r.flags & (F.CF | F.OF)).toBe(F.CF | F.OF);
  });

  it('rcl r64 by 63 takes CF into bit 62 and bit 1 into CF', () => {
    const r = exec([0x48, 0xc1, modrm(3, RCL, R.AX), 63], { regs: { [R.AX]: 0x2n }, flags: F.CF });
    expect(r.reg(R.AX)).toBe(1n << 62n);
    expect(r.flags & F.CF).toBe(F.CF);
  });

  it('rcr r64 by 33 carries CF into bit 31', () => {
    const r = exec([0x48, 0xc1, modrm(3, RCR, R.AX), 33], { regs: { [R.AX]: 0n }, flags: F.CF });
    expect(r.reg(R.AX)).toBe(1n << 31n);
    expect(r.flags & F.CF).toBe(0);
  });
});

describe('rotates', () => {
  it('rol by 8 on a byte keeps the value but sets CF to its bit 0', () => {
    const r = exec([0xc0, modrm(3, ROL, R.BX), 8], { regs: { [R.BX]: 0x81n } });
    expect(r.reg(R.BX)).toBe(0x81n);
    expect(r.flags).toBe(F.CF | F.OF);
  });

  it('a rotate leaves SF ZF AF PF untouched', () => {
    const r = exec([0xd1, modrm(3, ROL, R.BX)], { regs: { [R.BX]: 0x40000000n }, flags: F.SF | F.ZF | F.AF | F.PF });
    expect(r.reg(R.BX)).toBe(0x80000000n);
    expect(r.flags).toBe(F.SF | F.ZF | F.AF | F.PF | F.OF);
  });

  it('ror r64 by 4 moves the low nibble to the top and its bit 3 into CF', () => {
    const r = exec([0x48, 0xc1, modrm(3, ROR, R.SI), 4], { regs: { [R.SI]: 0x123456789abcdef8n } });
    expect(r.reg(R.SI)).toBe(0x8123456789abcdefn);
    expect(r.flags & F.CF).toBe(F.CF);
  });

  it('rol of AH rotates the high byte without touching AL', () => {
    const r = exec([0xd0, modrm(3, ROL, 4)], { regs: { [R.AX]: 0x8001n } });
    expect(r.reg(R.AX)).toBe(0x0101n);
  });
});

describe('shifts', () => {
  it('shl eax, 0 still zero-extends rax and leaves flags alone', () => {
    for (const code of [[0xc1, modrm(3, SHL, R.AX), 0], [0xc1, modrm(3, SHL, R.AX), 32], [0xd3, modrm(3, SHL, R.AX)]]) {
      const r = exec(code, { regs: { [R.AX]: 0xffffffff12345678n, [R.CX]: 0x20n }, flags: F.OF | F.CF | F.AF });
      expect(r.reg(R.AX)).toBe(0x12345678n);
      expect(r.flags).toBe(F.OF | F.CF | F.AF);
    }
  });

  it('shl ax, 0 keeps bits 63..16', () => {
    const r = exec([0x66, 0xd3, modrm(3, SHL, R.AX)], { regs: { [R.AX]: 0xffffffff12345678n, [R.CX]: 0n } });
    expect(r.reg(R.AX)).toBe(0xffffffff12345678n);
  });

  it('a 64-bit shift count is masked to 6 bits: 64 does nothing, 65 shifts by 1', () => {
    const a = exec([0x48, 0xd3, modrm(3, SHL, R.AX)], { regs: { [R.AX]: 0x8000000000000001n, [R.CX]: 64n }, flags: F.ZF });
    expect([a.reg(R.AX), a.flags]).toEqual([0x8000000000000001n, F.ZF]);
    const b = exec([0x48, 0xd3, modrm(3, SHL, R.AX)], { regs: { [R.AX]: 0x8000000000000001n, [R.CX]: 65n } });
    expect([b.reg(R.AX), b.flags & (F.CF | F.OF)]).toEqual([2n, F.CF | F.OF]);
  });

  it('a 32-bit shift count is masked to 5 bits: shl eax, 33 shifts by 1', () => {
    const r = exec([0xc1, modrm(3, SHL, R.AX), 33], { regs: { [R.AX]: 0xc0000000n } });
    expect(r.reg(R.AX)).toBe(0x80000000n);
    expect(r.flags).toBe(F.CF | F.SF | F.PF);
  });

  it('shl r/m8 by 8 leaves 0 with CF = bit 0; by 9..31 CF is clear', () => {
    const a = exec([0xc0, modrm(3, SHL, R.DX), 8], { regs: { [R.DX]: 0x01n } });
    expect([a.reg(R.DX), a.flags & (F.CF | F.ZF)]).toEqual([0n, F.CF | F.ZF]);
    const b = exec([0xc0, modrm(3, SHL, R.DX), 9], { regs: { [R.DX]: 0xffn } });
    expect([b.reg(R.DX), b.flags & (F.CF | F.ZF)]).toEqual([0n, F.ZF]);
  });

  it('shr by 1 sets OF to the original sign bit', () => {
    const r = exec([0xd1, modrm(3, SHR, R.AX)], { regs: { [R.AX]: 0x80000000n } });
    expect(r.reg(R.AX)).toBe(0x40000000n);
    expect(r.flags).toBe(F.OF | F.PF);
  });

  it('sar of a negative byte by 31 fills with the sign and CF takes the sign', () => {
    const r = exec([0xc0, modrm(3, SAR, R.AX), 31], { regs: { [R.AX]: 0x80n } });
    expect(r.reg(R.AX)).toBe(0xffn);
    expect(r.flags).toBe(F.CF | F.SF | F.PF);
  });

  it('sar never sets OF', () => {
    const r = exec([0xd1, modrm(3, SAR, R.AX)], { regs: { [R.AX]: 0x80000000n } });
    expect(r.reg(R.AX)).toBe(0xc0000000n);
    expect(r.flags & F.OF).toBe(0);
  });

  it('/6 is an alias of shl in every count form', () => {
    for (const code of [[0xd1, modrm(3, SAL, R.AX)], [0xc1, modrm(3, SAL, R.AX), 1], [0xd3, modrm(3, SAL, R.AX)]]) {
      const r = exec(code, { regs: { [R.AX]: 0x40000001n, [R.CX]: 1n } });
      expect([r.reg(R.AX), r.flags]).toEqual([0x80000002n, F.SF | F.OF]);
    }
  });

  it('OF of a multi-bit shl is the xor of the operand\'s top two bits (Intel), not MSB(result) xor CF', () => {
    const r = exec([0x48, 0xc1, modrm(3, SHL, R.AX), 0x22], { regs: { [R.AX]: 0x18f2086424981487n } });
    expect(r.reg(R.AX)).toBe(BigInt.asUintN(64, 0x18f2086424981487n << 0x22n));
    expect(r.flags & (F.OF | F.CF)).toBe(0);
  });

  it('a shift clears AF', () => {
    const r = exec([0xd1, modrm(3, SHR, R.AX)], { regs: { [R.AX]: 2n }, flags: F.AF });
    expect(r.flags & F.AF).toBe(0);
  });

  it('shr ah, 4 shifts AH and leaves AL', () => {
    const r = exec([0xc0, modrm(3, SHR, 4), 4], { regs: { [R.AX]: 0xf0aan } });
    expect(r.reg(R.AX)).toBe(0x0faan);
  });

  it('with REX, byte register 6 is SIL, not DH', () => {
    const r = exec([0x40, 0xd0, modrm(3, SHL, R.SI)], { regs: { [R.SI]: 0x1281n, [R.DX]: 0x4400n } });
    expect([r.reg(R.SI), r.reg(R.DX)]).toEqual([0x1202n, 0x4400n]);
  });

  it('r8..r15 are reached through REX.B', () => {
    const r = exec([0x49, 0xd3, modrm(3, SHR, 1)], { regs: { [R.R9]: 0x8000000000000000n, [R.CX]: 63n } });
    expect(r.reg(R.R9)).toBe(1n);
  });
});

describe('shifts of memory operands', () => {
  it('shl dword [rbx], cl writes the result back and leaves the neighbours', () => {
    const r = exec([0xd3, modrm(0, SHL, R.BX)], {
      regs: { [R.BX]: BigInt(DATA), [R.CX]: 4n },
      mem: [[DATA - 4, 12, 0x1111111187654321eeeeeeeen]],
    });
    expect(r.mem(DATA, 4)).toBe(0x76543210n);
    expect(r.mem(DATA - 4, 4)).toBe(0xeeeeeeeen);
    expect(r.mem(DATA + 4, 4)).toBe(0x11111111n);
    expect(r.flags & F.CF).toBe(0);
  });

  it('rcr qword [rbx+8], 1 rotates CF into bit 63 of memory', () => {
    const r = exec([0x48, 0xd1, modrm(1, RCR, R.BX), 8], { regs: { [R.BX]: BigInt(DATA) }, mem: [[DATA + 8, 8, 3n]], flags: F.CF });
    expect(r.mem(DATA + 8, 8)).toBe(0x8000000000000001n);
    expect(r.flags & F.CF).toBe(F.CF);
  });

  it('sar word [rbx], imm8 on memory', () => {
    const r = exec([0x66, 0xc1, modrm(0, SAR, R.BX), 3], { regs: { [R.BX]: BigInt(DATA) }, mem: [[DATA, 2, 0x8008n]] });
    expect(r.mem(DATA, 2)).toBe(0xf001n);
    expect(r.flags & (F.CF | F.SF)).toBe(F.SF);
  });

  it('what if a shift is LOCKed: #UD', () => {
    const r = exec([0xf0, 0xd1, modrm(0, SHL, R.BX)], { regs: { [R.BX]: BigInt(DATA) } });
    expect(r.fault?.vector).toBe(6);
  });
});

// ---- SHLD / SHRD ------------------------------------------------------------------

/** SDM formula for counts up to the width; a 16-bit count above 16 rotates the 32-bit concatenation (P6+). */
function refDouble(left: boolean, w: number, a: bigint, b: bigint, count: number, f0: number): [bigint, number] {
  const M = maskOf(w);
  const c = count & (w === 64 ? 63 : 31);
  if (c === 0) return [a, f0];
  let res: bigint, cf: bigint;
  const C = BigInt(c), W = BigInt(w);
  if (c <= w) {
    if (left) { res = ((a << C) | (b >> (W - C))) & M; cf = bit(a, w - c); }
    else { res = ((a >> C) | (b << (W - C))) & M; cf = bit(a, c - 1); }
  } else {
    const M32 = maskOf(32);
    if (left) {
      const v = (a << 16n) | b, rot = ((v << C) | (v >> (32n - C))) & M32;
      res = rot >> 16n; cf = rot & 1n;
    } else {
      const v = (b << 16n) | a, rot = ((v >> C) | (v << (32n - C))) & M32;
      res = rot & 0xffffn; cf = rot >> 31n;
    }
  }
  const of = left ? bit(a, w - 1) ^ bit(a, w - 2) : (b & 1n) ^ bit(a, w - 1);
  return [res, szp(res, w) | (cf ? F.CF : 0) | (of ? F.OF : 0)];
}

describe('shld and shrd', () => {
  const runner = new Runner();
  const PAIRS: Record<number, [bigint, bigint][]> = {
    16: [[0x8001n, 0x7ffen], [0xffffn, 0n], [0x1234n, 0xabcdn], [0n, 0xffffn]],
    32: [[0x80000001n, 0x7ffffffen], [0xffffffffn, 0n], [0x12345678n, 0x9abcdef0n], [0n, 0xffffffffn]],
    64: [[0x8000000000000001n, 0x7ffffffffffffffen], [maskOf(64), 0n], [0x0123456789abcdefn, 0xfedcba9876543210n], [0n, maskOf(64)]],
  };
  for (const w of [16, 32, 64]) {
    for (const left of [true, false]) {
      const name = left ? 'shld' : 'shrd';
      it(`${name} r${w}, r${w} by imm8 and by CL for every count`, () => {
        const M = maskOf(w);
        const garbage = 0xdeadbeefcafef00dn & ~M;
        for (const [a, b] of PAIRS[w]) {
          for (const f0 of [0, ARITH]) {
            for (const c of counts(w)) {
              const [res, flags] = refDouble(left, w, a, b, c, f0);
              const full = w === 16 ? garbage | res : res;
              const op2 = left ? 0xa4 : 0xac;
              const pre = prefixes(w, R.BX, R.SI);
              const ib = runner.run([...pre, 0x0f, op2, modrm(3, R.SI, R.BX), c], { regs: { [R.BX]: garbage | a, [R.SI]: b }, flags: f0 });
              expect([ib.reg(R.BX), ib.flags], `${name} ${a.toString(16)},${b.toString(16)} by ${c}`).toEqual([full, flags]);
              const cl = runner.run([...pre, 0x0f, op2 + 1, modrm(3, R.SI, R.BX)], { regs: { [R.BX]: garbage | a, [R.SI]: b, [R.CX]: BigInt(c) }, flags: f0 });
              expect([cl.reg(R.BX), cl.flags], `${name} ${a.toString(16)},${b.toString(16)} by cl=${c}`).toEqual([full, flags]);
              expect(cl.reg(R.SI)).toBe(b);
            }
          }
        }
      });
    }
  }

  it('shld eax, ebx, 4 shifts in the top nibble of ebx', () => {
    const r = exec([0x0f, 0xa4, modrm(3, R.BX, R.AX), 4], { regs: { [R.AX]: 0x12345678n, [R.BX]: 0x9abcdef0n } });
    expect(r.reg(R.AX)).toBe(0x23456789n);
    expect(r.flags & F.CF).toBe(F.CF);
  });

  it('shrd r64 by 63 leaves the top bit of the destination at bit 0', () => {
    const r = exec([0x48, 0x0f, 0xac, modrm(3, R.DX, R.AX), 63], { regs: { [R.AX]: 0x8000000000000000n, [R.DX]: 0n } });
    expect(r.reg(R.AX)).toBe(1n);
  });

  it('shld ax, bx, 20 rotates the 32-bit concatenation, so AX\'s own low bits come round (Intel)', () => {
    const r = exec([0x66, 0x0f, 0xa4, modrm(3, R.BX, R.AX), 20], { regs: { [R.AX]: 0xa00bn, [R.BX]: 0x1234n } });
    expect(r.reg(R.AX)).toBe(0x234an);
    expect(r.flags & F.CF).toBe(F.CF); // bit 12 of BX
  });

  it('shrd ax, bx, 20 gives BX >> 4 with AX\'s low nibble on top (Intel)', () => {
    const r = exec([0x66, 0x0f, 0xac, modrm(3, R.BX, R.AX), 20], { regs: { [R.AX]: 0x000bn, [R.BX]: 0x1238n } });
    expect(r.reg(R.AX)).toBe(0xb123n);
    expect(r.flags & F.CF).toBe(F.CF); // bit 3 of BX
  });

  it('shld by 0 writes nothing but the zero-extension of a 32-bit destination', () => {
    const r = exec([0x0f, 0xa5, modrm(3, R.BX, R.AX)], { regs: { [R.AX]: 0xffffffff00000001n, [R.BX]: 5n, [R.CX]: 32n }, flags: F.OF });
    expect(r.reg(R.AX)).toBe(1n);
    expect(r.flags).toBe(F.OF);
  });

  it('shrd dword [rbx], ecx, cl updates memory', () => {
    const r = exec([0x0f, 0xad, modrm(0, R.CX, R.BX)], { regs: { [R.BX]: BigInt(DATA), [R.CX]: 8n }, mem: [[DATA, 4, 0x11223344n]] });
    expect(r.mem(DATA, 4)).toBe(0x08112233n);
    expect(r.flags & F.CF).toBe(0);
  });
});

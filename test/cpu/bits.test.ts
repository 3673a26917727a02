import { describe, expect, it } from 'vitest';
import { R } from '../../emu/cpu/regs.js';
import { F } from '../../emu/cpu/flags.js';
import { ARITH, Runner, bit, exec, maskOf, modrm, parity, prefixes, sext } from './int-harness.js';

const BT = 0, BTS = 1, BTR = 2, BTC = 3;
const NAMES = ['bt', 'bts', 'btr', 'btc'];
const GARBAGE = 0xdeadbeefcafef00dn;
/** Bit strings live around here, far enough from the code for negative offsets. */
const BASE = 0x40000;

function applyBit(op: number, v: bigint, k: number): bigint {
  const m = 1n << BigInt(k);
  return op === BTS ? v | m : op === BTR ? v & ~m : op === BTC ? v ^ m : v;
}

/** The flags after a bit test: CF = the bit; OF SF ZF AF PF as before (Intel). */
function btFlags(f0: number, v: bigint, k: number): number {
  return (f0 & ~F.CF) | (bit(v, k) ? F.CF : 0);
}

describe('bt bts btr btc with a register destination', () => {
  const runner = new Runner();
  for (const w of [16, 32, 64]) {
    for (let op = 0; op < 4; op++) {
      it(`${NAMES[op]} r${w}, r${w} takes the offset modulo ${w}, and so does the imm8 form`, () => {
        const M = maskOf(w);
        for (const v of [0n, M, 0x5a5a5a5a5a5a5a5an & M, 1n << BigInt(w - 1)]) {
          for (const off of [0n, 1n, BigInt(w - 1), BigInt(w), BigInt(w + 3), M, 0x7fn, 0x80n]) {
            for (const f0 of [0, ARITH]) {
              const k = Number(off & BigInt(w - 1));
              const out = applyBit(op, v, k);
              // The destination keeps bits above 16; a 32-bit one is zero-extended only when written.
              const full = w === 16 || (w === 32 && op === BT) ? (GARBAGE & ~M) | out : out;
              const r = runner.run([...prefixes(w, R.BX, R.SI), 0x0f, 0xa3 + (op << 3), modrm(3, R.SI, R.BX)],
                { regs: { [R.BX]: (GARBAGE & ~M) | v, [R.SI]: off }, flags: f0 });
              expect([r.reg(R.BX), r.flags], `${NAMES[op]} ${v.toString(16)} bit ${off}`).toEqual([full, btFlags(f0, v, k)]);
              const ri = runner.run([...prefixes(w, R.BX), 0x0f, 0xba, modrm(3, 4 + op, R.BX), Number(off & 0xffn)],
                { regs: { [R.BX]: (GARBAGE & ~M) | v }, flags: f0 });
              const ki = Number(off & 0xffn) & (w - 1);
              expect([ri.reg(R.BX), ri.flags], `${NAMES[op]} ${v.toString(16)}, imm ${off & 0xffn}`).toEqual([
                w === 16 || (w === 32 && op === BT) ? (GARBAGE & ~M) | applyBit(op, v, ki) : applyBit(op, v, ki), btFlags(f0, v, ki)]);
            }
          }
        }
      });
    }
  }
});

describe('bit-base addressing of memory operands', () => {
  const runner = new Runner();
  /** The operand-sized unit a register offset reaches: EA + size·(offset SAR log2 w), bit offset mod w. */
  function unit(w: number, ea: number, off: bigint): [number, number] {
    const so = sext(off, w);
    const shift = BigInt(Math.log2(w));
    return [ea + Number(so >> shift) * (w / 8), Number(BigInt.asUintN(w, so) & BigInt(w - 1))];
  }
  for (const w of [16, 32, 64]) {
    for (let op = 0; op < 4; op++) {
      it(`${NAMES[op]} m${w}, r${w} treats the offset as signed and reaches outside the operand`, () => {
        const offs = [0n, 5n, BigInt(w), BigInt(w + 1), 1000n, 40000n, -1n, -2n, BigInt(-w), BigInt(-w - 1), -999n, -30000n];
        for (const o of offs) {
          const off = BigInt.asUintN(w, o);
          const [addr, k] = unit(w, BASE, off);
          const v = 0x0123456789abcdefn & maskOf(w);
          const r = runner.run([...prefixes(w, R.BX, R.SI), 0x0f, 0xa3 + (op << 3), modrm(0, R.SI, R.BX)], {
            regs: { [R.BX]: BigInt(BASE), [R.SI]: off },
            mem: [[addr - 8, 8, GARBAGE], [addr, w / 8, v], [addr + w / 8, 8, GARBAGE]],
          });
          expect([r.fault, r.flags & F.CF], `${NAMES[op]} [${BASE.toString(16)}] bit ${o}`).toEqual([undefined, bit(v, k) ? F.CF : 0]);
          expect(r.mem(addr, w / 8)).toBe(applyBit(op, v, k));
          expect([r.mem(addr - 8, 8), r.mem(addr + w / 8, 8)]).toEqual([GARBAGE, GARBAGE]);
        }
      });
    }
  }

  it('bts word [rbx], si with SI = 0xffff sets bit 15 of the word below', () => {
    const r = exec([0x66, 0x0f, 0xab, modrm(0, R.SI, R.BX)], { regs: { [R.BX]: BigInt(BASE), [R.SI]: 0xffffn } });
    expect(r.mem(BASE - 2, 4)).toBe(0x8000n);
  });

  it('bt [rbx], rsi reaches the unit 8·(offset SAR 6) bytes away for a 64-bit offset', () => {
    const r = exec([0x48, 0x0f, 0xa3, modrm(0, R.SI, R.BX)], { regs: { [R.BX]: BigInt(BASE), [R.SI]: 64n * 1000n + 63n }, mem: [[BASE + 8000, 8, 1n << 63n]] });
    expect(r.flags & F.CF).toBe(F.CF);
  });

  it('what if the operand address is non-canonical but the bit\'s unit is not: no fault', () => {
    const ea = 1n << 47n;
    const off = BigInt.asUintN(64, (BigInt(BASE) - ea) * 8n + 5n);
    const r = exec([0x48, 0x0f, 0xab, modrm(0, R.SI, R.BX)], { regs: { [R.BX]: ea, [R.SI]: off } });
    expect(r.fault).toBeUndefined();
    expect(r.mem(BASE, 8)).toBe(0x20n);
  });

  it('what if the offset carries the unit outside canonical space: #GP(0)', () => {
    const r = exec([0x48, 0x0f, 0xa3, modrm(0, R.SI, R.BX)], { regs: { [R.BX]: BigInt(BASE), [R.SI]: 1n << 62n } });
    expect([r.fault?.vector, r.fault?.errorCode]).toEqual([13, 0]);
  });

  it('with a 32-bit address size the base register\'s bits 63..32 do not count', () => {
    const r = exec([0x67, 0x0f, 0xab, modrm(0, R.SI, R.BX)], { regs: { [R.BX]: 0xffffffff00000000n | BigInt(BASE), [R.SI]: 33n } });
    expect(r.mem(BASE + 4, 4)).toBe(2n);
  });

  it('the imm8 form does not leave the operand: bt dword [rbx], 35 tests bit 3', () => {
    const r = exec([0x0f, 0xba, modrm(0, 4, R.BX), 35], { regs: { [R.BX]: BigInt(BASE) }, mem: [[BASE, 8, 0x0000000100000008n]] });
    expect(r.flags & F.CF).toBe(F.CF);
  });

  it('btc qword [rbx+8], 63 complements the top bit in memory', () => {
    const r = exec([0x48, 0x0f, 0xba, modrm(1, 7, R.BX), 8, 63], { regs: { [R.BX]: BigInt(BASE) }, mem: [[BASE + 8, 8, 1n]] });
    expect(r.mem(BASE + 8, 8)).toBe((1n << 63n) | 1n);
    expect(r.flags & F.CF).toBe(0);
  });

  it('LOCK is accepted on bts/btr/btc with memory and refused on bt and on registers', () => {
    expect(exec([0xf0, 0x0f, 0xab, modrm(0, R.SI, R.BX)], { regs: { [R.BX]: BigInt(BASE) } }).fault).toBeUndefined();
    expect(exec([0xf0, 0x0f, 0xba, modrm(0, 6, R.BX), 1], { regs: { [R.BX]: BigInt(BASE) } }).fault).toBeUndefined();
    expect(exec([0xf0, 0x0f, 0xa3, modrm(0, R.SI, R.BX)], { regs: { [R.BX]: BigInt(BASE) } }).fault?.vector).toBe(6);
    expect(exec([0xf0, 0x0f, 0xab, modrm(3, R.SI, R.BX)]).fault?.vector).toBe(6);
  });

  it('0F BA /0../3 are undefined', () => {
    expect(exec([0x0f, 0xba, modrm(3, 2, R.BX), 1]).fault?.vector).toBe(6);
  });
});

// ---- scans and counts -----------------------------------------------------------------

function sample(w: number): bigint[] {
  const M = maskOf(w), out: bigint[] = [0n, 1n, M, 1n << BigInt(w - 1), 0x8n];
  for (let k = 0; k < w; k += 3) out.push(1n << BigInt(k), (M << BigInt(k)) & M, M >> BigInt(k));
  let x = 0x2545f4914f6cdd1dn;
  for (let k = 0; k < 24; k++) { x = BigInt.asUintN(64, x * 6364136223846793005n + 1n); out.push((x >> 7n) & M); }
  return out;
}

function lowest(v: bigint): number { let k = 0; while (!bit(v, k)) k++; return k; }
function highest(v: bigint, w: number): number { let k = w - 1; while (!bit(v, k)) k--; return k; }
function ones(v: bigint): number { let n = 0; for (; v; v >>= 1n) n += Number(v & 1n); return n; }

describe('bsf, bsr, lzcnt, popcnt against bit-by-bit models', () => {
  const runner = new Runner();
  const OLD = 0x1111222233334444n;
  for (const w of [16, 32, 64]) {
    const M = maskOf(w);
    /** The destination after a write of `v`, or after a scan of 0 that leaves it (a 32-bit one still zero-extended, Intel). */
    const dest = (v: bigint | null): bigint => v === null ? (w === 32 ? OLD & M : OLD) : w === 16 ? (OLD & ~M) | v : v;
    const run = (pfx: number[], op: number, src: bigint) =>
      runner.run([...pfx, ...prefixes(w, R.SI, R.DI), 0x0f, op, modrm(3, R.DI, R.SI)], { regs: { [R.SI]: (GARBAGE & ~M) | src, [R.DI]: OLD }, flags: ARITH });

    it(`bsf r${w}: lowest set bit, ZF and the destination left for a zero source`, () => {
      for (const v of sample(w)) {
        const r = run([], 0xbc, v);
        const idx = v === 0n ? null : BigInt(lowest(v));
        expect([r.reg(R.DI), r.flags], `bsf ${v.toString(16)}`).toEqual([dest(idx), idx === null ? F.ZF | F.PF : parity(idx)]);
      }
    });

    it(`bsr r${w}: highest set bit`, () => {
      for (const v of sample(w)) {
        const r = run([], 0xbd, v);
        const idx = v === 0n ? null : BigInt(highest(v, w));
        expect([r.reg(R.DI), r.flags], `bsr ${v.toString(16)}`).toEqual([dest(idx), idx === null ? F.ZF | F.PF : parity(idx)]);
      }
    });

    it(`F3 0F BC on r${w} runs as bsf, since BMI1 (tzcnt) is not advertised`, () => {
      for (const v of sample(w)) {
        const r = run([0xf3], 0xbc, v);
        const idx = v === 0n ? null : BigInt(lowest(v));
        expect([r.reg(R.DI), r.flags], `rep bsf ${v.toString(16)}`).toEqual([dest(idx), idx === null ? F.ZF | F.PF : parity(idx)]);
      }
    });

    it(`lzcnt r${w}: leading zeros, the width and CF for zero, ZF for a result of 0`, () => {
      for (const v of sample(w)) {
        const r = run([0xf3], 0xbd, v);
        const n = v === 0n ? w : w - 1 - highest(v, w);
        expect([r.reg(R.DI), r.flags], `lzcnt ${v.toString(16)}`).toEqual([dest(BigInt(n)), (n === w ? F.CF : 0) | (n === 0 ? F.ZF : 0)]);
      }
    });

    it(`popcnt r${w}: ones counted, ZF for a zero source, every other flag cleared`, () => {
      for (const v of sample(w)) {
        const r = run([0xf3], 0xb8, v);
        expect([r.reg(R.DI), r.flags], `popcnt ${v.toString(16)}`).toEqual([dest(BigInt(ones(v))), v === 0n ? F.ZF : 0]);
      }
    });
  }

  it('bsf reads a memory source', () => {
    const r = exec([0x0f, 0xbc, modrm(0, R.AX, R.BX)], { regs: { [R.BX]: BigInt(BASE) }, mem: [[BASE, 4, 0x00100000n]] });
    expect(r.reg(R.AX)).toBe(20n);
  });

  it('0F B8 without F3 is #UD (jmpe is IA-64 only)', () => {
    expect(exec([0x0f, 0xb8, modrm(3, R.AX, R.BX)]).fault?.vector).toBe(6);
  });

  it('popcnt with an operand-size prefix counts a word', () => {
    const r = exec([0x66, 0xf3, 0x0f, 0xb8, modrm(3, R.AX, R.BX)], { regs: { [R.BX]: 0xffff00ffn, [R.AX]: 0xaaaa0000n } });
    expect(r.reg(R.AX)).toBe(0xaaaa0008n);
  });
});

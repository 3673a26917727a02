// The instruction forms, grouped by family (= output file).
//
// A form: { fam, name, n, isa, ops, asm, prefix?, src?, implicit?, mask, undef?,
//           setup?, same?, fp?, df? }
//   ops      operand specs G()/I()/X() (engine.mjs), in assembler operand order
//   asm      Intel-syntax template ({0} {1} {2} = operand texts) or function
//   prefix   GNU as pseudo prefix to force an encoding ({load} = reg,r/m opcode)
//   src      function returning the assembler source when the bytes are
//            hand-encoded (.byte ...), e.g. C1 /4 ib with count 1
//   implicit [{idx, w, shift?, gen?}] implicit GPR inputs, [{xmm, t}] implicit xmm
//   mask     RFLAGS bits (of 0x8d5) that are architecturally defined after the
//            instruction (a flag the instruction leaves unchanged is defined);
//            number or function(case)
//   undef    function(case) -> names of registers whose output is
//            architecturally undefined for that case
import { ARITH, CF, PF, AF, ZF, SF, OF, M, sx, genInt, genCount, genXmm, MEM_BASE, MEM_SIZE, R64 } from './lib.mjs';
import { G, I, X, newMem } from './engine.mjs';

export const forms = [];
const F = (fam, name, ops, asm, o = {}) => forms.push({ fam, name, ops, asm, n: 96, isa: 'x86-64', mask: ARITH, ...o });

const WIDTHS = [8, 16, 32, 64];
const sweep = (rng, c) => (c.i < 71 ? BigInt(c.i) : genCount(rng));
const nonzero = (w) => (rng) => {
  for (;;) {
    const v = genInt(rng, w);
    if (v !== 0n) return v;
  }
};

// ============================ alu ===========================================
const ALU = ['add', 'or', 'adc', 'sbb', 'and', 'sub', 'xor', 'cmp'];
const LOGIC = new Set(['and', 'or', 'xor']);
for (const op of ALU) {
  const mask = LOGIC.has(op) ? ARITH & ~AF : ARITH;
  for (const w of WIDTHS) {
    F('alu', `${op} r/m${w}, r${w}`, [G(w), G(w)], `${op} {0}, {1}`, { mask });
    F('alu', `${op} r${w}, r/m${w}`, [G(w), G(w)], `${op} {0}, {1}`, { mask, prefix: '{load} ', n: 48 });
    if (w === 8) F('alu', `${op} r/m8, imm8`, [G(8), I(8)], `${op} {0}, {1}`, { mask });
    else {
      F('alu', `${op} r/m${w}, imm8`, [G(w), I(8)], `${op} {0}, {1}`, { mask });
      const iw = w === 16 ? 16 : 32;
      F('alu', `${op} r/m${w}, imm${iw}`, [G(w), I(iw, { notImm8: true })], `${op} {0}, {1}`, { mask, n: 64 });
    }
  }
}
for (const w of WIDTHS) {
  F('alu', `test r/m${w}, r${w}`, [G(w), G(w)], 'test {0}, {1}', { mask: ARITH & ~AF });
  F('alu', `test r/m${w}, imm${w === 64 ? 32 : w}`, [G(w), I(w === 64 ? 32 : w)], 'test {0}, {1}', { mask: ARITH & ~AF, n: 64 });
  for (const op of ['inc', 'dec', 'neg', 'not']) F('alu', `${op} r/m${w}`, [G(w)], `${op} {0}`);
}

// ============================ shift =========================================
const GRP2 = { rol: 0, ror: 1, rcl: 2, rcr: 3, shl: 4, shr: 5, sar: 7 };

export function shiftMask(op, w, count) {
  const c = Number(count) & (w === 64 ? 63 : 31);
  if (c === 0) return ARITH; // no flags affected
  let m;
  if (op === 'shl' || op === 'shr' || op === 'sar') {
    m = CF | PF | ZF | SF; // AF undefined
    if ((op === 'shl' || op === 'shr') && c >= w) m &= ~CF; // SDM: CF undefined when count >= size
  } else {
    m = CF | PF | AF | ZF | SF; // rotates leave SF ZF AF PF alone
  }
  if (c === 1) m |= OF;
  return m;
}

// hand encoding of "grp2 r/m, imm8" (C0/C1) so that a count of 1 is not
// turned into the D0/D1 short form by the assembler
function encGrp2Imm(ext, o, imm) {
  const b = [];
  if (o.w === 16) b.push(0x66);
  const rex = 0x40 | (o.w === 64 ? 8 : 0) | (o.idx >= 8 ? 1 : 0);
  if (rex !== 0x40 || (o.w === 8 && !o.hi && o.idx >= 4)) b.push(rex);
  b.push(o.w === 8 ? 0xc0 : 0xc1);
  b.push(0xc0 | (ext << 3) | (o.hi ? 4 + o.idx : o.idx & 7));
  b.push(Number(imm));
  return '.byte ' + b.map((x) => '0x' + x.toString(16)).join(',');
}

for (const [op, ext] of Object.entries(GRP2)) {
  for (const w of WIDTHS) {
    F('shift', `${op} r/m${w}, 1`, [G(w)], `${op} {0}, 1`, { mask: shiftMask(op, w, 1), n: 64 });
    F('shift', `${op} r/m${w}, imm8`, [G(w), I(8, { fmt: 'u', gen: sweep })], `${op} {0}, {1}`, {
      src: (c) => encGrp2Imm(ext, c.ops[0], c.op(1)),
      mask: (c) => shiftMask(op, w, c.op(1)),
    });
    F('shift', `${op} r/m${w}, cl`, [G(w)], `${op} {0}, cl`, {
      implicit: [{ idx: 1, w: 8, gen: sweep }],
      mask: (c) => shiftMask(op, w, c.reg(1, 8)),
    });
  }
}

function shldMask(w, count) {
  const c = Number(count) & (w === 64 ? 63 : 31);
  if (c === 0) return ARITH;
  if (c > w) return 0; // SDM: result and flags undefined
  return CF | PF | ZF | SF | (c === 1 ? OF : 0);
}
function shldUndef(w, count, c) {
  const n = Number(count) & (w === 64 ? 63 : 31);
  return n > w ? [c.name64(0)] : [];
}
for (const op of ['shld', 'shrd']) {
  for (const w of [16, 32, 64]) {
    F('shift', `${op} r/m${w}, r${w}, imm8`, [G(w), G(w), I(8, { fmt: 'u', gen: sweep })], `${op} {0}, {1}, {2}`, {
      mask: (c) => shldMask(w, c.op(2)),
      undef: (c) => shldUndef(w, c.op(2), c),
    });
    F('shift', `${op} r/m${w}, r${w}, cl`, [G(w), G(w)], `${op} {0}, {1}, cl`, {
      implicit: [{ idx: 1, w: 8, gen: sweep }],
      mask: (c) => shldMask(w, c.reg(1, 8)),
      undef: (c) => shldUndef(w, c.reg(1, 8), c),
    });
  }
}

// ============================ muldiv ========================================
const accImplicit = (w) => (w === 8 ? [{ idx: 0, w: 8 }] : [{ idx: 0, w }, { idx: 2, w: 64 }]);
for (const w of WIDTHS) {
  F('muldiv', `mul r/m${w}`, [G(w)], 'mul {0}', { implicit: accImplicit(w), mask: CF | OF });
  F('muldiv', `imul r/m${w}`, [G(w)], 'imul {0}', { implicit: accImplicit(w), mask: CF | OF });
  if (w === 8) continue;
  F('muldiv', `imul r${w}, r/m${w}`, [G(w), G(w)], 'imul {0}, {1}', { mask: CF | OF });
  F('muldiv', `imul r${w}, r/m${w}, imm8`, [G(w), G(w), I(8)], 'imul {0}, {1}, {2}', { mask: CF | OF });
  const iw = w === 16 ? 16 : 32;
  F('muldiv', `imul r${w}, r/m${w}, imm${iw}`, [G(w), G(w), I(iw, { notImm8: true })], 'imul {0}, {1}, {2}', { mask: CF | OF, n: 64 });
}

function setDividend(c, w, n) {
  n &= M(2 * w);
  if (w === 8) c.setPart(0, 0, 16, n);
  else {
    c.setPart(0, 0, w, n & M(w));
    c.setPart(2, 0, w, n >> BigInt(w));
  }
}

// choose divisor d, quotient q, remainder r so that the quotient fits
function divSetup(signed, w) {
  return (c, rng) => {
    const W = BigInt(w);
    for (let t = 0; t < 1000; t++) {
      const d = nonzero(w)(rng);
      const q = genInt(rng, w);
      if (!signed) {
        const r = rng.chance(0.2) ? 0n : rng.chance(0.2) ? d - 1n : rng.bits(64) % d;
        c.setOp(0, d);
        setDividend(c, w, q * d + r);
        return;
      }
      const ds = sx(d, w), qs = sx(q, w);
      const ad = ds < 0n ? -ds : ds;
      let r = rng.chance(0.2) ? 0n : rng.chance(0.2) ? ad - 1n : rng.bits(64) % ad;
      if (rng.chance(0.5)) r = -r;
      const n = qs * ds + r;
      if (r !== 0n && (n < 0n) !== (r < 0n)) continue;
      if (n === 0n && r !== 0n) continue;
      const lim = 1n << (2n * W - 1n);
      if (n < -lim || n >= lim) continue;
      c.setOp(0, d);
      setDividend(c, w, n);
      return;
    }
    throw new Error('divSetup');
  };
}
function divFaultSetup(signed, w) {
  return (c, rng) => {
    const W = BigInt(w);
    const k = c.i % 3;
    if (k === 0) {
      c.setOp(0, 0n); // divide by zero
      setDividend(c, w, rng.bits(2 * w));
    } else if (signed && k === 1) {
      c.setOp(0, M(w)); // -1
      setDividend(c, w, 1n << (2n * W - 1n)); // most negative dividend
    } else {
      // quotient overflow: |dividend| >= 2^(w-1 or w) * |divisor|
      const d = (rng.bits(w) >> 1n) | 1n;
      c.setOp(0, d);
      setDividend(c, w, (d << W) | rng.bits(w));
    }
  };
}
for (const w of WIDTHS) {
  const excl = w === 8 ? [0] : [0, 2];
  const imp = w === 8 ? [] : [{ idx: 2, w: 64 }];
  F('muldiv', `div r/m${w}`, [G(w, { excl })], 'div {0}', { implicit: imp, setup: divSetup(false, w), mask: 0 });
  F('muldiv', `idiv r/m${w}`, [G(w, { excl })], 'idiv {0}', { implicit: imp, setup: divSetup(true, w), mask: 0 });
  F('muldiv', `div r/m${w} (#DE)`, [G(w, { excl })], 'div {0}', { implicit: imp, setup: divFaultSetup(false, w), mask: 0, n: 12 });
  F('muldiv', `idiv r/m${w} (#DE)`, [G(w, { excl })], 'idiv {0}', { implicit: imp, setup: divFaultSetup(true, w), mask: 0, n: 12 });
}

// ============================ bits ==========================================
const zeroish = (w) => (rng) => (rng.chance(0.2) ? 0n : genInt(rng, w));
for (const w of [16, 32, 64]) {
  for (const op of ['bt', 'bts', 'btr', 'btc']) {
    F('bits', `${op} r/m${w}, r${w}`, [G(w), G(w)], `${op} {0}, {1}`, { mask: CF | ZF });
    F('bits', `${op} r/m${w}, imm8`, [G(w), I(8, { fmt: 'u', gen: genCount })], `${op} {0}, {1}`, { mask: CF | ZF, n: 64 });
  }
  for (const op of ['bsf', 'bsr']) {
    F('bits', `${op} r${w}, r/m${w}`, [G(w), G(w, { gen: zeroish(w) })], `${op} {0}, {1}`, {
      mask: ZF,
      undef: (c) => (c.op(1) === 0n ? [c.name64(0)] : []),
    });
  }
  F('bits', `tzcnt r${w}, r/m${w}`, [G(w), G(w, { gen: zeroish(w) })], 'tzcnt {0}, {1}', { mask: CF | ZF, isa: 'bmi1' });
  F('bits', `lzcnt r${w}, r/m${w}`, [G(w), G(w, { gen: zeroish(w) })], 'lzcnt {0}, {1}', { mask: CF | ZF, isa: 'lzcnt' });
  F('bits', `popcnt r${w}, r/m${w}`, [G(w), G(w, { gen: zeroish(w) })], 'popcnt {0}, {1}', { isa: 'popcnt' });
}
F('bits', 'bswap r32', [G(32)], 'bswap {0}', { n: 48 });
F('bits', 'bswap r64', [G(64)], 'bswap {0}', { n: 48 });
F('bits', 'bswap r16', [G(16)], 'bswap {0}', {
  n: 32,
  src: (c) => {
    const o = c.ops[0];
    const b = [0x66, ...(o.idx >= 8 ? [0x41] : []), 0x0f, 0xc8 + (o.idx & 7)];
    return '.byte ' + b.map((x) => '0x' + x.toString(16)).join(',');
  },
  undef: (c) => [c.name64(0)], // SDM: result undefined for 16-bit operand
});

// ============================ bmi (BMI1/BMI2, VEX) ===========================
const ctlGen = (rng) => (rng.bits(48) << 16n) | (BigInt(rng.int(72)) << 8n) | BigInt(rng.int(72));
for (const w of [32, 64]) {
  const o = { n: 64, isa: 'bmi1' };
  F('bmi', `andn r${w}, r${w}, r/m${w}`, [G(w), G(w), G(w)], 'andn {0}, {1}, {2}', { ...o, mask: CF | ZF | SF | OF });
  F('bmi', `blsi r${w}, r/m${w}`, [G(w), G(w, { gen: zeroish(w) })], 'blsi {0}, {1}', { ...o, mask: CF | ZF | SF | OF });
  F('bmi', `blsmsk r${w}, r/m${w}`, [G(w), G(w, { gen: zeroish(w) })], 'blsmsk {0}, {1}', { ...o, mask: CF | ZF | SF | OF });
  F('bmi', `blsr r${w}, r/m${w}`, [G(w), G(w, { gen: zeroish(w) })], 'blsr {0}, {1}', { ...o, mask: CF | ZF | SF | OF });
  F('bmi', `bextr r${w}, r/m${w}, r${w}`, [G(w), G(w), G(w, { gen: ctlGen })], 'bextr {0}, {1}, {2}', { ...o, mask: CF | ZF | OF });
  const o2 = { n: 64, isa: 'bmi2' };
  F('bmi', `bzhi r${w}, r/m${w}, r${w}`, [G(w), G(w), G(w, { gen: ctlGen })], 'bzhi {0}, {1}, {2}', { ...o2, mask: CF | ZF | SF | OF });
  F('bmi', `pdep r${w}, r${w}, r/m${w}`, [G(w), G(w), G(w)], 'pdep {0}, {1}, {2}', o2);
  F('bmi', `pext r${w}, r${w}, r/m${w}`, [G(w), G(w), G(w)], 'pext {0}, {1}, {2}', o2);
  for (const op of ['sarx', 'shlx', 'shrx']) {
    F('bmi', `${op} r${w}, r/m${w}, r${w}`, [G(w), G(w), G(w, { gen: (rng) => (rng.bits(56) << 8n) | genCount(rng) })], `${op} {0}, {1}, {2}`, o2);
  }
  F('bmi', `rorx r${w}, r/m${w}, imm8`, [G(w), G(w), I(8, { fmt: 'u', gen: genCount })], 'rorx {0}, {1}, {2}', o2);
  F('bmi', `mulx r${w}, r${w}, r/m${w}`, [G(w), G(w), G(w)], 'mulx {0}, {1}, {2}', { ...o2, implicit: [{ idx: 2, w }] });
}

// ============================ misc ==========================================
for (const [d, s] of [[16, 8], [32, 8], [64, 8], [32, 16], [64, 16]]) {
  F('misc', `movzx r${d}, r/m${s}`, [G(d), G(s)], 'movzx {0}, {1}', { n: 48 });
  F('misc', `movsx r${d}, r/m${s}`, [G(d), G(s)], 'movsx {0}, {1}', { n: 48 });
}
F('misc', 'movsxd r64, r/m32', [G(64), G(32)], 'movsxd {0}, {1}', { n: 48 });
for (const w of WIDTHS) {
  F('misc', `mov r/m${w}, r${w}`, [G(w), G(w)], 'mov {0}, {1}', { n: 32 });
  F('misc', `mov r${w}, r/m${w}`, [G(w), G(w)], 'mov {0}, {1}', { n: 32, prefix: '{load} ' });
  if (w < 64) F('misc', `mov r${w}, imm${w}`, [G(w), I(w)], 'mov {0}, {1}', { n: 32 });
  F('misc', `xchg r/m${w}, r${w}`, [G(w), G(w)], 'xchg {0}, {1}', { n: 48 });
  F('misc', `xadd r/m${w}, r${w}`, [G(w), G(w)], 'xadd {0}, {1}');
  F('misc', `cmpxchg r/m${w}, r${w}`, [G(w), G(w)], 'cmpxchg {0}, {1}', {
    implicit: [{ idx: 0, w }],
    setup: (c, rng) => {
      if (rng.chance(0.5)) c.setPart(0, 0, w, c.op(0)); // make the compare succeed
    },
  });
}
F('misc', 'mov r/m64, imm32', [G(64), I(32)], 'mov {0}, {1}', { n: 32 });
F('misc', 'mov r64, imm64', [G(64), I(64, { fmt: 'x' })], 'movabs {0}, {1}', { n: 32 });

export const CC = ['o', 'no', 'b', 'ae', 'e', 'ne', 'be', 'a', 's', 'ns', 'p', 'np', 'l', 'ge', 'le', 'g'];
for (const cc of CC) {
  for (const w of [16, 32, 64]) F('misc', `cmov${cc} r${w}, r/m${w}`, [G(w), G(w)], `cmov${cc} {0}, {1}`, { n: 48 });
  F('misc', `set${cc} r/m8`, [G(8)], `set${cc} {0}`, { n: 48 });
}
for (const [op, w] of [['cbw', 16], ['cwde', 32], ['cdqe', 64], ['cwd', 16], ['cdq', 32], ['cqo', 64]]) {
  F('misc', op, [], op, { n: 48, implicit: [{ idx: 0, w: 64, gen: (rng) => (rng.bits(64) & ~M(w)) | genInt(rng, w) }, { idx: 2, w: 64 }] });
}
for (const op of ['sahf', 'lahf']) F('misc', op, [], op, { n: 48, implicit: [{ idx: 0, w: 64 }] });
for (const op of ['cmc', 'clc', 'stc']) F('misc', op, [], op, { n: 16 });
for (const op of ['cld', 'std']) F('misc', op, [], op, { n: 16, df: true });

// lea: no memory access; base may be rbp/r13 (special mod=00 encodings)
const B64 = (o = {}) => G(64, { rbp: true, ...o });
const disp = (w, o = {}) => I(w, o);
const SCALES = [1, 2, 4, 8];
const addr = (t, c, { base, index, dispIdx }) => {
  const parts = [];
  if (base !== undefined) parts.push(t[base]);
  if (index !== undefined) parts.push(`${t[index]}*${SCALES[c.i % 4]}`);
  let s = parts.join('+');
  if (dispIdx !== undefined) {
    const d = t[dispIdx];
    s += d.startsWith('-') ? d : (s ? '+' : '') + d;
  }
  return `[${s}]`;
};
const leaForms = [
  ['lea r64, [base]', [G(64), B64()], { base: 1 }],
  ['lea r64, [base+disp8]', [G(64), B64(), disp(8)], { base: 1, dispIdx: 2 }],
  ['lea r64, [base+disp32]', [G(64), B64(), disp(32, { notImm8: true })], { base: 1, dispIdx: 2 }],
  ['lea r64, [base+index*scale]', [G(64), B64(), B64()], { base: 1, index: 2 }],
  ['lea r64, [base+index*scale+disp8]', [G(64), B64(), B64(), disp(8)], { base: 1, index: 2, dispIdx: 3 }],
  ['lea r64, [base+index*scale+disp32]', [G(64), B64(), B64(), disp(32, { notImm8: true })], { base: 1, index: 2, dispIdx: 3 }],
  ['lea r64, [index*scale+disp32]', [G(64), B64(), disp(32)], { index: 1, dispIdx: 2 }],
  ['lea r32, [base+index*scale+disp32]', [G(32), B64(), B64(), disp(32)], { base: 1, index: 2, dispIdx: 3 }],
  ['lea r16, [base+index*scale+disp32]', [G(16), B64(), B64(), disp(32)], { base: 1, index: 2, dispIdx: 3 }],
  ['lea r32, [base32+index32*scale+disp32] (addr32)', [G(32), G(32, { rbp: true }), G(32, { rbp: true }), disp(32)], { base: 1, index: 2, dispIdx: 3 }],
  ['lea r64, [base32+index32*scale+disp8] (addr32)', [G(64), G(32, { rbp: true }), G(32, { rbp: true }), disp(8)], { base: 1, index: 2, dispIdx: 3 }],
];
for (const [name, ops, a] of leaForms) {
  F('misc', name, ops, (t, c) => `lea ${t[0]}, ${addr(t, c, a)}`, { n: 48, same: true });
}
F('misc', 'lea r64, [rip+disp32]', [G(64), disp(32)], (t) => `lea ${t[0]}, [rip${t[1].startsWith('-') ? '' : '+'}${t[1]}]`, { n: 16 });

// ============================ string (memory!) ================================
// rsi/rdi point into the 128-byte scratch buffer mapped at MEM_BASE; at most
// 32 bytes are touched in either direction (DF is random).
const SZ = { b: 1, w: 2, d: 4, q: 8 };
function stringSetup(kind, s, rep) {
  return (c, rng) => {
    const maxN = 32 / s;
    const n = rep ? (c.i < 4 ? c.i : rng.int(maxN + 1)) : rng.int(maxN + 1);
    const df = (c.rflags & 0x400n) !== 0n;
    const so = 32 + rng.int(64 - s + 1), dof = 32 + rng.int(64 - s + 1);
    c.setReg(6, MEM_BASE + BigInt(so));
    c.setReg(7, MEM_BASE + BigInt(dof));
    c.setReg(1, BigInt(n));
    c.setReg(0, rng.bits(64));
    c.mem = newMem(rng);
    if (rng.chance(0.3)) for (let i = 0; i < MEM_SIZE; i++) c.mem[i] &= 1; // many equal bytes
    const step = df ? -s : s;
    const cnt = rep ? n : 1;
    if (kind === 'cmps' || kind === 'scas') {
      const fill = rep !== 'repne' ? rng.chance(0.8) : false;
      for (let k = 0; k < cnt && fill; k++) {
        for (let b = 0; b < s; b++) {
          const di = dof + k * step + b;
          c.mem[di] = kind === 'cmps' ? c.mem[so + k * step + b] : Number((c.gpr[0] >> BigInt(8 * b)) & 0xffn);
        }
      }
      if (cnt > 0 && (rep === 'repne' ? rng.chance(0.7) : fill && rng.chance(0.6))) {
        const k = rng.int(cnt), b = rng.int(s);
        const di = dof + k * step + b;
        if (rep === 'repne') {
          for (let bb = 0; bb < s; bb++) {
            const d2 = dof + k * step + bb;
            c.mem[d2] = kind === 'cmps' ? c.mem[so + k * step + bb] : Number((c.gpr[0] >> BigInt(8 * bb)) & 0xffn);
          }
        } else c.mem[di] ^= 1 << rng.int(8);
      }
    }
  };
}
for (const [sfx, s] of Object.entries(SZ)) {
  const variants = {
    movs: [null, 'rep'],
    stos: [null, 'rep'],
    lods: [null],
    cmps: [null, 'repe', 'repne'],
    scas: [null, 'repe', 'repne'],
  };
  for (const [kind, reps] of Object.entries(variants)) {
    for (const rep of reps) {
      const text = (rep ? rep + ' ' : '') + kind + sfx;
      F('string', text, [], text, { n: 32, df: true, setup: stringSetup(kind, s, rep) });
    }
  }
}

// ============================ sse-int =======================================
const SI = (name, ops, asm, o = {}) => F('sse-int', name, ops, asm, { n: 64, ...o });
const bin = (op, t, o = {}) => SI(`${op} xmm, xmm`, [X(t), X(t)], `${op} {0}, {1}`, o);
for (const [op, t] of [
  ['paddb', 'i8'], ['paddw', 'i16'], ['paddd', 'i32'], ['paddq', 'i64'],
  ['psubb', 'i8'], ['psubw', 'i16'], ['psubd', 'i32'], ['psubq', 'i64'],
  ['paddsb', 'i8'], ['paddsw', 'i16'], ['paddusb', 'i8'], ['paddusw', 'i16'],
  ['psubsb', 'i8'], ['psubsw', 'i16'], ['psubusb', 'i8'], ['psubusw', 'i16'],
  ['pand', 'i64'], ['pandn', 'i64'], ['por', 'i64'], ['pxor', 'i64'],
  ['pcmpeqb', 'i8'], ['pcmpeqw', 'i16'], ['pcmpeqd', 'i32'],
  ['pcmpgtb', 'i8'], ['pcmpgtw', 'i16'], ['pcmpgtd', 'i32'],
  ['pmullw', 'i16'], ['pmulhw', 'i16'], ['pmulhuw', 'i16'], ['pmuludq', 'i32'], ['pmaddwd', 'i16'],
  ['pminub', 'i8'], ['pmaxub', 'i8'], ['pminsw', 'i16'], ['pmaxsw', 'i16'],
  ['psadbw', 'i8'], ['pavgb', 'i8'], ['pavgw', 'i16'],
  ['punpcklbw', 'i8'], ['punpcklwd', 'i16'], ['punpckldq', 'i32'], ['punpcklqdq', 'i64'],
  ['punpckhbw', 'i8'], ['punpckhwd', 'i16'], ['punpckhdq', 'i32'], ['punpckhqdq', 'i64'],
  ['packsswb', 'i16'], ['packuswb', 'i16'], ['packssdw', 'i32'],
  ['movdqa', 'rand'], ['movdqu', 'rand'],
]) bin(op, t);
for (const [op, t] of [['psllw', 'i16'], ['pslld', 'i32'], ['psllq', 'i64'], ['psrlw', 'i16'], ['psrld', 'i32'], ['psrlq', 'i64'], ['psraw', 'i16'], ['psrad', 'i32']]) {
  SI(`${op} xmm, xmm`, [X(t), X('count')], `${op} {0}, {1}`);
  SI(`${op} xmm, imm8`, [X(t), I(8, { fmt: 'u', gen: sweep })], `${op} {0}, {1}`, { n: 80 });
}
for (const op of ['pslldq', 'psrldq']) SI(`${op} xmm, imm8`, [X('i8'), I(8, { fmt: 'u', gen: (rng) => BigInt(rng.chance(0.8) ? rng.int(18) : rng.int(256)) })], `${op} {0}, {1}`, { n: 48 });
for (const op of ['pshufd', 'pshuflw', 'pshufhw']) SI(`${op} xmm, xmm, imm8`, [X('i16'), X('rand'), I(8, { fmt: 'u' })], `${op} {0}, {1}, {2}`, { n: 48 });
SI('pmovmskb r32, xmm', [G(32), X('i8')], 'pmovmskb {0}, {1}', { n: 48 });
SI('pmovmskb r64, xmm', [G(64), X('i8')], 'pmovmskb {0}, {1}', { n: 32 });
SI('movd xmm, r32', [X('rand'), G(32)], 'movd {0}, {1}', { n: 32 });
SI('movd r32, xmm', [G(32), X('rand')], 'movd {0}, {1}', { n: 32 });
SI('movq xmm, r64', [X('rand'), G(64)], 'movq {0}, {1}', { n: 32 });
SI('movq r64, xmm', [G(64), X('rand')], 'movq {0}, {1}', { n: 32 });
SI('movq xmm, xmm', [X('rand'), X('rand')], 'movq {0}, {1}', { n: 32 });
const lane = (lim) => ({ fmt: 'u', gen: (rng) => BigInt(rng.chance(0.8) ? rng.int(lim) : rng.int(256)) });
SI('pextrw r32, xmm, imm8', [G(32), X('i16'), I(8, lane(8))], 'pextrw {0}, {1}, {2}', { n: 48 });
SI('pinsrw xmm, r32, imm8', [X('i16'), G(32), I(8, lane(8))], 'pinsrw {0}, {1}, {2}', { n: 48 });
// SSSE3 / SSE4.1 / SSE4.2 register forms
for (const [op, t] of [['pshufb', 'i8'], ['pabsb', 'i8'], ['pabsw', 'i16'], ['pabsd', 'i32'], ['psignb', 'i8'], ['psignw', 'i16'], ['psignd', 'i32'],
  ['phaddw', 'i16'], ['phaddd', 'i32'], ['phsubw', 'i16'], ['phsubd', 'i32'], ['phaddsw', 'i16'], ['pmaddubsw', 'i8'], ['pmulhrsw', 'i16']]) bin(op, t, { isa: 'ssse3' });
SI('palignr xmm, xmm, imm8', [X('i8'), X('i8'), I(8, lane(34))], 'palignr {0}, {1}, {2}', { isa: 'ssse3', n: 48 });
for (const [op, t] of [['pmulld', 'i32'], ['pmuldq', 'i32'], ['pcmpeqq', 'i64'], ['pminsb', 'i8'], ['pmaxsb', 'i8'], ['pminuw', 'i16'], ['pmaxuw', 'i16'],
  ['pminsd', 'i32'], ['pmaxsd', 'i32'], ['pminud', 'i32'], ['pmaxud', 'i32'], ['packusdw', 'i32'],
  ['pmovzxbw', 'i8'], ['pmovzxbd', 'i8'], ['pmovzxbq', 'i8'], ['pmovzxwd', 'i16'], ['pmovzxwq', 'i16'], ['pmovzxdq', 'i32'],
  ['pmovsxbw', 'i8'], ['pmovsxbd', 'i8'], ['pmovsxbq', 'i8'], ['pmovsxwd', 'i16'], ['pmovsxwq', 'i16'], ['pmovsxdq', 'i32']]) bin(op, t, { isa: 'sse4.1' });
SI('ptest xmm, xmm', [X('i8', { gen: (rng) => (rng.chance(0.3) ? 0n : genXmm(rng, 'i8')) }), X('i8')], 'ptest {0}, {1}', { isa: 'sse4.1' });
SI('pblendw xmm, xmm, imm8', [X('i16'), X('i16'), I(8, { fmt: 'u' })], 'pblendw {0}, {1}, {2}', { isa: 'sse4.1', n: 32 });
SI('pblendvb xmm, xmm, <xmm0>', [X('i8'), X('i8')], 'pblendvb {0}, {1}, xmm0', { isa: 'sse4.1', n: 32, implicit: [{ xmm: 0, t: 'i8' }] });
SI('pextrb r32, xmm, imm8', [G(32), X('i8'), I(8, lane(16))], 'pextrb {0}, {1}, {2}', { isa: 'sse4.1', n: 32 });
SI('pextrd r32, xmm, imm8', [G(32), X('i32'), I(8, lane(4))], 'pextrd {0}, {1}, {2}', { isa: 'sse4.1', n: 32 });
SI('pextrq r64, xmm, imm8', [G(64), X('i64'), I(8, lane(2))], 'pextrq {0}, {1}, {2}', { isa: 'sse4.1', n: 32 });
SI('pinsrb xmm, r32, imm8', [X('i8'), G(32), I(8, lane(16))], 'pinsrb {0}, {1}, {2}', { isa: 'sse4.1', n: 32 });
SI('pinsrd xmm, r32, imm8', [X('i32'), G(32), I(8, lane(4))], 'pinsrd {0}, {1}, {2}', { isa: 'sse4.1', n: 32 });
SI('pinsrq xmm, r64, imm8', [X('i64'), G(64), I(8, lane(2))], 'pinsrq {0}, {1}, {2}', { isa: 'sse4.1', n: 32 });
bin('pcmpgtq', 'i64', { isa: 'sse4.2' });

// ============================ sse-fp ========================================
const SF_ = (name, ops, asm, o = {}) => F('sse-fp', name, ops, asm, { n: 64, fp: true, ...o });
const FT = { ss: 'f32', ps: 'f32', sd: 'f64', pd: 'f64' };
for (const op of ['add', 'sub', 'mul', 'div', 'min', 'max']) {
  for (const [s, t] of Object.entries(FT)) SF_(`${op}${s} xmm, xmm`, [X(t), X(t)], `${op}${s} {0}, {1}`);
}
for (const [s, t] of Object.entries(FT)) {
  SF_(`sqrt${s} xmm, xmm`, [X(t), X(t)], `sqrt${s} {0}, {1}`);
  SF_(`cmp${s} xmm, xmm, imm8`, [X(t), X(t), I(8, { fmt: 'u', gen: (rng, c) => BigInt(c.i % 8) })], `cmp${s} {0}, {1}, {2}`, { n: 96 });
}
for (const op of ['and', 'andn', 'or', 'xor']) for (const s of ['ps', 'pd']) SF_(`${op}${s} xmm, xmm`, [X(FT[s]), X(FT[s])], `${op}${s} {0}, {1}`, { n: 32 });
for (const op of ['ucomiss', 'comiss']) SF_(`${op} xmm, xmm`, [X('f32'), X('f32')], `${op} {0}, {1}`);
for (const op of ['ucomisd', 'comisd']) SF_(`${op} xmm, xmm`, [X('f64'), X('f64')], `${op} {0}, {1}`);
for (const w of [32, 64]) {
  SF_(`cvtsi2ss xmm, r${w}`, [X('f32'), G(w)], 'cvtsi2ss {0}, {1}');
  SF_(`cvtsi2sd xmm, r${w}`, [X('f64'), G(w)], 'cvtsi2sd {0}, {1}');
  for (const op of ['cvtss2si', 'cvttss2si']) SF_(`${op} r${w}, xmm`, [G(w), X('f32')], `${op} {0}, {1}`);
  for (const op of ['cvtsd2si', 'cvttsd2si']) SF_(`${op} r${w}, xmm`, [G(w), X('f64')], `${op} {0}, {1}`);
}
for (const [op, ts, td] of [['cvtss2sd', 'f32', 'f64'], ['cvtsd2ss', 'f64', 'f32'], ['cvtdq2ps', 'i32', 'f32'], ['cvtdq2pd', 'i32', 'f64'],
  ['cvtps2dq', 'f32', 'i32'], ['cvttps2dq', 'f32', 'i32'], ['cvtpd2dq', 'f64', 'i32'], ['cvttpd2dq', 'f64', 'i32'],
  ['cvtps2pd', 'f32', 'f64'], ['cvtpd2ps', 'f64', 'f32']]) SF_(`${op} xmm, xmm`, [X(td), X(ts)], `${op} {0}, {1}`);
SF_('shufps xmm, xmm, imm8', [X('f32'), X('f32'), I(8, { fmt: 'u' })], 'shufps {0}, {1}, {2}', { n: 32 });
SF_('shufpd xmm, xmm, imm8', [X('f64'), X('f64'), I(8, { fmt: 'u' })], 'shufpd {0}, {1}, {2}', { n: 32 });
for (const op of ['unpcklps', 'unpckhps', 'unpcklpd', 'unpckhpd', 'movss', 'movsd', 'movaps', 'movapd', 'movups', 'movupd', 'movhlps', 'movlhps']) {
  SF_(`${op} xmm, xmm`, [X('rand'), X('rand')], `${op} {0}, {1}`, { n: 24 });
}
SF_('movmskps r32, xmm', [G(32), X('f32')], 'movmskps {0}, {1}', { n: 32 });
SF_('movmskpd r32, xmm', [G(32), X('f64')], 'movmskpd {0}, {1}', { n: 32 });
for (const [op, t] of [['addsubps', 'f32'], ['addsubpd', 'f64'], ['haddps', 'f32'], ['haddpd', 'f64'], ['hsubps', 'f32'], ['hsubpd', 'f64']]) {
  SF_(`${op} xmm, xmm`, [X(t), X(t)], `${op} {0}, {1}`, { isa: 'sse3' });
}
for (const [op, t] of [['movddup', 'f64'], ['movshdup', 'f32'], ['movsldup', 'f32']]) SF_(`${op} xmm, xmm`, [X(t), X(t)], `${op} {0}, {1}`, { isa: 'sse3', n: 24 });
for (const [s, t] of Object.entries(FT)) {
  SF_(`round${s} xmm, xmm, imm8`, [X(t), X(t), I(8, { fmt: 'u', gen: (rng, c) => BigInt(c.i % 16) })], `round${s} {0}, {1}, {2}`, { isa: 'sse4.1', n: 96 });
}
SF_('blendps xmm, xmm, imm8', [X('f32'), X('f32'), I(8, lane(16))], 'blendps {0}, {1}, {2}', { isa: 'sse4.1', n: 24 });
SF_('blendpd xmm, xmm, imm8', [X('f64'), X('f64'), I(8, lane(4))], 'blendpd {0}, {1}, {2}', { isa: 'sse4.1', n: 24 });
SF_('blendvps xmm, xmm, <xmm0>', [X('f32'), X('f32')], 'blendvps {0}, {1}, xmm0', { isa: 'sse4.1', n: 24, implicit: [{ xmm: 0, t: 'i32' }] });
SF_('blendvpd xmm, xmm, <xmm0>', [X('f64'), X('f64')], 'blendvpd {0}, {1}, xmm0', { isa: 'sse4.1', n: 24, implicit: [{ xmm: 0, t: 'i64' }] });
SF_('insertps xmm, xmm, imm8', [X('f32'), X('f32'), I(8, { fmt: 'u' })], 'insertps {0}, {1}, {2}', { isa: 'sse4.1', n: 48 });
SF_('extractps r32, xmm, imm8', [G(32), X('f32'), I(8, lane(4))], 'extractps {0}, {1}, {2}', { isa: 'sse4.1', n: 24 });
SF_('dpps xmm, xmm, imm8', [X('f32'), X('f32'), I(8, { fmt: 'u' })], 'dpps {0}, {1}, {2}', { isa: 'sse4.1', n: 48 });
SF_('dppd xmm, xmm, imm8', [X('f64'), X('f64'), I(8, { fmt: 'u' })], 'dppd {0}, {1}, {2}', { isa: 'sse4.1', n: 48 });

export const FAMILIES = ['alu', 'shift', 'muldiv', 'bits', 'bmi', 'misc', 'string', 'sse-int', 'sse-fp'];
export { R64 };

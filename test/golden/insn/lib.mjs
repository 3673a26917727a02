// Shared helpers for the instruction golden-data generator (cases.mjs / forms.mjs).
// Everything here is deterministic: the PRNG is seeded per form from its name.

export const CF = 0x1, PF = 0x4, AF = 0x10, ZF = 0x40, SF = 0x80, DF = 0x400, OF = 0x800;
export const ARITH = CF | PF | AF | ZF | SF | OF; // 0x8d5
export const MEM_BASE = 0x10000000n;
export const CODE_BASE = 0x20000000n;
export const MEM_SIZE = 128;

export const R64 = ['rax', 'rcx', 'rdx', 'rbx', 'rsp', 'rbp', 'rsi', 'rdi', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15'];
const R32 = ['eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi', 'r8d', 'r9d', 'r10d', 'r11d', 'r12d', 'r13d', 'r14d', 'r15d'];
const R16 = ['ax', 'cx', 'dx', 'bx', 'sp', 'bp', 'si', 'di', 'r8w', 'r9w', 'r10w', 'r11w', 'r12w', 'r13w', 'r14w', 'r15w'];
const R8 = ['al', 'cl', 'dl', 'bl', 'spl', 'bpl', 'sil', 'dil', 'r8b', 'r9b', 'r10b', 'r11b', 'r12b', 'r13b', 'r14b', 'r15b'];
const HI8 = ['ah', 'ch', 'dh', 'bh'];

export function regName(idx, w, hi = false) {
  if (hi) return HI8[idx];
  return { 64: R64, 32: R32, 16: R16, 8: R8 }[w][idx];
}

export const M = (w) => (1n << BigInt(w)) - 1n;
export const sx = (v, w) => (v & (1n << BigInt(w - 1)) ? v - (1n << BigInt(w)) : v);
export const hex = (v) => '0x' + BigInt(v).toString(16);
export const hex128 = (v) => '0x' + BigInt(v).toString(16).padStart(32, '0');

// ---- PRNG: sfc32, seeded from a string -------------------------------------
function fnv1a(s) {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

export class Rng {
  constructor(seedStr) {
    this.a = fnv1a('a' + seedStr);
    this.b = fnv1a('b' + seedStr);
    this.c = fnv1a('c' + seedStr);
    this.d = 1;
    for (let i = 0; i < 16; i++) this.u32();
  }
  u32() {
    let { a, b, c, d } = this;
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    Object.assign(this, { a, b, c, d });
    return t >>> 0;
  }
  int(n) { return this.u32() % n; } // slight bias is irrelevant here
  chance(p) { return this.u32() / 4294967296 < p; }
  pick(a) { return a[this.int(a.length)]; }
  bits(w) {
    let v = 0n;
    for (let i = 0; i < w; i += 32) v = (v << 32n) | BigInt(this.u32());
    return v & M(w);
  }
  frac() { return this.u32() / 4294967296; }
}

// ---- integer operand values -------------------------------------------------
const EDGES = {};
for (const w of [8, 16, 32, 64]) {
  const m = M(w), W = BigInt(w);
  const s = new Set([
    0n, 1n, 2n, 3n, m, m - 1n, m >> 1n, (m >> 1n) - 1n, 1n << (W - 1n), (1n << (W - 1n)) + 1n,
    0x5555555555555555n & m, 0xaaaaaaaaaaaaaaaan & m, 0x7fn, 0x80n, 0xffn, 0x100n, 0x7fffn, 0x8000n,
    0xffffn, 0x10000n, 0x7fffffffn, 0x80000000n, 0xffffffffn, 0x100000000n, 0x0123456789abcdefn & m,
    0xfedcba9876543210n & m,
  ].filter((v) => v <= m));
  EDGES[w] = [...s];
}
export { EDGES };

export function genInt(rng, w) {
  const m = M(w), r = rng.int(100);
  if (r < 35) return rng.pick(EDGES[w]);
  if (r < 50) {
    const v = 1n << BigInt(rng.int(w));
    const t = rng.int(4);
    return (t === 0 ? v : t === 1 ? v - 1n : t === 2 ? v + 1n : -v) & m;
  }
  if (r < 60) return BigInt(rng.int(41) - 20) & m;
  if (r < 70) return rng.bits(rng.int(w) + 1);
  return rng.bits(w);
}

// shift / rotate / bit-offset counts: mostly small
export function genCount(rng) {
  const r = rng.int(10);
  if (r < 6) return BigInt(rng.int(71));
  if (r < 8) return BigInt(rng.pick([0, 1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 255]));
  return BigInt(rng.int(256));
}

// ---- floating point values --------------------------------------------------
const dv = new DataView(new ArrayBuffer(8));
export function f64bits(x) { dv.setFloat64(0, x, true); return dv.getBigUint64(0, true); }
export function f32bits(x) { dv.setFloat32(0, x, true); return BigInt(dv.getUint32(0, true)); }

const F64_SPECIAL = [
  ...[0, -0, 1, -1, 1.5, -1.5, 0.5, -0.5, 2.5, -2.5, 3, 0.1, 1 / 3, -2 / 3, 2 ** 31, 2 ** 31 - 1, 2 ** 31 - 0.5,
    2 ** 31 + 0.5, -(2 ** 31), -(2 ** 31) - 1, -(2 ** 31) - 0.5, 2 ** 32, 2 ** 63, -(2 ** 63), 2 ** 64, 2 ** 53 + 2, 1e10, -1e10,
    1e39, -1e39, 1e-40, 3.4028235677973366e38, 1e300, -1e300, 1e-300, Number.MAX_VALUE, -Number.MAX_VALUE,
    2.2250738585072014e-308, 2.225073858507201e-308, 5e-324, -5e-324, Infinity, -Infinity].map(f64bits),
  0x7ff8000000000000n, 0xfff8000000000000n, 0x7ff8000000001234n, 0x7ff0000000000001n, 0xfff4000000000abcn,
];
const F32_SPECIAL = [
  ...[0, -0, 1, -1, 1.5, -1.5, 0.5, -0.5, 2.5, -2.5, 3, 0.1, 1 / 3, 2 ** 31, 2 ** 31 - 128, -(2 ** 31), 2 ** 32, 2 ** 63,
    -(2 ** 63), 2 ** 24 + 2, 1e10, 1e30, -1e30, 1e-30, 3.4028234663852886e38, -3.4028234663852886e38,
    1.1754943508222875e-38, 1.401298464324817e-45, Infinity, -Infinity].map(f32bits),
  0x007fffffn, 0x807fffffn, 0x7fc00000n, 0xffc00000n, 0x7fc01234n, 0x7f800001n, 0xffa00abcn,
];

export function genF(rng, w) {
  const r = rng.int(100);
  const conv = w === 64 ? f64bits : (x) => f32bits(Math.fround(x));
  if (r < 40) return rng.pick(w === 64 ? F64_SPECIAL : F32_SPECIAL);
  if (r < 70) {
    const e = rng.int(81) - 40;
    return conv((rng.chance(0.5) ? -1 : 1) * (1 + rng.frac()) * 2 ** e);
  }
  if (r < 85) return conv(rng.chance(0.5) ? rng.int(2001) - 1000 : (rng.int(201) - 100) / 2);
  return rng.bits(w);
}

export const LANE_W = { i8: 8, i16: 16, i32: 32, i64: 64, f32: 32, f64: 64 };

export function genLane(rng, type) {
  const w = LANE_W[type];
  return type[0] === 'f' ? genF(rng, w) : genInt(rng, w);
}

export function genXmm(rng, type) {
  if (type === 'rand') return rng.bits(128);
  if (type === 'count') {
    // packed shift count: low 64 bits are the count
    const r = rng.int(10);
    const lo = r < 7 ? BigInt(rng.int(71)) : r < 9 ? rng.pick(EDGES[64]) : rng.bits(64);
    return (rng.bits(64) << 64n) | lo;
  }
  const w = LANE_W[type];
  let v = 0n;
  for (let i = 0; i < 128 / w; i++) v |= genLane(rng, type) << BigInt(i * w);
  return v;
}

// Case construction: turns a form description (forms.mjs) into concrete cases
// (registers picked, operand values chosen, assembler source text).
import { ARITH, DF, M, MEM_SIZE, R64, Rng, genInt, genXmm, LANE_W, regName, sx, hex } from './lib.mjs';

// ---- operand spec constructors (used by forms.mjs) ---------------------------
// G(w, {gen, excl, noHi, rbp}) : general register of width w
// I(w, {gen, fmt: 's'|'u'|'x', notImm8}) : immediate of w bits
// X(type, {gen}) : xmm register, lanes of type i8/i16/i32/i64/f32/f64/rand/count
export const G = (w, o = {}) => ({ k: 'r', w, ...o });
export const I = (w, o = {}) => ({ k: 'i', w, fmt: 's', ...o });
export const X = (t, o = {}) => ({ k: 'x', t, ...o });

function candidates(spec) {
  const out = [];
  for (let idx = 0; idx < 16; idx++) {
    if (idx === 4) continue; // never rsp
    if (idx === 5 && !spec.rbp) continue; // rbp only where a form asks for it (lea)
    if (spec.excl && spec.excl.includes(idx)) continue;
    out.push({ idx, hi: false });
  }
  if (spec.w === 8 && !spec.noHi) {
    for (let idx = 0; idx < 4; idx++) {
      if (spec.excl && spec.excl.includes(idx)) continue;
      out.push({ idx, hi: true });
    }
  }
  return out;
}

function needsRex(o) {
  if (o.k === 'r') return o.idx >= 8 || o.w === 64 || (o.w === 8 && !o.hi && o.idx >= 4);
  if (o.k === 'x') return o.idx >= 8;
  return false;
}

export class Case {
  constructor(form, rng, i) {
    this.form = form;
    this.rng = rng;
    this.i = i;
    this.gpr = new Array(16).fill(undefined);
    this.xmm = new Array(16).fill(undefined);
    this.rflags = 2n;
    this.mxcsr = undefined;
    this.mem = null;
    this.ops = [];
    this.undef = [];
  }
  touch(idx) {
    if (this.gpr[idx] === undefined) this.gpr[idx] = this.rng.bits(64);
  }
  setPart(idx, shift, w, v) {
    this.touch(idx);
    const m = M(w) << BigInt(shift);
    this.gpr[idx] = (this.gpr[idx] & ~m) | ((BigInt(v) & M(w)) << BigInt(shift));
  }
  getPart(idx, shift, w) {
    return ((this.gpr[idx] ?? 0n) >> BigInt(shift)) & M(w);
  }
  reg(idx, w = 64) { return this.getPart(idx, 0, w); }
  setReg(idx, v, w = 64) { this.setPart(idx, 0, w, v); }
  op(i) {
    const o = this.ops[i];
    if (o.k === 'r') return this.getPart(o.idx, o.hi ? 8 : 0, o.w);
    if (o.k === 'x') return this.xmm[o.idx];
    return o.value;
  }
  setOp(i, v) {
    const o = this.ops[i];
    if (o.k === 'r') this.setPart(o.idx, o.hi ? 8 : 0, o.w, v);
    else if (o.k === 'x') this.xmm[o.idx] = BigInt(v) & M(128);
    else o.value = BigInt(v) & M(o.w);
  }
  name64(i) { return R64[this.ops[i].idx]; }
  text(i) {
    const o = this.ops[i];
    if (o.k === 'r') return regName(o.idx, o.w, o.hi);
    if (o.k === 'x') return `xmm${o.idx}`;
    if (o.fmt === 'u') return o.value.toString();
    if (o.fmt === 'x') return hex(o.value);
    return sx(o.value, o.w).toString();
  }
}

function genImm(rng, spec, c) {
  for (let t = 0; ; t++) {
    const v = (spec.gen ? spec.gen(rng, c) : genInt(rng, spec.w)) & M(spec.w);
    if (spec.notImm8) {
      const s = sx(v, spec.w);
      if (s >= -128n && s <= 127n) {
        if (t < 50) continue;
        return 0x1234n;
      }
    }
    return v;
  }
}

export function makeCase(form, rng, i) {
  const c = new Case(form, rng, i);
  // 1. pick registers (respecting the no-REX rule for ah/ch/dh/bh)
  for (let attempt = 0; ; attempt++) {
    c.ops = form.ops.map((s) => {
      if (s.k === 'r') return { ...s, ...rng.pick(candidates(s)) };
      if (s.k === 'x') return { ...s, idx: s.fixed ?? rng.int(16) };
      return { ...s };
    });
    if (form.same !== false && rng.chance(0.12)) {
      const regs = c.ops.filter((o) => o.k === 'r' || o.k === 'x');
      if (regs.length >= 2 && regs[0].k === regs[1].k) {
        const [a, b] = regs;
        const ok = b.k === 'x' || candidates(b).some((x) => x.idx === a.idx && x.hi === (a.hi && a.w === b.w));
        if (ok) {
          b.idx = a.idx;
          if (b.k === 'r') b.hi = a.hi && a.w === b.w;
        }
      }
    }
    const hasHi = c.ops.some((o) => o.k === 'r' && o.hi);
    const rexW = form.rex || c.ops.some(needsRex);
    if (!(hasHi && rexW)) break;
    if (attempt > 200) throw new Error(`cannot pick registers for ${form.name}`);
  }
  // 2. input flags
  c.rflags = BigInt((rng.u32() & ARITH) | 2);
  if (form.df && rng.chance(0.5)) c.rflags |= BigInt(DF);
  if (form.fp) c.mxcsr = genMxcsr(rng);
  // 3. operand values, in operand order (a later operand aliasing an earlier
  //    register overwrites it)
  c.ops.forEach((o, k) => {
    if (o.k === 'r') {
      c.touch(o.idx);
      c.setOp(k, o.gen ? o.gen(rng, c) : genInt(rng, o.w));
    } else if (o.k === 'x') {
      c.xmm[o.idx] = o.gen ? o.gen(rng, c) : genXmm(rng, o.t);
    } else {
      o.value = genImm(rng, o, c);
    }
  });
  // correlate lanes of two xmm sources of the same lane type (equal lanes
  // matter for compares, min/max, subtraction ...)
  const xs = c.ops.filter((o) => o.k === 'x' && LANE_W[o.t]);
  if (xs.length >= 2 && xs[0].t === xs[1].t && xs[0].idx !== xs[1].idx && rng.chance(0.6)) {
    const w = LANE_W[xs[0].t];
    let a = c.xmm[xs[0].idx], b = c.xmm[xs[1].idx];
    for (let l = 0; l < 128 / w; l++) {
      if (rng.chance(0.3)) {
        const m = M(w) << BigInt(l * w);
        b = (b & ~m) | (a & m);
      }
    }
    c.xmm[xs[1].idx] = b;
  }
  // 4. implicit operands
  for (const im of form.implicit || []) {
    if (im.xmm !== undefined) c.xmm[im.xmm] = im.gen ? im.gen(rng, c) : genXmm(rng, im.t);
    else c.setPart(im.idx, im.shift || 0, im.w, im.gen ? im.gen(rng, c) : genInt(rng, im.w));
  }
  // 5. form-specific fix-ups (division, string setup, ...)
  if (form.setup) form.setup(c, rng);
  // 6. text
  const texts = c.ops.map((_, k) => c.text(k));
  c.asm = typeof form.asm === 'function' ? form.asm(texts, c) : form.asm.replace(/\{(\d)\}/g, (_, d) => texts[+d]);
  c.src = form.src ? form.src(c, texts) : (form.prefix || '') + c.asm;
  c.mask = typeof form.mask === 'function' ? form.mask(c) : form.mask ?? ARITH;
  c.undef = form.undef ? form.undef(c) : [];
  return c;
}

function genMxcsr(rng) {
  if (rng.chance(0.55)) return 0x1f80n;
  let m = 0x1f80 | (rng.int(4) << 13);
  if (rng.chance(0.25)) m |= 0x8000; // FTZ
  if (rng.chance(0.25)) m |= 0x40; // DAZ
  if (rng.chance(0.2)) m |= rng.int(64); // sticky exception flags already set
  return BigInt(m);
}

export function newMem(rng) {
  const m = new Uint8Array(MEM_SIZE);
  for (let i = 0; i < MEM_SIZE; i++) m[i] = rng.int(256);
  return m;
}

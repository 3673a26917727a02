#!/usr/bin/env node
// Sanity check of the generated data (and so of the native harness): an
// independent, deliberately simple reference model for the integer ALU forms,
// shifts/rotates, mul and div. Checks the defined flags (flagsMask) and the
// destination register; any mismatch means either a harness bug or a wrong
// flagsMask. Usage: node selfcheck.mjs [DIR]   (default: ./cases)
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const dir = process.argv[2] || path.join(here, 'cases');
const load = (f) => JSON.parse(zlib.gunzipSync(fs.readFileSync(path.join(dir, `${f}.json.gz`))).toString());

const R64 = ['rax', 'rcx', 'rdx', 'rbx', 'rsp', 'rbp', 'rsi', 'rdi', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15'];
const REGS = {};
R64.forEach((r, i) => {
  REGS[r] = [r, 0, 64];
  const n = i >= 8 ? r : null;
  REGS[n ? n + 'd' : ['eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi'][i]] = [r, 0, 32];
  REGS[n ? n + 'w' : ['ax', 'cx', 'dx', 'bx', 'sp', 'bp', 'si', 'di'][i]] = [r, 0, 16];
  REGS[n ? n + 'b' : ['al', 'cl', 'dl', 'bl', 'spl', 'bpl', 'sil', 'dil'][i]] = [r, 0, 8];
});
['ah', 'ch', 'dh', 'bh'].forEach((h, i) => (REGS[h] = [R64[i], 8, 8]));

const M = (w) => (1n << BigInt(w)) - 1n;
const msb = (v, w) => (v >> BigInt(w - 1)) & 1n;
const parity = (v) => {
  let p = 1n;
  for (let i = 0n; i < 8n; i++) p ^= (v >> i) & 1n;
  return p;
};
const CF = 1n, PF = 4n, AF = 0x10n, ZF = 0x40n, SF = 0x80n, OF = 0x800n;
function szp(r, w) {
  return (r === 0n ? ZF : 0n) | (msb(r, w) ? SF : 0n) | (parity(r & 0xffn) ? PF : 0n);
}
function addFlags(a, b, cin, w) {
  const r = (a + b + cin) & M(w);
  let f = szp(r, w);
  if (a + b + cin > M(w)) f |= CF;
  if (((a ^ b ^ r) & 0x10n) !== 0n) f |= AF;
  if (msb(a, w) === msb(b, w) && msb(r, w) !== msb(a, w)) f |= OF;
  return [r, f];
}
function subFlags(a, b, cin, w) {
  const r = (a - b - cin) & M(w);
  let f = szp(r, w);
  if (a < b + cin) f |= CF;
  if (((a ^ b ^ r) & 0x10n) !== 0n) f |= AF;
  if (msb(a, w) !== msb(b, w) && msb(r, w) !== msb(a, w)) f |= OF;
  return [r, f];
}
const sx = (v, w) => (v & (1n << BigInt(w - 1)) ? v - (1n << BigInt(w)) : v);

function parseOperand(t, w, st) {
  if (REGS[t]) {
    const [r, sh, rw] = REGS[t];
    return { reg: t, r, sh, w: rw, v: (st[r] >> BigInt(sh)) & M(rw) };
  }
  return { imm: true, v: BigInt(t) & M(w) };
}

function ref(mn, ops, st, flags) {
  const [d, s] = ops;
  const w = d.w;
  const cf = flags & CF;
  const keep = (f, m) => (flags & ~m) | f;
  switch (mn) {
    case 'add': case 'adc': { const [r, f] = addFlags(d.v, s.v, mn === 'adc' ? cf : 0n, w); return [r, f]; }
    case 'sub': case 'sbb': case 'cmp': {
      const [r, f] = subFlags(d.v, s.v, mn === 'sbb' ? cf : 0n, w);
      return [mn === 'cmp' ? null : r, f];
    }
    case 'and': case 'or': case 'xor': case 'test': {
      const r = mn === 'or' ? d.v | s.v : mn === 'xor' ? d.v ^ s.v : d.v & s.v;
      return [mn === 'test' ? null : r, szp(r, w)];
    }
    case 'inc': { const [r, f] = addFlags(d.v, 1n, 0n, w); return [r, keep(f & ~CF, ~CF & 0x8d5n)]; }
    case 'dec': { const [r, f] = subFlags(d.v, 1n, 0n, w); return [r, keep(f & ~CF, ~CF & 0x8d5n)]; }
    case 'neg': { const [r, f] = subFlags(0n, d.v, 0n, w); return [r, f]; }
    case 'not': return [~d.v & M(w), flags];
    case 'shl': case 'shr': case 'sar': case 'rol': case 'ror': case 'rcl': case 'rcr': {
      const n = Number(s.v) & (w === 64 ? 63 : 31);
      if (n === 0) return [d.v, flags];
      let v = d.v, c = cf;
      if (mn === 'shl') { for (let i = 0; i < n; i++) { c = msb(v, w); v = (v << 1n) & M(w); } }
      if (mn === 'shr') { for (let i = 0; i < n; i++) { c = v & 1n; v >>= 1n; } }
      if (mn === 'sar') { for (let i = 0; i < n; i++) { c = v & 1n; v = (v >> 1n) | (msb(v, w) << BigInt(w - 1)); } }
      if (mn === 'rol') { for (let i = 0; i < n % w; i++) v = ((v << 1n) | msb(v, w)) & M(w); c = v & 1n; }
      if (mn === 'ror') { for (let i = 0; i < n % w; i++) v = (v >> 1n) | ((v & 1n) << BigInt(w - 1)); c = msb(v, w); }
      const rm = w === 8 ? 9 : w === 16 ? 17 : 1e9;
      if (mn === 'rcl') { for (let i = 0; i < n % rm; i++) { const nc = msb(v, w); v = ((v << 1n) | c) & M(w); c = nc; } }
      if (mn === 'rcr') { for (let i = 0; i < n % rm; i++) { const nc = v & 1n; v = (v >> 1n) | (c << BigInt(w - 1)); c = nc; } }
      let f;
      if (mn === 'shl' || mn === 'shr' || mn === 'sar') f = szp(v, w) | c;
      else f = (flags & ~(CF | OF)) | c;
      // OF for count 1
      let of = 0n;
      if (mn === 'shl' || mn === 'rol' || mn === 'rcl') of = msb(v, w) ^ c;
      if (mn === 'shr') of = msb(d.v, w);
      if (mn === 'ror' || mn === 'rcr') of = msb(v, w) ^ ((v >> BigInt(w - 2)) & 1n);
      if (mn === 'rcr') of = msb(d.v, w) ^ cf; // SDM: OF = MSB(DEST) XOR CF before rotate
      if (of) f |= OF;
      return [v, f];
    }
  }
  return undefined;
}

let checked = 0, bad = 0, skipped = 0;
for (const fam of ['alu', 'shift']) {
  for (const form of load(fam).forms) {
    for (const c of form.cases) {
      const m = c.asm.match(/^(\w+) ([^,]+)(?:, (.+))?$/);
      const mn = m[1];
      if (m[3] && m[3].includes(",")) { skipped++; continue; }
      const st = Object.fromEntries(R64.map((r) => [r, BigInt(c.in[r] ?? 0)]));
      const flags = BigInt(c.in.rflags);
      const d = parseOperand(m[2], 64, st);
      const s = m[3] !== undefined ? parseOperand(m[3], d.w, st) : undefined;
      const res = ref(mn, [d, s], st, flags);
      if (!res) { skipped++; continue; }
      const [r, f] = res;
      const mask = BigInt(c.flagsMask ?? form.flagsMask);
      const outF = BigInt(c.out.rflags);
      let ok = ((outF ^ f) & mask) === 0n;
      if (r !== null) {
        const exp = d.w === 32 ? r : (st[d.r] & ~(M(d.w) << BigInt(d.sh))) | (r << BigInt(d.sh));
        if (BigInt(c.out[d.r]) !== exp) ok = false;
      }
      checked++;
      if (!ok) {
        bad++;
        if (bad <= 15) console.log(`MISMATCH ${form.form}: ${c.asm} in=${JSON.stringify(c.in)} out=${JSON.stringify(c.out)} ref r=${r?.toString(16)} f=${f.toString(16)} mask=${mask.toString(16)}`);
      }
    }
  }
}

// mul / div: result registers
for (const form of load('muldiv').forms) {
  for (const c of form.cases) {
    const m = c.asm.match(/^(mul|div|idiv) (\w+)$/);
    if (!m || c.fault) continue;
    const st = Object.fromEntries(R64.map((r) => [r, BigInt(c.in[r] ?? 0)]));
    const s = parseOperand(m[2], 64, st);
    const w = s.w, W = BigInt(w);
    const o = Object.fromEntries(R64.map((r) => [r, BigInt(c.out[r] ?? c.in[r] ?? 0)]));
    let lo, hi, olo, ohi;
    if (m[1] === 'mul') {
      const p = (w === 8 ? st.rax & 0xffn : st.rax & M(w)) * s.v;
      lo = p & M(w); hi = p >> W;
    } else {
      const n = w === 8 ? st.rax & 0xffffn : ((st.rdx & M(w)) << W) | (st.rax & M(w));
      if (m[1] === 'div') { lo = n / s.v; hi = n % s.v; } else {
        const ns = sx(n, 2 * w), ds = sx(s.v, w);
        lo = (ns / ds) & M(w); hi = (ns % ds) & M(w);
      }
    }
    if (w === 8) { olo = o.rax & 0xffn; ohi = (o.rax >> 8n) & 0xffn; } else { olo = o.rax & M(w); ohi = o.rdx & M(w); }
    checked++;
    if (olo !== lo || ohi !== hi) {
      bad++;
      if (bad <= 15) console.log(`MISMATCH ${form.form}: ${c.asm} ${JSON.stringify(c.in)} -> ${JSON.stringify(c.out)} ref lo=${lo.toString(16)} hi=${hi.toString(16)}`);
    }
  }
}
console.log(`selfcheck: ${checked} cases checked against the reference model, ${bad} mismatches, ${skipped} skipped`);
process.exit(bad ? 1 : 0);

#!/usr/bin/env node
// Generates the instruction golden data.
//
//   node cases.mjs --gen PATH/TO/gen --out DIR [--work TMPDIR]
//
// 1. builds every case of every form (forms.mjs) with a per-form seeded PRNG;
// 2. writes one .s file, assembles it with GNU as, extracts the bytes with
//    objcopy (instruction lengths come from a .data table of label
//    differences);
// 3. writes binary input records (layout: harness.h) and runs the native
//    executor `gen` on them;
// 4. writes DIR/<family>.json.gz through a temp file + rename, and prints a
//    summary.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { forms, FAMILIES } from './forms.mjs';
import { makeCase } from './engine.mjs';
import { ARITH, DF, R64, Rng, hex, hex128, MEM_BASE, CODE_BASE, MEM_SIZE } from './lib.mjs';

const args = Object.fromEntries(
  process.argv.slice(2).reduce((a, v, i, arr) => (v.startsWith('--') ? [...a, [v.slice(2), arr[i + 1]]] : a), []),
);
const GEN = args.gen;
const OUT = args.out;
if (!GEN || !OUT) {
  console.error('usage: node cases.mjs --gen PATH/TO/gen --out DIR [--work DIR]');
  process.exit(2);
}
const WORK = args.work || fs.mkdtempSync(path.join(os.tmpdir(), 'insn-golden-'));

const REC = { CODE: 0, CODELEN: 16, MXCSR: 20, GPR: 24, RFLAGS: 152, FAULT: 160, XMM: 168, MEM: 424, SIZE: 552 };
const SIGNAME = { 8: 'DE', 11: 'SEGV', 4: 'UD', 7: 'BUS', 5: 'TRAP' };

// ---- 1. cases ----------------------------------------------------------------
const names = new Set();
const all = [];
for (const form of forms) {
  if (names.has(form.name)) throw new Error(`duplicate form ${form.name}`);
  names.add(form.name);
  if (!FAMILIES.includes(form.fam)) throw new Error(`unknown family ${form.fam}`);
  const rng = new Rng(`damselfly-insn/1/${form.name}`);
  form.cases = [];
  for (let i = 0; i < form.n; i++) {
    const c = makeCase(form, rng, i);
    form.cases.push(c);
    all.push(c);
  }
}

// ---- 2. assemble ---------------------------------------------------------------
const lines = ['.intel_syntax noprefix', '.text'];
all.forEach((c, k) => lines.push(`.L${k}: ${c.src}`));
lines.push(`.L${all.length}:`, '.data');
for (let k = 0; k < all.length; k++) lines.push(`.byte .L${k + 1}-.L${k}`);
const sFile = path.join(WORK, 'cases.s');
fs.writeFileSync(sFile, lines.join('\n') + '\n');
try {
  execFileSync('as', ['--64', '-o', path.join(WORK, 'cases.o'), sFile], { stdio: ['ignore', 'pipe', 'pipe'] });
} catch (e) {
  const err = e.stderr.toString();
  for (const m of err.matchAll(/cases\.s:(\d+): (.*)/g)) {
    const k = +m[1] - 3;
    if (all[k]) console.error(`${all[k].form.name}: ${all[k].src}: ${m[2]}`);
  }
  console.error(err.split('\n').slice(0, 20).join('\n'));
  process.exit(1);
}
execFileSync('objcopy', ['-O', 'binary', '-j', '.text', path.join(WORK, 'cases.o'), path.join(WORK, 'text.bin')]);
execFileSync('objcopy', ['-O', 'binary', '-j', '.data', path.join(WORK, 'cases.o'), path.join(WORK, 'len.bin')]);
const text = fs.readFileSync(path.join(WORK, 'text.bin'));
const lens = fs.readFileSync(path.join(WORK, 'len.bin'));
if (lens.length < all.length) throw new Error('length table too short');
let off = 0;
all.forEach((c, k) => {
  const n = lens[k];
  if (n < 1 || n > 15) throw new Error(`bad length ${n} for ${c.src}`);
  c.bytes = text.subarray(off, off + n);
  off += n;
});
if (off !== text.length) throw new Error(`text size mismatch ${off} != ${text.length}`);

// ---- 3. execute natively ---------------------------------------------------------
const inBuf = Buffer.alloc(all.length * REC.SIZE);
all.forEach((c, k) => {
  const b = k * REC.SIZE;
  c.bytes.copy(inBuf, b + REC.CODE);
  inBuf.writeUInt32LE(c.bytes.length, b + REC.CODELEN);
  inBuf.writeUInt32LE(Number(c.mxcsr ?? 0x1f80n), b + REC.MXCSR);
  for (let r = 0; r < 16; r++) if (r !== 4) inBuf.writeBigUInt64LE(c.gpr[r] ?? 0n, b + REC.GPR + 8 * r);
  inBuf.writeBigUInt64LE(c.rflags, b + REC.RFLAGS);
  for (let x = 0; x < 16; x++) writeU128(inBuf, b + REC.XMM + 16 * x, c.xmm[x] ?? 0n);
  if (c.mem) Buffer.from(c.mem).copy(inBuf, b + REC.MEM);
});
fs.writeFileSync(path.join(WORK, 'in.bin'), inBuf);
execFileSync(GEN, [path.join(WORK, 'in.bin'), path.join(WORK, 'out.bin')], { stdio: ['ignore', 'inherit', 'inherit'] });
const outBuf = fs.readFileSync(path.join(WORK, 'out.bin'));
if (outBuf.length !== inBuf.length) throw new Error('executor output size mismatch');

function writeU128(buf, o, v) {
  buf.writeBigUInt64LE(v & 0xffffffffffffffffn, o);
  buf.writeBigUInt64LE(v >> 64n, o + 8);
}
function readU128(buf, o) {
  return buf.readBigUInt64LE(o) | (buf.readBigUInt64LE(o + 8) << 64n);
}

// ---- 4. JSON ------------------------------------------------------------------------
const cpu = cpuString();
const perFam = Object.fromEntries(FAMILIES.map((f) => [f, []]));
const unexpectedFaults = [];
all.forEach((c, k) => {
  const b = k * REC.SIZE;
  const inJ = {}, outJ = {};
  for (let r = 0; r < 16; r++) {
    if (r === 4) continue;
    const iv = c.gpr[r];
    const ov = outBuf.readBigUInt64LE(b + REC.GPR + 8 * r);
    if (iv !== undefined) inJ[R64[r]] = hex(iv);
    if (iv !== undefined || ov !== 0n) outJ[R64[r]] = hex(ov);
  }
  inJ.rflags = hex(c.rflags);
  outJ.rflags = hex(outBuf.readBigUInt64LE(b + REC.RFLAGS) & 0xcd7n);
  for (let x = 0; x < 16; x++) {
    const iv = c.xmm[x];
    const ov = readU128(outBuf, b + REC.XMM + 16 * x);
    if (iv !== undefined) inJ[`xmm${x}`] = hex128(iv);
    if (iv !== undefined || ov !== 0n) outJ[`xmm${x}`] = hex128(ov);
  }
  const omx = BigInt(outBuf.readUInt32LE(b + REC.MXCSR));
  if (c.mxcsr !== undefined) inJ.mxcsr = hex(c.mxcsr);
  if (c.mxcsr !== undefined || omx !== 0x1f80n) outJ.mxcsr = hex(omx);
  if (c.mem) {
    inJ.mem = Buffer.from(c.mem).toString('hex');
    outJ.mem = outBuf.subarray(b + REC.MEM, b + REC.MEM + MEM_SIZE).toString('hex');
  } else if (!outBuf.subarray(b + REC.MEM, b + REC.MEM + MEM_SIZE).equals(Buffer.alloc(MEM_SIZE))) {
    throw new Error(`${c.asm}: unexpected memory write`);
  }
  const j = { asm: c.asm, bytes: c.bytes.toString('hex'), in: inJ, out: outJ };
  const formMask = typeof c.form.mask === 'number' ? c.form.mask : ARITH;
  if (c.mask !== formMask) j.flagsMask = hex(c.mask | DF);
  if (c.undef.length) j.undefined = c.undef;
  const fault = outBuf.readUInt32LE(b + REC.FAULT);
  if (fault) {
    j.fault = SIGNAME[fault] || `SIG${fault}`;
    if (!c.form.name.includes('#DE')) unexpectedFaults.push(`${c.form.name}: ${c.asm}: ${j.fault}`);
  }
  c.json = j;
});
if (unexpectedFaults.length) {
  console.error('unexpected faults:\n' + unexpectedFaults.slice(0, 20).join('\n'));
  process.exit(1);
}

fs.mkdirSync(OUT, { recursive: true });
const summary = [];
let totalForms = 0, totalCases = 0, totalBytes = 0;
for (const fam of FAMILIES) {
  const fs_ = forms.filter((f) => f.fam === fam);
  const doc = {
    format: 'damselfly-insn-golden/1',
    family: fam,
    cpu,
    codeBase: hex(CODE_BASE),
    memBase: hex(MEM_BASE),
    forms: fs_.map((f) => ({
      form: f.name,
      isa: f.isa,
      flagsMask: hex((typeof f.mask === 'number' ? f.mask : ARITH) | DF),
      cases: f.cases.map((c) => c.json),
    })),
  };
  const json = JSON.stringify(doc, null, 0).replace(/\{"asm"/g, '\n{"asm"');
  const gz = zlib.gzipSync(Buffer.from(json + '\n'), { level: 9 });
  const dest = path.join(OUT, `${fam}.json.gz`);
  const tmp = dest + '.tmp';
  fs.writeFileSync(tmp, gz);
  fs.renameSync(tmp, dest);
  const n = fs_.reduce((a, f) => a + f.cases.length, 0);
  summary.push({ fam, forms: fs_.length, cases: n, json: json.length, gz: gz.length });
  totalForms += fs_.length;
  totalCases += n;
  totalBytes += gz.length;
}
console.log(`cpu: ${cpu}`);
console.log('family      forms   cases   json(KiB)  gz(KiB)');
for (const s of summary) {
  console.log(`${s.fam.padEnd(10)} ${String(s.forms).padStart(6)} ${String(s.cases).padStart(7)} ${String((s.json / 1024).toFixed(0)).padStart(10)} ${String((s.gz / 1024).toFixed(0)).padStart(8)}`);
}
console.log(`${'total'.padEnd(10)} ${String(totalForms).padStart(6)} ${String(totalCases).padStart(7)} ${''.padStart(10)} ${String((totalBytes / 1024).toFixed(0)).padStart(8)}`);
if (!args.work) fs.rmSync(WORK, { recursive: true, force: true });

function cpuString() {
  try {
    const t = fs.readFileSync('/proc/cpuinfo', 'utf8');
    const get = (k) => (t.match(new RegExp(`^${k}\\s*: (.*)$`, 'm')) || [])[1];
    return `${get('model name')} (family ${get('cpu family')} model ${get('model')} stepping ${get('stepping')})`;
  } catch {
    return 'unknown';
  }
}

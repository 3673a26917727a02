#!/usr/bin/env node
// Builds test/golden/disasm/cases.json: instruction bytes and GNU objdump's
// Intel-syntax text for them, the oracle for emu/cpu/disasm.ts.
//
// The encodings come from three places:
//   rows      every row of the opcode table (emu/cpu/opcodes.ts), encoded from
//             the row's own fields: register and memory forms, 66 and REX.W
//             for size-dependent rows, REX.RXB, LOCK, REP, segment overrides,
//             in 64-bit mode and, unless the row is 64-bit only, 32- and 16-bit mode
//   modrm     every ModRM (and a sweep of SIB) byte on one reference row, in
//             64-, 32- and 16-bit mode, to pin down memory operand syntax
//   fixtures  instructions of the committed test binaries (test/fixtures/bin)
//             that the table decodes, a few of each kind
// Each encoding sits at its own 16-byte slot of a flat binary padded with 90
// (nop), so objdump resynchronises after any disagreement about a length; the
// case records the bytes objdump took, so a length mismatch shows in the test.
// objdump is the only oracle; our decoder just picks the fixture instructions
// the table knows and reports rows left without a case.
//
// Run at development time, after adding rows:  node test/golden/disasm/generate.mjs
// Needs GNU binutils (objdump) and the dev dependencies (esbuild).
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '../../..');
const work = mkdtempSync(join(tmpdir(), 'disasm-golden-'));

// The table and decoder, bundled from the TypeScript sources.
const bundle = join(work, 'table.mjs');
await build({
  stdin: {
    contents: "export { opTable } from './emu/cpu/opcodes.ts'; export { Decoder } from './emu/cpu/decode.ts'; export { Insn } from './emu/cpu/insn.ts';",
    resolveDir: root, loader: 'ts',
  },
  outfile: bundle, bundle: true, platform: 'node', format: 'esm', logLevel: 'warning',
});
const { opTable, Decoder, Insn } = await import(pathToFileURL(bundle).href);
const decoder = new Decoder(opTable);

/** The row our decoder picks for `bytes`, or null if it rejects them or wants more. */
function decodeRow(bytes, mode) {
  const insn = new Insn();
  try {
    decoder.decode((k) => { if (k >= bytes.length) throw new Error('past the end'); return bytes[k]; }, mode, insn);
    return insn.row;
  } catch {
    return null;
  }
}

const ARCH = { 64: 'i386:x86-64', 32: 'i386', 16: 'i8086' };
const BASE = { 64: 0x401000, 32: 0x8049000, 16: 0x1000 };
const SLOT = 16;
const PAD = 0x90;

// ---------------------------------------------------------------- rows

const SIZE_DEP = /^(?:s?[A-Z](?:v|z|y|p|a)|[erz][A-Z]{2})$/;

/**
 * A far pointer (Ap, Mp) with REX.W: Intel reads an m16:64, AMD an m16:32,
 * and objdump follows AMD (`FWORD PTR`), so those variants are not generated.
 */
const FAR_POINTER = /^[AM]p$/;

/** The operand forms a row allows for the ModRM r/m field. */
function rmForms(row) {
  if (!row.hasModrm) return [null];
  if (row.rm !== undefined || row.mod === 'reg') return ['reg'];
  if (row.mod === 'mem') return ['mem'];
  const rmOps = row.operands.flatMap((o) => o.split('/')).filter((o) => /^[EWQMRUN]/.test(o));
  if (rmOps.length === 0) return ['reg', 'mem'];
  const forms = [];
  if (rmOps.some((o) => /^[EWQRUN]/.test(o))) forms.push('reg');
  if (rmOps.some((o) => /^[EWQM]/.test(o))) forms.push('mem');
  return forms;
}

/**
 * ModRM.reg for a row without /digit: a register that each reg-field operand
 * kind accepts, and no /digit that a sibling row at the same opcode claims.
 */
function regField(row, ext) {
  if (row.digit !== undefined) return row.digit;
  const kinds = row.operands.map((o) => o[0]);
  if (kinds.includes('S')) return 3;              // ds
  if (kinds.includes('C')) return ext ? 0 : 3;    // cr3, or cr8 with REX.R
  if (kinds.includes('D')) return 7;
  const taken = new Set(opTable.maps[row.map][row.opcode].filter((r) => r.digit !== undefined).map((r) => r.digit));
  return [2, 0, 1, 3, 4, 5, 6, 7].find((d) => !taken.has(d)) ?? 2;
}

/**
 * Memory operand layouts (ModRM mod/rm, optional SIB, displacement bytes), by
 * address size. They rotate over a row's variants so every row sees a few.
 */
const MEM = {
  8: [
    { mod: 1, rm: 4, sib: (2 << 6) | (1 << 3) | 3, disp: [0x10] },        // [rbx+rcx*4+0x10]
    { mod: 0, rm: 5, disp: [0x34, 0x12, 0, 0] },                          // [rip+0x1234]
    { mod: 0, rm: 0, disp: [] },                                          // [rax]
    { mod: 2, rm: 5, disp: [0x00, 0xff, 0xff, 0xff] },                    // [rbp-0x100]
    { mod: 1, rm: 4, sib: (0 << 6) | (4 << 3) | 4, disp: [0xf8] },        // [rsp-0x8]
  ],
  4: [
    { mod: 1, rm: 4, sib: (2 << 6) | (1 << 3) | 3, disp: [0x10] },
    { mod: 0, rm: 5, disp: [0x34, 0x12, 0, 0] },                          // ds:0x1234
    { mod: 0, rm: 0, disp: [] },
    { mod: 2, rm: 5, disp: [0x00, 0xff, 0xff, 0xff] },
    { mod: 1, rm: 4, sib: (0 << 6) | (4 << 3) | 4, disp: [0xf8] },
  ],
  2: [
    { mod: 1, rm: 0, disp: [0x10] },                                      // [bx+si+0x10]
    { mod: 0, rm: 6, disp: [0x34, 0x12] },                                // ds:0x1234
    { mod: 0, rm: 7, disp: [] },                                          // [bx]
    { mod: 2, rm: 6, disp: [0x00, 0xff] },                                // [bp-0x100]
  ],
};

function le(v, n) {
  const out = [];
  let x = BigInt.asUintN(n * 8, BigInt(v));
  for (let k = 0; k < n; k++) { out.push(Number(x & 0xffn)); x >>= 8n; }
  return out;
}

/** Immediate bytes: `neg` picks a value with the top bit set, to show sign handling. */
function immBytes(kind, osz, asz, neg) {
  switch (kind) {
    case 0: return [];
    case 1: return le(neg ? -0x10 : 0x12, 1);                                  // Imm.B
    case 2: return le(neg ? 0xfedc : 0x1234, 2);                               // Imm.W
    case 3: return le(neg ? -0x100 : 0x12345678, osz === 2 ? 2 : 4);           // Imm.Z
    case 4: return le(neg ? -0x1234 : 0x123456789abcdef0n & ((1n << BigInt(osz * 8)) - 1n), osz); // Imm.V
    case 5: return le(neg ? -0x200 : 0x12345678, 4);                           // Imm.D
    case 6: return le(neg ? -0x2000 : 0x11223344556677n & ((1n << BigInt(asz * 8)) - 1n), asz); // Imm.Moffs
    case 7: return le(neg ? -0x1000 : 0x12345678, osz === 2 ? 2 : 4);          // Imm.Offset (far pointer)
    default: throw new Error(`immediate kind ${kind}`);
  }
}

/** Operand and address size by the SDM's rules, kept apart from decode.ts so objdump checks the decoder's lengths. */
function sizes(row, mode, p) {
  const opsize = p.opsize && row.pfx !== 0x66;
  let osz;
  if (mode === 64) osz = row.size === 'f64' || p.rexW ? 8 : row.size === 'd64' ? (opsize ? 2 : 8) : opsize ? 2 : 4;
  else osz = (mode === 32) !== opsize ? 4 : 2;
  if (row.byteOp) osz = 1;
  const asz = mode === 64 ? (p.adsize ? 4 : 8) : (mode === 32) !== p.adsize ? 4 : 2;
  return { osz, asz };
}

/**
 * One encoding of `row`. p: { pre: legacy prefix bytes, rex, opsize, adsize,
 * form: 'reg' | 'mem' | null, mem: layout index, ext: use REX.R/X/B registers, neg }.
 */
function encode(row, mode, p) {
  const rexW = (p.rex & 8) !== 0;
  const { osz, asz } = sizes(row, mode, { ...p, rexW });
  const out = [...p.pre];
  if (p.opsize) out.push(0x66);
  if (p.adsize) out.push(0x67);
  if (row.pfx) out.push(row.pfx);
  if (p.rex) out.push(p.rex);
  if (row.map === 1) out.push(0x0f);
  if (row.map === 2) out.push(0x0f, 0x38);
  if (row.map === 3) out.push(0x0f, 0x3a);
  out.push(row.opcode);
  if (row.hasModrm) {
    const reg = regField(row, p.ext) & 7;
    if (p.form === 'reg') {
      const rm = row.rm ?? (row.operands.some((o) => /^[EWQRUN]|^ST/.test(o)) ? 6 : 0);
      out.push(0xc0 | (reg << 3) | rm);
    } else {
      const layouts = MEM[asz];
      const m = layouts[p.mem % layouts.length];
      out.push((m.mod << 6) | (reg << 3) | m.rm);
      if (m.sib !== undefined) out.push(m.sib);
      out.push(...m.disp);
    }
  }
  out.push(...immBytes(row.imm1, osz, asz, p.neg));
  out.push(...immBytes(row.imm2, osz, asz, !p.neg));
  return out;
}

function rowCases(row) {
  const cases = [];
  const modes = row.mode === 'i64' ? [32, 16] : row.mode === 'o64' ? [64] : [64, 32, 16];
  const ops = row.operands;
  const sizeDep = !row.byteOp && (row.mn.includes('|') || ops.some((o) => o.split('/').some((x) => SIZE_DEP.test(x))));
  const forms = rmForms(row);
  const str = ops.some((o) => /^[XY][a-z]/.test(o));
  const moffs = ops.some((o) => o[0] === 'O');
  const byteRegs = ops.some((o) => /^[EGZ]b$/.test(o));
  const rexW = sizeDep && row.size === undefined && !ops.some((o) => FAR_POINTER.test(o));
  for (const mode of modes) {
    const add = (p) => cases.push({ mode, group: `rows${mode}`, bytes: encode(row, mode, { pre: [], rex: 0, opsize: false, adsize: false, mem: 0, ext: false, neg: false, ...p }) });
    forms.forEach((form, k) => add({ form, mem: k, neg: k === 0 }));
    if (sizeDep && row.size !== 'f64' && row.pfx === undefined) add({ form: forms.at(-1), opsize: true, mem: 4 });
    if (row.lock && forms.includes('mem')) add({ form: 'mem', pre: [0xf0], mem: 2 });
    if (str) {
      add({ form: null, pre: [0xf3] });
      if (row.wf) add({ form: null, pre: [0xf2] });
      add({ form: null, adsize: true });
      if (ops.some((o) => /^X[a-z]/.test(o))) add({ form: null, pre: [0x64] });
    }
    if (moffs) { add({ form: null, adsize: true }); add({ form: null, pre: [0x65] }); }
    if (forms.includes('mem') && !str && !moffs) add({ form: 'mem', pre: [mode === 64 ? 0x64 : 0x26], mem: 2 });
    if (mode !== 64) continue;
    if (rexW) forms.forEach((form, k) => add({ form, rex: 0x48, mem: k + 1, neg: k !== 0 }));
    if (row.hasModrm) {
      // REX.R and REX.B reach registers 8..15; REX.X/B reach them in SIB addressing.
      const w = rexW ? 8 : 0;
      for (const form of forms) {
        if (form === 'reg') add({ form, rex: 0x45 | w, ext: true });
        else if (form === 'mem') { add({ form, rex: 0x43 | w, ext: true, mem: 0 }); add({ form, rex: 0x41, mem: 2 }); }
      }
    }
    if (ops.some((o) => o[0] === 'Z')) { add({ form: null, rex: 0x41 }); add({ form: null, rex: 0x49 }); }
    if (byteRegs) add({ form: forms[0], rex: 0x40 });
  }
  return cases;
}

// ---------------------------------------------------------------- ModRM/SIB sweep

function sweepCases() {
  const row = opTable.rows.find((r) => r.map === 0 && r.opcode === 0x8b);
  const cases = [];
  const push = (mode, bytes) => cases.push({ mode, group: `modrm${mode}`, bytes });
  const disp = (mod, rm, base, asz) => {
    if (asz === 2) return mod === 1 ? [0x80] : mod === 2 || (mod === 0 && rm === 6) ? [0x00, 0x80] : [];
    if (mod === 1) return [0xc0];
    if (mod === 2 || (mod === 0 && (rm === 5 || base === 5))) return [0x78, 0x56, 0x34, 0x92];
    return [];
  };
  for (const mode of [64, 32, 16]) {
    const asz = mode === 64 ? 8 : mode === 32 ? 4 : 2;
    for (let modrm = 0; modrm < 0xc0; modrm++) {
      const mod = modrm >> 6, rm = modrm & 7;
      if (asz !== 2 && rm === 4) {
        for (let sib = 0; sib < 256; sib += mod === 0 ? 1 : 37) push(mode, [row.opcode, modrm, sib, ...disp(mod, rm, sib & 7, asz)]);
      } else {
        push(mode, [row.opcode, modrm, ...disp(mod, rm, -1, asz)]);
      }
    }
    // 67: the other address size; REX.X/REX.B: registers 8..15 as index and base.
    for (const modrm of [0x04, 0x05, 0x44, 0x85, 0x00, 0x46, 0x86, 0x06]) {
      const other = mode === 64 ? 4 : mode === 32 ? 2 : 4;
      const sib = other !== 2 && [0x04, 0x44, 0x84].includes(modrm) ? [0x25 + (modrm & 0xc0)] : [];
      push(mode, [0x67, row.opcode, modrm, ...sib, ...disp(modrm >> 6, modrm & 7, other === 2 ? -1 : sib.length ? sib[0] & 7 : -1, other)]);
    }
    if (mode === 64) {
      for (const rex of [0x41, 0x42, 0x43, 0x44, 0x48, 0x4f]) {
        for (const [modrm, sib] of [[0x04, 0x24], [0x04, 0x25], [0x04, 0x65], [0x44, 0xe5], [0x05, undefined], [0x45, undefined], [0x84, 0xa0], [0xc1, undefined]]) {
          push(mode, [rex, row.opcode, modrm, ...(sib === undefined ? [] : [sib]), ...disp(modrm >> 6, modrm & 7, sib === undefined ? -1 : sib & 7, 8)]);
        }
      }
    }
    for (const seg of [0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65]) {
      push(mode, [seg, row.opcode, 0x00]);
      push(mode, [seg, row.opcode, 0x45, 0x08]);
      push(mode, [seg, row.opcode, ...(asz === 2 ? [0x06, 0x34, 0x12] : [0x05, 0x34, 0x12, 0, 0])]);
    }
  }
  return cases;
}

// ---------------------------------------------------------------- fixtures

const GPR_CLASS = [
  [/\b(r(?:[abcd]x|[sd]i|[sb]p|\d+))\b/g, 'r64'], [/\b(e(?:[abcd]x|[sd]i|[sb]p)|r\d+d)\b/g, 'r32'],
  [/\b([abcd]x|[sd]i|[sb]p|r\d+w)\b/g, 'r16'], [/\b([abcd][lh]|[sd]il|[sb]pl|r\d+b)\b/g, 'r8'],
  [/\bxmm\d+\b/g, 'xmm'], [/\bmm\d\b/g, 'mm'], [/\bst\(\d\)/g, 'sti'], [/0x[0-9a-f]+/g, 'n'],
];

/** A coarse shape of an instruction (mnemonic, operand kinds) so the sample covers many kinds. */
function shape(text) {
  let s = text.replace(/\s+#.*$/, '').replace(/\[[^\]]*\]/g, 'm');
  for (const [re, name] of GPR_CLASS) s = s.replace(re, name);
  return s.replace(/\s+/g, ' ');
}

/**
 * objdump shows FWAIT followed by an x87 control instruction (9b d9 /7, 9b df e0, …)
 * as one instruction (fstcw = fwait; fnstcw); the CPU and our decoder see two.
 */
const isFwaitPair = (bytes) => bytes[0] === 0x9b && bytes.length > 1;

function fixtureCases() {
  const dir = join(root, 'test/fixtures/bin');
  const seen = new Set();
  const shapes = new Set();
  const cases = [];
  const skipped = new Map();
  for (const name of readdirSync(dir).sort()) {
    const listing = execFileSync('objdump', ['-d', '-w', '-M', 'intel', join(dir, name)], { encoding: 'utf8', maxBuffer: 1 << 28 });
    for (const line of listing.split('\n')) {
      const m = /^\s*[0-9a-f]+:\t([0-9a-f ]+?)\s*\t(.*)$/.exec(line);
      if (!m) continue;
      const bytes = m[1].split(' ').map((h) => parseInt(h, 16));
      const text = m[2].trim();
      const key = bytes.join(',');
      if (seen.has(key) || text.includes('(bad)') || text.startsWith('.byte') || isFwaitPair(bytes)) continue;
      seen.add(key);
      if (decodeRow(bytes, 64) === null) {
        const mn = text.split(/\s+/)[0];
        skipped.set(mn, (skipped.get(mn) ?? 0) + 1);
        continue;
      }
      const sh = shape(text);
      if (shapes.has(sh)) continue;
      shapes.add(sh);
      cases.push({ mode: 64, group: 'fixtures', bytes });
    }
  }
  return { cases, skipped };
}

// ---------------------------------------------------------------- objdump

function runObjdump(mode, list) {
  const blob = new Uint8Array(list.length * SLOT).fill(PAD);
  list.forEach((c, k) => blob.set(c.bytes, k * SLOT));
  const file = join(work, `blob${mode}.bin`);
  writeFileSync(file, blob);
  const base = BASE[mode];
  const out = execFileSync('objdump', ['-D', '-z', '-w', '-b', 'binary', '-m', ARCH[mode], '-M', 'intel',
    `--adjust-vma=0x${base.toString(16)}`, file], { encoding: 'utf8', maxBuffer: 1 << 28 });
  const byAddr = new Map();
  for (const line of out.split('\n')) {
    const m = /^\s*([0-9a-f]+):\t([0-9a-f ]+?)\s*\t(.*)$/.exec(line);
    if (m) byAddr.set(parseInt(m[1], 16), { bytes: m[2].split(' ').map((h) => parseInt(h, 16)), text: m[3].trim() });
  }
  return list.map((c, k) => {
    const addr = base + k * SLOT;
    const got = byAddr.get(addr);
    if (!got) throw new Error(`objdump printed nothing at 0x${addr.toString(16)} (${hex(c.bytes)})`);
    return { ...c, addr, bytes: got.bytes, text: got.text, want: c.bytes };
  });
}

const hex = (bytes) => bytes.map((b) => b.toString(16).padStart(2, '0')).join('');

// ---------------------------------------------------------------- main

const generated = [];
for (const row of opTable.rows) generated.push(...rowCases(row));
generated.push(...sweepCases());
const fixtures = fixtureCases();
generated.push(...fixtures.cases);

const unique = new Map();
for (const c of generated) {
  const key = `${c.mode}:${hex(c.bytes)}`;
  if (!unique.has(key)) unique.set(key, c);
}

const results = [];
for (const mode of [64, 32, 16]) results.push(...runObjdump(mode, [...unique.values()].filter((c) => c.mode === mode)));

// Dropped: encodings objdump rejects, and MPX, which our CPU lacks (CPUID): there the
// 0f 1a/0f 1b memory forms are the hint NOPs of the table, objdump reads them as bnd*.
const bad = results.filter((c) => c.text.includes('(bad)') || c.text.startsWith('.byte') || /\bbnd(?:ldx|stx|mov)\b/.test(c.text));
const kept = results.filter((c) => !bad.includes(c));
for (const c of bad) console.warn(`dropped ${c.mode}-bit ${hex(c.want)}: objdump says ${c.text}`);

const lines = kept.map((c) => '  ' + JSON.stringify({ group: c.group, mode: c.mode, addr: `0x${c.addr.toString(16)}`, bytes: hex(c.bytes), text: c.text }));
const objdumpVersion = execFileSync('objdump', ['--version'], { encoding: 'utf8' }).split('\n')[0];
const json = `{\n "format": "damselfly-disasm-golden/1",\n "objdump": ${JSON.stringify(objdumpVersion)},\n "command": "objdump -D -z -w -b binary -m ARCH -M intel --adjust-vma=ADDR",\n "rows": ${opTable.rows.length},\n "cases": [\n${lines.join(',\n')}\n ]\n}\n`;
const dest = join(here, 'cases.json');
writeFileSync(dest + '.tmp', json);
renameSync(dest + '.tmp', dest);
rmSync(work, { recursive: true, force: true });

// The test requires a case for every row; say here already which rows have none.
const covered = new Set(kept.map((c) => decodeRow(c.bytes, c.mode)));
for (const row of opTable.rows) {
  if (!covered.has(row)) console.warn(`no case decodes to row ${row.mn} ${row.code.toString(16)} ${row.ops ?? ''}`);
}

const count = (g) => kept.filter((c) => c.group === g).length;
console.log(`${kept.length} cases (${['rows64', 'rows32', 'rows16', 'modrm64', 'modrm32', 'modrm16', 'fixtures'].map((g) => `${g} ${count(g)}`).join(', ')}); ${covered.size} of ${opTable.rows.length} rows covered`);
if (fixtures.skipped.size > 0) {
  const list = [...fixtures.skipped].sort((a, b) => b[1] - a[1]).map(([mn, n]) => `${mn}×${n}`).join(' ');
  console.log(`fixture instructions the table does not decode yet: ${list}`);
}

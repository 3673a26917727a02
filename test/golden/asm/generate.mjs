#!/usr/bin/env node
// Builds test/golden/asm/cases.json: Intel-syntax source and the bytes GNU as
// makes of it, the oracle for tools/asm.
//
// The source comes from three places:
//   disasm    objdump's text of every case in test/golden/disasm/cases.json
//             (every table row, the ModRM/SIB sweep, the fixture binaries), with
//             branch targets rewritten relative to `.` and the rip comment cut;
//             the bytes are GNU as's, which may differ from objdump's input
//             (as picks the shortest encoding, objdump shows any)
//   rows      every row of the opcode table written out from its operand
//             string: each operand size, register and memory forms with several
//             addressing modes, immediates at the edges of each width, lock/rep
//   programs  test/golden/asm/programs/*.s: labels, expressions, directives,
//             sections and branch relaxation; assembled with as and linked
//             flat with ld (flat.ld), so the image is as + ld's
// Lines GNU as rejects are dropped (counted per reason); lines our assembler
// cannot read yet stay in: the test reports them.
//
// Run at development time:  node test/golden/asm/generate.mjs
// Needs GNU binutils (as, ld, objcopy, nm) and the dev dependencies (esbuild).
import { build } from 'esbuild';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '../../..');
const work = mkdtempSync(join(tmpdir(), 'asm-golden-'));

// The table, the object reader the test uses, and (to check that ld links its objects) tools/asm.
const bundle = join(work, 'table.mjs');
await build({
  stdin: {
    contents: "export { opTable } from './emu/cpu/opcodes.ts'; export { operandBytes } from './emu/cpu/table.ts'; export { readObject } from './test/helpers/elf-object.ts'; export { assembleElf } from './tools/asm/index.ts';",
    resolveDir: root, loader: 'ts',
  },
  outfile: bundle, bundle: true, platform: 'node', format: 'esm', logLevel: 'warning',
});
const { opTable, operandBytes: sizeOf, readObject, assembleElf } = await import(pathToFileURL(bundle).href);

// ---------------------------------------------------------------- disasm

/** objdump's text as GNU as source: no comment, branch targets as `.±distance`. */
function fromObjdump(c) {
  let text = c.text.replace(/\s+#.*$/, '').trim();
  if (/\b[re]iz\b|\(bad\)/.test(text)) return null;
  const m = /^((?:[a-z0-9.]+\s+)*?)(j[a-z]+|call|loop[a-z]*)\s+(0x[0-9a-f]+)$/.exec(text);
  if (m) {
    const d = BigInt(m[3]) - BigInt(c.addr);
    text = `${m[1]}${m[2]} .${d < 0n ? '-' : '+'}0x${(d < 0n ? -d : d).toString(16)}`;
  }
  return text.replace(/\s+/g, ' ');
}

function disasmLines() {
  const golden = JSON.parse(readFileSync(join(root, 'test/golden/disasm/cases.json'), 'utf8'));
  const out = [];
  for (const c of golden.cases) {
    const src = fromObjdump(c);
    if (src !== null) out.push({ group: `disasm${c.mode}`, mode: c.mode, src });
  }
  return out;
}

// ---------------------------------------------------------------- rows

const GPR = {
  8: ['rax', 'rcx', 'rdx', 'rbx', 'rsp', 'rbp', 'rsi', 'rdi', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15'],
  4: ['eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi', 'r8d', 'r9d', 'r10d', 'r11d', 'r12d', 'r13d', 'r14d', 'r15d'],
  2: ['ax', 'cx', 'dx', 'bx', 'sp', 'bp', 'si', 'di', 'r8w', 'r9w', 'r10w', 'r11w', 'r12w', 'r13w', 'r14w', 'r15w'],
  1: ['al', 'cl', 'dl', 'bl', 'spl', 'bpl', 'sil', 'dil', 'r8b', 'r9b', 'r10b', 'r11b', 'r12b', 'r13b', 'r14b', 'r15b'],
};
const HIGH8 = ['ah', 'ch', 'dh', 'bh'];
const PTR = { 1: 'BYTE', 2: 'WORD', 4: 'DWORD', 6: 'FWORD', 8: 'QWORD', 10: 'TBYTE', 16: 'XMMWORD' };

/** Addresses by address size, rotated over a row's instances. */
const ADDR = {
  8: ['[rax]', '[rbx+rcx*4+0x10]', '[rip+0x1234]', '[rbp-0x100]', '[rsp+0x8]', '[r12]', '[r13+r14*8-0x80]', 'ds:0x1234', '[rcx*2+0x7f]', 'fs:[rdi+0x28]', '[eax+ecx]', '[rbp]', '[r8+0x80]'],
  4: ['[eax]', '[ebx+ecx*4+0x10]', 'ds:0x1234', '[ebp-0x100]', '[esp+0x8]', '[ecx*2+0x7f]', 'es:[edi+0x28]', '[ebp]', '[eax+0x80]', '[bx+si]'],
  2: ['[bx+si]', '[bp+0x10]', '[bx]', 'ds:0x1234', '[bp]', '[si-0x80]', '[di+0x100]', 'es:[bx+di]', '[eax+ecx*2]'],
};

const IMM = {
  1: [0x12, 0x7f, 0xff, -1, 0x80],
  2: [0x1234, 0xffff, -0x80, 0x7f, 0x80],
  4: [0x12345678, 0x7f, -0x81, 0xffffffff, 0x80],
  8: [0x123456789abcdef0n, 0x7f, -1, 0xffffffff, 0x80000000],
};
const SIMM = [0x12, -0x80, 0x7f, -1, 0x7e];

const hexS = (v) => (BigInt(v) < 0n ? `-0x${(-BigInt(v)).toString(16)}` : `0x${BigInt(v).toString(16)}`);

/** Source text for operand string `spec` of `row` at operand size `osz`, instance k; null if none fits the mode. */
function operandText(row, spec, osz, mode, k, useMem) {
  const asz = mode === 64 ? 8 : mode === 32 ? 4 : 2;
  const ext = mode === 64 && k % 2 === 1;
  // Byte registers: ah..bh now and then; spl..dil only where REX exists.
  const gpr = (size, n) => {
    if (size === 1 && (mode !== 64 || (!ext && k % 3 === 2)) && n % 8 >= 4) return HIGH8[n % 4];
    return GPR[size][(n % 8) + (ext ? 8 : 0)];
  };
  const mem = (size, letter) => {
    const addrs = ADDR[asz];
    const a = addrs[(k * 3 + row.opcode) % addrs.length];
    const ptr = size === 0 ? '' : `${size === 16 && !/^[VWU]/.test(row.operands.join()) ? 'XMMWORD' : PTR[size]} PTR `;
    return letter === 'M' && size === 0 ? a : ptr + a;
  };
  if (spec.includes('/')) {
    const [r, m] = spec.split('/');
    return useMem ? operandText(row, m, osz, mode, k, true) : operandText(row, r, osz, mode, k, false);
  }
  if (spec.includes('|')) return operandText(row, spec.split('|')[osz === 2 ? 0 : osz === 4 ? 1 : 2], osz, mode, k, useMem);
  if (spec === '1') return '1';
  if (spec === 'ST0') return 'st';
  if (spec === 'STi') return `st(${(k % 7) + 1})`;
  if (spec === 'XMM0') return 'xmm0';
  if (/^[ECDSFG]S$/.test(spec) || /^[A-D][XL]$/.test(spec)) return spec.toLowerCase();
  const fixed = /^([erz])([A-Z]{2})$/.exec(spec);
  if (fixed) return GPR[fixed[1] === 'z' ? Math.min(osz, 4) : osz][['AX', 'CX', 'DX', 'BX'].indexOf(fixed[2])];
  const m = /^(s?)([A-Z])([a-z]*)$/.exec(spec);
  const [, signed, method, s] = m;
  const n = (k * 5 + 2) % 8;
  switch (method) {
    case 'E': case 'M': case 'W': case 'Q': case 'R': case 'U': case 'N':
      if (useMem && /[EMWQ]/.test(method)) return mem(sizeOf(s, osz), method);
      if (method === 'M') return mem(sizeOf(s, osz), method);
      if ('EGR'.includes(method)) return gpr(sizeOf(s, osz), n + 1);
      if ('WU'.includes(method)) return `xmm${(n + 1) % 8 + (ext ? 8 : 0)}`;
      return `mm${(n + 1) % 8}`;
    case 'G': return gpr(sizeOf(s, osz), n);
    case 'Z': return gpr(sizeOf(s, osz), row.opcode & 7);
    case 'V': return `xmm${n + (ext ? 8 : 0)}`;
    case 'P': return `mm${n}`;
    case 'S': return ['es', 'ds', 'fs', 'gs', 'ss'][k % 5];
    case 'C': return mode === 64 && ext ? 'cr8' : ['cr0', 'cr2', 'cr3', 'cr4'][k % 4];
    case 'D': return ['dr0', 'dr1', 'dr6', 'dr7'][k % 4];
    case 'I': {
      if (signed) return hexS(SIMM[k % SIMM.length]);
      const size = s === 'z' ? Math.min(osz, 4) : s === 'v' ? osz : sizeOf(s, osz);
      return hexS(IMM[size][k % IMM[size].length]);
    }
    case 'J': return ['.+0x10', '.-0x7e', '.+0x400', '.+0x81'][k % 4];
    case 'O': return `ds:${['0x1234', '0x7f', '0x12345678'][k % 3]}`;
    case 'A': return `0x1234:${['0x5678', '0x10', '0xfedc'][k % 3]}`;
    case 'X': return `${PTR[sizeOf(s, osz)]} PTR ${k % 2 ? 'fs' : 'ds'}:[${{ 8: 'rsi', 4: 'esi', 2: 'si' }[asz]}]`;
    case 'Y': return `${PTR[sizeOf(s, osz)]} PTR es:[${{ 8: 'rdi', 4: 'edi', 2: 'di' }[asz]}]`;
  }
  throw new Error(`operand ${spec} of ${row.mn}`);
}

const SIZE_DEP = /^(?:s?[A-Z](?:v|z|y|p|a)|[erz][A-Z]{2})$/;

function rowLines() {
  const out = [];
  for (const row of opTable.rows) {
    const modes = row.mode === 'i64' ? [32, 16] : row.mode === 'o64' ? [64] : [64, 32, 16];
    const names = row.mn.split('|');
    const sizeDep = !row.byteOp && (names.length === 3 || row.operands.some((o) => o.split(/[/|]/).some((x) => SIZE_DEP.test(x))));
    const rmCapable = row.operands.some((o) => /^[EWQ]|\/M/.test(o)) && row.mod !== 'reg' && row.rm === undefined;
    for (const mode of modes) {
      let sizes = !sizeDep ? [mode === 16 ? 2 : 4] : mode === 64 ? (row.size === 'f64' ? [8] : row.size === 'd64' ? [2, 8] : [2, 4, 8]) : [2, 4];
      for (const osz of sizes) {
        const mn = names.length === 3 ? names[osz === 2 ? 0 : osz === 4 ? 1 : 2] : names[0];
        const instances = rmCapable ? 4 : row.operands.some((o) => /^s?I|^J/.test(o)) ? 4 : 2;
        for (let k = 0; k < instances; k++) {
          const useMem = rmCapable && k % 2 === 1;
          const ops = row.operands.map((o) => operandText(row, o, osz, mode, k, useMem));
          const src = ops.length === 0 ? mn : `${mn} ${ops.join(', ')}`;
          out.push({ group: `rows${mode}`, mode, src });
          if (k === 1 && row.lock && useMem) out.push({ group: `rows${mode}`, mode, src: `lock ${src}` });
          if (k === 0 && row.operands.some((o) => /^[XY][a-z]/.test(o))) {
            out.push({ group: `rows${mode}`, mode, src: `${row.wf ? 'repz' : 'rep'} ${src}` });
            const size = sizeOf(row.operands.find((o) => /^[XY][a-z]/.test(o)).slice(1), osz);
            out.push({ group: `rows${mode}`, mode, src: `${row.mn}${{ 1: 'b', 2: 'w', 4: 'd', 8: 'q' }[size]}` });
          }
        }
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------- GNU as, one line at a time

/**
 * Assembles `lines` of one mode as one file, each after a label of its own, and
 * returns each line's bytes (the distance to the next label) or GNU as's error.
 * Lines that fail are dropped and the rest assembled again.
 */
function gasLines(mode, lines) {
  let keep = lines.map((_, k) => k);
  const errors = new Map();
  for (let round = 0; round < 10; round++) {
    const src = ['.intel_syntax noprefix', `.code${mode}`, ...keep.flatMap((k) => [`c${k}:`, lines[k].src]), 'cend:'].join('\n') + '\n';
    const file = join(work, `lines${mode}.s`);
    writeFileSync(file, src);
    const r = spawnSync('as', ['--64', '-o', join(work, `lines${mode}.o`), file], { encoding: 'utf8' });
    const bad = new Set();
    for (const line of r.stderr.split('\n')) {
      // Errors, and the warnings where as changes what was written (truncates a value, drops a prefix).
      const m = /:(\d+): (Error|Warning): (.*)$/.exec(line);
      if (!m || (m[2] === 'Warning' && !/shortened|truncated|skipping prefixes/.test(m[3]))) continue;
      const k = keep[(Number(m[1]) - 3 - 1) >> 1];
      if (k !== undefined) { bad.add(k); errors.set(k, m[3]); }
    }
    if (r.status === 0 && bad.size === 0) break;
    if (r.status === 0 && round > 0 && bad.size === 0) break;
    if (bad.size === 0) throw new Error(`as failed without a line number:\n${r.stderr}`);
    keep = keep.filter((k) => !bad.has(k));
  }
  const obj = join(work, `lines${mode}.o`);
  execFileSync('objcopy', ['-O', 'binary', '-j', '.text', obj, join(work, `lines${mode}.bin`)]);
  const text = readFileSync(join(work, `lines${mode}.bin`));
  const at = new Map();
  for (const line of execFileSync('nm', [obj], { encoding: 'utf8' }).split('\n')) {
    const m = /^([0-9a-f]+) t (c\d+|cend)$/.exec(line);
    if (m) at.set(m[2], parseInt(m[1], 16));
  }
  const out = [];
  keep.forEach((k, j) => {
    const next = j + 1 < keep.length ? `c${keep[j + 1]}` : 'cend';
    out.push({ ...lines[k], bytes: text.subarray(at.get(`c${k}`), at.get(next)).toString('hex') });
  });
  return { out, errors: [...errors].map(([k, e]) => ({ ...lines[k], gas: e })) };
}

// ---------------------------------------------------------------- programs

/**
 * Each program's first lines say how to build it: `# mode: 16|32|64`,
 * `# origin: 0x…`, and `# ld: ARGS` (--defsym for its undefined symbols).
 * It is assembled with as and linked flat by ld with flat.ld (sections in
 * order, each at its alignment), as tools/asm lays out; the facts of as's
 * object are kept too. tools/asm's own object must link to the same image.
 */
function programCases() {
  const dir = join(here, 'programs');
  const out = [];
  for (const name of readdirSync(dir).filter((n) => n.endsWith('.s')).sort()) {
    const src = readFileSync(join(dir, name), 'utf8');
    const mode = Number(/^# mode: (\d+)/m.exec(src)?.[1] ?? 64);
    const origin = /^# origin: (0x[0-9a-f]+)/m.exec(src)?.[1] ?? '0x0';
    const ldArgs = (/^# ld: (.*)$/m.exec(src)?.[1] ?? '').split(/\s+/).filter(Boolean);
    const file = join(work, name);
    writeFileSync(file, `.intel_syntax noprefix\n.code${mode}\n${src}`);
    const obj = file.replace(/\.s$/, '.o'), img = file.replace(/\.s$/, '.bin'), elf = file.replace(/\.s$/, '.elf');
    const link = (o, e, i) => {
      execFileSync('ld', ['-m', 'elf_x86_64', '--no-warn-rwx-segments', '-T', join(here, 'flat.ld'), `--defsym=FLAT_ORIGIN=${origin}`, ...ldArgs, '-o', e, o]);
      execFileSync('objcopy', ['-O', 'binary', e, i]);
      return readFileSync(i).toString('hex');
    };
    execFileSync('as', ['--64', '-o', obj, file]);
    const object = readObject(readFileSync(obj));
    const image = link(obj, elf, img);
    // Development check: our object, linked by ld, must give the same image.
    writeFileSync(obj + '.ours', assembleElf(src, { mode, file: name }));
    if (link(obj + '.ours', elf + '.ours', img + '.ours') !== image) console.warn(`${name}: tools/asm's object links to a different image`);
    const symbols = {};
    for (const line of execFileSync('nm', [elf], { encoding: 'utf8' }).split('\n')) {
      const m = /^([0-9a-f]+) [a-zA-Z] ([A-Za-z_][\w.$]*)$/.exec(line);
      if (m && m[2] !== "FLAT_ORIGIN") symbols[m[2]] = `0x${BigInt('0x' + m[1]).toString(16)}`;
    }
    out.push({ name, mode, origin, image, symbols, object });
  }
  return out;
}

// ---------------------------------------------------------------- main

const all = [...disasmLines(), ...rowLines()];
const seen = new Set();
const unique = all.filter((c) => { const key = `${c.mode}:${c.src}`; if (seen.has(key)) return false; seen.add(key); return true; });
const lines = [], rejected = [];
for (const mode of [64, 32, 16]) {
  const r = gasLines(mode, unique.filter((c) => c.mode === mode));
  lines.push(...r.out);
  rejected.push(...r.errors);
}
const programs = programCases();
const asVersion = execFileSync('as', ['--version'], { encoding: 'utf8' }).split('\n')[0];

const json = `{\n "format": "damselfly-asm-golden/1",\n "as": ${JSON.stringify(asVersion)},\n "command": "as --64 (.intel_syntax noprefix, .codeN); programs linked by ld -T flat.ld",\n "rows": ${opTable.rows.length},\n` +
  ` "lines": [\n${lines.map((c) => '  ' + JSON.stringify({ group: c.group, mode: c.mode, src: c.src, bytes: c.bytes })).join(',\n')}\n ],\n` +
  ` "programs": [\n${programs.map((p) => '  ' + JSON.stringify(p)).join(',\n')}\n ],\n` +
  ` "rejected": [\n${rejected.map((c) => '  ' + JSON.stringify({ group: c.group, mode: c.mode, src: c.src, gas: c.gas })).join(',\n')}\n ]\n}\n`;
const dest = join(here, 'cases.json');
writeFileSync(dest + '.tmp', json);
renameSync(dest + '.tmp', dest);
rmSync(work, { recursive: true, force: true });

const byReason = new Map();
for (const r of rejected) {
  const key = r.gas.replace(/`[^']*'/g, 'X').replace(/[0-9a-f]{8,}/g, 'N');
  byReason.set(key, (byReason.get(key) ?? 0) + 1);
}
const count = (g) => lines.filter((c) => c.group === g).length;
console.log(`${lines.length} lines (${['disasm64', 'disasm32', 'disasm16', 'rows64', 'rows32', 'rows16'].map((g) => `${g} ${count(g)}`).join(', ')}), ${programs.length} programs`);
console.log(`dropped ${rejected.length} lines GNU as rejects: ${[...byReason].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${n}× ${k}`).join('; ')}`);

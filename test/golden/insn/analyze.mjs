#!/usr/bin/env node
// Reports what this CPU actually did where the SDM says "undefined":
//  - for each form, each flag outside flagsMask: always preserved (P), always
//    0, always 1, or data-dependent (~), over the cases where it is undefined;
//  - registers listed in "undefined": unchanged vs changed.
// Usage: node analyze.mjs [DIR]   (default: ./cases)
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const dir = process.argv[2] || path.join(here, 'cases');
const FLAGS = [['CF', 0x1n], ['PF', 0x4n], ['AF', 0x10n], ['ZF', 0x40n], ['SF', 0x80n], ['OF', 0x800n]];

for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.json.gz')).sort()) {
  const doc = JSON.parse(zlib.gunzipSync(fs.readFileSync(path.join(dir, file))).toString());
  for (const form of doc.forms) {
    const st = {};
    const undefRegs = { same: 0, changed: 0, examples: [] };
    for (const c of form.cases) {
      const mask = BigInt(c.flagsMask ?? form.flagsMask);
      const fi = BigInt(c.in.rflags), fo = BigInt(c.out.rflags);
      for (const [n, b] of FLAGS) {
        if (mask & b) continue;
        const s = (st[n] ??= { n: 0, pres: 0, one: 0 });
        s.n++;
        if ((fi & b) === (fo & b)) s.pres++;
        if (fo & b) s.one++;
      }
      for (const r of c.undefined || []) {
        const same = c.in[r] === c.out[r];
        if (same) undefRegs.same++;
        else undefRegs.changed++;
        if (undefRegs.examples.length < 3 && !same) undefRegs.examples.push(`${c.asm}: ${r} ${c.in[r]} -> ${c.out[r]}`);
      }
    }
    const parts = Object.entries(st).map(([n, s]) => {
      const k = s.pres === s.n ? 'P' : s.one === 0 ? '0' : s.one === s.n ? '1' : '~';
      return `${n}=${k}`;
    });
    const ur = undefRegs.same + undefRegs.changed;
    if (parts.length || ur) {
      let line = `${file.replace('.json.gz', '').padEnd(8)} ${form.form.padEnd(34)} ${parts.join(' ')}`;
      if (ur) line += `  undefined-dest: ${undefRegs.same} unchanged, ${undefRegs.changed} changed ${undefRegs.examples.join('; ')}`;
      console.log(line);
    }
  }
}
console.log('legend: P = always preserved from input, 0/1 = always cleared/set, ~ = data-dependent');

/**
 * Programs that once behaved differently under emu run than under Linux
 * (test/fixtures/regress): each must print what it printed natively and end
 * with the same status, including the signal ones (128+n).
 */
import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runEmu, ROOT } from './helpers/emu.js';

const DIR = path.join(ROOT, 'test/fixtures/regress');
const names = fs.readdirSync(DIR).filter((f) => /\.(c|S)$/.test(f)).map((f) => `regress-${f.replace(/\.(c|S)$/, '')}`);

describe('review regressions behave as on Linux', () => {
  it('every regression source has a built binary and a native result', () => {
    for (const n of names) {
      expect(fs.existsSync(path.join(ROOT, 'test/fixtures/bin', n)), n).toBe(true);
      expect(fs.existsSync(path.join(ROOT, 'test/fixtures/expected', `${n}.status`)), n).toBe(true);
    }
  });

  for (const n of names) {
    it.concurrent(`${n} prints the same and exits the same`, async () => {
      const r = await runEmu(['run', path.join('test/fixtures/bin', n)]);
      const want = fs.readFileSync(path.join(ROOT, 'test/fixtures/expected', `${n}.stdout`), 'latin1');
      const status = Number(fs.readFileSync(path.join(ROOT, 'test/fixtures/expected', `${n}.status`), 'utf8'));
      expect(r.stdout.toString('latin1')).toBe(want);
      expect(r.status).toBe(status);
    });
  }
});

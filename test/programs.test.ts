/**
 * Real C programs, built static with musl and glibc (test/fixtures), must
 * print byte-identical stdout and exit with the same status under `emu run`
 * as they did natively when the fixtures were built.
 */
import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runEmu, ROOT } from './helpers/emu.js';

interface Run { name: string; bin: string; args: string[]; env: Record<string, string>; stdin: string | null }
const FIX = path.join(ROOT, 'test/fixtures');
const manifest: Run[] = JSON.parse(fs.readFileSync(path.join(FIX, 'manifest.json'), 'utf8'));

/* Every program runs twice: with hot blocks compiled (the default) and interpreted throughout. */
describe.each([['compiled', []], ['interpreted', ['--no-jit']]])('static programs under emu run (%s) match native runs', (_mode, flags) => {
  for (const run of manifest) {
    it.concurrent(`${run.name} prints the same and exits the same`, async () => {
      const r = await runEmu(['run', ...flags, path.join('test/fixtures', run.bin), ...run.args], { env: run.env, stdin: run.stdin ?? undefined });
      const want = fs.readFileSync(path.join(FIX, 'expected', `${run.name}.stdout`));
      const status = Number(fs.readFileSync(path.join(FIX, 'expected', `${run.name}.status`), 'utf8'));
      expect(r.stderr).not.toMatch(/^emu: (SIG|unimplemented)/m);
      expect(r.stdout.toString('latin1')).toBe(want.toString('latin1'));
      expect(r.status).toBe(status);
    });
  }
});

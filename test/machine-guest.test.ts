/**
 * The guest test programs (test/guest/) on the emulated machine. Each checks
 * one hardware feature and reports over COM1; its transcript must match the
 * one recorded on QEMU (test/guest/expected/, by tools/check-qemu.mjs) except
 * for "~ " lines, which depend on timing. Those are pinned by a snapshot
 * instead: on this machine time is virtual, so counts are exact and must not
 * drift. Every run is repeated without the block compiler and must print
 * exactly the same.
 */
import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { Session } from '../emu/machine/session.js';

interface Run { id: string; prog: string; smp?: number; append?: string; status?: number; reboot?: boolean }

const dir = new URL('./guest/', import.meta.url);
const runs: Run[] = JSON.parse(readFileSync(new URL('runs.json', dir), 'utf8'));

async function boot(r: Run, jit: boolean, seed = 0n): Promise<{ out: string; status: number | null; stop: string }> {
  const s = new Session({
    kernel: { name: r.prog, bytes: readFileSync(new URL(`bin/${r.prog}.elf`, dir)) },
    cpus: r.smp ?? 1, seed, append: r.append, noReboot: !r.reboot, jit,
  });
  const stop = await s.runToExit({ virtualTimeout: 20e9 });
  // QEMU exits with status 0 when -no-reboot turns a triple fault into a shutdown.
  const status = stop.kind === 'exit' ? stop.status : stop.kind === 'shutdown' ? 0 : null;
  return { out: s.serial.output, status, stop: stop.kind };
}

const stable = (text: string): string[] => text.split('\n').filter((l) => !l.startsWith('~ '));

describe('guest programs', () => {
  for (const r of runs) {
    const golden = new URL(`expected/${r.id}.txt`, dir);
    const present = existsSync(new URL(`bin/${r.prog}.elf`, dir)) && existsSync(golden);
    it.skipIf(!present)(`${r.id}: transcript matches QEMU's, exit status ${r.status ?? 1}`, async () => {
      const run = await boot(r, true);
      expect(stable(run.out)).toEqual(stable(readFileSync(golden, 'utf8')));
      expect(run.status).toBe(r.status ?? 1);
      // Soft checks are soft only because of QEMU (test/guest/README.md): here every one must pass.
      expect(run.out).not.toMatch(/^~ .*FAIL/m);
      expect(run.out).toMatchSnapshot();
      const interpreted = await boot(r, false);
      expect(interpreted.out).toBe(run.out);
    });
  }
});

describe('deterministic SMP', () => {
  const racy = runs.find((r) => r.id === 'racy.smp4')!;
  it('one seed gives one transcript; other seeds give other interleavings', async () => {
    const a = await boot(racy, true, 7n), b = await boot(racy, true, 7n);
    expect(b.out).toBe(a.out);
    const signatures = new Set<string>();
    for (const seed of [1n, 2n, 3n, 4n]) signatures.add((await boot(racy, true, seed)).out);
    expect(signatures.size).toBeGreaterThan(1);
  });
});

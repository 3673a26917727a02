/**
 * The AssemblyScript programs of test/fixtures/as compiled by tools/wasm2x64
 * to linux-user ELFs: stdout, stderr and exit status must equal the V8
 * goldens, natively and under `emu run`. The emu runs take 5–40 s each, so
 * they run concurrently (each is a child process).
 */
import { describe, expect, it } from 'vitest';
import { compile, expected, PROGRAMS } from './fixtures/as/build.mjs';
import { compileLinuxUser } from '../tools/wasm2x64/linux-user.js';
import { runElf } from './wasm/x64-executor.js';

const native = process.platform === 'linux' && process.arch === 'x64';

describe.concurrent('AssemblyScript programs as linux-user ELFs', () => {
  for (const how of ['native', 'emu'] as const) {
    for (const name of PROGRAMS) {
      it.skipIf(how === 'native' && !native)(`${name} ${how}`, async () => {
        const elf = compileLinuxUser(await compile(name));
        const r = await runElf(elf, how);
        const want = expected(name);
        expect(r.stdout).toBe(want.stdout.toString());
        expect(r.stderr).toBe(want.stderr.toString());
        expect(r.status).toBe(want.status);
      });
    }
  }
});

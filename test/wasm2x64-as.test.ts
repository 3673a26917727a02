/**
 * The AssemblyScript programs of test/fixtures/as compiled by tools/wasm2x64
 * to linux-user ELFs: stdout, stderr and exit status must equal the V8
 * goldens. Natively all of them; under `emu run` only `panic` and `floats`
 * (~8 s, the emulator's SSE arithmetic) by default, since the others take
 * 20–110 s there with this first, unoptimised code generator
 * (WASM2X64_EMU_ALL=1 runs them all).
 */
import { describe, expect, it } from 'vitest';
import { compile, expected, PROGRAMS } from './fixtures/as/build.mjs';
import { compileLinuxUser } from '../tools/wasm2x64/linux-user.js';
import { runElf } from './wasm/x64-executor.js';

const native = process.platform === 'linux' && process.arch === 'x64';
const EMU = process.env.WASM2X64_EMU_ALL ? PROGRAMS : ['panic', 'floats'];

describe('AssemblyScript programs as linux-user ELFs', () => {
  for (const how of ['native', 'emu'] as const) {
    for (const name of how === 'native' ? PROGRAMS : EMU) {
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

/**
 * The linux-user runtime's contract on tiny hand-made modules: sys.write and
 * sys.exit reach the kernel, and an uncaught trap prints
 * `wasm trap: MESSAGE in function N` on stderr and exits with 100 + kind —
 * natively and under `emu run`.
 */
import { describe, expect, it } from 'vitest';
import { compileLinuxUser } from '../tools/wasm2x64/linux-user.js';
import { encodeModule, I32, sleb } from '../tools/wasm2x64/wasm/builder.js';
import { runElf } from './wasm/x64-executor.js';

const CALL = 0x10, UNREACHABLE = 0x00, I32_CONST = 0x41, I32_LOAD = 0x28, I32_DIV_S = 0x6d, I32_DIV_U = 0x6e, DROP = 0x1a;

/** `_start` (function 2) runs `code`; memory 0 holds "hi\n" at 16; imports sys.write (0) and sys.exit (1). */
function program(code: number[], helper: number[] = [UNREACHABLE]): Uint8Array {
  return encodeModule({
    types: [[[I32, I32, I32], [I32]], [[I32], []], [[], []]],
    imports: [{ module: 'sys', name: 'write', desc: [0x00, 0] }, { module: 'sys', name: 'exit', desc: [0x00, 1] }],
    funcs: [2, 2],
    memories: [[0x00, 1]],
    exports: [{ name: '_start', kind: 0, index: 2 }, { name: 'memory', kind: 2, index: 0 }],
    bodies: [{ code }, { code: helper }],
    datas: [[0x00, I32_CONST, 16, 0x0b, 3, 0x68, 0x69, 0x0a]],
  });
}

const CASES: { name: string; code: number[]; helper?: number[]; stdout: string; stderr: string; status: number }[] = [
  { name: 'write and exit', code: [I32_CONST, 1, I32_CONST, 16, I32_CONST, 3, CALL, 0, DROP, I32_CONST, 7, CALL, 1, UNREACHABLE], stdout: 'hi\n', stderr: '', status: 7 },
  { name: 'returning from _start exits 0', code: [], stdout: '', stderr: '', status: 0 },
  { name: 'unreachable', code: [CALL, 3], stdout: '', stderr: 'wasm trap: unreachable in function 3\n', status: 101 },
  { name: 'divide by zero', code: [I32_CONST, 1, I32_CONST, 0, I32_DIV_U, DROP], stdout: '', stderr: 'wasm trap: integer divide by zero in function 2\n', status: 102 },
  { name: 'overflow', code: [I32_CONST, ...sleb(-0x80000000), I32_CONST, ...sleb(-1), I32_DIV_S, DROP], stdout: '', stderr: 'wasm trap: integer overflow in function 2\n', status: 103 },
  { name: 'out of bounds', code: [I32_CONST, ...sleb(65533), I32_LOAD, 2, 0, DROP], stdout: '', stderr: 'wasm trap: out of bounds memory access in function 2\n', status: 104 },
  { name: 'stack exhaustion', code: [CALL, 3], helper: [CALL, 3], stdout: '', stderr: 'wasm trap: call stack exhausted in function 3\n', status: 108 },
];

const native = process.platform === 'linux' && process.arch === 'x64';

for (const how of ['native', 'emu'] as const) {
  describe.skipIf(how === 'native' && !native)(`linux-user runtime ${how}`, () => {
    for (const c of CASES) {
      it(c.name, async () => {
        const r = await runElf(compileLinuxUser(program(c.code, c.helper)), how);
        expect({ stdout: r.stdout, stderr: r.stderr, status: r.status }).toEqual({ stdout: c.stdout, stderr: c.stderr, status: c.status });
      });
    }
  });
}

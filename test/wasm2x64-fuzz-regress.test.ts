/**
 * What the differential fuzzer (tools/wasm2x64/fuzz, wasm2x64-fuzz.test.ts)
 * found, each reduced by hand to a `_start` that exits with 0 when the
 * compiled code computes what the spec says; V8 (which must exit 0 too),
 * the ELF natively and under `emu run` must agree, as in the fuzzer.
 */
import { describe, expect, it } from 'vitest';
import { differential, type Where } from '../tools/wasm2x64/fuzz/diff.js';
import { encodeModule, I32, I64, sleb } from '../tools/wasm2x64/wasm/builder.js';

const native = process.platform === 'linux' && process.arch === 'x64';
const where: Where[] = native ? ['native', 'emu'] : ['emu'];

/** `_start` (function 2) runs `code`, which leaves an i32 status for sys.exit. */
function program(code: number[], locals: [number, number][] = []): Uint8Array<ArrayBuffer> {
  return encodeModule({
    types: [[[I32, I32, I32], [I32]], [[I32], []], [[], []]],
    imports: [{ module: 'sys', name: 'write', desc: [0x00, 0] }, { module: 'sys', name: 'exit', desc: [0x00, 1] }],
    funcs: [2],
    memories: [[0x00, 1]],
    exports: [{ name: '_start', kind: 0, index: 2 }, { name: 'memory', kind: 2, index: 0 }],
    bodies: [{ locals, code: [...code, 0x10, 1] }],
  });
}

const LOCAL_GET = 0x20, LOCAL_SET = 0x21, I64_CONST = 0x42, I64_ADD = 0x7c, I64_NE = 0x52;

const CASES: { name: string; wasm: Uint8Array<ArrayBuffer> }[] = [
  {
    // func.ts: the add that keeps a local's cached register used the constant as a 32-bit displacement.
    name: 'i64.add of a cached local and a constant beyond 32 bits (seed 25, size 10)',
    wasm: program([
      I64_CONST, 5, LOCAL_SET, 0,
      LOCAL_GET, 0, I64_CONST, ...sleb(-0x3797c9a5f9b7a1d6n), I64_ADD,
      I64_CONST, ...sleb(-0x3797c9a5f9b7a1d1n), I64_NE,
    ], [[1, I64]]),
  },
];

describe('differential fuzzer regressions', () => {
  for (const c of CASES) {
    it(c.name, async () => {
      const r = await differential(c.wasm, where);
      expect(r.v8?.status).toBe(0);
      expect(r.problem).toBeNull();
    });
  }
});

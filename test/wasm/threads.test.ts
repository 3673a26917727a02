/**
 * The threads proposal's part that the kernel needs (atomics, shared memory)
 * has no spec tests in our suite, so every atomic operator is checked here
 * against V8's validator: accepted naturally aligned, refused over-aligned or
 * without a memory — by both. Under-aligned atomics are invalid by the
 * proposal ("any other value than the natural alignment"); V8 11.3 checks
 * only the upper bound and accepts them, so there we stand alone.
 */
import { describe, expect, it } from 'vitest';
import { Imm, Op, OPS, type OpInfo, parseModule, WasmError } from '../../tools/wasm2x64/wasm/index.js';
import { encodeModule, uleb } from '../../tools/wasm2x64/wasm/builder.js';

const SHARED = [0x03, 1, 1];

/** A function taking the operator's operands as parameters and returning its results. */
function moduleWith(info: OpInfo, memory: number[] | null, align = Math.log2(info.width)): Uint8Array<ArrayBuffer> {
  const sig = info.sig!;
  const code = sig.params.flatMap((_, i) => [0x20, i]);
  code.push(0xfe, ...uleb(info.op & 0xff));
  code.push(...(info.imm === Imm.MemArg ? [...uleb(align), ...uleb(16)] : [0x00]));
  return encodeModule({
    types: [[sig.params, sig.results]],
    funcs: [0],
    memories: memory ? [memory] : undefined,
    bodies: [{ code }],
  });
}

function ours(bytes: Uint8Array): string {
  try {
    parseModule(bytes);
    return 'ok';
  } catch (e) {
    if (e instanceof WasmError) return e.kind;
    throw e;
  }
}

const atomics = OPS.filter((i) => i.op >> 8 === 0xfe);

describe('atomic operators', () => {
  it('are all there: notify, two waits, fence and 7 × 9 loads, stores and read-modify-writes', () => {
    expect(atomics.length).toBe(4 + 63);
  });

  for (const info of atomics) {
    it(`${info.name}: valid naturally aligned, as in V8`, () => {
      const bytes = moduleWith(info, SHARED);
      expect(WebAssembly.validate(bytes)).toBe(true);
      const body = parseModule(bytes).funcs[0].code!.body;
      const ins = body[info.sig!.params.length];
      expect(ins.op).toBe(info.op);
      if (info.imm === Imm.MemArg) expect(ins).toMatchObject({ align: Math.log2(info.width), offset: 16 });
    });

    if (info.imm !== Imm.MemArg) continue;
    it(`${info.name}: invalid over-aligned or without a memory, as in V8; invalid under-aligned`, () => {
      const natural = Math.log2(info.width);
      for (const bytes of [moduleWith(info, SHARED, natural + 1), moduleWith(info, null)]) {
        expect(WebAssembly.validate(bytes)).toBe(false);
        expect(ours(bytes)).toBe('invalid');
      }
      if (natural > 0) expect(ours(moduleWith(info, SHARED, natural - 1))).toBe('invalid');
    });

    it(`${info.name}: on an unshared memory, judged as V8 judges it`, () => {
      const bytes = moduleWith(info, [0x01, 1, 1]);
      expect(ours(bytes)).toBe(WebAssembly.validate(bytes) ? 'ok' : 'invalid');
    });
  }
});

describe('shared memory', () => {
  const fence = atomics.find((i) => i.op === Op.AtomicFence)!;

  it('decodes with its maximum and the shared flag', () => {
    const m = parseModule(moduleWith(fence, [0x03, 2, 5]));
    expect(m.memories[0].type.limits).toEqual({ min: 2, max: 5, shared: true });
  });

  it('is refused without a maximum, by V8 too', () => {
    const bytes = moduleWith(fence, [0x02, 1]);
    expect(WebAssembly.validate(bytes)).toBe(false);
    expect(ours(bytes)).toBe('malformed');
  });

  it('can be imported', () => {
    const bytes = encodeModule({ imports: [{ module: 'env', name: 'memory', desc: [0x02, ...SHARED] }] });
    expect(WebAssembly.validate(bytes)).toBe(true);
    expect(parseModule(bytes).memories[0]).toMatchObject({ import: { module: 'env', name: 'memory' }, type: { limits: { shared: true } } });
  });
});

/**
 * What a code generator reads from the front end: block structure, branch
 * targets, resolved block signatures, operand types of drop/select, index
 * spaces, segments and names — and errors that say where and why.
 */
import { describe, expect, it } from 'vitest';
import {
  ExternKind, featuresUsed, FUNC_FRAME, type Instr, MAX_LOCALS, Op, OPS, opInfo, parseModule, UNKNOWN_TYPE, ValType,
  WasmError,
} from '../../tools/wasm2x64/wasm/index.js';
import { pascalName } from '../../tools/wasm2x64/wasm/opinfo.js';
import { encodeModule, F64, I32, I64, name, sleb, uleb, vec } from '../../tools/wasm2x64/wasm/builder.js';

/** One function of type [] -> [] per body, in a module with one memory. */
function funcs(...codes: number[][]): Uint8Array {
  return encodeModule({ types: [[[], []]], funcs: codes.map(() => 0), memories: [[0, 1]], bodies: codes.map((code) => ({ code })) });
}

function refusal(bytes: Uint8Array): WasmError {
  try {
    parseModule(bytes);
  } catch (e) {
    if (e instanceof WasmError) return e;
    throw e;
  }
  throw new Error('accepted');
}

function ops(body: readonly Instr[]): string[] {
  return body.map((i) => opInfo(i.op).name);
}

describe('the opcode table', () => {
  it('describes every Op under its own name', () => {
    const members = Object.values(Op).filter((v): v is Op => typeof v === 'number');
    expect(OPS.map((i) => i.op)).toEqual([...members].sort((a, b) => a - b));
    for (const info of OPS) expect(Op[info.op]).toBe(info.op === Op.SelectT ? 'SelectT' : pascalName(info.name));
  });

  it('gives loads, stores and atomics their access width', () => {
    expect([Op.I64Load32U, Op.I32Store16, Op.F64Load, Op.I64AtomicRmw8CmpxchgU, Op.MemoryAtomicWait64].map((o) => opInfo(o).width))
      .toEqual([4, 2, 8, 1, 8]);
    expect(opInfo(Op.F32ConvertI64U).sig).toEqual({ params: [ValType.I64], results: [ValType.F32] });
  });
});

describe('block structure', () => {
  // block (result i32)    0
  //   block               1
  //     loop              2
  //       i32.const 1     3
  //       br_if 0         4   -> the loop
  //       i32.const 0     5
  //       br_table 1 3 0  6   -> [inner block, function], default the loop
  //     end               7
  //   end                 8
  //   i32.const 5         9
  // end                   10
  // drop                  11
  // end                   12
  const code = [0x02, I32, 0x02, 0x40, 0x03, 0x40, 0x41, 1, 0x0d, 0, 0x41, 0, 0x0e, 2, 1, 3, 0, 0x0b, 0x0b, 0x41, 5, 0x0b, 0x1a];
  const body = parseModule(funcs(code)).funcs[0].code!.body;

  it('matches every block with its end, and every end with its block', () => {
    expect(ops(body)).toEqual(['block', 'block', 'loop', 'i32.const', 'br_if', 'i32.const', 'br_table', 'end', 'end',
      'i32.const', 'end', 'drop', 'end']);
    expect(body[0]).toMatchObject({ end: 10, else: -1, sig: { params: [], results: [ValType.I32] } });
    expect(body[2]).toMatchObject({ op: Op.Loop, end: 7 });
    expect(body[7]).toMatchObject({ block: 2 });
    expect(body[8]).toMatchObject({ block: 1 });
    expect(body[10]).toMatchObject({ block: 0 });
    expect(body[12]).toMatchObject({ block: FUNC_FRAME });
  });

  it('resolves label depths to the targeted block, FUNC_FRAME for the body', () => {
    expect(body[4]).toMatchObject({ op: Op.BrIf, depth: 0, target: 2 });
    expect(body[6]).toMatchObject({ op: Op.BrTable, targets: [1, FUNC_FRAME], defaultTarget: 2 });
  });

  it('pairs if, else and end', () => {
    // i32.const 1; if; nop; else; nop; end
    const b = parseModule(funcs([0x41, 1, 0x04, 0x40, 0x01, 0x05, 0x01, 0x0b])).funcs[0].code!.body;
    expect(b[1]).toMatchObject({ op: Op.If, else: 3, end: 5 });
    expect(b[3]).toMatchObject({ op: Op.Else, if: 1 });
    expect(b[5]).toMatchObject({ op: Op.End, block: 1 });
  });

  it('gives blocks typed by index their full multi-value signature', () => {
    const m = parseModule(encodeModule({
      types: [[[], []], [[I32, I64], [I32, I64]]],
      funcs: [0],
      // i32.const 1; i64.const 2; block (type 1) ... end; drop; drop
      bodies: [{ code: [0x41, 1, 0x42, 2, 0x02, 1, 0x0b, 0x1a, 0x1a] }],
    }));
    const b = m.funcs[0].code!.body;
    expect(b[2]).toMatchObject({ typeIndex: 1, sig: { params: [ValType.I32, ValType.I64], results: [ValType.I32, ValType.I64] } });
    expect(b[4]).toMatchObject({ op: Op.Drop, type: ValType.I64 });
    expect(b[5]).toMatchObject({ op: Op.Drop, type: ValType.I32 });
  });
});

describe('operand types the validator records', () => {
  it('types the untyped select by its operands', () => {
    // f64.const 0; f64.const 1; i32.const 0; select; drop
    const b = parseModule(funcs([0x44, ...new Array(8).fill(0), 0x44, ...new Array(8).fill(0), 0x41, 0, 0x1b, 0x1a])).funcs[0].code!.body;
    expect(b[3]).toMatchObject({ op: Op.Select, type: ValType.F64 });
    expect(b[4]).toMatchObject({ op: Op.Drop, type: ValType.F64 });
  });

  it('leaves them UNKNOWN_TYPE in unreachable code, where any type would do', () => {
    const b = parseModule(funcs([0x00, 0x1b, 0x1a])).funcs[0].code!.body;
    expect(b[1]).toMatchObject({ op: Op.Select, type: UNKNOWN_TYPE });
    expect(b[2]).toMatchObject({ op: Op.Drop, type: UNKNOWN_TYPE });
  });
});

describe('constants and memory immediates', () => {
  it('keeps float constants as bit patterns, signalling NaNs included', () => {
    const b = parseModule(funcs([0x43, 0x01, 0x00, 0x80, 0x7f, 0x1a, 0x44, 1, 0, 0, 0, 0, 0, 0xf0, 0x7f, 0x1a])).funcs[0].code!.body;
    expect(b[0]).toMatchObject({ op: Op.F32Const, bits: 0x7f800001 });
    expect(b[2]).toMatchObject({ op: Op.F64Const, bits: 0x7ff0000000000001n });
  });

  it('reads i64 constants as signed BigInts and offsets as unsigned', () => {
    const b = parseModule(funcs([0x42, ...sleb(-(2n ** 63n)), 0x1a, 0x41, 0, 0x28, 2, ...uleb(0xffffffff), 0x1a])).funcs[0].code!.body;
    expect(b[0]).toMatchObject({ op: Op.I64Const, value: -(2n ** 63n) });
    expect(b[3]).toMatchObject({ op: Op.I32Load, align: 2, offset: 0xffffffff });
  });
});

describe('index spaces and segments', () => {
  const m = parseModule(encodeModule({
    types: [[[], []], [[I32], [I32]]],
    imports: [
      { module: 'env', name: 'f', desc: [ExternKind.Func, 1] },
      { module: 'env', name: 'g', desc: [ExternKind.Global, I64, 0] },
    ],
    funcs: [0, 1],
    tables: [[0x70, 0, 2]],
    globals: [[I32, 1, 0x41, 7, 0x0b]],
    exports: [{ name: 'run', kind: ExternKind.Func, index: 1 }],
    // Active at table 0 offset 0: functions 2 and 1; then a declarative one naming function 0.
    elems: [[0x00, 0x41, 0, 0x0b, ...vec([[2], [1]])], [0x03, 0x00, ...vec([[0]])]],
    bodies: [{ code: [0xd2, 0, 0x1a] }, { code: [0x20, 0] }],
    datas: [[0x01, ...vec([[1], [2]])]],
  }));

  it('numbers imports first, as instructions do', () => {
    expect(m.funcs.map((f) => [f.index, f.import?.name ?? null, f.code !== null])).toEqual([[0, 'f', false], [1, null, true], [2, null, true]]);
    expect(m.globals.map((g) => [g.index, g.type, g.import?.name ?? null])).toEqual([
      [0, { type: ValType.I64, mutable: false }, 'g'],
      [1, { type: ValType.I32, mutable: true }, null],
    ]);
    expect(m.imports.map((i) => [i.kind, i.index])).toEqual([[ExternKind.Func, 0], [ExternKind.Global, 0]]);
  });

  it('writes index-list element segments as ref.func expressions', () => {
    expect(m.elems[0]).toMatchObject({ mode: 'active', table: 0, type: ValType.FuncRef });
    expect(m.elems[0].init.map((e) => e[0])).toMatchObject([{ op: Op.RefFunc, func: 2 }, { op: Op.RefFunc, func: 1 }]);
    expect(m.elems[1]).toMatchObject({ mode: 'declarative', offset: null });
    expect(m.datas[0]).toMatchObject({ mode: 'passive', offset: null, bytes: Uint8Array.from([1, 2]) });
  });

  it('tells which proposals the module uses', () => {
    expect([...featuresUsed(m)].sort()).toEqual(['bulk-memory', 'reference-types']);
    expect([...featuresUsed(parseModule(funcs([0x41, 1, 0xc0, 0x1a])))]).toEqual(['sign-extension']);
  });
});

describe('the name section', () => {
  const funcNames = [...vec([[0, ...name('main')]])];
  const localNames = [...vec([[0, ...vec([[0, ...name('x')]])]])];
  const section = [0x00, ...uleb(name('mod').length), ...name('mod'), 0x01, ...uleb(funcNames.length), ...funcNames,
    0x02, ...uleb(localNames.length), ...localNames];

  it('gives module, function and local names', () => {
    const m = parseModule(encodeModule({ types: [[[I32], []]], funcs: [0], bodies: [{ code: [] }], customs: [{ name: 'name', bytes: section }] }));
    expect(m.names?.module).toBe('mod');
    expect(m.names?.funcs.get(0)).toBe('main');
    expect(m.names?.locals.get(0)?.get(0)).toBe('x');
  });

  it('ignores a damaged one: custom sections are not validated', () => {
    const m = parseModule(encodeModule({ types: [[[], []]], funcs: [0], bodies: [{ code: [] }], customs: [{ name: 'name', bytes: section.slice(0, -2) }] }));
    expect(m.names).toBeNull();
  });
});

describe('errors', () => {
  it('name the function and the offset of the offending instruction', () => {
    const bytes = funcs([], [0x44, 0, 0, 0, 0, 0, 0, 0, 0, 0x41, 0, 0x6a, 0x1a]);
    const e = refusal(bytes);
    expect(e.kind).toBe('invalid');
    expect(e.func).toBe(1);
    expect(bytes[e.offset]).toBe(Op.I32Add);
    expect(e.message).toMatch(/^func 1 @0x[0-9a-f]+: type mismatch: i32.add expects i32 but found f64$/);
  });

  it('refuse SIMD as unsupported, not as malformed', () => {
    expect(refusal(funcs([0x41, 0, 0xfd, 0x00, 0, 0, 0x1a]))).toMatchObject({ kind: 'unsupported', func: 0 });
    expect(refusal(encodeModule({ types: [[[0x7b], []]] }))).toMatchObject({ kind: 'unsupported' });
  });

  it('stop at our locals limit before allocating them', () => {
    const bytes = encodeModule({ types: [[[], []]], funcs: [0], bodies: [{ locals: [[MAX_LOCALS + 1, F64]], code: [] }] });
    expect(refusal(bytes)).toMatchObject({ kind: 'limit', func: 0 });
  });
});

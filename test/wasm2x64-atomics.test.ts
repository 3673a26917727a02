/**
 * The threads operators compiled by tools/wasm2x64 against V8: every atomic
 * load, store, read-modify-write and cmpxchg at every width, with offsets,
 * on a shared and an unshared memory, and wait/notify/fence — each call's
 * results, the memory it leaves behind and its traps (out of bounds,
 * unaligned, wait on unshared memory) must be the same under V8, natively
 * and under `emu run`. A timed wait really sleeps.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compileModule, type CompiledModule, TypeIds } from '../tools/wasm2x64/codegen/module.js';
import { Trap } from '../tools/wasm2x64/codegen/ops.js';
import { KERNEL_TARGET } from '../tools/wasm2x64/kernel.js';
import { compileLinuxUser } from '../tools/wasm2x64/linux-user.js';
import { Imm, Op, opInfo, OPS, type OpInfo, parseModule } from '../tools/wasm2x64/wasm/index.js';
import { encodeModule, I32, I64, sleb, uleb } from '../tools/wasm2x64/wasm/builder.js';
import type { Outcome } from './wasm/executor.js';
import type { Command, Script } from './wasm/spec.js';
import { v8Executor } from './wasm/v8-executor.js';
import type { TypeName, Value } from './wasm/values.js';
import { runAtCpl0 } from './wasm/cpu0.js';
import { type Built, runElf, x64Executor } from './wasm/x64-executor.js';

const native = process.platform === 'linux' && process.arch === 'x64';
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wasm2x64-atomics-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const ATOMICS = OPS.filter((i) => i.op >> 8 === 0xfe && i.imm === Imm.MemArg);
const OFFSETS = [0, 3, 0xfffffff0];
const P0 = 0xf0e1d2c3b4a59687n, P1 = 0x8899aabbccddeeffn;
/** Bytes 64..79 after fill(64), as one little-endian number. */
const FILLED = P0 | (P1 << 64n);
const letter = (t: number): TypeName => (t === I32 ? 'i32' : 'i64');
const fname = (info: OpInfo, offset: number): string => `${info.name}@${offset}`;

/**
 * Exports `fill(addr)` (P0, P1 at addr, addr+8), `peek(addr)` (plain i64
 * load), `fence`, and for every operator and offset a function taking the
 * operator's operands and returning its result.
 */
function atomicsModule(shared: boolean, ops: readonly OpInfo[] = ATOMICS): Uint8Array<ArrayBuffer> {
  const types: [number[], number[]][] = [[[I32], []], [[I32], [I64]], [[], []]];
  const bodies = [
    { code: [0x20, 0, 0x42, ...sleb(BigInt.asIntN(64, P0)), 0x37, 3, 0, 0x20, 0, 0x42, ...sleb(BigInt.asIntN(64, P1)), 0x37, 3, 8] },
    { code: [0x20, 0, 0x29, 3, 0] },
    { code: [0xfe, 0x03, 0x00] },
  ];
  const exports = [{ name: 'fill', kind: 0, index: 0 }, { name: 'peek', kind: 0, index: 1 }, { name: 'fence', kind: 0, index: 2 }];
  for (const info of ops) {
    const sig = info.sig!;
    types.push([[...sig.params], [...sig.results]]);
    for (const offset of OFFSETS) {
      exports.push({ name: fname(info, offset), kind: 0, index: bodies.length });
      bodies.push({ code: [...sig.params.flatMap((_, i) => [0x20, i]), 0xfe, ...uleb(info.op & 0xff), ...uleb(Math.log2(info.width)), ...uleb(offset)] });
    }
  }
  return encodeModule({
    types,
    funcs: [0, 1, 2, ...ops.flatMap((_, k) => OFFSETS.map(() => 3 + k))],
    memories: [shared ? [0x03, 1, 1] : [0x01, 1, 1]],
    exports,
    bodies,
  });
}

const val = (t: TypeName, bits: bigint): Value => ({ type: t as 'i32', bits: BigInt.asUintN(t === 'i32' ? 32 : 64, bits) });

/** Operand values past the address: junk above the access width, which narrow operators must ignore. */
function operands(info: OpInfo, addr: number): Value[][] {
  const ts = info.sig!.params.slice(1).map(letter);
  const w = BigInt(info.width * 8);
  const at = (a: number): bigint => BigInt.asUintN(Number(w), a >= 64 && a < 80 ? FILLED >> BigInt(8 * (a - 64)) : 0n);
  const junk = 0x5a5a5a5a5a5a5a5an << w;
  if (info.op === Op.MemoryAtomicNotify) return [[val('i32', 1n)], [val('i32', 0xffffffffn)]];
  if (info.op === Op.MemoryAtomicWait32 || info.op === Op.MemoryAtomicWait64) {
    const cur = at(addr);
    // Not equal; equal with no time to wait; equal with 20 ms to wait.
    return [[val(ts[0], cur ^ 1n), val('i64', 0n)], [val(ts[0], cur), val('i64', 0n)], [val(ts[0], cur), val('i64', 20_000_000n)]];
  }
  if (ts.length === 2) {
    const cur = at(addr);
    // cmpxchg: expected matching in the access width (the rest is junk), and not matching.
    return [[val(ts[0], cur | junk), val(ts[1], 0x0123456789abcdefn)], [val(ts[0], cur ^ 2n), val(ts[1], 0x0123456789abcdefn)]];
  }
  return ts.length ? [[val(ts[0], 0x1f2e3d4c5b6a7988n | junk)]] : [[]];
}

/** The calls: in bounds (with the memory around them filled before and read after), misaligned, at the end, beyond. */
function commands(): Command[] {
  const out: Command[] = [];
  let line = 1;
  const invoke = (field: string, args: Value[], results: TypeName[]): void => {
    out.push({ kind: 'action', line: line++, action: { kind: 'invoke', module: null, field, args }, resultTypes: results });
  };
  const i32 = (n: number): Value => val('i32', BigInt(n));
  for (const info of ATOMICS) {
    const results = info.sig!.results.map(letter);
    const w = info.width;
    const calls: [number, number, boolean][] = [
      [0, 64, true], [0, 64 + w, true], [0, 65, true], [0, 66, true], [3, 61, true], [3, 64, true],
      [0, 65536 - w, false], [0, 65536 - w + 1, false], [0, 65536, false], [0, 0xffffffff, false], [0xfffffff0, 0, false], [3, 65536 - w - 3, false],
    ];
    for (const [offset, addr, filled] of calls) {
      for (const args of operands(info, addr + offset)) {
        if (filled) invoke('fill', [i32(64)], []);
        invoke(fname(info, offset), [i32(addr), ...args], results);
        if (filled) { invoke('peek', [i32(64)], ['i64']); invoke('peek', [i32(72)], ['i64']); }
        else invoke('peek', [i32(65528)], ['i64']);
      }
    }
  }
  invoke('fence', [], []);
  return out;
}

function script(shared: boolean): Script {
  const file = path.join(dir, `${shared ? 'shared' : 'unshared'}.wasm`);
  fs.writeFileSync(file, atomicsModule(shared));
  return { name: `atomics-${shared ? 'shared' : 'unshared'}`, commands: [{ kind: 'module', line: 0, module: { path: file, format: 'binary' }, name: null }, ...commands()] };
}

const V8_TRAPS: Record<string, Trap> = {
  'memory access out of bounds': Trap.OutOfBounds,
  'operation does not support unaligned accesses': Trap.Unaligned,
  'Atomics.wait cannot be called in this context': Trap.Unshared,
};

/** Outcomes in one spelling: values as bits, traps by kind (V8 words them its own way). */
function normal(o: Outcome): string {
  switch (o.kind) {
    case 'values': return o.values.map((v) => `${v.type}:${'bits' in v ? v.bits.toString(16) : v.ref}`).join(' ') || 'ok';
    case 'trap': {
      const ours = /^trap (\d+) in function/.exec(o.message);
      return `trap ${ours ? Number(ours[1]) : V8_TRAPS[o.message] ?? o.message}`;
    }
    default: return JSON.stringify(o);
  }
}

for (const shared of [true, false]) {
  describe(`atomics on ${shared ? 'shared' : 'unshared'} memory`, () => {
    const s = script(shared);
    const label = (k: number): string => {
      const c = s.commands[k];
      return c.kind === 'action' ? `${c.action.field}(${c.action.kind === 'invoke' ? c.action.args.map((v) => ('bits' in v ? v.bits.toString(16) : '')).join(', ') : ''})` : c.kind;
    };
    let reference: string[] = [];
    const cache = new Map<string, Built>();

    it('V8 runs the script (the reference)', async () => {
      reference = (await v8Executor.run(s)).map(normal);
      const count = (t: Trap): number => reference.filter((x) => x === `trap ${t}`).length;
      const traps = `${count(Trap.OutOfBounds)} out of bounds, ${count(Trap.Unaligned)} unaligned, ${count(Trap.Unshared)} unshared`;
      console.log(`atomics on ${shared ? 'shared' : 'unshared'} memory: ${s.commands.length} commands; V8 traps ${traps}`);
      expect(count(Trap.OutOfBounds)).toBeGreaterThan(0);
      expect(count(Trap.Unaligned)).toBeGreaterThan(0);
      expect(count(Trap.Unshared) > 0).toBe(!shared);
    });

    for (const how of ['native', 'emu'] as const) {
      it.skipIf(how === 'native' && !native)(`wasm2x64 ${how} agrees with V8 on every command`, async () => {
        const got = (await x64Executor(how, cache).run(s)).map(normal);
        const diffs = got.flatMap((g, k) => (g === reference[k] ? [] : [`${label(k)}: V8 ${reference[k]}, ${how} ${g}`]));
        expect(diffs.slice(0, 20)).toEqual([]);
      });
    }
  });
}

describe('memory.atomic.wait32 with a finite timeout', () => {
  // _start: sys.exit(memory.atomic.wait32(0, 0, 300 ms)) on a shared memory whose cell 0 holds 0.
  const wasm = encodeModule({
    types: [[[I32], []], [[], []]],
    imports: [{ module: 'sys', name: 'exit', desc: [0x00, 0] }],
    funcs: [1],
    memories: [[0x03, 1, 1]],
    exports: [{ name: '_start', kind: 0, index: 1 }],
    bodies: [{ code: [0x41, 0, 0x41, 0, 0x42, ...sleb(300_000_000), 0xfe, 0x01, 2, 0, 0x10, 0] }],
  });
  it.skipIf(!native)('sleeps natively, then returns 2 (timed out)', async () => {
    const t0 = performance.now();
    const r = await runElf(compileLinuxUser(wasm), 'native');
    expect(performance.now() - t0).toBeGreaterThanOrEqual(300);
    expect(r.status).toBe(2);
  });
  it('returns 2 under emu run', async () => {
    expect((await runElf(compileLinuxUser(wasm), 'emu')).status).toBe(2);
  });
});

describe('in the kernel target (direct memory), at CPL 0 on the emulator CPU', () => {
  const compileKernelTarget = (wasm: Uint8Array): CompiledModule => compileModule(parseModule(wasm), 'M_', () => null, new TypeIds(), KERNEL_TARGET);

  it('memory.atomic.wait32/64 and notify are refused with one line', () => {
    for (const op of [Op.MemoryAtomicNotify, Op.MemoryAtomicWait32, Op.MemoryAtomicWait64]) {
      const name = opInfo(op).name;
      expect(() => compileKernelTarget(atomicsModule(true, [opInfo(op)]))).toThrow(`func 3 (#3): ${name} is not supported in the kernel target`);
    }
  });

  it('every other operator agrees with V8, memory as physical addresses from 0x40000', () => {
    const ops = ATOMICS.filter((i) => !i.name.startsWith('memory.'));
    const wasm = atomicsModule(true, ops);
    const c = compileKernelTarget(wasm);
    const v8 = new WebAssembly.Instance(new WebAssembly.Module(wasm)).exports as Record<string, (...a: unknown[]) => unknown>;
    const BASE = 0x40000;
    const bits = (t: number | undefined, x: unknown): string => (t === undefined ? 'ok' : BigInt.asUintN(t === I32 ? 32 : 64, BigInt(x as number)).toString(16));
    const diffs: string[] = [];
    let traps = 0;
    for (const info of ops) {
      const rt = info.sig!.results[0];
      for (const [offset, addr] of [[0, 64], [3, 61], [0, 65], [3, 64], [0, 66]]) {
        for (const args of operands(info, addr + offset)) {
          const f = fname(info, offset);
          let want: string;
          v8.fill(64);
          try {
            const r = v8[f](addr, ...args.map((v) => ('bits' in v ? (v.type === 'i32' ? Number(BigInt.asIntN(32, v.bits)) : BigInt.asIntN(64, v.bits)) : null)));
            want = `${bits(rt, r)} ${bits(I64, v8.peek(64))} ${bits(I64, v8.peek(72))}`;
          } catch (e) {
            want = `trap ${V8_TRAPS[(e as Error).message]}`;
            traps++;
          }
          const r = runAtCpl0(c, f, [BigInt(BASE + addr), ...args.map((v) => (v as { bits: bigint }).bits)], (s) => {
            const dv = new DataView(s.phys.bytes.buffer);
            dv.setBigUint64(BASE + 64, P0, true);
            dv.setBigUint64(BASE + 72, P1, true);
          });
          const dv = new DataView(r.s.phys.bytes.buffer);
          const got = r.trap !== null ? `trap ${r.trap}` : `${bits(rt, r.result)} ${bits(I64, dv.getBigUint64(BASE + 64, true))} ${bits(I64, dv.getBigUint64(BASE + 72, true))}`;
          if (got !== want) diffs.push(`${f}(${addr}, ${args.map((v) => ('bits' in v ? v.bits.toString(16) : '')).join(', ')}): V8 ${want}, kernel target ${got}`);
        }
      }
    }
    expect(traps).toBeGreaterThan(0);
    expect(diffs).toEqual([]);
  });
});

/**
 * The `hw` intrinsics of tools/wasm2x64: every entry of the contract compiles
 * inline (no call) and assembles; each runs at CPL 0 on the emulator's bare
 * CPU with arguments carrying junk above the bits it may read, and does what
 * the contract says (ports, MSRs, control registers, GS-relative and 64-bit
 * accesses, flags, halting); the ones that work in user mode (rdtsc, pause,
 * load/store at a mapped address, funcaddr) run in a linux-user ELF natively
 * and under `emu run`, where a timed memory.atomic.wait is seen to take its
 * time. Unknown intrinsics and wrong signatures are one-line errors, and so
 * are the ones that need the kernel runtime in the user target. Traps,
 * threads and trap frames run in test/kernel-traps.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { F } from '../emu/cpu/flags.js';
import { Seg } from '../emu/cpu/regs.js';
import type { Sandbox } from '../emu/cpu/sandbox.js';
import { assemble } from '../tools/asm/index.js';
import { UnsupportedError } from '../tools/wasm2x64/codegen/func.js';
import { compileModule, type Extern, type ModuleTarget, TypeIds } from '../tools/wasm2x64/codegen/module.js';
import { runtime } from '../tools/wasm2x64/codegen/runtime.js';
import { linuxElf, ORIGIN } from '../tools/wasm2x64/elf/writer.js';
import { parseModule } from '../tools/wasm2x64/wasm/index.js';
import { encodeModule, I32, I64, sleb, uleb } from '../tools/wasm2x64/wasm/builder.js';
import { KERNEL_TARGET } from '../tools/wasm2x64/kernel.js';
import { CPL0_CODE, CPL0_STACK, PAGE_TABLES, runAtCpl0 } from './wasm/cpu0.js';
import { runElf } from './wasm/x64-executor.js';

/** The contract: name, parameters, results (i = i32, l = i64). */
const CONTRACT: [string, string, string][] = [
  ['outb', 'ii', ''], ['outw', 'ii', ''], ['outl', 'ii', ''], ['inb', 'i', 'i'], ['inw', 'i', 'i'], ['inl', 'i', 'i'],
  ['rdmsr', 'i', 'l'], ['wrmsr', 'il', ''],
  ['read_cr0', '', 'l'], ['read_cr2', '', 'l'], ['read_cr3', '', 'l'], ['read_cr4', '', 'l'],
  ['write_cr0', 'l', ''], ['write_cr3', 'l', ''], ['write_cr4', 'l', ''], ['invlpg', 'l', ''],
  ['cli', '', ''], ['sti', '', ''], ['hlt', '', ''], ['sti_hlt', '', ''], ['pause', '', ''], ['rdtsc', '', 'l'], ['swapgs', '', ''],
  ['read_rflags', '', 'l'], ['frame_address', '', 'l'], ['int3', '', ''],
  ['gs_load32', 'i', 'i'], ['gs_load64', 'i', 'l'], ['gs_store32', 'ii', ''], ['gs_store64', 'il', ''],
  ['load64', 'l', 'l'], ['store64', 'll', ''], ['load32', 'l', 'i'], ['store32', 'li', ''],
  ['load16', 'l', 'i'], ['store16', 'li', ''], ['load8', 'l', 'i'], ['store8', 'li', ''],
  ['funcaddr', 'i', 'l'], ['cpu_id', '', 'i'],
  ['switch_to', 'il', ''], ['stack_init', 'llii', 'l'], ['trap_return', 'l', ''],
];
/** Entries whose code jumps into the kernel runtime, refused in the user target. */
const KERNEL_ONLY = ['stack_init', 'trap_return'];
const T: Record<string, number> = { i: I32, l: I64 };
const types = (p: string, r: string): [number[], number[]] => [[...p].map((x) => T[x]), [...r].map((x) => T[x])];
const HW = (mod: string): Extern | null => (mod === 'hw' ? { kind: 'intrinsic' } : null);

/** A function of a test module besides the intrinsics' wrappers, exported as `name`. */
interface Extra { name: string; type: [number[], number[]]; locals?: [number, number][]; code: number[] }

/**
 * Imports the given intrinsics and defines, for each, a function of the
 * same type that calls it (exported under its name), then the `extra` ones.
 */
function hwModule(names: string[], opts: { table?: boolean; memory?: boolean; extra?: Extra[] } = {}): Uint8Array {
  const entries = names.map((n) => CONTRACT.find((c) => c[0] === n)!);
  const extra = opts.extra ?? [];
  const n = entries.length;
  return encodeModule({
    types: [...entries.map(([, p, r]) => types(p, r)), ...extra.map((x) => x.type)],
    imports: entries.map(([name], k) => ({ module: 'hw', name, desc: [0x00, k] })),
    funcs: [...entries.map((_, k) => k), ...extra.map((_, k) => n + k)],
    tables: opts.table ? [[0x70, 0x00, 4]] : undefined,
    memories: opts.memory ? [[0x03, 1, 1]] : undefined,
    exports: [...entries.map(([name], k) => ({ name, kind: 0, index: n + k })), ...extra.map((x, k) => ({ name: x.name, kind: 0, index: 2 * n + k }))],
    // Table 0 = [the wrapper of the first intrinsic, null, the first extra function if any, null].
    elems: opts.table ? [[0x00, 0x41, 0, 0x0b, 1, ...uleb(n)], ...(extra.length ? [[0x00, 0x41, 2, 0x0b, 1, ...uleb(2 * n)]] : [])] : undefined,
    bodies: [
      ...entries.map(([, p], k) => ({ code: [...[...p].flatMap((_, i) => [0x20, i]), 0x10, ...uleb(k)] })),
      ...extra.map((x) => ({ locals: x.locals, code: x.code })),
    ],
  });
}

const compile = (wasm: Uint8Array, target?: ModuleTarget) => compileModule(parseModule(wasm), 'M_', HW, new TypeIds(), target);

describe('hw intrinsics compile inline', () => {
  const all = CONTRACT.map(([n]) => n);
  const c = compile(hwModule(all, { table: true }), KERNEL_TARGET);

  it('with no call instruction, for every entry of the contract', () => {
    for (const [k, [name]] of CONTRACT.entries()) {
      const start = c.text.indexOf(`M_f${all.length + k}:`);
      const body = c.text.slice(start, c.text.indexOf('\nM_', start + 1));
      expect(body, name).not.toMatch(/^\s*call\b/m);
    }
  });

  it('into lines tools/asm assembles', () => {
    // The kernel runtime's routines that stack_init and trap_return name.
    const kernelRt = '__thread_start:\n__trap_exit:\n  ud2';
    const img = assemble(`.intel_syntax noprefix\n${runtime('__main')}\n  .text\n__main:\n  ret\n${kernelRt}\n${c.text}\n  .data\n${c.data}\n`, { origin: ORIGIN });
    expect(img.bytes.length).toBeGreaterThan(0);
  });

  it('and refuse an unknown name or a wrong signature with one line naming the import', () => {
    const call = (name: string, p: string): Uint8Array => encodeModule({
      types: [types(p, ''), [[], []]],
      imports: [{ module: 'hw', name, desc: [0x00, 0] }],
      funcs: [1],
      bodies: [{ code: [...[...p].flatMap((x) => (x === 'i' ? [0x41, 0] : [0x42, 0])), 0x10, 0] }],
    });
    const error = (wasm: Uint8Array): string => {
      try { compile(wasm); } catch (e) { if (e instanceof UnsupportedError) return e.message; throw e; }
      return 'compiled';
    };
    expect(error(call('foo', ''))).toBe('func 1 (#1): import hw.foo: unknown intrinsic');
    expect(error(call('outb', 'i'))).toBe('func 1 (#1): import hw.outb: declared [i32] -> [], the intrinsic is [i32 i32] -> []');
    expect(error(call('funcaddr', 'i'))).toMatch(/^func 1 \(#1\): import hw\.funcaddr: declared/);
    expect(error(call('toString', ''))).toBe('func 1 (#1): import hw.toString: unknown intrinsic');
    for (const n of KERNEL_ONLY) expect(error(hwModule([n], { table: true }))).toBe(`func 1 (#1): import hw.${n}: only in the kernel target`);
  });
});

const GS_HIGH = 0xffffffff80020000n;

/**
 * A case: the intrinsic's arguments (i32 ones with junk above the bits the
 * contract says it reads), what to set up, and what must hold afterwards.
 */
interface Case {
  name: string;
  args?: bigint[];
  setup?: (s: Sandbox) => void;
  check: (s: Sandbox, result: bigint, io: string[]) => void;
}

const u64 = (s: Sandbox, a: number): bigint => new DataView(s.phys.bytes.buffer).getBigUint64(a, true);
const u32 = (s: Sandbox, a: number): number => new DataView(s.phys.bytes.buffer).getUint32(a, true);
const KERNEL_GS_BASE = 0xc0000102n;

const CASES: Case[] = [
  { name: 'outb', args: [0xdead03f8n, 0x12345641n], check: (_, __, io) => expect(io).toEqual(['out1 3f8 41']) },
  { name: 'outw', args: [0xdead03f8n, 0x12345641n], check: (_, __, io) => expect(io).toEqual(['out2 3f8 5641']) },
  { name: 'outl', args: [0xdead03f8n, 0x92345641n], check: (_, __, io) => expect(io).toEqual(['out4 3f8 92345641']) },
  { name: 'inb', args: [0xbeef0060n], check: (_, r, io) => { expect(io).toEqual(['in1 60']); expect(r & 0xffffffffn).toBe(0xa5n); } },
  { name: 'inw', args: [0xbeef0060n], check: (_, r, io) => { expect(io).toEqual(['in2 60']); expect(r & 0xffffffffn).toBe(0xa55an); } },
  { name: 'inl', args: [0xbeef0060n], check: (_, r, io) => { expect(io).toEqual(['in4 60']); expect(r & 0xffffffffn).toBe(0xdeadbeefn); } },
  { name: 'wrmsr', args: [KERNEL_GS_BASE, 0x00007ffe12345678n], check: (s) => expect(BigInt(s.cpu.kernelGsBase)).toBe(0x00007ffe12345678n) },
  { name: 'rdmsr', args: [KERNEL_GS_BASE], setup: (s) => { s.cpu.kernelGsBase = 0x00007ffe12345678; }, check: (_, r) => expect(r).toBe(0x00007ffe12345678n) },
  { name: 'read_cr0', check: (s, r) => expect(r).toBe(BigInt(s.cpu.cr0 >>> 0)) },
  { name: 'read_cr2', setup: (s) => { s.cpu.cr2 = 0x7f0012345678; }, check: (_, r) => expect(r).toBe(0x7f0012345678n) },
  { name: 'read_cr3', check: (_, r) => expect(r).toBe(BigInt(PAGE_TABLES)) },
  { name: 'read_cr4', check: (s, r) => expect(r).toBe(BigInt(s.cpu.cr4)) },
  { name: 'write_cr0', args: [0x80050033n], check: (s) => expect(s.cpu.cr0 >>> 0).toBe(0x80050033) },
  // The same tables, with PWT and PCD set.
  { name: 'write_cr3', args: [BigInt(PAGE_TABLES + 0x18)], check: (s) => expect(s.cpu.mmu.cr3).toBe(PAGE_TABLES + 0x18) },
  { name: 'write_cr4', args: [0x620n], check: (s) => expect(s.cpu.cr4).toBe(0x620) },
  { name: 'invlpg', args: [0x30000n], check: () => {} },
  { name: 'cli', setup: (s) => s.cpu.setFlags(s.cpu.getFlags() | F.IF), check: (s) => expect(s.cpu.getFlags() & F.IF).toBe(0) },
  { name: 'sti', check: (s) => expect(s.cpu.getFlags() & F.IF).toBe(F.IF) },
  { name: 'hlt', check: (s) => expect(s.cpu.halted).toBe(true) },
  { name: 'sti_hlt', check: (s) => { expect(s.cpu.halted).toBe(true); expect(s.cpu.getFlags() & F.IF).toBe(F.IF); } },
  { name: 'pause', check: () => {} },
  { name: 'rdtsc', check: (_, r) => expect(r).toBe(0x0123456789abcdefn) },
  {
    // Flags no instruction of the function changes (the prologue's cmp sets the arithmetic ones).
    name: 'read_rflags', setup: (s) => s.cpu.setFlags(s.cpu.getFlags() | F.IF | F.AC),
    check: (_, r) => expect(Number(r) & (F.IF | F.AC | 2)).toBe(F.IF | F.AC | 2),
  },
  // The driver calls the wrapper with its arguments at rsp = STACK - 32, which the frame sees at rbp + 16; the return address is in the driver.
  {
    name: 'frame_address',
    check: (s, r) => { expect(r + 16n).toBe(BigInt(CPL0_STACK - 32)); expect(Number(u64(s, Number(r) + 8))).toBeLessThan(CPL0_CODE + 0x40); },
  },
  {
    name: 'swapgs', setup: (s) => { s.cpu.segBase[Seg.GS] = 0x1000; s.cpu.kernelGsBase = 0x2000; },
    check: (s) => expect([s.cpu.segBase[Seg.GS], s.cpu.kernelGsBase]).toEqual([0x2000, 0x1000]),
  },
  // A GS base just below -2 GiB and an offset of 2 GiB or more: zero-extended, the offset wraps around to 0x20000 and up;
  // sign-extended, it would land far outside the mapped 2 MiB and fault.
  { name: 'gs_load32', args: [0x80000010n], check: (_, r) => expect(r & 0xffffffffn).toBe(0x44332211n) },
  { name: 'gs_load64', args: [0x80000010n], check: (_, r) => expect(r).toBe(0x8877665544332211n) },
  { name: 'gs_store32', args: [0x80000020n, 0xcafef00dn], check: (s) => expect(u32(s, 0x20020)).toBe(0xcafef00d) },
  { name: 'gs_store64', args: [0x80000028n, 0x0102030405060708n], check: (s) => expect(u64(s, 0x20028)).toBe(0x0102030405060708n) },
  { name: 'load64', args: [0x20010n], check: (_, r) => expect(r).toBe(0x8877665544332211n) },
  { name: 'load32', args: [0x20010n], check: (_, r) => expect(r & 0xffffffffn).toBe(0x44332211n) },
  { name: 'store64', args: [0x30008n, 0x1122334455667788n], check: (s) => expect(u64(s, 0x30008)).toBe(0x1122334455667788n) },
  { name: 'store32', args: [0x30010n, 0x99aabbccn], check: (s) => { expect(u32(s, 0x30010)).toBe(0x99aabbcc); expect(u32(s, 0x30014)).toBe(0); } },
  // Zero-extended results; stores write their width only, from arguments with junk above it.
  { name: 'load16', args: [0x20012n], check: (_, r) => expect(r & 0xffffffffn).toBe(0x4433n) },
  { name: 'load8', args: [0x20017n], check: (_, r) => expect(r & 0xffffffffn).toBe(0x88n) },
  { name: 'store16', args: [0x30021n, 0xdead_beefn], check: (s) => expect(u32(s, 0x30020)).toBe(0x00beef00) },
  { name: 'store8', args: [0x30032n, 0xdead_beefn], check: (s) => expect(u32(s, 0x30030)).toBe(0x00ef0000) },
  { name: 'cpu_id', setup: (s) => { s.cpu.segBase[Seg.GS] = 0x20000; new DataView(s.phys.bytes.buffer).setUint32(0x20008, 7, true); }, check: (_, r) => expect(r & 0xffffffffn).toBe(7n) },
];

describe('hw intrinsics run at CPL 0 on the emulator CPU', () => {
  const names = CASES.map((k) => k.name);
  const c = compile(hwModule(names));
  it('cover the contract (funcaddr needs an instantiated table: it runs in the ELF below; traps and threads need a kernel)', () => {
    expect([...names, 'funcaddr', 'int3', 'switch_to', 'stack_init', 'trap_return'].sort()).toEqual(CONTRACT.map(([n]) => n).sort());
  });

  for (const k of CASES) {
    it(k.name, () => {
      const r = runAtCpl0(c, k.name, k.args ?? [], (s) => {
        s.cpu.segBase[Seg.GS] = Number(BigInt.asIntN(64, GS_HIGH));
        new DataView(s.phys.bytes.buffer).setBigUint64(0x20010, 0x8877665544332211n, true);
        k.setup?.(s);
      });
      expect(r.trap).toBe(null);
      k.check(r.s, r.result, r.io);
    });
  }
});

const native = process.platform === 'linux' && process.arch === 'x64';

/** A linux-user program that calls each export (no parameters, one i64 result) and prints the results in hex, one a line. */
function userElf(wasm: Uint8Array, calls: string[]): { elf: Uint8Array; symbols: Map<string, bigint> } {
  const c = compile(wasm);
  const main = calls.map((n) => `  sub rsp, 16
  call ${(c.exports.get(n) as { label: string }).label}
  mov rdi, qword ptr [rsp]
  add rsp, 16
  call __put_hex
  lea rsi, [rip+__s_nl]
  call __put_str`).join('\n');
  const src = `.intel_syntax noprefix
${runtime('__main')}
  .text
__main:
  push rbp
  call ${c.instantiate}
${main}
  pop rbp
  ret
${c.text}
  .data
${c.data}
`;
  const img = assemble(src, { origin: ORIGIN });
  return { elf: linuxElf(img), symbols: img.symbols };
}

describe('hw intrinsics in a linux-user ELF', () => {
  const L = I64;
  const hex = (v: bigint): string => v.toString(16).padStart(16, '0');
  // Imports: rdtsc 0, pause 1, load32 2, load64 3, store64 4, funcaddr 5; their wrappers 6..11; these from 12.
  // Table 0 is [f6, null, f12, null].
  const extra: Extra[] = [
    // The ELF header's magic at the image's first byte: i64.extend_i32_u(load32(0x400000)).
    { name: 'magic', type: [[], [L]], code: [0x42, ...sleb(0x400000), 0x10, 2, 0xad] },
    // store64 then load64 in the unused rest of the header page.
    { name: 'roundtrip', type: [[], [L]], code: [0x42, ...sleb(0x400f00), 0x42, ...sleb(0x1122334455667788n), 0x10, 4, 0x42, ...sleb(0x400f00), 0x10, 3] },
    // pause; t0 = rdtsc; r = memory.atomic.wait32(0, 0, 50 ms); (rdtsc - t0 >= 50e6) << 8 | r. emu's TSC counts ns, a real one faster.
    {
      name: 'timed_wait', type: [[], [L]], locals: [[1, I64], [1, I32]],
      code: [0x10, 1, 0x10, 0, 0x21, 0, 0x41, 0, 0x41, 0, 0x42, ...sleb(50_000_000), 0xfe, 0x01, 2, 0, 0x21, 1,
        0x10, 0, 0x20, 0, 0x7d, 0x42, ...sleb(50_000_000), 0x5a, 0xad, 0x42, 8, 0x86, 0x20, 1, 0xad, 0x84],
    },
    ...[0, 1, 2, 3, 4, 0xffffffff].map((k): Extra => ({ name: `funcaddr${k}`, type: [[], [L]], code: [0x41, ...sleb(k | 0), 0x10, 5] })),
  ];
  const wasm = hwModule(['rdtsc', 'pause', 'load32', 'load64', 'store64', 'funcaddr'], { table: true, memory: true, extra });
  const { elf, symbols } = userElf(wasm, extra.map((x) => x.name));
  const expected = [
    hex(0x464c457fn), hex(0x1122334455667788n), hex(0x102n),
    hex(symbols.get('M_f6')!), hex(0n), hex(symbols.get('M_f12')!), hex(0n), hex(0n), hex(0n),
  ].join('\n') + '\n';

  for (const how of ['native', 'emu'] as const) {
    it.skipIf(how === 'native' && !native)(how, async () => {
      const r = await runElf(elf, how);
      expect({ stdout: r.stdout, stderr: r.stderr, status: r.status }).toEqual({ stdout: expected, stderr: '', status: 0 });
    });
  }
});

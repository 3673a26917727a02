/**
 * The AssemblyScript kernel (kernel/main.ts), built by the code path of
 * `npm run build:kernel` into a temporary folder and booted on the emulated
 * machine; two small kernels on the same library that trap (on an AP) and
 * fault (on the BSP); and ts2elf's one-line errors. QEMU runs the kernel in
 * `npm run check:qemu`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Session } from '../emu/machine/session.js';
import { buildElf } from '../tools/wasm2x64/ts2elf.js';
import { ROOT } from './helpers/emu.js';

let dir = '';
beforeAll(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kernel-boot-')); });
afterAll(() => { fs.rmSync(dir, { recursive: true, force: true }); });

/** Boots elf; `input`, if any, is typed on COM1 from the start. */
async function boot(elf: string, cpus: number, input?: string): Promise<{ out: string; status: number | null }> {
  const s = new Session({ kernel: { name: path.basename(elf), bytes: fs.readFileSync(elf) }, cpus, seed: 1n, noReboot: true });
  if (input) s.serial.send(input);
  const stop = await s.runToExit({ virtualTimeout: 20e9 });
  return { out: s.serial.output, status: stop.kind === 'exit' ? stop.status : null };
}

describe('kernel/main.ts', () => {
  const elf = (): string => path.join(dir, 'kernel.elf');
  beforeAll(() => buildElf(path.join(ROOT, 'kernel/main.ts'), elf(), { target: 'kernel' }), 120_000);

  it('is a multiboot ELF32 with the wasm function names as symbols', () => {
    const bytes = fs.readFileSync(elf());
    expect([...bytes.subarray(0, 5)]).toEqual([0x7f, 0x45, 0x4c, 0x46, 1]);
    expect(bytes.readUInt16LE(18)).toBe(3); // EM_386
    expect(bytes.readUInt32LE(0x1000)).toBe(0x1badb002);
    expect(bytes.includes('main/kmain\0')).toBe(true);
    expect(bytes.includes('main/apmain\0')).toBe(true);
  });

  for (const cpus of [1, 4]) {
    it(`boots with -smp ${cpus}: every CPU prints its banner, the BSP starts the monitor, and its halt exits with status 1`, async () => {
      const { out, status } = await boot(elf(), cpus, 'halt\r');
      expect(out).toContain('cpu 0: apic id 0, bsp\n');
      expect(out).toContain(`cpus: ${cpus} in the MP table\n`);
      for (let i = 1; i < cpus; i++) expect(out).toContain(`cpu ${i}: apic id ${i}, online\n`);
      expect(out).toMatch(new RegExp(`^${cpus} of ${cpus} cpus online\ndamselfly monitor: ${cpus} cpus running; type help\ndb> halt\nhalting\n$`, 'm'));
      expect(status).toBe(1);
    });
  }
});

describe('traps and faults', () => {
  // Small kernels beside copies of the kernel's own library files.
  const kernel = (name: string, body: string): Promise<string> => {
    for (const f of ['hw.ts', 'console.ts', 'smp.ts', 'runtime.ts']) fs.copyFileSync(path.join(ROOT, 'kernel', f), path.join(dir, f));
    fs.writeFileSync(path.join(dir, `${name}.ts`), `
import { gs_load32 } from "./hw";
import { puts, putDec } from "./console";
import { lapicEnable, startAp } from "./smp";
import { BOOT_TRAMPOLINE } from "./runtime";
let g: u32 = 7;
${body}
function abort(message: string | null, fileName: string | null, line: u32, column: u32): void { unreachable(); }
`);
    const elf = path.join(dir, `${name}.elf`);
    return buildElf(path.join(dir, `${name}.ts`), elf, { target: 'kernel' }).then(() => elf);
  };

  it('a trap on an AP names the function; each CPU has its own copy of a global, as instantiated', async () => {
    const elf = await kernel('aptrap', `
export function kmain(magic: u32, info: u32, boot: u32): void {
  g = 42;
  lapicEnable();
  startAp(1, load<u32>(boot + BOOT_TRAMPOLINE));
  while (true) {}
}
export function apmain(cpu: u32): void {
  puts("cpu "); putDec(cpu); puts(": g = "); putDec(g); puts(", apic id "); putDec(gs_load32(24)); puts("\\n");
  unreachable();
}`);
    const { out, status } = await boot(elf, 2);
    expect(out).toBe('cpu 1: g = 7, apic id 1\nwasm trap: unreachable in function aptrap/apmain\n');
    expect(status).toBe(0x11 * 2 + 1);
  }, 120_000);

  it('a null dereference is a page fault, reported with the function it happened in', async () => {
    const elf = await kernel('fault', `
export function kmain(magic: u32, info: u32, boot: u32): void {
  puts("reading address "); putDec(magic - 0x2badb002); puts("\\n");
  putDec(load<u32>(magic - 0x2badb002));
}`);
    const { out, status } = await boot(elf, 1);
    expect(out).toMatch(/^reading address 0\ncpu exception #PF on cpu 0, error code 0x0{16}, rip 0x0{9}1[0-9a-f]{6} in fault\/kmain, cr2 0x0{16}\n$/);
    expect(status).toBe(0x0f * 2 + 1);
  }, 120_000);
});

describe('ts2elf refuses bad input with one line', () => {
  const ts2elf = (args: string[]): Promise<{ status: number | null; stderr: string }> => new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'bin/ts2elf.mjs'), ...args], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stderr }));
  });
  const refuses = async (input: string, target: string, pattern: RegExp): Promise<void> => {
    const out = path.join(dir, 'refused.elf');
    const r = await ts2elf([input, '-o', out, '--target', target]);
    expect(r.status).toBe(1);
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(pattern);
    expect(fs.existsSync(out)).toBe(false);
  };
  const file = (name: string, contents: string | Uint8Array): string => {
    fs.writeFileSync(path.join(dir, name), contents);
    return path.join(dir, name);
  };
  const wasm = (...sections: number[][]): Uint8Array => new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, ...sections.flat()]);

  it('a missing file', () => refuses('no/such/prog.ts', 'kernel', /^ts2elf: no\/such\/prog\.ts: no such file$/));
  it('an asc error, at its place in the source', () =>
    refuses(file('typo.ts', 'export function kmain(a: u32, b: u32, c: u32): void {\n  foo(a);\n}\n'), 'linux-user',
      /^ts2elf: \S*typo\.ts:2:3: error TS2304: Cannot find name 'foo'\.$/));
  it('invalid wasm', () =>
    // () -> i32 whose body returns nothing
    refuses(file('invalid.wasm', wasm([1, 5, 1, 0x60, 0, 1, 0x7f], [3, 2, 1, 0], [10, 4, 1, 2, 0, 0x0b])), 'kernel',
      /^ts2elf: \S*invalid\.wasm: .*type mismatch/));
  it('an unsupported feature', () =>
    // v128.const; drop
    refuses(file('simd.wasm', wasm([1, 4, 1, 0x60, 0, 0], [3, 2, 1, 0], [10, 0x17, 1, 0x15, 0, 0xfd, 0x0c, ...new Array(16).fill(0), 0x1a, 0x0b])),
      'linux-user', /^ts2elf: \S*simd\.wasm: .*SIMD is not supported/));
  it('an intrinsic that does not exist', () =>
    refuses(file('frob.ts', '@external("hw", "frobnicate") declare function frobnicate(): void;\n' +
      'export function kmain(a: u32, b: u32, c: u32): void { frobnicate(); }\nfunction abort(m: string | null, f: string | null, l: u32, c: u32): void {}\n'),
    'kernel', /^ts2elf: \S*frob\.ts: .*hw\.frobnicate: unknown intrinsic$/));
  it('a kernel without the abort asc is told to use', () =>
    refuses(file('noabort.ts', 'export function kmain(a: u32, b: u32, c: u32): void {}\n'), 'kernel',
      /^ts2elf: \S*noabort\.ts: no function 'noabort\/abort' for asc's abort: .*--abort FILE\/NAME$/));
  it('a kernel without kmain', () =>
    refuses(file('nomain.ts', 'export function start(): void {}\nfunction abort(m: string | null, f: string | null, l: u32, c: u32): void {}\n'),
      'kernel', /^ts2elf: \S*nomain\.ts: the module exports no kmain function$/));
});

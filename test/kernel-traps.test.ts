/**
 * The kernel runtime's interrupt entry, trap return and context switch
 * (tools/wasm2x64/codegen/kernel-rt.ts, the hw intrinsics switch_to,
 * stack_init, trap_return): the test kernel test/fixtures/kernel/traps.ts on
 * the emulated machine with -smp 2 — an int3 and a page fault that ktrap
 * sees and returns from (xmm registers intact), an NMI on its interrupt stack, a LAPIC timer
 * interrupt on each CPU, two threads ping-ponging, a trip to user mode and
 * back — and small kernels for the ways a thread can end badly. The AS
 * declaration of the trap frame must match the runtime's table. The kernel's
 * own ktrap (kernel/arch/x86_64/trap.ts) must panic on the vectors it has no
 * use for; its IPI vector is exercised by the self-tests (kernel-lwkt).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Session } from '../emu/machine/session.js';
import { FRAME_BYTES, FRAME_XMM, TRAP_FRAME_FIELDS } from '../tools/wasm2x64/codegen/kernel-rt.js';
import { buildElf } from '../tools/wasm2x64/ts2elf.js';
import { ROOT } from './helpers/emu.js';

let dir = '';
beforeAll(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kernel-traps-')); });
afterAll(() => { fs.rmSync(dir, { recursive: true, force: true }); });

async function boot(elf: string, cpus: number): Promise<{ out: string; status: number | null }> {
  const s = new Session({ kernel: { name: path.basename(elf), bytes: fs.readFileSync(elf) }, cpus, seed: 1n, noReboot: true });
  const stop = await s.runToExit({ virtualTimeout: 20e9 });
  return { out: s.serial.output, status: stop.kind === 'exit' ? stop.status : null };
}

/** The ELF32's function symbols (ts2elf writes the wasm names), to name the function around an address. */
function symbolAt(elf: Uint8Array, addr: number): string {
  const dv = new DataView(elf.buffer, elf.byteOffset, elf.byteLength);
  const shoff = dv.getUint32(0x20, true), shentsize = dv.getUint16(0x2e, true), shnum = dv.getUint16(0x30, true);
  const section = (i: number) => {
    const h = shoff + i * shentsize;
    return { type: dv.getUint32(h + 4, true), offset: dv.getUint32(h + 16, true), size: dv.getUint32(h + 20, true), link: dv.getUint32(h + 24, true) };
  };
  const symtab = Array.from({ length: shnum }, (_, i) => section(i)).find((s) => s.type === 2)!;
  const strtab = section(symtab.link);
  let best = { name: '', value: -1 };
  for (let p = symtab.offset; p < symtab.offset + symtab.size; p += 16) {
    const value = dv.getUint32(p + 4, true);
    if (value > addr || value <= best.value) continue;
    const start = strtab.offset + dv.getUint32(p, true);
    best = { name: new TextDecoder().decode(elf.subarray(start, elf.indexOf(0, start))), value };
  }
  return best.name;
}

describe('test/fixtures/kernel/traps.ts on -smp 2', () => {
  const elf = (): string => path.join(dir, 'traps.elf');
  beforeAll(() => buildElf(path.join(ROOT, 'test/fixtures/kernel/traps.ts'), elf(), { target: 'kernel' }), 120_000);

  it('ktrap sees each vector with its error code and rip, threads switch, user mode comes back; both CPUs take their timer', async () => {
    const { out, status } = await boot(elf(), 2);
    const bytes = fs.readFileSync(elf());
    // Each rip becomes the function it is in.
    const named = out.replace(/rip 0x([0-9a-f]{16})/g, (_, hex: string) => `rip in ${symbolAt(bytes, parseInt(hex, 16))}`);
    expect(named).toBe(`\
int3: vector 3, error code 0, after an int3 byte yes, rip in traps/kmain, interrupts off yes, limit lowered by 4096
after int3: xmm registers kept yes
page fault: vector 14, error code 2, cr2 0x0010, rip in traps/kmain: mapping page 0
after the fault: 42
nmi: on its interrupt stack yes
cpu 0: timer vector 0x40, interrupted with interrupts on yes
thread A: round 0, own stack limit yes, interrupts off yes
thread B: round 0, own stack limit yes, interrupts off yes
thread A: round 1, own stack limit yes, interrupts off yes
thread B: round 1, own stack limit yes, interrupts off yes
thread A: round 2, own stack limit yes, interrupts off yes
thread B: round 2, own stack limit yes, interrupts off yes
thread A: returned, kthread_exit
thread B: returned, kthread_exit
main: back, stack limit restored yes
user int3 1: cs 0x33, ss 0x2b, kernel gs yes, frame at rsp0 yes, interrupts off yes
user int3 2: cs 0x33, ss 0x2b, kernel gs yes, frame at rsp0 yes, interrupts off yes
main: back from user mode, stack limit restored yes
cpu 1: timer vector 0x40, interrupted with interrupts on yes
`);
    expect(status).toBe(1);
  }, 120_000);
});

/** Writes `source` as NAME.ts in the test's folder and builds it with ts2elf --target kernel. */
async function buildSource(name: string, source: string): Promise<string> {
  fs.writeFileSync(path.join(dir, `${name}.ts`), source);
  const elf = path.join(dir, `${name}.elf`);
  await buildElf(path.join(dir, `${name}.ts`), elf, { target: 'kernel' });
  return elf;
}

describe('threads that end badly', () => {
  // Small kernels beside a copy of kernel/hw.ts; each prints nothing itself.
  const kernel = async (name: string, body: string): Promise<string> => {
    fs.copyFileSync(path.join(ROOT, 'kernel/hw.ts'), path.join(dir, 'hw.ts'));
    return buildSource(name, `
import { stack_init, switch_to } from "./hw";
const stack: usize = memory.data(32768, 16);
const saved: usize = memory.data(8);
function worker(arg: u32): void {}
${body}
function abort(message: string | null, fileName: string | null, line: u32, column: u32): void { unreachable(); }
`);
  };

  it('an entry that returns without a kthread_exit to go to stops the machine, naming the entry', async () => {
    const elf = await kernel('noexit', `
export function kmain(magic: u32, info: u32, boot: u32): void {
  switch_to(saved, stack_init(<u64>stack + 32768, <u64>stack + 8192, worker.index, 0));
}`);
    const { out, status } = await boot(elf, 1);
    expect(out).toBe('kernel thread noexit/worker returned, and the module exports no kthread_exit\n');
    expect(status).toBe(0x0e * 2 + 1);
  }, 120_000);

  it('stack_init checks the entry as call_indirect would: an index beyond table 0 is a trap where it is called', async () => {
    const elf = await kernel('badentry', `
export function kmain(magic: u32, info: u32, boot: u32): void {
  switch_to(saved, stack_init(<u64>stack + 32768, <u64>stack + 8192, worker.index + 100, 0));
}`);
    const { out, status } = await boot(elf, 1);
    expect(out).toBe('wasm trap: undefined element in function badentry/kmain\n');
    expect(status).toBe((0x10 + 5) * 2 + 1);
  }, 120_000);
});

describe("the kernel's ktrap on an unexpected vector", () => {
  /** kernel/kern/kern_shutdown.ts's EXIT_PANIC, as an exit status. */
  const STATUS_PANIC = 4 * 2 + 1;
  /** A kernel whose kmain, after lwkt_gdinit, runs `body`, with the kernel's own ktrap. */
  const kernel = async (name: string, body: string): Promise<string> => {
    const k = path.relative(dir, path.join(ROOT, 'kernel'));
    return buildSource(name, `
import { int3 } from "${k}/hw";
import { puts } from "${k}/console";
import { lwkt_gdinit } from "${k}/kern/lwkt_thread";
import { db_sym_init } from "${k}/ddb/db_sym";
import { panic } from "${k}/kern/kern_shutdown";
export { ktrap } from "${k}/arch/x86_64/trap";
export function kmain(magic: u32, info: u32, boot: u32): void {
  db_sym_init(boot);
  lwkt_gdinit();
${body}
}
function abort(message: string | null, fileName: string | null, line: u32, column: u32): void { unreachable(); }
`);
  };
  const named = (out: string, elf: string): string => {
    const bytes = fs.readFileSync(elf);
    return out.replace(/rip 0x([0-9a-f]{16})/g, (_, hex: string) => `rip in ${symbolAt(bytes, parseInt(hex, 16))}`);
  };

  /**
   * The report after a panic's first line: the registers, then a backtrace whose every
   * frame names the function the ELF's symbol table puts around its address, at the
   * right offset. Returns the frames' function names, newest first.
   */
  const report = (out: string, elf: string, after: string): string[] => {
    const bytes = fs.readFileSync(elf);
    const lines = out.slice(out.indexOf(after) + after.length).split('\n');
    const hex = '0x[0-9a-f]{16}';
    expect(lines.slice(0, 6).join('\n')).toMatch(new RegExp([
      `^rax ${hex} rbx ${hex} rcx ${hex} rdx ${hex}`, `rsi ${hex} rdi ${hex} rbp ${hex} rsp ${hex}`,
      ` r8 ${hex}  r9 ${hex} r10 ${hex} r11 ${hex}`, `r12 ${hex} r13 ${hex} r14 ${hex} r15 ${hex}`,
      `rip ${hex} rflags ${hex} cs 0x0008 ss 0x0010`, 'backtrace:$'].join('\n')));
    // The outermost frame returns into the runtime, which called kmain.
    expect(lines.at(-2)).toMatch(new RegExp(`^ {2}#\\d+ ${hex} \\(runtime\\)$`));
    const frames = lines.slice(6, -2).map((l) => /^ {2}#(\d+) 0x([0-9a-f]{16}) (\S+)\+0x([0-9a-f]+)$/.exec(l));
    expect(frames.every((f, i) => f !== null && Number(f[1]) === i), lines.join('\n')).toBe(true);
    for (const f of frames) {
      const addr = parseInt(f![2], 16);
      expect(f![3]).toBe(symbolAt(bytes, addr));
      expect(symbolAt(bytes, addr - parseInt(f![4], 16))).toBe(f![3]);
      expect(symbolAt(bytes, addr - parseInt(f![4], 16) - 1)).not.toBe(f![3]);
    }
    expect(lines.at(-1)).toBe('');
    return frames.map((f) => f![3]);
  };

  it('an int3 panics with vector 3 (#BP), its error code, the rip in the function that ran it, the registers and a backtrace', async () => {
    const elf = await kernel('breakpoint', '  puts("int3\\n");\n  int3();');
    const { out, status } = await boot(elf, 1);
    const first = 'int3\npanic: cpu 0: unexpected trap: vector 3 (#BP), error code 0x0000, rip in breakpoint/kmain\n';
    expect(named(out, elf).startsWith(first)).toBe(true);
    expect(report(out, elf, out.split('\n')[1] + '\n')).toEqual(['breakpoint/kmain']);
    expect(status).toBe(STATUS_PANIC);
  }, 120_000);

  it('what if the kernel dereferences null? A page-fault panic with the error code, the rip and cr2 0', async () => {
    const elf = await kernel('nullread', '  puts(load<u32>(magic - 0x2badb002) == 0 ? "zero\\n" : "not zero\\n");');
    const { out, status } = await boot(elf, 1);
    const first = 'panic: cpu 0: unexpected trap: vector 14 (#PF), error code 0x0000, rip in nullread/kmain, cr2 0x0000000000000000\n';
    expect(named(out, elf).startsWith(first)).toBe(true);
    expect(report(out, elf, out.split('\n')[0] + '\n')).toEqual(['nullread/kmain']);
    expect(status).toBe(STATUS_PANIC);
  }, 120_000);

  it('panic() reports its message, the registers where it was called and the chain of callers, symbolised', async () => {
    const elf = await kernel('deep', `  deep(3);
}
function deep(n: u32): void {
  if (n == 0) panic("it broke");
  else deep(n - 1);
  puts("back\\n");`);
    const { out, status } = await boot(elf, 1);
    expect(out.startsWith('panic: cpu 0: it broke\n')).toBe(true);
    const frames = report(out, elf, 'it broke\n').filter((f) => f !== 'kern/kern_shutdown/panic');
    expect(frames).toEqual(['deep/deep', 'deep/deep', 'deep/deep', 'deep/deep', 'deep/kmain']);
    expect(status).toBe(STATUS_PANIC);
  }, 120_000);
});

describe('the trap frame', () => {
  it('kernel/arch/x86_64/frame.ts declares the runtime\'s fields, in its order, one qword each', () => {
    const src = fs.readFileSync(path.join(ROOT, 'kernel/arch/x86_64/frame.ts'), 'utf8');
    const body = /export class TrapFrame \{([^}]*)\}/.exec(src)![1];
    const fields = [...body.matchAll(/^\s*(\w+): (\w+);/gm)];
    expect(fields.map((f) => f[1])).toEqual([...TRAP_FRAME_FIELDS]);
    expect(new Set(fields.map((f) => f[2]))).toEqual(new Set(['u64']));
    expect(src).toContain(`TRAP_FRAME_BYTES: usize = ${FRAME_BYTES};`);
    expect(src).toContain(`TRAP_FRAME_XMM_BYTES: usize = ${FRAME_XMM};`);
  });
});

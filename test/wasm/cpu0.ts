/**
 * Runs one function of a compiled module at CPL 0 on the emulator's bare
 * CPU (emu/cpu/sandbox.ts), for code no user-mode process may run: the
 * `hw` intrinsics, and the kernel target's direct memory. The module is not
 * instantiated (its globals and memory are what the CPU's RAM holds, zeros
 * unless `setup` writes them). A driver calls the function with the wasm
 * calling convention (up to three arguments) and stops on `ud2`; a trap stub stops on its own `ud2`,
 * so the run tells a result from a trap kind. Paging
 * is on, mapping the first 2 MiB to themselves, so an address outside faults.
 * Ports answer fixed values (in: 0xa5, 0xa55a, 0xdeadbeef by width) and log
 * every access.
 */
import { R } from '../../emu/cpu/regs.js';
import { Sandbox } from '../../emu/cpu/sandbox.js';
import { updateMode } from '../../emu/cpu/system.js';
import type { Platform } from '../../emu/cpu/platform.js';
import { assemble, type FlatImage } from '../../tools/asm/index.js';
import type { CompiledModule } from '../../tools/wasm2x64/codegen/module.js';

const CODE = 0x1000, STACK = 0x80000, PML4 = 0x70000;

function platform(io: string[]): Platform {
  const IN: Record<number, number> = { 1: 0xa5, 2: 0xa55a, 4: 0xdeadbeef };
  return {
    apic: {
      hwEnabled: true, tpr: 0, pendingVector: () => -1, acknowledge: () => -1, readApicBaseMsr: () => [0, 0],
      writeApicBaseMsr: () => true, readTscDeadline: () => 0, writeTscDeadline: () => {},
    },
    apicId: 0, cpuCount: 1,
    portRead: (port, size) => { io.push(`in${size} ${port.toString(16)}`); return IN[size]; },
    portWrite: (port, size, v) => { io.push(`out${size} ${port.toString(16)} ${v.toString(16)}`); },
    tsc: () => 0, setTsc: () => {}, log: () => {}, shutdown: () => {},
  };
}

export interface Cpu0Run {
  readonly s: Sandbox;
  /** The first result's qword (rax after the call). */
  readonly result: bigint;
  /** Port accesses, `out1 3f8 41` / `in2 60`. */
  readonly io: string[];
  /** The trap kind if the function trapped, else null. */
  readonly trap: number | null;
}

/** Page tables at 0x70000..0x72fff. */
export const PAGE_TABLES = PML4;
/** Where the driver's code starts and the stack's top, for checks on frames. */
export const CPL0_CODE = CODE;
export const CPL0_STACK = STACK;

const images = new WeakMap<CompiledModule, FlatImage>();

/**
 * The module with a driver that calls the function at `__target` with up to
 * three arguments from `__args` (the runner writes both), assembled once.
 */
function image(c: CompiledModule): FlatImage {
  let img = images.get(c);
  if (img) return img;
  img = assemble(`.intel_syntax noprefix
  sub rsp, 32
  mov rax, qword ptr [rip+__args]
  mov qword ptr [rsp], rax
  mov rax, qword ptr [rip+__args+8]
  mov qword ptr [rsp+8], rax
  mov rax, qword ptr [rip+__args+16]
  mov qword ptr [rsp+16], rax
  call qword ptr [rip+__target]
  mov rax, qword ptr [rsp]
__done:
  ud2
__wasm_trap:
  ud2
# The runtime routines the instantiate routine calls, never reached.
__mem_new:
__mem_grow:
__table_new:
__table_grow:
  int3
  .balign 8
__stack_limit: .quad 0
__target: .quad 0
__args: .quad 0, 0, 0
${c.text}
${c.data}
`, { origin: CODE });
  images.set(c, img);
  return img;
}

export function runAtCpl0(c: CompiledModule, name: string, args: readonly bigint[], setup?: (s: Sandbox) => void): Cpu0Run {
  const x = c.exports.get(name);
  if (x?.kind !== 'func') throw new Error(`no exported function ${name}`);
  const img = image(c);
  const at = (label: string): number => Number(img.symbols.get(label)!);
  const s = new Sandbox(1 << 20, { rdtsc: () => [0x89abcdef | 0, 0x01234567] });
  const io: string[] = [];
  s.cpu.platform = platform(io);
  s.load(CODE, img.bytes);
  s.setReg(R.SP, BigInt(STACK));
  const dv = new DataView(s.phys.bytes.buffer);
  dv.setBigUint64(at('__target'), img.symbols.get(x.label)!, true);
  args.forEach((v, i) => dv.setBigUint64(at('__args') + 8 * i, BigInt.asUintN(64, v), true));
  dv.setBigUint64(PML4, BigInt(PML4 + 0x1003), true);
  dv.setBigUint64(PML4 + 0x1000, BigInt(PML4 + 0x2003), true);
  dv.setBigUint64(PML4 + 0x2000, 0x83n, true);
  s.cpu.mmu.cr3 = PML4;
  updateMode(s.cpu);
  setup?.(s);
  // One at a time: Sandbox.step would spin on a halted CPU.
  for (let n = 0; n < 100_000 && !s.cpu.halted && s.faults.length === 0; n++) s.step(1);
  if (!s.cpu.halted && (s.faults.length !== 1 || s.faults[0].vector !== 6 || (s.cpu.rip !== at('__done') && s.cpu.rip !== at('__wasm_trap')))) {
    throw new Error(`${name}: stopped at 0x${s.cpu.rip.toString(16)} with faults ${s.faults.map((f) => f.vector).join(', ') || 'none'}`);
  }
  const trap = !s.cpu.halted && s.cpu.rip === at('__wasm_trap') ? Number(s.getReg(R.DI) & 0xffffffffn) : null;
  return { s, result: s.getReg(R.AX), io, trap };
}

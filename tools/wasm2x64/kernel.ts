/**
 * The kernel target: one module (AssemblyScript built with `--memoryBase
 * 1048576`, see ts2elf.ts) compiled with the kernel runtime
 * (codegen/kernel-rt.ts) into a multiboot v1 image, in the ELF32 container
 * that QEMU's and emu's `-kernel` load, with a symbol table of the wasm
 * function names.
 *
 * The module's contract: it imports nothing but `hw` intrinsics and exports
 * `kmain(multibootMagic: u32, multibootInfo: u32, bootInfo: u32)`, which the
 * BSP calls after instantiation, and optionally `apmain(cpu: u32)`, which
 * each application processor the kernel starts calls, `ktrap(frame: u32)`,
 * which every interrupt and exception calls with its trap frame, and
 * `kthread_exit()`, where a thread started by hw.stack_init goes when its
 * entry returns. Its linear memory is
 * the direct map of physical memory from 0, unchecked; every mutable global
 * lives per CPU (README "Kernel target").
 */
import { assemble } from '../asm/index.js';
import { compileModule, type ModuleTarget, TypeIds } from './codegen/module.js';
import { Boot, KERNEL_LOAD, kernelRuntime, MEMORY_BASE, Percpu } from './codegen/kernel-rt.js';
import { elf32Executable } from './elf/elf32.js';
import { type FuncType, funcTypeName, Op, parseModule, sameFuncType, ValType } from './wasm/index.js';

export interface KernelOptions {
  /** CPUs the image has per-CPU areas and stacks for (default 64); the runtime parks any AP beyond. */
  maxCpus?: number;
  /** Stack bytes per CPU (default 64 KiB), 8 KiB of them kept for the trap and exception handlers. */
  stackBytes?: number;
  /** Bytes of each per-CPU area left to the kernel after the runtime's header and the globals (default 2 KiB). */
  percpuKernelBytes?: number;
}

export const KERNEL_TARGET: ModuleTarget = {
  memoryMode: 'direct',
  stackLimit: `qword ptr gs:[${Percpu.StackLimit}]`,
  perCpuGlobal: (k) => `gs:[${Percpu.Globals + 8 * k}]`,
};

const I32 = ValType.I32;
const KMAIN: FuncType = { params: [I32, I32, I32], results: [] };
const APMAIN: FuncType = { params: [I32], results: [] };
const KTRAP: FuncType = { params: [I32], results: [] };
const KTHREAD_EXIT: FuncType = { params: [], results: [] };
const hex = (v: number): string => `0x${v.toString(16)}`;
const alignUp = (v: number, a: number): number => Math.ceil(v / a) * a;

export function compileKernel(wasm: Uint8Array, opts: KernelOptions = {}): Uint8Array {
  const maxCpus = opts.maxCpus ?? 64, stackBytes = opts.stackBytes ?? 64 << 10, kernelBytes = opts.percpuKernelBytes ?? 2048;
  if (!(maxCpus >= 1 && maxCpus <= 255)) throw new Error(`maxCpus ${maxCpus}: 1 to 255 (xAPIC IDs)`);
  if (!(stackBytes >= 16384 && stackBytes % 4096 === 0)) throw new Error(`stackBytes ${stackBytes}: a multiple of 4 KiB, at least 16 KiB`);
  const m = parseModule(wasm);

  // The module's memory window is [MEMORY_BASE, KERNEL_LOAD): the image sits above it.
  const mem = m.memories[0];
  if (mem && mem.type.limits.min * 65536 > KERNEL_LOAD) {
    throw new Error(`memory 0 starts with ${mem.type.limits.min} pages, more than the ${KERNEL_LOAD >> 16} below the kernel image at ${hex(KERNEL_LOAD)}`);
  }
  m.datas.forEach((d, k) => {
    const at = d.mode === 'active' && d.offset![0].op === Op.I32Const ? d.offset![0].value >>> 0 : null;
    if (at !== null && (at < MEMORY_BASE || at + d.bytes.length > KERNEL_LOAD)) {
      throw new Error(`data segment ${k} at ${hex(at)}..${hex(at + d.bytes.length)} is outside ${hex(MEMORY_BASE)}..${hex(KERNEL_LOAD)}, the module's part of memory (asc --memoryBase ${MEMORY_BASE})`);
    }
  });

  const c = compileModule(m, 'M0_', (mod) => (mod === 'hw' ? { kind: 'intrinsic' } : null), new TypeIds(), KERNEL_TARGET);
  const entry = (name: string, type: FuncType): string | null => {
    const x = c.exports.get(name);
    if (!x) return null;
    if (x.kind !== 'func' || !sameFuncType(x.type, type)) throw new Error(`export ${name} must be a function ${funcTypeName(type)}`);
    return x.label;
  };
  const kmain = entry('kmain', KMAIN);
  if (!kmain) throw new Error('the module exports no kmain function');
  const apmain = entry('apmain', APMAIN);
  const ktrap = entry('ktrap', KTRAP);
  const kthreadExit = entry('kthread_exit', KTHREAD_EXIT);

  const kernelPart = alignUp(Percpu.Globals + 8 * c.perCpuGlobals, 64);
  const tableBytes = alignUp(m.tables.reduce((n, t) => n + (t.import ? 0 : 8 * t.type.limits.min), 0), 8);
  const runtime = kernelRuntime({
    maxCpus, stackBytes, percpuBytes: alignUp(kernelPart + kernelBytes, 4096), kernelPart, perCpuGlobals: c.perCpuGlobals, tableBytes,
  });

  const name = (i: number): string => m.names?.funcs.get(i) ?? `#${i}`;
  const defined = m.funcs.filter((f) => f.code);
  const names = m.funcs.map((f) => `__fnname${f.index}: .byte ${[...new TextEncoder().encode(name(f.index)), 0].join(',')}`);
  const src = `.intel_syntax noprefix
${runtime}
  .text
  .code64
__module_instantiate:
  jmp ${c.instantiate}
# kmain(multiboot magic, multiboot information, boot information), in the wasm calling convention.
__module_main:
  sub rsp, 40
  mov eax, dword ptr [rip+__boot_info+${Boot.MultibootMagic}]
  mov qword ptr [rsp], rax
  mov eax, dword ptr [rip+__boot_info+${Boot.MultibootInfo}]
  mov qword ptr [rsp+8], rax
  lea rax, [rip+__boot_info]
  mov qword ptr [rsp+16], rax
  call ${kmain}
  add rsp, 40
  ret
# apmain(edi = CPU index)
__module_ap:${apmain ? `
  sub rsp, 24
  mov qword ptr [rsp], rdi
  call ${apmain}
  add rsp, 24` : ''}
  ret
# __module_trap(rdi = trap frame): ktrap(frame), or the runtime's report of the vector.
__module_trap:${ktrap ? `
  sub rsp, 24
  mov qword ptr [rsp], rdi
  call ${ktrap}
  add rsp, 24
  ret` : `
  jmp __exception`}
# A thread's entry returned: kthread_exit(), which should not return.
__module_thread_exit:${kthreadExit ? `
  call ${kthreadExit}` : ''}
  lea rsi, [rip+__s_thread_end]
  jmp __thread_end
${c.text}
__code_end:

  .data
${c.data}
  .balign 8
__fn_count: .quad ${m.funcs.length}
__fn_names: .quad ${m.funcs.map((f) => `__fnname${f.index}`).join(', ')}
__fn_addrs:
${defined.map((f) => `  .quad M0_f${f.index}, ${f.index}`).join('\n')}
  .quad ${c.instantiate}, -1
__fn_addrs_end:
${names.join('\n')}
__s_thread_end: .asciz "${kthreadExit ? ' returned, and so did kthread_exit' : ' returned, and the module exports no kthread_exit'}"
`;
  const img = assemble(src, { mode: 32, origin: KERNEL_LOAD, file: 'kernel.s' });
  const label = /^M0_f(\d+)$/;
  const symbols = [...img.symbols].filter(([n]) => !n.startsWith('__fnname') && !n.startsWith('.L')).map(([n, value]) => {
    const f = label.exec(n);
    return { name: f ? name(Number(f[1])) : n, value };
  });
  return elf32Executable(img, BigInt(KERNEL_LOAD), img.symbols.get('_start')!, symbols);
}

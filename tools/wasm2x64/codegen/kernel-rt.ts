/**
 * The kernel runtime, in assembly for tools/asm: what runs before and around
 * a module compiled for the kernel target (kernel.ts). A multiboot v1 loader
 * enters `_start` in 32-bit protected mode; the runtime builds the direct
 * map, switches to long mode, gives the CPU its per-CPU area (GS base) and
 * stack, instantiates the module and calls its `kmain`. Application
 * processors arrive through a real-mode trampoline the runtime copies below
 * 1 MiB (the kernel sends INIT/SIPI itself) and call `apmain`. Every one of
 * the 256 interrupt vectors enters through a trap frame (TRAP_FRAME_FIELDS)
 * and calls the module's `ktrap(frame)`; without one, a vector prints one
 * line on COM1 and stops the machine, as does a wasm trap.
 *
 * The runtime owns the descriptor tables: the GDT (KERNEL_CS .. USER_CS, then
 * a TSS descriptor per CPU), the IDT (its gates point at the runtime's stubs;
 * the kernel's handlers are wasm functions, reached through ktrap) and each
 * CPU's TSS, whose RSP0 the kernel writes (Percpu.Tss) when it runs user code.
 *
 * Physical (= linear) memory, see README "Kernel target":
 *
 *   0 .. 4 KiB          not mapped: null dereferences fault
 *   TRAMPOLINE          the AP trampoline (one page, SIPI vector TRAMPOLINE >> 12)
 *   MEMORY_BASE ..      the module's data segments (asc --memoryBase), then its heap,
 *     KERNEL_LOAD       which memory.grow lets reach no further
 *   KERNEL_LOAD ..      this image: code, data, page tables, per-CPU areas, stacks;
 *                       the loader puts its command lines and modules after it
 */
import { trapMessageData } from './ops.js';

/** Where the image is loaded (16 MiB): the module's memory window ends here. */
export const KERNEL_LOAD = 0x1000000;
/** Where asc puts the module's data (`--memoryBase`, in decimal there): 1 MiB, above the firmware's areas. */
export const MEMORY_BASE = 0x100000;
/** The AP trampoline's page, below 1 MiB as SIPI requires, and below the multiboot information at 0x9000. */
export const TRAMPOLINE = 0x8000;

/** Offsets in a per-CPU area, reached through GS (README "Kernel target"). */
export const enum Percpu {
  /** The area's own linear address. */
  Self = 0,
  /** u32: the CPU's index, 0 for the BSP, then in the order the APs arrive. */
  Index = 8,
  /** The lowest address the compiled code's stack may reach (the prologue's check). */
  StackLimit = 16,
  /** u32: the CPU's initial APIC ID (CPUID leaf 1). */
  ApicId = 24,
  /** u32: where the kernel's own part of the area starts. */
  KernelPart = 32,
  /** u32: the area's size. */
  Size = 36,
  /** The top of the CPU's stack. */
  StackTop = 40,
  /** The CPU's TSS (SDM Vol.3A §8.7): RSP0 at +4, IST1..7 at +36; the I/O bitmap is absent. */
  Tss = 48,
  /** The k-th mutable global is at Globals + 8k. */
  Globals = 64,
}

/** The boot information block whose address kmain gets: u32 fields. */
export const enum Boot {
  ImageStart = 0,
  /** The first byte after the image's page tables, per-CPU areas and stacks. */
  ImageEnd = 4,
  Trampoline = 8,
  MaxCpus = 12,
  /** CPUs that have entered the runtime so far, the BSP included (an AP beyond MaxCpus counts, and parks). */
  CpusEntered = 16,
  MultibootMagic = 20,
  MultibootInfo = 24,
  /** The name tables (below, `kernelRuntime`), for a kernel that symbolises its own backtraces. */
  FnCount = 28,
  FnNames = 32,
  FnAddrs = 36,
  FnAddrsEnd = 40,
  CodeEnd = 44,
  /** The end of the image's code (4 KiB aligned: its data starts on the next page), for the kernel's page protections. */
  TextEnd = 48,
}

/** Values written to the debug-exit port (QEMU's status is value * 2 + 1). */
export const enum ExitValue {
  /** kmain returned. */
  Return = 0,
  /** A thread's entry returned, and there was no kthread_exit or it returned. */
  ThreadEnd = 0x0e,
  Exception = 0x0f,
  /** Plus the trap kind. */
  Trap = 0x10,
}

/**
 * GDT selectors. The user segments are laid out for syscall/sysret: STAR
 * would hold KERNEL_CS in bits 47:32 (SS = +8) and USER_CS32 in 63:48
 * (sysret: SS = +8, 64-bit CS = +16). Selector 0x38 + 16i is CPU i's TSS.
 */
export const enum Selector {
  KernelCs = 0x08,
  KernelSs = 0x10,
  KernelCs32 = 0x18,
  UserCs32 = 0x23,
  UserSs = 0x2b,
  UserCs = 0x33,
  Tss0 = 0x38,
}

/**
 * The trap frame, one qword per field from the frame's address upwards: the
 * general registers, the stack limit in effect when the vector came (restored
 * on return; gs:[Percpu.StackLimit] is lowered while ktrap runs), CR2 at
 * entry, the vector, the error code (0 when the CPU pushes none), and the
 * CPU's own frame from rip to ss (SDM Vol.3A §6.14.2). The FRAME_XMM bytes
 * below the frame hold xmm0..xmm15, restored too. kernel/arch/x86_64/frame.ts
 * declares the same fields in the same order (a test compares them).
 */
export const TRAP_FRAME_FIELDS = ['r15', 'r14', 'r13', 'r12', 'r11', 'r10', 'r9', 'r8', 'rdi', 'rsi', 'rbp', 'rbx', 'rdx', 'rcx', 'rax',
  'stackLimit', 'cr2', 'vector', 'errorCode', 'rip', 'cs', 'rflags', 'rsp', 'ss'] as const;
export type FrameField = typeof TRAP_FRAME_FIELDS[number];
export const FRAME = Object.fromEntries(TRAP_FRAME_FIELDS.map((f, i) => [f, 8 * i])) as Record<FrameField, number>;
export const FRAME_BYTES = 8 * TRAP_FRAME_FIELDS.length;
/** xmm0..15, 16 bytes each, below the frame: ktrap is compiled code, free to use them. */
export const FRAME_XMM = 256;
const FRAME_GPRS = TRAP_FRAME_FIELDS.slice(0, TRAP_FRAME_FIELDS.indexOf('rax') + 1);

/**
 * How far the stack limit drops while ktrap runs, so that an interrupt taken
 * with the stack at its limit still has room: out of the STACK_RESERVE bytes
 * below it, the rest stays for the runtime's own reports.
 */
export const TRAP_STACK_ALLOWANCE = 4096;
/** Bytes of each stack kept below the limit for the trap and exception handlers. */
const STACK_RESERVE = 8192;
/**
 * The interrupt stacks (IST1..3) of each CPU, for the vectors that may come
 * on any stack, a broken one included. The top 16 bytes of each hold the
 * CPU's area address and a slot for the interrupted GS base; ktrap runs there
 * with the limit IST_RESERVE above the bottom.
 */
const IST_BYTES = 8192, IST_RESERVE = 2048;
/** vector → IST index: #DF, NMI, #MC. */
const IST: Record<number, number> = { 8: 1, 2: 2, 18: 3 };
/** Gates user code may reach with `int`: int3 breakpoints, and 0x80 for system calls. */
const USER_GATES = new Set([3, 0x80]);
const TSS_BYTES = 104;
/** Each CPU's TSS in a slot of its own, cache-line aligned. */
const TSS_SLOT = 128;
const COM1 = 0x3f8;
const DEBUG_EXIT = 0xf4;
const KCODE64 = Selector.KernelCs, KDATA = Selector.KernelSs, KCODE32 = Selector.KernelCs32;
const EXCEPTIONS = ['#DE', '#DB', 'NMI', '#BP', '#OF', '#BR', '#UD', '#NM', '#DF', 'coprocessor segment overrun', '#TS', '#NP', '#SS', '#GP',
  '#PF', 'vector 15', '#MF', '#AC', '#MC', '#XM', '#VE', '#CP'];
/** Vectors for which the CPU pushes an error code. */
const ERROR_CODE = new Set([8, 10, 11, 12, 13, 14, 17, 21, 29, 30]);

/** Offset of a trap frame field from rsp in the entry and exit paths, where rsp is the xmm area below the frame. */
const onStack = (f: FrameField): number => FRAME_XMM + FRAME[f];
const XMM = Array.from({ length: 16 }, (_, i) => i);
/** Past the stub's vector and error code: the rest of the trap frame, then cld, which compiled code expects. */
const SAVE_FRAME = `
  sub rsp, ${FRAME.vector - FRAME.stackLimit}
${[...FRAME_GPRS].reverse().map((r) => `  push ${r}`).join('\n')}
  sub rsp, ${FRAME_XMM}
${XMM.map((i) => `  movups xmmword ptr [rsp+${16 * i}], xmm${i}`).join('\n')}
  cld`;
const RESTORE_FRAME = `
${XMM.map((i) => `  movups xmm${i}, xmmword ptr [rsp+${16 * i}]`).join('\n')}
  add rsp, ${FRAME_XMM}
${FRAME_GPRS.map((r) => `  pop ${r}`).join('\n')}
  add rsp, ${FRAME.rip - FRAME.stackLimit}
  iretq`;
/** From rsp in the IST entry to the top of its interrupt stack: the area address, then the saved GS base. */
const IST_TOP = FRAME_XMM + FRAME_BYTES;
const signed = (v: number): string => (v < 0 ? `-${-v}` : `+${v}`);

export interface KernelLayout {
  readonly maxCpus: number;
  readonly stackBytes: number;
  /** Size of each per-CPU area (a multiple of 4 KiB) and where its kernel part starts. */
  readonly percpuBytes: number;
  readonly kernelPart: number;
  /** Mutable globals copied from the BSP's area to every other one after instantiation. */
  readonly perCpuGlobals: number;
  /** Bytes reserved for the module's tables' entries. */
  readonly tableBytes: number;
}

/**
 * 32-bit protected mode → long mode with the direct map, then a far jump to
 * `target`. Needs no stack (an AP has none yet). CR4.OSFXSR/OSXMMEXCPT and
 * CR0.MP/NE with EM clear give SSE its usual behaviour; WP makes read-only
 * pages read-only for the kernel too.
 */
const enterLongMode = (target: string): string => `
  mov eax, cr4
  or eax, 0x620
  mov cr4, eax
  lea eax, [__pml4]
  mov cr3, eax
  mov ecx, 0xc0000080
  rdmsr
  or eax, 0x100
  wrmsr
  mov eax, cr0
  and eax, 0xfffffffb
  or eax, 0x80010023
  mov cr0, eax
  jmp ${KCODE64}:${target}`;

/** Flat segments for the data registers; FS and GS hold the null selector, GS's base comes from the MSR. */
const dataSegments = `
  mov eax, ${KDATA}
  mov ds, eax
  mov es, eax
  mov ss, eax
  xor eax, eax
  mov fs, eax
  mov gs, eax`;

/**
 * The runtime's text and data. The module side provides `__module_instantiate`,
 * `__module_main`, `__module_ap`, `__module_trap` (rdi = trap frame) and
 * `__module_thread_exit` (kernel.ts's glue) and the name tables:
 * `__fn_count` and `__fn_names` (a string per function index), and
 * `__fn_addrs`..`__fn_addrs_end`, {start address, function index} quad pairs
 * in address order (index -1: the instantiate routine) for the code up to
 * `__code_end`.
 */
export function kernelRuntime(k: KernelLayout): string {
  const excNames = EXCEPTIONS.map((v, i) => `__excname${i}: .asciz "${v}"`);
  // One per vector, 16 bytes apart from __trap0 (each is at most 12).
  const stubs = Array.from({ length: 256 }, (_, v) => `
  .balign 16
__trap${v}:${ERROR_CODE.has(v) ? '' : '\n  push 0'}
  push ${v}
  jmp ${IST[v] ? '__trap_entry_ist' : '__trap_entry'}`).join('');
  const gate = (v: number): number => 0x8e00 | (USER_GATES.has(v) ? 3 << 13 : 0) | (IST[v] ?? 0);
  const specialGates = Array.from({ length: 256 }, (_, v) => v).filter((v) => gate(v) !== 0x8e00)
    .map((v) => `  mov word ptr [rip+__idt+${16 * v + 4}], ${gate(v)}`).join('\n');
  const istStacks = Object.values(IST).map((k) => `
  lea rax, [rcx+${k * IST_BYTES - 16}]
  mov qword ptr [rax], rsi
  mov qword ptr [rdx+${36 + 8 * (k - 1)}], rax`).join('');
  // In offset order (integer keys iterate in ascending order).
  const bootInfo: Record<Boot, string | number> = {
    [Boot.ImageStart]: KERNEL_LOAD, [Boot.ImageEnd]: '__image_end', [Boot.Trampoline]: TRAMPOLINE, [Boot.MaxCpus]: k.maxCpus,
    [Boot.CpusEntered]: 1, [Boot.MultibootMagic]: 0, [Boot.MultibootInfo]: 0,
    [Boot.FnCount]: '__fn_count', [Boot.FnNames]: '__fn_names', [Boot.FnAddrs]: '__fn_addrs',
    [Boot.FnAddrsEnd]: '__fn_addrs_end', [Boot.CodeEnd]: '__code_end',
    [Boot.TextEnd]: '__text_end',
  };
  return `
  .text
  .code32
# Multiboot v1 header: page-aligned modules, memory information; the ELF says where to load.
  .balign 4
__multiboot_header:
  .long 0x1badb002, 3, -(0x1badb002 + 3)

_start:
  cli
  cld
  mov dword ptr [__boot_info+${Boot.MultibootMagic}], eax
  mov dword ptr [__boot_info+${Boot.MultibootInfo}], ebx
  lgdt [__gdtr]
  jmp ${KCODE32}:1f
1:
${dataSegments}
  # The tables are in the bss, which the loader zero-fills (the ELF's p_memsz): absent entries are 0.
  lea eax, [__pdpt+3]
  mov dword ptr [__pml4], eax
  lea edi, [__pdpt]
  lea eax, [__pd+3]
2:
  mov dword ptr [edi], eax
  add edi, 8
  add eax, 0x1000
  cmp edi, OFFSET __pdpt+32
  jb 2b
  # 2048 2 MiB pages cover 4 GiB; the local APIC and IOAPIC range is uncached.
  lea edi, [__pd]
  xor ebx, ebx
3:
  mov eax, ebx
  or eax, 0x83
  cmp ebx, 0xfec00000
  jb 4f
  cmp ebx, 0xff000000
  jae 4f
  or eax, 0x18
4:
  mov dword ptr [edi], eax
  add edi, 8
  add ebx, 0x200000
  jnz 3b
  # The first 2 MiB in 4 KiB pages, so that page 0 alone stays unmapped.
  lea eax, [__pt0+3]
  mov dword ptr [__pd], eax
  lea edi, [__pt0+8]
  mov eax, 0x1003
5:
  mov dword ptr [edi], eax
  add edi, 8
  add eax, 0x1000
  cmp eax, 0x200000
  jb 5b
${enterLongMode('__bsp64')}

# The AP trampoline, copied to TRAMPOLINE: a SIPI starts it in real mode at CS = TRAMPOLINE >> 4, IP 0.
  .code16
__tramp:
  cli
  cld
  mov ax, cs
  mov ds, ax
  data32 lgdt [__tramp_gdtr-__tramp]
  mov eax, cr0
  or al, 1
  mov cr0, eax
  # jmp KCODE32:__ap32 with a 32-bit offset (GNU as's ljmpl, which tools/asm does not spell).
  .byte 0x66, 0xea
  .long __ap32
  .word ${KCODE32}
  .balign 8
__tramp_gdtr:
  .word __gdt_end-__gdt-1
  .long __gdt
__tramp_end:

  .code32
__ap32:
${dataSegments}
${enterLongMode('__ap64')}

  .code64
__bsp64:
${dataSegments}
  lea rsp, [rip+__stacks+${k.stackBytes}]
  call __serial_init
  call __pic_init
  call __idt_build
  xor edi, edi
  call __cpu_enter
  lea rsi, [rip+__tramp]
  mov edi, ${TRAMPOLINE}
  mov ecx, __tramp_end-__tramp
  rep movsb
  call __module_instantiate
  call __globals_copy
  call __module_main
  mov edi, ${ExitValue.Return}
  jmp __stop

__ap64:
${dataSegments}
  mov eax, 1
  lock xadd dword ptr [rip+__boot_info+${Boot.CpusEntered}], eax
  cmp eax, ${k.maxCpus}
  jae __park
  mov edi, eax
  imul eax, eax, ${k.stackBytes}
  lea rsp, [rip+__stacks+${k.stackBytes}]
  add rsp, rax
  call __cpu_enter
  mov edi, dword ptr gs:[${Percpu.Index}]
  call __module_ap
__park:
  cli
  hlt
  jmp __park

# __cpu_enter(edi = CPU index; rsp = its stack): the per-CPU area and GS base, the TSS, the IDT.
__cpu_enter:
  mov eax, edi
  imul eax, eax, ${k.percpuBytes}
  lea rsi, [rip+__percpu]
  add rsi, rax
  mov eax, esi
  mov rdx, rsi
  shr rdx, 32
  mov ecx, 0xc0000101
  wrmsr
  mov qword ptr [rsi+${Percpu.Self}], rsi
  mov dword ptr [rsi+${Percpu.Index}], edi
  mov eax, edi
  imul eax, eax, ${k.stackBytes}
  lea rcx, [rip+__stacks]
  add rcx, rax
  lea rax, [rcx+${STACK_RESERVE}]
  mov qword ptr [rsi+${Percpu.StackLimit}], rax
  lea rax, [rcx+${k.stackBytes}]
  mov qword ptr [rsi+${Percpu.StackTop}], rax
  mov dword ptr [rsi+${Percpu.KernelPart}], ${k.kernelPart}
  mov dword ptr [rsi+${Percpu.Size}], ${k.percpuBytes}
  push rbx
  mov eax, 1
  cpuid
  shr ebx, 24
  mov dword ptr [rsi+${Percpu.ApicId}], ebx
  pop rbx
  # The TSS: no I/O bitmap (its offset is the TSS's size), the interrupt stacks, each topped by the area's address.
  mov eax, edi
  imul eax, eax, ${TSS_SLOT}
  lea rdx, [rip+__tss]
  add rdx, rax
  mov qword ptr [rsi+${Percpu.Tss}], rdx
  mov word ptr [rdx+102], ${TSS_BYTES}
  mov eax, edi
  imul eax, eax, ${3 * IST_BYTES}
  lea rcx, [rip+__ist_stacks]
  add rcx, rax${istStacks}
  # Its descriptor (SDM Vol.3A §8.2.3): base in bits 15:0, 23:16, 31:24 and 63:32; present, an available 64-bit TSS.
  mov eax, edi
  shl eax, 4
  lea r8, [rip+__gdt+${Selector.Tss0}]
  add r8, rax
  mov word ptr [r8], ${TSS_BYTES - 1}
  mov word ptr [r8+2], dx
  mov rax, rdx
  shr rax, 16
  mov byte ptr [r8+4], al
  mov byte ptr [r8+5], 0x89
  shr rax, 8
  mov byte ptr [r8+7], al
  shr rax, 8
  mov dword ptr [r8+8], eax
  mov eax, edi
  shl eax, 4
  add eax, ${Selector.Tss0}
  ltr ax
  lidt [rip+__idtr]
  ret

# Every CPU's globals start as the BSP's are after instantiation (the start function included).
__globals_copy:
  mov r8d, 1
1:
  cmp r8d, ${k.maxCpus}
  jae 2f
  mov eax, r8d
  imul eax, eax, ${k.percpuBytes}
  lea rdi, [rip+__percpu+${Percpu.Globals}]
  add rdi, rax
  lea rsi, [rip+__percpu+${Percpu.Globals}]
  mov ecx, ${k.perCpuGlobals}
  rep movsq
  inc r8d
  jmp 1b
2:
  ret

# Interrupt gates (interrupts stay off until ktrap or the frame's return turns them on) for the
# 256 stubs; then the ones on an interrupt stack and the ones user code may reach.
__idt_build:
  lea rdi, [rip+__idt]
  lea rax, [rip+__trap0]
  xor ecx, ecx
1:
  mov word ptr [rdi], ax
  mov word ptr [rdi+2], ${KCODE64}
  mov word ptr [rdi+4], 0x8e00
  mov rdx, rax
  shr rdx, 16
  mov word ptr [rdi+6], dx
  shr rdx, 16
  mov dword ptr [rdi+8], edx
  mov dword ptr [rdi+12], 0
  add rdi, 16
  add rax, 16
  inc ecx
  cmp ecx, 256
  jb 1b
${specialGates}
  ret

# The legacy PICs: remapped to vectors 0x20-0x2f, away from the exceptions (a spurious IRQ 7 or 15
# still arrives there), and every line masked: the kernel uses the local APICs and the IOAPIC.
__pic_init:
  mov al, 0x11
  out 0x20, al
  out 0xa0, al
  mov al, 0x20
  out 0x21, al
  mov al, 0x28
  out 0xa1, al
  mov al, 4
  out 0x21, al
  mov al, 2
  out 0xa1, al
  mov al, 1
  out 0x21, al
  out 0xa1, al
  mov al, 0xff
  out 0x21, al
  out 0xa1, al
  ret

# COM1 at 115200 baud, 8N1, FIFOs on, no interrupts.
__serial_init:
  mov dx, ${COM1 + 1}
  xor eax, eax
  out dx, al
  mov dx, ${COM1 + 3}
  mov al, 0x80
  out dx, al
  mov dx, ${COM1}
  mov al, 1
  out dx, al
  mov dx, ${COM1 + 1}
  xor eax, eax
  out dx, al
  mov dx, ${COM1 + 3}
  mov al, 3
  out dx, al
  mov dx, ${COM1 + 2}
  mov al, 0xc7
  out dx, al
  mov dx, ${COM1 + 4}
  mov al, 3
  out dx, al
  ret

# __putc(dil) on COM1, once the transmit holding register is free.
__putc:
  mov dx, ${COM1 + 5}
1:
  in al, dx
  test al, 0x20
  jnz 2f
  pause
  jmp 1b
2:
  mov dx, ${COM1}
  mov eax, edi
  out dx, al
  ret

# __puts(rsi = NUL-terminated string).
__puts:
  push rbx
  mov rbx, rsi
1:
  movzx edi, byte ptr [rbx]
  test edi, edi
  jz 2f
  call __putc
  inc rbx
  jmp 1b
2:
  pop rbx
  ret

# __put_hex(rdi): 0x and 16 digits.
__put_hex:
  push rbx
  push r12
  mov rbx, rdi
  lea rsi, [rip+__s_0x]
  call __puts
  mov r12d, 16
1:
  rol rbx, 4
  mov edi, ebx
  and edi, 15
  cmp edi, 10
  jb 2f
  add edi, 39
2:
  add edi, 48
  call __putc
  dec r12d
  jnz 1b
  pop r12
  pop rbx
  ret

# __put_dec(rdi): unsigned decimal.
__put_dec:
  mov rax, rdi
  xor edx, edx
  mov ecx, 10
  div rcx
  push rdx
  test rax, rax
  jz 1f
  mov rdi, rax
  call __put_dec
1:
  pop rdi
  add edi, 48
  jmp __putc

# __put_fname(edi = function index, or -1 for the instantiation).
__put_fname:
  cmp edi, dword ptr [rip+__fn_count]
  jb 1f
  lea rsi, [rip+__s_instantiation]
  jmp __puts
1:
  lea rax, [rip+__fn_names]
  mov rsi, qword ptr [rax+rdi*8]
  jmp __puts

# __put_fat(rdi = code address): the compiled function containing it, or "the runtime".
__put_fat:
  lea rax, [rip+__fn_addrs_end]
  lea rcx, [rip+__code_end]
  cmp rdi, rcx
  jae 3f
1:
  lea rcx, [rip+__fn_addrs]
  cmp rax, rcx
  je 3f
  sub rax, 16
  cmp rdi, qword ptr [rax]
  jb 1b
  mov edi, dword ptr [rax+8]
  jmp __put_fname
3:
  lea rsi, [rip+__s_runtime]
  jmp __puts

# Serializes the last words of CPUs that trap at once; never released, since the machine stops.
__console_lock:
  mov eax, 1
  xchg dword ptr [rip+__console_busy], eax
  test eax, eax
  jz 2f
1:
  pause
  jmp __console_lock
2:
  ret

# __wasm_trap(edi = kind, esi = function index or -1): "wasm trap: MESSAGE in function NAME".
__wasm_trap:
  mov r12d, edi
  mov r13d, esi
  and rsp, -16
  call __console_lock
  lea rsi, [rip+__s_wasmtrap]
  call __puts
  lea rax, [rip+__trapmsgs]
  mov rsi, qword ptr [rax+r12*8]
  call __puts
  lea rsi, [rip+__s_infunc]
  call __puts
  mov edi, r13d
  call __put_fname
  lea rsi, [rip+__s_nl]
  call __puts
  lea edi, [r12+${ExitValue.Trap}]
  jmp __stop

# The common entry: [rsp] vector, [rsp+8] error code, then the CPU's frame. Builds the trap frame,
# takes the kernel's GS base if the vector came from user mode, lowers the stack limit for ktrap
# (not below 0) and calls __module_trap(rdi = frame).
__trap_entry:${SAVE_FRAME}
  test byte ptr [rsp+${onStack('cs')}], 3
  jz 1f
  swapgs
1:
  mov rax, qword ptr gs:[${Percpu.StackLimit}]
  mov qword ptr [rsp+${onStack('stackLimit')}], rax
  sub rax, ${TRAP_STACK_ALLOWANCE}
  jae 2f
  xor eax, eax
2:
  mov qword ptr gs:[${Percpu.StackLimit}], rax
  mov rax, cr2
  mov qword ptr [rsp+${onStack('cr2')}], rax
  lea rdi, [rsp+${FRAME_XMM}]
  call __module_trap
  # ktrap may have turned interrupts on; none may come between swapgs and iretq.
  cli
# __trap_exit(rsp = a trap frame's xmm area, interrupts off): the frame's stack limit, GS (by its CS)
# and registers, then iretq to its rip. hw.trap_return comes here.
__trap_exit:
  mov rax, qword ptr [rsp+${onStack('stackLimit')}]
  mov qword ptr gs:[${Percpu.StackLimit}], rax
  test byte ptr [rsp+${onStack('cs')}], 3
  jz 1f
  swapgs
1:${RESTORE_FRAME}

# The entry of the vectors on an interrupt stack. They may come anywhere, between a swapgs and the
# iretq after it too, so the CS of the frame does not tell which GS base is loaded: it is saved
# (MSR IA32_GS_BASE) and replaced by this CPU's area, whose address tops the stack, and restored
# on the way out. ktrap runs with the interrupt stack's own limit.
__trap_entry_ist:${SAVE_FRAME}
  mov ecx, 0xc0000101
  rdmsr
  mov dword ptr [rsp+${IST_TOP + 8}], eax
  mov dword ptr [rsp+${IST_TOP + 12}], edx
  mov rax, qword ptr [rsp+${IST_TOP}]
  mov rdx, rax
  shr rdx, 32
  wrmsr
  mov rax, qword ptr gs:[${Percpu.StackLimit}]
  mov qword ptr [rsp+${onStack('stackLimit')}], rax
  lea rax, [rsp${signed(IST_TOP + 16 - IST_BYTES + IST_RESERVE)}]
  mov qword ptr gs:[${Percpu.StackLimit}], rax
  mov rax, cr2
  mov qword ptr [rsp+${onStack('cr2')}], rax
  lea rdi, [rsp+${FRAME_XMM}]
  call __module_trap
  cli
  mov rax, qword ptr [rsp+${onStack('stackLimit')}]
  mov qword ptr gs:[${Percpu.StackLimit}], rax
  mov ecx, 0xc0000101
  mov eax, dword ptr [rsp+${IST_TOP + 8}]
  mov edx, dword ptr [rsp+${IST_TOP + 12}]
  wrmsr${RESTORE_FRAME}

# A new thread's first instructions, entered by the ret of hw.switch_to once it has taken the stack
# limit, flags and rbp of hw.stack_init's record: [rsp] the argument, [rsp+8] the entry's code
# address. The entry is called in the wasm convention, its argument in the caller's area.
__thread_start:
  call qword ptr [rsp+8]
  jmp __module_thread_exit

# __thread_end(rsi = how it ended; rsp as __thread_start left it): "kernel thread NAME returned, ...".
__thread_end:
  mov rbx, qword ptr [rsp+8]
  mov r12, rsi
  call __console_lock
  lea rsi, [rip+__s_thread]
  call __puts
  mov rdi, rbx
  call __put_fat
  mov rsi, r12
  call __puts
  lea rsi, [rip+__s_nl]
  call __puts
  mov edi, ${ExitValue.ThreadEnd}
  jmp __stop

# __exception(rdi = trap frame): the module has no ktrap; the vector, error code, rip and cr2 on COM1.
__exception:
  mov r12, qword ptr [rdi+${FRAME.vector}]
  mov r13, qword ptr [rdi+${FRAME.errorCode}]
  mov r14, qword ptr [rdi+${FRAME.rip}]
  mov r15, qword ptr [rdi+${FRAME.cr2}]
  and rsp, -16
  call __console_lock
  lea rsi, [rip+__s_exc]
  call __puts
  cmp r12, ${EXCEPTIONS.length}
  jae 1f
  lea rax, [rip+__excnames]
  mov rsi, qword ptr [rax+r12*8]
  call __puts
  jmp 2f
1:
  lea rsi, [rip+__s_vector]
  call __puts
  mov rdi, r12
  call __put_dec
2:
  lea rsi, [rip+__s_oncpu]
  call __puts
  mov edi, dword ptr gs:[${Percpu.Index}]
  call __put_dec
  lea rsi, [rip+__s_error]
  call __puts
  mov rdi, r13
  call __put_hex
  lea rsi, [rip+__s_rip]
  call __puts
  mov rdi, r14
  call __put_hex
  lea rsi, [rip+__s_in]
  call __puts
  mov rdi, r14
  call __put_fat
  lea rsi, [rip+__s_cr2]
  call __puts
  mov rdi, r15
  call __put_hex
  lea rsi, [rip+__s_nl]
  call __puts
  mov edi, ${ExitValue.Exception}
  jmp __stop

# __stop(edi = debug-exit value): let COM1 finish sending (a bounded wait), write the
# debug-exit port, and halt if the machine has none.
__stop:
  mov ecx, 1000000
  mov dx, ${COM1 + 5}
1:
  in al, dx
  test al, 0x40
  jnz 2f
  dec ecx
  jnz 1b
2:
  mov eax, edi
  out ${DEBUG_EXIT}, eax
3:
  cli
  hlt
  jmp 3b

# __mem_new(rdi = memory object, esi = initial pages, edx = maximum pages): the memory is the
# direct map from 0; it may grow up to the image (kernel.ts checks the initial size fits).
__mem_new:
  mov qword ptr [rdi], 0
  mov esi, esi
  shl rsi, 16
  mov qword ptr [rdi+8], rsi
  mov eax, ${KERNEL_LOAD >> 16}
  cmp edx, eax
  cmova edx, eax
  mov qword ptr [rdi+16], rdx
  ret

# __mem_grow(rdi = memory object, esi = delta pages) -> eax = old size in pages, or -1.
# Any CPU may grow it; the new pages are zeroed, as wasm promises.
__mem_grow:
  mov rax, qword ptr [rdi+8]
1:
  mov r8, rax
  shr r8, 16
  mov r10d, esi
  add r10, r8
  cmp r10, qword ptr [rdi+16]
  ja 2f
  shl r10, 16
  lock cmpxchg qword ptr [rdi+8], r10
  jnz 1b
  mov rdi, rax
  mov ecx, esi
  shl rcx, 16
  xor eax, eax
  rep stosb
  mov eax, r8d
  ret
2:
  mov eax, -1
  ret

# __table_new(rdi = table object, esi = initial elements, edx = maximum): the entries come from a
# pool sized for the module's tables' initial sizes (zero: null), so a table cannot grow.
__table_new:
  mov esi, esi
  mov rax, qword ptr [rip+__table_next]
  mov qword ptr [rdi], rax
  mov qword ptr [rdi+8], rsi
  mov qword ptr [rdi+16], rsi
  lea rax, [rax+rsi*8]
  mov qword ptr [rip+__table_next], rax
  ret

# __table_grow(rdi = table object, esi = delta, rdx = reference) -> eax = old size, or -1:
# only growing by nothing succeeds.
__table_grow:
  test esi, esi
  jnz 1f
  mov eax, dword ptr [rdi+8]
  ret
1:
  mov eax, -1
  ret
${stubs}

  .data
# Code and data never share a page, so the kernel can map its code read-only and its data no-execute.
  .balign 4096
__text_end:
# In Selector order; the TSS descriptors are written by __cpu_enter.
__gdt:
  .quad 0
  .quad 0x00af9a000000ffff
  .quad 0x00cf92000000ffff
  .quad 0x00cf9a000000ffff
  .quad 0x00cffa000000ffff
  .quad 0x00cff2000000ffff
  .quad 0x00affa000000ffff
  .zero ${16 * k.maxCpus}
__gdt_end:
__gdtr:
  .word __gdt_end-__gdt-1
  .long __gdt
  .balign 8
__idtr:
  .word ${256 * 16 - 1}
  .quad __idt
__boot_info:
  .long ${Object.values(bootInfo).join(', ')}
__console_busy: .long 0
  .balign 8
__table_next: .quad __tables
__excnames: .quad ${EXCEPTIONS.map((_, i) => `__excname${i}`).join(', ')}
${trapMessageData()}
${excNames.join('\n')}
__s_wasmtrap: .asciz "wasm trap: "
__s_infunc: .asciz " in function "
__s_instantiation: .asciz "(instantiation)"
__s_runtime: .asciz "the runtime"
__s_exc: .asciz "cpu exception "
__s_vector: .asciz "vector "
__s_oncpu: .asciz " on cpu "
__s_error: .asciz ", error code "
__s_rip: .asciz ", rip "
__s_in: .asciz " in "
__s_cr2: .asciz ", cr2 "
__s_thread: .asciz "kernel thread "
__s_0x: .asciz "0x"
__s_nl: .asciz "\\n"

  .bss
  .balign 4096
__pml4: .zero 4096
__pdpt: .zero 4096
__pd: .zero 16384
__pt0: .zero 4096
__idt: .zero 4096
__tss: .zero ${TSS_SLOT * k.maxCpus}
  .balign 4096
__percpu: .zero ${k.percpuBytes * k.maxCpus}
__tables: .zero ${k.tableBytes}
  .balign 4096
__stacks: .zero ${k.stackBytes * k.maxCpus}
__ist_stacks: .zero ${3 * IST_BYTES * k.maxCpus}
__image_end:
`;
}

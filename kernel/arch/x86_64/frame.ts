// The trap frame: what the compiler runtime's interrupt entry saves on the
// current stack before it calls the kernel's `ktrap(frame)`, and what its
// return path (and hw.trap_return) restores. The runtime's table of it is
// TRAP_FRAME_FIELDS in tools/wasm2x64/codegen/kernel-rt.ts; the fields here
// are in the same order (a test compares them). One qword each:
//
//   frame - 256  xmm0 .. xmm15, 16 bytes each (not fields: ktrap may use them)
//   frame +   0  r15 r14 r13 r12 r11 r10 r9 r8 rdi rsi rbp rbx rdx rcx rax
//         + 120  stackLimit   gs:[PERCPU_STACK_LIMIT] when the vector came
//         + 128  cr2          at entry: the address of a page fault (#PF)
//         + 136  vector       0..255
//         + 144  errorCode    the CPU's, or 0 for vectors that push none
//         + 152  rip cs rflags rsp ss   the CPU's frame (SDM Vol.3A §6.14.2)
//         + 192  (end)
//
// ktrap runs with interrupts off (every gate is an interrupt gate) on the
// interrupted stack (TSS.RSP0 when it was user mode) with the stack limit
// 4 KiB below the frame's stackLimit, or, for #DF, NMI and #MC, on an
// interrupt stack with that stack's own limit. It may change the frame:
// returning resumes whatever the frame then says, user mode included
// (cs & 3 == 3: the runtime swaps GS back). It must not switch threads away
// from a frame on an interrupt stack.

@unmanaged
export class TrapFrame {
  r15: u64;
  r14: u64;
  r13: u64;
  r12: u64;
  r11: u64;
  r10: u64;
  r9: u64;
  r8: u64;
  rdi: u64;
  rsi: u64;
  rbp: u64;
  rbx: u64;
  rdx: u64;
  rcx: u64;
  rax: u64;
  stackLimit: u64;
  cr2: u64;
  vector: u64;
  errorCode: u64;
  rip: u64;
  cs: u64;
  rflags: u64;
  rsp: u64;
  ss: u64;
}

export const TRAP_FRAME_BYTES: usize = 192;
/** xmm0..15 lie below the frame: a frame built for trap_return needs these bytes below it too. */
export const TRAP_FRAME_XMM_BYTES: usize = 256;

/** RFLAGS bits. */
export const RFLAGS_IF: u64 = 1 << 9;
/** Bit 1 is always set. */
export const RFLAGS_RESERVED: u64 = 1 << 1;

// The runtime's GDT selectors, as a frame's cs and ss hold them (user ones with RPL 3).
export const KERNEL_CS: u64 = 0x08;
export const KERNEL_SS: u64 = 0x10;
export const USER_CS: u64 = 0x33;
export const USER_SS: u64 = 0x2b;

// Vectors the runtime gives a special gate: on an interrupt stack (IST1..3), or reachable
// from user mode with `int`.
export const VECTOR_NMI: u32 = 2;
export const VECTOR_BP: u32 = 3;
export const VECTOR_DF: u32 = 8;
export const VECTOR_PF: u32 = 14;
export const VECTOR_MC: u32 = 18;
export const VECTOR_SYSCALL: u32 = 0x80;

// The kernel's own interrupt vectors, from the local APIC (priority class 0xf, above anything
// an IOAPIC will be given).
/** lwkt_ipiq's doorbell: "your IPI queues have entries". */
export const IPI_VECTOR_IPIQ: u32 = 0xf0;
/** The local APIC timer (kern/kern_systimer.ts): one class below the IPIs, so a timer callback never holds them off. */
export const VECTOR_LAPIC_TIMER: u32 = 0xe0;
/** The local APIC's spurious vector (smp.ts lapicEnable: SVR = 0x1ff); takes no EOI. */
export const VECTOR_LAPIC_SPURIOUS: u32 = 0xff;
/** A spurious IRQ 7 / 15 of the masked 8259s, as the runtime remaps them; no EOI either. */
export const VECTOR_PIC_SPURIOUS_MASTER: u32 = 0x27;
export const VECTOR_PIC_SPURIOUS_SLAVE: u32 = 0x2f;

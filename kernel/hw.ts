// The hardware intrinsics: imports from module "hw" that tools/wasm2x64
// compiles inline at each call (codegen/intrinsics.ts; the contract is in
// tools/wasm2x64/README.md). u8/u16 arguments arrive unmasked; each
// intrinsic reads only the bits it needs. Atomics are not here: they are
// AssemblyScript's atomic.* builtins (the wasm threads operators).

// Port I/O.
// @ts-ignore: decorator
@external("hw", "outb") export declare function outb(port: u16, v: u8): void;
// @ts-ignore: decorator
@external("hw", "outw") export declare function outw(port: u16, v: u16): void;
// @ts-ignore: decorator
@external("hw", "outl") export declare function outl(port: u16, v: u32): void;
// @ts-ignore: decorator
@external("hw", "inb") export declare function inb(port: u16): u8;
// @ts-ignore: decorator
@external("hw", "inw") export declare function inw(port: u16): u16;
// @ts-ignore: decorator
@external("hw", "inl") export declare function inl(port: u16): u32;

// Model-specific registers.
// @ts-ignore: decorator
@external("hw", "rdmsr") export declare function rdmsr(msr: u32): u64;
// @ts-ignore: decorator
@external("hw", "wrmsr") export declare function wrmsr(msr: u32, v: u64): void;

// Control registers and the TLB.
// @ts-ignore: decorator
@external("hw", "read_cr0") export declare function read_cr0(): u64;
// @ts-ignore: decorator
@external("hw", "read_cr2") export declare function read_cr2(): u64;
// @ts-ignore: decorator
@external("hw", "read_cr3") export declare function read_cr3(): u64;
// @ts-ignore: decorator
@external("hw", "read_cr4") export declare function read_cr4(): u64;
// @ts-ignore: decorator
@external("hw", "write_cr0") export declare function write_cr0(v: u64): void;
// @ts-ignore: decorator
@external("hw", "write_cr3") export declare function write_cr3(v: u64): void;
// @ts-ignore: decorator
@external("hw", "write_cr4") export declare function write_cr4(v: u64): void;
// @ts-ignore: decorator
@external("hw", "invlpg") export declare function invlpg(addr: u64): void;

// Interrupts, halting, time.
// @ts-ignore: decorator
@external("hw", "cli") export declare function cli(): void;
// @ts-ignore: decorator
@external("hw", "sti") export declare function sti(): void;
// @ts-ignore: decorator
@external("hw", "hlt") export declare function hlt(): void;
/** sti; hlt back to back: no interrupt can slip in between. */
// @ts-ignore: decorator
@external("hw", "sti_hlt") export declare function sti_hlt(): void;
// @ts-ignore: decorator
@external("hw", "pause") export declare function pause(): void;
// @ts-ignore: decorator
@external("hw", "rdtsc") export declare function rdtsc(): u64;
// @ts-ignore: decorator
@external("hw", "swapgs") export declare function swapgs(): void;
/** RFLAGS, e.g. to assert that interrupts are off (bit 9, IF). */
// @ts-ignore: decorator
@external("hw", "read_rflags") export declare function read_rflags(): u64;
/** The calling function's frame pointer (rbp): [rbp] is its caller's rbp, [rbp+8] its return address. */
// @ts-ignore: decorator
@external("hw", "frame_address") export declare function frame_address(): u64;
/** A breakpoint: ktrap sees vector 3, and execution goes on after it when ktrap returns. */
// @ts-ignore: decorator
@external("hw", "int3") export declare function int3(): void;

// The per-CPU area (GS-relative, raw offsets; layout in kernel/README.md).
// @ts-ignore: decorator
@external("hw", "gs_load32") export declare function gs_load32(off: u32): u32;
// @ts-ignore: decorator
@external("hw", "gs_load64") export declare function gs_load64(off: u32): u64;
// @ts-ignore: decorator
@external("hw", "gs_store32") export declare function gs_store32(off: u32, v: u32): void;
// @ts-ignore: decorator
@external("hw", "gs_store64") export declare function gs_store64(off: u32, v: u64): void;

// 64-bit addresses, beyond the 4 GiB that wasm loads and stores reach; each one access of exactly
// its width, never merged, split or left out by the optimizer (device registers, DMA'd memory).
// @ts-ignore: decorator
@external("hw", "load64") export declare function load64(addr: u64): u64;
// @ts-ignore: decorator
@external("hw", "store64") export declare function store64(addr: u64, v: u64): void;
// @ts-ignore: decorator
@external("hw", "load32") export declare function load32(addr: u64): u32;
// @ts-ignore: decorator
@external("hw", "store32") export declare function store32(addr: u64, v: u32): void;
// @ts-ignore: decorator
@external("hw", "load16") export declare function load16(addr: u64): u16;
// @ts-ignore: decorator
@external("hw", "store16") export declare function store16(addr: u64, v: u16): void;
// @ts-ignore: decorator
@external("hw", "load8") export declare function load8(addr: u64): u8;
// @ts-ignore: decorator
@external("hw", "store8") export declare function store8(addr: u64, v: u8): void;

/** The native code address of entry `index` of table 0 (a function value's `index` field), 0 if empty. */
// @ts-ignore: decorator
@external("hw", "funcaddr") export declare function funcaddr(index: u32): u64;

/** This CPU's index: 0 for the BSP, then the APs in the order they started. */
// @ts-ignore: decorator
@external("hw", "cpu_id") export declare function cpu_id(): u32;

// Threads and trap frames (the records' layouts: tools/wasm2x64/README.md "hw intrinsics").

/**
 * Saves this thread (its stack limit, interrupt flag, rbp and where to go on, on its own stack)
 * and stores its stack pointer at `save`; then resumes the thread whose stack pointer is `sp`,
 * as saved by switch_to or made by stack_init. Returns when some thread switches back to the
 * stack pointer stored at `save`. No register but rbp/rsp survives it; the compiler spills.
 */
// @ts-ignore: decorator
@external("hw", "switch_to") export declare function switch_to(save: usize, sp: u64): void;
/**
 * Prepares the stack below `top` (aligned down to 16) for a new thread, and returns its stack
 * pointer for switch_to. The thread runs `entry` (a function value's `index`, of type
 * (arg: u32) => void; checked now, as an indirect call would be) with `arg`, with interrupts
 * off and `limit` as its stack limit (leave 8 KiB below it for trap frames and ktrap); if the
 * entry returns, the thread calls the exported kthread_exit().
 */
// @ts-ignore: decorator
@external("hw", "stack_init") export declare function stack_init(top: u64, limit: u64, entry: u32, arg: u32): u64;
/**
 * Restores everything from the trap frame at `frame` (arch/x86_64/frame.ts; 256 bytes of xmm
 * registers below it) and returns to its rip with iretq: into user mode if its cs says so.
 */
// @ts-ignore: decorator
@external("hw", "trap_return") export declare function trap_return(frame: u64): void;

// What the compiler's kernel runtime (tools/wasm2x64/codegen/kernel-rt.ts)
// provides: the layout of the per-CPU area (through GS) and of the boot
// information block whose address kmain receives. kernel/README.md has the
// whole picture.

/** Per-CPU area offsets, for gs_load32/gs_load64. */
export const PERCPU_SELF: u32 = 0;
export const PERCPU_INDEX: u32 = 8;
export const PERCPU_STACK_LIMIT: u32 = 16;
export const PERCPU_APIC_ID: u32 = 24;
/** u32: where the kernel's own part of the area starts, after the runtime's header and the per-CPU globals. */
export const PERCPU_KERNEL_PART: u32 = 32;
/** u32: the area's size. */
export const PERCPU_SIZE: u32 = 36;
export const PERCPU_STACK_TOP: u32 = 40;
/** This CPU's TSS: RSP0 (the stack for traps from user mode) at +4, IST1..3 at +36. */
export const PERCPU_TSS: u32 = 48;

/** Boot information block offsets (u32 fields). */
export const BOOT_IMAGE_START: usize = 0;
export const BOOT_IMAGE_END: usize = 4;
/** The AP trampoline's address: the SIPI vector is this >> 12. */
export const BOOT_TRAMPOLINE: usize = 8;
/** CPUs the image has per-CPU areas and stacks for; the runtime parks any AP beyond. */
export const BOOT_MAX_CPUS: usize = 12;
/** CPUs that have entered the runtime, the BSP included. */
export const BOOT_CPUS_ENTERED: usize = 16;
/** The compiler's name tables (u32 addresses): the function count's u64, the names (a C string pointer per function index), the {start, index} u64 pairs in address order and their end, and the end of the code. */
export const BOOT_FN_COUNT: usize = 28;
export const BOOT_FN_NAMES: usize = 32;
export const BOOT_FN_ADDRS: usize = 36;
export const BOOT_FN_ADDRS_END: usize = 40;
export const BOOT_CODE_END: usize = 44;
/** The end of the image's code, page-aligned: its data starts on the next page. */
export const BOOT_TEXT_END: usize = 48;

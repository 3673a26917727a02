// The boot allocator: kernel memory for what a CPU sets up before its
// kmalloc works (kern_slaballoc.ts), and, for now, thread stacks and
// systimers. A bump pointer over a static pool in the module's data, shared
// by every CPU and advanced atomically, so any CPU may allocate without a
// lock. Nothing is ever freed: callers that recycle (lwkt_exit's
// gd_freetd) keep their own free lists. The pool is zero at boot and
// allocations are never reused, so memory comes back zeroed.

import { panic } from "./kern_shutdown";

// 8 MiB: a thread takes 32 KiB of stack, and the self-tests keep up to six per CPU.
const BOOTALLOC_POOL_BYTES: usize = 8 << 20;
const bootalloc_pool: usize = memory.data(8 << 20, 4096);
/** Bytes handed out so far (atomics; any CPU). */
const bootalloc_used: usize = memory.data(8);

/*
 * bootalloc: `bytes` of zeroed memory aligned to `align` (a power of two, at
 * most 4096). Panics when the pool is exhausted.
 * Context: any CPU, any thread; never blocks.
 */
export function bootalloc(bytes: usize, align: usize): usize {
  while (true) {
    const used = atomic.load<usize>(bootalloc_used);
    const start = (used + align - 1) & ~(align - 1);
    if (start + bytes > BOOTALLOC_POOL_BYTES) panic("bootalloc: pool exhausted");
    if (atomic.cmpxchg<usize>(bootalloc_used, used, start + bytes) == used) return bootalloc_pool + start;
  }
}

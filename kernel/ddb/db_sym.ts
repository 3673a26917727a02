// Symbols and backtraces, for panics and the monitor (DragonFly's
// ddb/db_sym.c and the stack walk of db_trace.c). The compiler leaves its
// name tables in the image (tools/wasm2x64: a name per function index, and
// {start address, index} pairs in address order up to the end of the code);
// the boot information block says where. Compiled code keeps rbp frames:
// [rbp] is the caller's rbp, [rbp+8] the return address, and a thread's
// first frame has rbp 0.
//
// Everything here only reads memory and prints through putc: it runs in
// panics, with the console lock held.

import { putc, putDec, putHex, puts } from "../console";
import { BOOT_CODE_END, BOOT_FN_ADDRS, BOOT_FN_ADDRS_END, BOOT_FN_COUNT, BOOT_FN_NAMES, BOOT_IMAGE_START } from "../runtime";

/** Shared, written once by the BSP: the tables' addresses (0: not known, addresses print bare). */
const db_tables: usize = memory.data(24, 8);
const T_FN_NAMES: usize = 0;
const T_FN_ADDRS: usize = 4;
const T_FN_ADDRS_END: usize = 8;
const T_CODE_START: usize = 12;
const T_CODE_END: usize = 16;
const T_FN_COUNT: usize = 20;

/** The deepest backtrace printed. */
export const DB_MAXFRAMES: i32 = 24;

/*
 * db_sym_init: finds the name tables through the boot information block.
 * Context: the BSP, before anything may panic on another CPU.
 */
export function db_sym_init(boot: usize): void {
  store<u32>(db_tables + T_FN_NAMES, load<u32>(boot + BOOT_FN_NAMES));
  store<u32>(db_tables + T_FN_ADDRS, load<u32>(boot + BOOT_FN_ADDRS));
  store<u32>(db_tables + T_FN_ADDRS_END, load<u32>(boot + BOOT_FN_ADDRS_END));
  store<u32>(db_tables + T_CODE_START, load<u32>(boot + BOOT_IMAGE_START));
  store<u32>(db_tables + T_CODE_END, load<u32>(boot + BOOT_CODE_END));
  store<u32>(db_tables + T_FN_COUNT, <u32>load<u64>(<usize>load<u32>(boot + BOOT_FN_COUNT)));
}

/* db_in_code: whether addr lies in the compiled code (so it may be a return address). */
export function db_in_code(addr: u64): bool {
  const end = load<u32>(db_tables + T_CODE_END);
  return end != 0 && addr >= <u64>load<u32>(db_tables + T_CODE_START) && addr < <u64>end;
}

/*
 * db_printsym: prints addr as `module/function+0xoff` (the function whose
 * code holds it), `(runtime)` in the runtime's code, bare hex outside the code.
 * Context: any; the caller holds the console lock.
 */
export function db_printsym(addr: u64): void {
  db_print(addr, true);
}

/* db_printfunc: as db_printsym, without the offset: for a function's entry. */
export function db_printfunc(addr: u64): void {
  db_print(addr, false);
}

function db_print(addr: u64, offset: bool): void {
  const first = <usize>load<u32>(db_tables + T_FN_ADDRS);
  let pair = <usize>load<u32>(db_tables + T_FN_ADDRS_END);
  if (!db_in_code(addr)) {
    putc(0x30); putc(0x78); putHex(addr, 16);
    return;
  }
  // The last pair starting at or below addr (pairs are in address order).
  while (pair > first && load<u64>(pair - 16) > addr) pair -= 16;
  const index = pair > first ? load<u64>(pair - 8) : <u64>-1;
  if (index >= <u64>load<u32>(db_tables + T_FN_COUNT)) {
    // Below the first function, or the instantiation routine: the runtime's own code.
    puts("(runtime)");
    return;
  }
  let name = <usize>load<u64>(<usize>load<u32>(db_tables + T_FN_NAMES) + <usize>index * 8);
  for (let c = load<u8>(name); c != 0; c = load<u8>(++name)) putc(c);
  if (!offset) return;
  putc(0x2b); putc(0x30); putc(0x78);
  const off = addr - load<u64>(pair - 16);
  let digits = 1;
  while (digits < 16 && (off >> (<u64>digits * 4)) != 0) digits++;
  putHex(off, digits);
}

/*
 * db_stack_walk: the return addresses of the frame chain from rbp, newest
 * first, into out (at most max u64s); returns how many. The walk stops at
 * rbp 0 (a thread's first frame), a frame that does not lie above the last
 * one (the stack grows down), or a return address outside the code.
 * Context: any; rbp must be a frame of a stack that stays put meanwhile.
 */
export function db_stack_walk(rbp: u64, out: usize, max: i32): i32 {
  let n = 0;
  let prev: u64 = 0;
  while (n < max && rbp != 0 && (rbp & 7) == 0 && rbp > prev && rbp < 0x100000000) {
    const ret = load<u64>(<usize>rbp + 8);
    if (!db_in_code(ret)) break;
    store<u64>(out + <usize>n * 8, ret);
    n++;
    prev = rbp;
    rbp = load<u64>(<usize>rbp);
  }
  return n;
}

/*
 * db_print_frame: one line of a backtrace: `  #i 0xADDRESS module/function+0xoff`.
 * Context: as db_printsym.
 */
export function db_print_frame(i: i32, addr: u64): void {
  putc(0x20); putc(0x20); putc(0x23); putDec(i);
  putc(0x20); putc(0x30); putc(0x78); putHex(addr, 16);
  if (db_in_code(addr)) {
    putc(0x20);
    db_printsym(addr);
  }
  putc(0x0a);
}

// Kernel accesses that may fault: loads and stores at an address that may
// not be mapped, or not that way, which report the page fault instead of
// panicking. DragonFly's fubyte/suword family (support.s) arms pcb_onfault
// with a resume address; compiled AssemblyScript has no labels, so here the
// recovery is found by WHERE the fault happened, as an exception table
// would: ktrap's #PF path calls onfault_recover, which knows the code range
// of each probe function below. A fault inside one is answered by returning
// from that probe for it (its frame is a plain rbp frame: the caller's rbp
// at [rbp], the return address at [rbp+8], the result slot at [rbp+16])
// with PROBE_FAULT | the #PF error code. Any other #PF still panics.
//
// The probes are reached only through call_indirect, so the optimizer never
// inlines one into its caller (whose frame the return would then cut
// short); onfault_recover checks the faulting rip against the probe's own
// code, so an inlined probe would panic, not misbehave.
//
// kexec runs one instruction at an address, an int3 put there, to learn
// whether that memory is executable. Its probe raises an int3 of its own:
// ktrap (onfault_breakpoint) keeps that frame and resumes at the address
// instead. If the fetch faults (onfault_recover) or the int3 there runs
// (onfault_breakpoint again), ktrap puts the kept frame back, and the probe
// goes on after its own int3 with the result.

import { cli, funcaddr, int3, load64, load8, read_rflags, sti, store64, store8 } from "../../hw";
import { bootalloc } from "../../kern/kern_bootalloc";
import { panic } from "../../kern/kern_shutdown";
import { RFLAGS_IF, TRAP_FRAME_BYTES, TrapFrame } from "./frame";

/** A probe's result when it faulted, or'ed with the #PF error code (PGEX_*). */
export const PROBE_FAULT: u32 = 0x80000000;
/** #PF error code bits (SDM Vol.3A §4.7). */
export const PGEX_P: u32 = 0x01; // the page was present: a protection violation
export const PGEX_W: u32 = 0x02; // a write
export const PGEX_U: u32 = 0x04; // from user mode
export const PGEX_RSV: u32 = 0x08; // a reserved bit was set in a paging entry
export const PGEX_I: u32 = 0x10; // an instruction fetch

/** kexec's result when the int3 at the address ran: the memory is executable. */
export const PROBE_EXECUTED: u32 = 1;

/** How far past its entry a probe's code may run before its `leave; ret`. */
const PROBE_MAX_BYTES: u64 = 256;

function probe_fetch64(va: u64, dst: usize): u32 {
  store<u64>(dst, load64(va));
  return 0;
}

function probe_store64(va: u64, v: u64): u32 {
  store64(va, v);
  return 0;
}

function probe_store8(va: u64, v: u32): u32 {
  store8(va, <u8>v);
  return 0;
}

function probe_exec(va: u64): void {
  int3();
}

// Per CPU: kexec's state, its address and result, and the probe's frame kept while it jumps.
const EXEC_IDLE: u32 = 0;
const EXEC_ARMED: u32 = 1; // the probe's int3 is coming
const EXEC_JUMPED: u32 = 2; // running at exec_va
let exec_state: u32 = EXEC_IDLE;
let exec_va: u64 = 0;
let exec_result: u32 = 0;
let exec_frame: usize = 0;

/*
 * kfetch64: *dst = the u64 at va; returns 0, or PROBE_FAULT | the error
 * code if va faulted (dst untouched).
 * Context: any thread, interrupts on or off.
 */
export function kfetch64(va: u64, dst: usize): u32 {
  return call_indirect<u32>(probe_fetch64.index, va, dst);
}

/*
 * kstore64: the u64 at va = v; returns 0, or PROBE_FAULT | the error code.
 * Context: as kfetch64.
 */
export function kstore64(va: u64, v: u64): u32 {
  return call_indirect<u32>(probe_store64.index, va, v);
}

/*
 * kstore8: the byte at va = v; returns 0, or PROBE_FAULT | the error code.
 * Context: as kfetch64.
 */
export function kstore8(va: u64, v: u32): u32 {
  return call_indirect<u32>(probe_store8.index, va, v);
}

/*
 * kexec: executes the byte at va, which must be an int3 (0xcc), as kernel
 * code: returns PROBE_EXECUTED if it ran, or PROBE_FAULT | the error code
 * if fetching it faulted (no-execute, not present).
 * Context: thread; interrupts are off while it runs.
 */
export function kexec(va: u64): u32 {
  if (exec_frame == 0) exec_frame = bootalloc(TRAP_FRAME_BYTES, 16);
  const rflags = read_rflags();
  cli();
  exec_va = va;
  exec_result = 0;
  exec_state = EXEC_ARMED;
  call_indirect<void>(probe_exec.index, va);
  if (exec_state != EXEC_IDLE) panic("kexec: the probe came back without a result");
  if ((rflags & RFLAGS_IF) != 0) sti();
  return exec_result;
}

/* kexec's jump is over: the probe resumes after its int3 with `result`. */
function exec_resume(f: TrapFrame, result: u32): void {
  memory.copy(changetype<usize>(f), exec_frame, TRAP_FRAME_BYTES);
  exec_result = result;
  exec_state = EXEC_IDLE;
}

/*
 * onfault_breakpoint: kexec's int3s. The probe's own: keeps its frame and
 * resumes at the address; the one at the address: it ran. Returns false for
 * any other #BP (the caller's to report).
 * Context: ktrap, interrupts off, a #BP frame.
 */
export function onfault_breakpoint(f: TrapFrame): bool {
  if (exec_state == EXEC_ARMED && in_probe(probe_exec.index, f.rip)) {
    memory.copy(exec_frame, changetype<usize>(f), TRAP_FRAME_BYTES);
    exec_state = EXEC_JUMPED;
    f.rip = exec_va;
    return true;
  }
  if (exec_state == EXEC_JUMPED && f.rip == exec_va + 1) {
    exec_resume(f, PROBE_EXECUTED);
    return true;
  }
  return false;
}

/* Whether rip lies in the code of the function whose table index is fn: from its entry to its `leave; ret`. */
function in_probe(fn: u32, rip: u64): bool {
  const start = funcaddr(fn);
  if (rip < start || rip >= start + PROBE_MAX_BYTES) return false;
  for (let a = start; a < start + PROBE_MAX_BYTES; a++) {
    if (load8(a) == 0xc9 && load8(a + 1) == 0xc3) return rip <= a;
  }
  panic("onfault_recover: a probe without its leave; ret");
  return false;
}

/*
 * onfault_recover: if the page fault in f happened inside a probe, makes
 * the probe return PROBE_FAULT | the error code to its caller (kexec's:
 * if it is the fetch at its address) and returns true; else false (the
 * fault is the caller's to report).
 * Context: ktrap, interrupts off, a #PF frame from kernel mode.
 */
export function onfault_recover(f: TrapFrame): bool {
  if ((f.cs & 3) != 0) return false;
  const rip = f.rip;
  if (exec_state == EXEC_JUMPED && rip == exec_va && f.cr2 == exec_va) {
    exec_resume(f, PROBE_FAULT | <u32>f.errorCode);
    return true;
  }
  if (!in_probe(probe_fetch64.index, rip) && !in_probe(probe_store64.index, rip) && !in_probe(probe_store8.index, rip)) return false;
  const rbp = f.rbp;
  store64(rbp + 16, <u64>(PROBE_FAULT | <u32>f.errorCode));
  f.rip = load64(rbp + 8);
  f.rbp = load64(rbp);
  f.rsp = rbp + 16;
  return true;
}

// The kernel's page tables and pmaps: address spaces as the MMU sees them
// (DragonFly's sys/platform/pc64/x86_64/pmap.c; shootdown in pmap_inval.ts).
//
// The model. Linear memory is physical memory (the compiler's direct mode),
// so every address space begins with the identity map, PML4 slot 0, built
// once by the BSP (pmap_bootstrap) and shared by every pmap: the first
// 4 GiB in 2 MiB pages, read/write and no-execute, except where protections
// change inside 2 MiB, which gets 4 KiB pages: the first 2 MiB, where
// page 0 is NOT PRESENT (null dereferences fault), and the image's code,
// READ-ONLY AND EXECUTABLE (the only executable memory; the runtime starts
// its data on a page of its own, boot information +28). The local APIC and
// IOAPIC range is uncached. EFER.NXE and CR0.WP make the no-execute and
// read-only bits hold for the kernel itself (pmap_cpu_init, on every CPU
// before it runs anything else).
//
// Above the direct map: PML4 slots 1..255 are user space, [VM_MIN_USER_ADDRESS,
// VM_MAX_USER_ADDRESS), private to each pmap made by pmap_pinit; slot 511 is
// kernel virtual address space (pmap_kenter/pmap_kremove in kernel_pmap),
// its page directory pointer table shared by every pmap, so a kernel mapping
// is seen in all. Page-table pages come from bootalloc and are never freed.
//
// pm_active: the CPUs whose TLBs may hold the pmap's translations. A CPU
// sets its bit before it loads the pmap into CR3 and clears it only after
// it has loaded another (pmap_activate; lwkt_switch calls it for a thread
// with a td_pmap; a thread without one runs in whatever pmap its CPU has,
// as DragonFly's kernel threads do). kernel_pmap's is every CPU. Every
// change of a mapping goes through pmap_inval (lock, park pm_active, change,
// invalidate on each), so a CPU outside pm_active is never disturbed.
//
// What it is not, yet: no pv entries, no page-table reclamation, no
// physical-memory map (the direct map covers 4 GiB whatever the RAM), and
// pmap_enter always interlocks, even for a page that was not mapped.

import { cpu_id, pause, read_cr0, rdmsr, write_cr0, write_cr3, wrmsr } from "../../hw";
import { panic } from "../../kern/kern_shutdown";
import { bootalloc } from "../../kern/kern_bootalloc";
import { crit_enter, crit_exit } from "../../kern/lwkt_thread";
import { lwkt_process_ipiq } from "../../kern/lwkt_ipiq";
import { BOOT_IMAGE_START, BOOT_TEXT_END } from "../../runtime";
import { pmap_inval_deinterlock, pmap_inval_done, pmap_inval_info, pmap_inval_init, pmap_inval_interlock } from "./pmap_inval";

export const PAGE_SIZE: u64 = 4096;
const PAGE_MASK: u64 = PAGE_SIZE - 1;
const NBPDR: u64 = 2 << 20; // bytes a page directory entry maps

/** Page-table entry bits (SDM Vol.3A §4.5). */
export const PG_V: u64 = 0x001;
export const PG_RW: u64 = 0x002;
export const PG_U: u64 = 0x004;
export const PG_NC_PWT: u64 = 0x008;
export const PG_NC_PCD: u64 = 0x010;
export const PG_PS: u64 = 0x080;
export const PG_NX: u64 = <u64>1 << 63;
export const PG_FRAME: u64 = 0x000ffffffffff000;

/** pmap_enter's protections. */
export const VM_PROT_READ: u32 = 1;
export const VM_PROT_WRITE: u32 = 2;
export const VM_PROT_EXECUTE: u32 = 4;

/** User space: PML4 slots 1..255. */
export const VM_MIN_USER_ADDRESS: u64 = 0x0000008000000000;
export const VM_MAX_USER_ADDRESS: u64 = 0x0000800000000000;
/** Kernel virtual addresses: PML4 slot 511. */
export const VM_MIN_KERNEL_ADDRESS: u64 = 0xffffff8000000000;

/** How much of physical memory the direct map covers. */
const DMAP_BYTES: u64 = 4 << 30;
/** The local APIC and IOAPIC registers: uncached. */
const APIC_RANGE_START: u64 = 0xfec00000;
const APIC_RANGE_END: u64 = 0xff000000;

const EFER_MSR: u32 = 0xc0000080;
const EFER_NXE: u64 = 1 << 11;
const CR0_WP: u64 = 1 << 16;

/*
 * An address space. pm_pml4 is fixed once made; pm_active, pm_active_lock
 * and pm_invgen are atomics, any CPU.
 */
@unmanaged
export class pmap {
  pm_pml4: u64; // its top-level table (physical = linear)
  pm_active: u64; // CPUs that may hold its translations
  pm_active_lock: u32; // 0, or the CPU index + 1 changing its mappings (pmap_inval_interlock)
  pm_invgen: u32; // interlocks so far
}

/** kernel_pmap's storage (shared; written by pmap_bootstrap before the APs start). */
const kernel_pmap_store: usize = memory.data(32, 8);

/** Per CPU: the pmap in this CPU's CR3 (0 until pmap_cpu_init). */
let curpmap: usize = 0;
/** Per CPU: this CPU's pmap_inval_info, for pmap_enter and pmap_remove. */
let inval_info: usize = 0;

/*
 * kernel_pmap: the kernel's address space (the direct map and kernel
 * virtual addresses), part of every pmap.
 * Context: any, after pmap_bootstrap.
 */
export function kernel_pmap(): pmap {
  return changetype<pmap>(kernel_pmap_store);
}

/* A zeroed page for a page table. */
function pt_alloc(): u64 {
  return <u64>bootalloc(<usize>PAGE_SIZE, <usize>PAGE_SIZE);
}

function pte_store(table: u64, i: u64, v: u64): void {
  store<u64>(<usize>(table + i * 8), v);
}

function pte_load(table: u64, i: u64): u64 {
  return load<u64>(<usize>(table + i * 8));
}

/* A page table for the 2 MiB at base: page 0 not present, code read-only and executable, the rest read/write, no-execute. */
function pmap_bootstrap_pt(base: u64, text_start: u64, text_end: u64): u64 {
  const pt = pt_alloc();
  for (let i: u64 = 0; i < 512; i++) {
    const pa = base + i * PAGE_SIZE;
    if (pa == 0) continue;
    pte_store(pt, i, pa >= text_start && pa < text_end ? pa | PG_V : pa | PG_V | PG_RW | PG_NX);
  }
  return pt;
}

/*
 * pmap_bootstrap: builds the kernel's page tables (the model above) from the
 * image's layout in the boot information block; kernel_pmap, active on
 * every CPU. No CPU uses them until its pmap_cpu_init.
 * Context: the BSP, once, before the APs start.
 */
export function pmap_bootstrap(boot: usize): void {
  const text_start = <u64>load<u32>(boot + BOOT_IMAGE_START);
  const text_end = <u64>load<u32>(boot + BOOT_TEXT_END);
  if ((text_start & PAGE_MASK) != 0 || (text_end & PAGE_MASK) != 0 || text_end <= text_start) {
    panic("pmap_bootstrap: the image's code is not in whole pages (no text end in the boot information?)");
  }
  const pml4 = pt_alloc();
  const pdpt = pt_alloc();
  pte_store(pml4, 0, pdpt | PG_V | PG_RW);
  for (let g: u64 = 0; g < DMAP_BYTES >> 30; g++) {
    const pd = pt_alloc();
    pte_store(pdpt, g, pd | PG_V | PG_RW);
    for (let i: u64 = 0; i < 512; i++) {
      const pa = (g << 30) + i * NBPDR;
      if (pa == 0 || (pa < text_end && pa + NBPDR > text_start)) {
        pte_store(pd, i, pmap_bootstrap_pt(pa, text_start, text_end) | PG_V | PG_RW);
      } else {
        const nc = pa >= APIC_RANGE_START && pa < APIC_RANGE_END ? PG_NC_PCD | PG_NC_PWT : 0;
        pte_store(pd, i, pa | PG_V | PG_RW | PG_PS | PG_NX | nc);
      }
    }
  }
  pte_store(pml4, 511, pt_alloc() | PG_V | PG_RW);
  const kpm = kernel_pmap();
  kpm.pm_pml4 = pml4;
  atomic.store<u64>(kernel_pmap_store + offsetof<pmap>("pm_active"), ~<u64>0);
}

/*
 * pmap_cpu_init: this CPU turns on no-execute and supervisor write
 * protection and switches to kernel_pmap.
 * Context: every CPU once, early in its start (cpu_init), after
 * pmap_bootstrap.
 */
export function pmap_cpu_init(): void {
  const kpm = kernel_pmap();
  if (kpm.pm_pml4 == 0) panic("pmap_cpu_init: before pmap_bootstrap");
  wrmsr(EFER_MSR, rdmsr(EFER_MSR) | EFER_NXE);
  write_cr0(read_cr0() | CR0_WP);
  write_cr3(kpm.pm_pml4);
  curpmap = changetype<usize>(kpm);
}

/*
 * pmap_pinit: makes pm an empty user address space sharing the kernel's
 * (slots 0 and 511), active nowhere.
 * Context: thread, after pmap_bootstrap.
 */
export function pmap_pinit(pm: pmap): void {
  const kpml4 = kernel_pmap().pm_pml4;
  const pml4 = pt_alloc();
  pte_store(pml4, 0, pte_load(kpml4, 0));
  pte_store(pml4, 511, pte_load(kpml4, 511));
  pm.pm_pml4 = pml4;
  atomic.store<u64>(changetype<usize>(pm) + offsetof<pmap>("pm_active"), 0);
  atomic.store<u32>(changetype<usize>(pm) + offsetof<pmap>("pm_active_lock"), 0);
}

/* Whether va is one pm may map with pmap_enter: user space in a user pmap, kernel virtual addresses in kernel_pmap. */
function pmap_va_ok(pm: pmap, va: u64): bool {
  if (pm === kernel_pmap()) return va >= VM_MIN_KERNEL_ADDRESS;
  return va >= VM_MIN_USER_ADDRESS && va < VM_MAX_USER_ADDRESS;
}

/*
 * pmap_pte: the linear address of the PTE mapping va in pm, making the page
 * tables on the way if `create`; 0 if they are absent and !create. Panics
 * if a large page of the direct map covers va.
 * Context: any; the caller holds pm's lock (pmap_inval_interlock) to change it.
 */
export function pmap_pte(pm: pmap, va: u64, create: bool): usize {
  let table = pm.pm_pml4;
  const user = va < VM_MAX_USER_ADDRESS ? PG_U : 0;
  for (let shift: u64 = 39; shift > 12; shift -= 9) {
    const i = (va >> shift) & 511;
    let e = pte_load(table, i);
    if ((e & PG_V) == 0) {
      if (!create) return 0;
      e = pt_alloc() | PG_V | PG_RW | user;
      pte_store(table, i, e);
    } else if ((e & PG_PS) != 0) {
      panic("pmap_pte: a large page of the direct map covers the address");
    }
    table = e & PG_FRAME;
  }
  return <usize>(table + ((va >> 12) & 511) * 8);
}

/*
 * pmap_extract: the physical address va maps to in pm, or 0.
 * Context: any; racy against changes.
 */
export function pmap_extract(pm: pmap, va: u64): u64 {
  const pte = pmap_pte(pm, va & ~PAGE_MASK, false);
  if (pte == 0) return 0;
  const e = load<u64>(pte);
  return (e & PG_V) != 0 ? (e & PG_FRAME) | (va & PAGE_MASK) : 0;
}

function pmap_inval_info_get(): pmap_inval_info {
  if (inval_info == 0) inval_info = bootalloc(offsetof<pmap_inval_info>(), 8);
  return changetype<pmap_inval_info>(inval_info);
}

/*
 * pmap_enter: maps the page at va to the physical page pa in pm with prot
 * (VM_PROT_*); a page mapped there before is replaced, and no CPU of
 * pm_active keeps its old translation.
 * Context: thread, not in a cpusync; spins while pm is locked.
 */
export function pmap_enter(pm: pmap, va: u64, pa: u64, prot: u32): void {
  if ((va & PAGE_MASK) != 0 || (pa & PAGE_MASK) != 0) panic("pmap_enter: not page aligned");
  if (!pmap_va_ok(pm, va)) panic("pmap_enter: address outside the pmap's range");
  let npte = pa | PG_V;
  if ((prot & VM_PROT_WRITE) != 0) npte |= PG_RW;
  if ((prot & VM_PROT_EXECUTE) == 0) npte |= PG_NX;
  if (va < VM_MAX_USER_ADDRESS) npte |= PG_U;
  const info = pmap_inval_info_get();
  pmap_inval_init(info);
  pmap_inval_interlock(info, pm, va, 1);
  store<u64>(pmap_pte(pm, va, true), npte);
  pmap_inval_deinterlock(info, pm);
  pmap_inval_done(info);
}

/*
 * pmap_remove: unmaps [sva, eva) in pm; when it returns no CPU of pm_active
 * translates any of it.
 * Context: as pmap_enter.
 */
export function pmap_remove(pm: pmap, sva: u64, eva: u64): void {
  if ((sva & PAGE_MASK) != 0 || (eva & PAGE_MASK) != 0 || eva < sva) panic("pmap_remove: not a range of pages");
  if (sva == eva) return;
  if (!pmap_va_ok(pm, sva) || !pmap_va_ok(pm, eva - 1)) panic("pmap_remove: range outside the pmap's");
  const info = pmap_inval_info_get();
  pmap_inval_init(info);
  pmap_inval_interlock(info, pm, sva, <u32>((eva - sva) >> 12));
  for (let va = sva; va < eva; va += PAGE_SIZE) {
    const pte = pmap_pte(pm, va, false);
    if (pte != 0) store<u64>(pte, 0);
  }
  pmap_inval_deinterlock(info, pm);
  pmap_inval_done(info);
}

/*
 * pmap_kenter: maps the kernel virtual page va to pa, read/write, on every
 * CPU.
 * Context: as pmap_enter.
 */
export function pmap_kenter(va: u64, pa: u64): void {
  pmap_enter(kernel_pmap(), va, pa, VM_PROT_READ | VM_PROT_WRITE);
}

/*
 * pmap_kremove: unmaps the kernel virtual page va on every CPU.
 * Context: as pmap_enter.
 */
export function pmap_kremove(va: u64): void {
  pmap_remove(kernel_pmap(), va, va + PAGE_SIZE);
}

/*
 * pmap_interlock_wait: waits, running IPIs, while pm's mappings are being
 * changed: a CPU that has just set its pm_active bit may load pm only
 * when the change is over, or it could cache a translation being removed.
 * Context: critical section.
 */
function pmap_interlock_wait(pm: pmap): void {
  const lock = changetype<usize>(pm) + offsetof<pmap>("pm_active_lock");
  while (atomic.load<u32>(lock) != 0) {
    lwkt_process_ipiq();
    pause();
  }
}

/*
 * pmap_activate: this CPU runs in pm from now on: its pm_active bit is set,
 * it waits for a change of pm's mappings in progress to end, loads pm
 * (flushing its TLB) and leaves the previous pmap's pm_active.
 * Context: thread, or lwkt_switch for the thread it resumes.
 */
export function pmap_activate(pm: pmap): void {
  const old = curpmap;
  if (old == changetype<usize>(pm)) return;
  const bit = <u64>1 << cpu_id();
  crit_enter();
  atomic.or<u64>(changetype<usize>(pm) + offsetof<pmap>("pm_active"), bit);
  pmap_interlock_wait(pm);
  write_cr3(pm.pm_pml4);
  curpmap = changetype<usize>(pm);
  if (old != 0 && old != kernel_pmap_store) atomic.and<u64>(old + offsetof<pmap>("pm_active"), ~bit);
  crit_exit();
}

/*
 * pmap_current: the pmap this CPU runs in.
 * Context: any.
 */
export function pmap_current(): pmap {
  return changetype<pmap>(curpmap);
}

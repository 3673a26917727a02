// The kernel's entry points (the contract with tools/wasm2x64's kernel
// target is in kernel/README.md). For now: the BSP prints a banner,
// calibrates the timers, builds the kernel's page tables, starts its LWKT
// scheduler and hardclock, starts every other CPU the firmware lists, one
// at a time; each prints its own banner, loads the page tables and starts
// its scheduler and hardclock; then, when the
// command line asks for self-tests, every CPU runs them; then the BSP stops
// the machine through the debug-exit port. Interrupts and exceptions go to
// ktrap (arch/x86_64/trap.ts).

import { cpu_id, gs_load32, sti } from "./hw";
import { lock, unlock, puts, putDec } from "./console";
import { apicIds, cpuCount, cpuSource, findCpus } from "./cpus";
import { lapicEnable, startAp, udelay } from "./smp";
import { BOOT_MAX_CPUS, BOOT_TRAMPOLINE, PERCPU_APIC_ID } from "./runtime";
import { EXIT_ABORT, EXIT_AP_FAILED, EXIT_OK, EXIT_SELFTEST_FAILED, EXIT_USAGE, shutdown } from "./kern/kern_shutdown";
import { lwkt_gdinit } from "./kern/lwkt_thread";
import { lwkt_ipiq_gdinit, lwkt_ipiq_online } from "./kern/lwkt_ipiq";
import { systimer_calibrate, systimer_gdinit } from "./kern/kern_systimer";
import { db_sym_init } from "./ddb/db_sym";
import { selftest_main, selftest_parse, selftest_run, selftest_serve, selftest_wanted } from "./kern/selftest";
import { ioapic_init, ioapic_route_isa } from "./arch/x86_64/ioapic";
import { IRQ_COM1, sio_enable } from "./dev/sio";
import { db_monitor } from "./ddb/db_monitor";
import { bench_run } from "./kern/kern_bench";
import { cmdline_value, cmdline_value_end } from "./kern/kern_cmdline";
import { kmalloc_gdinit, kmalloc_init } from "./kern/kern_slaballoc";
import { vm_page_startup } from "./vm/vm_page";
import { pmap_bootstrap, pmap_cpu_init } from "./arch/x86_64/pmap";

const MULTIBOOT_MAGIC: u32 = 0x2badb002;

export { ktrap } from "./arch/x86_64/trap";

/** APs that have reached apmain: the BSP waits on it after each start. */
const apsOnline: usize = memory.data(4);

/* What every CPU does before it takes part, BSP and APs alike. */
function cpu_init(): void {
  pmap_cpu_init(); // the kernel's page tables: page 0 absent, code read-only, data no-execute
  lwkt_gdinit(); // its scheduler: the code running now becomes its boot thread
  lwkt_ipiq_gdinit(); // its IPI queues to every other CPU
  lapicEnable(); // a software-disabled local APIC takes no fixed IPIs
  systimer_gdinit(); // its LAPIC timer and its hardclock
  if (cpu_id() == 0) kmalloc_init(); // the BSP, for every CPU: the zone size and the page tags
  kmalloc_gdinit(); // its slab zones (kmalloc from here on) and their periodic cleanup
  sti(); // from here on ktrap runs IPIs (off until now: the runtime starts each CPU so)
  lwkt_ipiq_online(); // other CPUs may send it IPIs
}

export function kmain(magic: u32, mbInfo: usize, boot: usize): void {
  db_sym_init(boot);
  const self = gs_load32(PERCPU_APIC_ID);
  lock();
  puts("damselfly: AssemblyScript kernel, compiled by wasm2x64\n");
  puts("cpu 0: apic id "); putDec(self); puts(", bsp\n");
  unlock();
  systimer_calibrate(); // once, for every CPU: the PIT is the BSP's alone
  pmap_bootstrap(boot); // before any CPU's cpu_init
  vm_page_startup(magic == MULTIBOOT_MAGIC ? mbInfo : 0, boot); // the free pages; prints the memory line
  cpu_init();
  const selftests = selftest_parse(magic == MULTIBOOT_MAGIC ? mbInfo : 0);
  const benches = cmdline_value(magic == MULTIBOOT_MAGIC ? mbInfo : 0, "bench");
  const benchesEnd = cmdline_value_end();
  findCpus(magic == MULTIBOOT_MAGIC ? mbInfo : 0, self);
  const maxCpus = load<u32>(boot + BOOT_MAX_CPUS);
  lock();
  puts("cpus: "); putDec(cpuCount); puts(" in "); puts(cpuSource); puts("\n");
  unlock();

  const trampoline = load<u32>(boot + BOOT_TRAMPOLINE);
  let started: u32 = 0;
  let failed = false;
  for (let i = 0; i < cpuCount; i++) {
    const id = <u32>load<u8>(apicIds + <usize>i);
    if (id == self) continue;
    if (started + 1 >= maxCpus) {
      lock();
      puts("cpu with apic id "); putDec(id); puts(": not started, the image has room for "); putDec(maxCpus); puts(" cpus\n");
      unlock();
      continue;
    }
    startAp(id, trampoline);
    started++;
    // One second for the AP to get through the trampoline and print.
    for (let ms = 0; ms < 1000 && atomic.load<u32>(apsOnline) < started; ms++) udelay(1000);
    if (atomic.load<u32>(apsOnline) < started) {
      lock();
      puts("cpu with apic id "); putDec(id); puts(": did not start\n");
      unlock();
      failed = true;
      break;
    }
  }
  const online = atomic.load<u32>(apsOnline) + 1;
  lock();
  putDec(online); puts(" of "); putDec(cpuCount); puts(" cpus online\n");
  unlock();
  if (failed) shutdown(EXIT_AP_FAILED);
  if (selftests) shutdown(selftest_main(online) ? EXIT_OK : EXIT_SELFTEST_FAILED);
  if (benches != 0) shutdown(bench_run(benches, benchesEnd) > 0 ? EXIT_OK : EXIT_USAGE);
  monitor_start(online);
}

/* COM1's receiver interrupt to the BSP through the IOAPIC, then the monitor, forever. */
function monitor_start(online: u32): void {
  if (!ioapic_init()) {
    lock();
    puts("no IOAPIC in the firmware tables: no monitor\n");
    unlock();
    shutdown(EXIT_OK);
  }
  ioapic_route_isa(IRQ_COM1, gs_load32(PERCPU_APIC_ID));
  sio_enable();
  db_monitor(online);
}

export function apmain(cpu: u32): void {
  lock();
  puts("cpu "); putDec(cpu); puts(": apic id "); putDec(gs_load32(PERCPU_APIC_ID)); puts(", online\n");
  unlock();
  cpu_init();
  atomic.add<u32>(apsOnline, 1);
  if (selftest_wanted()) selftest_run();
  else selftest_serve();
}

// asc --use abort=main/abort (ts2elf's default for the kernel): failed
// bounds checks, `throw` and the like end here.
function abort(message: string | null, fileName: string | null, line: u32, column: u32): void {
  lock();
  puts("abort: "); puts(message !== null ? message : "(no message)");
  if (fileName !== null) { puts(" at "); puts(fileName); puts(":"); putDec(line); puts(":"); putDec(column); }
  puts("\n");
  unlock();
  shutdown(EXIT_ABORT);
}

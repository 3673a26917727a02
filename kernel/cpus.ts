// Which CPUs the machine has: the local APIC IDs of the enabled processors;
// and, from the same table, where the IOAPIC is and which of its pins each
// ISA IRQ reaches (arch/x86_64/ioapic.ts programs it).
//
// The ACPI MADT comes first: QEMU's SeaBIOS lists every CPU there, but its
// MP table has one entry per package, so `-smp 4` (four cores in one socket)
// would show a single CPU. The MP table is the fallback: emu's firmware
// writes one with every CPU and no ACPI tables. Both are found the way the
// specifications say, except that the BIOS data area is in page 0, which the
// kernel leaves unmapped, so the EBDA is taken to start where the multiboot
// information says base memory ends.

export const MAX_APIC_IDS: i32 = 256;

/** What findCpus() found: APIC IDs in table order, and which table listed them. */
export const apicIds: usize = memory.data(MAX_APIC_IDS);
export let cpuCount: i32 = 0;
export let cpuSource: string = "";
/** The (first) IOAPIC's registers, 0 if the table lists none; the IOAPIC pin of ISA IRQ n, identity unless overridden. */
export let ioapicAddress: u32 = 0;
export const isaIrqPin: usize = memory.data(16);

function isaIdentity(): void {
  for (let irq: usize = 0; irq < 16; irq++) store<u8>(isaIrqPin + irq, <u8>irq);
}

function sum(at: usize, n: usize): u32 {
  let s: u32 = 0;
  for (let i: usize = 0; i < n; i++) s += load<u8>(at + i);
  return s & 0xff;
}

/** The first 16-byte aligned place in [from, to) holding `sig` (8 or 4 bytes) whose first `len` bytes sum to 0. */
function scan(from: usize, to: usize, sig: u64, sigBytes: i32, len: usize): usize {
  const mask: u64 = sigBytes == 8 ? 0xffffffffffffffff : 0xffffffff;
  for (let p = from; p + len <= to; p += 16) {
    if ((load<u64>(p) & mask) == sig && sum(p, len) == 0) return p;
  }
  return 0;
}

/** Where the EBDA's first KiB would be: the end of base memory from the multiboot information, else 639 KiB. */
function ebda(mbInfo: usize): usize {
  const kib = mbInfo != 0 && (load<u32>(mbInfo) & 1) != 0 ? load<u32>(mbInfo, 4) : 639;
  return <usize>kib << 10;
}

function add(id: u32): void {
  if (cpuCount == MAX_APIC_IDS) return;
  store<u8>(apicIds + <usize>cpuCount, <u8>id);
  cpuCount++;
}

/** "RSD PTR " → RSDT (or XSDT) → "APIC": processor local APIC entries with the enabled flag. */
function fromMadt(mbInfo: usize): bool {
  const RSDP: u64 = 0x2052545020445352;
  let rsdp = scan(ebda(mbInfo), ebda(mbInfo) + 1024, RSDP, 8, 20);
  if (rsdp == 0) rsdp = scan(0xe0000, 0x100000, RSDP, 8, 20);
  if (rsdp == 0) return false;
  // ACPI 2+ has a 64-bit XSDT; tables this kernel reads must lie below 4 GiB either way.
  const xsdt = load<u8>(rsdp, 15) >= 2 ? load<u64>(rsdp, 24) : 0;
  const wide = xsdt != 0 && xsdt < 0x100000000;
  const sdt: usize = wide ? <usize>xsdt : load<u32>(rsdp, 16);
  if (sdt == 0 || sum(sdt, load<u32>(sdt, 4)) != 0) return false;
  const entry: usize = wide ? 8 : 4;
  const end = sdt + load<u32>(sdt, 4);
  for (let p = sdt + 36; p + entry <= end; p += entry) {
    const t64 = wide ? load<u64>(p) : <u64>load<u32>(p);
    if (t64 >= 0x100000000) continue;
    const t = <usize>t64;
    if (load<u32>(t) != 0x43495041 || sum(t, load<u32>(t, 4)) != 0) continue; // "APIC"
    const tEnd = t + load<u32>(t, 4);
    for (let e = t + 44; e + 2 <= tEnd; ) {
      const len = <usize>load<u8>(e, 1);
      if (len < 2) break;
      const type = load<u8>(e);
      if (type == 0 && (load<u32>(e, 4) & 1) != 0) add(load<u8>(e, 3));
      if (type == 1 && ioapicAddress == 0) ioapicAddress = load<u32>(e, 4);
      // An interrupt source override: ISA (bus 0) IRQ source reaches global system interrupt GSI (pin, with one IOAPIC).
      if (type == 2 && load<u8>(e, 2) == 0 && load<u8>(e, 3) < 16) store<u8>(isaIrqPin + <usize>load<u8>(e, 3), <u8>load<u32>(e, 4));
      e += len;
    }
    cpuSource = "the ACPI MADT";
    return cpuCount > 0;
  }
  return false;
}

/** "_MP_" → "PCMP": processor entries with the enabled flag. */
function fromMpTable(mbInfo: usize): bool {
  const MP: u64 = 0x5f504d5f;
  let fp = scan(ebda(mbInfo), ebda(mbInfo) + 1024, MP, 4, 16);
  if (fp == 0) fp = scan(0xf0000, 0x100000, MP, 4, 16);
  if (fp == 0) return false;
  const ct: usize = load<u32>(fp, 4);
  if (ct == 0 || load<u32>(ct) != 0x504d4350 || sum(ct, load<u16>(ct, 4)) != 0) return false; // "PCMP"
  let e = ct + 44;
  let isaBus: i32 = -1;
  for (let n = load<u16>(ct, 34); n > 0; n--) {
    const type = load<u8>(e);
    if (type == 0 && (load<u8>(e, 3) & 1) != 0) add(load<u8>(e, 1));
    if (type == 1 && load<u32>(e, 2) == 0x20415349) isaBus = load<u8>(e, 1); // "ISA "
    if (type == 2 && (load<u8>(e, 3) & 1) != 0 && ioapicAddress == 0) ioapicAddress = load<u32>(e, 4);
    // An I/O interrupt entry of type INT from an ISA IRQ (the bus entries come first, MP spec §4.3).
    if (type == 3 && load<u8>(e, 1) == 0 && <i32>load<u8>(e, 4) == isaBus && load<u8>(e, 5) < 16) {
      store<u8>(isaIrqPin + <usize>load<u8>(e, 5), load<u8>(e, 7));
    }
    e += type == 0 ? 20 : 8;
  }
  cpuSource = "the MP table";
  return cpuCount > 0;
}

/** Fills apicIds/cpuCount; with neither table, the BSP alone. */
export function findCpus(mbInfo: usize, bspApicId: u32): void {
  cpuCount = 0;
  isaIdentity();
  if (fromMadt(mbInfo)) return;
  cpuCount = 0;
  ioapicAddress = 0;
  isaIdentity();
  if (fromMpTable(mbInfo)) return;
  cpuCount = 0;
  ioapicAddress = 0;
  isaIdentity();
  add(bspApicId);
  cpuSource = "no firmware table";
}

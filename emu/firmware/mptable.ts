/**
 * The Intel MultiProcessor Specification 1.4 tables that tell a kernel which
 * CPUs, buses and interrupt routes the machine has (MP spec chapter 4): the
 * floating pointer structure and, right after it, the configuration table
 * with the entries SeaBIOS writes for QEMU's PC (processors, PCI bus 0 and
 * the ISA bus, the IOAPIC, I/O and local interrupt assignments).
 * `parseMpTable` reads them back the way an OS finds them, for tests and
 * checkers.
 */

import { GDT_ADDR, GDT_SIZE, type Ram } from './multiboot.js';

export class MpTableError extends Error {}

const FLOATING_SIGNATURE = '_MP_';
const TABLE_SIGNATURE = 'PCMP';
const SPEC_REV = 4;
const FLOATING_SIZE = 16;
const HEADER_SIZE = 44;
export const OEM_ID = 'DAMSELFL';
export const PRODUCT_ID = 'DAMSELFLY';

/** Entry types (MP spec Table 4-3) and their sizes. */
export const enum Entry { Processor = 0, Bus = 1, IoApic = 2, IoInterrupt = 3, LocalInterrupt = 4 }
const ENTRY_SIZE = [20, 8, 8, 8, 8];

/** Interrupt types of I/O and local interrupt entries (MP spec Table 4-9). */
export const enum IntType { Int = 0, Nmi = 1, Smi = 2, ExtInt = 3 }

/** Interrupt entry flags (MP spec Table 4-10): polarity in bits 0–1, trigger mode in bits 2–3. */
export const enum IntFlags { Conforming = 0, ActiveHigh = 1, ActiveLow = 3, Edge = 1 << 2, Level = 3 << 2 }

const CPU_ENABLED = 1, CPU_BSP = 2, IOAPIC_ENABLED = 1;
/** Destination APIC ID meaning "every local APIC" in a local interrupt entry. */
export const ALL_LOCAL_APICS = 0xff;
/** PCI bus 0 keeps its number as its MP bus ID, as OSes assume; ISA comes next, as in SeaBIOS. */
export const PCI_BUS_ID = 0;
export const ISA_BUS_ID = 1;

/** Where the spec lets an OS search for the floating pointer (§4: base memory's last KiB, and the BIOS ROM area). */
export const MP_AREAS: readonly { start: number; end: number; what: string }[] = [
  { start: 0x9fc00, end: 0xa0000, what: 'the last KiB of base memory' },
  { start: 0xf0000, end: 0x100000, what: 'the F segment' },
];
/** Where the machine puts the tables: the F segment, as SeaBIOS does (the base-memory KiB holds the boot GDT). */
export const MP_TABLE_ADDR = 0xf0000;

export interface PciInterrupt {
  /** PCI device number on bus 0. */
  device: number;
  /** 1–4 for INTA#–INTD#, as in the PCI Interrupt Pin register. */
  pin: number;
  ioapicPin: number;
}

export interface MpConfig {
  cpus: { apicId: number; bsp: boolean }[];
  ioapic: { id: number; address: number; version: number };
  lapicAddress: number;
  lapicVersion: number;
  /** CPUID leaf 1 EAX (stepping, model, family) and EDX, copied into every processor entry as SeaBIOS does. */
  cpuSignature: number;
  cpuFeatures: number;
  /** The IOAPIC pin each ISA IRQ reaches. */
  isaIrqPins: (irq: number) => number;
  pciInterrupts?: PciInterrupt[];
}

export interface MpTableLocation {
  floatingPointer: number;
  table: number;
  tableLength: number;
  /** First byte after the configuration table. */
  end: number;
}

/**
 * Writes the floating pointer at `at` (16-byte aligned) and the configuration
 * table right after it; both must fit in one of MP_AREAS and in RAM.
 */
export function writeMpTable(ram: Ram, cfg: MpConfig, at: number): MpTableLocation {
  const table = buildTable(cfg);
  const tableAddr = at + FLOATING_SIZE;
  const end = tableAddr + table.length;
  if (at % 16 !== 0) throw new MpTableError(`MP floating pointer address 0x${hex(at)} is not 16-byte aligned`);
  const area = MP_AREAS.find((a) => at >= a.start && at < a.end);
  if (!area) throw new MpTableError(`MP floating pointer address 0x${hex(at)} is outside the areas an OS searches (0x9fc00-0x9ffff, 0xf0000-0xfffff)`);
  if (end > area.end) throw new MpTableError(`MP tables (0x${hex(end - at)} bytes at 0x${hex(at)}) do not fit in ${area.what}, which ends at 0x${hex(area.end)}`);
  if (at < GDT_ADDR + GDT_SIZE && GDT_ADDR < end) throw new MpTableError(`MP tables (0x${hex(at)}-0x${hex(end - 1)}) would overlap the boot GDT at 0x${hex(GDT_ADDR)}`);
  if (end > ram.size) throw new MpTableError(`MP tables at 0x${hex(at)} lie outside RAM (0x${hex(ram.size)} bytes)`);

  const fp = new Uint8Array(FLOATING_SIZE);
  const fv = new DataView(fp.buffer);
  ascii(fp, 0, FLOATING_SIGNATURE, 4);
  fv.setUint32(4, tableAddr, true);
  fp[8] = FLOATING_SIZE / 16;
  fp[9] = SPEC_REV;
  // Feature bytes 1–5 stay zero: a configuration table is present, and no IMCR (virtual wire mode).
  fp[10] = checksumByte(fp);
  ram.bytes.set(fp, at);
  ram.bytes.set(table, tableAddr);
  return { floatingPointer: at, table: tableAddr, tableLength: table.length, end };
}

function buildTable(cfg: MpConfig): Uint8Array {
  const bsps = cfg.cpus.filter((c) => c.bsp);
  if (bsps.length !== 1) throw new MpTableError(`exactly one CPU must be the bootstrap processor (got ${bsps.length})`);
  const ids = new Set<number>();
  for (const c of cfg.cpus) {
    if (!Number.isInteger(c.apicId) || c.apicId < 0 || c.apicId >= ALL_LOCAL_APICS) throw new MpTableError(`bad local APIC ID ${c.apicId}`);
    if (ids.has(c.apicId)) throw new MpTableError(`local APIC ID ${c.apicId} is used twice`);
    ids.add(c.apicId);
  }
  const entries: Uint8Array[] = [];
  const entry = (type: Entry, fill: (b: Uint8Array, v: DataView) => void): void => {
    const b = new Uint8Array(ENTRY_SIZE[type]);
    b[0] = type;
    fill(b, new DataView(b.buffer));
    entries.push(b);
  };
  const byte = (x: number, what: string): number => {
    if (!Number.isInteger(x) || x < 0 || x > 0xff) throw new MpTableError(`${what} ${x} does not fit in a byte`);
    return x;
  };
  const interrupt = (type: Entry, intType: IntType, flags: number, srcBus: number, srcIrq: number, dstApic: number, dstPin: number): void =>
    entry(type, (b, v) => {
      b[1] = intType;
      v.setUint16(2, flags, true);
      b[4] = srcBus;
      b[5] = byte(srcIrq, 'source bus IRQ');
      b[6] = byte(dstApic, 'destination APIC ID');
      b[7] = byte(dstPin, 'destination pin');
    });

  for (const c of cfg.cpus) {
    entry(Entry.Processor, (b, v) => {
      b[1] = c.apicId;
      b[2] = byte(cfg.lapicVersion, 'local APIC version');
      b[3] = CPU_ENABLED | (c.bsp ? CPU_BSP : 0);
      v.setUint32(4, cfg.cpuSignature, true);
      v.setUint32(8, cfg.cpuFeatures, true);
    });
  }
  entry(Entry.Bus, (b) => { b[1] = PCI_BUS_ID; ascii(b, 2, 'PCI', 6); });
  entry(Entry.Bus, (b) => { b[1] = ISA_BUS_ID; ascii(b, 2, 'ISA', 6); });
  const io = cfg.ioapic;
  entry(Entry.IoApic, (b, v) => {
    b[1] = byte(io.id, 'IOAPIC ID');
    b[2] = byte(io.version, 'IOAPIC version');
    b[3] = IOAPIC_ENABLED;
    v.setUint32(4, io.address, true);
  });

  // The 8259 pair's output reaches IOAPIC pin 0, as in the spec's default configurations (§5.3).
  interrupt(Entry.IoInterrupt, IntType.ExtInt, IntFlags.Conforming, ISA_BUS_ID, 0, io.id, 0);
  for (let irq = 0; irq < 16; irq++) {
    // IRQ 2 is the 8259 cascade; IRQ 0 takes its place at pin 2.
    if (irq === 2) continue;
    interrupt(Entry.IoInterrupt, IntType.Int, IntFlags.Conforming, ISA_BUS_ID, irq, io.id, cfg.isaIrqPins(irq));
  }
  for (const p of cfg.pciInterrupts ?? []) {
    if (!Number.isInteger(p.device) || p.device < 0 || p.device > 31) throw new MpTableError(`bad PCI device number ${p.device}`);
    if (!Number.isInteger(p.pin) || p.pin < 1 || p.pin > 4) throw new MpTableError(`bad PCI interrupt pin ${p.pin} (1-4 for INTA#-INTD#)`);
    // Active high with the PCI bus's own (level) trigger, as SeaBIOS lists QEMU's PCI interrupts.
    interrupt(Entry.IoInterrupt, IntType.Int, IntFlags.ActiveHigh, PCI_BUS_ID, (p.device << 2) | (p.pin - 1), io.id, p.ioapicPin);
  }

  // As SeaBIOS: the 8259 as ExtINT on the BSP's LINT0, NMI on every CPU's LINT1.
  interrupt(Entry.LocalInterrupt, IntType.ExtInt, IntFlags.Conforming, ISA_BUS_ID, 0, bsps[0].apicId, 0);
  interrupt(Entry.LocalInterrupt, IntType.Nmi, IntFlags.Conforming, ISA_BUS_ID, 0, ALL_LOCAL_APICS, 1);

  const length = HEADER_SIZE + entries.reduce((n, e) => n + e.length, 0);
  const t = new Uint8Array(length);
  const tv = new DataView(t.buffer);
  ascii(t, 0, TABLE_SIGNATURE, 4);
  tv.setUint16(4, length, true);
  t[6] = SPEC_REV;
  ascii(t, 8, OEM_ID, 8);
  ascii(t, 16, PRODUCT_ID, 12);
  tv.setUint16(34, entries.length, true);
  tv.setUint32(36, cfg.lapicAddress, true);
  let at = HEADER_SIZE;
  for (const e of entries) { t.set(e, at); at += e.length; }
  t[7] = checksumByte(t);
  return t;
}

export interface MpInterrupt {
  intType: IntType;
  flags: number;
  srcBus: number;
  srcIrq: number;
  /** IOAPIC ID for an I/O interrupt, local APIC ID (0xff: all) for a local one. */
  dstApic: number;
  /** IOAPIC pin, or LINTIN0/1. */
  dstPin: number;
}

export interface ParsedMpTable {
  floating: { address: number; tableAddress: number; specRev: number; features: number[] };
  header: {
    address: number; length: number; specRev: number; oemId: string; productId: string;
    oemTablePointer: number; oemTableSize: number; entryCount: number; lapicAddress: number;
    extendedLength: number; extendedChecksum: number;
  };
  processors: { apicId: number; apicVersion: number; enabled: boolean; bsp: boolean; signature: number; features: number }[];
  buses: { id: number; type: string }[];
  ioapics: { id: number; version: number; enabled: boolean; address: number }[];
  ioInterrupts: MpInterrupt[];
  localInterrupts: MpInterrupt[];
}

/**
 * Finds and decodes the MP tables in `bytes`, which holds physical memory from
 * address `base` on. The floating pointer is searched for where an OS looks
 * (16-byte boundaries in the first KiB, base memory's last KiB and the F
 * segment); every signature, length and checksum is verified.
 */
export function parseMpTable(bytes: Uint8Array, base: number): ParsedMpTable {
  const end = base + bytes.length;
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const u8 = (a: number): number => bytes[a - base];
  const u16 = (a: number): number => v.getUint16(a - base, true);
  const u32 = (a: number): number => v.getUint32(a - base, true);
  const str = (a: number, n: number): string => String.fromCharCode(...bytes.subarray(a - base, a - base + n));
  const sumOk = (a: number, n: number): boolean => bytes.subarray(a - base, a - base + n).reduce((s, x) => s + x, 0) % 256 === 0;

  let fp = -1;
  for (const area of [{ start: 0, end: 0x400 }, ...MP_AREAS]) {
    for (let a = Math.max(area.start, alignUp16(base)); a + FLOATING_SIZE <= Math.min(area.end, end) && fp < 0; a += 16) {
      if (str(a, 4) === FLOATING_SIGNATURE && u8(a + 8) === 1 && sumOk(a, FLOATING_SIZE)) fp = a;
    }
    if (fp >= 0) break;
  }
  if (fp < 0) throw new MpTableError('no MP floating pointer structure (signature "_MP_", length 1, good checksum) in the areas an OS searches');
  const floating = { address: fp, tableAddress: u32(fp + 4), specRev: u8(fp + 9), features: [11, 12, 13, 14, 15].map((k) => u8(fp + k)) };
  if (floating.features[0] !== 0) throw new MpTableError(`MP floating pointer names default configuration ${floating.features[0]} instead of a table`);

  const t = floating.tableAddress;
  if (t < base || t + HEADER_SIZE > end) throw new MpTableError(`MP configuration table address 0x${hex(t)} is outside the memory given`);
  if (str(t, 4) !== TABLE_SIGNATURE) throw new MpTableError(`no "PCMP" signature at 0x${hex(t)}`);
  const length = u16(t + 4);
  if (length < HEADER_SIZE || t + length > end) throw new MpTableError(`bad MP configuration table length ${length}`);
  if (!sumOk(t, length)) throw new MpTableError('MP configuration table checksum is wrong');
  const header = {
    address: t, length, specRev: u8(t + 6), oemId: str(t + 8, 8), productId: str(t + 16, 12),
    oemTablePointer: u32(t + 28), oemTableSize: u16(t + 32), entryCount: u16(t + 34), lapicAddress: u32(t + 36),
    extendedLength: u16(t + 40), extendedChecksum: u8(t + 42),
  };
  const extSum = bytes.subarray(t + length - base, t + length + header.extendedLength - base).reduce((s, x) => s + x, 0);
  if (t + length + header.extendedLength > end || (extSum + header.extendedChecksum) % 256 !== 0) {
    throw new MpTableError('MP extended table length or checksum is wrong');
  }

  const out: ParsedMpTable = { floating, header, processors: [], buses: [], ioapics: [], ioInterrupts: [], localInterrupts: [] };
  let a = t + HEADER_SIZE;
  for (let k = 0; k < header.entryCount; k++) {
    if (a >= t + length) throw new MpTableError(`MP table holds fewer entries than its count ${header.entryCount}`);
    const type = u8(a);
    const size = ENTRY_SIZE[type];
    if (size === undefined) throw new MpTableError(`MP entry ${k} at 0x${hex(a)} has unknown type ${type}`);
    if (a + size > t + length) throw new MpTableError(`MP entry ${k} runs past the end of the table`);
    switch (type) {
      case Entry.Processor: {
        const f = u8(a + 3);
        out.processors.push({ apicId: u8(a + 1), apicVersion: u8(a + 2), enabled: (f & CPU_ENABLED) !== 0, bsp: (f & CPU_BSP) !== 0, signature: u32(a + 4), features: u32(a + 8) });
        break;
      }
      case Entry.Bus: out.buses.push({ id: u8(a + 1), type: str(a + 2, 6) }); break;
      case Entry.IoApic: out.ioapics.push({ id: u8(a + 1), version: u8(a + 2), enabled: (u8(a + 3) & IOAPIC_ENABLED) !== 0, address: u32(a + 4) }); break;
      default: {
        const i: MpInterrupt = { intType: u8(a + 1), flags: u16(a + 2), srcBus: u8(a + 4), srcIrq: u8(a + 5), dstApic: u8(a + 6), dstPin: u8(a + 7) };
        (type === Entry.IoInterrupt ? out.ioInterrupts : out.localInterrupts).push(i);
      }
    }
    a += size;
  }
  if (a !== t + length) throw new MpTableError(`MP entries end at 0x${hex(a)} but the table's length says 0x${hex(t + length)}`);
  return out;
}

/** Space-padded ASCII, as the spec's string fields are. */
function ascii(b: Uint8Array, at: number, s: string, width: number): void {
  for (let k = 0; k < width; k++) b[at + k] = k < s.length ? s.charCodeAt(k) : 0x20;
}

/** The byte that makes `b` sum to zero, its own slot still zero. */
function checksumByte(b: Uint8Array): number {
  return (256 - (b.reduce((s, x) => s + x, 0) % 256)) % 256;
}

function alignUp16(x: number): number { return Math.ceil(x / 16) * 16; }

function hex(x: number): string { return x.toString(16); }

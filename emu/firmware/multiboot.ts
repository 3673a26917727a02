/**
 * The boot-loader half of the firmware: loads a Multiboot v1 image (Multiboot
 * Specification 0.6.96) into RAM the way QEMU's `-kernel` does
 * (hw/i386/multiboot.c plus its option ROM pc-bios/optionrom/multiboot.S), so
 * that one kernel image sees the same machine state on QEMU and here.
 *
 * Layout, as QEMU's: the memory map at 0x9000 and the info structure at 0x9500;
 * after the kernel's last byte, page-aligned, the module list, the module
 * command lines, the kernel command line ("FILE ARGS") and the boot loader
 * name; then each module on its own page. A flat GDT (QEMU's selectors 0x08
 * code, 0x10 data) lives in the reserved KiB below 640 KiB.
 *
 * Everything is validated before the first byte is written: a refused image
 * leaves RAM untouched, and every refusal is one line naming the file.
 */

export class BootError extends Error {}

/** EAX at the kernel's entry (spec §3.2). */
export const BOOTLOADER_MAGIC = 0x2badb002;
const HEADER_MAGIC = 0x1badb002;
const MULTIBOOT2_MAGIC = 0xe85250d6;
const HEADER_SEARCH = 8192;

/** Header flag bits (spec §3.1.2). */
const enum HeaderFlag { PageAlign = 1 << 0, MemoryInfo = 1 << 1, VideoMode = 1 << 2, AddressFields = 1 << 16 }

/** Info flag bits (spec §3.3): the set QEMU fills in. */
export const enum InfoFlag { Memory = 1 << 0, BootDevice = 1 << 1, Cmdline = 1 << 2, Mods = 1 << 3, Mmap = 1 << 6, BootLoaderName = 1 << 9 }

export const MMAP_ADDR = 0x9000;
export const INFO_ADDR = 0x9500;
const INFO_SIZE = 88;
const MMAP_ENTRY_SIZE = 20;
/** BIOS drive 0x80, no partition: what QEMU reports. */
const BOOT_DEVICE = 0x8000ffff;
export const BOOT_LOADER_NAME = 'damselfly';

/** Base memory ends where SeaBIOS's 1 KiB EBDA begins; the reserved KiB holds our GDT. */
export const BASE_MEMORY_END = 0x9fc00;
export const GDT_ADDR = BASE_MEMORY_END;
export const GDT_SIZE = 3 * 8;
export const CODE_SELECTOR = 0x08;
export const DATA_SELECTOR = 0x10;
const HIGH_MEMORY = 0x100000;
const BIOS_ROM = 0xfffc0000;
const BIOS_ROM_SIZE = 0x40000;
const PAGE = 4096;
const TWO32 = 2 ** 32;

/** The memory map's types (spec §3.3: 1 is RAM, anything else is reserved; 2 as e820 says it). */
export const enum MmapType { Ram = 1, Reserved = 2 }

/** Firmware-owned memory: nothing the image or its modules bring may land here. */
export const FIRMWARE_AREAS: readonly { start: number; end: number; what: string }[] = [
  { start: MMAP_ADDR, end: INFO_ADDR + INFO_SIZE, what: 'the multiboot memory map and info structure' },
  { start: BASE_MEMORY_END, end: HIGH_MEMORY, what: 'the firmware area (EBDA, legacy video hole, ROMs, MP table)' },
];

export interface MultibootModule { name: string; bytes: Uint8Array; cmdline: string }

export interface MultibootOptions { cmdline: string; modules: MultibootModule[] }

export interface Ram { bytes: Uint8Array; size: number }

/** A flat descriptor as written in the GDT, and what a segment load puts in the hidden part of the register. */
export interface FlatSegment {
  selector: number;
  /** The descriptor's low and high doublewords. */
  lo: number;
  hi: number;
  base: number;
  /** The limit in bytes, the 4 KiB granularity already applied. */
  limit: number;
  /** Descriptor bits 40–55 (type, S, DPL, P, AVL, L, D/B, G) with the limit's nibble cleared. */
  attributes: number;
}

export interface LoadedRange { start: number; end: number; what: string }

export interface MultibootBoot {
  entry: number;
  infoAddr: number;
  eax: number;
  ebx: number;
  gdtBase: number;
  gdtLimit: number;
  codeSelector: number;
  dataSelector: number;
  code: FlatSegment;
  data: FlatSegment;
  /** Everything written to RAM, sorted by address; `end` is exclusive. */
  loadedRanges: LoadedRange[];
  /** Header requests that were ignored as QEMU ignores them, one line each, naming the file. */
  warnings: string[];
}

/** One piece of RAM to fill: `data`, then zeros up to `end`. */
interface Piece extends LoadedRange { data: Uint8Array }

interface Header { offset: number; flags: number }

/**
 * Loads `image` and writes the boot information; the CPU then starts at
 * `entry` in 32-bit protected mode, paging off, interrupts off, with EAX/EBX
 * as returned and CS/DS/ES/FS/GS/SS loaded from the GDT (spec §3.2).
 */
export function loadMultiboot(image: Uint8Array, fileName: string, ram: Ram, opts: MultibootOptions): MultibootBoot {
  const fail = (why: string): never => { throw new BootError(`${fileName}: ${why}`); };
  if (ram.bytes.length < ram.size) throw new Error(`RAM buffer (${ram.bytes.length} bytes) is smaller than its declared size ${ram.size}`);
  if (ram.size <= HIGH_MEMORY) fail(`needs more than 1 MiB of RAM to boot (have ${ram.size} bytes)`);

  const header = findHeader(image, fail);
  const warnings: string[] = [];
  if (header.flags & HeaderFlag.VideoMode) {
    warnings.push(`${fileName}: the multiboot header asks for a video mode (flag bit 2); there is no video, so it is ignored, as QEMU does`);
  }
  // Bits 0 and 1 are always met: modules start on pages, and the memory fields are always filled in.
  const undefinedRequired = header.flags & 0xffff & ~(HeaderFlag.PageAlign | HeaderFlag.MemoryInfo | HeaderFlag.VideoMode);
  if (undefinedRequired) {
    warnings.push(`${fileName}: the multiboot header sets required flag bits 0x${hex(undefinedRequired)} that the spec does not define; ignored, as QEMU does`);
  }

  const kernel = header.flags & HeaderFlag.AddressFields ? addressFieldsImage(image, header, fail) : elfImage(image, fail);
  if (!kernel.pieces.some((p) => kernel.entry >= p.start && kernel.entry < p.end)) {
    fail(`entry point 0x${hex(kernel.entry)} is not inside anything loaded${kernel.elf ? ' (e_entry must be a physical address: multiboot enters with paging off)' : ''}`);
  }

  const after = afterKernel(fileName, opts, Math.max(...kernel.pieces.map((p) => p.end)));
  const pieces = [...kernel.pieces, ...after.pieces];
  checkPlacement(pieces, ram.size, fail);

  for (const p of pieces) {
    ram.bytes.set(p.data, p.start);
    ram.bytes.fill(0, p.start + p.data.length, p.end);
  }
  const view = new DataView(ram.bytes.buffer, ram.bytes.byteOffset, ram.size);
  const mmapLength = writeMemoryMap(view, ram.size);
  writeInfo(view, {
    memUpper: Math.floor((ram.size - HIGH_MEMORY) / 1024),
    cmdline: after.cmdlineAddr, modsCount: opts.modules.length, modsAddr: after.modListAddr,
    mmapLength, loaderName: after.loaderNameAddr,
  });
  const [code, data] = writeGdt(view);

  const loadedRanges: LoadedRange[] = [
    ...pieces.map(({ start, end, what }) => ({ start, end, what })),
    { start: MMAP_ADDR, end: MMAP_ADDR + mmapLength, what: 'memory map' },
    { start: INFO_ADDR, end: INFO_ADDR + INFO_SIZE, what: 'multiboot info' },
    { start: GDT_ADDR, end: GDT_ADDR + GDT_SIZE, what: 'GDT' },
  ].sort((a, b) => a.start - b.start);

  return {
    entry: kernel.entry, infoAddr: INFO_ADDR, eax: BOOTLOADER_MAGIC, ebx: INFO_ADDR,
    gdtBase: GDT_ADDR, gdtLimit: GDT_SIZE - 1, codeSelector: CODE_SELECTOR, dataSelector: DATA_SELECTOR,
    code, data, loadedRanges, warnings,
  };
}

/** The first 32-bit aligned header with a good checksum, as QEMU scans (spec §3.1.1). */
function findHeader(image: Uint8Array, fail: (why: string) => never): Header {
  const dv = view(image);
  const limit = Math.min(image.length, HEADER_SEARCH);
  let badChecksumAt = -1;
  for (let i = 0; i + 12 <= limit; i += 4) {
    if (dv.getUint32(i, true) !== HEADER_MAGIC) continue;
    const flags = dv.getUint32(i + 4, true);
    if (((HEADER_MAGIC + flags + dv.getUint32(i + 8, true)) >>> 0) === 0) return { offset: i, flags };
    if (badChecksumAt < 0) badChecksumAt = i;
  }
  if (badChecksumAt >= 0) {
    return fail(`the multiboot magic at offset 0x${hex(badChecksumAt)} has a bad checksum (magic + flags + checksum must be 0 mod 2^32), and there is no other header in the first ${HEADER_SEARCH} bytes`);
  }
  let hint = '';
  for (let i = 0; i + 4 <= Math.min(image.length, 32768); i += 8) {
    if (dv.getUint32(i, true) === MULTIBOOT2_MAGIC) { hint = '; it has a multiboot2 header, which is not supported'; break; }
  }
  if (image.length >= 0x206 && dv.getUint32(0x202, true) === 0x53726448) hint = '; it is a Linux bzImage, which is not supported';
  return fail(`no multiboot header in the first ${HEADER_SEARCH} bytes (not a multiboot v1 image${hint})`);
}

interface KernelImage { entry: number; pieces: Piece[]; elf: boolean }

/** Header flag bit 16: the header's own address fields say what to load where (spec §3.1.3, the "a.out kludge"). */
function addressFieldsImage(image: Uint8Array, h: Header, fail: (why: string) => never): KernelImage {
  if (h.offset + 32 > image.length) fail(`the multiboot header at offset 0x${hex(h.offset)} sets the address fields (flag bit 16) but the file ends before them`);
  const dv = view(image);
  const field = (k: number): number => dv.getUint32(h.offset + 12 + 4 * k, true);
  const [headerAddr, loadAddr, loadEndAddr, bssEndAddr, entry] = [field(0), field(1), field(2), field(3), field(4)];
  if (loadAddr > headerAddr) fail(`multiboot load_addr 0x${hex(loadAddr)} is above header_addr 0x${hex(headerAddr)}`);
  if (headerAddr - loadAddr > h.offset) {
    fail(`multiboot header_addr - load_addr (0x${hex(headerAddr - loadAddr)}) is larger than the header's file offset 0x${hex(h.offset)}`);
  }
  const fileOffset = h.offset - (headerAddr - loadAddr);
  let loadSize = image.length - fileOffset;
  if (loadEndAddr !== 0) {
    if (loadEndAddr < loadAddr) fail(`multiboot load_end_addr 0x${hex(loadEndAddr)} is below load_addr 0x${hex(loadAddr)}`);
    loadSize = loadEndAddr - loadAddr;
    if (fileOffset + loadSize > image.length) {
      fail(`the multiboot address fields load 0x${hex(loadSize)} bytes from file offset 0x${hex(fileOffset)}, past the end of the file (0x${hex(image.length)} bytes; truncated?)`);
    }
  }
  let memSize = loadSize;
  if (bssEndAddr !== 0) {
    if (bssEndAddr < loadAddr + loadSize) fail(`multiboot bss_end_addr 0x${hex(bssEndAddr)} is below the end of the loaded data 0x${hex(loadAddr + loadSize)}`);
    memSize = bssEndAddr - loadAddr;
  }
  if (loadAddr + memSize > TWO32) fail(`the image (0x${hex(loadAddr)} + 0x${hex(memSize)} bytes) does not fit below 4 GiB`);
  return {
    entry, elf: false,
    pieces: [{ start: loadAddr, end: loadAddr + memSize, data: image.subarray(fileOffset, fileOffset + loadSize), what: 'image (multiboot address fields)' }],
  };
}

const EM_386 = 3, EM_X86_64 = 62, ET_EXEC = 2, PT_LOAD = 1;

/** An ELF32 i386 executable: PT_LOAD segments at their physical addresses (spec §3.1.3). */
function elfImage(image: Uint8Array, fail: (why: string) => never): KernelImage {
  if (image.length < 16 || image[0] !== 0x7f || image[1] !== 0x45 || image[2] !== 0x4c || image[3] !== 0x46) {
    fail('not an ELF file, and its multiboot header does not set the address fields (flag bit 16) that would say where to load it');
  }
  if (image[4] === 2) {
    fail('ELF64 images cannot be booted through multiboot (QEMU refuses them too); link the kernel as an ELF32 container or set the multiboot address fields');
  }
  if (image[4] !== 1) fail(`bad ELF class ${image[4]}`);
  if (image[5] !== 1) fail('big-endian ELF');
  if (image.length < 52) fail('truncated ELF header');
  const dv = view(image);
  const type = dv.getUint16(16, true), machine = dv.getUint16(18, true);
  if (machine === EM_X86_64) {
    fail('ELF e_machine is x86-64, which QEMU refuses for multiboot; an ELF32 multiboot container must say EM_386 (3)');
  }
  if (machine !== EM_386) fail(`not an i386 ELF file (e_machine ${machine})`);
  if (type !== ET_EXEC) fail(`not an ELF executable (e_type ${type})`);
  const entry = dv.getUint32(24, true), phoff = dv.getUint32(28, true);
  const phentsize = dv.getUint16(42, true), phnum = dv.getUint16(44, true);
  if (phnum === 0) fail('ELF file has no program headers');
  if (phentsize !== 32) fail(`bad ELF program header size ${phentsize}`);
  if (phoff + phnum * 32 > image.length) fail('ELF program headers extend past the end of the file (truncated?)');
  const pieces: Piece[] = [];
  for (let k = 0; k < phnum; k++) {
    const o = phoff + k * 32;
    if (dv.getUint32(o, true) !== PT_LOAD) continue;
    const offset = dv.getUint32(o + 4, true), paddr = dv.getUint32(o + 12, true);
    const filesz = dv.getUint32(o + 16, true), memsz = dv.getUint32(o + 20, true);
    if (memsz === 0) continue;
    if (filesz > memsz) fail(`ELF segment ${k}: file size 0x${hex(filesz)} exceeds memory size 0x${hex(memsz)}`);
    if (offset + filesz > image.length) {
      fail(`ELF segment ${k}: its bytes (file offset 0x${hex(offset)} + 0x${hex(filesz)}) extend past the end of the file (0x${hex(image.length)} bytes; truncated?)`);
    }
    if (paddr + memsz > TWO32) fail(`ELF segment ${k} (0x${hex(paddr)} + 0x${hex(memsz)} bytes) does not fit below 4 GiB`);
    pieces.push({ start: paddr, end: paddr + memsz, data: image.subarray(offset, offset + filesz), what: `ELF segment ${k}` });
  }
  if (pieces.length === 0) fail('ELF file has no loadable segments');
  return { entry, pieces, elf: true };
}

interface AfterKernel { pieces: Piece[]; modListAddr: number; cmdlineAddr: number; loaderNameAddr: number }

/**
 * What QEMU puts after the kernel: page-aligned, the module list, the modules'
 * command lines, the kernel's ("FILE ARGS", file name first as QEMU passes it),
 * the boot loader name; then every module on a page of its own.
 */
function afterKernel(fileName: string, opts: MultibootOptions, kernelEnd: number): AfterKernel {
  const base = alignUp(kernelEnd, PAGE);
  const enc = new TextEncoder();
  const cstr = (s: string, what: string): Uint8Array => {
    if (s.includes('\0')) throw new BootError(`${fileName}: ${what} contains a NUL character`);
    return enc.encode(`${s}\0`);
  };
  // QEMU hands a module the whole "-initrd" item, "FILE ARGS", as its string.
  const modStrings = opts.modules.map((m) => cstr(m.cmdline === '' ? m.name : `${m.name} ${m.cmdline}`, `the command line of module ${m.name}`));
  const strings = [...modStrings, cstr(`${fileName} ${opts.cmdline}`, 'the kernel command line'), cstr(BOOT_LOADER_NAME, 'the boot loader name')];
  const modListSize = 16 * opts.modules.length;
  const blob = new Uint8Array(modListSize + strings.reduce((n, s) => n + s.length, 0));
  const addrs: number[] = [];
  let at = modListSize;
  for (const s of strings) { blob.set(s, at); addrs.push(base + at); at += s.length; }

  const pieces: Piece[] = [{ start: base, end: base + blob.length, data: blob, what: 'module list, command lines, boot loader name' }];
  const list = new DataView(blob.buffer);
  let next = alignUp(base + blob.length, PAGE);
  opts.modules.forEach((m, k) => {
    pieces.push({ start: next, end: next + m.bytes.length, data: m.bytes, what: `module ${k} (${m.name})` });
    list.setUint32(16 * k, next, true);
    list.setUint32(16 * k + 4, next + m.bytes.length, true);
    list.setUint32(16 * k + 8, addrs[k], true);
    next = alignUp(next + m.bytes.length, PAGE);
  });
  const n = opts.modules.length;
  return { pieces, modListAddr: base, cmdlineAddr: addrs[n], loaderNameAddr: addrs[n + 1] };
}

/** Every piece inside RAM, clear of the firmware's areas and of every other piece. */
function checkPlacement(pieces: Piece[], ramSize: number, fail: (why: string) => never): void {
  const span = (p: LoadedRange): string => `${p.what} (0x${hex(p.start)}-0x${hex(p.end - 1)})`;
  for (const p of pieces) {
    if (p.end > ramSize) fail(`${span(p)} lies outside RAM (0x${hex(ramSize)} bytes)`);
    for (const a of FIRMWARE_AREAS) {
      if (p.start < a.end && a.start < p.end) fail(`${span(p)} overlaps ${a.what} at 0x${hex(a.start)}-0x${hex(a.end - 1)}`);
    }
  }
  const sorted = pieces.filter((p) => p.end > p.start).sort((a, b) => a.start - b.start);
  for (let k = 1; k < sorted.length; k++) {
    if (sorted[k].start < sorted[k - 1].end) fail(`${span(sorted[k])} overlaps ${span(sorted[k - 1])}`);
  }
}

/** QEMU's e820 for a PC with all RAM below 4 GiB, in multiboot form (size field 20); returns mmap_length. */
function writeMemoryMap(v: DataView, ramSize: number): number {
  const entries: [number, number, MmapType][] = [
    [0, BASE_MEMORY_END, MmapType.Ram],
    [BASE_MEMORY_END, 0xa0000 - BASE_MEMORY_END, MmapType.Reserved],
    [0xf0000, HIGH_MEMORY - 0xf0000, MmapType.Reserved],
    [HIGH_MEMORY, ramSize - HIGH_MEMORY, MmapType.Ram],
    [BIOS_ROM, BIOS_ROM_SIZE, MmapType.Reserved],
  ];
  let at = MMAP_ADDR;
  for (const [base, length, type] of entries) {
    v.setUint32(at, MMAP_ENTRY_SIZE, true);
    setU64(v, at + 4, base);
    setU64(v, at + 12, length);
    v.setUint32(at + 20, type, true);
    at += 4 + MMAP_ENTRY_SIZE;
  }
  return at - MMAP_ADDR;
}

interface InfoFields { memUpper: number; cmdline: number; modsCount: number; modsAddr: number; mmapLength: number; loaderName: number }

/** The 88-byte info structure (spec §3.3); fields whose flag is clear stay zero. */
function writeInfo(v: DataView, f: InfoFields): void {
  new Uint8Array(v.buffer, v.byteOffset + INFO_ADDR, INFO_SIZE).fill(0);
  v.setUint32(INFO_ADDR, InfoFlag.Memory | InfoFlag.BootDevice | InfoFlag.Cmdline | InfoFlag.Mods | InfoFlag.Mmap | InfoFlag.BootLoaderName, true);
  // QEMU's option ROM takes mem_lower from INT 12h, which SeaBIOS answers with base memory below its EBDA.
  v.setUint32(INFO_ADDR + 4, BASE_MEMORY_END >> 10, true);
  v.setUint32(INFO_ADDR + 8, f.memUpper, true);
  v.setUint32(INFO_ADDR + 12, BOOT_DEVICE, true);
  v.setUint32(INFO_ADDR + 16, f.cmdline, true);
  v.setUint32(INFO_ADDR + 20, f.modsCount, true);
  v.setUint32(INFO_ADDR + 24, f.modsAddr, true);
  v.setUint32(INFO_ADDR + 44, f.mmapLength, true);
  v.setUint32(INFO_ADDR + 48, MMAP_ADDR, true);
  v.setUint32(INFO_ADDR + 64, f.loaderName, true);
}

/**
 * Null, flat 32-bit code, flat 32-bit data. The accessed bit is already set,
 * as the CPU would have set it when the firmware loaded the selectors.
 */
function writeGdt(v: DataView): [FlatSegment, FlatSegment] {
  const flat = (selector: number, type: number): FlatSegment => {
    // limit 0xFFFFF, G=1, D/B=1, P=1, DPL 0, S=1
    const hi = 0x00cf8000 | (1 << 12) | (type << 8);
    return { selector, lo: 0x0000ffff, hi, base: 0, limit: 0xffffffff, attributes: (hi >>> 8) & 0xf0ff };
  };
  const code = flat(CODE_SELECTOR, 0xb), data = flat(DATA_SELECTOR, 0x3);
  setU64(v, GDT_ADDR, 0);
  for (const s of [code, data]) {
    v.setUint32(GDT_ADDR + s.selector, s.lo, true);
    v.setUint32(GDT_ADDR + s.selector + 4, s.hi, true);
  }
  return [code, data];
}

function setU64(v: DataView, at: number, x: number): void {
  v.setUint32(at, x % TWO32, true);
  v.setUint32(at + 4, Math.floor(x / TWO32), true);
}

function alignUp(x: number, a: number): number { return Math.ceil(x / a) * a; }

function hex(x: number): string { return x.toString(16); }

function view(b: Uint8Array): DataView { return new DataView(b.buffer, b.byteOffset, b.byteLength); }

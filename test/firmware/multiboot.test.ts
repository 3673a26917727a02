/**
 * The multiboot v1 loader (Multiboot 0.6.96, QEMU's -kernel behaviour) on
 * images built here byte by byte: ELF32 with bss, the address-field ("a.out
 * kludge") form kvm-unit-tests' .flat images use, modules and command lines,
 * and the images it must refuse without touching RAM.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { BootError, loadMultiboot, type MultibootModule } from '../../emu/firmware/multiboot.js';

const MB_MAGIC = 0x1badb002;
const ADDR_FIELDS = 1 << 16;
const RAM_SIZE = 4 << 20;
const FILL = 0xaa;

let ram: { bytes: Uint8Array; size: number };
beforeEach(() => {
  ram = { bytes: new Uint8Array(RAM_SIZE).fill(FILL), size: RAM_SIZE };
});

const u32 = (a: number): number => new DataView(ram.bytes.buffer).getUint32(a, true);
const u64 = (a: number): number => u32(a) + u32(a + 4) * 2 ** 32;
function cstr(a: number): string {
  let s = '';
  while (ram.bytes[a] !== 0) s += String.fromCharCode(ram.bytes[a++]);
  return s;
}
const untouched = (): boolean => ram.bytes.every((b) => b === FILL);
const pattern = (n: number, seed: number): Uint8Array => Uint8Array.from({ length: n }, (_, k) => (k * 7 + seed) & 0xff);

/** A multiboot header; with `fields` (header_addr, load_addr, load_end_addr, bss_end_addr, entry_addr) it sets flag bit 16. */
function mbHeader(flags: number, fields?: number[], checksumDelta = 0): Uint8Array {
  const all = fields ? flags | ADDR_FIELDS : flags;
  const h = new Uint8Array(fields ? 32 : 12);
  const v = new DataView(h.buffer);
  v.setUint32(0, MB_MAGIC, true);
  v.setUint32(4, all, true);
  v.setUint32(8, (-(MB_MAGIC + all) + checksumDelta) >>> 0, true);
  fields?.forEach((f, k) => v.setUint32(12 + 4 * k, f, true));
  return h;
}

interface Seg { paddr: number; data: Uint8Array; memsz: number; offset: number }

/** An ELF32 i386 executable: header, program headers, multiboot header at `mbAt`, segment bytes at their offsets. */
function elf32(entry: number, segs: Seg[], mb: Uint8Array, mbAt = 0x100, opts: { cls?: number; machine?: number } = {}): Uint8Array {
  const size = Math.max(mbAt + mb.length, ...segs.map((s) => s.offset + s.data.length));
  const f = new Uint8Array(size);
  const v = new DataView(f.buffer);
  f.set([0x7f, 0x45, 0x4c, 0x46, opts.cls ?? 1, 1, 1]);
  v.setUint16(16, 2, true); // ET_EXEC
  v.setUint16(18, opts.machine ?? 3, true);
  v.setUint32(20, 1, true);
  v.setUint32(24, entry, true);
  v.setUint32(28, 52, true); // phoff
  v.setUint16(40, 52, true);
  v.setUint16(42, 32, true);
  v.setUint16(44, segs.length, true);
  segs.forEach((s, k) => {
    const o = 52 + 32 * k;
    v.setUint32(o, 1, true); // PT_LOAD
    v.setUint32(o + 4, s.offset, true);
    v.setUint32(o + 8, s.paddr + 0xc0000000, true); // vaddr differs: the loader must use p_paddr
    v.setUint32(o + 12, s.paddr, true);
    v.setUint32(o + 16, s.data.length, true);
    v.setUint32(o + 20, s.memsz, true);
    v.setUint32(o + 24, 7, true);
    v.setUint32(o + 28, 0x1000, true);
  });
  f.set(mb, mbAt);
  segs.forEach((s) => f.set(s.data, s.offset));
  return f;
}

const TEXT = pattern(0x1234, 1);
const DATA = pattern(0x100, 2);
const twoSegs = (): Seg[] => [
  { paddr: 0x100000, data: TEXT, memsz: TEXT.length, offset: 0x1000 },
  { paddr: 0x200000, data: DATA, memsz: 0x3000, offset: 0x3000 },
];
const goodElf = (): Uint8Array => elf32(0x100010, twoSegs(), mbHeader(3));

function refused(image: Uint8Array, message: string | RegExp, modules: MultibootModule[] = []): void {
  let err: unknown;
  try {
    loadMultiboot(image, 'kernel.elf', ram, { cmdline: '', modules });
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(BootError);
  const msg = (err as Error).message;
  expect(msg).not.toContain('\n');
  expect(msg.startsWith('kernel.elf: ')).toBe(true);
  if (typeof message === 'string') expect(msg).toBe(message);
  else expect(msg).toMatch(message);
  expect(untouched()).toBe(true);
}

describe('ELF32 images', () => {
  it('loads PT_LOAD segments at p_paddr, zeroes bss and enters at e_entry', () => {
    const boot = loadMultiboot(goodElf(), 'kernel.elf', ram, { cmdline: 'console=ttyS0 selftest=all', modules: [] });
    expect(boot.entry).toBe(0x100010);
    expect(boot.eax).toBe(0x2badb002);
    expect(boot.ebx).toBe(boot.infoAddr);
    expect(ram.bytes.subarray(0x100000, 0x100000 + TEXT.length)).toEqual(TEXT);
    expect(ram.bytes[0x100000 + TEXT.length]).toBe(FILL); // nothing beyond memsz
    expect(ram.bytes.subarray(0x200000, 0x200100)).toEqual(DATA);
    expect(ram.bytes.subarray(0x200100, 0x203000).every((b) => b === 0)).toBe(true);
    expect(boot.warnings).toEqual([]);
  });

  it('fills in the info structure as QEMU does', () => {
    const boot = loadMultiboot(goodElf(), 'kernel.elf', ram, { cmdline: 'console=ttyS0', modules: [] });
    const mbi = boot.infoAddr;
    expect(mbi).toBe(0x9500);
    expect(u32(mbi)).toBe(0x24f); // MEMORY | BOOT_DEVICE | CMDLINE | MODS | MMAP | BOOT_LOADER_NAME
    expect(u32(mbi + 4)).toBe(639); // below the 1 KiB EBDA
    expect(u32(mbi + 8)).toBe((RAM_SIZE - 0x100000) / 1024);
    expect(u32(mbi + 12)).toBe(0x8000ffff);
    expect(cstr(u32(mbi + 16))).toBe('kernel.elf console=ttyS0');
    expect(u32(mbi + 20)).toBe(0);
    expect(u32(mbi + 24)).toBe(0x203000); // page after the last bss byte
    expect(cstr(u32(mbi + 64))).toBe('damselfly');
    for (const off of [28, 32, 36, 40, 52, 56, 60, 68, 72, 76, 80, 84]) expect(u32(mbi + off)).toBe(0);
    // QEMU passes the file name even when there are no arguments.
    loadMultiboot(goodElf(), 'kernel.elf', ram, { cmdline: '', modules: [] });
    expect(cstr(u32(mbi + 16))).toBe('kernel.elf ');
  });

  it('writes the memory map QEMU and SeaBIOS give a PC with RAM below 4 GiB', () => {
    const boot = loadMultiboot(goodElf(), 'kernel.elf', ram, { cmdline: '', modules: [] });
    const length = u32(boot.infoAddr + 44);
    const addr = u32(boot.infoAddr + 48);
    expect(addr).toBe(0x9000);
    const entries: [number, number, number][] = [];
    for (let a = addr; a < addr + length; a += u32(a) + 4) {
      expect(u32(a)).toBe(20);
      entries.push([u64(a + 4), u64(a + 12), u32(a + 20)]);
    }
    expect(entries).toEqual([
      [0, 0x9fc00, 1],
      [0x9fc00, 0x400, 2],
      [0xf0000, 0x10000, 2],
      [0x100000, RAM_SIZE - 0x100000, 1],
      [0xfffc0000, 0x40000, 2],
    ]);
  });

  it('writes a flat GDT and returns the descriptors for the hidden segment state', () => {
    const boot = loadMultiboot(goodElf(), 'kernel.elf', ram, { cmdline: '', modules: [] });
    expect([boot.codeSelector, boot.dataSelector]).toEqual([0x08, 0x10]);
    expect(boot.gdtLimit).toBe(23);
    expect(ram.bytes.subarray(boot.gdtBase, boot.gdtBase + 24)).toEqual(Uint8Array.from([
      0, 0, 0, 0, 0, 0, 0, 0,
      0xff, 0xff, 0, 0, 0, 0x9b, 0xcf, 0,
      0xff, 0xff, 0, 0, 0, 0x93, 0xcf, 0,
    ]));
    expect(boot.code).toEqual({ selector: 0x08, lo: 0xffff, hi: 0x00cf9b00, base: 0, limit: 0xffffffff, attributes: 0xc09b });
    expect(boot.data).toEqual({ selector: 0x10, lo: 0xffff, hi: 0x00cf9300, base: 0, limit: 0xffffffff, attributes: 0xc093 });
    // The GDT is in memory the map reserves, so the kernel will not reuse it by accident.
    expect(boot.gdtBase).toBeGreaterThanOrEqual(0x9fc00);
    expect(boot.gdtBase + 24).toBeLessThanOrEqual(0xa0000);
  });

  it('lists every range it wrote, sorted and disjoint', () => {
    const boot = loadMultiboot(goodElf(), 'kernel.elf', ram, { cmdline: '', modules: [] });
    expect(boot.loadedRanges.map((r) => [r.start, r.end])).toEqual([
      [0x9000, 0x9000 + 5 * 24], [0x9500, 0x9558], [0x9fc00, 0x9fc18],
      [0x100000, 0x101234], [0x200000, 0x203000], [0x203000, 0x203000 + 'kernel.elf \0damselfly\0'.length],
    ]);
  });
});

describe('modules and command lines', () => {
  it('places each module on its own page with "NAME ARGS" as its string, after the module list and strings', () => {
    const initrd = pattern(5000, 3), fs = pattern(100, 4);
    const modules = [
      { name: 'initrd.img', bytes: initrd, cmdline: 'root=/dev/ram' },
      { name: 'fs.img', bytes: fs, cmdline: '' },
    ];
    const boot = loadMultiboot(goodElf(), 'kernel.elf', ram, { cmdline: 'a b', modules });
    const mbi = boot.infoAddr;
    expect(u32(mbi + 20)).toBe(2);
    const list = u32(mbi + 24);
    expect(list).toBe(0x203000);
    // Module list, module strings, kernel command line, loader name: one after another.
    const strings = ['initrd.img root=/dev/ram', 'fs.img', 'kernel.elf a b', 'damselfly'];
    let at = list + 32;
    expect(u32(list + 8)).toBe(at);
    expect(cstr(at)).toBe(strings[0]);
    at += strings[0].length + 1;
    expect(u32(list + 24)).toBe(at);
    expect(cstr(at)).toBe(strings[1]);
    at += strings[1].length + 1;
    expect(u32(mbi + 16)).toBe(at);
    at += strings[2].length + 1;
    expect(u32(mbi + 64)).toBe(at);
    expect(cstr(at)).toBe('damselfly');

    expect([u32(list), u32(list + 4)]).toEqual([0x204000, 0x204000 + 5000]);
    expect([u32(list + 16), u32(list + 20)]).toEqual([0x206000, 0x206000 + 100]);
    expect(u32(list + 12)).toBe(0);
    expect(ram.bytes.subarray(0x204000, 0x204000 + 5000)).toEqual(initrd);
    expect(ram.bytes.subarray(0x206000, 0x206000 + 100)).toEqual(fs);
    expect(boot.loadedRanges.filter((r) => /^module \d/.test(r.what)).map((r) => r.what)).toEqual(['module 0 (initrd.img)', 'module 1 (fs.img)']);
  });

  it('refuses modules that do not fit in RAM', () => {
    refused(goodElf(), /^kernel\.elf: module 0 \(big\.img\) \(0x204000-0x404fff\) lies outside RAM \(0x400000 bytes\)$/,
      [{ name: 'big.img', bytes: new Uint8Array(0x201000), cmdline: '' }]);
  });

  it('refuses a command line with a NUL in it', () => {
    expect(() => loadMultiboot(goodElf(), 'kernel.elf', ram, { cmdline: 'a\0b', modules: [] })).toThrow('kernel.elf: the kernel command line contains a NUL character');
    expect(untouched()).toBe(true);
  });
});

describe('the address-field form ("a.out kludge", kvm-unit-tests .flat)', () => {
  const LOAD = 0x400000 - 0x100000; // within our 4 MiB RAM

  it('loads the whole file from load_addr when load_end_addr is 0 and zeroes up to bss_end_addr', () => {
    const file = pattern(0x1800, 5);
    file.set(mbHeader(3, [LOAD, LOAD, 0, LOAD + 0x1800 + 0x2000, LOAD + 0x20]), 0);
    const boot = loadMultiboot(file, 'test.flat', ram, { cmdline: 'x', modules: [] });
    expect(boot.entry).toBe(LOAD + 0x20);
    expect(ram.bytes.subarray(LOAD, LOAD + 0x1800)).toEqual(file);
    expect(ram.bytes.subarray(LOAD + 0x1800, LOAD + 0x3800).every((b) => b === 0)).toBe(true);
    expect(ram.bytes[LOAD + 0x3800]).toBe(FILL);
    expect(cstr(u32(boot.infoAddr + 16))).toBe('test.flat x');
    expect(u32(boot.infoAddr + 24)).toBe(LOAD + 0x4000);
  });

  it('maps the header offset to header_addr and loads only up to load_end_addr', () => {
    // The header sits at file offset 0x40 and says it lives at load_addr + 0x30: loading starts at file offset 0x10.
    const file = pattern(0x1000, 6);
    file.set(mbHeader(0, [LOAD + 0x30, LOAD, LOAD + 0x800, 0, LOAD]), 0x40);
    loadMultiboot(file, 'test.flat', ram, { cmdline: '', modules: [] });
    expect(ram.bytes.subarray(LOAD, LOAD + 0x800)).toEqual(file.subarray(0x10, 0x810));
    expect(ram.bytes[LOAD + 0x800]).toBe(FILL); // no bss: nothing beyond load_end_addr
  });

  it('is used even for an ELF file when flag bit 16 is set', () => {
    const file = goodElf();
    file.set(mbHeader(0, [LOAD + 0x100, LOAD, 0, 0, LOAD]), 0x100);
    loadMultiboot(file, 'kernel.elf', ram, { cmdline: '', modules: [] });
    expect(ram.bytes.subarray(LOAD, LOAD + file.length)).toEqual(file);
    expect(ram.bytes[0x100000]).toBe(FILL); // the ELF segments were not loaded
  });

  it('refuses inconsistent address fields', () => {
    const at = (fields: number[], offset = 0): Uint8Array => {
      const f = new Uint8Array(0x1000);
      f.set(mbHeader(0, fields), offset);
      return f;
    };
    refused(at([LOAD, LOAD + 0x10, 0, 0, LOAD + 0x10]), 'kernel.elf: multiboot load_addr 0x300010 is above header_addr 0x300000');
    refused(at([LOAD + 0x20, LOAD, 0, 0, LOAD], 0x10), 'kernel.elf: multiboot header_addr - load_addr (0x20) is larger than the header\'s file offset 0x10');
    refused(at([LOAD, LOAD, LOAD - 1, 0, LOAD]), 'kernel.elf: multiboot load_end_addr 0x2fffff is below load_addr 0x300000');
    refused(at([LOAD, LOAD, LOAD + 0x2000, 0, LOAD]), 'kernel.elf: the multiboot address fields load 0x2000 bytes from file offset 0x0, past the end of the file (0x1000 bytes; truncated?)');
    refused(at([LOAD, LOAD, 0, LOAD + 0x800, LOAD]), 'kernel.elf: multiboot bss_end_addr 0x300800 is below the end of the loaded data 0x301000');
    refused(at([LOAD, LOAD, 0, 0, LOAD + 0x1000]), 'kernel.elf: entry point 0x301000 is not inside anything loaded');
    refused(at([0x3ff000, 0x3ff000, 0, 0x401000, 0x3ff000]), 'kernel.elf: image (multiboot address fields) (0x3ff000-0x400fff) lies outside RAM (0x400000 bytes)');
    refused(at([0xfffff000, 0xfffff000, 0, 0xffffffff, 0xfffff000]).subarray(0, 32),
      'kernel.elf: image (multiboot address fields) (0xfffff000-0xfffffffe) lies outside RAM (0x400000 bytes)');
  });

  it('refuses a header whose address fields are cut off by the end of the file', () => {
    const f = new Uint8Array(24);
    f.set(mbHeader(0, [0, 0, 0, 0, 0]).subarray(0, 24));
    refused(f, 'kernel.elf: the multiboot header at offset 0x0 sets the address fields (flag bit 16) but the file ends before them');
  });
});

describe('refused images', () => {
  it('no header', () => {
    refused(pattern(20000, 7).map((b) => b & 0x7f), 'kernel.elf: no multiboot header in the first 8192 bytes (not a multiboot v1 image)');
  });

  it('a header past the first 8192 bytes does not count', () => {
    const f = new Uint8Array(9000);
    f.set(mbHeader(3), 8192);
    refused(f, 'kernel.elf: no multiboot header in the first 8192 bytes (not a multiboot v1 image)');
  });

  it('a Linux bzImage or a multiboot2 image is named as such', () => {
    const linux = new Uint8Array(0x400);
    linux.set([0x48, 0x64, 0x72, 0x53], 0x202); // "HdrS"
    refused(linux, 'kernel.elf: no multiboot header in the first 8192 bytes (not a multiboot v1 image; it is a Linux bzImage, which is not supported)');
    const mb2 = new Uint8Array(0x400);
    new DataView(mb2.buffer).setUint32(0x18, 0xe85250d6, true);
    refused(mb2, 'kernel.elf: no multiboot header in the first 8192 bytes (not a multiboot v1 image; it has a multiboot2 header, which is not supported)');
  });

  it('a header with a bad checksum', () => {
    refused(elf32(0x100010, twoSegs(), mbHeader(3, undefined, 1)),
      'kernel.elf: the multiboot magic at offset 0x100 has a bad checksum (magic + flags + checksum must be 0 mod 2^32), and there is no other header in the first 8192 bytes');
  });

  it('ELF64, as QEMU refuses it', () => {
    refused(elf32(0x100010, twoSegs(), mbHeader(3), 0x100, { cls: 2, machine: 62 }),
      'kernel.elf: ELF64 images cannot be booted through multiboot (QEMU refuses them too); link the kernel as an ELF32 container or set the multiboot address fields');
  });

  it('ELF32 that says x86-64, or another machine', () => {
    refused(elf32(0x100010, twoSegs(), mbHeader(3), 0x100, { machine: 62 }), /^kernel\.elf: ELF e_machine is x86-64, which QEMU refuses/);
    refused(elf32(0x100010, twoSegs(), mbHeader(3), 0x100, { machine: 40 }), 'kernel.elf: not an i386 ELF file (e_machine 40)');
  });

  it('not ELF and no address fields', () => {
    const f = new Uint8Array(0x100);
    f.set(mbHeader(3), 0x20);
    refused(f, 'kernel.elf: not an ELF file, and its multiboot header does not set the address fields (flag bit 16) that would say where to load it');
  });

  it('truncated ELF: header, program headers, segment bytes', () => {
    const tiny = goodElf().slice(0, 48);
    tiny.fill(0, 16);
    tiny.set(mbHeader(3), 32);
    refused(tiny, 'kernel.elf: truncated ELF header');
    const img = goodElf();
    const noPh = img.slice(0, 0x100 + 12);
    new DataView(noPh.buffer).setUint32(28, 0x200, true); // phoff beyond the end
    refused(noPh, 'kernel.elf: ELF program headers extend past the end of the file (truncated?)');
    refused(img.slice(0, 0x3080), 'kernel.elf: ELF segment 1: its bytes (file offset 0x3000 + 0x100) extend past the end of the file (0x3080 bytes; truncated?)');
  });

  it('a segment beyond RAM', () => {
    const segs = twoSegs();
    segs[1].paddr = RAM_SIZE - 0x1000;
    refused(elf32(0x100010, segs, mbHeader(3)), 'kernel.elf: ELF segment 1 (0x3ff000-0x401fff) lies outside RAM (0x400000 bytes)');
    segs[1].paddr = 0xfffff000;
    refused(elf32(0x100010, segs, mbHeader(3)), 'kernel.elf: ELF segment 1 (0xfffff000 + 0x3000 bytes) does not fit below 4 GiB');
  });

  it('a segment in the firmware areas, or overlapping another', () => {
    const low = twoSegs();
    low[1].paddr = 0xf8000;
    refused(elf32(0x100010, low, mbHeader(3)), /^kernel\.elf: ELF segment 1 \(0xf8000-0xfafff\) overlaps the firmware area .* at 0x9fc00-0xfffff$/);
    const info = twoSegs();
    info[1].paddr = 0x9400;
    refused(elf32(0x100010, info, mbHeader(3)), 'kernel.elf: ELF segment 1 (0x9400-0xc3ff) overlaps the multiboot memory map and info structure at 0x9000-0x9557');
    const both = twoSegs();
    both[1].paddr = 0x101000;
    refused(elf32(0x100010, both, mbHeader(3)), 'kernel.elf: ELF segment 1 (0x101000-0x103fff) overlaps ELF segment 0 (0x100000-0x101233)');
  });

  it('filesz above memsz, and an entry point outside the segments', () => {
    const segs = twoSegs();
    segs[1].memsz = 0x80;
    refused(elf32(0x100010, segs, mbHeader(3)), 'kernel.elf: ELF segment 1: file size 0x100 exceeds memory size 0x80');
    refused(elf32(0xc0100010, twoSegs(), mbHeader(3)),
      'kernel.elf: entry point 0xc0100010 is not inside anything loaded (e_entry must be a physical address: multiboot enters with paging off)');
  });

  it('too little RAM', () => {
    ram = { bytes: new Uint8Array(0x100000).fill(FILL), size: 0x100000 };
    refused(goodElf(), 'kernel.elf: needs more than 1 MiB of RAM to boot (have 1048576 bytes)');
  });
});

describe('header flags', () => {
  it('a video mode request is ignored with a warning, as QEMU does', () => {
    const boot = loadMultiboot(elf32(0x100010, twoSegs(), mbHeader(3 | 4)), 'kernel.elf', ram, { cmdline: '', modules: [] });
    expect(boot.warnings).toEqual(['kernel.elf: the multiboot header asks for a video mode (flag bit 2); there is no video, so it is ignored, as QEMU does']);
  });

  it('undefined required bits are ignored with a warning, as QEMU does', () => {
    const boot = loadMultiboot(elf32(0x100010, twoSegs(), mbHeader(3 | 0x100)), 'kernel.elf', ram, { cmdline: '', modules: [] });
    expect(boot.warnings).toEqual(['kernel.elf: the multiboot header sets required flag bits 0x100 that the spec does not define; ignored, as QEMU does']);
  });

  it('skips a magic with a bad checksum and uses a later good header', () => {
    const f = goodElf();
    f.set(mbHeader(3, undefined, 5), 0xf0);
    const boot = loadMultiboot(f, 'kernel.elf', ram, { cmdline: '', modules: [] });
    expect(boot.entry).toBe(0x100010);
  });
});

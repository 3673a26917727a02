/**
 * An ELF32 executable (EM_386) around a flat image from tools/asm, the
 * container multiboot loaders take (QEMU refuses ELF64 for -kernel) even
 * though most of the code inside is 64-bit. One PT_LOAD at the image's
 * physical address (vaddr = paddr: the loader enters with paging off), the
 * image at file offset 0x1000 (so a multiboot header at its start is within
 * the file's first 8 KiB), and section headers with a symbol table for
 * debuggers, objdump and traces.
 */
import type { FlatImage } from '../../asm/index.js';

export interface ElfSymbol {
  readonly name: string;
  readonly value: bigint;
}

const IMAGE_OFFSET = 0x1000;
const EHDR = 52, PHDR = 32, SHDR = 40, SYM = 16;
const enum Sht { Progbits = 1, Symtab = 2, Strtab = 3, Nobits = 8 }
const enum Shf { Write = 1, Alloc = 2, Exec = 4 }
const enum Stt { Object = 1, Func = 2 }
const STB_GLOBAL = 1;

class StringTable {
  private readonly parts: Uint8Array[] = [new Uint8Array(1)];
  private size = 1;
  add(s: string): number {
    const at = this.size;
    const b = new TextEncoder().encode(`${s}\0`);
    this.parts.push(b);
    this.size += b.length;
    return at;
  }
  bytes(): Uint8Array {
    const out = new Uint8Array(this.size);
    let o = 0;
    for (const p of this.parts) { out.set(p, o); o += p.length; }
    return out;
  }
}

/** `entry` and every symbol are addresses inside the image; symbols outside any section are left out. */
export function elf32Executable(img: FlatImage, origin: bigint, entry: bigint, symbols: readonly ElfSymbol[]): Uint8Array {
  const sections = img.sections.filter((s) => s.size > 0);
  const end = sections.reduce((a, s) => (s.addr + BigInt(s.size) > a ? s.addr + BigInt(s.size) : a), origin);
  if (end > 0xffffffffn) throw new Error('the image does not fit below 4 GiB');
  const sectionOf = (v: bigint): number => sections.findIndex((s) => v >= s.addr && v < s.addr + BigInt(s.size));

  // A symbol's size runs to the next symbol of its section, or to the section's end.
  const placed = symbols.map((s) => ({ ...s, sec: sectionOf(s.value) })).filter((s) => s.sec >= 0)
    .sort((a, b) => (a.value < b.value ? -1 : a.value > b.value ? 1 : 0));
  const strtab = new StringTable();
  const symtab = new Uint8Array(SYM * (placed.length + 1));
  const sv = new DataView(symtab.buffer);
  placed.forEach((s, i) => {
    const sec = sections[s.sec];
    let j = i + 1;
    while (j < placed.length && placed[j].value === s.value) j++;
    // Sections do not overlap, so a section's symbols are consecutive in address order.
    const stop = j < placed.length && placed[j].sec === s.sec ? placed[j].value : sec.addr + BigInt(sec.size);
    const o = SYM * (i + 1);
    sv.setUint32(o, strtab.add(s.name), true);
    sv.setUint32(o + 4, Number(s.value), true);
    sv.setUint32(o + 8, Number(stop - s.value), true);
    symtab[o + 12] = (STB_GLOBAL << 4) | (sec.name === '.text' ? Stt.Func : Stt.Object);
    sv.setUint16(o + 14, s.sec + 1, true);
  });

  const shstr = new StringTable();
  const names = sections.map((s) => shstr.add(s.name));
  const symName = shstr.add('.symtab'), strName = shstr.add('.strtab'), shstrName = shstr.add('.shstrtab');
  const strBytes = strtab.bytes();
  const shstrBytes = shstr.bytes();
  const align4 = (n: number): number => (n + 3) & ~3;
  const symOff = align4(IMAGE_OFFSET + img.bytes.length);
  const strOff = symOff + symtab.length;
  const shstrOff = strOff + strBytes.length;
  const shOff = align4(shstrOff + shstrBytes.length);
  const shnum = sections.length + 4;
  const file = new Uint8Array(shOff + SHDR * shnum);
  const v = new DataView(file.buffer);

  file.set([0x7f, 0x45, 0x4c, 0x46, 1, 1, 1, 0]); // ELFCLASS32, little-endian, version 1, System V
  v.setUint16(16, 2, true); // ET_EXEC
  v.setUint16(18, 3, true); // EM_386
  v.setUint32(20, 1, true);
  v.setUint32(24, Number(entry), true);
  v.setUint32(28, EHDR, true); // e_phoff
  v.setUint32(32, shOff, true);
  v.setUint16(40, EHDR, true);
  v.setUint16(42, PHDR, true);
  v.setUint16(44, 1, true);
  v.setUint16(46, SHDR, true);
  v.setUint16(48, shnum, true);
  v.setUint16(50, shnum - 1, true); // e_shstrndx: the last section

  const ph = EHDR;
  v.setUint32(ph, 1, true); // PT_LOAD
  v.setUint32(ph + 4, IMAGE_OFFSET, true);
  v.setUint32(ph + 8, Number(origin), true);
  v.setUint32(ph + 12, Number(origin), true);
  v.setUint32(ph + 16, img.bytes.length, true);
  v.setUint32(ph + 20, Number(end - origin), true);
  v.setUint32(ph + 24, 7, true); // PF_R | PF_W | PF_X
  v.setUint32(ph + 28, 0x1000, true);

  file.set(img.bytes, IMAGE_OFFSET);
  file.set(symtab, symOff);
  file.set(strBytes, strOff);
  file.set(shstrBytes, shstrOff);

  const sh = (i: number, f: [name: number, type: number, flags: number, addr: number, offset: number, size: number, link: number, info: number, align: number, entsize: number]): void => {
    f.forEach((x, k) => v.setUint32(shOff + SHDR * i + 4 * k, x, true));
  };
  sections.forEach((s, i) => {
    const flags = Shf.Alloc | (s.name === '.text' ? Shf.Exec : Shf.Write);
    const offset = s.nobits ? IMAGE_OFFSET + img.bytes.length : IMAGE_OFFSET + Number(s.addr - origin);
    sh(i + 1, [names[i], s.nobits ? Sht.Nobits : Sht.Progbits, flags, Number(s.addr), offset, s.size, 0, 0, 16, 0]);
  });
  const n = sections.length;
  sh(n + 1, [symName, Sht.Symtab, 0, 0, symOff, symtab.length, n + 2, 1, 4, SYM]);
  sh(n + 2, [strName, Sht.Strtab, 0, 0, strOff, strBytes.length, 0, 0, 1, 0]);
  sh(n + 3, [shstrName, Sht.Strtab, 0, 0, shstrOff, shstrBytes.length, 0, 0, 1, 0]);
  return file;
}

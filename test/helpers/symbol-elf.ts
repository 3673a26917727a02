/**
 * A minimal ELF executable with a symbol table, built byte by byte for the
 * symbol tests: one PT_LOAD of `code` at `origin` (file offset 0x1000), and
 * section headers [1] .text, [2] .symtab, [3] .strtab, [4] .data (an
 * allocated, non-executable section at `origin` + 0x10000, no bytes in the
 * file). ELF64 is an x86-64 program `emu run` takes; ELF32 is EM_386, the
 * container multiboot takes. Section names are left empty (e_shstrndx 0):
 * nothing here reads them.
 */
export interface TestSymbol {
  name: string;
  value: number | bigint;
  size?: number;
  /** STT_NOTYPE 0 (default), STT_OBJECT 1, STT_FUNC 2, STT_SECTION 3. */
  type?: number;
  local?: boolean;
  /** Default 1 (.text); 0xfff1 is SHN_ABS, 0 SHN_UNDEF. */
  shndx?: number;
}

export interface SymbolElf {
  bytes: Uint8Array;
  /** File offset of the section header of .symtab, for tests that damage it. */
  symtabHeader: number;
  /** File offset of the symbol table's first entry (the null symbol). */
  symtabOffset: number;
}

const CODE_OFFSET = 0x1000;
export const DATA_OFFSET_FROM_ORIGIN = 0x10000;

export function symbolElf(cls: 32 | 64, code: Uint8Array, origin: number, entry: number, symbols: TestSymbol[]): SymbolElf {
  const is64 = cls === 64;
  const ehdr = is64 ? 64 : 52, phdr = is64 ? 56 : 32, shdr = is64 ? 64 : 40, sym = is64 ? 24 : 16;
  const enc = new TextEncoder();
  const names: number[] = [];
  const strParts: number[] = [0];
  for (const s of symbols) { names.push(strParts.length); strParts.push(...enc.encode(s.name), 0); }
  const strtab = Uint8Array.from(strParts);
  const symtab = new Uint8Array(sym * (symbols.length + 1));
  const sv = new DataView(symtab.buffer);
  symbols.forEach((s, i) => {
    const o = sym * (i + 1);
    const info = ((s.local ? 0 : 1) << 4) | (s.type ?? 0);
    sv.setUint32(o, names[i], true);
    if (is64) {
      symtab[o + 4] = info;
      sv.setUint16(o + 6, s.shndx ?? 1, true);
      sv.setBigUint64(o + 8, BigInt(s.value), true);
      sv.setBigUint64(o + 16, BigInt(s.size ?? 0), true);
    } else {
      sv.setUint32(o + 4, Number(s.value), true);
      sv.setUint32(o + 8, s.size ?? 0, true);
      symtab[o + 12] = info;
      sv.setUint16(o + 14, s.shndx ?? 1, true);
    }
  });
  const symOff = (CODE_OFFSET + code.length + 7) & ~7;
  const strOff = symOff + symtab.length;
  const shOff = (strOff + strtab.length + 7) & ~7;
  const file = new Uint8Array(shOff + 5 * shdr);
  const v = new DataView(file.buffer);
  const put = (at: number, x: number): void => { if (is64) v.setBigUint64(at, BigInt(x), true); else v.setUint32(at, x, true); };
  const w = is64 ? 8 : 4;

  file.set([0x7f, 0x45, 0x4c, 0x46, is64 ? 2 : 1, 1, 1]);
  v.setUint16(16, 2, true); // ET_EXEC
  v.setUint16(18, is64 ? 62 : 3, true);
  v.setUint32(20, 1, true);
  put(24, entry);
  put(24 + w, ehdr); // e_phoff
  put(24 + 2 * w, shOff);
  const tail = 24 + 3 * w + 4; // after e_flags
  v.setUint16(tail, ehdr, true);
  v.setUint16(tail + 2, phdr, true);
  v.setUint16(tail + 4, 1, true);
  v.setUint16(tail + 6, shdr, true);
  v.setUint16(tail + 8, 5, true);

  const ph = ehdr;
  v.setUint32(ph, 1, true); // PT_LOAD
  if (is64) {
    v.setUint32(ph + 4, 5, true); // PF_R | PF_X
    put(ph + 8, CODE_OFFSET); put(ph + 16, origin); put(ph + 24, origin);
    put(ph + 32, code.length); put(ph + 40, code.length); put(ph + 48, 0x1000);
  } else {
    put(ph + 4, CODE_OFFSET); put(ph + 8, origin); put(ph + 12, origin);
    put(ph + 16, code.length); put(ph + 20, code.length); v.setUint32(ph + 24, 5, true); put(ph + 28, 0x1000);
  }
  file.set(code, CODE_OFFSET);
  file.set(symtab, symOff);
  file.set(strtab, strOff);

  /** name, type, flags, addr, offset, size, link, info, align, entsize */
  const section = (k: number, f: number[]): void => {
    const o = shOff + k * shdr;
    v.setUint32(o, f[0], true);
    v.setUint32(o + 4, f[1], true);
    if (is64) {
      put(o + 8, f[2]); put(o + 16, f[3]); put(o + 24, f[4]); put(o + 32, f[5]);
      v.setUint32(o + 40, f[6], true); v.setUint32(o + 44, f[7], true); put(o + 48, f[8]); put(o + 56, f[9]);
    } else {
      for (let j = 2; j < 10; j++) v.setUint32(o + 4 * j, f[j], true);
    }
  };
  section(1, [0, 1, 6, origin, CODE_OFFSET, code.length, 0, 0, 16, 0]); // PROGBITS, ALLOC|EXECINSTR
  section(2, [0, 2, 0, 0, symOff, symtab.length, 3, symbols.filter((s) => s.local).length + 1, w, sym]);
  section(3, [0, 3, 0, 0, strOff, strtab.length, 0, 0, 1, 0]);
  section(4, [0, 8, 3, origin + DATA_OFFSET_FROM_ORIGIN, strOff, 0x100, 0, 0, 16, 0]); // NOBITS, WRITE|ALLOC
  return { bytes: file, symtabHeader: shOff + 2 * shdr, symtabOffset: symOff };
}

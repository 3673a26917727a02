/**
 * What an ELF64 relocatable object says, independent of how it is laid out:
 * sections (with contents), relocations by section and symbol name, and
 * symbols by name. Two objects that link the same way read the same here,
 * so tools/asm's objects can be compared with GNU as's. Used by
 * test/golden/asm/generate.mjs (on as's output) and test/asm-elf.test.ts.
 */
export interface ObjectFacts {
  sections: { name: string; type: number; flags: number; size: number; align: number; bytes: string }[];
  relocs: { section: string; offset: number; type: number; sym: string; addend: string }[];
  symbols: { name: string; value: string; size: string; type: number; bind: number; section: string }[];
}

export function readObject(file: Uint8Array): ObjectFacts {
  const dv = new DataView(file.buffer, file.byteOffset, file.byteLength);
  if (dv.getUint32(0, false) !== 0x7f454c46 || file[4] !== 2 || dv.getUint16(16, true) !== 1) throw new Error('not an ELF64 relocatable object');
  const shoff = Number(dv.getBigUint64(40, true)), shnum = dv.getUint16(60, true), shstrndx = dv.getUint16(62, true);
  const sh = Array.from({ length: shnum }, (_, k) => {
    const o = shoff + k * 64;
    return {
      name: dv.getUint32(o, true), type: dv.getUint32(o + 4, true), flags: Number(dv.getBigUint64(o + 8, true)),
      offset: Number(dv.getBigUint64(o + 24, true)), size: Number(dv.getBigUint64(o + 32, true)),
      link: dv.getUint32(o + 40, true), info: dv.getUint32(o + 44, true), align: Number(dv.getBigUint64(o + 48, true)),
    };
  });
  const cstr = (table: number, at: number): string => {
    const base = sh[table].offset + at;
    let end = base;
    while (file[end] !== 0) end++;
    return new TextDecoder().decode(file.subarray(base, end));
  };
  const names = sh.map((s) => cstr(shstrndx, s.name));
  const hex = (a: Uint8Array): string => Array.from(a, (b) => b.toString(16).padStart(2, '0')).join('');

  const symtab = sh.findIndex((s) => s.type === 2);
  const syms = symtab < 0 ? [] : Array.from({ length: sh[symtab].size / 24 }, (_, k) => {
    const o = sh[symtab].offset + k * 24;
    const info = file[o + 4], shndx = dv.getUint16(o + 6, true);
    const type = info & 0xf;
    return {
      name: type === 3 ? names[shndx] : cstr(sh[symtab].link, dv.getUint32(o, true)),
      value: dv.getBigUint64(o + 8, true), size: dv.getBigUint64(o + 16, true), type, bind: info >> 4,
      section: shndx === 0 ? 'UND' : shndx === 0xfff1 ? 'ABS' : names[shndx] ?? `#${shndx}`,
    };
  });

  const facts: ObjectFacts = { sections: [], relocs: [], symbols: [] };
  sh.forEach((s, k) => {
    if (s.type === 1 || s.type === 8) {
      const bytes = s.type === 1 ? hex(file.subarray(s.offset, s.offset + s.size)) : '';
      facts.sections.push({ name: names[k], type: s.type, flags: s.flags, size: s.size, align: s.align, bytes });
    }
    if (s.type === 4) {
      for (let j = 0; j < s.size / 24; j++) {
        const o = s.offset + j * 24;
        const info = dv.getBigUint64(o + 8, true);
        const sym = syms[Number(info >> 32n)];
        facts.relocs.push({
          section: names[s.info], offset: Number(dv.getBigUint64(o, true)), type: Number(info & 0xffffffffn),
          sym: Number(info >> 32n) === 0 ? '' : sym.name, addend: dv.getBigInt64(o + 16, true).toString(),
        });
      }
    }
  });
  facts.relocs.sort((a, b) => a.section.localeCompare(b.section) || a.offset - b.offset);
  for (const s of syms.slice(1)) {
    if (s.type === 3) continue;
    facts.symbols.push({ name: s.name, value: `0x${s.value.toString(16)}`, size: s.size.toString(), type: s.type, bind: s.bind, section: s.section });
  }
  facts.symbols.sort((a, b) => a.name.localeCompare(b.name) || a.value.localeCompare(b.value));
  return facts;
}

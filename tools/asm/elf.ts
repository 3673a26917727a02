/**
 * An ELF64 relocatable object for x86-64 (System V ABI, AMD64 supplement
 * §4.4), as GNU as writes one, for GNU ld to link:
 *
 *   ELF header │ section contents │ .rela.X … │ .symtab │ .strtab │ .shstrtab │ section headers
 *
 * Values that stay open become RELA entries, the way GNU as chooses them:
 *   - a label in the same section: resolved here when PC-relative, unless it
 *     is global and the field is not a relaxable jmp/jcc (call global, [rip+global]
 *     keep a relocation, since the definition could be preempted);
 *   - a local label elsewhere: against its section's symbol, the offset in the addend;
 *   - global or undefined symbols: against the symbol;
 *   - types: R_X86_64_8/16/32/32S/64 by width (32S for sign-extended fields),
 *     PC8/16/32/64 for PC-relative ones, PLT32 for branches to global or
 *     undefined symbols in 64-bit code;
 *   - `sym - .` (a symbol minus a place in the same section) is PC-relative.
 * Symbols: locals (labels and assignments that are not .L temporaries), the
 * section symbols relocations need, then globals and undefined symbols.
 */
import { fail } from './errors.js';
import { evaluate, type Resolver, type Value } from './expr.js';
import type { Assembler } from './assembler.js';
import { finalResolver, sectionBytes } from './layout.js';
import { pendingFixups, store, type Pending } from './fixups.js';
import type { Section, Sym } from './sections.js';

const enum R {
  X86_64_64 = 1, PC32 = 2, PLT32 = 4, X86_64_32 = 10, X86_64_32S = 11, X86_64_16 = 12, PC16 = 13, X86_64_8 = 14, PC8 = 15, PC64 = 24,
}
const enum Sht { Progbits = 1, Symtab = 2, Strtab = 3, Rela = 4, Nobits = 8 }
const enum Shf { Write = 1, Alloc = 2, Exec = 4, InfoLink = 0x40 }
const SHN_ABS = 0xfff1;

interface Reloc { offset: number; type: number; sym: SymEntry | null; addend: bigint }

interface SymEntry { name: string; value: bigint; size: bigint; type: number; bind: number; shndx: number; index: number }

class StrTab {
  bytes: number[] = [0];
  private readonly at = new Map<string, number>();
  add(s: string): number {
    if (s === '') return 0;
    let k = this.at.get(s);
    if (k === undefined) {
      k = this.bytes.length;
      this.bytes.push(...new TextEncoder().encode(s), 0);
      this.at.set(s, k);
    }
    return k;
  }
}

/** Symbols that never reach the symbol table: .L temporaries, numeric locals, `.` places. */
const isTemporary = (name: string): boolean => name.startsWith('.L') || name.includes('\u0002');

export function toElf(a: Assembler): Uint8Array {
  const sections = a.sections;
  const shndx = (s: Section): number => s.index + 1;
  const r = finalResolver(a.syms);

  // Symbols: entries are made as relocations ask for them, then numbered locals first.
  const entries = new Map<Sym | Section, SymEntry>();
  const entryOf = (key: Sym | Section): SymEntry => {
    let e = entries.get(key);
    if (e !== undefined) return e;
    if (!('kind' in key)) e = { name: '', value: 0n, size: 0n, type: 3, bind: 0, shndx: shndx(key), index: 0 };
    else e = symbolEntry(key, shndx, r);
    entries.set(key, e);
    return e;
  };
  for (const s of a.syms.values()) {
    if (isTemporary(s.name)) continue;
    if (s.kind === 'label' || s.global || (s.kind === 'equ' && hasObjectValue(s))) entryOf(s);
  }

  const contents = sections.map((s) => sectionBytes(s));
  const relocs = sections.map((): Reloc[] => []);
  for (const s of sections) {
    for (const f of pendingFixups(s)) {
      const reloc = resolveFixup(f, evaluate(f.field.expr, r, f.loc), contents[s.index]);
      if (reloc === undefined) continue;
      const target = reloc.target;
      let sym: SymEntry | null = null;
      let addend = reloc.addend;
      if (target !== undefined) {
        if (target.kind === 'label' && !target.global && !target.weak) {
          sym = entryOf(target.section!);
          addend += BigInt(target.offset());
        } else {
          sym = entryOf(target);
        }
      }
      relocs[s.index].push({ offset: f.offset, type: reloc.type, sym, addend });
    }
  }

  // Locals, then globals (st_info of .symtab is the first global's index).
  const all = [...entries.values()];
  const ordered = [...all.filter((e) => e.bind === 0 && e.type === 3), ...all.filter((e) => e.bind === 0 && e.type !== 3), ...all.filter((e) => e.bind !== 0)];
  ordered.forEach((e, k) => { e.index = k + 1; });
  const firstGlobal = ordered.findIndex((e) => e.bind !== 0);
  return write(sections, contents, relocs, ordered, firstGlobal < 0 ? ordered.length + 1 : firstGlobal + 1);
}

/** An assignment an object file can hold: a constant, or a label plus a constant. */
function hasObjectValue(s: Sym): boolean {
  const v = s.value;
  return v !== undefined && v.sub === undefined && (v.add === undefined || (v.add as Sym).kind === 'label');
}

function symbolEntry(s: Sym, shndx: (s: Section) => number, r: Resolver): SymEntry {
  const bind = s.weak ? 2 : s.global || s.kind === 'undef' ? 1 : 0;
  const type = s.type === 'function' ? 2 : s.type === 'object' ? 1 : 0;
  const e: SymEntry = { name: s.name, value: 0n, size: 0n, type, bind, shndx: 0, index: 0 };
  if (s.kind === 'label') {
    e.shndx = shndx(s.section!);
    e.value = BigInt(s.offset());
  } else if (s.kind === 'equ' && s.value !== undefined) {
    const v = s.value;
    const base = v.add as Sym | undefined;
    if (base === undefined && v.sub === undefined) { e.shndx = SHN_ABS; e.value = BigInt.asUintN(64, v.c); }
    else if (base?.kind === 'label' && v.sub === undefined) { e.shndx = shndx(base.section!); e.value = BigInt(base.offset()) + v.c; }
  }
  if (s.size !== undefined) {
    const sz = evaluate(s.size, r, s.loc ?? { file: '', line: 0 });
    if (sz.add === undefined && sz.sub === undefined) e.size = sz.c;
  }
  return e;
}

/**
 * Stores what can be resolved now; returns the relocation otherwise:
 * its type, the symbol it names (undefined for an absolute value) and the addend.
 */
function resolveFixup(f: Pending, v: Value, bytes: Uint8Array): { type: number; target?: Sym; addend: bigint } | undefined {
  const here = f.section;
  const add = v.add as Sym | undefined, sub = v.sub as Sym | undefined;
  const size = f.field.size;
  const end = BigInt(f.offset + f.toEnd);
  if (sub !== undefined) {
    // target - place: PC-relative to the field when the place is in this section.
    if (f.pcrel || sub.kind !== 'label' || sub.section !== here) fail(f.loc, `'${add?.name ?? v.c} - ${sub.name}' cannot be expressed in an object file`);
    const addend = v.c + BigInt(f.offset - sub.offset());
    if (add === undefined) fail(f.loc, `'-${sub.name}' cannot be expressed in an object file`);
    return { type: pcType(size, f), target: add, addend };
  }
  if (add === undefined) {
    if (!f.pcrel) { store(bytes, f, v.c); return undefined; }
    return { type: pcType(size, f), addend: v.c - BigInt(f.toEnd) };
  }
  if (f.pcrel) {
    const local = add.kind === 'label' && add.section === here && (f.relaxable || (!add.global && !add.weak));
    if (local) { store(bytes, f, BigInt(add.offset()) + v.c - end); return undefined; }
    const plt = f.branch && f.mode === 64 && size === 4 && (add.kind !== 'label' || add.global || add.weak);
    return { type: plt ? R.PLT32 : pcType(size, f), target: add, addend: v.c - BigInt(f.toEnd) };
  }
  return { type: absType(size, f), target: add, addend: v.c };
}

function pcType(size: number, f: Pending): number {
  switch (size) {
    case 1: return R.PC8;
    case 2: return R.PC16;
    case 4: return R.PC32;
    case 8: return R.PC64;
  }
  fail(f.loc, `no PC-relative relocation of ${size} bytes`);
}

function absType(size: number, f: Pending): number {
  switch (size) {
    case 1: return R.X86_64_8;
    case 2: return R.X86_64_16;
    case 4: return f.field.signed ? R.X86_64_32S : R.X86_64_32;
    case 8: return R.X86_64_64;
  }
  fail(f.loc, `no relocation of ${size} bytes`);
}

/** Lays the file out and writes it. */
function write(sections: Section[], contents: Uint8Array[], relocs: Reloc[][], syms: SymEntry[], firstGlobal: number): Uint8Array {
  const shstr = new StrTab(), str = new StrTab();
  interface Shdr { name: number; type: number; flags: number; data: Uint8Array; size: number; link: number; info: number; align: number; entsize: number; offset: number }
  const headers: Shdr[] = [];
  const symtabIndex = sections.length + relocs.filter((r) => r.length > 0).length + 1;
  for (const s of sections) {
    const flags = (s.flags.alloc ? Shf.Alloc : 0) | (s.flags.write ? Shf.Write : 0) | (s.flags.exec ? Shf.Exec : 0);
    headers.push({ name: shstr.add(s.name), type: s.flags.nobits ? Sht.Nobits : Sht.Progbits, flags, data: s.flags.nobits ? new Uint8Array(0) : contents[s.index], size: s.size, link: 0, info: 0, align: s.align, entsize: 0, offset: 0 });
  }
  sections.forEach((s, k) => {
    if (relocs[k].length === 0) return;
    const data = new Uint8Array(relocs[k].length * 24);
    const dv = new DataView(data.buffer);
    [...relocs[k]].sort((x, y) => x.offset - y.offset).forEach((rel, j) => {
      dv.setBigUint64(j * 24, BigInt(rel.offset), true);
      dv.setBigUint64(j * 24 + 8, (BigInt(rel.sym?.index ?? 0) << 32n) | BigInt(rel.type), true);
      dv.setBigInt64(j * 24 + 16, rel.addend, true);
    });
    headers.push({ name: shstr.add(`.rela${s.name}`), type: Sht.Rela, flags: Shf.InfoLink, data, size: data.length, link: symtabIndex, info: k + 1, align: 8, entsize: 24, offset: 0 });
  });
  const symData = new Uint8Array((syms.length + 1) * 24);
  const sdv = new DataView(symData.buffer);
  syms.forEach((e, k) => {
    const at = (k + 1) * 24;
    sdv.setUint32(at, str.add(e.name), true);
    sdv.setUint8(at + 4, (e.bind << 4) | e.type);
    sdv.setUint16(at + 6, e.shndx, true);
    sdv.setBigUint64(at + 8, e.value, true);
    sdv.setBigUint64(at + 16, e.size, true);
  });
  headers.push({ name: shstr.add('.symtab'), type: Sht.Symtab, flags: 0, data: symData, size: symData.length, link: symtabIndex + 1, info: firstGlobal, align: 8, entsize: 24, offset: 0 });
  const strData = new Uint8Array(str.bytes);
  headers.push({ name: shstr.add('.strtab'), type: Sht.Strtab, flags: 0, data: strData, size: strData.length, link: 0, info: 0, align: 1, entsize: 0, offset: 0 });
  const shstrName = shstr.add('.shstrtab');
  const shstrData = new Uint8Array(shstr.bytes);
  headers.push({ name: shstrName, type: Sht.Strtab, flags: 0, data: shstrData, size: shstrData.length, link: 0, info: 0, align: 1, entsize: 0, offset: 0 });

  let at = 64;
  for (const h of headers) {
    at = Math.ceil(at / Math.max(h.align, 1)) * Math.max(h.align, 1);
    h.offset = at;
    at += h.data.length;
  }
  const shoff = Math.ceil(at / 8) * 8;
  const out = new Uint8Array(shoff + (headers.length + 1) * 64);
  const dv = new DataView(out.buffer);
  out.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]);
  dv.setUint16(16, 1, true);        // ET_REL
  dv.setUint16(18, 62, true);       // EM_X86_64
  dv.setUint32(20, 1, true);
  dv.setBigUint64(40, BigInt(shoff), true);
  dv.setUint16(52, 64, true);
  dv.setUint16(58, 64, true);
  dv.setUint16(60, headers.length + 1, true);
  dv.setUint16(62, headers.length, true);
  headers.forEach((h, k) => {
    out.set(h.data, h.offset);
    const o = shoff + (k + 1) * 64;
    dv.setUint32(o, h.name, true);
    dv.setUint32(o + 4, h.type, true);
    dv.setBigUint64(o + 8, BigInt(h.flags), true);
    dv.setBigUint64(o + 24, BigInt(h.offset), true);
    dv.setBigUint64(o + 32, BigInt(h.size), true);
    dv.setUint32(o + 40, h.link, true);
    dv.setUint32(o + 44, h.info, true);
    dv.setBigUint64(o + 48, BigInt(h.align), true);
    dv.setBigUint64(o + 56, BigInt(h.entsize), true);
  });
  return out;
}

/**
 * The guest's own names for code addresses, read from the ELF symbol table
 * (SHT_SYMTAB and its SHT_STRTAB; System V gABI "Sections", "Symbol Table")
 * of the booted kernel or the program `emu run` runs, so that traces and
 * crash lines say `IN: main/kmain+0x1c` as QEMU's `-d in_asm` does.
 *
 * The table is a debugging aid, not part of what gets loaded: an image
 * without one is normal, and a malformed one is reported once and ignored,
 * never a reason to refuse the image. Free of Node APIs (the browser console
 * boots kernels too).
 */

export interface SymbolHit { name: string; offset: number }

interface Entry { name: string; start: number; end: number; sized: boolean; rank: number; index: number }

/** `name` at a symbol's first byte, `name+0xoff` inside it. */
export function formatHit(h: SymbolHit): string {
  return h.offset === 0 ? h.name : `${h.name}+0x${h.offset.toString(16)}`;
}

/**
 * Address → symbol. Addresses are linear, in the CPU's signed canonical form
 * (the form `Cpu.rip` has), so higher-half kernels look up exactly.
 */
export class Symbols {
  static readonly none = new Symbols([]);
  private readonly starts: Float64Array;
  private readonly ends: Float64Array;
  /** reach[i]: the largest end among entries 0..i; a backward search for an enclosing symbol stops below it. */
  private readonly reach: Float64Array;
  private readonly names: string[];

  /**
   * `entries` with `end` > `start` (exclusive). Several may share a start:
   * the one with the highest rank, then the earliest, names the address.
   */
  private constructor(entries: Entry[]) {
    entries.sort((a, b) => a.start - b.start || a.rank - b.rank || b.index - a.index);
    this.starts = Float64Array.from(entries, (e) => e.start);
    this.ends = Float64Array.from(entries, (e) => e.end);
    this.names = entries.map((e) => e.name);
    this.reach = new Float64Array(entries.length);
    let max = -Infinity;
    entries.forEach((e, i) => { max = Math.max(max, e.end); this.reach[i] = max; });
  }

  lookup(addr: number): SymbolHit | null {
    const starts = this.starts;
    let lo = 0, hi = starts.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (starts[mid] <= addr) lo = mid + 1; else hi = mid;
    }
    // A sized symbol may end before `addr` while an earlier one encloses both (a label inside a function).
    for (let i = lo - 1; i >= 0 && this.reach[i] > addr; i--) {
      if (addr < this.ends[i]) return { name: this.names[i], offset: addr - starts[i] };
    }
    return null;
  }

  /** ` <name+0xoff>` to follow an address in a log line, or '' so that lines without a symbol stay as they were. */
  annotate(addr: number): string {
    const h = this.lookup(addr);
    return h === null ? '' : ` <${formatHit(h)}>`;
  }

  /**
   * The function and untyped symbols of an ELF32 or ELF64 image that name an
   * address in an allocated section, moved by `bias` (where a PIE was put).
   * A symbol without a size runs to the next symbol or its section's end.
   * A malformed table gets one line through `warn` (naming `fileName`) and
   * none is used.
   */
  static fromElf(image: Uint8Array, fileName: string, warn: (line: string) => void, bias = 0): Symbols {
    try {
      return new Symbols(readSymtab(image, bias));
    } catch (e) {
      if (!(e instanceof MalformedSymtab)) throw e;
      warn(`${fileName}: symbol table ignored: ${e.message}`);
      return Symbols.none;
    }
  }
}

class MalformedSymtab extends Error {}

const SHT_SYMTAB = 2, SHT_STRTAB = 3;
const SHF_ALLOC = 2;
const STT_NOTYPE = 0, STT_FUNC = 2;
const STB_LOCAL = 0;
const SHN_UNDEF = 0, SHN_LORESERVE = 0xff00, SHN_XINDEX = 0xffff;

interface Section { type: number; flags: number; addr: number; offset: number; size: number; link: number; entsize: number }

function readSymtab(image: Uint8Array, bias: number): Entry[] {
  // Not an ELF file, or one the loader would refuse anyway: no symbols, and nothing to say.
  if (image.length < 52 || image[0] !== 0x7f || image[1] !== 0x45 || image[2] !== 0x4c || image[3] !== 0x46) return [];
  const is64 = image[4] === 2;
  if ((image[4] !== 1 && !is64) || image[5] !== 1 || (is64 && image.length < 64)) return [];
  const dv = new DataView(image.buffer, image.byteOffset, image.byteLength);
  const word = (at: number): number => {
    if (!is64) return dv.getUint32(at, true);
    const v = dv.getBigUint64(at, true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new MalformedSymtab(`field at file offset 0x${at.toString(16)} is out of range`);
    return Number(v);
  };
  const shoff = word(is64 ? 40 : 32);
  const shentsize = dv.getUint16(is64 ? 58 : 46, true);
  let shnum = dv.getUint16(is64 ? 60 : 48, true);
  if (shoff === 0) return [];
  const shdrSize = is64 ? 64 : 40;
  if (shentsize !== shdrSize) throw new MalformedSymtab(`section header size ${shentsize}, not ${shdrSize}`);
  if (shoff + shdrSize > image.length) throw new MalformedSymtab('the section headers lie past the end of the file');
  const section = (k: number): Section => {
    const o = shoff + k * shdrSize;
    return is64
      ? { type: dv.getUint32(o + 4, true), flags: dv.getUint32(o + 8, true), addr: canonical(dv.getBigUint64(o + 16, true)), offset: word(o + 24), size: word(o + 32), link: dv.getUint32(o + 40, true), entsize: word(o + 56) }
      : { type: dv.getUint32(o + 4, true), flags: dv.getUint32(o + 8, true), addr: dv.getUint32(o + 12, true), offset: dv.getUint32(o + 16, true), size: dv.getUint32(o + 20, true), link: dv.getUint32(o + 24, true), entsize: dv.getUint32(o + 36, true) };
  };
  // More than 0xff00 sections: the count is in section 0's sh_size (gABI "Extended Section Indexes").
  if (shnum === 0) shnum = section(0).size;
  if (shoff + shnum * shdrSize > image.length) throw new MalformedSymtab(`the section headers (${shnum}) extend past the end of the file`);
  const sections = Array.from({ length: shnum }, (_, k) => section(k));
  const symtab = sections.find((s) => s.type === SHT_SYMTAB);
  if (!symtab) return [];

  const symSize = is64 ? 24 : 16;
  const inFile = (s: Section): boolean => s.offset + s.size <= image.length;
  if (symtab.entsize !== symSize) throw new MalformedSymtab(`symbol size ${symtab.entsize}, not ${symSize}`);
  if (symtab.size % symSize !== 0) throw new MalformedSymtab(`its size 0x${symtab.size.toString(16)} is not a whole number of symbols`);
  if (!inFile(symtab)) throw new MalformedSymtab('it extends past the end of the file');
  const strtab = sections[symtab.link];
  if (!strtab || strtab.type !== SHT_STRTAB) throw new MalformedSymtab(`its string table (section ${symtab.link}) is not a string table`);
  if (!inFile(strtab)) throw new MalformedSymtab('its string table extends past the end of the file');
  const strings = image.subarray(strtab.offset, strtab.offset + strtab.size);
  const decoder = new TextDecoder();

  const entries: Entry[] = [];
  for (let k = 1; k < symtab.size / symSize; k++) {
    const o = symtab.offset + k * symSize;
    const nameAt = dv.getUint32(o, true);
    const info = image[o + (is64 ? 4 : 12)];
    const shndx = dv.getUint16(o + (is64 ? 6 : 14), true);
    const value = is64 ? dv.getBigUint64(o + 8, true) : BigInt(dv.getUint32(o + 4, true));
    const size = is64 ? dv.getBigUint64(o + 16, true) : BigInt(dv.getUint32(o + 8, true));
    const type = info & 0xf, bind = info >> 4;
    if (type !== STT_FUNC && type !== STT_NOTYPE) continue;
    if (shndx === SHN_UNDEF || (shndx >= SHN_LORESERVE && shndx !== SHN_XINDEX)) continue;
    if (shndx !== SHN_XINDEX && shndx >= shnum) throw new MalformedSymtab(`symbol ${k} names section ${shndx} of ${shnum}`);
    const sec = shndx === SHN_XINDEX ? null : sections[shndx];
    if (sec && !(sec.flags & SHF_ALLOC)) continue;
    if (nameAt >= strings.length) throw new MalformedSymtab(`symbol ${k}'s name is outside the string table`);
    const nul = strings.indexOf(0, nameAt);
    if (nul < 0) throw new MalformedSymtab(`symbol ${k}'s name is not NUL-terminated`);
    if (nul === nameAt) continue;
    const start = canonical(value) + bias;
    if (!Number.isSafeInteger(start)) continue;
    entries.push({
      name: decoder.decode(strings.subarray(nameAt, nul)),
      start,
      end: size > 0n ? start + Number(size) : sec ? sec.addr + bias + sec.size : Infinity,
      sized: size > 0n,
      rank: (type === STT_FUNC ? 2 : 0) + (bind !== STB_LOCAL ? 1 : 0),
      index: k,
    });
  }
  // An unsized symbol (a label) runs to the next named address, within its section.
  entries.sort((a, b) => a.start - b.start);
  let nextStart = Infinity;
  for (let i = entries.length - 1; i >= 0; i--) {
    const e = entries[i];
    if (i + 1 < entries.length && entries[i + 1].start > e.start) nextStart = entries[i + 1].start;
    if (!e.sized) e.end = Math.min(e.end, nextStart);
  }
  return entries.filter((e) => e.end > e.start);
}

/** An address in the form the CPU holds linear addresses: signed canonical, exact for every canonical address. */
function canonical(v: bigint): number { return Number(BigInt.asIntN(64, v)); }

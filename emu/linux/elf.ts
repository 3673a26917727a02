/**
 * ELF64 parsing for the user-mode runner (System V gABI, x86-64 psABI).
 * Only what loading needs; every malformed input yields an ElfError whose
 * message names the problem, never an exception from deep inside.
 */
export class ElfError extends Error {}

export const enum PT { LOAD = 1, DYNAMIC = 2, INTERP = 3, NOTE = 4, PHDR = 6, TLS = 7, GNU_STACK = 0x6474e551 }
export const enum PF { X = 1, W = 2, R = 4 }
const ET_EXEC = 2, ET_DYN = 3, EM_X86_64 = 62;

export interface Segment {
  type: number;
  flags: number;
  offset: number;
  vaddr: number;
  filesz: number;
  memsz: number;
  align: number;
}

export interface ElfImage {
  /** ET_DYN without an interpreter: a static PIE, loaded at a base we choose. */
  pie: boolean;
  entry: number;
  phoff: number;
  phentsize: number;
  phnum: number;
  segments: Segment[];
  bytes: Uint8Array;
}

export function parseElf(bytes: Uint8Array): ElfImage {
  if (bytes.length < 16 || bytes[0] !== 0x7f || bytes[1] !== 0x45 || bytes[2] !== 0x4c || bytes[3] !== 0x46) {
    throw new ElfError('not an ELF file');
  }
  if (bytes[4] === 1) throw new ElfError('32-bit ELF is not supported (x86-64 programs only)');
  if (bytes[4] !== 2) throw new ElfError(`bad ELF class ${bytes[4]}`);
  if (bytes[5] !== 1) throw new ElfError('big-endian ELF is not supported');
  if (bytes.length < 64) throw new ElfError('truncated ELF header');
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const type = dv.getUint16(16, true);
  const machine = dv.getUint16(18, true);
  if (machine !== EM_X86_64) throw new ElfError(`not an x86-64 program (e_machine ${machine})`);
  if (type !== ET_EXEC && type !== ET_DYN) throw new ElfError(`not an executable (e_type ${type})`);
  const entry = u64(dv, 24);
  const phoff = u64(dv, 32);
  const phentsize = dv.getUint16(54, true);
  const phnum = dv.getUint16(56, true);
  if (phnum === 0) throw new ElfError('no program headers');
  if (phentsize !== 56) throw new ElfError(`bad program header size ${phentsize}`);
  if (phoff + phnum * phentsize > bytes.length) throw new ElfError('truncated program headers');
  const segments: Segment[] = [];
  for (let k = 0; k < phnum; k++) {
    const o = phoff + k * phentsize;
    const s: Segment = {
      type: dv.getUint32(o, true), flags: dv.getUint32(o + 4, true),
      offset: u64(dv, o + 8), vaddr: u64(dv, o + 16),
      filesz: u64(dv, o + 32), memsz: u64(dv, o + 40), align: u64(dv, o + 48),
    };
    if (s.type === PT.INTERP) {
      const end = Math.min(s.offset + s.filesz, bytes.length);
      const interp = new TextDecoder().decode(bytes.subarray(s.offset, end)).replace(/\0.*$/s, '');
      throw new ElfError(`dynamically linked (needs ${interp || 'an interpreter'}); only static programs run`);
    }
    if (s.type === PT.LOAD) {
      if (s.filesz > s.memsz) throw new ElfError(`segment ${k}: file size exceeds memory size`);
      if (s.offset + s.filesz > bytes.length) throw new ElfError(`segment ${k} extends past the end of the file (truncated?)`);
      if (s.vaddr % 4096 !== s.offset % 4096) throw new ElfError(`segment ${k}: address and offset disagree modulo the page size`);
      if (s.vaddr + s.memsz > 0x7ffffffff000) throw new ElfError(`segment ${k} lies outside the user address space`);
    }
    segments.push(s);
  }
  if (!segments.some((s) => s.type === PT.LOAD)) throw new ElfError('no loadable segments');
  return { pie: type === ET_DYN, entry, phoff, phentsize, phnum, segments, bytes };
}

/** A u64 field; values beyond 2^53 are nonsense for a user program and rejected. */
function u64(dv: DataView, off: number): number {
  const v = dv.getBigUint64(off, true);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new ElfError(`field at offset ${off} is out of range`);
  return Number(v);
}

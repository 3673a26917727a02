/**
 * A static Linux x86-64 executable (ET_EXEC) around a flat image from
 * tools/asm: the ELF and program headers fill the first page, the image
 * follows at file offset 0x1000 = ORIGIN - BASE, and one PT_LOAD maps it all
 * read-write-execute (code and data share the image; splitting them into
 * R-X and RW- segments is a later refinement). Sections without contents
 * (.bss) lie past the file's end and are zero-filled through p_memsz.
 */
import type { FlatImage } from '../../asm/index.js';

export const BASE = 0x400000n;
/** Where the image is assembled: one page above the headers. */
export const ORIGIN = BASE + 0x1000n;

export function linuxElf(img: FlatImage): Uint8Array {
  const entry = img.symbols.get('_start');
  if (entry === undefined) throw new Error('the image has no _start');
  const end = img.sections.reduce((a, s) => (s.addr + BigInt(s.size) > a ? s.addr + BigInt(s.size) : a), ORIGIN);
  const file = new Uint8Array(0x1000 + img.bytes.length);
  const v = new DataView(file.buffer);
  file.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]); // ELFCLASS64, little-endian, version 1, System V
  v.setUint16(16, 2, true); // ET_EXEC
  v.setUint16(18, 62, true); // EM_X86_64
  v.setUint32(20, 1, true);
  v.setBigUint64(24, entry, true);
  v.setBigUint64(32, 64n, true); // e_phoff
  v.setUint16(52, 64, true); // e_ehsize
  v.setUint16(54, 56, true); // e_phentsize
  v.setUint16(56, 1, true); // e_phnum
  v.setUint16(58, 64, true); // e_shentsize (no section headers)
  const ph = 64;
  v.setUint32(ph, 1, true); // PT_LOAD
  v.setUint32(ph + 4, 7, true); // PF_R | PF_W | PF_X
  v.setBigUint64(ph + 8, 0n, true);
  v.setBigUint64(ph + 16, BASE, true);
  v.setBigUint64(ph + 24, BASE, true);
  v.setBigUint64(ph + 32, BigInt(file.length), true);
  v.setBigUint64(ph + 40, end - BASE, true);
  v.setBigUint64(ph + 48, 0x1000n, true);
  file.set(img.bytes, 0x1000);
  return file;
}

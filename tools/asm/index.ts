/**
 * tools/asm: an x86-64 assembler for GNU as's Intel syntax
 * (`.intel_syntax noprefix`), driven by the CPU's opcode table. See README.md.
 *
 *   const { bytes, symbols } = assemble(src, { mode: 16, origin: 0x8000 });   // a flat image
 *   const obj = assembleElf(src);                                            // an ELF64 relocatable object
 */
import { Assembler } from './assembler.js';
import { layout } from './layout.js';
import { toFlat, type FlatImage } from './flat.js';
import { toElf } from './elf.js';
import type { Mode } from './match.js';

export { AsmError } from './errors.js';
export type { FlatImage, FlatSection } from './flat.js';
export type { Mode } from './match.js';

export interface AsmOptions {
  /** Name for messages (file:line: problem); default '<asm>'. */
  file?: string;
  /** The code size at the start, as if after .code16/.code32/.code64; default 64. */
  mode?: Mode;
  /** Address of the first section of a flat image; default 0. */
  origin?: number | bigint;
  /** Values for symbols the source uses but does not define (a flat image's ld --defsym). */
  defines?: Record<string, number | bigint>;
}

/** Parses and lays out `source`: the first half of every output format. */
export function parse(source: string, opts: AsmOptions = {}): Assembler {
  const a = new Assembler(opts.file ?? '<asm>', opts.mode ?? 64);
  a.run(source);
  layout(a.sections, a.syms);
  return a;
}

/** Assembles `source` to a flat image: sections in order from `origin`, every symbol resolved. */
export function assemble(source: string, opts: AsmOptions = {}): FlatImage {
  const defines = new Map(Object.entries(opts.defines ?? {}).map(([k, v]) => [k, BigInt(v)]));
  return toFlat(parse(source, opts), BigInt(opts.origin ?? 0), defines);
}

/** Assembles `source` to an ELF64 relocatable object (x86-64) for GNU ld. */
export function assembleElf(source: string, opts: Omit<AsmOptions, 'origin'> = {}): Uint8Array {
  return toElf(parse(source, opts));
}

/**
 * Fields left open while parsing (values of labels, branch displacements),
 * collected after layout with where they sit, and the range check their
 * width and signedness impose.
 */
import { fail, type Loc } from './errors.js';
import type { Fixup } from './encode.js';
import type { Section } from './sections.js';

export interface Pending extends Fixup {
  section: Section;
  /** Offset of the field in its section. */
  offset: number;
  loc: Loc;
  /** The displacement of a relaxable jmp/jcc: GNU as resolves it within the section whatever the target's binding. */
  relaxable: boolean;
}

export function pendingFixups(s: Section): Pending[] {
  const out: Pending[] = [];
  for (const it of s.items) {
    const list = it.k === 'bytes' ? it.fixups : it.k === 'branch' ? (it.isLong ? it.long : it.short).fixups : [];
    for (const f of list) out.push({ ...f, section: s, offset: it.offset + f.at, loc: f.loc ?? it.loc, relaxable: it.k === 'branch' });
  }
  return out;
}

/** Checks that `v` fits the field, then stores it little-endian. */
export function store(bytes: Uint8Array, f: Pending, v: bigint): void {
  const bits = f.field.size * 8;
  const lo = -(1n << BigInt(bits - 1));
  const hi = f.pcrel || f.field.signed ? 1n << BigInt(bits - 1) : 1n << BigInt(bits);
  if (bits < 64 && (v < lo || v >= hi)) {
    fail(f.loc, f.pcrel ? `branch or rip-relative target out of reach (${v} does not fit ${bits} bits)` : `value ${v} does not fit ${bits} bits`);
  }
  for (let k = 0; k < f.field.size; k++) bytes[f.offset + k] = Number((v >> BigInt(8 * k)) & 0xffn);
}

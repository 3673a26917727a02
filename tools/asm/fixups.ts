/**
 * Fields left open while parsing (values of labels, branch displacements),
 * collected after layout with where they sit, and the range check their
 * width and signedness impose.
 */
import { fail } from './errors.js';
import { putLE, type Fixup } from './encode.js';
import type { Section } from './sections.js';

export interface Pending extends Fixup {
  section: Section;
  /** Offset of the field in its section. */
  offset: number;
  /** The displacement of a relaxable jmp/jcc: GNU as resolves it within the section whatever the target's binding. */
  relaxable: boolean;
}

export function pendingFixups(s: Section): Pending[] {
  const out: Pending[] = [];
  for (const it of s.items) {
    const list = it.k === 'bytes' ? it.fixups : it.k === 'branch' ? (it.isLong ? it.long : it.short).fixups : [];
    for (const f of list) {
      const branch = it.k === 'branch';
      out.push({ at: f.at, field: f.field, pcrel: f.pcrel, toEnd: f.toEnd, branch: f.branch, loc: branch ? it.loc : f.loc, mode: f.mode, section: s, offset: it.offset + f.at, relaxable: branch });
    }
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
  putLE(bytes, f.offset, v, f.field.size);
}

/**
 * A flat image: the allocated sections one after another from an origin,
 * each at its alignment, those with contents first and .bss-like ones after
 * (they take addresses, not bytes). Every value must resolve: an undefined
 * symbol is an error.
 */
import { fail } from './errors.js';
import { evaluate, type Value } from './expr.js';
import type { Assembler } from './assembler.js';
import { finalResolver, sectionBytes } from './layout.js';
import { pendingFixups, store, type Pending } from './fixups.js';
import type { Section, Sym } from './sections.js';

export interface FlatSection { name: string; addr: bigint; size: number; bytes: Uint8Array; nobits: boolean }

export interface FlatImage {
  /** From the origin to the end of the last section with contents. */
  bytes: Uint8Array;
  sections: FlatSection[];
  /** Labels and assigned symbols (not local numeric or .L temporaries), as addresses or values. */
  symbols: Map<string, bigint>;
}

const alignUp = (v: bigint, a: number): bigint => (v + BigInt(a) - 1n) / BigInt(a) * BigInt(a);

export function toFlat(a: Assembler, origin: bigint, defines = new Map<string, bigint>()): FlatImage {
  const used = a.sections.filter((s) => s.flags.alloc || s.size > 0);
  const ordered = [...used.filter((s) => !s.flags.nobits), ...used.filter((s) => s.flags.nobits)];
  const base = new Map<Section, bigint>();
  let at = origin;
  for (const s of ordered) {
    at = alignUp(at, s.align);
    base.set(s, at);
    at += BigInt(s.size);
  }
  const r = finalResolver(a.syms);
  const addressOf = (sym: Sym, f: { loc: { file: string; line: number } }): bigint => {
    const defined = defines.get(sym.name);
    if (sym.kind !== 'label' && defined !== undefined) return defined;
    if (sym.kind !== 'label') fail(f.loc, `undefined symbol '${sym.name}'`);
    const b = base.get(sym.section!);
    if (b === undefined) fail(f.loc, `symbol '${sym.name}' is in section ${sym.section!.name}, which is not in the image`);
    return b + BigInt(sym.offset());
  };
  const absolute = (v: Value, f: { loc: { file: string; line: number } }): bigint =>
    v.c + (v.add ? addressOf(v.add as Sym, f) : 0n) - (v.sub ? addressOf(v.sub as Sym, f) : 0n);

  const sections: FlatSection[] = [];
  for (const s of ordered) {
    const bytes = sectionBytes(s);
    for (const f of pendingFixups(s)) {
      let v = absolute(evaluate(f.field.expr, r, f.loc), f);
      if (f.pcrel) v -= base.get(s)! + BigInt(f.offset + f.toEnd);
      store(bytes, f as Pending, BigInt.asIntN(64, v));
    }
    sections.push({ name: s.name, addr: base.get(s)!, size: s.size, bytes: s.flags.nobits ? new Uint8Array(0) : bytes, nobits: s.flags.nobits });
  }
  const withContents = sections.filter((s) => !s.nobits);
  const end = withContents.length === 0 ? origin : withContents.at(-1)!.addr + BigInt(withContents.at(-1)!.size);
  const image = new Uint8Array(Number(end - origin));
  for (const s of withContents) image.set(s.bytes, Number(s.addr - origin));
  const symbols = new Map<string, bigint>(defines);
  for (const [name, s] of a.syms) {
    if (name.includes('\u0002')) continue;
    if (s.kind === 'label' && base.has(s.section!)) symbols.set(name, base.get(s.section!)! + BigInt(s.offset()));
    else if (s.kind === 'equ' && s.value !== undefined) {
      try { symbols.set(name, absolute(evaluate({ k: 'sym', name }, r, s.loc ?? { file: a.file, line: 0 }), { loc: s.loc ?? { file: a.file, line: 0 } })); } catch { /* an equ of an undefined symbol has no value */ }
    }
  }
  return { bytes: image, sections, symbols };
}

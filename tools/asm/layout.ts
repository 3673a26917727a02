/**
 * Layout: offsets for every item, relaxing branches as GNU as does. Every
 * jmp/jcc starts short (2 bytes) when its target is a label in the same
 * section; layout is repeated, and a branch whose displacement no longer
 * fits in a byte becomes the long form for good, until nothing changes.
 * Sizes only grow, so this stops. A target elsewhere (another section,
 * undefined, or an absolute address) is long from the start.
 *
 * Alignment pads with GNU as's NOP sequences in code (tc-i386.c: in 32- and
 * 64-bit code NOPs of up to 11 bytes, the longest first; in 16-bit code NOPs
 * of up to 4 bytes, behind a short jmp over them from 12 bytes on).
 */
import { fail } from './errors.js';
import { evaluate, type Resolver, type SymRef, type Value } from './expr.js';
import { inSigned } from './match.js';
import { Sym, type Item, type Section } from './sections.js';

/** Values after layout: labels are known places, a name never defined is an undefined (external) symbol. */
export function finalResolver(syms: Map<string, Sym>): Resolver {
  return {
    lookup(name: string): Value | undefined {
      let s = syms.get(name);
      if (s === undefined) { s = new Sym(name); syms.set(name, s); }
      if (s.kind === 'equ') return s.value;
      return { c: 0n, add: s };
    },
    diff(a: SymRef, b: SymRef): bigint | undefined {
      const x = a as Sym, y = b as Sym;
      if (x.kind !== 'label' || y.kind !== 'label' || x.section !== y.section) return undefined;
      return BigInt(x.offset() - y.offset());
    },
  };
}

/** 32/64-bit NOPs of 1..11 bytes (tc-i386.c alt_patt): 90, 66 90, 0f 1f 00, … */
const NOPS_32: number[][] = [
  [0x90], [0x66, 0x90], [0x0f, 0x1f, 0x00], [0x0f, 0x1f, 0x40, 0x00], [0x0f, 0x1f, 0x44, 0x00, 0x00],
  [0x66, 0x0f, 0x1f, 0x44, 0x00, 0x00], [0x0f, 0x1f, 0x80, 0x00, 0x00, 0x00, 0x00],
  [0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00], [0x66, 0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00],
  [0x66, 0x2e, 0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00], [0x66, 0x66, 0x2e, 0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00],
];
/** 16-bit NOPs of 1..4 bytes (tc-i386.c f16_patt): nop, xchg eax,eax, lea si,[si+0], lea si,[si+0x0000]. */
const NOPS_16: number[][] = [[0x90], [0x66, 0x90], [0x8d, 0x74, 0x00], [0x8d, 0xb4, 0x00, 0x00]];

export function nopFill(n: number, mode: number): number[] {
  const out: number[] = [];
  const pats = mode === 16 ? NOPS_16 : NOPS_32;
  if (mode === 16 && n >= 12 && n <= 129) { out.push(0xeb, n - 2); n -= 2; }
  const max = pats.length;
  while (n > 0) {
    const k = Math.min(n, max);
    out.push(...pats[k - 1]);
    n -= k;
  }
  return out;
}

function itemSize(it: Item): number {
  switch (it.k) {
    case 'bytes': return it.bytes.length;
    case 'branch': return (it.isLong ? it.long : it.short).bytes.length;
    case 'align': case 'org': return it.size;
  }
}

/** Can a branch in `section` to `target` be short? Only if the target is a label there (GNU as relaxes nothing else). */
function branchDistance(it: Item & { k: 'branch' }, section: Section, r: Resolver): number | undefined {
  let v: Value;
  try { v = evaluate(it.target, r, it.loc); } catch { return undefined; }
  const end = it.offset + it.short.bytes.length;
  if (v.sub !== undefined || v.add === undefined) return undefined;
  const s = v.add as Sym;
  if (s.kind !== 'label' || s.section !== section) return undefined;
  return s.offset() + Number(v.c) - end;
}

/** Lays out every section, relaxing branches. */
export function layout(sections: Section[], syms: Map<string, Sym>): void {
  const r = finalResolver(syms);
  for (let round = 0; ; round++) {
    for (const s of sections) place(s, r);
    let changed = false;
    for (const s of sections) {
      for (const it of s.items) {
        if (it.k !== 'branch' || it.isLong) continue;
        const d = branchDistance(it, s, r);
        if (d === undefined || !inSigned(BigInt(d), 8)) { it.isLong = true; changed = true; }
      }
    }
    if (!changed) return;
    if (round > 10000) throw new Error('asm: branch relaxation does not settle');
  }
}

function place(s: Section, r: Resolver): void {
  let at = 0;
  for (const it of s.items) {
    it.offset = at;
    if (it.k === 'align') {
      const pad = (it.align - (at % it.align)) % it.align;
      it.size = pad > it.max ? 0 : pad;
    } else if (it.k === 'org') {
      s.size = at;
      let v: Value;
      try { v = evaluate(it.target, r, it.loc); } catch { fail(it.loc, '.org needs a known position'); }
      let target: number;
      if (v.add === undefined && v.sub === undefined) target = Number(v.c);
      else if (v.sub === undefined && (v.add as Sym).kind === 'label' && (v.add as Sym).section === s) target = (v.add as Sym).offset() + Number(v.c);
      else fail(it.loc, '.org needs a position in the same section');
      if (target < at) fail(it.loc, `.org moves backwards (to ${target} from ${at})`);
      it.size = target - at;
    }
    at += itemSize(it);
  }
  s.size = at;
}

/** The bytes of a laid-out section, fixups not yet applied. */
export function sectionBytes(s: Section): Uint8Array {
  const out = new Uint8Array(s.size);
  for (const it of s.items) {
    switch (it.k) {
      case 'bytes': out.set(it.bytes, it.offset); break;
      case 'branch': out.set((it.isLong ? it.long : it.short).bytes, it.offset); break;
      case 'align':
        if (it.fill === 'nop') out.set(nopFill(it.size, it.mode), it.offset);
        else for (let k = 0; k < it.size; k++) out[it.offset + k] = Number((BigInt(it.fill) >> BigInt(8 * (k % it.fillSize))) & 0xffn);
        break;
      case 'org': out.fill(it.fill & 0xff, it.offset, it.offset + it.size); break;
    }
  }
  return out;
}

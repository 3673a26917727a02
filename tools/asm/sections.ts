/**
 * Sections, their contents and symbols. A section is a list of items: fixed
 * bytes (with fixups for values known only after layout) and the items whose
 * size layout decides — relaxable branches, alignment, .org.
 *
 * GNU as decides an instruction's encoding while parsing, and a value counts
 * as known then only if it is a constant or a distance between two labels in
 * the same "frag": a run of fixed-size items. Every variable-size item starts
 * a new frag, so `end - start` across a relaxable jump or an .align is not
 * known while parsing (it gets a full-width field), exactly as in GNU as.
 */
import type { Loc } from './errors.js';
import type { Expr, SymRef, Value } from './expr.js';
import type { Encoded, Fixup } from './encode.js';
import type { Mode } from './match.js';

export interface SectionFlags { alloc: boolean; write: boolean; exec: boolean; nobits: boolean }

export interface BytesItem { k: 'bytes'; loc: Loc; bytes: number[]; fixups: Fixup[]; offset: number }

export type Item =
  | BytesItem
  /**
   * jmp/jcc: the short form until layout finds the target out of reach. The
   * forms are shared by the branches written the same way (assembler.ts,
   * Repeatable): their fixups' loc is the first one's, the item's its own.
   */
  | { k: 'branch'; loc: Loc; short: Encoded; long: Encoded; isLong: boolean; target: Expr; offset: number }
  /** Padding to a multiple of `align`; fill 'nop' pads code with GNU as's NOPs for `mode`. */
  | { k: 'align'; loc: Loc; align: number; fill: number | 'nop'; fillSize: number; max: number; mode: Mode; size: number; offset: number }
  | { k: 'org'; loc: Loc; target: Expr; fill: number; size: number; offset: number };

export class Section {
  readonly items: Item[] = [];
  align = 1;
  /** Parse-time frag bookkeeping (see the file comment). */
  frag = 0;
  /** After layout. */
  size = 0;
  constructor(readonly name: string, readonly flags: SectionFlags, readonly index: number) {}

  /** Bytes since the start of the frag: a frag holds at most one bytes item, the last item. */
  get fragOffset(): number {
    const last = this.items.at(-1);
    return last !== undefined && last.k === 'bytes' ? last.bytes.length : 0;
  }

  /** The item fixed bytes go to: the last one if it holds bytes, else a new one. Fixups' offsets count from its start. */
  tail(loc: Loc): BytesItem {
    const last = this.items.at(-1);
    if (last !== undefined && last.k === 'bytes') return last;
    const item: BytesItem = { k: 'bytes', loc, bytes: [], fixups: [], offset: 0 };
    this.items.push(item);
    return item;
  }

  /** Adds fixed bytes. */
  emit(loc: Loc, bytes: ArrayLike<number>): void {
    const item = this.tail(loc);
    for (let k = 0; k < bytes.length; k++) item.bytes.push(bytes[k]);
  }

  /** Adds a variable-size item, which ends the current frag. */
  addVariable(item: Item): void {
    this.items.push(item);
    this.frag++;
  }
}

export type SymKind = 'undef' | 'label' | 'equ';

export class Sym implements SymRef {
  kind: SymKind = 'undef';
  global = false;
  weak = false;
  /** ELF st_type from .type: 'function' or 'object'. */
  type?: 'function' | 'object';
  size?: Expr;
  // A label: its section and the item it precedes; its frag while parsing.
  section?: Section;
  item = 0;
  /** Bytes into the item (labels between instructions merged into one bytes item). */
  within = 0;
  frag = 0;
  fragOffset = 0;
  // An equ: its value (constant, or relocatable such as `label + 4`).
  value?: Value;
  constructor(readonly name: string, readonly loc?: Loc) {}

  /** The label's offset in its section, after layout. */
  offset(): number {
    const s = this.section!;
    const it = s.items[this.item];
    return it === undefined ? s.size : it.offset + this.within;
  }
}

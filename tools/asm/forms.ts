/**
 * Mnemonic → the table rows it may encode as. Every spelling comes from a
 * row's `mn`, read the way the disassembler prints it, plus the spellings GNU
 * as accepts besides (syntax, not instruction knowledge):
 *   - 'a|b|c' names operand sizes 16|32|64; when the names are a stem with
 *     size suffixes (push/pushw, iret/iretq, sgdt/sgdtw/sgdtd), the stem
 *     takes any size, stem+w/d/q one size (pushd, iretd, pushfq, retfq);
 *     on a branch row the names say the address size (jcxz/jecxz/jrcxz);
 *   - string rows (X/Y operands) without operands: movsb, stosq, insd, …;
 *   - condition-code synonyms of jcc/setcc/cmovcc (jz = je, jnae = jb, …);
 *   - x87 no-wait control forms without the n (fstcw = fwait; fnstcw);
 *   - `movabs`: a mov with a 64-bit immediate or 64-bit absolute address;
 *   - the 90 row is `nop` without operands and `xchg` with them, as objdump
 *     shows it (nop, but xchg once 66 or REX.B make it one).
 */
import type { OpRow } from '../../emu/cpu/table.js';
import { opTable } from '../../emu/cpu/opcodes.js';
import { Field, rowSpecs } from './spec.js';

export interface Form {
  row: OpRow;
  /** Operand sizes (2, 4, 8) the spelling allows; undefined: any. */
  osz?: number[];
  /** The address size the spelling names (jcxz/jecxz/jrcxz count in cx/ecx/rcx). */
  asz?: number;
  /** A string instruction spelled without operands (movsb): operands are implied. */
  implicit?: boolean;
  /** FWAIT (9b) goes first: the waiting spelling of an fn… row. */
  wait?: boolean;
  /** Only a 64-bit immediate or a 64-bit absolute address (movabs). */
  movabs?: boolean;
  /** The 90+r row spelled xchg. */
  xchg?: boolean;
}

/** GNU as's condition-code synonyms, mapped to the names the table uses. */
const CC_SYNONYMS: Record<string, string> = {
  z: 'e', nz: 'ne', c: 'b', nae: 'b', nc: 'ae', nb: 'ae', na: 'be', nbe: 'a',
  pe: 'p', po: 'np', nge: 'l', nl: 'ge', ng: 'le', nle: 'g',
};
const CC_FAMILIES = ['j', 'set', 'cmov'];

const SIZES = [2, 4, 8];
const SUFFIX: Record<number, string> = { 1: 'b', 2: 'w', 4: 'd', 8: 'q' };

function buildIndex(rows: OpRow[]): Map<string, Form[]> {
  const index = new Map<string, Form[]>();
  const add = (name: string, form: Form): void => {
    let list = index.get(name);
    if (list === undefined) index.set(name, (list = []));
    list.push(form);
  };
  for (const row of rows) {
    const names = row.mn.split('|');
    if (names.length === 3) {
      const bySpelling = new Map<string, number[]>();
      names.forEach((n, k) => bySpelling.set(n, [...(bySpelling.get(n) ?? []), SIZES[k]]));
      const stem = names.find((n) => names.every((m) => m === n || (m.startsWith(n) && /^[wdq]$/.test(m.slice(n.length)))));
      if (stem !== undefined) {
        bySpelling.set(stem, SIZES);
        for (const [k, suffix] of ['w', 'd', 'q'].entries()) {
          if (!bySpelling.has(stem + suffix)) bySpelling.set(stem + suffix, [SIZES[k]]);
        }
      }
      // A branch's operand size never changes its name: 'a|b|c' on a branch names the address size.
      if (rowSpecs(row).some((s) => s.field === Field.Rel)) names.forEach((n, k) => add(n, { row, asz: SIZES[k] }));
      else for (const [n, osz] of bySpelling) add(n, { row, osz: osz.length === 3 ? undefined : osz });
    } else if (row.mn === 'nop' && rowSpecs(row)[0]?.field === Field.Opcode) {
      add('nop', { row, implicit: true });
      add('xchg', { row, xchg: true });
    } else {
      add(row.mn, { row });
    }
    const specs = rowSpecs(row);
    if (specs.some((s) => s.field === Field.StrSrc || s.field === Field.StrDst)) {
      const letter = specs.find((s) => s.field === Field.StrSrc || s.field === Field.StrDst)!.memSize!;
      const sizes = letter === 'b' ? [1] : letter === 'z' ? [2, 4] : [2, 4, 8];
      for (const size of sizes) add(row.mn + SUFFIX[size], { row, implicit: true, osz: size === 1 ? undefined : [size] });
    }
    const cc = CC_FAMILIES.find((f) => row.mn.startsWith(f));
    if (cc !== undefined) {
      for (const [syn, canon] of Object.entries(CC_SYNONYMS)) if (row.mn === cc + canon) add(cc + syn, { row });
    }
    if (row.unit === 'x87' && row.mn.startsWith('fn') && row.mn !== 'fnop') add('f' + row.mn.slice(2), { row, wait: true });
    if (row.mn === 'mov' && specs.some((s) => s.field === Field.Moffs || s.immSize === 'v')) add('movabs', { row, movabs: true });
  }
  return index;
}

let index: Map<string, Form[]> | undefined;

/** The forms `mnemonic` (lower case) may take; empty if the table has none. */
export function formsOf(mnemonic: string): Form[] {
  index ??= buildIndex(opTable.rows);
  return index.get(mnemonic) ?? [];
}

/**
 * The opcode table's flag metadata (`uf`: flags an instruction leaves
 * undefined) against the independently written golden generator's masks
 * (test/golden/insn/forms.mjs, from the SDM): a form with one mask must
 * agree exactly; a form whose mask varies by operand (shift counts) must
 * never have the table call a flag defined that a case leaves undefined.
 */
import { expect, it } from 'vitest';
import { Sandbox } from '../emu/cpu/sandbox.js';
// @ts-expect-error: plain ESM helper shared with the generator
import { FAMILIES, loadFamily } from './golden/insn/load.mjs';

const FLAG: Record<string, number> = { C: 0x1, P: 0x4, A: 0x10, Z: 0x40, S: 0x80, O: 0x800 };
const ARITH = 0x8d5;
interface Form { form: string; flagsMask: string; cases: { bytes: string; flagsMask?: string }[] }

it('the table and the golden generator agree on which flags each form leaves undefined', () => {
  const s = new Sandbox();
  const disagree: string[] = [];
  let checked = 0;
  for (const family of FAMILIES as string[]) {
    for (const form of (loadFamily(family) as { forms: Form[] }).forms) {
      s.load(0x1000, Buffer.from(form.cases[0].bytes, 'hex'));
      let row;
      try { row = s.interp.decodeOnly(0x1000).row; } catch { continue; } // ISAs we do not implement
      // Without BMI1, F3 0F BC executes as BSF (see ops/bits.ts), so its flags are BSF's.
      if (row.mn === 'tzcnt') continue;
      const defined = ARITH & ~[...(row.uf ?? '')].reduce((m, f) => m | FLAG[f], 0);
      const masks = form.cases.map((c) => Number(c.flagsMask ?? form.flagsMask) & ARITH);
      const varies = form.cases.some((c) => c.flagsMask !== undefined);
      const ok = varies ? masks.every((m) => (defined & ~m) === 0) : defined === masks[0];
      if (!ok) disagree.push(`${form.form} (${row.mn}): table defines ${defined.toString(16)}, generator ${masks[0].toString(16)}`);
      checked++;
    }
  }
  expect(checked).toBeGreaterThan(600);
  expect(disagree).toEqual([]);
});

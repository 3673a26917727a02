/** The full opcode table: the union of the instruction families under ops/. */
import { OpTable } from './table.js';
import { rows as alu } from './ops/alu.js';
import { rows as mov } from './ops/mov.js';
import { rows as stack } from './ops/stack.js';
import { rows as branch } from './ops/branch.js';
import { rows as string } from './ops/string.js';
import { rows as flagops } from './ops/flagops.js';
import { rows as system } from './ops/system.js';

export function buildOpTable(): OpTable {
  const t = new OpTable();
  for (const family of [alu, mov, stack, branch, string, flagops, system]) t.add(family);
  return t;
}

export const opTable = buildOpTable();

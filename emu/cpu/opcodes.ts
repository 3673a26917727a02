/** The full opcode table: the union of the instruction families under ops/. */
import { OpTable } from './table.js';
import { rows as alu } from './ops/alu.js';
import { rows as mov } from './ops/mov.js';
import { rows as stack } from './ops/stack.js';
import { rows as branch } from './ops/branch.js';
import { rows as string } from './ops/string.js';
import { rows as flagops } from './ops/flagops.js';
import { rows as system } from './ops/system.js';
import { rows as interrupt } from './ops/interrupt.js';
import { rows as privileged } from './ops/privileged.js';
import { rows as segment } from './ops/segment.js';
import { rows as io } from './ops/io.js';
import { rows as sseMove } from './ops/sse-move.js';
import { rows as sseFloat } from './ops/sse-float.js';
import { rows as sseConvert } from './ops/sse-convert.js';
import { rows as sseShuffle } from './ops/sse-shuffle.js';
import { rows as sseInt } from './ops/sse-int.js';
import { rows as sseState } from './ops/sse-state.js';
import { rows as sse3 } from './ops/sse3.js';
import { rows as ssse3 } from './ops/ssse3.js';
import { rows as sse41 } from './ops/sse41.js';
import { rows as sse41Fp } from './ops/sse41-fp.js';
import { rows as sse42 } from './ops/sse42.js';
import { rows as shift } from './ops/shift.js';
import { rows as muldiv } from './ops/muldiv.js';
import { rows as bits } from './ops/bits.js';
import { rows as atomic } from './ops/atomic.js';
import { rows as x87LoadStore } from './ops/x87-load-store.js';
import { rows as x87Arith } from './ops/x87-arith.js';
import { rows as x87Control } from './ops/x87-control.js';
import { rows as x87Transcendental } from './ops/x87-transcendental.js';

export function buildOpTable(): OpTable {
  const t = new OpTable();
  for (const family of [alu, mov, stack, branch, string, flagops, system, shift, muldiv, bits, atomic]) t.add(family);
  for (const family of [interrupt, privileged, segment, io]) t.add(family);
  for (const family of [x87LoadStore, x87Arith, x87Control, x87Transcendental]) t.add(family, 'x87');
  for (const family of [sseMove, sseFloat, sseConvert, sseShuffle, sseInt, sseState, sse3, ssse3, sse41, sse41Fp, sse42]) t.add(family, 'sse');
  return t;
}

export const opTable = buildOpTable();

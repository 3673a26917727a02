/**
 * The operator families compiled through the OpContext interface, tried in
 * order for every operator the function compiler does not handle itself.
 * Each returns false for an operator that is not its own.
 */
import type { Instr } from '../wasm/index.js';
import { atomics } from './atomics.js';
import type { OpContext } from './context.js';
import { float } from './float.js';
import { intrinsics } from './intrinsics.js';
import { tables } from './tables.js';

export type Family = (ins: Instr, c: OpContext) => boolean;

export const FAMILIES: readonly Family[] = [float, tables, intrinsics, atomics];

/**
 * The compiler's front end: `parseModule` decodes a .wasm and validates it,
 * returning the module with every instruction decoded and annotated (see
 * module.ts and instr.ts), or throwing one WasmError.
 */
import { decodeModule } from './decode.js';
import type { Module } from './module.js';
import { validateModule } from './validate.js';

export function parseModule(bytes: Uint8Array): Module {
  const m = decodeModule(bytes);
  validateModule(m);
  return m;
}

export { decodeModule, MAX_LOCALS } from './decode.js';
export { WasmError, type WasmErrorKind } from './error.js';
export { type Feature, featuresUsed, ISSUE_FEATURES } from './features.js';
export * from './instr.js';
export type * from './module.js';
export { Op } from './opcodes.js';
export { Imm, OPS, opInfo, type OpInfo } from './opinfo.js';
export * from './types.js';
export { validateModule } from './validate.js';

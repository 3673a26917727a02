/**
 * Binary encodings of types (spec §5.3): value and reference types, limits,
 * table, memory and global types.
 */
import { WasmError } from './error.js';
import type { Reader } from './reader.js';
import { type GlobalType, type Limits, type MemoryType, type RefType, type TableType, ValType } from './types.js';

export function unsupportedSimd(offset: number, func: number | null): WasmError {
  return new WasmError('unsupported', 'SIMD is not supported (v128 and the 0xfd prefix are outside our feature set)', offset, func);
}

export function readValType(r: Reader): ValType {
  const at = r.pos;
  const b = r.u8();
  switch (b) {
    case ValType.I32: case ValType.I64: case ValType.F32: case ValType.F64:
    case ValType.FuncRef: case ValType.ExternRef:
      return b;
    case 0x7b:
      throw unsupportedSimd(at, r.func);
  }
  throw r.fail(at, 'malformed value type');
}

export function readRefType(r: Reader): RefType {
  const at = r.pos;
  const b = r.u8();
  if (b === ValType.FuncRef || b === ValType.ExternRef) return b;
  throw r.fail(at, 'malformed reference type');
}

/**
 * The flags are a LEB128 number: 0 (min) or 1 (min, max); memories may also
 * be shared (threads proposal), 3 (shared, min, max). Flags 2, shared without
 * a maximum, is refused here as Wasm 2.0 refuses it, though the threads
 * proposal would decode it and fail validation: rejected either way.
 */
function readLimits(r: Reader, allowShared: boolean): Limits {
  const at = r.pos;
  const flags = r.uleb(allowShared ? 2 : 1);
  if (flags === 2) throw r.fail(at, 'integer too large: limits flags 2 (a shared memory needs a maximum)');
  const min = r.u32();
  const max = (flags & 1) !== 0 ? r.u32() : null;
  return { min, max, shared: (flags & 2) !== 0 };
}

export function readTableType(r: Reader): TableType {
  const elem = readRefType(r);
  return { elem, limits: readLimits(r, false) };
}

export function readMemoryType(r: Reader): MemoryType {
  return { limits: readLimits(r, true) };
}

export function readGlobalType(r: Reader): GlobalType {
  const type = readValType(r);
  const at = r.pos;
  const m = r.u8();
  if (m > 1) throw r.fail(at, 'malformed mutability');
  return { type, mutable: m === 1 };
}

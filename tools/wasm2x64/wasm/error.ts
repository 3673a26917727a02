/**
 * The one error type of the front end. `reason` begins with the phrase the
 * spec's reference interpreter uses for the same failure ("type mismatch",
 * "unknown global", "integer too large"...), so a test can check that a module
 * was refused for the right reason, the way the spec harness does: by prefix.
 * The message adds where: `func 3 @0x1a2: type mismatch: ...`.
 */

/**
 * - `malformed`: the bytes are not a module (spec ch. 5, binary format).
 * - `invalid`: decodes, but fails validation (spec ch. 3).
 * - `unsupported`: valid WebAssembly outside our feature set (SIMD).
 * - `limit`: beyond an implementation limit (the same ones V8 has).
 */
export type WasmErrorKind = 'malformed' | 'invalid' | 'unsupported' | 'limit';

export class WasmError extends Error {
  override readonly name = 'WasmError';

  constructor(
    readonly kind: WasmErrorKind,
    readonly reason: string,
    /** Byte offset in the module where the problem was found. */
    readonly offset: number,
    /** Function index (in the function index space), when inside a function body. */
    readonly func: number | null = null,
  ) {
    super(`${func === null ? '' : `func ${func} `}@0x${offset.toString(16)}: ${reason}`);
  }
}

export function malformed(offset: number, reason: string, func: number | null = null): WasmError {
  return new WasmError('malformed', reason, offset, func);
}

export function invalid(offset: number, reason: string, func: number | null = null): WasmError {
  return new WasmError('invalid', reason, offset, func);
}

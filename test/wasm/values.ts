/**
 * Values crossing between a spec script and an executor. Numbers travel as
 * raw bit patterns (unsigned BigInt) so that -0, NaN payloads and signalling
 * NaNs arrive exactly as written — a JS number would quiet a signalling NaN.
 * wast2json writes every number as the unsigned decimal of its bit pattern.
 */

export type NumTypeName = 'i32' | 'i64' | 'f32' | 'f64';
export type RefTypeName = 'funcref' | 'externref';
export type TypeName = NumTypeName | RefTypeName;

/**
 * A run-time value. `ref` of an externref is the script's host reference
 * number (`(ref.extern 1)` is 1); of a funcref, 'func' stands for any
 * non-null function, since scripts never name one.
 */
export type Value =
  | { readonly type: NumTypeName; readonly bits: bigint }
  | { readonly type: RefTypeName; readonly ref: number | 'func' | null };

/** An expected result: a value, or any NaN of a class (spec §4.3.3). */
export type Expected = Value | { readonly type: 'f32' | 'f64'; readonly nan: 'canonical' | 'arithmetic' };

const TYPES = new Set(['i32', 'i64', 'f32', 'f64', 'funcref', 'externref']);

export function typeName(s: string): TypeName {
  if (!TYPES.has(s)) throw new Error(`value type ${s} is outside the harness (SIMD files were dropped)`);
  return s as TypeName;
}

export function width(t: NumTypeName): 32 | 64 {
  return t === 'i32' || t === 'f32' ? 32 : 64;
}

/** `{"type": "i32", "value": "4294967295"}` as wast2json writes it. */
export function parseExpected(json: { type: string; value?: string }): Expected {
  const type = typeName(json.type);
  const v = json.value!;
  if (type === 'funcref' || type === 'externref') return { type, ref: v === 'null' ? null : Number(v) };
  if (v === 'nan:canonical' || v === 'nan:arithmetic') {
    if (type !== 'f32' && type !== 'f64') throw new Error(`${v} for ${type}`);
    return { type, nan: v === 'nan:canonical' ? 'canonical' : 'arithmetic' };
  }
  return { type, bits: BigInt.asUintN(width(type), BigInt(v)) };
}

export function parseValue(json: { type: string; value?: string }): Value {
  const e = parseExpected(json);
  if ('nan' in e) throw new Error(`a NaN pattern is not a value: ${JSON.stringify(json)}`);
  return e;
}

/**
 * Canonical NaN: only the quiet bit of the payload set; arithmetic NaN: the
 * quiet bit set, the rest free. Either sign.
 */
export function matches(want: Expected, got: Value): boolean {
  if (want.type !== got.type) return false;
  if ('ref' in want) return 'ref' in got && want.ref === got.ref;
  if (!('bits' in got)) return false;
  if ('bits' in want) return want.bits === got.bits;
  const w = width(want.type);
  const quiet = w === 32 ? 0x7fc00000n : 0x7ff8000000000000n;
  const magnitude = got.bits & ((1n << BigInt(w - 1)) - 1n);
  return want.nan === 'canonical' ? magnitude === quiet : (magnitude & quiet) === quiet;
}

export function showValue(v: Expected): string {
  if ('ref' in v) return `${v.type}:${v.ref}`;
  if ('nan' in v) return `${v.type}:nan:${v.nan}`;
  return `${v.type}:0x${v.bits.toString(16)}`;
}

/**
 * The type vocabulary of a WebAssembly module (core spec §2.3 "Types", binary
 * encodings from §5.3). Value types carry their binary encoding as the enum
 * value, so the decoder stores the byte it read and a code generator can
 * switch on the same numbers it would see in a hex dump.
 */

/** Value types; `v128` (0x7b) is not here because SIMD is out of scope. */
export enum ValType {
  I32 = 0x7f,
  I64 = 0x7e,
  F32 = 0x7d,
  F64 = 0x7c,
  FuncRef = 0x70,
  ExternRef = 0x6f,
}

/** Reference types: the element types of tables. */
export type RefType = ValType.FuncRef | ValType.ExternRef;

export function isNumType(t: ValType): boolean {
  return t === ValType.I32 || t === ValType.I64 || t === ValType.F32 || t === ValType.F64;
}

export function isRefType(t: ValType): t is RefType {
  return t === ValType.FuncRef || t === ValType.ExternRef;
}

/** The text-format name, as error messages and disassembly print it. */
export function valTypeName(t: ValType): string {
  switch (t) {
    case ValType.I32: return 'i32';
    case ValType.I64: return 'i64';
    case ValType.F32: return 'f32';
    case ValType.F64: return 'f64';
    case ValType.FuncRef: return 'funcref';
    case ValType.ExternRef: return 'externref';
  }
  return `<type 0x${(t as number).toString(16)}>`;
}

/** A function type; also the signature of a block (multi-value: any arity both ways). */
export interface FuncType {
  readonly params: readonly ValType[];
  readonly results: readonly ValType[];
}

export function funcTypeName(t: FuncType): string {
  return `[${t.params.map(valTypeName).join(' ')}] -> [${t.results.map(valTypeName).join(' ')}]`;
}

export function sameFuncType(a: FuncType, b: FuncType): boolean {
  return a.params.length === b.params.length && a.results.length === b.results.length &&
    a.params.every((t, i) => t === b.params[i]) && a.results.every((t, i) => t === b.results[i]);
}

/**
 * Size limits: memory pages (64 KiB) or table elements. `max` is null when
 * absent. `shared` (threads proposal) is only ever true for memories, and a
 * shared memory always has a maximum.
 */
export interface Limits {
  readonly min: number;
  readonly max: number | null;
  readonly shared: boolean;
}

export interface TableType {
  readonly elem: RefType;
  readonly limits: Limits;
}

export interface MemoryType {
  readonly limits: Limits;
}

export interface GlobalType {
  readonly type: ValType;
  readonly mutable: boolean;
}

/** Import/export kinds, numbered as in the binary format's `externtype` byte. */
export enum ExternKind {
  Func = 0,
  Table = 1,
  Memory = 2,
  Global = 3,
}

export const PAGE_SIZE = 65536;
/** 4 GiB of 32-bit address space, in pages (spec §3.2.4). */
export const MAX_PAGES = 65536;

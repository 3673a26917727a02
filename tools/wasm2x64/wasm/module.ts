/**
 * A decoded module (spec §2.5). Every index space — functions, tables,
 * memories, globals — is one array in index order, imports first, exactly as
 * instructions and exports number them; an entry says whether it is imported
 * (`import`) or defined here (`code`, `init`).
 */
import type { Instr } from './instr.js';
import type { ExternKind, FuncType, GlobalType, MemoryType, RefType, TableType, ValType } from './types.js';

/**
 * A constant expression: the instructions, ending with their `end`
 * (i32/i64/f32/f64.const, ref.null, ref.func or global.get of an imported
 * immutable global, once validated).
 */
export type ConstExpr = readonly Instr[];

export interface ImportName {
  readonly module: string;
  readonly name: string;
}

export interface Import extends ImportName {
  readonly kind: ExternKind;
  /** Index of the imported item in its index space. */
  readonly index: number;
  /** Byte offset of the import entry. */
  readonly pos: number;
}

export interface Code {
  /** Declared locals, one entry per local (parameters are not included). */
  readonly locals: readonly ValType[];
  /** The instructions, ending with the body's `end`. */
  readonly body: readonly Instr[];
  /** Byte offset of the body's size field, and of the first byte after the body. */
  readonly pos: number;
  readonly end: number;
}

export interface Func {
  readonly index: number;
  readonly typeIndex: number;
  readonly type: FuncType;
  readonly import: ImportName | null;
  /** The body, for functions defined in the module. */
  readonly code: Code | null;
}

export interface Table {
  readonly index: number;
  readonly type: TableType;
  readonly import: ImportName | null;
}

export interface Memory {
  readonly index: number;
  readonly type: MemoryType;
  readonly import: ImportName | null;
}

export interface Global {
  readonly index: number;
  readonly type: GlobalType;
  readonly import: ImportName | null;
  /** Initial value, for globals defined in the module. */
  readonly init: ConstExpr | null;
}

export interface Export {
  readonly name: string;
  readonly kind: ExternKind;
  readonly index: number;
  readonly pos: number;
}

/**
 * An element segment. Active ones are copied into `table` at `offset` when the
 * module is instantiated and then dropped; passive ones wait for table.init;
 * declarative ones only declare functions for ref.func. Segments written as a
 * list of function indices get one `ref.func x; end` expression per index.
 */
export interface Elem {
  readonly mode: 'active' | 'passive' | 'declarative';
  readonly table: number;
  readonly offset: ConstExpr | null;
  readonly type: RefType;
  readonly init: readonly ConstExpr[];
  /** Written as expressions (flags 4–7, reference types) rather than function indices. */
  readonly exprs: boolean;
  readonly pos: number;
}

/** A data segment: active ones are copied into memory 0 at `offset` at instantiation. */
export interface Data {
  readonly mode: 'active' | 'passive';
  readonly memory: number;
  readonly offset: ConstExpr | null;
  readonly bytes: Uint8Array;
  readonly pos: number;
}

export interface CustomSection {
  readonly name: string;
  /** Contents after the name. */
  readonly bytes: Uint8Array;
  readonly pos: number;
}

/** The `name` custom section (spec appendix 7.4), when present and well-formed. */
export interface Names {
  readonly module: string | null;
  readonly funcs: ReadonlyMap<number, string>;
  /** Function index → local index → name. */
  readonly locals: ReadonlyMap<number, ReadonlyMap<number, string>>;
}

export interface Module {
  readonly types: readonly FuncType[];
  /** In the order of the import section. */
  readonly imports: readonly Import[];
  readonly funcs: readonly Func[];
  readonly tables: readonly Table[];
  readonly memories: readonly Memory[];
  readonly globals: readonly Global[];
  readonly exports: readonly Export[];
  readonly start: number | null;
  readonly elems: readonly Elem[];
  readonly datas: readonly Data[];
  /** The data count section's value, if the section is present. */
  readonly dataCount: number | null;
  readonly customs: readonly CustomSection[];
  readonly names: Names | null;
}

/**
 * The module decoder (spec §5.5): header, then sections in their fixed order,
 * each at most once, custom sections anywhere. Produces a Module whose index
 * spaces are filled in but not yet checked — `validateModule` does that, and
 * `parseModule` (index.ts) runs both.
 *
 * Checks that span sections (function vs code counts, the data count) come
 * after the last section, as in the reference interpreter, so a module with
 * several defects reports the one the spec tests expect.
 */
import { decodeExpr, EMPTY_SIG, type ExprNotes } from './decode-expr.js';
import { readGlobalType, readMemoryType, readRefType, readTableType, readValType } from './decode-types.js';
import { malformed, WasmError } from './error.js';
import type { Instr } from './instr.js';
import type { Code, ConstExpr, CustomSection, Data, Elem, Export, Func, Global, Import, Memory, Module, Table } from './module.js';
import { readNames } from './names.js';
import { Op } from './opcodes.js';
import { Reader } from './reader.js';
import { ExternKind, type FuncType, ValType } from './types.js';

const enum Section {
  Custom = 0, Type, Import, Function, Table, Memory, Global, Export, Start, Element, Code, Data, DataCount,
}

/** Where each section may appear: the data count section sits between element and code. */
const ORDER = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 10];

/**
 * Implementation limit on locals per function, the same as V8's: a valid
 * module may declare up to 2^32 - 1, which we do not allocate.
 */
export const MAX_LOCALS = 50_000;

interface Builder {
  types: FuncType[];
  imports: Import[];
  funcs: Func[];
  tables: Table[];
  memories: Memory[];
  globals: Global[];
  exports: Export[];
  start: number | null;
  elems: Elem[];
  datas: Data[];
  dataCount: number | null;
  customs: CustomSection[];
  /** Type indices from the function section; bodies from the code section. */
  funcTypeIndices: number[];
  codes: Code[];
  notes: ExprNotes;
}

export function decodeModule(bytes: Uint8Array): Module {
  const r = new Reader(bytes);
  readHeader(r);
  const m: Builder = {
    types: [], imports: [], funcs: [], tables: [], memories: [], globals: [], exports: [], start: null,
    elems: [], datas: [], dataCount: null, customs: [], funcTypeIndices: [], codes: [],
    notes: { firstDataIndexUse: -1 },
  };
  let lastOrder = 0;
  while (!r.atEnd) {
    const idPos = r.pos;
    const id = r.u8();
    if (id > Section.DataCount) throw malformed(idPos, 'malformed section id');
    if (id !== Section.Custom) {
      if (ORDER[id] <= lastOrder) throw malformed(idPos, 'unexpected content after last section');
      lastOrder = ORDER[id];
    }
    r.eofReason = 'unexpected end';
    const size = r.length();
    const end = r.pos + size;
    r.eofReason = 'unexpected end of section or function';
    readSection(r, id, end, m);
    if (r.pos !== end) throw malformed(r.pos, 'section size mismatch');
  }
  if (m.funcTypeIndices.length !== m.codes.length) {
    throw malformed(bytes.length, 'function and code section have inconsistent lengths');
  }
  if (m.dataCount !== null && m.dataCount !== m.datas.length) {
    throw malformed(bytes.length, 'data count and data section have inconsistent lengths');
  }
  // Without data segments there is nothing to count: validation then reports the unknown segment.
  if (m.dataCount === null && m.datas.length > 0 && m.notes.firstDataIndexUse >= 0) {
    throw malformed(m.notes.firstDataIndexUse, 'data count section required');
  }
  m.funcTypeIndices.forEach((typeIndex, i) => {
    m.funcs.push({ index: m.funcs.length, typeIndex, type: m.types[typeIndex] ?? EMPTY_SIG, import: null, code: m.codes[i] });
  });
  const names = m.customs.find((c) => c.name === 'name');
  return {
    types: m.types, imports: m.imports, funcs: m.funcs, tables: m.tables, memories: m.memories, globals: m.globals,
    exports: m.exports, start: m.start, elems: m.elems, datas: m.datas, dataCount: m.dataCount, customs: m.customs,
    names: names ? readNames(names.bytes) : null,
  };
}

function readHeader(r: Reader): void {
  if (r.u32le() !== 0x6d736100) throw malformed(0, 'magic header not detected');
  if (r.u32le() !== 1) throw malformed(4, 'unknown binary version');
}

function readSection(r: Reader, id: number, end: number, m: Builder): void {
  switch (id) {
    case Section.Custom: {
      const pos = r.pos;
      const name = r.name();
      if (r.pos > end) throw malformed(pos, 'unexpected end of section or function');
      m.customs.push({ name, bytes: r.take(end - r.pos), pos });
      return;
    }
    case Section.Type:
      return vec(r, () => m.types.push(readFuncType(r)));
    case Section.Import:
      return vec(r, () => readImport(r, m));
    case Section.Function:
      return vec(r, () => m.funcTypeIndices.push(r.u32()));
    case Section.Table:
      return vec(r, () => m.tables.push({ index: m.tables.length, type: readTableType(r), import: null }));
    case Section.Memory:
      return vec(r, () => m.memories.push({ index: m.memories.length, type: readMemoryType(r), import: null }));
    case Section.Global:
      return vec(r, () => {
        const type = readGlobalType(r);
        m.globals.push({ index: m.globals.length, type, import: null, init: decodeExpr(r, m.notes) });
      });
    case Section.Export:
      return vec(r, () => m.exports.push(readExport(r)));
    case Section.Start:
      m.start = r.u32();
      return;
    case Section.Element:
      return vec(r, () => m.elems.push(readElem(r, m)));
    case Section.Code:
      return vec(r, () => m.codes.push(readCode(r, m)));
    case Section.Data:
      return vec(r, () => m.datas.push(readData(r, m)));
    case Section.DataCount:
      m.dataCount = r.u32();
      return;
  }
}

function vec(r: Reader, item: () => void): void {
  const n = r.count();
  for (let i = 0; i < n; i++) item();
}

function readFuncType(r: Reader): FuncType {
  const at = r.pos;
  // The form byte is read as a signed LEB128 number: 0x60 is -0x20.
  if (r.sleb(7) !== -0x20) throw malformed(at, 'malformed function type');
  const params: ValType[] = [];
  const results: ValType[] = [];
  vec(r, () => params.push(readValType(r)));
  vec(r, () => results.push(readValType(r)));
  return { params, results };
}

function readImport(r: Reader, m: Builder): void {
  const pos = r.pos;
  const module = r.name();
  const name = r.name();
  const at = r.pos;
  const kind = r.u8();
  const from = { module, name };
  let index: number;
  switch (kind) {
    case ExternKind.Func: {
      const typeIndex = r.u32();
      index = m.funcs.length;
      m.funcs.push({ index, typeIndex, type: m.types[typeIndex] ?? EMPTY_SIG, import: from, code: null });
      break;
    }
    case ExternKind.Table:
      index = m.tables.length;
      m.tables.push({ index, type: readTableType(r), import: from });
      break;
    case ExternKind.Memory:
      index = m.memories.length;
      m.memories.push({ index, type: readMemoryType(r), import: from });
      break;
    case ExternKind.Global:
      index = m.globals.length;
      m.globals.push({ index, type: readGlobalType(r), import: from, init: null });
      break;
    default:
      throw malformed(at, 'malformed import kind');
  }
  m.imports.push({ module, name, kind, index, pos });
}

function readExport(r: Reader): Export {
  const pos = r.pos;
  const name = r.name();
  const at = r.pos;
  const kind = r.u8();
  if (kind > ExternKind.Global) throw malformed(at, 'malformed export kind');
  return { name, kind, index: r.u32(), pos };
}

/**
 * Element segment flags (spec §5.5.12): bit 0 passive-or-declarative, bit 1
 * explicit table index (active) or declarative (otherwise), bit 2 element
 * expressions instead of function indices.
 */
function readElem(r: Reader, m: Builder): Elem {
  const pos = r.pos;
  const flags = r.u32();
  if (flags > 7) throw malformed(pos, 'malformed elements segment kind');
  const active = (flags & 1) === 0;
  const mode = active ? 'active' : (flags & 2) !== 0 ? 'declarative' : 'passive';
  const table = active && (flags & 2) !== 0 ? r.u32() : 0;
  const offset = active ? decodeExpr(r, m.notes) : null;
  const exprs = (flags & 4) !== 0;
  let type: ValType.FuncRef | ValType.ExternRef = ValType.FuncRef;
  if (flags & 3) {
    if (exprs) {
      type = readRefType(r);
    } else {
      const at = r.pos;
      if (r.u8() !== 0x00) throw malformed(at, 'malformed element kind');
    }
  }
  const init: ConstExpr[] = [];
  vec(r, () => {
    if (exprs) {
      init.push(decodeExpr(r, m.notes));
    } else {
      const at = r.pos;
      const func = r.u32();
      init.push([{ op: Op.RefFunc, pos: at, func }, { op: Op.End, pos: at, block: -1 }] as Instr[]);
    }
  });
  return { mode, table, offset, type, init, exprs, pos };
}

function readData(r: Reader, m: Builder): Data {
  const pos = r.pos;
  const flags = r.u32();
  if (flags > 2) throw malformed(pos, 'malformed data segment kind');
  const memory = flags === 2 ? r.u32() : 0;
  const offset = flags === 1 ? null : decodeExpr(r, m.notes);
  const n = r.length();
  return { mode: flags === 1 ? 'passive' : 'active', memory, offset, bytes: r.take(n), pos };
}

function readCode(r: Reader, m: Builder): Code {
  const pos = r.pos;
  const size = r.length();
  const end = r.pos + size;
  const func = m.funcs.length + m.codes.length;
  r.func = func;
  try {
    const locals = readLocals(r, func);
    const body = decodeExpr(r, m.notes);
    if (r.pos !== end) throw malformed(r.pos, 'section size mismatch', func);
    return { locals, body, pos, end };
  } finally {
    r.func = null;
  }
}

/** Runs of (count, type); the total must fit in u32 (spec) and our limit (see MAX_LOCALS). */
function readLocals(r: Reader, func: number): ValType[] {
  const runs: [number, ValType][] = [];
  let total = 0;
  const at = r.pos;
  vec(r, () => {
    const n = r.u32();
    runs.push([n, readValType(r)]);
    total += n;
  });
  if (total > 0xffffffff) throw malformed(at, 'too many locals', func);
  if (total > MAX_LOCALS) {
    throw new WasmError('limit', `too many locals: ${total}, more than the ${MAX_LOCALS} we allow`, at, func);
  }
  const locals: ValType[] = [];
  for (const [n, t] of runs) for (let i = 0; i < n; i++) locals.push(t);
  return locals;
}

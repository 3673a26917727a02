/**
 * Module validation (spec §3.4): index ranges, limits, constant expressions,
 * segments, start, exports, then every function body. Checks run in the
 * reference interpreter's order, so a module with several defects reports
 * the one the spec tests name.
 *
 * Constant expressions — global initializers and segment offsets — see only
 * imported globals (Wasm 2.0), and may use only constant instructions.
 */
import { invalid } from './error.js';
import type { Instr } from './instr.js';
import type { ConstExpr, Module } from './module.js';
import { Op } from './opcodes.js';
import { opInfo } from './opinfo.js';
import { ExternKind, type FuncType, type Limits, MAX_PAGES, ValType, valTypeName } from './types.js';
import { type Context, validateCode } from './validate-code.js';

export function validateModule(m: Module): void {
  for (const f of m.funcs) {
    if (m.types[f.typeIndex] === undefined) {
      throw invalid(f.code?.pos ?? importPos(m, ExternKind.Func, f.index), `unknown type ${f.typeIndex}`);
    }
  }
  const funcs: FuncType[] = m.funcs.map((f) => m.types[f.typeIndex]);
  const full: Context = {
    types: m.types,
    funcs,
    tables: m.tables.map((t) => t.type),
    memories: m.memories.length,
    globals: m.globals.map((g) => g.type),
    elems: m.elems.map((e) => e.type),
    dataCount: m.dataCount ?? m.datas.length,
    refs: declaredFuncs(m),
  };
  const constCtx: Context = { ...full, globals: m.globals.filter((g) => g.import !== null).map((g) => g.type) };

  for (const t of m.tables) checkLimits(t.type.limits, 0xffffffff, 'table', importPos(m, ExternKind.Table, t.index));
  for (const mem of m.memories) checkLimits(mem.type.limits, MAX_PAGES, 'memory', importPos(m, ExternKind.Memory, mem.index));
  for (const g of m.globals) {
    if (g.init) checkConst(constCtx, g.init, g.type.type, `global ${g.index}`);
  }
  m.elems.forEach((e, i) => {
    if (e.mode === 'active') {
      const table = full.tables[e.table];
      if (table === undefined) throw invalid(e.pos, `unknown table ${e.table}`);
      checkConst(constCtx, e.offset!, ValType.I32, `elem ${i} offset`);
      if (table.elem !== e.type) {
        throw invalid(e.pos, `type mismatch: elem ${i} holds ${valTypeName(e.type)}, table ${e.table} ${valTypeName(table.elem)}`);
      }
    }
    for (const expr of e.init) checkConst(constCtx, expr, e.type, `elem ${i}`);
  });
  m.datas.forEach((d, i) => {
    if (d.mode === 'active') {
      if (d.memory >= full.memories) throw invalid(d.pos, `unknown memory ${d.memory}`);
      checkConst(constCtx, d.offset!, ValType.I32, `data ${i} offset`);
    }
  });
  for (const f of m.funcs) {
    if (f.code) validateCode(full, f.code.body, [...f.type.params, ...f.code.locals], f.type.results, f.index);
  }
  if (m.start !== null) {
    const t = funcs[m.start];
    if (t === undefined) throw invalid(0, `unknown function ${m.start} (start)`);
    if (t.params.length || t.results.length) throw invalid(0, `start function ${m.start} must take and return nothing`);
  }
  checkExports(m, full);
  if (m.memories.length > 1) throw invalid(importPos(m, ExternKind.Memory, 1), 'multiple memories');
}

/** Where an import or definition was, for error messages (0 when we kept no offset). */
function importPos(m: Module, kind: ExternKind, index: number): number {
  return m.imports.find((i) => i.kind === kind && i.index === index)?.pos ?? 0;
}

function checkLimits(l: Limits, bound: number, what: string, at: number): void {
  if (l.min > bound || (l.max !== null && l.max > bound)) {
    throw invalid(at, what === 'memory' ? `memory size must be at most ${bound} pages (4GiB)` : `${what} size must be at most ${bound}`);
  }
  if (l.max !== null && l.min > l.max) throw invalid(at, `size minimum must not be greater than maximum (${l.min} > ${l.max})`);
}

/**
 * C.refs: functions named anywhere outside function bodies — exports, element
 * segments, global initializers — which are the only ones ref.func may take.
 */
function declaredFuncs(m: Module): Set<number> {
  const refs = new Set<number>();
  const scan = (expr: ConstExpr | null): void => {
    for (const ins of expr ?? []) if (ins.op === Op.RefFunc) refs.add(ins.func);
  };
  for (const e of m.exports) if (e.kind === ExternKind.Func) refs.add(e.index);
  for (const g of m.globals) scan(g.init);
  for (const e of m.elems) {
    scan(e.offset);
    e.init.forEach(scan);
  }
  for (const d of m.datas) scan(d.offset);
  return refs;
}

function isConstant(c: Context, ins: Instr): boolean {
  switch (ins.op) {
    case Op.I32Const: case Op.I64Const: case Op.F32Const: case Op.F64Const:
    case Op.RefNull: case Op.RefFunc: case Op.End:
      return true;
    case Op.GlobalGet: {
      const g = c.globals[ins.global];
      if (g === undefined) throw invalid(ins.pos, `unknown global ${ins.global}`);
      return !g.mutable;
    }
  }
  return false;
}

function checkConst(c: Context, expr: ConstExpr, type: ValType, what: string): void {
  for (const ins of expr) {
    if (!isConstant(c, ins)) throw invalid(ins.pos, `constant expression required: ${opInfo(ins.op).name} in ${what}`);
  }
  validateCode(c, expr, [], [type], null);
}

function checkExports(m: Module, c: Context): void {
  const seen = new Set<string>();
  const sizes = [c.funcs.length, c.tables.length, c.memories, c.globals.length];
  const kinds = ['function', 'table', 'memory', 'global'];
  for (const e of m.exports) {
    if (e.index >= sizes[e.kind]) throw invalid(e.pos, `unknown ${kinds[e.kind]} ${e.index}`);
    if (seen.has(e.name)) throw invalid(e.pos, `duplicate export name ${JSON.stringify(e.name)}`);
    seen.add(e.name);
  }
}

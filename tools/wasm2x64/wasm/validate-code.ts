/**
 * Type checking of an instruction sequence (spec §3.3, with the algorithm of
 * the spec's appendix 7.3): an operand stack of value types and a stack of
 * control frames. After `unreachable`, `br`, `br_table` or `return` the rest
 * of the block is stack-polymorphic: popping below the frame's height yields
 * UNKNOWN, which matches any type.
 *
 * Besides accepting or rejecting, the checker writes back what a compiler
 * needs from it (see instr.ts): block signatures given by type index, branch
 * targets, and the operand type of drop and untyped select.
 */
import { invalid, type WasmError } from './error.js';
import type { BlockInstr, BrInstr, BrTableInstr, DropSelectInstr, Instr } from './instr.js';
import { FUNC_FRAME, UNKNOWN_TYPE } from './instr.js';
import { Op } from './opcodes.js';
import { Imm, opInfo } from './opinfo.js';
import {
  type FuncType, type GlobalType, isNumType, isRefType, type RefType, type TableType, ValType, valTypeName,
} from './types.js';

/** What instructions may refer to (spec §3.1.1 "Contexts"). */
export interface Context {
  readonly types: readonly FuncType[];
  /** The type of every function in the index space. */
  readonly funcs: readonly FuncType[];
  readonly tables: readonly TableType[];
  readonly memories: number;
  readonly globals: readonly GlobalType[];
  /** Element type of every element segment. */
  readonly elems: readonly RefType[];
  /** Number of data segments (the data count section's, else the data section's). */
  readonly dataCount: number;
  /** Functions that ref.func may name: those mentioned outside function bodies. */
  readonly refs: ReadonlySet<number>;
}

type StackType = ValType | typeof UNKNOWN_TYPE;

interface Frame {
  readonly op: Op;
  /** Index of the opening instruction, FUNC_FRAME for the body. */
  readonly instr: number;
  readonly params: readonly ValType[];
  readonly results: readonly ValType[];
  readonly height: number;
  unreachable: boolean;
}

/**
 * Checks `code` (ending with its `end`) as the body of a function, or of a
 * constant expression, whose locals are `locals` (parameters first) and whose
 * results are `results`. Throws a WasmError naming `func` on the first error.
 */
export function validateCode(
  c: Context, code: readonly Instr[], locals: readonly ValType[], results: readonly ValType[], func: number | null,
): void {
  new CodeValidator(c, locals, func).run(code, results);
}

class CodeValidator {
  private readonly vals: StackType[] = [];
  private readonly ctrls: Frame[] = [];
  private pos = 0;
  private op = Op.Nop;

  constructor(private readonly c: Context, private readonly locals: readonly ValType[], private readonly func: number | null) {}

  run(code: readonly Instr[], results: readonly ValType[]): void {
    this.pushCtrl(Op.Block, FUNC_FRAME, [], results);
    for (let i = 0; i < code.length; i++) {
      const ins = code[i];
      this.pos = ins.pos;
      this.op = ins.op;
      this.step(ins, i);
    }
  }

  private fail(reason: string): WasmError {
    return invalid(this.pos, reason, this.func);
  }

  private mismatch(detail: string): WasmError {
    return this.fail(`type mismatch: ${opInfo(this.op).name} ${detail}`);
  }

  private push(t: StackType): void {
    this.vals.push(t);
  }

  private pushAll(ts: readonly StackType[]): void {
    for (const t of ts) this.vals.push(t);
  }

  private pop(): StackType {
    const f = this.ctrls[this.ctrls.length - 1];
    if (this.vals.length === f.height) {
      if (f.unreachable) return UNKNOWN_TYPE;
      throw this.mismatch('needs an operand but the stack is empty');
    }
    return this.vals.pop()!;
  }

  private popExpect(want: StackType): StackType {
    const got = this.pop();
    if (got !== want && got !== UNKNOWN_TYPE && want !== UNKNOWN_TYPE) {
      throw this.mismatch(`expects ${valTypeName(want as ValType)} but found ${valTypeName(got)}`);
    }
    return got;
  }

  private popAll(ts: readonly ValType[]): StackType[] {
    const got: StackType[] = new Array(ts.length);
    for (let i = ts.length - 1; i >= 0; i--) got[i] = this.popExpect(ts[i]);
    return got;
  }

  private pushCtrl(op: Op, instr: number, params: readonly ValType[], results: readonly ValType[]): void {
    this.ctrls.push({ op, instr, params, results, height: this.vals.length, unreachable: false });
    this.pushAll(params);
  }

  private popCtrl(): Frame {
    const f = this.ctrls[this.ctrls.length - 1];
    this.popAll(f.results);
    if (this.vals.length !== f.height) {
      throw this.mismatch(`leaves ${this.vals.length - f.height} extra value(s) at the end of the block`);
    }
    this.ctrls.pop();
    return f;
  }

  private setUnreachable(): void {
    const f = this.ctrls[this.ctrls.length - 1];
    this.vals.length = f.height;
    f.unreachable = true;
  }

  /** The frame `depth` labels out, and the types a branch to it carries. */
  private label(depth: number): Frame {
    if (depth >= this.ctrls.length) throw this.fail(`unknown label ${depth}`);
    return this.ctrls[this.ctrls.length - 1 - depth];
  }

  private static labelTypes(f: Frame): readonly ValType[] {
    return f.op === Op.Loop ? f.params : f.results;
  }

  private blockSig(ins: BlockInstr): FuncType {
    if (ins.typeIndex >= 0) {
      const t = this.c.types[ins.typeIndex];
      if (t === undefined) throw this.fail(`unknown type ${ins.typeIndex}`);
      ins.sig = t;
    }
    return ins.sig;
  }

  private table(index: number): TableType {
    const t = this.c.tables[index];
    if (t === undefined) throw this.fail(`unknown table ${index}`);
    return t;
  }

  private funcType(index: number): FuncType {
    const t = this.c.funcs[index];
    if (t === undefined) throw this.fail(`unknown function ${index}`);
    return t;
  }

  private global(index: number): GlobalType {
    const g = this.c.globals[index];
    if (g === undefined) throw this.fail(`unknown global ${index}`);
    return g;
  }

  private elem(index: number): RefType {
    const e = this.c.elems[index];
    if (e === undefined) throw this.fail(`unknown elem segment ${index}`);
    return e;
  }

  private memory(): void {
    if (this.c.memories === 0) throw this.fail('unknown memory 0');
  }

  private data(index: number): void {
    if (index >= this.c.dataCount) throw this.fail(`unknown data segment ${index}`);
  }

  private step(ins: Instr, i: number): void {
    switch (ins.op) {
      case Op.Unreachable:
        this.setUnreachable();
        return;
      case Op.Block:
      case Op.Loop:
      case Op.If: {
        const sig = this.blockSig(ins);
        if (ins.op === Op.If) this.popExpect(ValType.I32);
        this.popAll(sig.params);
        this.pushCtrl(ins.op, i, sig.params, sig.results);
        return;
      }
      case Op.Else: {
        const f = this.popCtrl();
        this.pushCtrl(Op.Else, f.instr, f.params, f.results);
        return;
      }
      case Op.End: {
        const f = this.popCtrl();
        if (f.op === Op.If && !sameTypes(f.params, f.results)) {
          throw this.mismatch('ends an if without else whose results differ from its parameters');
        }
        this.pushAll(f.results);
        return;
      }
      case Op.Br: {
        const f = this.label(ins.depth);
        (ins as BrInstr).target = f.instr;
        this.popAll(CodeValidator.labelTypes(f));
        this.setUnreachable();
        return;
      }
      case Op.BrIf: {
        const f = this.label(ins.depth);
        (ins as BrInstr).target = f.instr;
        this.popExpect(ValType.I32);
        const ts = CodeValidator.labelTypes(f);
        this.popAll(ts);
        this.pushAll(ts);
        return;
      }
      case Op.BrTable:
        this.brTable(ins);
        return;
      case Op.Return:
        this.popAll(this.ctrls[0].results);
        this.setUnreachable();
        return;
      case Op.Call: {
        const t = this.funcType(ins.func);
        this.popAll(t.params);
        this.pushAll(t.results);
        return;
      }
      case Op.CallIndirect: {
        const table = this.table(ins.table);
        const t = this.c.types[ins.type];
        if (t === undefined) throw this.fail(`unknown type ${ins.type}`);
        if (table.elem !== ValType.FuncRef) throw this.mismatch(`needs a funcref table, table ${ins.table} holds externref`);
        this.popExpect(ValType.I32);
        this.popAll(t.params);
        this.pushAll(t.results);
        return;
      }
      case Op.Drop:
        (ins as DropSelectInstr).type = this.pop();
        return;
      case Op.Select:
        this.select(ins as DropSelectInstr);
        return;
      case Op.SelectT: {
        if (ins.types.length !== 1) throw this.fail(`invalid result arity: select with ${ins.types.length} types`);
        const t = ins.types[0];
        this.popExpect(ValType.I32);
        this.popExpect(t);
        this.popExpect(t);
        this.push(t);
        return;
      }
      case Op.LocalGet:
      case Op.LocalSet:
      case Op.LocalTee: {
        const t = this.locals[ins.local];
        if (t === undefined) throw this.fail(`unknown local ${ins.local}`);
        if (ins.op !== Op.LocalGet) this.popExpect(t);
        if (ins.op !== Op.LocalSet) this.push(t);
        return;
      }
      case Op.GlobalGet:
        this.push(this.global(ins.global).type);
        return;
      case Op.GlobalSet: {
        const g = this.global(ins.global);
        if (!g.mutable) throw this.fail(`global is immutable: global.set ${ins.global}`);
        this.popExpect(g.type);
        return;
      }
      case Op.TableGet: {
        const t = this.table(ins.table).elem;
        this.popExpect(ValType.I32);
        this.push(t);
        return;
      }
      case Op.TableSet: {
        const t = this.table(ins.table).elem;
        this.popExpect(t);
        this.popExpect(ValType.I32);
        return;
      }
      case Op.TableSize:
        this.table(ins.table);
        this.push(ValType.I32);
        return;
      case Op.TableGrow: {
        const t = this.table(ins.table).elem;
        this.popExpect(ValType.I32);
        this.popExpect(t);
        this.push(ValType.I32);
        return;
      }
      case Op.TableFill: {
        const t = this.table(ins.table).elem;
        this.popExpect(ValType.I32);
        this.popExpect(t);
        this.popExpect(ValType.I32);
        return;
      }
      case Op.TableCopy: {
        const dst = this.table(ins.dst).elem;
        const src = this.table(ins.src).elem;
        if (dst !== src) throw this.mismatch(`copies ${valTypeName(src)} into a ${valTypeName(dst)} table`);
        this.popAll([ValType.I32, ValType.I32, ValType.I32]);
        return;
      }
      case Op.TableInit: {
        const dst = this.table(ins.table).elem;
        const src = this.elem(ins.elem);
        if (dst !== src) throw this.mismatch(`copies ${valTypeName(src)} into a ${valTypeName(dst)} table`);
        this.popAll([ValType.I32, ValType.I32, ValType.I32]);
        return;
      }
      case Op.ElemDrop:
        this.elem(ins.elem);
        return;
      case Op.RefNull:
        this.push(ins.type);
        return;
      case Op.RefIsNull: {
        const t = this.pop();
        if (t !== UNKNOWN_TYPE && !isRefType(t)) throw this.mismatch(`expects a reference but found ${valTypeName(t)}`);
        this.push(ValType.I32);
        return;
      }
      case Op.RefFunc:
        this.funcType(ins.func);
        if (!this.c.refs.has(ins.func)) throw this.fail(`undeclared function reference ${ins.func}`);
        this.push(ValType.FuncRef);
        return;
    }
    this.simple(ins);
  }

  /** Operators with a fixed signature, plus what their immediates refer to. */
  private simple(ins: Instr): void {
    const info = opInfo(ins.op);
    switch (info.imm) {
      case Imm.MemArg: {
        this.memory();
        const { align } = ins as { align: number };
        if (info.atomic && 1 << align !== info.width) {
          throw this.fail(`alignment must be exactly natural for an atomic access: 2^${align} in ${info.name}`);
        }
        if (2 ** align > info.width) throw this.fail(`alignment must not be larger than natural: 2^${align} in ${info.name}`);
        break;
      }
      case Imm.Memory:
      case Imm.MemoryCopy:
        this.memory();
        break;
      case Imm.MemoryInit:
        this.memory();
        this.data((ins as { data: number }).data);
        break;
      case Imm.Data:
        this.data((ins as { data: number }).data);
        break;
    }
    const sig = info.sig!;
    this.popAll(sig.params);
    this.pushAll(sig.results);
  }

  private select(ins: DropSelectInstr): void {
    this.popExpect(ValType.I32);
    const a = this.pop();
    const b = this.pop();
    for (const t of [a, b]) {
      if (t !== UNKNOWN_TYPE && !isNumType(t)) {
        throw this.mismatch(`without a type annotation cannot choose between ${valTypeName(t)} values`);
      }
    }
    if (a !== b && a !== UNKNOWN_TYPE && b !== UNKNOWN_TYPE) {
      throw this.mismatch(`chooses between ${valTypeName(b)} and ${valTypeName(a)}`);
    }
    const t = a === UNKNOWN_TYPE ? b : a;
    ins.type = t;
    this.push(t);
  }

  /**
   * Every target must take the same number of values; each checks the
   * operands in place (in unreachable code they may be UNKNOWN, and then each
   * target may see them as its own types).
   */
  private brTable(ins: BrTableInstr): void {
    this.popExpect(ValType.I32);
    const dflt = this.label(ins.defaultDepth);
    const arity = CodeValidator.labelTypes(dflt).length;
    ins.targets = [];
    for (const depth of ins.depths) {
      const f = this.label(depth);
      const ts = CodeValidator.labelTypes(f);
      if (ts.length !== arity) {
        throw this.mismatch(`targets take ${ts.length} and ${arity} values`);
      }
      ins.targets.push(f.instr);
      this.pushAll(this.popAll(ts));
    }
    ins.defaultTarget = dflt.instr;
    this.popAll(CodeValidator.labelTypes(dflt));
    this.setUnreachable();
  }
}

function sameTypes(a: readonly ValType[], b: readonly ValType[]): boolean {
  return a.length === b.length && a.every((t, i) => t === b[i]);
}

/**
 * Intel-syntax operands as GNU as reads them (`.intel_syntax noprefix`):
 *   registers               eax, r8b, xmm3, cr0, st, st(2), fs
 *   memory                  DWORD PTR [rax+rbx*4+0x10], fs:[rax], ds:0x1234,
 *                           [rip+label], label[rbx], QWORD PTR label
 *   immediates              0x10, -1, 'a', OFFSET label, end-start
 *   far pointers            0x10:0x1000 (jmp/call)
 * A bare expression is left undecided here (`Bare`): GNU as makes it an
 * immediate if it is a known constant and a memory reference otherwise,
 * and a branch target for jmp/call/jcc.
 */
import { fail } from './errors.js';
import { Cursor, parseExpr, show, type Expr, type LocalRef } from './expr.js';
import { lookupReg, RegClass, stReg, type Reg } from './registers.js';

export interface MemOperand {
  k: 'mem';
  /** Bytes from `… PTR`, or undefined. */
  size?: number;
  seg?: number;
  base?: Reg;
  index?: Reg;
  scale: number;
  disp?: Expr;
}

export type Operand =
  | { k: 'reg'; reg: Reg }
  | MemOperand
  | { k: 'imm'; expr: Expr; size?: number }
  | { k: 'bare'; expr: Expr }
  | { k: 'far'; sel: Expr; off: Expr };

const PTR_SIZES = new Map(Object.entries({
  byte: 1, word: 2, dword: 4, fword: 6, qword: 8, mmword: 8, tbyte: 10, oword: 16, xmmword: 16,
}));

/** Splits the operand tokens at top-level commas and parses each. */
export function parseOperands(c: Cursor, local: LocalRef): Operand[] {
  const out: Operand[] = [];
  if (c.atEnd()) return out;
  for (;;) {
    out.push(parseOperand(c, local));
    if (c.atEnd()) return out;
    c.expectOp(',');
  }
}

function regAt(c: Cursor): Reg | undefined {
  const t = c.peek();
  if (t?.t !== 'id') return undefined;
  const r = lookupReg(t.v);
  if (r === undefined) return undefined;
  // st(i)
  if (r.cls === RegClass.St && c.isOp('(', 1)) {
    const n = c.peek(2);
    if (n?.t !== 'num' || n.v > 7n || !c.isOp(')', 3)) fail(c.loc, 'bad x87 register');
    c.p += 3;
    return stReg(Number(n.v));
  }
  return r;
}

function parseOperand(c: Cursor, local: LocalRef): Operand {
  const first = c.peek();
  let size = first?.t === 'id' ? PTR_SIZES.get(first.v.toLowerCase()) : undefined;
  if (size !== undefined && !(c.isId('ptr', 1) || c.isOp('[', 1))) size = undefined;
  if (size !== undefined) {
    c.next();
    if (c.isId('ptr')) c.next();
  }
  if (c.isId('offset')) {
    c.next();
    if (c.isId('flat') && c.isOp(':', 1)) c.p += 2;
    return { k: 'imm', expr: parseExpr(c, local) };
  }
  const reg = regAt(c);
  if (reg !== undefined) {
    c.next();
    if (reg.cls === RegClass.Seg && c.eatOp(':')) return parseMemory(c, local, size, reg.num);
    if (size !== undefined) fail(c.loc, `a size (PTR) on register ${reg.name}`);
    return { k: 'reg', reg };
  }
  if (c.isOp('[')) return parseMemory(c, local, size, undefined);
  const expr = parseExpr(c, local);
  if (c.eatOp(':')) return { k: 'far', sel: expr, off: parseExpr(c, local) };
  if (c.isOp('[')) {
    // disp[base+index]
    const m = parseMemory(c, local, size, undefined);
    m.disp = m.disp === undefined ? expr : { k: 'bin', op: '+', a: expr, b: m.disp };
    return m;
  }
  if (size !== undefined) return { k: 'imm', expr, size };
  return { k: 'bare', expr };
}

/** After an optional `seg:`: `[…]` (possibly several, summed), or an absolute address expression. */
function parseMemory(c: Cursor, local: LocalRef, size: number | undefined, seg: number | undefined): MemOperand {
  const m: MemOperand = { k: 'mem', size, seg, scale: 1 };
  if (!c.isOp('[')) {
    m.disp = parseExpr(c, local);
    if (!c.isOp('[')) return m;
  }
  while (c.eatOp('[')) {
    parseAddress(c, local, m);
    c.expectOp(']');
  }
  return m;
}

/** The inside of brackets: a sum of registers, register*scale and expressions. */
function parseAddress(c: Cursor, local: LocalRef, m: MemOperand): void {
  let negative = false;
  for (let first = true; ; first = false) {
    if (!first || c.isOp('-') || c.isOp('+')) {
      if (c.eatOp('+')) negative = false;
      else if (c.eatOp('-')) negative = true;
      else if (!first) return;
    }
    const reg = regAt(c);
    if (reg !== undefined && reg.cls === RegClass.Seg && c.isOp(':', 1)) {
      c.p += 2;
      m.seg = reg.num;
      continue;
    }
    if (reg !== undefined) {
      c.next();
      if (negative) fail(c.loc, `register ${reg.name} cannot be subtracted`);
      let scale = 0;
      if (c.eatOp('*')) scale = scaleOf(c);
      addRegister(c, m, reg, scale);
      continue;
    }
    // scale*reg
    const t = c.peek();
    if (t?.t === 'num' && c.isOp('*', 1) && c.peek(2)?.t === 'id' && lookupReg((c.peek(2) as { v: string }).v) !== undefined) {
      const scale = scaleOf(c);
      c.next();
      const r = regAt(c)!;
      c.next();
      addRegister(c, m, r, scale);
      continue;
    }
    if (c.atEnd() || c.isOp(']')) fail(c.loc, `expected an address${c.atEnd() ? '' : ` before ${show(c.peek()!)}`}`);
    // An expression term: binds tighter than + and - (levels 2 and up in expr.ts).
    const e = parseExpr(c, local, 2);
    const term: Expr = negative ? { k: 'un', op: '-', a: e } : e;
    m.disp = m.disp === undefined ? term : { k: 'bin', op: '+', a: m.disp, b: term };
  }
}

function scaleOf(c: Cursor): number {
  const t = c.next();
  if (t?.t !== 'num' || ![1n, 2n, 4n, 8n].includes(t.v)) fail(c.loc, 'the scale must be 1, 2, 4 or 8');
  return Number(t.v);
}

function addRegister(c: Cursor, m: MemOperand, reg: Reg, scale: number): void {
  if (reg.cls !== RegClass.Gpr && reg.cls !== RegClass.Ip) fail(c.loc, `register ${reg.name} in an address`);
  if (scale === 0 && m.base === undefined) { m.base = reg; return; }
  if (m.index !== undefined) fail(c.loc, 'more than two registers in an address');
  m.index = reg;
  m.scale = scale === 0 ? 1 : scale;
}

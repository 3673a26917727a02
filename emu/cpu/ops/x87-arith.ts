/**
 * x87 arithmetic and comparison (SDM Vol.2A): fadd fmul fsub fsubr fdiv fdivr
 * in all forms, the fcom/fucom/ficom families, fcomi/fucomi, ftst, fxam,
 * fchs fabs fsqrt frndint fscale fxtract fprem fprem1.
 *
 * The basic arithmetic shares one numbering, ModRM /digit of D8 (memory and
 * register forms) and of DC/DA/DE memory forms:
 *   0 add  1 mul  2 com  3 comp  4 sub  5 subr  6 div  7 divr
 * In the DC and DE register forms (destination ST(i)) digits 4/5 and 6/7
 * swap meaning: DC E0+i is fsubr ST(i),ST0, DC E8+i is fsub ST(i),ST0.
 */
import type { Cpu } from '../cpu.js';
import type { Insn } from '../insn.js';
import type { OpDef } from '../table.js';
import { type F80, type FpEnv, Exc, INDEFINITE, zero } from '../softfloat80.js';
import { add, mul, div, sqrt, compare, Rel, roundToInt, scale, extract, remainder, examine } from '../softfloat80-arith.js';
import { fromF32, fromF64, fromInt } from '../softfloat80-convert.js';
import { F } from '../flags.js';
import {
  begin, finish, getST, setST, isEmpty, pop, push, underflow, overflow, phys, physTag, Tag, Sw,
} from './x87-stack.js';

type Binary = (env: FpEnv, x: F80, y: F80) => F80 | null;

/** x OP y by digit; comparisons (2, 3) are handled apart. */
const BINARY: Binary[] = [
  (env, x, y) => add(env, x, y, false),
  mul,
  () => null,
  () => null,
  (env, x, y) => add(env, x, y, true),
  (env, x, y) => add(env, y, x, true),
  div,
  (env, x, y) => div(env, y, x),
];
const NAMES = ['add', 'mul', 'com', 'comp', 'sub', 'subr', 'div', 'divr'];

/** The memory operand of the D8/DC/DA/DE memory forms by opcode, converted exactly. */
function memOperand(cpu: Cpu, env: FpEnv, opcode: number): F80 | null {
  const a = cpu.fdp;
  switch (opcode) {
    case 0xd8: return fromF32(env, BigInt(cpu.mmu.read32(a) >>> 0));
    case 0xdc: { const lo = cpu.mmu.read64(a); return fromF64(env, (BigInt(cpu.mmu.hi >>> 0) << 32n) | BigInt(lo >>> 0)); }
    case 0xda: return fromInt(BigInt(cpu.mmu.read32(a)));
    default: return fromInt(BigInt((cpu.mmu.read16(a) << 16) >> 16));
  }
}

/** True when an exception raised so far is unmasked and stops the instruction before its result. */
function stopped(env: FpEnv): boolean { return (env.exc & ~env.cw & (Exc.IE | Exc.DE | Exc.ZE)) !== 0; }

/** ST0 = ST0 op m32fp/m64fp/m32int/m16int. */
function arithMem(cpu: Cpu, i: Insn): void {
  const env = begin(cpu, i);
  const y = memOperand(cpu, env, i.row.opcode);
  if (isEmpty(cpu, 0)) {
    if (underflow(env)) setST(cpu, 0, INDEFINITE);
  } else if (y !== null && !stopped(env)) {
    const r = BINARY[i.arg](env, getST(cpu, 0), y);
    if (r !== null) setST(cpu, 0, r);
  }
  finish(cpu, env);
}

/** D8: ST0 = ST0 op ST(i); DC: ST(i) = ST(i) op ST0; DE: the same, then pop. */
function arithReg(cpu: Cpu, i: Insn): void {
  const env = begin(cpu, i);
  const k = i.rm & 7;
  const dst = i.row.opcode === 0xd8 ? 0 : k;
  let written = false;
  if (isEmpty(cpu, 0) || isEmpty(cpu, k)) {
    written = underflow(env);
    if (written) setST(cpu, dst, INDEFINITE);
  } else {
    const r = BINARY[i.arg](env, getST(cpu, dst), getST(cpu, dst === 0 ? k : 0));
    written = r !== null;
    if (r !== null) setST(cpu, dst, r);
  }
  if (written && i.row.opcode === 0xde) pop(cpu);
  finish(cpu, env);
}

// ---- comparisons ------------------------------------------------------------------------

const CC_OF_REL = (r: Rel): number => ((r & 1) << 8) | ((r & 2) << 9) | ((r & 4) << 12);
const EFLAGS_OF_REL = (r: Rel): number => ((r & 1) ? F.CF : 0) | ((r & 2) ? F.PF : 0) | ((r & 4) ? F.ZF : 0);

/** Compare rows' arg: pops (0..2) plus these bits. */
const enum Cmp { Pops = 3, Quiet = 1 << 2, Eflags = 1 << 3 }

/** Compares ST0 with `y` (or an empty-register underflow), sets C3 C2 C0 or ZF PF CF, pops. */
function finishCompare(cpu: Cpu, i: Insn, env: FpEnv, y: F80 | null, empty: boolean): void {
  let rel: Rel;
  if (empty) {
    const masked = underflow(env);
    rel = Rel.Unordered;
    if (!masked) { finish(cpu, env); return; }
  } else if (y === null || stopped(env)) {
    finish(cpu, env); return;
  } else {
    rel = compare(env, getST(cpu, 0), y, (i.arg & Cmp.Quiet) !== 0);
    env.exc &= ~Exc.C1;
  }
  if ((env.exc & ~env.cw & Exc.IE) !== 0) { finish(cpu, env); return; }
  if (i.arg & Cmp.Eflags) cpu.setArith(EFLAGS_OF_REL(rel));
  else cpu.fsw = (cpu.fsw & ~(Sw.C0 | Sw.C2 | Sw.C3)) | CC_OF_REL(rel);
  for (let n = i.arg & Cmp.Pops; n > 0; n--) pop(cpu);
  finish(cpu, env);
}

function comReg(cpu: Cpu, i: Insn): void {
  const env = begin(cpu, i);
  const k = i.rm & 7;
  finishCompare(cpu, i, env, getST(cpu, k), isEmpty(cpu, 0) || isEmpty(cpu, k));
}

/** fcom/fcomp m32fp/m64fp, ficom/ficomp m32int/m16int. */
function comMem(cpu: Cpu, i: Insn): void {
  const env = begin(cpu, i);
  const y = memOperand(cpu, env, i.row.opcode);
  finishCompare(cpu, i, env, y, isEmpty(cpu, 0));
}

function ftst(cpu: Cpu, i: Insn): void {
  const env = begin(cpu, i);
  finishCompare(cpu, i, env, zero(0), isEmpty(cpu, 0));
}

/** fxam: class in C3 C2 C0, sign in C1; defined for an empty ST0 too. */
function fxam(cpu: Cpu, i: Insn): void {
  begin(cpu, i);
  const v = getST(cpu, 0);
  const cls = examine(v, physTag(cpu, phys(cpu, 0)) === Tag.Empty);
  cpu.fsw = (cpu.fsw & ~Sw.CC) | CC_OF_REL(cls) | (v.sign ? Sw.C1 : 0);
}

// ---- one-operand operations ------------------------------------------------------------------

/** Applies `f` to ST0 in place (stack underflow: the indefinite, if masked). */
function unary(cpu: Cpu, i: Insn, f: (env: FpEnv, x: F80) => F80 | null): void {
  const env = begin(cpu, i);
  if (isEmpty(cpu, 0)) {
    if (underflow(env)) setST(cpu, 0, INDEFINITE);
  } else {
    const r = f(env, getST(cpu, 0));
    if (r !== null) setST(cpu, 0, r);
  }
  finish(cpu, env);
}

function fchs(cpu: Cpu, i: Insn): void { unary(cpu, i, (_e, x) => ({ ...x, sign: x.sign ^ 1 })); }
function fabs(cpu: Cpu, i: Insn): void { unary(cpu, i, (_e, x) => ({ ...x, sign: 0 })); }
function fsqrt(cpu: Cpu, i: Insn): void { unary(cpu, i, sqrt); }
function frndint(cpu: Cpu, i: Insn): void { unary(cpu, i, roundToInt); }

function fscale(cpu: Cpu, i: Insn): void {
  const env = begin(cpu, i);
  if (isEmpty(cpu, 0) || isEmpty(cpu, 1)) {
    if (underflow(env)) setST(cpu, 0, INDEFINITE);
  } else {
    const r = scale(env, getST(cpu, 0), getST(cpu, 1));
    if (r !== null) setST(cpu, 0, r);
  }
  finish(cpu, env);
}

/** fxtract: ST0 becomes the exponent, then the significand is pushed. */
function fxtract(cpu: Cpu, i: Insn): void {
  const env = begin(cpu, i);
  if (isEmpty(cpu, 0)) {
    if (underflow(env)) { setST(cpu, 0, INDEFINITE); if (isEmpty(cpu, 7)) push(cpu, INDEFINITE); }
  } else if (!isEmpty(cpu, 7)) {
    if (overflow(env)) { setST(cpu, 0, INDEFINITE); push(cpu, INDEFINITE); }
  } else {
    const r = extract(env, getST(cpu, 0));
    if (r !== null) { setST(cpu, 0, r[0]); push(cpu, r[1]); }
  }
  finish(cpu, env);
}

/** fprem (arg 0) / fprem1 (arg 1): quotient bits 2 1 0 in C0 C3 C1, C2 while partial. */
function fprem(cpu: Cpu, i: Insn): void {
  const env = begin(cpu, i);
  if (isEmpty(cpu, 0) || isEmpty(cpu, 1)) {
    if (underflow(env)) setST(cpu, 0, INDEFINITE);
    finish(cpu, env);
    return;
  }
  const r = remainder(env, getST(cpu, 0), getST(cpu, 1), i.arg === 1);
  if (r !== null) {
    setST(cpu, 0, r.value);
    const q = r.quotient;
    env.exc &= ~Exc.C1;
    if (!r.partial && (q & 1)) env.exc |= Exc.C1;
    cpu.fsw = (cpu.fsw & ~(Sw.C0 | Sw.C2 | Sw.C3)) | (r.partial ? Sw.C2 : ((q & 4) ? Sw.C0 : 0) | ((q & 2) ? Sw.C3 : 0));
  }
  finish(cpu, env);
}

// ---- rows ---------------------------------------------------------------------------------------

function arithRows(): OpDef[] {
  const rows: OpDef[] = [];
  const mem: [number, string, string][] = [[0xd8, '', 'Md'], [0xdc, '', 'Mq'], [0xda, 'i', 'Md'], [0xde, 'i', 'Mw']];
  for (let d = 0; d < 8; d++) {
    const name = NAMES[d];
    const compareArg = d === 3 ? 1 : 0;
    for (const [code, int, ops] of mem) {
      const mn = `f${int}${name}`;
      rows.push(d === 2 || d === 3
        ? { mn, code, digit: d, mod: 'mem', ops, exec: comMem, arg: compareArg }
        : { mn, code, digit: d, mod: 'mem', ops, exec: arithMem, arg: d });
    }
    if (d === 2 || d === 3) {
      rows.push({ mn: `f${name}`, code: 0xd8, digit: d, mod: 'reg', ops: 'STi', exec: comReg, arg: compareArg });
      continue;
    }
    rows.push({ mn: `f${name}`, code: 0xd8, digit: d, mod: 'reg', ops: 'ST0,STi', exec: arithReg, arg: d });
    // DC/DE register forms: the reversed digit pairs (see the file comment).
    const rd = d >= 4 ? d ^ 1 : d;
    rows.push({ mn: `f${NAMES[rd]}`, code: 0xdc, digit: d, mod: 'reg', ops: 'STi,ST0', exec: arithReg, arg: rd });
    rows.push({ mn: `f${NAMES[rd]}p`, code: 0xde, digit: d, mod: 'reg', ops: 'STi,ST0', exec: arithReg, arg: rd });
  }
  return rows;
}

export const rows: OpDef[] = [
  ...arithRows(),
  { mn: 'fcompp', code: 0xde, digit: 3, rm: 1, exec: comReg, arg: 2 },
  { mn: 'fucom', code: 0xdd, digit: 4, mod: 'reg', ops: 'STi', exec: comReg, arg: Cmp.Quiet },
  { mn: 'fucomp', code: 0xdd, digit: 5, mod: 'reg', ops: 'STi', exec: comReg, arg: Cmp.Quiet | 1 },
  { mn: 'fucompp', code: 0xda, digit: 5, rm: 1, exec: comReg, arg: Cmp.Quiet | 2 },
  { mn: 'fcomi', code: 0xdb, digit: 6, mod: 'reg', ops: 'ST0,STi', exec: comReg, arg: Cmp.Eflags, wf: 'OSZAPC' },
  { mn: 'fucomi', code: 0xdb, digit: 5, mod: 'reg', ops: 'ST0,STi', exec: comReg, arg: Cmp.Eflags | Cmp.Quiet, wf: 'OSZAPC' },
  { mn: 'fcomip', code: 0xdf, digit: 6, mod: 'reg', ops: 'ST0,STi', exec: comReg, arg: Cmp.Eflags | 1, wf: 'OSZAPC' },
  { mn: 'fucomip', code: 0xdf, digit: 5, mod: 'reg', ops: 'ST0,STi', exec: comReg, arg: Cmp.Eflags | Cmp.Quiet | 1, wf: 'OSZAPC' },
  { mn: 'ftst', code: 0xd9, digit: 4, rm: 4, exec: ftst },
  { mn: 'fxam', code: 0xd9, digit: 4, rm: 5, exec: fxam },
  { mn: 'fchs', code: 0xd9, digit: 4, rm: 0, exec: fchs },
  { mn: 'fabs', code: 0xd9, digit: 4, rm: 1, exec: fabs },
  { mn: 'fsqrt', code: 0xd9, digit: 7, rm: 2, exec: fsqrt },
  { mn: 'frndint', code: 0xd9, digit: 7, rm: 4, exec: frndint },
  { mn: 'fscale', code: 0xd9, digit: 7, rm: 5, exec: fscale },
  { mn: 'fxtract', code: 0xd9, digit: 6, rm: 4, exec: fxtract },
  { mn: 'fprem1', code: 0xd9, digit: 6, rm: 5, exec: fprem, arg: 1 },
  { mn: 'fprem', code: 0xd9, digit: 7, rm: 0, exec: fprem, arg: 0 },
];

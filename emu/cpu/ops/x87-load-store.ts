/**
 * x87 data movement: fld/fst/fstp (m32, m64, m80, ST(i)), fild/fist/fistp
 * and fisttp (m16, m32, m64), fbld/fbstp, the constant loads, fxch,
 * fcmovcc, ffree/ffreep and fincstp/fdecstp (SDM Vol.2A). Loads of m32/m64
 * are exact; stores round per FCW.RC (conversions in softfloat80-convert.ts).
 * Stack underflow with IE masked stores the indefinite of the destination
 * format; an unmasked exception leaves memory, registers and TOP unchanged.
 */
import type { Cpu } from '../cpu.js';
import type { Insn } from '../insn.js';
import type { OpDef } from '../table.js';
import { type F80, type FpEnv, INDEFINITE, MASK64 } from '../softfloat80.js';
import { fromF32, fromF64, toF32, toF64, fromInt, toInt, fromBcd, toBcd, BCD_INDEFINITE } from '../softfloat80-convert.js';
import { loadConstant } from '../softfloat80-const.js';
import {
  begin, finish, getST, setST, isEmpty, pop, pushChecked, underflow, top, setTop, phys, setPhysTag, Tag,
} from './x87-stack.js';

// ---- memory images ----------------------------------------------------------------

export function read80(cpu: Cpu, addr: number): F80 {
  const lo = cpu.mmu.read32(addr), hi = cpu.mmu.read32(addr + 4), se = cpu.mmu.read16(addr + 8);
  return { sign: (se >> 15) & 1, exp: se & 0x7fff, sig: (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0) };
}

export function write80(cpu: Cpu, addr: number, v: F80): void {
  cpu.mmu.write64(addr, Number(v.sig & 0xffffffffn) | 0, Number(v.sig >> 32n) | 0);
  cpu.mmu.write16(addr + 8, (v.sign << 15) | v.exp);
}

/** Reads `bytes` (2, 4 or 8) as an unsigned BigInt. */
function readBits(cpu: Cpu, addr: number, bytes: number): bigint {
  if (bytes === 8) { const lo = cpu.mmu.read64(addr); return (BigInt(cpu.mmu.hi >>> 0) << 32n) | BigInt(lo >>> 0); }
  return BigInt((bytes === 4 ? cpu.mmu.read32(addr) : cpu.mmu.read16(addr)) >>> 0);
}

function writeBits(cpu: Cpu, addr: number, bytes: number, v: bigint): void {
  const lo = Number(v & 0xffffffffn) | 0;
  if (bytes === 8) cpu.mmu.write64(addr, lo, Number((v >> 32n) & 0xffffffffn) | 0);
  else if (bytes === 4) cpu.mmu.write32(addr, lo);
  else cpu.mmu.write16(addr, lo);
}

// ---- loads ---------------------------------------------------------------------------

/** fld m32fp (arg 4) / m64fp (arg 8). */
function fldFp(cpu: Cpu, i: Insn): void {
  const env = begin(cpu, i);
  const bits = readBits(cpu, cpu.fdp, i.arg);
  pushChecked(cpu, env, () => (i.arg === 4 ? fromF32(env, bits) : fromF64(env, bits)));
  finish(cpu, env);
}

function fld80(cpu: Cpu, i: Insn): void {
  const env = begin(cpu, i);
  const v = read80(cpu, cpu.fdp);
  pushChecked(cpu, env, () => v);
  finish(cpu, env);
}

function fldSti(cpu: Cpu, i: Insn): void {
  const env = begin(cpu, i);
  const k = i.rm & 7;
  const empty = isEmpty(cpu, k);
  const v = getST(cpu, k);
  pushChecked(cpu, env, () => (empty ? (underflow(env) ? INDEFINITE : null) : v));
  finish(cpu, env);
}

/** fild m16int / m32int / m64int (arg = bytes): always exact. */
function fild(cpu: Cpu, i: Insn): void {
  const env = begin(cpu, i);
  const v = BigInt.asIntN(i.arg * 8, readBits(cpu, cpu.fdp, i.arg));
  pushChecked(cpu, env, () => fromInt(v));
  finish(cpu, env);
}

function fbld(cpu: Cpu, i: Insn): void {
  const env = begin(cpu, i);
  const bits = (readBits(cpu, cpu.fdp + 8, 2) << 64n) | readBits(cpu, cpu.fdp, 8);
  pushChecked(cpu, env, () => fromBcd(bits));
  finish(cpu, env);
}

/** fld1 fldl2t fldl2e fldpi fldlg2 fldln2 fldz, in D9 E8..EE order (arg = Const). */
function fldConst(cpu: Cpu, i: Insn): void {
  const env = begin(cpu, i);
  pushChecked(cpu, env, () => loadConstant(cpu.fcw, i.arg));
  finish(cpu, env);
}

// ---- stores --------------------------------------------------------------------------

/** Store rows' arg: the operand bytes, plus these bits. */
const enum St { Pop = 1 << 4, Truncate = 1 << 5 }

/**
 * Every store of ST0 to memory: `convert` yields the image (null: an
 * unmasked exception, store nothing); `indefinite` is what a masked stack
 * underflow stores. The pop happens only when something was stored.
 */
function storeST0(cpu: Cpu, i: Insn, bytes: number, indefinite: bigint, convert: (env: FpEnv, v: F80) => bigint | null): void {
  const env = begin(cpu, i);
  let image: bigint | null;
  if (isEmpty(cpu, 0)) image = underflow(env) ? indefinite : null;
  else image = convert(env, getST(cpu, 0));
  if (image !== null) {
    if (bytes === 10) { writeBits(cpu, cpu.fdp, 8, image & MASK64); writeBits(cpu, cpu.fdp + 8, 2, image >> 64n); }
    else writeBits(cpu, cpu.fdp, bytes, image);
    if (i.arg & St.Pop) pop(cpu);
  }
  finish(cpu, env);
}

const F32_INDEFINITE = 0xffc00000n;
const F64_INDEFINITE = 0xfff8000000000000n;
const image80 = (_env: FpEnv, v: F80): bigint => (BigInt((v.sign << 15) | v.exp) << 64n) | v.sig;

/** fst/fstp m32fp (4) and m64fp (8). */
function fstFp(cpu: Cpu, i: Insn): void {
  const bytes = i.arg & 15;
  storeST0(cpu, i, bytes, bytes === 4 ? F32_INDEFINITE : F64_INDEFINITE, (env, v) => (bytes === 4 ? toF32(env, v) : toF64(env, v)));
}

function fstp80(cpu: Cpu, i: Insn): void {
  storeST0(cpu, i, 10, image80({ cw: 0, exc: 0 }, INDEFINITE), image80);
}

/** fist/fistp (round per RC) and fisttp (truncate) to m16int/m32int/m64int. */
function fist(cpu: Cpu, i: Insn): void {
  const bytes = i.arg & 15;
  storeST0(cpu, i, bytes, 1n << BigInt(bytes * 8 - 1), (env, v) => {
    const r = toInt(env, v, bytes * 8, (i.arg & St.Truncate) !== 0);
    return r === null ? null : BigInt.asUintN(bytes * 8, r);
  });
}

function fbstp(cpu: Cpu, i: Insn): void {
  storeST0(cpu, i, 10, BCD_INDEFINITE, toBcd);
}

/** fst/fstp ST(i): ST(i) = ST0. */
function fstSti(cpu: Cpu, i: Insn): void {
  const env = begin(cpu, i);
  const k = i.rm & 7;
  let stored = true;
  if (isEmpty(cpu, 0)) { stored = underflow(env); if (stored) setST(cpu, k, INDEFINITE); }
  else setST(cpu, k, getST(cpu, 0));
  if (stored && (i.arg & St.Pop)) pop(cpu);
  finish(cpu, env);
}

// ---- register stack --------------------------------------------------------------------

function fxch(cpu: Cpu, i: Insn): void {
  const env = begin(cpu, i);
  const k = i.rm & 7;
  if (isEmpty(cpu, 0) || isEmpty(cpu, k)) {
    if (!underflow(env)) { finish(cpu, env); return; }
    if (isEmpty(cpu, 0)) setST(cpu, 0, INDEFINITE);
    if (isEmpty(cpu, k)) setST(cpu, k, INDEFINITE);
  }
  const a = getST(cpu, 0);
  setST(cpu, 0, getST(cpu, k));
  setST(cpu, k, a);
  finish(cpu, env);
}

/** fcmovcc ST0, ST(i): arg is the Jcc condition code (b e be u, then the negations). */
function fcmov(cpu: Cpu, i: Insn): void {
  const env = begin(cpu, i);
  const k = i.rm & 7;
  if (isEmpty(cpu, 0) || isEmpty(cpu, k)) {
    if (underflow(env)) setST(cpu, 0, INDEFINITE);
  } else if (cpu.cond(i.arg)) {
    setST(cpu, 0, getST(cpu, k));
  }
  finish(cpu, env);
}

/** ffree ST(i), and ffreep (arg 1) which also pops. */
function ffree(cpu: Cpu, i: Insn): void {
  const env = begin(cpu, i);
  setPhysTag(cpu, phys(cpu, i.rm & 7), Tag.Empty);
  if (i.arg) setTop(cpu, top(cpu) + 1);
  finish(cpu, env);
}

/** fincstp (+1) / fdecstp (-1): TOP moves, tags stay. */
function moveTop(cpu: Cpu, i: Insn): void {
  const env = begin(cpu, i);
  setTop(cpu, top(cpu) + i.arg);
  finish(cpu, env);
}

// ---- rows ------------------------------------------------------------------------------

/** fcmov conditions in DA/DB C0..DF order, as Jcc condition codes: b e be u, nb ne nbe nu. */
const FCMOV: [string, number][] = [['fcmovb', 2], ['fcmove', 4], ['fcmovbe', 6], ['fcmovu', 10]];

export const rows: OpDef[] = [
  { mn: 'fld', code: 0xd9, digit: 0, mod: 'mem', ops: 'Md', exec: fldFp, arg: 4 },
  { mn: 'fst', code: 0xd9, digit: 2, mod: 'mem', ops: 'Md', exec: fstFp, arg: 4 },
  { mn: 'fstp', code: 0xd9, digit: 3, mod: 'mem', ops: 'Md', exec: fstFp, arg: 4 | St.Pop },
  { mn: 'fld', code: 0xdd, digit: 0, mod: 'mem', ops: 'Mq', exec: fldFp, arg: 8 },
  { mn: 'fst', code: 0xdd, digit: 2, mod: 'mem', ops: 'Mq', exec: fstFp, arg: 8 },
  { mn: 'fstp', code: 0xdd, digit: 3, mod: 'mem', ops: 'Mq', exec: fstFp, arg: 8 | St.Pop },
  { mn: 'fld', code: 0xdb, digit: 5, mod: 'mem', ops: 'Mt', exec: fld80 },
  { mn: 'fstp', code: 0xdb, digit: 7, mod: 'mem', ops: 'Mt', exec: fstp80, arg: St.Pop },
  { mn: 'fld', code: 0xd9, digit: 0, mod: 'reg', ops: 'STi', exec: fldSti },
  { mn: 'fxch', code: 0xd9, digit: 1, mod: 'reg', ops: 'STi', exec: fxch },
  { mn: 'fst', code: 0xdd, digit: 2, mod: 'reg', ops: 'STi', exec: fstSti },
  { mn: 'fstp', code: 0xdd, digit: 3, mod: 'reg', ops: 'STi', exec: fstSti, arg: St.Pop },
  { mn: 'ffree', code: 0xdd, digit: 0, mod: 'reg', ops: 'STi', exec: ffree },
  { mn: 'ffreep', code: 0xdf, digit: 0, mod: 'reg', ops: 'STi', exec: ffree, arg: 1 },
  { mn: 'fdecstp', code: 0xd9, digit: 6, rm: 6, exec: moveTop, arg: -1 },
  { mn: 'fincstp', code: 0xd9, digit: 6, rm: 7, exec: moveTop, arg: 1 },

  { mn: 'fild', code: 0xdf, digit: 0, mod: 'mem', ops: 'Mw', exec: fild, arg: 2 },
  { mn: 'fild', code: 0xdb, digit: 0, mod: 'mem', ops: 'Md', exec: fild, arg: 4 },
  { mn: 'fild', code: 0xdf, digit: 5, mod: 'mem', ops: 'Mq', exec: fild, arg: 8 },
  { mn: 'fist', code: 0xdf, digit: 2, mod: 'mem', ops: 'Mw', exec: fist, arg: 2 },
  { mn: 'fistp', code: 0xdf, digit: 3, mod: 'mem', ops: 'Mw', exec: fist, arg: 2 | St.Pop },
  { mn: 'fist', code: 0xdb, digit: 2, mod: 'mem', ops: 'Md', exec: fist, arg: 4 },
  { mn: 'fistp', code: 0xdb, digit: 3, mod: 'mem', ops: 'Md', exec: fist, arg: 4 | St.Pop },
  { mn: 'fistp', code: 0xdf, digit: 7, mod: 'mem', ops: 'Mq', exec: fist, arg: 8 | St.Pop },
  { mn: 'fisttp', code: 0xdf, digit: 1, mod: 'mem', ops: 'Mw', exec: fist, arg: 2 | St.Pop | St.Truncate },
  { mn: 'fisttp', code: 0xdb, digit: 1, mod: 'mem', ops: 'Md', exec: fist, arg: 4 | St.Pop | St.Truncate },
  { mn: 'fisttp', code: 0xdd, digit: 1, mod: 'mem', ops: 'Mq', exec: fist, arg: 8 | St.Pop | St.Truncate },
  { mn: 'fbld', code: 0xdf, digit: 4, mod: 'mem', ops: 'Mt', exec: fbld },
  { mn: 'fbstp', code: 0xdf, digit: 6, mod: 'mem', ops: 'Mt', exec: fbstp, arg: St.Pop },

  ...['fld1', 'fldl2t', 'fldl2e', 'fldpi', 'fldlg2', 'fldln2', 'fldz'].map((mn, c): OpDef => (
    { mn, code: 0xd9, digit: 5, rm: c, exec: fldConst, arg: c })),
  ...FCMOV.flatMap(([mn, cc], k): OpDef[] => [
    { mn, code: 0xda, digit: k, mod: 'reg', ops: 'ST0,STi', exec: fcmov, arg: cc },
    { mn: mn.replace('fcmov', 'fcmovn'), code: 0xdb, digit: k, mod: 'reg', ops: 'ST0,STi', exec: fcmov, arg: cc | 1 },
  ]),
];

/**
 * The threads proposal's operators (the 0xFE prefix) as an operator family.
 * x86-64 is TSO, so a plain load is already a sequentially consistent atomic
 * load as long as every atomic store is an `xchg` (implicitly locked); add,
 * sub and xchg are single locked instructions at every width, and and/or/xor,
 * which x86 cannot do while returning the old value, are cmpxchg loops.
 *
 * An access is checked as plain accesses are in the function's memory mode
 * (bounds in the checked mode, nothing in the direct one), then for natural
 * alignment of the effective address, in V8's order: an access both out of
 * bounds and misaligned traps as out of bounds.
 *
 * wait and notify go through the linux-user runtime's futex helpers
 * (runtime.ts), so the kernel target refuses them. wait on an unshared
 * memory traps after the access checks; notify on one returns 0, since
 * nothing can ever wait there.
 */
import { type Instr, type MemInstr, Op, opInfo } from '../wasm/index.js';
import { type Gp, type OpContext, ptr, r32, rw } from './context.js';
import type { Family } from './families.js';
import { UnsupportedError } from './func.js';
import { Trap } from './ops.js';

type Rmw = 'add' | 'sub' | 'and' | 'or' | 'xor' | 'xchg' | 'cmpxchg';
type Shape = { kind: 'load' } | { kind: 'store' } | { kind: 'rmw'; rmw: Rmw };

/** `i64.atomic.rmw16.add_u` is an rmw add, `i32.atomic.load8_u` a load: the shape is in the name. */
function shape(name: string): Shape {
  const [, , what, rmw] = name.split('.');
  if (what.startsWith('load')) return { kind: 'load' };
  if (what.startsWith('store')) return { kind: 'store' };
  return { kind: 'rmw', rmw: rmw.replace(/_u$/, '') as Rmw };
}

const bits = (w: number): 8 | 16 | 32 | 64 => (w * 8) as 8 | 16 | 32 | 64;
const hex = (v: number): string => `0x${v.toString(16)}`;

/** `a += n` for n < 2^33. */
function addOffset(c: OpContext, a: Gp, n: number): void {
  if (n === 0) return;
  if (n <= 0x7fffffff) {
    c.emit(`add ${a}, ${hex(n)}`);
    return;
  }
  const t = c.tmpGp();
  c.emit(`mov ${t}, ${hex(n)}`);
  c.emit(`add ${a}, ${t}`);
  c.free(t);
}

/**
 * Pops the address operand, checks the access of `w` bytes at address +
 * offset as func.ts checks plain accesses, then its alignment, and returns
 * the register (owned) and the memory operand. In the checked memory mode
 * the register holds the end of the access, address + offset + w, which is
 * what the bounds check compares; w divides itself, so its low bits are
 * still the effective address's.
 */
function access(c: OpContext, ins: MemInstr, w: number, want?: Gp): { a: Gp; m: string } {
  const checked = c.env.memoryMode === 'checked';
  const a = c.popGp(want);
  addOffset(c, a, ins.offset + (checked ? w : 0));
  if (checked) {
    c.emit(`cmp ${a}, qword ptr [rip+${c.env.memory!}+8]`);
    c.emit(`ja ${c.trap(Trap.OutOfBounds)}`);
  }
  if (w > 1) {
    c.emit(`test ${rw(a, 8)}, ${w - 1}`);
    c.emit(`jnz ${c.trap(Trap.Unaligned)}`);
  }
  return { a, m: `${ptr(w)} [${checked ? `r15+${a}-${w}` : a}]` };
}

/** Zero-extends a narrow result in `r` (32-bit operations have already done it). */
function widen(c: OpContext, r: Gp, w: number): void {
  if (w < 4) c.emit(`movzx ${r32(r)}, ${rw(r, bits(w))}`);
}

/** `mov`/`movzx` loading w bytes zero-extended into r. */
function load(c: OpContext, r: Gp, m: string, w: number): void {
  c.emit(w === 8 ? `mov ${r}, ${m}` : w === 4 ? `mov ${r32(r)}, ${m}` : `movzx ${r32(r)}, ${m}`);
}

function rmw(c: OpContext, ins: MemInstr, op: Rmw, w: number): void {
  if (op === 'cmpxchg') {
    // The expected value must be in rax; holding rax first keeps the replacement out of it.
    c.tmpGp('rax');
    const rep = c.popGp();
    c.free('rax');
    c.popGp('rax');
    const { a, m } = access(c, ins, w);
    c.emit(`lock cmpxchg ${m}, ${rw(rep, bits(w))}`);
    // On success rax still holds the whole expected operand, not just the bytes compared.
    if (w === 4) c.emit('mov eax, eax');
    else widen(c, 'rax', w);
    c.free(rep);
    c.free(a);
    c.pushGp('rax');
    return;
  }
  if (op === 'and' || op === 'or' || op === 'xor') {
    const old = c.tmpGp('rax');
    const v = c.popGp();
    const { a, m } = access(c, ins, w);
    const t = c.tmpGp();
    const retry = c.fresh();
    // rax keeps its zero high bits: a failed narrow cmpxchg writes only al/ax, a 32-bit one zero-extends.
    load(c, old, m, w);
    c.label(retry);
    c.emit(`mov ${t}, ${old}`);
    c.emit(`${op} ${t}, ${v}`);
    c.emit(`lock cmpxchg ${m}, ${rw(t, bits(w))}`);
    c.emit(`jnz ${retry}`);
    c.free(t);
    c.free(v);
    c.free(a);
    c.pushGp(old);
    return;
  }
  const v = c.popGp();
  const { a, m } = access(c, ins, w);
  if (op === 'sub') c.emit(`neg ${v}`);
  c.emit(op === 'xchg' ? `xchg ${m}, ${rw(v, bits(w))}` : `lock xadd ${m}, ${rw(v, bits(w))}`);
  widen(c, v, w);
  c.free(a);
  c.pushGp(v);
}

/** wait and notify: the checks, then the futex helper (shared memory) or the unshared outcome. */
function waitNotify(c: OpContext, ins: MemInstr): void {
  const w = opInfo(ins.op).width;
  const what = opInfo(ins.op).name;
  // Only the linux-user runtime has the futex helpers; direct memory is the kernel's mode.
  if (c.env.memoryMode === 'direct') throw new UnsupportedError(`func ${c.index} (${c.env.funcName(c.index)}): ${what} is not supported in the kernel target`);
  const shared = c.env.module.memories[0].type.limits.shared;
  if (ins.op === Op.MemoryAtomicNotify) {
    if (!shared) {
      const n = c.popGp();
      const { a } = access(c, ins, w);
      c.emit(`xor ${r32(a)}, ${r32(a)}`);
      c.free(n);
      c.pushGp(a);
      return;
    }
    const r = c.tmpGp('rax');
    const n = c.popGp('rsi');
    const { a } = access(c, ins, w, 'rdi');
    c.emit(`lea rdi, [r15+rdi-${w}]`);
    c.beforeCall();
    c.emit('call __wasm_notify');
    c.free(n);
    c.free(a);
    c.pushGp(r);
    return;
  }
  if (!shared) {
    const timeout = c.popGp(), expected = c.popGp();
    const { a } = access(c, ins, w);
    c.emit(`jmp ${c.trap(Trap.Unshared)}`);
    // Never reached, but the stack after the operator still has its result.
    c.free(timeout);
    c.free(expected);
    c.pushGp(a);
    return;
  }
  const r = c.tmpGp('rax');
  const timeout = c.popGp('rdx'), expected = c.popGp('rsi');
  const { a } = access(c, ins, w, 'rdi');
  c.emit(`lea rdi, [r15+rdi-${w}]`);
  c.beforeCall();
  c.emit(`call ${w === 4 ? '__wasm_wait32' : '__wasm_wait64'}`);
  c.free(timeout);
  c.free(expected);
  c.free(a);
  c.pushGp(r);
}

export const atomics: Family = (ins: Instr, c: OpContext): boolean => {
  if (ins.op >> 8 !== 0xfe) return false;
  if (ins.op === Op.AtomicFence) {
    c.emit('mfence');
    return true;
  }
  const mi = ins as MemInstr;
  if (ins.op === Op.MemoryAtomicNotify || ins.op === Op.MemoryAtomicWait32 || ins.op === Op.MemoryAtomicWait64) {
    waitNotify(c, mi);
    return true;
  }
  const info = opInfo(ins.op);
  const s = shape(info.name);
  const w = info.width;
  if (s.kind === 'load') {
    const { a, m } = access(c, mi, w);
    load(c, a, m, w);
    c.pushGp(a);
  } else if (s.kind === 'store') {
    // xchg rather than mov: a store followed by a load of another cell must not be reordered (seq-cst).
    const v = c.popGp();
    const { a, m } = access(c, mi, w);
    c.emit(`xchg ${m}, ${rw(v, bits(w))}`);
    c.free(v);
    c.free(a);
  } else rmw(c, mi, s.rmw, w);
  return true;
};

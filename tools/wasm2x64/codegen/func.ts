/**
 * The single-pass function compiler: one walk over a validated body, writing
 * Intel-syntax assembly for tools/asm, with operands kept in registers by
 * the value stack (vstack.ts). The frame (see README "Code generator"):
 *
 *   [rbp+16+8i]   parameter i, and on return result i (the caller's argument area)
 *   [rbp+8]       return address
 *   [rbp]         caller's rbp
 *   [rbp-8(j+1)]  declared local j
 *   [rbp-8(L+d+1)] the spill slot of the operand at depth d (L = declared locals)
 *
 * Blocks that no branch targets need no label, so straight-line code keeps
 * its registers across them; the ends of targeted blocks, loop heads and
 * if/else joins are canonical (vstack.ts). r15 holds the linear memory base.
 */
import { type FuncType, type Instr, type Module, Op, opInfo, FUNC_FRAME, ValType } from '../wasm/index.js';
import { type OpContext, ptr, r32, rw } from './context.js';
import { FAMILIES } from './families.js';
import { ALU, COMPARE, LOAD, SHIFT, STORE, Trap, UNARY } from './ops.js';
import { type Expect, hex, invert, NO_CACHES, type Popped, ValueStack } from './vstack.js';

export class UnsupportedError extends Error {}

/** What a function needs from its module: labels of everything it refers to. */
export interface FuncEnv {
  readonly module: Module;
  funcLabel(i: number): string;
  /** A global's memory operand without its size: `[rip+LABEL]`, or `gs:[OFFSET]` for one that lives per CPU (the kernel). */
  globalOperand(i: number): string;
  /** Label of memory 0's object (base, bytes, max pages), or null without memory. */
  readonly memory: string | null;
  /**
   * How loads and stores reach memory 0. 'checked': r15 holds the base and
   * every access is compared with the memory's size first. 'direct' (the
   * kernel): linear memory is the address space from 0, so an access is
   * [zext(addr) + offset] unchecked and r15 is not used.
   */
  readonly memoryMode: 'checked' | 'direct';
  /** The qword the prologue compares rsp - frame with: the lowest address the stack may reach. */
  readonly stackLimit: string;
  tableObj(i: number): string;
  /** Function i's descriptor {code address, type id}: what a funcref to it points at. */
  funcRef(i: number): string;
  /** Element segment k's object {elements (references), length}. */
  elemSeg(k: number): string;
  /** Data segment k's object {bytes, length}. */
  dataSeg(k: number): string;
  /** Program-wide id of a function type, for call_indirect's signature check. */
  typeId(t: FuncType): number;
  funcName(i: number): string;
}

interface Ctl {
  readonly kind: 'block' | 'loop' | 'if';
  readonly height: number;
  readonly np: number;
  readonly nr: number;
  readonly start: string;
  readonly end: string;
  readonly elseLabel: string;
  /** Whether some branch goes to the end (or, for a loop, to the start). */
  readonly targeted: boolean;
  hasElse: boolean;
  /** For an if with an else: the state at its conditional jump, which is the else branch's state. */
  atJump?: ReturnType<ValueStack['snapshot']>;
  /** The local caches its label (a loop's start, anything else's end) expects. */
  expect: Expect;
}

/** How many locals of each register class a loop keeps cached across its iterations. */
const LOOP_CACHES = { gp: 6, xmm: 6 };

const isFloat = (t: ValType): boolean => t === ValType.F32 || t === ValType.F64;

export function compileFunction(env: FuncEnv, index: number): string {
  const f = env.module.funcs[index];
  const code = f.code!;
  const np = f.type.params.length, nr = f.type.results.length, nd = code.locals.length;
  const localTypes = [...f.type.params, ...code.locals];
  const L = `.L${env.funcLabel(index)}_`;
  const out: string[] = [];
  const e = (s: string): void => { out.push(`  ${s}`); };
  const label = (s: string): void => { out.push(`${s}:`); };
  let nlab = 0;
  const fresh = (): string => `${L}${nlab++}`;
  const traps = new Set<Trap>();
  const trap = (t: Trap): string => { traps.add(t); return `${L}trap${t}`; };
  let at = 0;
  const where = (): string => `func ${index} (${env.funcName(index)}) @${at}`;

  const localOff = (j: number): number => (j < np ? 16 + 8 * j : -8 * (j - np + 1));
  /** Loads a value of type t from the 8-byte cell at `at` (an address without size): i32 zero-extended, floats as bits. */
  const loadTyped = (t: ValType, r: string, at: string): void => {
    e(r.startsWith('xmm') ? `movq ${r}, qword ptr ${at}` : t === ValType.I32 ? `mov ${r32(r)}, dword ptr ${at}` : `mov ${r}, qword ptr ${at}`);
  };
  const vs = new ValueStack(e, (d) => -8 * (nd + d + 1), localTypes.length, where);
  const mem = (): string => {
    if (!env.memory) throw new Error('memory instruction without memory (validation lets none through)');
    return env.memory;
  };

  const ctx: OpContext = {
    env, index,
    emit: e, label, fresh, trap,
    popGp: (want) => vs.take(vs.pop(), 'gp', want),
    popXmm: (want) => vs.take(vs.pop(), 'xmm', want),
    pushGp: (r) => vs.pushReg(r),
    pushXmm: (r) => vs.pushReg(r),
    pushCond: (cc) => vs.push({ k: 'cond', cc }),
    tmpGp: (want) => (want ? vs.claim(want) : vs.alloc('gp')),
    tmpXmm: (want) => (want ? vs.claim(want) : vs.alloc('xmm')),
    free: (r) => vs.free(r),
    beforeCall: () => { vs.spillStack(); vs.forgetAll(); },
  };

  const based = env.memory !== null && env.memoryMode === 'checked';
  label(env.funcLabel(index));
  e('push rbp');
  e('mov rbp, rsp');
  const frameLine = out.length;
  e('lea rax, [rsp-FRAME]');
  e(`cmp rax, ${env.stackLimit}`);
  e(`jb ${trap(Trap.Exhaustion)}`);
  e('sub rsp, FRAME');
  if (nd > 0 && nd <= 8) for (let j = 0; j < nd; j++) e(`mov qword ptr [rbp-${8 * (j + 1)}], 0`);
  else if (nd > 8) {
    e(`lea rdi, [rbp-${8 * nd}]`);
    e(`mov ecx, ${nd}`);
    e('xor eax, eax');
    e('rep stosq');
  }
  if (based) e(`mov r15, qword ptr [rip+${env.memory}]`);

  /** Branch targets: blocks whose end (loops: whose start) some branch reaches. */
  const targeted = new Set<number>();
  for (const ins of code.body) {
    if (ins.op === Op.Br || ins.op === Op.BrIf) targeted.add(ins.target);
    else if (ins.op === Op.BrTable) for (const t of [...ins.targets, ins.defaultTarget]) targeted.add(t);
  }

  /** Stores a popped value to the frame cell at rbp+off. */
  const put = (off: number, p: Popped): void => {
    if (p.k !== 'slot') { vs.storeTo(off, p); return; }
    const t = vs.temp();
    e(`mov ${t}, ${vs.slot(p.d)}`);
    vs.storeTo(off, { k: 'reg', r: t });
  };
  const emitReturn = (): void => {
    for (let i = nr - 1; i >= 0; i--) {
      put(16 + 8 * i, vs.pop());
      vs.releaseScratch();
    }
    e('leave');
    e('ret');
  };

  const ctls: Ctl[] = [];
  const byIndex = new Map<number, Ctl>();
  const branch = (target: number): { dest: string; n: number; height: number; expect: Expect } | null => {
    if (target === FUNC_FRAME) return null;
    const c = byIndex.get(target)!;
    return { dest: c.kind === 'loop' ? c.start : c.end, n: c.kind === 'loop' ? c.np : c.nr, height: c.height, expect: c.expect };
  };
  /** Loads local j into register r. */
  const loadLocal = (j: number, r: string): void => {
    loadTyped(localTypes[j], r, `[rbp${localOff(j) < 0 ? '-' : '+'}${Math.abs(localOff(j))}]`);
  };
  /** The caches a new block's or if's end label expects: those of the innermost loop around it. */
  const enclosingExpect = (): Expect => {
    for (let k = ctls.length - 1; k >= 0; k--) if (ctls[k].kind === 'loop') return ctls[k].expect;
    return NO_CACHES;
  };
  /**
   * A loop's caches: the locals its body reads most, in the registers that
   * cache them now, or loaded before the loop in fresh ones.
   */
  const loopCaches = (start: number, end: number): Expect => {
    const reads = new Map<number, number>();
    for (let k = start + 1; k < end; k++) {
      const x = body[k];
      if (x.op === Op.LocalGet) reads.set(x.local, (reads.get(x.local) ?? 0) + 1);
    }
    const now = vs.cachesNow();
    const left = { ...LOOP_CACHES };
    const out = new Map<number, string>();
    for (const [j] of [...reads].sort((a, b) => b[1] - a[1] || a[0] - b[0])) {
      const cls = isFloat(localTypes[j]) ? 'xmm' : 'gp';
      if (left[cls] === 0) continue;
      left[cls]--;
      let r = now.get(j);
      if (r === undefined) {
        r = vs.alloc(cls);
        loadLocal(j, r);
        vs.free(r);
        vs.cache(j, r);
      }
      out.set(j, r);
    }
    // A later choice may have taken the register of an earlier one.
    for (const [j, r] of out) if (vs.cached(j) !== r) out.delete(j);
    return out;
  };
  /** Puts the branch's state in place (operands below the target height in their slots, carried values above them) and jumps. */
  const jumpTo = (target: number): void => {
    const b = branch(target);
    if (!b) { emitReturn(); return; }
    vs.spillStack(0, b.height);
    const top = vs.depth;
    for (let i = 0; i < b.n; i++) {
      const d = top - b.n + i;
      const en = vs.peek(top - 1 - d);
      if (d !== b.height + i || en.k !== 'slot') put(-8 * (nd + b.height + i + 1), { ...en, d });
      vs.releaseScratch();
    }
    // The state after a jump is never used again (dead code, or a snapshot restored), so it may change freely.
    vs.truncate(b.height);
    vs.establish(b.expect, loadLocal);
    e(`jmp ${b.dest}`);
  };
  /** The condition code under which a popped i32 is true: a comparison's own, or a test of the value. */
  const condition = (c: Popped): string => {
    if (c.k === 'cond') return c.cc;
    const r = vs.read(c);
    e(`test ${r32(r)}, ${r32(r)}`);
    return 'ne';
  };
  /**
   * Emits a jump to `dest` taken when the popped condition is true (or false
   * with `negate`); `expect` are the caches to establish first, between the
   * test and the jump (moves keep the flags).
   */
  const jumpIf = (c: Popped, dest: string, negate: boolean, expect: Expect): void => {
    const cc = condition(c);
    vs.establish(expect, loadLocal);
    e(`j${negate ? invert(cc) : cc} ${dest}`);
  };

  const call = (type: FuncType, target: string | null, targetReg?: string): void => {
    const p = type.params.length, r = type.results.length;
    let k = Math.max(p, r);
    k += k & 1; // an even count keeps rsp 16-aligned at every call inside compiled code
    if (k) e(`sub rsp, ${8 * k}`);
    for (let i = p - 1; i >= 0; i--) {
      const a = vs.pop();
      const src = a.k === 'reg' ? a.r : vs.read(a);
      e(`${src.startsWith('xmm') ? 'movq' : 'mov'} qword ptr [rsp+${8 * i}], ${src}`);
      vs.releaseScratch();
    }
    vs.spillStack();
    vs.forgetAll();
    vs.releaseScratch();
    e(`call ${target ?? targetReg}`);
    if (targetReg) vs.free(targetReg);
    for (let i = 0; i < r; i++) {
      const t = type.results[i];
      const reg = vs.alloc(isFloat(t) ? 'xmm' : 'gp');
      loadTyped(t, reg, `[rsp+${8 * i}]`);
      vs.pushReg(reg);
    }
    if (k) e(`add rsp, ${8 * k}`);
    // The callee may belong to another module with another memory.
    if (based) e(`mov r15, qword ptr [rip+${env.memory}]`);
  };

  /**
   * The memory operand (without size) of a `width`-byte access at a popped
   * address + offset, and the register it uses that the caller now owns (null
   * if none). Checked: t = zero-extended address + offset + width, compared
   * with the memory's size, and the access is at [r15+t-width]. Direct: the
   * address plus offset, formed in 64 bits, unchecked.
   */
  const address = (a: Popped, offset: number, width: number): { at: string; t: string | null } => {
    const checked = env.memoryMode === 'checked';
    const end = checked ? offset + width : offset;
    const base = a.k === 'const' ? null : vs.read(a);
    if (!checked && base && end <= 0x7fffffff) return { at: `[${base}+${end}]`, t: null };
    if (base && end <= vs.boundsOf(base) && offset <= 0x7fffffff) return { at: `[r15+${base}+${offset}]`, t: null };
    const t = vs.alloc('gp');
    if (!base) e(`mov ${t}, ${hex(a.k === 'const' ? a.v + BigInt(end) : 0)}`);
    else if (end <= 0x7fffffff) e(`lea ${t}, [${base}+${end}]`);
    else {
      e(`mov ${t}, ${hex(end)}`);
      e(`add ${t}, ${base}`);
    }
    if (!checked) return { at: `[${t}]`, t };
    e(`cmp ${t}, qword ptr [rip+${mem()}+8]`);
    e(`ja ${trap(Trap.OutOfBounds)}`);
    if (base) vs.noteBounds(base, end);
    return { at: `[r15+${t}-${width}]`, t };
  };

  const body = code.body;
  let dead = false;
  for (let i = 0; i < body.length; i++) {
    const ins: Instr = body[i];
    const op = ins.op;
    at = ins.pos;
    if (dead && (op === Op.Block || op === Op.Loop || op === Op.If)) {
      i = (ins as { end: number }).end;
      continue;
    }
    if (dead && op !== Op.Else && op !== Op.End) continue;
    if (op !== Op.BrIf && op !== Op.If && op !== Op.I32Eqz && op !== Op.Select && op !== Op.SelectT) vs.settle();
    switch (ins.op) {
      case Op.Nop: break;
      case Op.Unreachable: e(`jmp ${trap(Trap.Unreachable)}`); dead = true; break;
      case Op.Block: case Op.Loop: case Op.If: {
        const n = i;
        const np2 = ins.sig.params.length;
        const c: Ctl = {
          kind: ins.op === Op.Block ? 'block' : ins.op === Op.Loop ? 'loop' : 'if',
          height: vs.depth - np2 - (ins.op === Op.If ? 1 : 0), np: np2, nr: ins.sig.results.length,
          start: `${L}start${n}`, end: `${L}end${n}`, elseLabel: `${L}else${n}`, hasElse: false, targeted: targeted.has(n),
          expect: enclosingExpect(),
        };
        if (ins.op === Op.If) {
          const cond = vs.pop();
          if (ins.else < 0) {
            // The false edge goes straight to the end, a join.
            vs.spillStack();
            jumpIf(cond, c.elseLabel, true, c.expect);
          } else {
            c.atJump = vs.snapshot();
            jumpIf(cond, c.elseLabel, true, NO_CACHES);
          }
        }
        if (c.kind === 'loop' && c.targeted) {
          vs.spillStack();
          c.expect = loopCaches(i, ins.end);
          label(c.start);
          vs.atLabel(vs.depth, c.expect);
        }
        ctls.push(c);
        byIndex.set(n, c);
        break;
      }
      case Op.Else: {
        const c = ctls.at(-1)!;
        if (!dead) {
          vs.spillStack();
          vs.establish(c.expect, loadLocal);
          e(`jmp ${c.end}`);
        }
        label(c.elseLabel);
        vs.restore(c.atJump!);
        c.hasElse = true;
        dead = false;
        break;
      }
      case Op.End: {
        if (ins.block === FUNC_FRAME) {
          if (!dead) emitReturn();
          break;
        }
        const c = ctls.pop()!;
        const join = c.kind === 'if' || (c.kind === 'block' && c.targeted);
        if (join) {
          if (!dead) {
            vs.spillStack();
            vs.establish(c.expect, loadLocal);
          }
          if (c.kind === 'if' && !c.hasElse) label(c.elseLabel);
          label(c.end);
          vs.atLabel(c.height + c.nr, c.expect);
          dead = false;
        } else if (dead) vs.atLabel(c.height + c.nr, NO_CACHES); // unreachable from here to the next join
        break;
      }
      case Op.Br: jumpTo(ins.target); dead = true; break;
      case Op.BrIf: {
        const c = vs.pop();
        const b = branch(ins.target);
        if (b && (b.n === 0 || vs.depth - b.n === b.height)) {
          vs.spillStack(); // flags survive stores
          jumpIf(c, b.dest, false, b.expect);
        } else {
          const s = vs.snapshot();
          const skip = fresh();
          jumpIf(c, skip, true, NO_CACHES);
          vs.done();
          jumpTo(ins.target);
          label(skip);
          vs.restore(s);
        }
        break;
      }
      case Op.BrTable: {
        const idx = vs.take(vs.pop(), 'gp');
        vs.spillStack();
        const all = [...ins.targets, ins.defaultTarget];
        const tab = fresh();
        const t = vs.temp();
        e(`mov ${r32(t)}, ${ins.targets.length}`);
        e(`cmp ${r32(idx)}, ${r32(t)}`);
        e(`cmovae ${r32(idx)}, ${r32(t)}`);
        e(`lea ${t}, [rip+${tab}]`);
        e(`movsxd ${idx}, dword ptr [${t}+${idx}*4]`);
        e(`add ${idx}, ${t}`);
        e(`jmp ${idx}`);
        vs.free(idx);
        vs.done();
        const stubs = new Map<number, string>();
        for (const x of all) if (!stubs.has(x)) stubs.set(x, fresh());
        label(tab);
        for (const x of all) e(`.long ${stubs.get(x)}-${tab}`);
        const s = vs.snapshot();
        for (const [x, st] of stubs) { label(st); vs.restore(s); jumpTo(x); vs.done(); }
        dead = true;
        break;
      }
      case Op.Return: emitReturn(); dead = true; break;
      case Op.Call:
        // Imports a family compiles inline (the `hw` intrinsics) never become calls.
        if (!FAMILIES.some((fam) => fam(ins, ctx))) call(env.module.funcs[ins.func].type, env.funcLabel(ins.func));
        break;
      case Op.CallIndirect: {
        // The table is {entries, size, max}; an entry is a funcref, a pointer to {code address, type id} or null.
        const type = env.module.types[ins.type];
        const tb = env.tableObj(ins.table);
        const x = vs.take(vs.pop(), 'gp');
        e(`cmp ${x}, qword ptr [rip+${tb}+8]`);
        e(`jae ${trap(Trap.UndefinedElement)}`);
        const t = vs.temp();
        e(`mov ${t}, qword ptr [rip+${tb}]`);
        e(`mov ${x}, qword ptr [${t}+${x}*8]`);
        e(`test ${x}, ${x}`);
        e(`jz ${trap(Trap.UninitializedElement)}`);
        e(`cmp dword ptr [${x}+8], ${env.typeId(type)}`);
        e(`jne ${trap(Trap.SignatureMismatch)}`);
        e(`mov ${x}, qword ptr [${x}]`);
        call(type, null, x);
        break;
      }
      case Op.Drop: vs.pop(); break;
      case Op.Select: case Op.SelectT: {
        const c = vs.pop();
        const b = vs.pop();
        const bop = b.k === 'slot' ? vs.slot(b.d) : vs.read(b);
        const a = vs.take(vs.pop(), 'gp');
        e(`cmov${invert(condition(c))} ${a}, ${bop}`);
        vs.pushReg(a);
        break;
      }
      case Op.LocalGet: {
        const j = ins.local;
        const r = vs.cached(j);
        if (r) { vs.push({ k: 'reg', r }); break; }
        const t = localTypes[j];
        const reg = vs.alloc(isFloat(t) ? 'xmm' : 'gp');
        loadLocal(j, reg);
        vs.pushReg(reg);
        vs.cache(j, reg);
        break;
      }
      case Op.LocalSet: case Op.LocalTee: {
        const j = ins.local;
        vs.forget(j);
        vs.assigned(j);
        if (ins.op === Op.LocalSet && vs.top()!.k === 'const') {
          vs.storeTo(localOff(j), vs.pop());
          break;
        }
        const r = vs.topToReg(isFloat(localTypes[j]) ? 'xmm' : 'gp');
        vs.storeTo(localOff(j), { k: 'reg', r });
        vs.cache(j, r);
        if (ins.op === Op.LocalSet) vs.pop();
        break;
      }
      case Op.GlobalGet: {
        const t = env.module.globals[ins.global].type.type;
        const reg = vs.alloc('gp');
        e(t === ValType.I32 ? `mov ${r32(reg)}, dword ptr ${env.globalOperand(ins.global)}` : `mov ${reg}, qword ptr ${env.globalOperand(ins.global)}`);
        vs.pushReg(reg);
        break;
      }
      case Op.GlobalSet: {
        const v = vs.pop();
        const src = vs.operand(v, 64);
        e(`${src.startsWith('xmm') ? 'movq' : 'mov'} qword ptr ${env.globalOperand(ins.global)}, ${src.includes('ptr') ? vs.read(v) : src}`);
        break;
      }
      case Op.I32Const: vs.push({ k: 'const', v: BigInt(ins.value >>> 0) }); break;
      case Op.F32Const: vs.push({ k: 'const', v: BigInt(ins.bits >>> 0) }); break;
      case Op.I64Const: vs.push({ k: 'const', v: ins.value }); break;
      case Op.F64Const: vs.push({ k: 'const', v: BigInt.asIntN(64, ins.bits) }); break;
      case Op.MemorySize: {
        const t = vs.alloc('gp');
        e(`mov ${t}, qword ptr [rip+${mem()}+8]`);
        e(`shr ${t}, 16`);
        vs.pushReg(t);
        break;
      }
      case Op.MemoryGrow: {
        const p = vs.pop();
        ctx.beforeCall();
        const rsi = vs.take(p, 'gp', 'rsi');
        e(`lea rdi, [rip+${mem()}]`);
        e('call __mem_grow');
        vs.free(rsi);
        vs.forgetAll();
        const rax = vs.claim('rax');
        vs.pushReg(rax);
        break;
      }
      case Op.MemoryFill: case Op.MemoryCopy: {
        // Both ranges are checked whole before any byte moves, as bulk memory requires.
        const fill = ins.op === Op.MemoryFill;
        const [rd, rs, rc] = ['rdi', fill ? 'rax' : 'rsi', 'rcx'].map((r) => vs.claim(r));
        vs.loadInto(vs.pop(), rc);
        vs.loadInto(vs.pop(), rs);
        vs.loadInto(vs.pop(), rd);
        const checkAndBase = (r: string): void => {
          if (!based) return;
          const t = vs.temp();
          e(`lea ${t}, [${r}+rcx]`);
          e(`cmp ${t}, qword ptr [rip+${mem()}+8]`);
          e(`ja ${trap(Trap.OutOfBounds)}`);
          e(`add ${r}, r15`);
        };
        if (!fill) checkAndBase('rsi');
        checkAndBase('rdi');
        if (fill) e('rep stosb');
        else {
          const fwd = fresh(), done = fresh();
          e('cmp rdi, rsi');
          e(`jbe ${fwd}`);
          // Overlapping with the destination above: copy from the top down.
          e('lea rdi, [rdi+rcx-1]');
          e('lea rsi, [rsi+rcx-1]');
          e('std');
          e('rep movsb');
          e('cld');
          e(`jmp ${done}`);
          label(fwd);
          e('rep movsb');
          label(done);
        }
        for (const r of [rd, rs, rc]) vs.free(r);
        break;
      }
      case Op.I32Eqz: case Op.I64Eqz: {
        const p = vs.pop();
        if (p.k === 'cond') vs.push({ k: 'cond', cc: invert(p.cc) });
        else {
          const r = vs.read(p);
          e(op === Op.I32Eqz ? `test ${r32(r)}, ${r32(r)}` : `test ${r}, ${r}`);
          vs.push({ k: 'cond', cc: 'e' });
        }
        break;
      }
      default: {
        if (ALU.has(op)) {
          const [mn, w] = ALU.get(op)!;
          const b = vs.pop();
          const bop = vs.operand(b, w);
          const pa = vs.pop();
          if (mn === 'add' && pa.k === 'reg' && vs.caches(pa.r) && !bop.includes('ptr')) {
            // A three-operand add keeps the local's cached copy alive.
            const r = vs.alloc('gp');
            // An i64 constant beyond 32 bits is no displacement: bop has it in a register then.
            const addend = b.k !== 'const' ? vs.read(b) : /^-?0x/.test(bop) ? hex(BigInt.asIntN(32, b.v)) : bop;
            e(`lea ${rw(r, w)}, [${pa.r}+${addend}]`);
            vs.pushReg(r);
            break;
          }
          const a = vs.take(pa, 'gp');
          const ra = rw(a, w);
          e(mn === 'imul' && /^-?0x/.test(bop) ? `imul ${ra}, ${ra}, ${bop}` : `${mn} ${ra}, ${bop}`);
          vs.pushReg(a);
        } else if (SHIFT.has(op)) {
          const [mn, w] = SHIFT.get(op)!;
          if (vs.top()!.k === 'const') {
            const n = vs.pop() as { v: bigint };
            const a = vs.take(vs.pop(), 'gp');
            e(`${mn} ${rw(a, w)}, ${Number(n.v & BigInt(w - 1))}`);
            vs.pushReg(a);
          } else {
            const rcx = vs.claim('rcx');
            vs.loadInto(vs.pop(), rcx);
            const a = vs.take(vs.pop(), 'gp');
            e(`${mn} ${rw(a, w)}, cl`);
            vs.free(rcx);
            vs.pushReg(a);
          }
        } else if (COMPARE.has(op)) {
          const [cc, w] = COMPARE.get(op)!;
          const b = vs.pop();
          const bop = vs.operand(b, w);
          const a = vs.pop();
          e(`cmp ${rw(vs.read(a), w)}, ${bop}`);
          vs.push({ k: 'cond', cc });
        } else if (UNARY.has(op)) {
          const u = UNARY.get(op)!;
          const a = vs.take(vs.pop(), 'gp');
          const t = u.code.some((l) => /\b[re]cx\b/.test(l)) ? vs.temp() : '';
          const t2 = u.code.some((l) => /\b[re]dx\b/.test(l)) ? vs.temp() : '';
          const names: Record<string, string> = {
            rax: a, eax: r32(a), ax: rw(a, 16), al: rw(a, 8), rcx: t, ecx: t && r32(t), rdx: t2, edx: t2 && r32(t2),
          };
          for (const line of u.code) e(line.replace(/\b(rax|eax|ax|al|rcx|ecx|rdx|edx)\b/g, (m) => names[m]));
          // Keeps an i32 result zero-extended when nothing above wrote it as 32 bits.
          if (u.store === 32 && !u.code.length) e(`mov ${r32(a)}, ${r32(a)}`);
          vs.pushReg(a);
        } else if (LOAD.has(op)) {
          const [ld, w] = LOAD.get(op)!;
          const { at: where, t } = address(vs.pop(), (ins as { offset: number }).offset, w);
          const dst = t ?? vs.alloc('gp');
          e(`${ld.replace(/\b(eax|rax)\b/, (m) => (m === 'eax' ? r32(dst) : dst))} ${where}`);
          vs.pushReg(dst);
        } else if (STORE.has(op)) {
          const bits = STORE.get(op)!;
          const v = vs.pop();
          const src = v.k === 'const' ? vs.operand(v, bits) : rw(vs.read(v), bits);
          const { at: where, t } = address(vs.pop(), (ins as { offset: number }).offset, bits / 8);
          e(`mov ${ptr(bits / 8)} ${where}, ${src}`);
          if (t) vs.free(t);
        } else if (!divide(op) && !FAMILIES.some((fam) => fam(ins, ctx))) {
          throw new UnsupportedError(`func ${index} (${env.funcName(index)}): unsupported instruction ${opInfo(op).name}`);
        }
      }
    }
    vs.done();
  }

  /** Division and remainder: the traps wasm requires, and INT_MIN % -1 = 0 where x86 would fault. */
  function divide(op: Op): boolean {
    const kinds: Partial<Record<Op, [32 | 64, boolean, boolean]>> = {
      [Op.I32DivS]: [32, true, false], [Op.I32DivU]: [32, false, false], [Op.I32RemS]: [32, true, true], [Op.I32RemU]: [32, false, true],
      [Op.I64DivS]: [64, true, false], [Op.I64DivU]: [64, false, false], [Op.I64RemS]: [64, true, true], [Op.I64RemU]: [64, false, true],
    };
    const k = kinds[op];
    if (!k) return false;
    const [w, signed, rem] = k;
    const rax = vs.claim('rax'), rdx = vs.claim('rdx');
    const cr = vs.take(vs.pop(), 'gp');
    const c = rw(cr, w);
    vs.loadInto(vs.pop(), rax);
    const [a, d] = w === 32 ? ['eax', 'edx'] : ['rax', 'rdx'];
    e(`test ${c}, ${c}`);
    e(`jz ${trap(Trap.DivByZero)}`);
    if (signed) {
      const normal = fresh(), done = fresh();
      e(`cmp ${c}, -1`);
      e(`jne ${normal}`);
      if (rem) e(`xor ${d}, ${d}`);
      else { e(`neg ${a}`); e(`jo ${trap(Trap.Overflow)}`); }
      e(`jmp ${done}`);
      label(normal);
      e(w === 32 ? 'cdq' : 'cqo');
      e(`idiv ${c}`);
      label(done);
    } else {
      e(`xor ${d}, ${d}`);
      e(`div ${c}`);
    }
    vs.free(cr);
    vs.free(rem ? rax : rdx);
    vs.pushReg(rem ? rdx : rax);
    return true;
  }

  for (const t of [...traps].sort((x, y) => x - y)) {
    label(`${L}trap${t}`);
    e(`mov edi, ${t}`);
    e(`mov esi, ${index}`);
    e('jmp __wasm_trap');
  }
  const frame = 8 * (nd + vs.maxDepth);
  out[frameLine] = `  lea rax, [rsp-${frame + (frame & 8)}]`;
  out[frameLine + 3] = `  sub rsp, ${frame + (frame & 8)}`;
  return out.join('\n') + '\n';
}

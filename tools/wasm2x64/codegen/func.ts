/**
 * The single-pass function compiler: one walk over a validated body, writing
 * Intel-syntax assembly for tools/asm. The frame (see README "Code generator"):
 *
 *   [rbp+16+8i]   parameter i, and on return result i (the caller's argument area)
 *   [rbp+8]       return address
 *   [rbp]         caller's rbp
 *   [rbp-8(j+1)]  declared local j
 *   [rbp-8(L+d+1)] operand-stack slot at depth d (L = declared locals)
 *
 * Every wasm stack depth has a fixed slot, so a block's results are already
 * where the code after its `end` expects them and a branch only copies the
 * carried values down to the target's height. Registers live within one
 * instruction only; r15 holds the linear memory base for the whole function.
 */
import { type FuncType, type Instr, Op, opInfo, FUNC_FRAME, type Module } from '../wasm/index.js';
import type { OpContext } from './context.js';
import { FAMILIES } from './families.js';
import { ALU, COMPARE, LOAD, SHIFT, STORE, Trap, UNARY } from './ops.js';

export class UnsupportedError extends Error {}

/** What a function needs from its module: labels of everything it refers to. */
export interface FuncEnv {
  readonly module: Module;
  funcLabel(i: number): string;
  globalCell(i: number): string;
  /** Label of memory 0's object (base, bytes, max pages), or null without memory. */
  readonly memory: string | null;
  tableObj(i: number): string;
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
  hasElse: boolean;
}

const hex = (v: number | bigint): string => (BigInt(v) < 0n ? `-0x${(-BigInt(v)).toString(16)}` : `0x${BigInt(v).toString(16)}`);

export function compileFunction(env: FuncEnv, index: number): string {
  const f = env.module.funcs[index];
  const code = f.code!;
  const np = f.type.params.length, nr = f.type.results.length, nd = code.locals.length;
  const L = `.L${env.funcLabel(index)}_`;
  const out: string[] = [];
  const e = (s: string): void => { out.push(`  ${s}`); };
  const label = (s: string): void => { out.push(`${s}:`); };
  let nlab = 0;
  const fresh = (): string => `${L}${nlab++}`;
  const traps = new Set<Trap>();
  const trap = (t: Trap): string => { traps.add(t); return `${L}trap${t}`; };

  const local = (j: number): string => (j < np ? `[rbp+${16 + 8 * j}]` : `[rbp-${8 * (j - np + 1)}]`);
  const slot = (d: number): string => `[rbp-${8 * (nd + d + 1)}]`;
  let sp = 0, maxSp = 0;
  const push = (): string => { const s = slot(sp++); if (sp > maxSp) maxSp = sp; return s; };
  /**
   * The operator-family interface over slots: operands are loaded into
   * registers owned for the current instruction only, results stored back.
   */
  const owned = new Set<string>();
  const GP_POOL = ['r8', 'r9', 'r10', 'r11', 'rsi', 'rdi', 'rdx', 'rcx', 'rax'];
  const own = (r: string | undefined, pool: string[]): string => {
    const reg = r ?? pool.find((x) => !owned.has(x));
    if (!reg || owned.has(reg)) throw new Error(`func ${index}: register ${reg ?? '(none free)'} is already taken by this instruction`);
    owned.add(reg);
    return reg;
  };
  const XMM_POOL = Array.from({ length: 16 }, (_, i) => `xmm${i}`);
  const ctx: OpContext = {
    env, index,
    emit: (s) => e(s),
    label: (s) => label(s),
    fresh: () => fresh(),
    trap: (t) => trap(t),
    popGp: (want) => { const r = own(want, GP_POOL); e(`mov ${r}, qword ptr ${slot(--sp)}`); return r; },
    popXmm: (want) => { const r = own(want, XMM_POOL); e(`movq ${r}, qword ptr ${slot(--sp)}`); return r; },
    pushGp: (r) => { e(`mov qword ptr ${push()}, ${r}`); owned.delete(r); },
    pushXmm: (r) => { e(`movq qword ptr ${push()}, ${r}`); owned.delete(r); },
    tmpGp: (want) => own(want, GP_POOL),
    tmpXmm: (want) => own(want, XMM_POOL),
    free: (r) => { owned.delete(r); },
    beforeCall: () => {},
  };
  const mem = (): string => {
    if (!env.memory) throw new Error('memory instruction without memory (validation lets none through)');
    return env.memory;
  };

  label(env.funcLabel(index));
  e('push rbp');
  e('mov rbp, rsp');
  const frameLine = out.length;
  e('lea rax, [rsp-FRAME]');
  e('cmp rax, qword ptr [rip+__stack_limit]');
  e(`jb ${trap(Trap.Exhaustion)}`);
  e('sub rsp, FRAME');
  if (nd > 0 && nd <= 8) for (let j = 0; j < nd; j++) e(`mov qword ptr [rbp-${8 * (j + 1)}], 0`);
  else if (nd > 8) {
    e(`lea rdi, [rbp-${8 * nd}]`);
    e(`mov ecx, ${nd}`);
    e('xor eax, eax');
    e('rep stosq');
  }
  if (env.memory) e(`mov r15, qword ptr [rip+${env.memory}]`);

  const copyDown = (from: number, to: number, n: number): void => {
    for (let i = 0; i < n; i++) {
      if (from + i === to + i) continue;
      e(`mov rax, qword ptr ${slot(from + i)}`);
      e(`mov qword ptr ${slot(to + i)}, rax`);
    }
  };
  const emitReturn = (): void => {
    for (let i = 0; i < nr; i++) {
      e(`mov rax, qword ptr ${slot(sp - nr + i)}`);
      e(`mov qword ptr [rbp+${16 + 8 * i}], rax`);
    }
    e('leave');
    e('ret');
  };

  const ctls: Ctl[] = [];
  const byIndex = new Map<number, Ctl>();
  /** Where a branch to `target` goes and how many values it carries. */
  const branch = (target: number): { dest: string; n: number; height: number } | null => {
    if (target === FUNC_FRAME) return null;
    const c = byIndex.get(target)!;
    return c.kind === 'loop' ? { dest: c.start, n: c.np, height: c.height } : { dest: c.end, n: c.nr, height: c.height };
  };
  /** Copies the carried values and jumps (or returns). */
  const jumpTo = (target: number): void => {
    const b = branch(target);
    if (!b) { emitReturn(); return; }
    copyDown(sp - b.n, b.height, b.n);
    e(`jmp ${b.dest}`);
  };

  const call = (type: FuncType, target: string): void => {
    const p = type.params.length, r = type.results.length;
    let k = Math.max(p, r);
    k += k & 1; // an even count keeps rsp 16-aligned at every call inside compiled code
    if (k) e(`sub rsp, ${8 * k}`);
    for (let i = 0; i < p; i++) {
      e(`mov rax, qword ptr ${slot(sp - p + i)}`);
      e(`mov qword ptr [rsp+${8 * i}], rax`);
    }
    e(`call ${target}`);
    sp -= p;
    for (let i = 0; i < r; i++) {
      e(`mov rax, qword ptr [rsp+${8 * i}]`);
      e(`mov qword ptr ${push()}, rax`);
    }
    if (k) e(`add rsp, ${8 * k}`);
    // The callee may belong to another module with another memory.
    if (env.memory) e(`mov r15, qword ptr [rip+${env.memory}]`);
  };

  /** rcx = zero-extended address + offset + width, checked against the memory's size; the access is at [r15+rcx-width]. */
  const address = (addrSlot: string, offset: number, width: number): void => {
    e(`mov eax, dword ptr ${addrSlot}`);
    const end = offset + width;
    if (end <= 0x7fffffff) e(`lea rcx, [rax+${end}]`);
    else {
      e(`mov rcx, ${hex(end)}`);
      e('add rcx, rax');
    }
    e(`cmp rcx, qword ptr [rip+${mem()}+8]`);
    e(`ja ${trap(Trap.OutOfBounds)}`);
  };

  const body = code.body;
  let dead = false;
  for (let i = 0; i < body.length; i++) {
    const ins: Instr = body[i];
    const op = ins.op;
    if (dead && (op === Op.Block || op === Op.Loop || op === Op.If)) {
      i = (ins as { end: number }).end;
      continue;
    }
    if (dead && op !== Op.Else && op !== Op.End) continue;
    if (owned.size) throw new Error(`func ${index}: ${[...owned].join(', ')} still owned after an operator`);
    switch (ins.op) {
      case Op.Nop: break;
      case Op.Unreachable: e(`jmp ${trap(Trap.Unreachable)}`); dead = true; break;
      case Op.Block: case Op.Loop: case Op.If: {
        const n = i;
        if (ins.op === Op.If) {
          e(`mov eax, dword ptr ${slot(--sp)}`);
          e('test eax, eax');
          e(`jz ${L}else${n}`);
        }
        const c: Ctl = {
          kind: ins.op === Op.Block ? 'block' : ins.op === Op.Loop ? 'loop' : 'if',
          height: sp - ins.sig.params.length, np: ins.sig.params.length, nr: ins.sig.results.length,
          start: `${L}start${n}`, end: `${L}end${n}`, elseLabel: `${L}else${n}`, hasElse: false,
        };
        ctls.push(c);
        byIndex.set(n, c);
        if (c.kind === 'loop') label(c.start);
        break;
      }
      case Op.Else: {
        const c = ctls.at(-1)!;
        if (!dead) e(`jmp ${c.end}`);
        label(c.elseLabel);
        c.hasElse = true;
        sp = c.height + c.np;
        dead = false;
        break;
      }
      case Op.End: {
        if (ins.block === FUNC_FRAME) {
          if (!dead) emitReturn();
          break;
        }
        const c = ctls.pop()!;
        if (c.kind === 'if' && !c.hasElse) label(c.elseLabel);
        label(c.end);
        sp = c.height + c.nr;
        if (sp > maxSp) maxSp = sp;
        dead = false;
        break;
      }
      case Op.Br: jumpTo(ins.target); dead = true; break;
      case Op.BrIf: {
        e(`mov eax, dword ptr ${slot(--sp)}`);
        e('test eax, eax');
        const b = branch(ins.target);
        if (b && (b.n === 0 || sp - b.n === b.height)) e(`jnz ${b.dest}`);
        else {
          const skip = fresh();
          e(`jz ${skip}`);
          jumpTo(ins.target);
          label(skip);
        }
        break;
      }
      case Op.BrTable: {
        e(`mov eax, dword ptr ${slot(--sp)}`);
        const all = [...ins.targets, ins.defaultTarget];
        const tab = fresh();
        e(`mov ecx, ${ins.targets.length}`);
        e('cmp eax, ecx');
        e('cmovae eax, ecx');
        e(`lea rcx, [rip+${tab}]`);
        e('movsxd rax, dword ptr [rcx+rax*4]');
        e('add rax, rcx');
        e('jmp rax');
        const stubs = new Map<number, string>();
        for (const t of all) if (!stubs.has(t)) stubs.set(t, fresh());
        label(tab);
        for (const t of all) e(`.long ${stubs.get(t)}-${tab}`);
        for (const [t, s] of stubs) { label(s); jumpTo(t); }
        dead = true;
        break;
      }
      case Op.Return: emitReturn(); dead = true; break;
      case Op.Call:
        // Imports a family compiles inline (the `hw` intrinsics) never become calls.
        if (!FAMILIES.some((f) => f(ins, ctx))) call(env.module.funcs[ins.func].type, env.funcLabel(ins.func));
        break;
      case Op.CallIndirect: {
        const type = env.module.types[ins.type];
        const t = env.tableObj(ins.table);
        e(`mov eax, dword ptr ${slot(--sp)}`);
        e(`cmp rax, qword ptr [rip+${t}]`);
        e(`jae ${trap(Trap.UndefinedElement)}`);
        e('shl rax, 4');
        e(`lea rcx, [rip+${t}]`);
        e('mov r11, qword ptr [rcx+rax+16]');
        e('test r11, r11');
        e(`jz ${trap(Trap.UninitializedElement)}`);
        e(`cmp dword ptr [rcx+rax+24], ${env.typeId(type)}`);
        e(`jne ${trap(Trap.SignatureMismatch)}`);
        call(type, 'r11');
        break;
      }
      case Op.Drop: sp--; break;
      case Op.Select: case Op.SelectT: {
        e(`mov eax, dword ptr ${slot(sp - 1)}`);
        e(`mov rcx, qword ptr ${slot(sp - 2)}`);
        e(`mov rdx, qword ptr ${slot(sp - 3)}`);
        e('test eax, eax');
        e('cmovz rdx, rcx');
        e(`mov qword ptr ${slot(sp - 3)}, rdx`);
        sp -= 2;
        break;
      }
      case Op.LocalGet: e(`mov rax, qword ptr ${local(ins.local)}`); e(`mov qword ptr ${push()}, rax`); break;
      case Op.LocalSet: e(`mov rax, qword ptr ${slot(--sp)}`); e(`mov qword ptr ${local(ins.local)}, rax`); break;
      case Op.LocalTee: e(`mov rax, qword ptr ${slot(sp - 1)}`); e(`mov qword ptr ${local(ins.local)}, rax`); break;
      case Op.GlobalGet: e(`mov rax, qword ptr [rip+${env.globalCell(ins.global)}]`); e(`mov qword ptr ${push()}, rax`); break;
      case Op.GlobalSet: e(`mov rax, qword ptr ${slot(--sp)}`); e(`mov qword ptr [rip+${env.globalCell(ins.global)}], rax`); break;
      case Op.I32Const: e(`mov dword ptr ${push()}, ${hex(ins.value)}`); break;
      case Op.F32Const: e(`mov dword ptr ${push()}, ${hex(ins.bits)}`); break;
      case Op.I64Const: case Op.F64Const: {
        const v = ins.op === Op.I64Const ? ins.value : BigInt.asIntN(64, ins.bits);
        if (v >= -(2n ** 31n) && v < 2n ** 31n) e(`mov qword ptr ${push()}, ${hex(v)}`);
        else { e(`mov rax, ${hex(v)}`); e(`mov qword ptr ${push()}, rax`); }
        break;
      }
      case Op.MemorySize:
        e(`mov rax, qword ptr [rip+${mem()}+8]`);
        e('shr rax, 16');
        e(`mov qword ptr ${push()}, rax`);
        break;
      case Op.MemoryGrow:
        e(`mov esi, dword ptr ${slot(sp - 1)}`);
        e(`lea rdi, [rip+${mem()}]`);
        e('call __mem_grow');
        e(`mov dword ptr ${slot(sp - 1)}, eax`);
        break;
      case Op.MemoryFill: case Op.MemoryCopy: {
        // Both ranges are checked whole before any byte moves, as bulk memory requires.
        e(`mov r8d, dword ptr ${slot(sp - 3)}`);
        e(`mov r9d, dword ptr ${slot(sp - 2)}`);
        e(`mov r10d, dword ptr ${slot(sp - 1)}`);
        e(`mov r11, qword ptr [rip+${mem()}+8]`);
        e('lea rax, [r8+r10]');
        e('cmp rax, r11');
        e(`ja ${trap(Trap.OutOfBounds)}`);
        e('lea rdi, [r15+r8]');
        e('mov rcx, r10');
        if (ins.op === Op.MemoryFill) {
          e('mov eax, r9d');
          e('rep stosb');
        } else {
          e('lea rax, [r9+r10]');
          e('cmp rax, r11');
          e(`ja ${trap(Trap.OutOfBounds)}`);
          e('lea rsi, [r15+r9]');
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
        sp -= 3;
        break;
      }
      default: {
        if (ALU.has(op)) {
          const [mn, w] = ALU.get(op)!;
          const [r, p] = w === 32 ? ['eax', 'dword ptr'] : ['rax', 'qword ptr'];
          e(`mov ${r}, ${p} ${slot(sp - 2)}`);
          e(`${mn} ${r}, ${p} ${slot(sp - 1)}`);
          e(`mov ${p} ${slot(sp - 2)}, ${r}`);
          sp--;
        } else if (SHIFT.has(op)) {
          const [mn, w] = SHIFT.get(op)!;
          const [r, p] = w === 32 ? ['eax', 'dword ptr'] : ['rax', 'qword ptr'];
          e(`mov ecx, dword ptr ${slot(sp - 1)}`);
          e(`mov ${r}, ${p} ${slot(sp - 2)}`);
          e(`${mn} ${r}, cl`);
          e(`mov ${p} ${slot(sp - 2)}, ${r}`);
          sp--;
        } else if (COMPARE.has(op)) {
          const [cc, w] = COMPARE.get(op)!;
          const [r, p] = w === 32 ? ['eax', 'dword ptr'] : ['rax', 'qword ptr'];
          e(`mov ${r}, ${p} ${slot(sp - 2)}`);
          e(`cmp ${r}, ${p} ${slot(sp - 1)}`);
          e(`set${cc} al`);
          e('movzx eax, al');
          e(`mov dword ptr ${slot(sp - 2)}, eax`);
          sp--;
        } else if (UNARY.has(op)) {
          const u = UNARY.get(op)!;
          e(u.load === 32 ? `mov eax, dword ptr ${slot(sp - 1)}` : `mov rax, qword ptr ${slot(sp - 1)}`);
          for (const line of u.code) e(line);
          e(u.store === 32 ? `mov dword ptr ${slot(sp - 1)}, eax` : `mov qword ptr ${slot(sp - 1)}, rax`);
        } else if (LOAD.has(op)) {
          const [ld, w] = LOAD.get(op)!;
          address(slot(sp - 1), (ins as { offset: number }).offset, w);
          e(`${ld} [r15+rcx-${w}]`);
          e(`mov qword ptr ${slot(sp - 1)}, rax`);
        } else if (STORE.has(op)) {
          const [st, w] = STORE.get(op)!;
          const [ptr, reg] = st.split('|');
          e(`mov rdx, qword ptr ${slot(sp - 1)}`);
          address(slot(sp - 2), (ins as { offset: number }).offset, w);
          e(`mov ${ptr} [r15+rcx-${w}], ${reg}`);
          sp -= 2;
        } else if (!divide(op) && !FAMILIES.some((f) => f(ins, ctx))) {
          throw new UnsupportedError(`func ${index} (${env.funcName(index)}): unsupported instruction ${opInfo(op).name}`);
        }
      }
    }
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
    const [a, c, d, p] = w === 32 ? ['eax', 'ecx', 'edx', 'dword ptr'] : ['rax', 'rcx', 'rdx', 'qword ptr'];
    e(`mov ${c}, ${p} ${slot(sp - 1)}`);
    e(`mov ${a}, ${p} ${slot(sp - 2)}`);
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
    e(`mov ${p} ${slot(sp - 2)}, ${rem ? d : a}`);
    sp--;
    return true;
  }

  for (const t of [...traps].sort((x, y) => x - y)) {
    label(`${L}trap${t}`);
    e(`mov edi, ${t}`);
    e(`mov esi, ${index}`);
    e('jmp __wasm_trap');
  }
  const frame = 8 * (nd + maxSp);
  out[frameLine] = `  lea rax, [rsp-${frame + (frame & 8)}]`;
  out[frameLine + 3] = `  sub rsp, ${frame + (frame & 8)}`;
  return out.join('\n') + '\n';
}

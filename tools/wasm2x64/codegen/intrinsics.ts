/**
 * The `hw` intrinsics: a call of a function imported from module `hw` is
 * compiled inline to the instructions it names (kernel/hw.ts declares them
 * for AssemblyScript; README "hw intrinsics" has the contract). AS passes
 * u8/u16 arguments unmasked, so every entry reads only the bits it needs —
 * `out dx, al` ignores the rest of the value by construction — and returns
 * results zero-extended as the value stack expects.
 */
import { type FuncType, funcTypeName, type Instr, Op, ValType } from '../wasm/index.js';
import { type Gp, type OpContext, rw } from './context.js';
import type { Family } from './families.js';
import { UnsupportedError } from './func.js';
import { FRAME_XMM, Percpu } from './kernel-rt.js';
import { Trap } from './ops.js';

/** Register roles in an entry's lines: a to d are the parameters (bottom of the stack first), r the result, t scratch. */
type Role = 'a' | 'b' | 'c' | 'd' | 'r' | 't';
const PARAMS = ['a', 'b', 'c', 'd'] as const;

interface Intrinsic {
  /** Parameters, ':', results; one letter each, i = i32 and l = i64. */
  readonly sig: string;
  /** Roles an instruction ties to a register (in/out, rdmsr/wrmsr, rdtsc); the others get any. */
  readonly fixed?: Partial<Record<Role, Gp>>;
  /** The role holding the result when it overwrites a parameter instead of having its own register r. */
  readonly result?: Role;
  /** Every register is lost across it (another thread runs in between): the value stack spills first, as for a call. */
  readonly spills?: boolean;
  /** It jumps into the kernel runtime (kernel-rt.ts), which only the kernel target links. */
  readonly kernelOnly?: boolean;
  /**
   * Assembly lines: `{a}` is role a's register, `{a:32}` (16, 8) its narrower
   * name, `{table}` table 0's object, `{L}` a label of this call's own,
   * `{limit}` the stack limit's operand (FuncEnv.stackLimit), `{trap:K}` the
   * function's stub for trap kind K and `{typeid:SIG}` the type id of SIG (as
   * in `sig`); a line ending in `:` defines a label.
   */
  readonly code: readonly string[];
}

const readCr = (n: number): Intrinsic => ({ sig: ':l', code: [`mov {r}, cr${n}`] });
const writeCr = (n: number): Intrinsic => ({ sig: 'l:', code: [`mov cr${n}, {a}`] });

const TABLE = new Map<string, Intrinsic>([
  ['outb', { sig: 'ii:', fixed: { a: 'rdx', b: 'rax' }, code: ['out dx, al'] }],
  ['outw', { sig: 'ii:', fixed: { a: 'rdx', b: 'rax' }, code: ['out dx, ax'] }],
  ['outl', { sig: 'ii:', fixed: { a: 'rdx', b: 'rax' }, code: ['out dx, eax'] }],
  ['inb', { sig: 'i:i', fixed: { a: 'rdx', r: 'rax' }, code: ['in al, dx', 'movzx eax, al'] }],
  ['inw', { sig: 'i:i', fixed: { a: 'rdx', r: 'rax' }, code: ['in ax, dx', 'movzx eax, ax'] }],
  ['inl', { sig: 'i:i', fixed: { a: 'rdx', r: 'rax' }, code: ['in eax, dx'] }],
  // rdmsr/wrmsr read only ecx; the 64-bit value travels as edx:eax.
  ['rdmsr', { sig: 'i:l', fixed: { a: 'rcx', r: 'rax', t: 'rdx' }, code: ['rdmsr', 'shl rdx, 32', 'or rax, rdx'] }],
  ['wrmsr', { sig: 'il:', fixed: { a: 'rcx', b: 'rax', t: 'rdx' }, code: ['mov rdx, rax', 'shr rdx, 32', 'wrmsr'] }],
  ['read_cr0', readCr(0)], ['read_cr2', readCr(2)], ['read_cr3', readCr(3)], ['read_cr4', readCr(4)],
  ['write_cr0', writeCr(0)], ['write_cr3', writeCr(3)], ['write_cr4', writeCr(4)],
  ['invlpg', { sig: 'l:', code: ['invlpg byte ptr [{a}]'] }],
  ['cli', { sig: ':', code: ['cli'] }],
  ['sti', { sig: ':', code: ['sti'] }],
  ['hlt', { sig: ':', code: ['hlt'] }],
  // sti takes effect after the next instruction, so no interrupt can arrive between the two.
  ['sti_hlt', { sig: ':', code: ['sti', 'hlt'] }],
  ['pause', { sig: ':', code: ['pause'] }],
  ['rdtsc', { sig: ':l', fixed: { r: 'rax', t: 'rdx' }, code: ['rdtsc', 'shl rdx, 32', 'or rax, rdx'] }],
  ['swapgs', { sig: ':', code: ['swapgs'] }],
  ['read_rflags', { sig: ':l', code: ['pushfq', 'pop {r}'] }],
  // The calling function's rbp: [rbp] holds its caller's rbp and [rbp+8] its return address, a chain to walk for backtraces.
  ['frame_address', { sig: ':l', code: ['mov {r}, rbp'] }],
  // A breakpoint trap: ktrap sees vector 3 with rip after it, where execution goes on when it returns.
  ['int3', { sig: ':', code: ['int3'] }],
  ['gs_load32', { sig: 'i:i', result: 'a', code: ['mov {a:32}, dword ptr gs:[{a}]'] }],
  ['gs_load64', { sig: 'i:l', result: 'a', code: ['mov {a}, qword ptr gs:[{a}]'] }],
  ['gs_store32', { sig: 'ii:', code: ['mov dword ptr gs:[{a}], {b:32}'] }],
  ['gs_store64', { sig: 'il:', code: ['mov qword ptr gs:[{a}], {b}'] }],
  ['load64', { sig: 'l:l', result: 'a', code: ['mov {a}, qword ptr [{a}]'] }],
  ['load32', { sig: 'l:i', result: 'a', code: ['mov {a:32}, dword ptr [{a}]'] }],
  ['store64', { sig: 'll:', code: ['mov qword ptr [{a}], {b}'] }],
  ['store32', { sig: 'li:', code: ['mov dword ptr [{a}], {b:32}'] }],
  // Device registers 8 and 16 bits wide want accesses of exactly that width.
  ['load16', { sig: 'l:i', result: 'a', code: ['movzx {a:32}, word ptr [{a}]'] }],
  ['load8', { sig: 'l:i', result: 'a', code: ['movzx {a:32}, byte ptr [{a}]'] }],
  ['store16', { sig: 'li:', code: ['mov word ptr [{a}], {b:16}'] }],
  ['store8', { sig: 'li:', code: ['mov byte ptr [{a}], {b:8}'] }],
  ['cpu_id', { sig: ':i', code: [`mov {r:32}, dword ptr gs:[${Percpu.Index}]`] }],
  // Table 0 is {entries, size, max}; an entry is 0 or the address of a descriptor {code address, type id} (tables.ts).
  ['funcaddr', {
    sig: 'i:l',
    code: ['xor {r:32}, {r:32}', 'cmp {a}, qword ptr [rip+{table}+8]', 'jae {L}', 'mov {r}, qword ptr [rip+{table}]',
      'mov {r}, qword ptr [{r}+{a}*8]', 'test {r}, {r}', 'jz {L}', 'mov {r}, qword ptr [{r}]', '{L}:'],
  }],
  /*
   * Threads. A thread that is not running is its stack pointer, which points at a record:
   *
   *   [sp]     the stack limit (gs:[Percpu.StackLimit]) to restore
   *   [sp+8]   rflags (interrupts are off while the stacks change)
   *   [sp+16]  rbp
   *   [sp+24]  where to go on: after its switch_to, or __thread_start
   *   [sp+32]  (a new thread) the entry's argument, in its wasm argument area
   *   [sp+40]  (a new thread) the entry's code address
   *
   * switch_to(save, sp) pushes that record, stores rsp at linear address `save`, and pops the
   * record at `sp`. Nothing else survives it: every register is caller-saved in compiled code
   * but rbp and rsp (the value stack spills first), and xmm registers are not saved.
   */
  ['switch_to', {
    sig: 'il:', spills: true,
    code: ['lea {t}, [rip+{L}]', 'push {t}', 'push rbp', 'pushfq', 'cli', 'push {limit}', 'mov qword ptr [{a}], rsp',
      'mov rsp, {b}', 'pop {limit}', 'popfq', 'pop rbp', 'ret', '{L}:'],
  }],
  // stack_init(top, limit, entry, arg) -> sp: a record at the 16-aligned top for a thread that calls table 0's
  // entry (checked as call_indirect checks it, here and now) with arg, with interrupts off, then kthread_exit.
  ['stack_init', {
    sig: 'llii:l', kernelOnly: true,
    code: [
      'cmp {c}, qword ptr [rip+{table}+8]', `jae {trap:${Trap.UndefinedElement}}`, 'mov {r}, qword ptr [rip+{table}]',
      'mov {r}, qword ptr [{r}+{c}*8]', 'test {r}, {r}', `jz {trap:${Trap.UninitializedElement}}`,
      'cmp dword ptr [{r}+8], {typeid:i:}', `jne {trap:${Trap.SignatureMismatch}}`, 'mov {r}, qword ptr [{r}]',
      'and {a}, -16', 'mov qword ptr [{a}-8], {r}', 'mov qword ptr [{a}-16], {d}', 'lea {r}, [rip+__thread_start]',
      'mov qword ptr [{a}-24], {r}', 'mov qword ptr [{a}-32], 0', 'mov qword ptr [{a}-40], 2', 'mov qword ptr [{a}-48], {b}',
      'lea {r}, [{a}-48]',
    ],
  }],
  // The frame's registers, stack limit, GS (by its CS) and iretq (kernel-rt.ts, __trap_exit).
  ['trap_return', { sig: 'l:', kernelOnly: true, code: ['cli', `lea rsp, [{a}-${FRAME_XMM}]`, 'jmp __trap_exit'] }],
]);

const TYPE: Record<string, ValType> = { i: ValType.I32, l: ValType.I64 };
const typeOf = (sig: string): FuncType => {
  const [p, r] = sig.split(':');
  return { params: [...p].map((x) => TYPE[x]), results: [...r].map((x) => TYPE[x]) };
};

// Operands are popped before free registers are taken, so a free parameter could land in a fixed
// register a later pop wants; no entry mixes the two, and this keeps it that way.
for (const [name, x] of TABLE) {
  const params = PARAMS.slice(0, typeOf(x.sig).params.length);
  if (new Set(params.map((p) => x.fixed?.[p] !== undefined)).size > 1) throw new Error(`intrinsic ${name}: fixed and free parameters mix`);
}

const PLACE = /\{(a|b|c|d|r|t|table|L|limit)(?::(32|16|8))?\}|\{trap:(\d+)\}|\{typeid:(\w*:\w*)\}/g;

export const intrinsics: Family = (ins: Instr, c: OpContext): boolean => {
  if (ins.op !== Op.Call) return false;
  const f = c.env.module.funcs[ins.func];
  if (f.import?.module !== 'hw') return false;
  const name = f.import.name;
  const where = `func ${c.index} (${c.env.funcName(c.index)}): import hw.${name}`;
  const x = TABLE.get(name);
  if (!x) throw new UnsupportedError(`${where}: unknown intrinsic`);
  const type = typeOf(x.sig);
  if (funcTypeName(type) !== funcTypeName(f.type)) {
    throw new UnsupportedError(`${where}: declared ${funcTypeName(f.type)}, the intrinsic is ${funcTypeName(type)}`);
  }
  if (x.code.some((l) => l.includes('{table}')) && c.env.module.tables[0]?.type.elem !== ValType.FuncRef) {
    throw new UnsupportedError(`${where}: the module has no funcref table 0`);
  }
  // The kernel target is the one whose memory is the address space itself.
  if (x.kernelOnly && c.env.memoryMode !== 'direct') throw new UnsupportedError(`${where}: only in the kernel target`);
  const params = PARAMS.slice(0, type.params.length);
  const resultRole = type.results.length ? x.result ?? 'r' : null;
  const mentions = (role: Role): boolean => x.code.some((l) => l.includes(`{${role}}`) || l.includes(`{${role}:`));
  const regs: Partial<Record<Role, Gp>> = {};
  // Fixed result and scratch registers first, so that no operand is popped into them.
  for (const role of ['r', 't'] as const) if (x.fixed?.[role]) regs[role] = c.tmpGp(x.fixed[role]);
  for (let i = params.length - 1; i >= 0; i--) regs[params[i]] = c.popGp(x.fixed?.[params[i]]);
  if (x.spills) c.beforeCall();
  for (const role of ['r', 't'] as const) if (!regs[role] && mentions(role)) regs[role] = c.tmpGp();
  const label = x.code.some((l) => l.includes('{L}')) ? c.fresh() : '';
  for (const line of x.code) {
    const s = line.replace(PLACE, (_, role?: string, w?: string, trap?: string, sig?: string) => {
      if (trap) return c.trap(Number(trap) as Trap);
      if (sig) return String(c.env.typeId(typeOf(sig)));
      if (role === 'table') return c.env.tableObj(0);
      if (role === 'L') return label;
      if (role === 'limit') return c.env.stackLimit;
      const r = regs[role as Role]!;
      return w ? rw(r, Number(w) as 8 | 16 | 32) : r;
    });
    if (s.endsWith(':')) c.label(s.slice(0, -1));
    else c.emit(s);
  }
  for (const [role, r] of Object.entries(regs) as [Role, Gp][]) {
    if (role === resultRole) c.pushGp(r);
    else c.free(r);
  }
  return true;
};

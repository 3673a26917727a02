/**
 * Compiles a hot basic block into one JavaScript function. The commonest
 * register-only forms at 32 and 64 bits (mov, mov imm, add sub and or xor
 * cmp with a register or an immediate, test, shifts by a constant, movzx,
 * movsx, lea; SSE2 pxor por pand pandn paddd psubd, psrld/psrad/pslld by an
 * immediate, movdqa/movaps), loads, stores and stores of immediates, and
 * a closing Jcc are emitted inline as the statements their handlers execute,
 * with the operands as constants; every other
 * instruction becomes a direct call of its handler, which V8 can inline
 * because each call site sees one function only.
 *
 * A compiled block must be indistinguishable from interpreting it: the same
 * registers and lazy-flag record, RIP and the faulting-instruction RIP (`ip`)
 * before anything that can fault or read them, and the exact retired count
 * (`icount`) before anything that can fault or read the clock. Inline forms
 * cannot fault and read neither, so they skip those stores.
 */
import type { Cpu } from './cpu.js';
import type { Insn } from './insn.js';
import { Lazy } from './flags.js';
import { AluOp, incDec } from './ops/alu.js';
import { popZ, pushZ } from './ops/stack.js';
import { jcc } from './ops/branch.js';
import { shift, shift1, shift64, shiftIb } from './ops/shift.js';
import { lea, movx } from './ops/mov.js';
import { CANONICAL_LIMIT } from './mmu.js';
import { R as Reg, Seg } from './regs.js';

const RSP = Reg.SP;

/**
 * Executes a whole block starting at `rip` (stopping early if a store changed
 * decoded code); a block that loops on itself repeats while the retired count
 * stays within `until`.
 */
export type CompiledBlock = (cpu: Cpu, rip: number, until: number) => void;

const INLINE_ALU: Partial<Record<number, { lazy: Lazy; expr: string }>> = {
  [AluOp.Add]: { lazy: Lazy.Add, expr: '(a + b) | 0' },
  [AluOp.Sub]: { lazy: Lazy.Sub, expr: '(a - b) | 0' },
  [AluOp.Cmp]: { lazy: Lazy.Sub, expr: '(a - b) | 0' },
  [AluOp.And]: { lazy: Lazy.Logic, expr: 'a & b' },
  [AluOp.Or]: { lazy: Lazy.Logic, expr: 'a | b' },
  [AluOp.Xor]: { lazy: Lazy.Logic, expr: 'a ^ b' },
};

/**
 * The lazy-flag record exactly as Cpu.setLazy leaves it. lazyCarry and the
 * cpu.hi scratch are not written: lazyCarry is read only for Adc/Sbb/Inc/Dec,
 * whose handlers set it first, and no handler reads cpu.hi it did not set.
 */
function lazy(kind: Lazy, size: number, a: string, ah: string, b: string, bh: string, r: string, rh: string): string {
  return ` cpu.lazyOp = ${kind}; cpu.lazySize = ${size}; cpu.lazyA = ${a}; cpu.lazyAHi = ${ah}; cpu.lazyB = ${b};` +
    ` cpu.lazyBHi = ${bh}; cpu.lazyRes = ${r}; cpu.lazyResHi = ${rh};`;
}

/** 32-bit ALU op on a and b (int32 expressions): result r, as alu() computes it. */
function alu32(op: number, d: number, b: string): string | null {
  const alu = INLINE_ALU[op];
  if (!alu) return null;
  const store = op === AluOp.Cmp ? '' : ` R[${2 * d}] = r; R[${2 * d + 1}] = 0;`;
  return `{ const a = R[${2 * d}], b = ${b}, r = ${alu.expr};${lazy(alu.lazy, 4, 'a', '0', 'b', '0', 'r', '0')}${store} }`;
}

/** 64-bit ALU op on R[d] and b:bh, as alu64() computes it. */
function alu64(op: number, d: number, b: string, bh: string): string | null {
  let res: string;
  switch (op) {
    case AluOp.Add: res = 'const t = (a >>> 0) + (b >>> 0), r = t | 0, rh = (ah + bh + (t >= 4294967296 ? 1 : 0)) | 0;'; break;
    case AluOp.Sub: case AluOp.Cmp: res = 'const t = (a >>> 0) - (b >>> 0), r = t | 0, rh = (ah - bh - (t < 0 ? 1 : 0)) | 0;'; break;
    case AluOp.And: res = 'const r = a & b, rh = ah & bh;'; break;
    case AluOp.Or: res = 'const r = a | b, rh = ah | bh;'; break;
    case AluOp.Xor: res = 'const r = a ^ b, rh = ah ^ bh;'; break;
    default: return null;
  }
  const kind = op === AluOp.Add ? Lazy.Add : op === AluOp.Sub || op === AluOp.Cmp ? Lazy.Sub : Lazy.Logic;
  const store = op === AluOp.Cmp ? '' : ` R[${2 * d}] = r; R[${2 * d + 1}] = rh;`;
  return `{ const a = R[${2 * d}], ah = R[${2 * d + 1}], b = ${b}, bh = ${bh}; ${res}${lazy(kind, 8, 'a', 'ah', 'b', 'bh', 'r', 'rh')}${store} }`;
}

/** Lane-wise integer SSE2 ops on whole XMM registers, by opcode: the statement for one int32 lane. */
const XMM_LANES: Partial<Record<number, (d: string, s: string) => string>> = {
  0x0fef: (d, s) => `${d} ^ ${s}`,       // pxor
  0x0feb: (d, s) => `${d} | ${s}`,       // por
  0x0fdb: (d, s) => `${d} & ${s}`,       // pand
  0x0fdf: (d, s) => `~${d} & ${s}`,      // pandn
  0x0ffe: (d, s) => `(${d} + ${s}) | 0`, // paddd
  0x0ffa: (d, s) => `(${d} - ${s}) | 0`, // psubd
};

/** XMM register forms (66-prefixed SSE2 integer ops, movdqa/movaps): four int32 lanes, no flags, no MXCSR. */
function inlineXmm(i: Insn): string | null {
  if (i.isMem) return null;
  const row = i.row, d = 4 * i.reg, s = 4 * i.rm;
  const lanes = (f: (k: number) => string): string => `{ ${[0, 1, 2, 3].map(f).join(' ')} }`;
  if ((row.code === 0x0f6f && row.pfx === 0x66) || (row.code === 0x0f28 && row.pfx === 0)) {
    return lanes((k) => `X[${d + k}] = X[${s + k}];`);
  }
  if (row.pfx !== 0x66) return null;
  const op = XMM_LANES[row.code];
  if (op) return lanes((k) => `X[${d + k}] = ${op(`X[${d + k}]`, `X[${s + k}]`)};`);
  if (row.code === 0x0f72 && row.mod === 'reg') {
    // psrld /2, psrad /4, pslld /6 by an immediate: counts above 31 empty (or sign-fill) the lane.
    const r = 4 * i.rm, c = i.imm & 0xff;
    const shift = (v: string): string | null => {
      if (row.digit === 2) return c > 31 ? '0' : `${v} >>> ${c}`;
      if (row.digit === 4) return `${v} >> ${Math.min(c, 31)}`;
      if (row.digit === 6) return c > 31 ? '0' : `${v} << ${c}`;
      return null;
    };
    if (shift('x') === null) return null;
    return lanes((k) => `X[${r + k}] = ${shift(`X[${r + k}]`)};`);
  }
  return null;
}

/**
 * The inline statements for `i`, or null if it must call its handler. Only
 * register forms qualify: they cannot fault, so they need no RIP/ip/icount.
 */
function inline(i: Insn): string | null {
  // (LOCK never reaches here: the decoder rejects it on register forms and on mov, lea, movzx.)
  if (i.isMem) return null;
  const xmm = inlineXmm(i);
  if (xmm !== null) return xmm;
  if (i.osz !== 4 && i.osz !== 8) return null;
  const code = i.row.code, w = i.osz === 8;
  if (code === 0x89 || code === 0x8b) {
    const d = code === 0x8b ? i.reg : i.rm, s = code === 0x8b ? i.rm : i.reg;
    return `R[${2 * d}] = R[${2 * s}]; R[${2 * d + 1}] = ${w ? `R[${2 * s + 1}]` : '0'};`;
  }
  if (code >= 0xb8 && code <= 0xbf) return `R[${2 * i.reg}] = ${i.imm}; R[${2 * i.reg + 1}] = ${w ? i.immHi : 0};`;
  if (code < 0x40 && (code & 7) <= 3 && (code & 1) === 1) {
    const d = code & 2 ? i.reg : i.rm, s = code & 2 ? i.rm : i.reg;
    return w ? alu64(i.arg, d, `R[${2 * s}]`, `R[${2 * s + 1}]`) : alu32(i.arg, d, `R[${2 * s}]`);
  }
  if (code === 0x81 || code === 0x83) return w ? alu64(i.arg, i.rm, `${i.imm}`, `${i.immHi}`) : alu32(i.arg, i.rm, `${i.imm}`);
  if (code < 0x40 && (code & 7) === 5) return w ? alu64(i.arg, 0, `${i.imm}`, `${i.immHi}`) : alu32(i.arg, 0, `${i.imm}`);
  if (i.exec === movx) return movxInto(i, narrowReg(i, i.arg & 3));
  if (i.exec === incDec) {
    const d = 2 * i.rm, dec = i.arg === 1, kind = dec ? Lazy.Dec : Lazy.Inc;
    // inc and dec keep CF: read it before the new record replaces the old one.
    const body = w
      ? `const a = R[${d}], ah = R[${d + 1}], r = (a ${dec ? '-' : '+'} 1) | 0, rh = ${dec ? 'a === 0 ? (ah - 1) | 0 : ah' : 'r === 0 ? (ah + 1) | 0 : ah'};` +
        `${lazy(kind, 8, 'a', 'ah', '1', '0', 'r', 'rh')} R[${d}] = r; R[${d + 1}] = rh;`
      : `const a = R[${d}], r = (a ${dec ? '-' : '+'} 1) | 0;${lazy(kind, 4, 'a', '0', '1', '0', 'r', '0')} R[${d}] = r; R[${d + 1}] = 0;`;
    return `{ const cf = cpu.cf() ? 1 : 0; ${body} cpu.lazyCarry = cf; }`;
  }
  // Shifts and rotates by a constant: the family's own arithmetic, called with constant arguments.
  if (i.exec === shiftIb || i.exec === shift1) {
    const count = i.exec === shift1 ? 1 : i.imm & 0xff;
    return w
      ? `{ const r = SH64(cpu, ${i.arg}, R[${2 * i.rm}], R[${2 * i.rm + 1}], ${count}); R[${2 * i.rm}] = r; R[${2 * i.rm + 1}] = cpu.hi; }`
      : `{ const r = SH(cpu, ${i.arg}, 4, R[${2 * i.rm}], ${count}); R[${2 * i.rm}] = r; R[${2 * i.rm + 1}] = 0; }`;
  }
  if (code === 0x85) {
    return w
      ? `{ const a = R[${2 * i.rm}], ah = R[${2 * i.rm + 1}], b = R[${2 * i.reg}], bh = R[${2 * i.reg + 1}];${lazy(Lazy.Logic, 8, 'a', 'ah', 'b', 'bh', 'a & b', 'ah & bh')} }`
      : `{ const a = R[${2 * i.rm}], b = R[${2 * i.reg}];${lazy(Lazy.Logic, 4, 'a', '0', 'b', '0', 'a & b', '0')} }`;
  }
  return null;
}

/**
 * base + index * scale + disp of a 64-bit-mode memory operand as a double in
 * `a`; `ok` says every term was small enough for the sum to be exact.
 */
function addressSum(i: Insn, end: number): string {
  const parts: string[] = [`let a = ${i.ripRel ? `rip + ${end + i.disp}` : i.disp}, ok = true;`];
  if (i.base >= 0) parts.push(`{ const h = R[${2 * i.base + 1}]; a += h * 4294967296 + (R[${2 * i.base}] >>> 0); ok = h >= -65536 && h < 65536; }`);
  if (i.index >= 0) parts.push(`{ const h = R[${2 * i.index + 1}]; a += (h * 4294967296 + (R[${2 * i.index}] >>> 0)) * ${1 << i.scale}; ok = ok && h >= -65536 && h < 65536; }`);
  return parts.join(' ');
}

/** The linear address of a memory operand into `A`, falling back to Cpu.ea for the rare cases (as Cpu.ea's fast path). */
function effectiveAddress(i: Insn, k: number, end: number): string {
  return `${addressSum(i, end)} const A = ok && a >= -${CANONICAL_LIMIT} && a < ${CANONICAL_LIMIT} ? a : cpu.ea(i${k});`;
}

/** A byte or word register read as movx reads it (byte codes 16..19 are AH CH DH BH). */
function narrowReg(i: Insn, size: number): string {
  if (size === 2) return `(R[${2 * i.rm}] & 0xffff)`;
  return i.rmB < 16 ? `(R[${2 * i.rmB}] & 0xff)` : `((R[${2 * (i.rmB - 16)}] >> 8) & 0xff)`;
}

/** movzx/movsx into a 32/64-bit register, from `v` (an expression for the zero-extended source). */
function movxInto(i: Insn, v: string): string {
  const size = i.arg & 3;
  const ext = i.arg & 4 ? (size === 1 ? `(${v} << 24) >> 24` : `(${v} << 16) >> 16`) : v;
  return `{ const v = ${ext}; R[${2 * i.reg}] = v; R[${2 * i.reg + 1}] = ${i.osz === 8 ? 'v >> 31' : '0'}; }`;
}

/**
 * Inline memory moves (mov r, m and mov m, r at 32/64 bits, 64-bit
 * addressing without FS/GS): the statements Cpu.ea and the MMU would run.
 */
function inlineMemory(i: Insn, k: number, end: number): { code: string; store: boolean } | null {
  if (!i.isMem || i.asz !== 8 || i.seg === Seg.FS || i.seg === Seg.GS) return null;
  const code = i.row.code, r = i.reg, ea = effectiveAddress(i, k, end);
  if (code === 0xc6) return { store: true, code: `{ ${ea} M.write8(A, ${i.imm & 0xff}); }` };
  if (i.osz !== 4 && i.osz !== 8) return null;
  if (i.exec === movx) {
    return { store: false, code: `{ ${ea} ${movxInto(i, (i.arg & 3) === 1 ? 'M.read8(A)' : 'M.read16(A)')} }` };
  }
  if (code === 0xc7) {
    return { store: true, code: i.osz === 8 ? `{ ${ea} M.write64(A, ${i.imm}, ${i.immHi}); }` : `{ ${ea} M.write32(A, ${i.imm}); }` };
  }
  if (code === 0x8b) {
    return { store: false, code: i.osz === 8
      ? `{ ${ea} R[${2 * r}] = M.read64(A); R[${2 * r + 1}] = M.hi; }`
      : `{ ${ea} R[${2 * r}] = M.read32(A); R[${2 * r + 1}] = 0; }` };
  }
  if (code === 0x89) {
    return { store: true, code: i.osz === 8 ? `{ ${ea} M.write64(A, R[${2 * r}], R[${2 * r + 1}]); }` : `{ ${ea} M.write32(A, R[${2 * r}]); }` };
  }
  return null;
}

/** lea with 64-bit addressing: the exact sum, or the handler when a term is too wide to sum exactly. */
function inlineLea(i: Insn, k: number, end: number): string | null {
  if (i.exec !== lea || i.asz !== 8 || (i.osz !== 4 && i.osz !== 8)) return null;
  const hi = i.osz === 8 ? 'Math.floor(a / 4294967296) | 0' : '0';
  return `{ ${addressSum(i, end)} if (ok) { R[${2 * i.reg}] = a | 0; R[${2 * i.reg + 1}] = ${hi}; } else { cpu.rip = rip + ${end}; h${k}(cpu, i${k}); } }`;
}

/**
 * push and pop of a 64-bit register: the stack slot through the MMU, RSP
 * updated after the access; a non-canonical RSP is left to the handler (#SS).
 */
function inlineStack(i: Insn, k: number): { code: string; store: boolean } | null {
  if ((i.exec !== pushZ && i.exec !== popZ) || i.osz !== 8) return null;
  const r = 2 * i.reg, C = CANONICAL_LIMIT, lo = 2 * RSP, hi = 2 * RSP + 1;
  const sp = `R[${hi}] * 4294967296 + (R[${lo}] >>> 0)`;
  if (i.exec === pushZ) {
    return { store: true, code: `{ const sp = ${sp} - 8; if (sp >= -${C} && sp < ${C}) { M.write64(sp, R[${r}], R[${r + 1}]);` +
      ` R[${lo}] = sp | 0; R[${hi}] = Math.floor(sp / 4294967296) | 0; } else h${k}(cpu, i${k}); }` };
  }
  return { store: false, code: `{ const sp = ${sp}; if (sp >= -${C} && sp < ${C}) { const v = M.read64(sp), vh = M.hi;` +
    ` R[${lo}] = (sp + 8) | 0; R[${hi}] = Math.floor((sp + 8) / 4294967296) | 0; R[${r}] = v; R[${r + 1}] = vh; } else h${k}(cpu, i${k}); }` };
}

/** Jcc at the end of a block: the condition inline; a non-canonical target is left to the handler to fault. */
function inlineJcc(i: Insn, k: number, end: number): string | null {
  if (i.exec !== jcc) return null;
  return `cpu.rip = rip + ${end}; if (cpu.cond(${i.arg})) { const t = rip + ${end + i.imm};` +
    ` if (t >= -${CANONICAL_LIMIT} && t < ${CANONICAL_LIMIT}) cpu.rip = t; else h${k}(cpu, i${k}); }`;
}

/**
 * `ends[k]` is the byte offset of instruction k's end from the block start;
 * `epoch` is read after every instruction that may store: a change means a
 * store hit decoded code, and the rest of the block may be stale. Memory and
 * branch forms are inlined only for 64-bit mode.
 */
export function compileBlock(insns: Insn[], ends: number[], epoch: { value: number }, long: boolean): CompiledBlock {
  const n = insns.length;
  const body: string[] = [];
  const names: string[] = [];
  let start = 0, ripSet = false, lastStart = 0, jccLast = false;
  for (let k = 0; k < n; k++) {
    const i = insns[k], end = ends[k], last = k === n - 1;
    lastStart = start;
    names.push(`h${k} = H[${k}], i${k} = I[${k}]`);
    // An instruction decoded to trap (FPU gated by CR0/CR4) always calls its handler.
    const plain = !i.fpuTrap;
    const reg = plain ? inline(i) ?? (long ? inlineLea(i, k, end) : null) : null;
    const mem = plain && long ? inlineMemory(i, k, end) ?? inlineStack(i, k) : null;
    const jcc = plain && long && last ? inlineJcc(i, k, end) : null;
    // Anything that may fault or read the clock sees the exact ip, rip and retired count.
    const preamble = `cpu.ip = rip + ${start}; cpu.icount = c + ${k};`;
    ripSet = reg === null;
    jccLast = jcc !== null;
    if (reg !== null) body.push(reg);
    else if (jcc !== null) body.push(`${preamble} ${jcc}`);
    else if (mem !== null) body.push(`${preamble} cpu.rip = rip + ${end}; ${mem.code}`);
    else body.push(`${preamble} cpu.rip = rip + ${end}; h${k}(cpu, i${k});`);
    const mayStore = reg === null && jcc === null && (mem === null || mem.store);
    if (mayStore && !last) body.push(`if (E.value !== e) { cpu.icount = c + ${k + 1}; return; }`);
    start = end;
  }
  // After an inline last instruction, leave ip and rip where interpreting it would.
  if (!ripSet) body.push(`cpu.ip = rip + ${lastStart}; cpu.rip = rip + ${start};`);
  body.push(`cpu.icount = c + ${n};`);
  // A loop that is one block (a closing Jcc back to its own start) iterates
  // here instead of returning to the dispatcher each time, as long as the
  // next iteration fits the budget `until`, as the dispatcher would decide.
  // A store into decoded code has already returned from inside the body.
  const selfLoop = jccLast && ends[n - 1] + insns[n - 1].imm === 0;
  const code = selfLoop
    ? `for (;;) {\nconst c = cpu.icount;\n${body.join('\n')}\nif (cpu.rip !== rip || cpu.icount + ${n} > until || cpu.attention) return;\n}`
    : `const c = cpu.icount;\n${body.join('\n')}`;
  const factory = new Function('H', 'I', 'E', 'SH', 'SH64',
    `const ${names.join(', ')};\nreturn function block(cpu, rip, until) {\nconst R = cpu.regs, X = cpu.xmm, M = cpu.mmu, e = E.value;\n${code}\n};`);
  return factory(insns.map((i) => i.exec), insns, epoch, shift, shift64) as CompiledBlock;
}

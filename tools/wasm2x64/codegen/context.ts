/**
 * The interface between the function compiler's value stack and the code
 * for one operator family (floats, intrinsics, atomics, tables). An operator
 * pops its operands into registers it then owns, may take scratch
 * registers, writes instructions, and pushes its results; whatever it owns
 * and does not push it frees. Where operands live between instructions
 * (slots, cached registers, constants) is the value stack's business alone.
 *
 * Registers are named by their 64-bit (`rax`, `r8`) or 128-bit (`xmm3`)
 * names; `r32`/`r16`/`r8` give the narrower spellings.
 */
import type { FuncEnv } from './func.js';
import type { Trap } from './ops.js';

export type Gp = string;
export type Xmm = string;

export interface OpContext {
  readonly env: FuncEnv;
  /** The function being compiled (for messages). */
  readonly index: number;
  emit(line: string): void;
  label(name: string): void;
  /** A new label local to the function. */
  fresh(): string;
  /** The label of this function's stub for a trap kind. */
  trap(kind: Trap): string;
  /** Pops the top operand (an integer or reference) into a register the caller owns; `want` names the register. */
  popGp(want?: Gp): Gp;
  /** Pops the top operand (a float) into an xmm register the caller owns. */
  popXmm(want?: Xmm): Xmm;
  /**
   * Pushes an owned register; the stack owns it from now on. An i32 must be
   * zero-extended to 64 bits (every 32-bit x86 operation does that; 8/16-bit
   * and 64-bit ones do not), because addresses use the whole register.
   * f32 values may carry junk above bit 31.
   */
  pushGp(r: Gp): void;
  pushXmm(r: Xmm): void;
  /**
   * Pushes the flags as an i32 that is 1 when condition code `cc` (a jcc
   * suffix) holds; the operator's last instruction must have set them. A
   * following br_if, if, select or eqz uses them directly.
   */
  pushCond(cc: string): void;
  /** A scratch register the caller owns; `want` names it (whatever held it is moved away first). */
  tmpGp(want?: Gp): Gp;
  tmpXmm(want?: Xmm): Xmm;
  /** Gives an owned register back. */
  free(r: Gp | Xmm): void;
  /**
   * Before calling a runtime routine: every value the stack holds in a
   * register goes to memory, so the routine may clobber any register except
   * those the caller owns — and those only if the routine preserves them.
   */
  beforeCall(): void;
}

const LOW: Record<string, [string, string, string]> = {
  rax: ['eax', 'ax', 'al'], rcx: ['ecx', 'cx', 'cl'], rdx: ['edx', 'dx', 'dl'], rbx: ['ebx', 'bx', 'bl'],
  rsi: ['esi', 'si', 'sil'], rdi: ['edi', 'di', 'dil'], rbp: ['ebp', 'bp', 'bpl'], rsp: ['esp', 'sp', 'spl'],
};
const low = (r: Gp, k: 0 | 1 | 2): string => {
  const x = LOW[r];
  if (x) return x[k];
  if (!/^r(8|9|1[0-5])$/.test(r)) throw new Error(`not a general register: ${r}`);
  return r + ['d', 'w', 'b'][k];
};
export const r32 = (r: Gp): string => low(r, 0);
export const r16 = (r: Gp): string => low(r, 1);
export const r8 = (r: Gp): string => low(r, 2);
/** The size keyword of a memory operand of `bytes` bytes. */
export const ptr = (bytes: number): string => {
  const k = ({ 1: 'byte', 2: 'word', 4: 'dword', 8: 'qword' } as Record<number, string>)[bytes];
  if (!k) throw new Error(`no memory operand of ${bytes} bytes`);
  return `${k} ptr`;
};
/** The register name for a value of `bits` width. */
export const rw = (r: Gp, bits: 8 | 16 | 32 | 64): string => (bits === 64 ? r : bits === 32 ? r32(r) : bits === 16 ? r16(r) : r8(r));

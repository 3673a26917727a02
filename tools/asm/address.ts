/**
 * A memory operand as ModRM/SIB/displacement (SDM Vol.2A §2.1.5, Tables 2-1
 * to 2-3), with GNU as's choices:
 *   - the shortest displacement: none when it is a known 0 (but [rbp]/[r13]
 *     and 16-bit [bp] need a disp8 of 0), disp8 when it fits, else disp32
 *     (disp16); a value not known while parsing (a label) always gets the
 *     full width, since GNU as decides before layout;
 *   - rsp/r12 as base need a SIB byte; an index without a base is SIB with
 *     base 101 and a disp32, even when the displacement is small;
 *   - an absolute address in 64-bit mode is SIB-absolute (04 25), never
 *     rip-relative; [rip+x] is mod 00 r/m 101;
 *   - the default segment is SS for a bp/sp base, DS otherwise, and an
 *     override naming the default is dropped.
 */
import type { Mode, ValueField } from './match.js';
import { fitsUnsigned, inSigned } from './match.js';
import type { Expr } from './expr.js';
import type { MemOperand } from './operands.js';
import { RegClass } from './registers.js';

export interface Address {
  mod: number;
  rm: number;
  sib?: number;
  disp?: ValueField;
  /** REX.X and REX.B bits the base and index need. */
  rex: number;
  /** The base is bp/sp: the default segment is SS. */
  ssDefault: boolean;
  /** rip-relative: a symbolic displacement is relative to the end of the instruction. */
  rip: boolean;
}

/** The address size a memory operand's registers select, or why there is none. */
export function addressSize(m: MemOperand, mode: Mode, override?: number): number | string {
  const b = m.base?.size, i = m.index?.size;
  if (b !== undefined && i !== undefined && b !== i) return 'base and index registers of different sizes';
  const size = b ?? i;
  if (size === undefined) return override ?? (mode === 64 ? 8 : mode === 32 ? 4 : 2);
  if (override !== undefined && size !== override) return `registers of ${size * 8} bits in an address the prefix makes ${override * 8}-bit`;
  if (size === 8 && mode !== 64) return '64-bit addressing exists only in 64-bit mode';
  if (size === 2 && mode === 64) return '16-bit addressing does not exist in 64-bit mode';
  if (size === 1) return 'a byte register in an address';
  return size;
}

const BASE16: Record<string, number> = { 'bx+si': 0, 'bx+di': 1, 'bp+si': 2, 'bp+di': 3, si: 4, di: 5, bp: 6, bx: 7 };

/** `value`: the displacement's, 0 without one, undefined if not known yet. */
export function addressOf(m: MemOperand, value: bigint | undefined, asz: number, mode: Mode): Address | string {
  if (value !== undefined && !dispFits(value, asz)) return 'displacement out of range';

  if (asz === 2) {
    if (m.index !== undefined && m.scale !== 1) return '16-bit addressing has no scale';
    const names = [m.base, m.index].filter((r) => r !== undefined).map((r) => r!.name.toLowerCase()).sort();
    if (names.length === 0) return { mod: 0, rm: 6, disp: dispField(m, value, asz, 2), rex: 0, ssDefault: false, rip: false };
    const key = names.length === 2 ? `${names[0]}+${names[1]}` : names[0];
    const rm = BASE16[key];
    if (rm === undefined) return `[${key}] is not a 16-bit address`;
    const size = dispBytes(value, asz, rm === 6);
    return { mod: size === 0 ? 0 : size === 1 ? 1 : 2, rm, disp: dispField(m, value, asz, size), rex: 0, ssDefault: names.includes('bp'), rip: false };
  }

  const base = m.base, index = m.index;
  if (base?.cls === RegClass.Ip) {
    if (index !== undefined) return 'rip-relative addressing takes no index';
    return { mod: 0, rm: 5, disp: dispField(m, value, asz, 4), rex: 0, ssDefault: false, rip: true };
  }
  if (index !== undefined && index.num === 4) return `${index.name} cannot be an index`;
  const scaleBits = [1, 2, 4, 8].indexOf(m.scale);
  if (base === undefined && index === undefined) {
    // Absolute: SIB with no base and no index in 64-bit mode (r/m 101 would be rip-relative).
    if (mode === 64) return { mod: 0, rm: 4, sib: 0x25, disp: dispField(m, value, asz, 4), rex: 0, ssDefault: false, rip: false };
    return { mod: 0, rm: 5, disp: dispField(m, value, asz, 4), rex: 0, ssDefault: false, rip: false };
  }
  const rex = (index !== undefined && index.num >= 8 ? 2 : 0) | (base !== undefined && base.num >= 8 ? 1 : 0);
  if (base === undefined) {
    return { mod: 0, rm: 4, sib: (scaleBits << 6) | ((index!.num & 7) << 3) | 5, disp: dispField(m, value, asz, 4), rex, ssDefault: false, rip: false };
  }
  const size = dispBytes(value, asz, (base.num & 7) === 5);
  const mod = size === 0 ? 0 : size === 1 ? 1 : 2;
  const ssDefault = (base.num & 7) === 4 || (base.num & 7) === 5;
  if (index !== undefined || (base.num & 7) === 4) {
    const idx = index === undefined ? 4 : index.num & 7;
    return { mod, rm: 4, sib: (scaleBits << 6) | (idx << 3) | (base.num & 7), disp: dispField(m, value, asz, size), rex, ssDefault, rip: false };
  }
  return { mod, rm: base.num & 7, disp: dispField(m, value, asz, size), rex, ssDefault, rip: false };
}

/** The displacement field of `size` bytes (none for 0), sign-extended where narrower than the address. */
function dispField(m: MemOperand, value: bigint | undefined, asz: number, size: number): ValueField | undefined {
  if (size === 0) return undefined;
  return { expr: m.disp ?? ZERO, value, size, signed: size < asz || (asz === 8 && size === 4) };
}

const ZERO: Expr = { k: 'num', v: 0n };

/** 0, 1 or 4 (2 in 16-bit addressing) bytes for the displacement of a based address. */
function dispBytes(value: bigint | undefined, asz: number, needsDisp: boolean): number {
  const full = asz === 2 ? 2 : 4;
  if (value === undefined) return full;
  const v = BigInt.asIntN(asz === 2 ? 16 : asz === 4 ? 32 : 64, value);
  if (v === 0n && !needsDisp) return 0;
  return inSigned(v, 8) ? 1 : full;
}

/** A displacement must fit the address size (64-bit addressing: a sign-extended 32-bit value). */
function dispFits(v: bigint, asz: number): boolean {
  return asz === 8 ? inSigned(v, 32) : fitsUnsigned(v, asz * 8);
}

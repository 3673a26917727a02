/**
 * Register names as GNU as spells them in Intel syntax (and objdump prints
 * them), with the number the encoding uses: ModRM/SIB fields plus the REX bit
 * (SDM Vol.2A §2.2.1). The names come from the emulator's own tables.
 */
import { GPR8, GPR16, GPR32, GPR64, SEGS } from '../../emu/cpu/regs.js';

export const enum RegClass { Gpr, Seg, Cr, Dr, Xmm, Mmx, St, Ip }

export interface Reg {
  name: string;
  cls: RegClass;
  /** Encoding number 0..15 (bit 3 goes to REX); for ah..bh 4..7. */
  num: number;
  /** Bytes, for general registers and rip/eip; 0 otherwise. */
  size: number;
  /** ah ch dh bh: encodable only without a REX prefix. */
  high8?: boolean;
  /** spl bpl sil dil: encodable only with a REX prefix. */
  needsRex?: boolean;
}

const table = new Map<string, Reg>();

function add(name: string, cls: RegClass, num: number, size = 0, extra: Partial<Reg> = {}): void {
  table.set(name, { name, cls, num, size, ...extra });
}

GPR64.forEach((n, k) => add(n, RegClass.Gpr, k, 8));
GPR32.forEach((n, k) => add(n, RegClass.Gpr, k, 4));
GPR16.forEach((n, k) => add(n, RegClass.Gpr, k, 2));
GPR8.forEach((n, k) => {
  if (k >= 16) add(n, RegClass.Gpr, k - 12, 1, { high8: true });
  else add(n, RegClass.Gpr, k, 1, k >= 4 && k < 8 ? { needsRex: true } : {});
});
SEGS.forEach((n, k) => add(n, RegClass.Seg, k));
for (let k = 0; k < 16; k++) {
  add(`cr${k}`, RegClass.Cr, k);
  add(`dr${k}`, RegClass.Dr, k);
  add(`db${k}`, RegClass.Dr, k);
  add(`xmm${k}`, RegClass.Xmm, k);
}
for (let k = 0; k < 8; k++) add(`mm${k}`, RegClass.Mmx, k);
add('rip', RegClass.Ip, 0, 8);
add('eip', RegClass.Ip, 0, 4);
add('st', RegClass.St, 0);

/** The register called `name` (any case), or undefined; st(i) is parsed by the operand parser. */
export function lookupReg(name: string): Reg | undefined {
  return table.get(name.toLowerCase());
}

export function stReg(i: number): Reg {
  return { name: `st(${i})`, cls: RegClass.St, num: i, size: 0 };
}

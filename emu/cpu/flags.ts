/**
 * RFLAGS bits (SDM Vol.1 §3.4.3, Figure 3-8) and the vocabulary of lazy
 * flags. An ALU instruction records what it did (operation, width, operands,
 * result: Cpu.setLazy) and the flags are derived only when something reads
 * them (Cpu.cf/zf/…/getFlags); most results are overwritten before any flag
 * is looked at.
 *
 *   21  20  19  18 17 16 15 14 13..12 11 10  9  8  7  6  5  4  3  2  1  0
 *  ┌──┬───┬───┬──┬──┬──┬──┬──┬──────┬──┬──┬──┬──┬──┬──┬──┬──┬──┬──┬──┬──┐
 *  │ID│VIP│VIF│AC│VM│RF│0 │NT│ IOPL │OF│DF│IF│TF│SF│ZF│0 │AF│0 │PF│1 │CF│
 *  └──┴───┴───┴──┴──┴──┴──┴──┴──────┴──┴──┴──┴──┴──┴──┴──┴──┴──┴──┴──┴──┘
 */
export const enum F {
  CF = 1 << 0,
  FIXED1 = 1 << 1,
  PF = 1 << 2,
  AF = 1 << 4,
  ZF = 1 << 6,
  SF = 1 << 7,
  TF = 1 << 8,
  IF = 1 << 9,
  DF = 1 << 10,
  OF = 1 << 11,
  IOPL = 3 << 12,
  NT = 1 << 14,
  RF = 1 << 16,
  VM = 1 << 17,
  AC = 1 << 18,
  VIF = 1 << 19,
  VIP = 1 << 20,
  ID = 1 << 21,
  ARITH = CF | PF | AF | ZF | SF | OF,
}

/** What the last flag-setting instruction did; `None` means RFLAGS is exact. */
export const enum Lazy { None = 0, Add, Adc, Sub, Sbb, Logic, Inc, Dec }

/** PF is set when the low byte of the result has an even number of 1 bits. */
export const PARITY = new Uint8Array(256);
for (let i = 0; i < 256; i++) {
  let v = i; v ^= v >> 4; v ^= v >> 2; v ^= v >> 1;
  PARITY[i] = (v & 1) ? 0 : F.PF;
}

/** Sign-bit mask of an operand size in bytes (1, 2, 4); 8-byte operands test the high dword. */
export const SIGN = [0, 0x80, 0x8000, 0, 0x80000000 | 0] as const;
/** Value mask of an operand size in bytes (1, 2, 4). */
export const MASK = [0, 0xff, 0xffff, 0, -1] as const;

/**
 * The constants of fldpi, fldl2e, fldl2t, fldlg2 and fldln2 to 128 bits,
 * rounded per FCW.RC on load (SDM Vol.2A FLD1/FLDL2T/…: "rounded per RC",
 * no precision exception). The transcendentals use the same values.
 * Each is m × 2^e with m a 128-bit integer; the test recomputes them from series.
 */
import { type F80, FMT80, round } from './softfloat80.js';

export const enum Const { One, L2t, L2e, Pi, Lg2, Ln2, Zero }

/** In D9 E8..EE order: fld1 fldl2t fldl2e fldpi fldlg2 fldln2 fldz. */
export const CONSTANTS: [bigint, number][] = [
  [1n << 127n, -127],
  [0xd49a784bcd1b8afe492bf6ff4dafdb4cn, 1 - 127],
  [0xb8aa3b295c17f0bbbe87fed0691d3e88n, 0 - 127],
  [0xc90fdaa22168c234c4c6628b80dc1cd1n, 1 - 127],
  [0x9a209a84fbcff7988f8959ac0b7c9178n, -2 - 127],
  [0xb17217f7d1cf79abc9e3b39803f2f6afn, -1 - 127],
  [0n, 0],
];

export function loadConstant(cw: number, c: Const): F80 {
  const [m, e] = CONSTANTS[c];
  if (m === 0n) return { sign: 0, exp: 0, sig: 0n };
  return round({ cw: cw | 0x3f, exc: 0 }, 0, m, e, FMT80) as F80;
}

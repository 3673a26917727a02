/**
 * SSSE3 (SDM Vol.1 §12.9): byte shuffle, horizontal integer add/sub,
 * multiply-add of unsigned by signed bytes, rounded high multiply, sign
 * transfer, absolute value and byte-wise align. Every operation has an MMX
 * form (NP 0F 38 xx, n = 8) and an XMM form (66, n = 16).
 */
import type { OpDef } from '../table.js';
import { A, B, T, type LaneOp, pair } from './sse-lanes.js';
import { IOp, lanes } from './sse-int.js';

const sat16 = (v: number): number => (v > 32767 ? 32767 : v < -32768 ? -32768 : v);

/** pshufb: each result byte is A[index] or zero when the index byte's top bit is set. */
const pshufb: LaneOp = (n) => {
  T.u8.set(A.u8);
  for (let k = 0; k < n; k++) {
    const s = B.u8[k];
    A.u8[k] = s & 0x80 ? 0 : T.u8[s & (n - 1)];
  }
};

/**
 * Horizontal word/dword operations: adjacent pairs of A fill the low half of
 * the result, adjacent pairs of B the high half.
 */
function horizontal(v: 'i16' | 'i32', f: (a: number, b: number) => number): LaneOp {
  return (n) => {
    const size = v === 'i16' ? 2 : 4, c = n / size, half = c >> 1;
    const a = A[v], b = B[v], t = T[v];
    for (let k = 0; k < half; k++) { t[k] = f(a[2 * k], a[2 * k + 1]); t[half + k] = f(b[2 * k], b[2 * k + 1]); }
    for (let k = 0; k < c; k++) a[k] = t[k];
  };
}

/** pmaddubsw: unsigned bytes of A times signed bytes of B, adjacent products summed with signed saturation. */
const pmaddubsw: LaneOp = (n) => {
  const a = A.u8, b = B.i8;
  for (let k = 0; k < n >> 1; k++) T.i16[k] = sat16(a[2 * k] * b[2 * k] + a[2 * k + 1] * b[2 * k + 1]);
  A.u8.set(T.u8.subarray(0, n));
};

/** pabs: |B| into A (the stores make |−128| read back as 128 unsigned). */
function abs(v: 'i8' | 'i16' | 'i32'): LaneOp {
  const size = v === 'i8' ? 1 : v === 'i16' ? 2 : 4;
  return (n) => { for (let k = 0; k < n / size; k++) A[v][k] = Math.abs(B[v][k]); };
}

/** palignr: the concatenation A:B (A high) shifted right by imm8 bytes; the low n bytes remain. */
const palignr: LaneOp = (n, imm) => {
  for (let k = 0; k < n; k++) {
    const j = k + imm;
    T.u8[k] = j < n ? B.u8[j] : j < 2 * n ? A.u8[j - n] : 0;
  }
  A.u8.set(T.u8.subarray(0, n));
};

export const rows: OpDef[] = [
  ...pair('pshufb', 0x0f3800, pshufb),
  ...pair('phaddw', 0x0f3801, horizontal('i16', (a, b) => a + b)),
  ...pair('phaddd', 0x0f3802, horizontal('i32', (a, b) => a + b)),
  ...pair('phaddsw', 0x0f3803, horizontal('i16', (a, b) => sat16(a + b))),
  ...pair('pmaddubsw', 0x0f3804, pmaddubsw),
  ...pair('phsubw', 0x0f3805, horizontal('i16', (a, b) => a - b)),
  ...pair('phsubd', 0x0f3806, horizontal('i32', (a, b) => a - b)),
  ...pair('phsubsw', 0x0f3807, horizontal('i16', (a, b) => sat16(a - b))),
  ...pair('psignb', 0x0f3808, lanes('i8', IOp.Sign)),
  ...pair('psignw', 0x0f3809, lanes('i16', IOp.Sign)),
  ...pair('psignd', 0x0f380a, lanes('i32', IOp.Sign)),
  ...pair('pmulhrsw', 0x0f380b, lanes('i16', IOp.MulHiRS)),
  ...pair('pabsb', 0x0f381c, abs('i8')),
  ...pair('pabsw', 0x0f381d, abs('i16')),
  ...pair('pabsd', 0x0f381e, abs('i32')),
  ...pair('palignr', 0x0f3a0f, palignr, { imm: true }),
];

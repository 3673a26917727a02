/**
 * Exact 32×32 → 64-bit multiplication in doubles, built from 16-bit limbs so
 * that no partial product exceeds 2^53. Shared by mul/imul and the SSE
 * pmuludq/pmuldq lanes.
 */

/** High dword of the last umul32/smul32 product. */
export let mulHi = 0;

/** Unsigned product of two int32 bit patterns; returns the low dword, high dword in mulHi. */
export function umul32(a: number, b: number): number {
  const a0 = a & 0xffff, a1 = a >>> 16, b0 = b & 0xffff, b1 = b >>> 16;
  const p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0;
  const mid = (p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff);
  mulHi = (a1 * b1 + (p01 >>> 16) + (p10 >>> 16) + (mid >>> 16)) | 0;
  return (p00 & 0xffff) | (mid << 16);
}

/** Signed product: the unsigned one less b·2^32 if a < 0 and a·2^32 if b < 0. */
export function smul32(a: number, b: number): number {
  const lo = umul32(a, b);
  mulHi = (mulHi - (a < 0 ? b : 0) - (b < 0 ? a : 0)) | 0;
  return lo;
}

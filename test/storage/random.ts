/** Seeded data, the same in the writer process and the test (kept apart from helpers.ts so the writer loads fast). */
/** mulberry32: small, seeded, the same in the writer process and the test. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

export function uuid(n: number): Uint8Array {
  const u = new Uint8Array(16);
  u.fill(n);
  return u;
}

/** Random, zero, or compressible bytes, as disks hold. */
export function data(rand: () => number, len: number): Uint8Array {
  const b = new Uint8Array(len);
  const kind = rand();
  if (kind < 0.2) return b;
  if (kind < 0.5) return b.fill(1 + Math.floor(rand() * 255));
  // Four bytes per draw: the crash test replays megabytes of this per run.
  for (let i = 0; i < len; i += 4) {
    const r = Math.floor(rand() * 2 ** 32);
    for (let j = 0; j < 4 && i + j < len; j++) b[i + j] = r >>> (8 * j);
  }
  return b;
}

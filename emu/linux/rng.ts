/**
 * The seeded generator behind AT_RANDOM and getrandom: SplitMix64 (Steele,
 * Lea, Flood 2014), small and well-distributed; not cryptographic, which a
 * deterministic emulator cannot offer anyway.
 */
export class Rng {
  /** The generator's whole state (a machine snapshot saves it). */
  state: bigint;
  constructor(seed: bigint) { this.state = BigInt.asUintN(64, seed); }

  next64(): bigint {
    this.state = BigInt.asUintN(64, this.state + 0x9e3779b97f4a7c15n);
    let z = this.state;
    z = BigInt.asUintN(64, (z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n);
    z = BigInt.asUintN(64, (z ^ (z >> 27n)) * 0x94d049bb133111ebn);
    return z ^ (z >> 31n);
  }

  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let k = 0; k < n; k += 8) {
      let v = this.next64();
      for (let j = k; j < Math.min(n, k + 8); j++) { out[j] = Number(v & 0xffn); v >>= 8n; }
    }
    return out;
  }
}

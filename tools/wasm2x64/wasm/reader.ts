/**
 * A cursor over the module's bytes with the binary format's primitive
 * encodings (spec §5.1–5.2): bytes, LEB128 integers, IEEE floats as raw bits,
 * lengths and UTF-8 names.
 *
 * Reads are bounded by the end of the whole module, not of the current
 * section: the reference interpreter reads a section's contents straight
 * through and only then compares where it stopped with the declared size
 * ("section size mismatch"). Reading the same way gives the same first error
 * for the same broken module, which is what the spec tests check.
 */
import { malformed, WasmError } from './error.js';

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export class Reader {
  pos = 0;
  /** What running off the end is called; sections say more than the header does. */
  eofReason = 'unexpected end';
  /** Function index stamped on errors while a body is being read. */
  func: number | null = null;

  constructor(readonly bytes: Uint8Array) {}

  get atEnd(): boolean {
    return this.pos >= this.bytes.length;
  }

  fail(offset: number, reason: string): WasmError {
    return malformed(offset, reason, this.func);
  }

  u8(): number {
    if (this.pos >= this.bytes.length) throw this.fail(this.pos, this.eofReason);
    return this.bytes[this.pos++];
  }

  peek(): number | null {
    return this.pos < this.bytes.length ? this.bytes[this.pos] : null;
  }

  /** A reserved byte that must be 0x00 (memory index placeholders and the like). */
  zeroByte(): void {
    const at = this.pos;
    if (this.u8() !== 0) throw this.fail(at, 'zero byte expected');
  }

  /** Unsigned LEB128 of at most 32 bits. */
  u32(): number {
    const b = this.bytes[this.pos];
    if (b < 0x80) {
      this.pos++;
      return b;
    }
    return this.uleb(32);
  }

  /**
   * Unsigned LEB128 of `bits` ≤ 32 bits: at most ceil(bits / 7) bytes, and
   * the last may not use bits beyond `bits`. The two failures have distinct
   * names in the spec.
   */
  uleb(bits: number): number {
    let result = 0;
    for (let left = bits, scale = 1; ; left -= 7, scale *= 128) {
      if (left <= 0) throw this.fail(this.pos, 'integer representation too long');
      const at = this.pos;
      const b = this.u8();
      if (left < 7 && (b & 0x7f) >= 1 << left) throw this.fail(at, 'integer too large');
      result += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) return result;
    }
  }

  /**
   * Signed LEB128 of `bits` ≤ 33 bits, as a JS number. In the last byte the
   * bits beyond `bits` must all equal the sign bit.
   */
  sleb(bits: number): number {
    let result = 0;
    let scale = 1;
    for (let left = bits; ; left -= 7, scale *= 128) {
      if (left <= 0) throw this.fail(this.pos, 'integer representation too long');
      const at = this.pos;
      const b = this.u8();
      if (left < 7) {
        const mask = (-1 << (left - 1)) & 0x7f;
        if ((b & mask) !== 0 && (b & mask) !== mask) throw this.fail(at, 'integer too large');
      }
      result += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) return (b & 0x40) !== 0 ? result - scale * 128 : result;
    }
  }

  s32(): number {
    return this.sleb(32) | 0;
  }

  /** Signed LEB128 of 64 bits, as a BigInt in [-2^63, 2^63). */
  s64(): bigint {
    let result = 0n;
    let shift = 0n;
    for (let left = 64; ; left -= 7, shift += 7n) {
      if (left <= 0) throw this.fail(this.pos, 'integer representation too long');
      const at = this.pos;
      const b = this.u8();
      if (left < 7) {
        const mask = (-1 << (left - 1)) & 0x7f;
        if ((b & mask) !== 0 && (b & mask) !== mask) throw this.fail(at, 'integer too large');
      }
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return BigInt.asIntN(64, (b & 0x40) !== 0 ? result - (1n << (shift + 7n)) : result);
    }
  }

  /** Little-endian 32-bit word: an f32 as its bit pattern, so NaN payloads survive. */
  u32le(): number {
    const b = this.take(4);
    return (b[0] | (b[1] << 8) | (b[2] << 16) | (b[3] << 24)) >>> 0;
  }

  /** Little-endian 64-bit word as an unsigned BigInt: an f64's bit pattern. */
  u64le(): bigint {
    const lo = BigInt(this.u32le());
    return (BigInt(this.u32le()) << 32n) | lo;
  }

  take(n: number): Uint8Array {
    if (this.pos + n > this.bytes.length) {
      this.pos = this.bytes.length;
      throw this.fail(this.pos, this.eofReason);
    }
    const out = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /**
   * A byte count (vector, section, body or string length). As in the
   * reference interpreter, the count is checked against what is left counted
   * from the length's own first byte.
   */
  length(): number {
    const at = this.pos;
    const n = this.u32();
    if (n > this.bytes.length - at) throw this.fail(at, 'length out of bounds');
    return n;
  }

  /** A vector's element count, checked like a byte length (as the reference interpreter does). */
  count(): number {
    return this.length();
  }

  name(): string {
    const n = this.length();
    const at = this.pos;
    const raw = this.take(n);
    try {
      return utf8.decode(raw);
    } catch {
      throw this.fail(at, 'malformed UTF-8 encoding');
    }
  }
}

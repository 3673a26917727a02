/**
 * A StateValue (state.ts) as bytes: a tagged, self-describing tree, so that a
 * snapshot can be read without knowing the component layout, and doubles
 * (Infinity, NaN, -0 included) survive exactly.
 *
 *   value  := 0x00 null | 0x01 false | 0x02 true
 *           | 0x03 f64 | 0x04 string | 0x05 bytes | 0x06 list | 0x07 record
 *   string := u32 length, UTF-8          bytes := u32 length, raw
 *   list   := u32 count, value…          record := u32 count, (string key, value)…
 *
 * All integers little-endian.
 */
import type { StateValue } from './state.js';

const enum T { Null = 0, False = 1, True = 2, Number = 3, String = 4, Bytes = 5, List = 6, Record = 7 }

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder('utf-8', { fatal: true });

export function encodeState(v: StateValue): Uint8Array {
  const w = new Writer();
  w.value(v);
  return w.finish();
}

/** Throws an Error saying what is malformed; callers add the file name. */
export function decodeState(bytes: Uint8Array): StateValue {
  const r = new Reader(bytes);
  const v = r.value(0);
  if (r.pos !== bytes.length) throw new Error(`${bytes.length - r.pos} bytes after the state`);
  return v;
}

class Writer {
  private buf = new Uint8Array(1 << 16);
  private view = new DataView(this.buf.buffer);
  private len = 0;

  value(v: StateValue): void {
    if (v === null) this.byte(T.Null);
    else if (v === false) this.byte(T.False);
    else if (v === true) this.byte(T.True);
    else if (typeof v === 'number') { this.byte(T.Number); this.room(8); this.view.setFloat64(this.len, v, true); this.len += 8; }
    else if (typeof v === 'string') { this.byte(T.String); this.string(v); }
    else if (v instanceof Uint8Array) { this.byte(T.Bytes); this.u32(v.length); this.raw(v); }
    else if (Array.isArray(v)) { this.byte(T.List); this.u32(v.length); for (const x of v) this.value(x); }
    else {
      const keys = Object.keys(v);
      this.byte(T.Record);
      this.u32(keys.length);
      for (const k of keys) { this.string(k); this.value(v[k]); }
    }
  }

  finish(): Uint8Array { return this.buf.slice(0, this.len); }

  private string(s: string): void { const b = utf8.encode(s); this.u32(b.length); this.raw(b); }
  private byte(b: number): void { this.room(1); this.buf[this.len++] = b; }
  private u32(n: number): void { this.room(4); this.view.setUint32(this.len, n, true); this.len += 4; }
  private raw(b: Uint8Array): void { this.room(b.length); this.buf.set(b, this.len); this.len += b.length; }

  private room(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }
}

/** Nesting deeper than this is not a machine's state but a malformed file. */
const MAX_DEPTH = 64;

class Reader {
  pos = 0;
  private readonly view: DataView;
  constructor(private readonly bytes: Uint8Array) { this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength); }

  value(depth: number): StateValue {
    if (depth > MAX_DEPTH) throw new Error('state nested too deeply');
    const t = this.take(1)[0];
    switch (t) {
      case T.Null: return null;
      case T.False: return false;
      case T.True: return true;
      case T.Number: { const at = this.take(8); return new DataView(at.buffer, at.byteOffset, 8).getFloat64(0, true); }
      case T.String: return this.string();
      case T.Bytes: return this.take(this.u32()).slice();
      case T.List: {
        const n = this.u32();
        const out: StateValue[] = [];
        for (let i = 0; i < n; i++) out.push(this.value(depth + 1));
        return out;
      }
      case T.Record: {
        const n = this.u32();
        const out: { [key: string]: StateValue } = {};
        for (let i = 0; i < n; i++) { const k = this.string(); out[k] = this.value(depth + 1); }
        return out;
      }
      default: throw new Error(`unknown value type ${t} at byte ${this.pos - 1}`);
    }
  }

  private string(): string { return fromUtf8.decode(this.take(this.u32())); }

  private u32(): number {
    if (this.pos + 4 > this.bytes.length) throw new Error('state ends early');
    const v = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }

  private take(n: number): Uint8Array {
    if (this.pos + n > this.bytes.length) throw new Error('state ends early');
    const out = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
}

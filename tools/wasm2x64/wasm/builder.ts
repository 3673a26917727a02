/**
 * A small WebAssembly encoder: hand-made modules for the tests, and the
 * random modules of the differential fuzzer (../fuzz). Bodies are written as
 * bytes (opcodes from the front end's Op enum, immediates through uleb and
 * sleb), so a test shows exactly which encoding it feeds the decoder.
 */

export const I32 = 0x7f, I64 = 0x7e, F32 = 0x7d, F64 = 0x7c, FUNCREF = 0x70, EXTERNREF = 0x6f;

export function uleb(n: number | bigint): number[] {
  let v = BigInt(n);
  const out: number[] = [];
  do {
    const b = Number(v & 0x7fn);
    v >>= 7n;
    out.push(v !== 0n ? b | 0x80 : b);
  } while (v !== 0n);
  return out;
}

export function sleb(n: number | bigint): number[] {
  let v = BigInt(n);
  const out: number[] = [];
  for (;;) {
    const b = Number(v & 0x7fn);
    v >>= 7n;
    const done = (v === 0n && (b & 0x40) === 0) || (v === -1n && (b & 0x40) !== 0);
    out.push(done ? b : b | 0x80);
    if (done) return out;
  }
}

export function name(s: string): number[] {
  const bytes = [...new TextEncoder().encode(s)];
  return [...uleb(bytes.length), ...bytes];
}

/** Appends without spreading, which would overflow the call stack on big bodies. */
function append(out: number[], bytes: readonly number[]): number[] {
  for (const b of bytes) out.push(b);
  return out;
}

export function vec(items: readonly (readonly number[])[]): number[] {
  const out = uleb(items.length);
  for (const item of items) append(out, item);
  return out;
}

function section(id: number, payload: readonly number[]): number[] {
  return append([id, ...uleb(payload.length)], payload);
}

export interface Body {
  /** Runs of (count, type). */
  readonly locals?: readonly [number, number][];
  /** Instructions, without the final `end` (added here). */
  readonly code: readonly number[];
}

export interface ModuleParts {
  readonly types?: readonly [params: readonly number[], results: readonly number[]][];
  /** Encoded import entries after the two names: kind byte and description. */
  readonly imports?: readonly { module: string; name: string; desc: readonly number[] }[];
  /** Type index of each defined function; its body is in `bodies`. */
  readonly funcs?: readonly number[];
  /** Encoded table types, memory types, globals (type, mutability, init expr with end). */
  readonly tables?: readonly (readonly number[])[];
  readonly memories?: readonly (readonly number[])[];
  readonly globals?: readonly (readonly number[])[];
  readonly exports?: readonly { name: string; kind: number; index: number }[];
  readonly start?: number;
  readonly elems?: readonly (readonly number[])[];
  readonly dataCount?: number;
  readonly bodies?: readonly Body[];
  readonly datas?: readonly (readonly number[])[];
  readonly customs?: readonly { name: string; bytes: readonly number[] }[];
}

export function encodeModule(m: ModuleParts): Uint8Array<ArrayBuffer> {
  const out = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
  const add = (id: number, payload: number[] | null): void => {
    if (payload) append(out, section(id, payload));
  };
  const list = <T>(xs: readonly T[] | undefined, f: (x: T) => readonly number[]): number[] | null => (xs ? vec(xs.map(f)) : null);
  add(1, list(m.types, ([p, r]) => [0x60, ...vec(p.map((t) => [t])), ...vec(r.map((t) => [t]))]));
  add(2, list(m.imports, (i) => [...name(i.module), ...name(i.name), ...i.desc]));
  add(3, list(m.funcs, (t) => uleb(t)));
  add(4, list(m.tables, (t) => t));
  add(5, list(m.memories, (t) => t));
  add(6, list(m.globals, (g) => g));
  add(7, list(m.exports, (e) => [...name(e.name), e.kind, ...uleb(e.index)]));
  if (m.start !== undefined) add(8, uleb(m.start));
  add(9, list(m.elems, (e) => e));
  if (m.dataCount !== undefined) add(12, uleb(m.dataCount));
  add(10, list(m.bodies, (b) => {
    const body = append(vec((b.locals ?? []).map(([n, t]) => [...uleb(n), t])), b.code);
    body.push(0x0b);
    return append(uleb(body.length), body);
  }));
  add(11, list(m.datas, (d) => d));
  for (const c of m.customs ?? []) add(0, [...name(c.name), ...c.bytes]);
  return Uint8Array.from(out);
}

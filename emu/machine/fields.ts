/**
 * Named-field state for Stateful components (state.ts): a component lists
 * the fields that decide its future, and they are saved by name — never by
 * position, so a field added later cannot silently shift the others. Numbers,
 * booleans, strings and null are kept as they are; typed arrays as their
 * bytes; plain arrays element by element; nested objects through their own
 * field list. Restoring writes into the existing objects and arrays (many are
 * readonly and shared), and refuses a missing or mistyped field loudly.
 */
import type { StateValue } from './state.js';

type Fields = Record<string, unknown>;
export type StateRecord = { [key: string]: StateValue };

/** The named fields of `obj`; `nested` gives the field lists of object-valued fields. */
export function saveFields(obj: object, names: readonly string[], nested: Record<string, readonly string[]> = {}): StateRecord {
  const o = obj as Fields;
  const out: StateRecord = {};
  for (const name of names) {
    if (!(name in o)) throw new Error(`snapshot: ${obj.constructor.name} has no field '${name}'`);
    out[name] = toState(o[name], `${obj.constructor.name}.${name}`, nested[name]);
  }
  return out;
}

export function restoreFields(obj: object, names: readonly string[], s: StateValue, nested: Record<string, readonly string[]> = {}): void {
  const rec = asRecord(s, obj.constructor.name);
  const o = obj as Fields;
  for (const name of names) {
    const where = `${obj.constructor.name}.${name}`;
    if (!(name in rec)) throw new Error(`snapshot: ${where} is missing`);
    o[name] = fromState(o[name], rec[name], where, nested[name]);
  }
}

export function asRecord(s: StateValue, what: string): StateRecord {
  if (s === null || typeof s !== 'object' || Array.isArray(s) || s instanceof Uint8Array) throw new Error(`snapshot: ${what} is not a record`);
  return s;
}

function toState(v: unknown, where: string, fields: readonly string[] | undefined): StateValue {
  if (v === null || typeof v === 'number' || typeof v === 'boolean' || typeof v === 'string') return v;
  if (ArrayBuffer.isView(v)) return new Uint8Array(v.buffer.slice(v.byteOffset, v.byteOffset + v.byteLength));
  if (Array.isArray(v)) return v.map((x, i) => toState(x, `${where}[${i}]`, fields));
  if (typeof v === 'object' && fields) return saveFields(v as object, fields);
  throw new Error(`snapshot: ${where} (${typeof v}) cannot be saved`);
}

function fromState(cur: unknown, s: StateValue, where: string, fields: readonly string[] | undefined): unknown {
  if (ArrayBuffer.isView(cur)) {
    if (!(s instanceof Uint8Array) || s.length !== cur.byteLength) throw new Error(`snapshot: ${where} should be ${cur.byteLength} bytes`);
    new Uint8Array(cur.buffer, cur.byteOffset, cur.byteLength).set(s);
    return cur;
  }
  if (Array.isArray(cur)) {
    if (!Array.isArray(s)) throw new Error(`snapshot: ${where} should be a list`);
    // Elements of a list of objects are restored into fresh copies of its first element's shape.
    const items = s.map((x, i) => (fields ? restoreInto(cur[i], x, `${where}[${i}]`, fields) : scalar(x, `${where}[${i}]`)));
    cur.length = 0;
    cur.push(...items);
    return cur;
  }
  if (cur !== null && typeof cur === 'object' && fields) {
    restoreFields(cur, fields, s);
    return cur;
  }
  return scalar(s, where);
}

function restoreInto(cur: unknown, s: StateValue, where: string, fields: readonly string[]): unknown {
  if (cur === null || typeof cur !== 'object') throw new Error(`snapshot: ${where} has no object to restore into`);
  restoreFields(cur, fields, s);
  return cur;
}

function scalar(s: StateValue, where: string): StateValue {
  if (s === null || typeof s === 'number' || typeof s === 'boolean' || typeof s === 'string') return s;
  throw new Error(`snapshot: ${where} should be a number, boolean, string or null`);
}

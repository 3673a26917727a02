/**
 * The `name` custom section (spec appendix 7.4): module name, function names
 * and local names, for traces and symbol tables. Custom sections are not
 * validated, so a damaged name section must not reject the module: it reads
 * as null. Subsections we do not use (labels, types, ...) are skipped.
 */
import type { Names } from './module.js';
import { Reader } from './reader.js';

export function readNames(bytes: Uint8Array): Names | null {
  const r = new Reader(bytes);
  let module: string | null = null;
  const funcs = new Map<number, string>();
  const locals = new Map<number, Map<number, string>>();
  try {
    while (!r.atEnd) {
      const id = r.u8();
      const size = r.length();
      const end = r.pos + size;
      if (id === 0) module = r.name();
      else if (id === 1) readNameMap(r, funcs);
      else if (id === 2) {
        const n = r.count();
        for (let i = 0; i < n; i++) {
          const func = r.u32();
          const map = new Map<number, string>();
          readNameMap(r, map);
          locals.set(func, map);
        }
      } else r.take(size);
      if (r.pos !== end) return null;
    }
  } catch {
    return null;
  }
  return { module, funcs, locals };
}

function readNameMap(r: Reader, into: Map<number, string>): void {
  const n = r.count();
  for (let i = 0; i < n; i++) {
    const index = r.u32();
    into.set(index, r.name());
  }
}

/**
 * Shrinks a failing seed to the nodes the failure needs: each node in turn
 * (outermost first, so a whole statement or call goes in one try) is left
 * out if the module still fails the same way, until a pass changes nothing.
 * Nodes are the generator's (gen.ts `omit`), so every candidate is a valid
 * module and the random numbers behind the rest do not move.
 */
import { generate, type Generated } from './gen.js';

export interface Reduced {
  readonly omit: ReadonlySet<number>;
  readonly generated: Generated;
  /** Nodes left in. */
  readonly kept: number;
  readonly tries: number;
}

export async function reduce(
  seed: number, size: number, fails: (g: Generated) => Promise<boolean>, progress: (kept: number, tries: number) => void = () => {},
): Promise<Reduced> {
  const omit = new Set<number>();
  let g = generate(seed, size);
  let tries = 0;
  const kept = (ends: readonly number[]): number => {
    let n = 0;
    for (let i = 0; i < ends.length; i = omit.has(i) ? ends[i] : i + 1) if (!omit.has(i)) n++;
    return n;
  };
  for (let changed = true; changed;) {
    changed = false;
    for (let i = 0; i < g.ends.length;) {
      if (omit.has(i)) {
        i = g.ends[i];
        continue;
      }
      omit.add(i);
      const candidate = generate(seed, size, omit);
      tries++;
      if (await fails(candidate)) {
        g = candidate;
        changed = true;
        progress(kept(g.ends), tries);
        i = g.ends[i];
      } else {
        omit.delete(i);
        i++;
      }
    }
  }
  return { omit, generated: g, kept: kept(g.ends), tries };
}

/** The writer's work, generated from a seed so that the test can replay it without hearing from the writer. */
import { data, prng } from './random.js';

export const CRASH_SIZE = 16 * 65536; // 1 MiB: small enough for hundreds of runs
export const CRASH_FLUSHES = 12;

export type Op = { pos: number; bytes: Uint8Array } | 'flush';

export function* crashOps(seed: number): Generator<Op> {
  const rand = prng(seed);
  for (let f = 0; f < CRASH_FLUSHES; f++) {
    const writes = 1 + Math.floor(rand() * 4);
    for (let w = 0; w < writes; w++) {
      const len = rand() < 0.2 ? 65536 + Math.floor(rand() * 65536) : 1 + Math.floor(rand() * 9000);
      yield { pos: Math.floor(rand() * (CRASH_SIZE - len)), bytes: data(rand, len) };
    }
    yield 'flush';
  }
}

/** The disk's contents once n flushes have completed, for each n in `flushes` (ascending). */
export function statesAfter(seed: number, flushes: number[]): Uint8Array[] {
  const disk = new Uint8Array(CRASH_SIZE);
  const out: Uint8Array[] = [];
  let done = 0;
  const take = () => { while (out.length < flushes.length && flushes[out.length] === done) out.push(disk.slice()); };
  take();
  for (const op of crashOps(seed)) {
    if (out.length === flushes.length) break;
    if (op === 'flush') { done++; take(); } else disk.set(op.bytes, op.pos);
  }
  return out;
}

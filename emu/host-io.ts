/**
 * Writing to host descriptors that may be non-blocking: a terminal or pipe
 * shared with another process can say EAGAIN, and a synchronous writer must
 * then wait rather than die or drop output.
 */
import * as fs from 'node:fs';

/** Runs `fn` until the host stops saying EAGAIN, sleeping briefly in between. */
export function retryAgain<T>(fn: () => T): T {
  const nap = new Int32Array(new SharedArrayBuffer(4));
  for (;;) {
    try { return fn(); } catch (e) {
      if ((e as { code?: string }).code !== 'EAGAIN') throw e;
      Atomics.wait(nap, 0, 0, 5);
    }
  }
}

/** Writes all of `data` to `fd`, across short writes and EAGAIN. */
export function writeAll(fd: number, data: string | Uint8Array): void {
  const bytes = typeof data === 'string' ? Buffer.from(data) : data;
  for (let done = 0; done < bytes.length;) done += retryAgain(() => fs.writeSync(fd, bytes, done, bytes.length - done));
}

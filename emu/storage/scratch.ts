/**
 * A throw-away overlay in host memory (`-snapshot`, `-drive …,snapshot=on`):
 * writes land in 64 KiB chunks copied from the disk below on first touch, and
 * vanish when the machine goes; the disk below is opened read-only and never
 * written. The chunks it holds are what a machine snapshot must keep.
 */
import { checkRange, readClamped, type Disk } from './disk.js';

export const SCRATCH_CHUNK = 65536;

export class ScratchOverlay implements Disk {
  readonly format = 'scratch' as const;
  readonly size: number;
  /** Chunk number → its current contents. */
  readonly chunks = new Map<number, Uint8Array>();

  constructor(readonly parent: Disk) {
    this.size = parent.size;
  }

  get path(): string { return `${this.parent.path} (scratch overlay)`; }

  read(pos: number, len: number): Uint8Array {
    checkRange(this, pos, len);
    const out = new Uint8Array(len);
    for (let done = 0; done < len;) {
      const at = pos + done, n = Math.floor(at / SCRATCH_CHUNK), off = at % SCRATCH_CHUNK;
      const take = Math.min(len - done, SCRATCH_CHUNK - off);
      const chunk = this.chunks.get(n);
      out.set(chunk ? chunk.subarray(off, off + take) : this.parent.read(at, take), done);
      done += take;
    }
    return out;
  }

  write(pos: number, data: Uint8Array): void {
    checkRange(this, pos, data.length);
    for (let done = 0; done < data.length;) {
      const at = pos + done, n = Math.floor(at / SCRATCH_CHUNK), off = at % SCRATCH_CHUNK;
      const take = Math.min(data.length - done, SCRATCH_CHUNK - off);
      let chunk = this.chunks.get(n);
      if (!chunk) {
        chunk = readClamped(this.parent, n * SCRATCH_CHUNK, SCRATCH_CHUNK);
        this.chunks.set(n, chunk);
      }
      chunk.set(data.subarray(done, done + take), off);
      done += take;
    }
  }

  flush(): void {}
  close(): void { this.parent.close(); }
}

/** The Node side of host.ts: node:fs files and node:zlib raw deflate. Only the command line and tests import it. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { randomUUID } from 'node:crypto';
import { type BlockFile, type Codec, type Env, type Host, ImageError } from './host.js';

function fail(p: string, e: unknown): never {
  const code = (e as NodeJS.ErrnoException).code;
  const what = { ENOENT: 'no such file', EISDIR: 'is a directory', EACCES: 'permission denied', EEXIST: 'already exists', EROFS: 'read-only file system' }[code ?? ''];
  throw new ImageError(p, what ?? (e as Error).message);
}

export class NodeFile implements BlockFile {
  constructor(readonly path: string, private readonly fd: number) {}
  size(): number { return fs.fstatSync(this.fd).size; }
  read(pos: number, len: number): Uint8Array {
    const buf = Buffer.alloc(len);
    let n = 0;
    while (n < len) {
      const r = fs.readSync(this.fd, buf, n, len - n, pos + n);
      if (r === 0) break;
      n += r;
    }
    return n === len ? buf : buf.subarray(0, n);
  }
  write(pos: number, data: Uint8Array): void {
    for (let n = 0; n < data.length;) n += fs.writeSync(this.fd, data, n, data.length - n, pos + n);
  }
  sync(): void { fs.fsyncSync(this.fd); }
  truncate(len: number): void { fs.ftruncateSync(this.fd, len); }
  close(): void { fs.closeSync(this.fd); }
}

export const nodeHost: Host = {
  open(p, mode) {
    let fd: number;
    try {
      fd = fs.openSync(p, mode === 'r' ? 'r' : 'r+');
      if (fs.fstatSync(fd).isDirectory()) { fs.closeSync(fd); throw Object.assign(new Error(), { code: 'EISDIR' }); }
    } catch (e) { fail(p, e); }
    return new NodeFile(p, fd);
  },
  create(p) {
    try { return new NodeFile(p, fs.openSync(p, 'wx+')); } catch (e) { fail(p, e); }
  },
  exists: (p) => fs.existsSync(p),
  rename(from, to) {
    fs.renameSync(from, to);
    // The rename itself is durable only once the directory is synced.
    const dir = fs.openSync(path.dirname(to), 'r');
    try { fs.fsyncSync(dir); } finally { fs.closeSync(dir); }
  },
  remove: (p) => fs.rmSync(p, { force: true }),
  resolve: (from, stored) => (path.isAbsolute(stored) ? stored : path.join(path.dirname(from), stored)),
  relative: (from, target) => path.relative(path.dirname(path.resolve(from)), path.resolve(target)) || '.',
  randomUUID: () => Uint8Array.from(Buffer.from(randomUUID().replace(/-/g, ''), 'hex')),
};

export const nodeCodec: Codec = {
  deflate: (d) => zlib.deflateRawSync(d),
  inflate: (d) => zlib.inflateRawSync(d),
};

export const nodeEnv: Env = { host: nodeHost, codec: nodeCodec };

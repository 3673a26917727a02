/**
 * The process's file descriptors. Node has no dup() or lseek(), so an open
 * file description is ours: several descriptors may share one (dup), and the
 * file offset lives here and is passed to positional host reads and writes.
 * Pipes are in-emulator byte queues.
 */
import * as fs from 'node:fs';
import * as tty from 'node:tty';
import { E, errnoOf } from './errno.js';

export class OpenFile {
  refs = 1;
  pos = 0;
  /** Bytes queued in a pipe (shared by both ends). */
  pipe: { data: number[]; readers: number; writers: number } | null = null;
  constructor(
    readonly hostFd: number,
    readonly path: string,
    public flags: number,
    /** Regular files use positional I/O; ttys, pipes and devices stream. */
    readonly seekable: boolean,
    readonly ownsHostFd: boolean,
    readonly pipeEnd: 'r' | 'w' | null = null,
  ) {}

  get isTty(): boolean { return this.hostFd >= 0 && tty.isatty(this.hostFd); }
}

export const O_ACCMODE = 3, O_WRONLY = 1, O_APPEND = 0x400, O_NONBLOCK = 0x800, O_CLOEXEC = 0x80000;

export class FdTable {
  private readonly fds: (OpenFile | undefined)[] = [];
  private readonly cloexec = new Set<number>();

  /**
   * The standard descriptors are the host's own, and their file offset is
   * shared with whoever else holds them (the shell, a parent's stderr), so
   * they always use the host's offset: no positional I/O, no lseek here.
   */
  constructor() {
    for (let fd = 0; fd < 3; fd++) {
      this.fds[fd] = new OpenFile(fd, `/dev/fd/${fd}`, fd === 0 ? 0 : O_WRONLY, false, false);
    }
  }

  get(fd: number): OpenFile | undefined { return fd >= 0 ? this.fds[fd] : undefined; }

  /** Installs `f` at the lowest free descriptor >= `min`. */
  install(f: OpenFile, min = 0, cloexec = false): number {
    let fd = min;
    while (this.fds[fd] !== undefined) fd++;
    if (fd >= 1024) return -E.MFILE;
    this.fds[fd] = f;
    if (cloexec) this.cloexec.add(fd); else this.cloexec.delete(fd);
    return fd;
  }

  close(fd: number): number {
    const f = this.get(fd);
    if (!f) return -E.BADF;
    this.fds[fd] = undefined;
    this.cloexec.delete(fd);
    if (--f.refs === 0) {
      if (f.pipe) { if (f.pipeEnd === 'r') f.pipe.readers--; else f.pipe.writers--; }
      if (f.ownsHostFd) { try { fs.closeSync(f.hostFd); } catch (e) { return -errnoOf(e); } }
    }
    return 0;
  }

  dup(oldfd: number, newfd: number, min: number, cloexec: boolean): number {
    const f = this.get(oldfd);
    if (!f) return -E.BADF;
    if (newfd < 0) {
      const fd = this.install(f, min, cloexec);
      if (fd >= 0) f.refs++;
      return fd;
    }
    if (newfd >= 1024) return -E.BADF;
    if (newfd === oldfd) return newfd;
    if (this.fds[newfd]) this.close(newfd);
    this.fds[newfd] = f;
    f.refs++;
    if (cloexec) this.cloexec.add(newfd); else this.cloexec.delete(newfd);
    return newfd;
  }

  isCloexec(fd: number): boolean { return this.cloexec.has(fd); }
  setCloexec(fd: number, on: boolean): void { if (on) this.cloexec.add(fd); else this.cloexec.delete(fd); }
}

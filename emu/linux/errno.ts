/** Linux errno values (include/uapi/asm-generic/errno-base.h, errno.h). */
export const enum E {
  PERM = 1, NOENT = 2, SRCH = 3, INTR = 4, IO = 5, NXIO = 6, E2BIG = 7, NOEXEC = 8, BADF = 9,
  CHILD = 10, AGAIN = 11, NOMEM = 12, ACCES = 13, FAULT = 14, BUSY = 16, EXIST = 17, XDEV = 18,
  NODEV = 19, NOTDIR = 20, ISDIR = 21, INVAL = 22, NFILE = 23, MFILE = 24, NOTTY = 25, FBIG = 27,
  NOSPC = 28, SPIPE = 29, ROFS = 30, MLINK = 31, PIPE = 32, RANGE = 34, DEADLK = 35, NAMETOOLONG = 36,
  NOSYS = 38, NOTEMPTY = 39, LOOP = 40, OPNOTSUPP = 95, TIMEDOUT = 110,
}

/** Maps a Node.js system error (err.code) to a Linux errno. */
export function errnoOf(e: unknown): number {
  const code = (e as { code?: string }).code ?? '';
  const table: Record<string, number> = {
    EPERM: E.PERM, ENOENT: E.NOENT, EIO: E.IO, EBADF: E.BADF, EAGAIN: E.AGAIN, ENOMEM: E.NOMEM,
    EACCES: E.ACCES, EFAULT: E.FAULT, EBUSY: E.BUSY, EEXIST: E.EXIST, EXDEV: E.XDEV, ENOTDIR: E.NOTDIR,
    EISDIR: E.ISDIR, EINVAL: E.INVAL, EMFILE: E.MFILE, ENOTTY: E.NOTTY, EFBIG: E.FBIG, ENOSPC: E.NOSPC,
    ESPIPE: E.SPIPE, EROFS: E.ROFS, EPIPE: E.PIPE, ENAMETOOLONG: E.NAMETOOLONG, ENOTEMPTY: E.NOTEMPTY,
    ELOOP: E.LOOP, ENXIO: E.NXIO, EMLINK: E.MLINK,
  };
  return table[code] ?? E.IO;
}

/**
 * File syscalls over the host's files, relative to the current directory as
 * with qemu-user. Struct layouts: x86-64 `struct stat` (arch/x86/include/uapi/
 * asm/stat.h, 144 bytes), `struct statx` (include/uapi/linux/stat.h, 256 bytes),
 * `struct termios` (36 bytes: four tcflag_t, c_line, 19 c_cc).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tty from 'node:tty';
import { retryAgain } from '../host-io.js';
import { E, errnoOf } from './errno.js';
import { OpenFile, O_ACCMODE, O_APPEND, O_CLOEXEC, O_NONBLOCK, O_WRONLY } from './files.js';
import type { LinuxProcess } from './process.js';
import type { Syscall } from './syscalls.js';

const AT_FDCWD = -100, AT_SYMLINK_NOFOLLOW = 0x100, AT_REMOVEDIR = 0x200, AT_EMPTY_PATH = 0x1000;
const MAX_IO = 1 << 24;
const S_IFIFO = 0o010000;

/** Resolves a guest path against a directory descriptor; null if the descriptor is bad. */
function resolve(p: LinuxProcess, dirfd: number, name: string): string | null {
  if (name === '/proc/self/exe') return path.resolve(p.exePath);
  if (path.isAbsolute(name) || dirfd === AT_FDCWD) return name;
  const d = p.files.get(dirfd);
  return d ? path.join(d.path, name) : null;
}

function userPath(p: LinuxProcess, addr: number, dirfd = AT_FDCWD): string | number {
  const name = p.mem.readCString(addr);
  if (name === null) return -E.FAULT;
  if (name === '') return -E.NOENT;
  return resolve(p, dirfd, name) ?? -E.BADF;
}

export function hostWrite(f: OpenFile, data: Uint8Array): number {
  let done = 0;
  const position = f.seekable && !(f.flags & O_APPEND) ? f.pos : null;
  while (done < data.length) {
    const n = retryAgain(() => fs.writeSync(f.hostFd, data, done, data.length - done, position === null ? null : position + done));
    done += n;
  }
  if (f.seekable) f.pos += done;
  return done;
}

function readInto(p: LinuxProcess, f: OpenFile, buf: number, len: number, at: number | null): number {
  if ((f.flags & O_ACCMODE) === O_WRONLY) return -E.BADF;
  const n = Math.min(len, MAX_IO);
  if (f.pipe) {
    if (f.pipe.data.length === 0) {
      if (f.pipe.writers === 0) return 0;
      if (f.flags & O_NONBLOCK) return -E.AGAIN;
      p.kill(9, 'deadlock: read from an empty pipe that only this process can fill');
      return 0;
    }
    const chunk = Uint8Array.from(f.pipe.data.splice(0, n));
    return p.mem.write(buf, chunk) ? chunk.length : -E.FAULT;
  }
  const tmp = new Uint8Array(n);
  let got: number;
  try {
    got = retryAgain(() => fs.readSync(f.hostFd, tmp, 0, n, at ?? (f.seekable ? f.pos : null)));
  } catch (e) { return -errnoOf(e); }
  if (!p.mem.write(buf, tmp.subarray(0, got))) return -E.FAULT;
  if (at === null && f.seekable) f.pos += got;
  return got;
}

function writeFrom(p: LinuxProcess, f: OpenFile, buf: number, len: number, at: number | null): number {
  // Read-only descriptors refuse writes; the inherited stdin is left to the host to judge.
  if ((f.flags & O_ACCMODE) === 0 && f.hostFd !== 0) return -E.BADF;
  const data = p.mem.read(buf, Math.min(len, MAX_IO));
  if (data === null) return -E.FAULT;
  if (f.pipe) {
    if (f.pipe.readers === 0) { p.kill(13, 'write to a pipe with no reader (SIGPIPE)'); return -E.PIPE; }
    for (const b of data) f.pipe.data.push(b);
    return data.length;
  }
  try {
    if (at !== null) return retryAgain(() => fs.writeSync(f.hostFd, data, 0, data.length, at));
    return hostWrite(f, data);
  } catch (e) { return -errnoOf(e); }
}

const read: Syscall = (p) => { const f = p.files.get(p.int(0)); return f ? readInto(p, f, p.arg(1), p.arg(2), null) : -E.BADF; };
const write: Syscall = (p) => { const f = p.files.get(p.int(0)); return f ? writeFrom(p, f, p.arg(1), p.arg(2), null) : -E.BADF; };
const pread64: Syscall = (p) => {
  const f = p.files.get(p.int(0));
  if (!f) return -E.BADF;
  if (!f.seekable) return -E.SPIPE;
  return p.arg(3) < 0 ? -E.INVAL : readInto(p, f, p.arg(1), p.arg(2), p.arg(3));
};
const pwrite64: Syscall = (p) => {
  const f = p.files.get(p.int(0));
  if (!f) return -E.BADF;
  if (!f.seekable) return -E.SPIPE;
  return p.arg(3) < 0 ? -E.INVAL : writeFrom(p, f, p.arg(1), p.arg(2), p.arg(3));
};

/** readv/writev: struct iovec { void *base; size_t len; }, processed in order until a short transfer. */
function vectored(p: LinuxProcess, isWrite: boolean): number {
  const f = p.files.get(p.int(0));
  if (!f) return -E.BADF;
  const iov = p.arg(1), cnt = p.int(2);
  if (cnt < 0 || cnt > 1024) return -E.INVAL;
  const raw = p.mem.read(iov, cnt * 16);
  if (raw === null) return -E.FAULT;
  const dv = new DataView(raw.buffer);
  let total = 0;
  for (let k = 0; k < cnt; k++) {
    const base = Number(dv.getBigUint64(k * 16, true)), len = Number(dv.getBigUint64(k * 16 + 8, true));
    if (len === 0) continue;
    const n = isWrite ? writeFrom(p, f, base, len, null) : readInto(p, f, base, len, null);
    if (n < 0) return total > 0 ? total : n;
    total += n;
    if (n < len) break;
  }
  return total;
}

function openAt(p: LinuxProcess, dirfd: number, pathAddr: number, flags: number, mode: number): number {
  const name = userPath(p, pathAddr, dirfd);
  if (typeof name === 'number') return name;
  let hostFd: number;
  try { hostFd = fs.openSync(name, flags & ~O_CLOEXEC, mode & 0o7777); } catch (e) { return -errnoOf(e); }
  let seekable = false;
  try { seekable = fs.fstatSync(hostFd).isFile(); } catch { /* keep streaming */ }
  const fd = p.files.install(new OpenFile(hostFd, path.resolve(name), flags, seekable, true), 0, (flags & O_CLOEXEC) !== 0);
  if (fd < 0) fs.closeSync(hostFd);
  return fd;
}

const open: Syscall = (p) => openAt(p, AT_FDCWD, p.arg(0), p.int(1), p.int(2));
const openat: Syscall = (p) => openAt(p, p.int(0), p.arg(1), p.int(2), p.int(3));
const close: Syscall = (p) => p.files.close(p.int(0));

const SEEK_SET = 0, SEEK_CUR = 1, SEEK_END = 2;
const lseek: Syscall = (p) => {
  const f = p.files.get(p.int(0));
  if (!f) return -E.BADF;
  if (!f.seekable) return -E.SPIPE;
  const off = p.arg(1), whence = p.int(2);
  let base: number;
  if (whence === SEEK_SET) base = 0;
  else if (whence === SEEK_CUR) base = f.pos;
  else if (whence === SEEK_END) { try { base = fs.fstatSync(f.hostFd).size; } catch (e) { return -errnoOf(e); } }
  else return -E.INVAL;
  if (base + off < 0) return -E.INVAL;
  f.pos = base + off;
  return f.pos;
};

type BigStat = fs.BigIntStats;

function statBytes(s: BigStat): Uint8Array {
  const b = new Uint8Array(144), dv = new DataView(b.buffer);
  dv.setBigUint64(0, s.dev, true); dv.setBigUint64(8, s.ino, true); dv.setBigUint64(16, s.nlink, true);
  dv.setUint32(24, Number(s.mode), true); dv.setUint32(28, Number(s.uid), true); dv.setUint32(32, Number(s.gid), true);
  dv.setBigUint64(40, s.rdev, true); dv.setBigInt64(48, s.size, true); dv.setBigInt64(56, s.blksize, true); dv.setBigInt64(64, s.blocks, true);
  const times = [s.atimeNs, s.mtimeNs, s.ctimeNs];
  times.forEach((t, k) => { dv.setBigInt64(72 + k * 16, t / 1000000000n, true); dv.setBigInt64(80 + k * 16, t % 1000000000n, true); });
  return b;
}

function fifoStat(): Uint8Array {
  const b = new Uint8Array(144), dv = new DataView(b.buffer);
  dv.setBigUint64(16, 1n, true); dv.setUint32(24, S_IFIFO | 0o600, true); dv.setBigInt64(56, 4096n, true);
  return b;
}

function fstatOf(p: LinuxProcess, fd: number): BigStat | Uint8Array | number {
  const f = p.files.get(fd);
  if (!f) return -E.BADF;
  if (f.pipe) return fifoStat();
  try { return fs.fstatSync(f.hostFd, { bigint: true }); } catch (e) { return -errnoOf(e); }
}

function statPath(p: LinuxProcess, dirfd: number, pathAddr: number, flags: number): BigStat | Uint8Array | number {
  const name = p.mem.readCString(pathAddr);
  if (name === null) return -E.FAULT;
  if (name === '') return flags & AT_EMPTY_PATH ? fstatOf(p, dirfd) : -E.NOENT;
  const full = resolve(p, dirfd, name);
  if (full === null) return -E.BADF;
  try {
    return flags & AT_SYMLINK_NOFOLLOW ? fs.lstatSync(full, { bigint: true }) : fs.statSync(full, { bigint: true });
  } catch (e) { return -errnoOf(e); }
}

function putStat(p: LinuxProcess, st: BigStat | Uint8Array | number, buf: number): number {
  if (typeof st === 'number') return st;
  return p.mem.write(buf, st instanceof Uint8Array ? st : statBytes(st)) ? 0 : -E.FAULT;
}

const fstat: Syscall = (p) => putStat(p, fstatOf(p, p.int(0)), p.arg(1));
const stat: Syscall = (p) => putStat(p, statPath(p, AT_FDCWD, p.arg(0), 0), p.arg(1));
const lstat: Syscall = (p) => putStat(p, statPath(p, AT_FDCWD, p.arg(0), AT_SYMLINK_NOFOLLOW), p.arg(1));
const newfstatat: Syscall = (p) => putStat(p, statPath(p, p.int(0), p.arg(1), p.int(3)), p.arg(2));

/** statx fills the basic fields (STATX_BASIC_STATS = 0x7ff) from the same host stat. */
const statx: Syscall = (p) => {
  const st = statPath(p, p.int(0), p.arg(1), p.int(2));
  if (typeof st === 'number') return st;
  const src = st instanceof Uint8Array ? new DataView(st.buffer) : new DataView(statBytes(st).buffer);
  const b = new Uint8Array(256), dv = new DataView(b.buffer);
  dv.setUint32(0, 0x7ff, true);
  dv.setUint32(4, Number(src.getBigInt64(56, true)), true);
  dv.setUint32(16, Number(src.getBigUint64(16, true)), true);
  dv.setUint32(20, src.getUint32(28, true), true);
  dv.setUint32(24, src.getUint32(32, true), true);
  dv.setUint16(28, src.getUint32(24, true), true);
  dv.setBigUint64(32, src.getBigUint64(8, true), true);
  dv.setBigInt64(40, src.getBigInt64(48, true), true);
  dv.setBigInt64(48, src.getBigInt64(64, true), true);
  // atime, btime (unknown: left zero, mask says so), ctime, mtime as {i64 sec, u32 nsec}.
  const copyTime = (to: number, from: number): void => {
    dv.setBigInt64(to, src.getBigInt64(from, true), true);
    dv.setUint32(to + 8, Number(src.getBigInt64(from + 8, true)), true);
  };
  copyTime(64, 72); copyTime(96, 104); copyTime(112, 88);
  const rdev = src.getBigUint64(40, true), dev = src.getBigUint64(0, true);
  dv.setUint32(128, Number((rdev >> 8n) & 0xfffn), true); dv.setUint32(132, Number(rdev & 0xffn), true);
  dv.setUint32(136, Number((dev >> 8n) & 0xfffn), true); dv.setUint32(140, Number(dev & 0xffn), true);
  return p.mem.write(p.arg(4), b) ? 0 : -E.FAULT;
};

const TCGETS = 0x5401, TIOCGWINSZ = 0x5413, FIONBIO = 0x5421;

/** A TTY's settings as a freshly opened Linux terminal has them (cooked mode, 38400 baud). */
function defaultTermios(): Uint8Array {
  const b = new Uint8Array(36), dv = new DataView(b.buffer);
  dv.setUint32(0, 0x500, true);   // c_iflag: ICRNL | IXON
  dv.setUint32(4, 0x5, true);     // c_oflag: OPOST | ONLCR
  dv.setUint32(8, 0xbf, true);    // c_cflag: B38400 | CS8 | CREAD
  dv.setUint32(12, 0x8a3b, true); // c_lflag: ISIG ICANON ECHO ECHOE ECHOK ECHOCTL ECHOKE IEXTEN
  b.set([3, 28, 127, 21, 4, 0, 1, 0, 17, 19, 26, 0, 18, 15, 23, 22, 0, 0, 0], 17);
  return b;
}

const ioctl: Syscall = (p) => {
  const f = p.files.get(p.int(0));
  if (!f) return -E.BADF;
  const req = p.int(1) >>> 0, argp = p.arg(2);
  if (req === FIONBIO) return 0;
  if (!f.isTty) return -E.NOTTY;
  if (req === TCGETS) return p.mem.write(argp, defaultTermios()) ? 0 : -E.FAULT;
  if (req === TIOCGWINSZ) {
    const ws = new tty.WriteStream(f.hostFd).getWindowSize?.() ?? [80, 24];
    const b = new Uint8Array(8), dv = new DataView(b.buffer);
    dv.setUint16(0, ws[1], true); dv.setUint16(2, ws[0], true);
    return p.mem.write(argp, b) ? 0 : -E.FAULT;
  }
  p.warnOnce(`ioctl${req}`, `emu: unsupported ioctl 0x${req.toString(16)} on a tty returns EINVAL`);
  return -E.INVAL;
};

function accessAt(p: LinuxProcess, dirfd: number, pathAddr: number, mode: number): number {
  const name = userPath(p, pathAddr, dirfd);
  if (typeof name === 'number') return name;
  if (mode & ~7) return -E.INVAL;
  try { fs.accessSync(name, mode); return 0; } catch (e) { return -errnoOf(e); }
}

const F_DUPFD = 0, F_GETFD = 1, F_SETFD = 2, F_GETFL = 3, F_SETFL = 4, F_DUPFD_CLOEXEC = 1030, FD_CLOEXEC = 1;
const fcntl: Syscall = (p) => {
  const fd = p.int(0), cmd = p.int(1), arg = p.int(2);
  const f = p.files.get(fd);
  if (!f) return -E.BADF;
  switch (cmd) {
    case F_DUPFD: return p.files.dup(fd, -1, arg, false);
    case F_DUPFD_CLOEXEC: return p.files.dup(fd, -1, arg, true);
    case F_GETFD: return p.files.isCloexec(fd) ? FD_CLOEXEC : 0;
    case F_SETFD: p.files.setCloexec(fd, (arg & FD_CLOEXEC) !== 0); return 0;
    case F_GETFL: return f.flags & ~O_CLOEXEC;
    case F_SETFL: f.flags = (f.flags & ~(O_APPEND | O_NONBLOCK)) | (arg & (O_APPEND | O_NONBLOCK)); return 0;
    default:
      p.warnOnce(`fcntl${cmd}`, `emu: unsupported fcntl command ${cmd} returns EINVAL`);
      return -E.INVAL;
  }
};

const getcwd: Syscall = (p) => {
  const cwd = new TextEncoder().encode(process.cwd() + '\0');
  if (p.arg(1) < cwd.length) return -E.RANGE;
  return p.mem.write(p.arg(0), cwd) ? cwd.length : -E.FAULT;
};

function readlinkAt(p: LinuxProcess, dirfd: number, pathAddr: number, buf: number, size: number): number {
  const name = p.mem.readCString(pathAddr);
  if (name === null) return -E.FAULT;
  if (size <= 0) return -E.INVAL;
  let target: string;
  if (name === '/proc/self/exe') target = path.resolve(p.exePath);
  else {
    const full = resolve(p, dirfd, name);
    if (full === null) return -E.BADF;
    try { target = fs.readlinkSync(full); } catch (e) { return -errnoOf(e); }
  }
  const bytes = new TextEncoder().encode(target).subarray(0, size);
  return p.mem.write(buf, bytes) ? bytes.length : -E.FAULT;
}

function pathOp(p: LinuxProcess, dirfd: number, addr: number, op: (name: string) => void): number {
  const name = userPath(p, addr, dirfd);
  if (typeof name === 'number') return name;
  try { op(name); return 0; } catch (e) { return -errnoOf(e); }
}

function renameAt(p: LinuxProcess, olddir: number, oldAddr: number, newdir: number, newAddr: number): number {
  const from = userPath(p, oldAddr, olddir);
  if (typeof from === 'number') return from;
  return pathOp(p, newdir, newAddr, (to) => fs.renameSync(from, to));
}

const pipe2: Syscall = (p) => pipe2Flags(p, p.int(1));

function pipe2Flags(p: LinuxProcess, flags: number): number {
  const shared = { data: [] as number[], readers: 1, writers: 1 };
  const r = new OpenFile(-1, 'pipe:', 0 | (flags & O_NONBLOCK), false, false, 'r');
  const w = new OpenFile(-1, 'pipe:', O_WRONLY | (flags & O_NONBLOCK), false, false, 'w');
  r.pipe = w.pipe = shared;
  const cloexec = (flags & O_CLOEXEC) !== 0;
  const rfd = p.files.install(r, 0, cloexec);
  if (rfd < 0) return rfd;
  const wfd = p.files.install(w, 0, cloexec);
  if (wfd < 0) { p.files.close(rfd); return wfd; }
  const b = new Uint8Array(8), dv = new DataView(b.buffer);
  dv.setInt32(0, rfd, true); dv.setInt32(4, wfd, true);
  return p.mem.write(p.arg(0), b) ? 0 : -E.FAULT;
}

export const fsCalls: [number, string, Syscall][] = [
  [0, 'read', read],
  [1, 'write', write],
  [2, 'open', open],
  [3, 'close', close],
  [4, 'stat', stat],
  [5, 'fstat', fstat],
  [6, 'lstat', lstat],
  [8, 'lseek', lseek],
  [16, 'ioctl', ioctl],
  [17, 'pread64', pread64],
  [18, 'pwrite64', pwrite64],
  [19, 'readv', (p) => vectored(p, false)],
  [20, 'writev', (p) => vectored(p, true)],
  [22, 'pipe', (p) => pipe2Flags(p, 0)],
  [21, 'access', (p) => accessAt(p, AT_FDCWD, p.arg(0), p.int(1))],
  [32, 'dup', (p) => p.files.dup(p.int(0), -1, 0, false)],
  [33, 'dup2', (p) => p.files.get(p.int(0)) ? p.files.dup(p.int(0), p.int(1), 0, false) : -E.BADF],
  [72, 'fcntl', fcntl],
  [79, 'getcwd', getcwd],
  [82, 'rename', (p) => renameAt(p, AT_FDCWD, p.arg(0), AT_FDCWD, p.arg(1))],
  [83, 'mkdir', (p) => pathOp(p, AT_FDCWD, p.arg(0), (n) => fs.mkdirSync(n, { mode: p.int(1) & 0o7777 }))],
  [87, 'unlink', (p) => pathOp(p, AT_FDCWD, p.arg(0), (n) => fs.unlinkSync(n))],
  [89, 'readlink', (p) => readlinkAt(p, AT_FDCWD, p.arg(0), p.arg(1), p.arg(2))],
  [257, 'openat', openat],
  [258, 'mkdirat', (p) => pathOp(p, p.int(0), p.arg(1), (n) => fs.mkdirSync(n, { mode: p.int(2) & 0o7777 }))],
  [262, 'newfstatat', newfstatat],
  [263, 'unlinkat', (p) => pathOp(p, p.int(0), p.arg(1), (n) => (p.int(2) & AT_REMOVEDIR ? fs.rmdirSync(n) : fs.unlinkSync(n)))],
  [264, 'renameat', (p) => renameAt(p, p.int(0), p.arg(1), p.int(2), p.arg(3))],
  [267, 'readlinkat', (p) => readlinkAt(p, p.int(0), p.arg(1), p.arg(2), p.arg(3))],
  [269, 'faccessat', (p) => accessAt(p, p.int(0), p.arg(1), p.int(2))],
  [292, 'dup3', (p) => (p.int(0) === p.int(1) ? -E.INVAL : p.files.get(p.int(0)) ? p.files.dup(p.int(0), p.int(1), 0, (p.int(2) & O_CLOEXEC) !== 0) : -E.BADF)],
  [293, 'pipe2', pipe2],
  [316, 'renameat2', (p) => (p.int(4) !== 0 ? -E.INVAL : renameAt(p, p.int(0), p.arg(1), p.int(2), p.arg(3)))],
  [332, 'statx', statx],
  [439, 'faccessat2', (p) => accessAt(p, p.int(0), p.arg(1), p.int(2))],
];

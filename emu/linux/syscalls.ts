/**
 * The Linux x86-64 syscall boundary: `syscall` takes the number in RAX and
 * arguments in RDI RSI RDX R10 R8 R9, returns in RAX (-errno on failure) and
 * clobbers RCX (return RIP) and R11 (RFLAGS), as the kernel's entry_64 does.
 * Handlers live by subject in sys-*.ts; an unknown number gets -ENOSYS and
 * one warning.
 */
import type { Cpu } from '../cpu/cpu.js';
import { R } from '../cpu/regs.js';
import { E } from './errno.js';
import type { LinuxProcess } from './process.js';
import { fsCalls } from './sys-fs.js';
import { memCalls } from './sys-mem.js';
import { procCalls } from './sys-proc.js';

export type Syscall = (p: LinuxProcess) => number;

const table = new Map<number, [string, Syscall]>([...fsCalls, ...memCalls, ...procCalls].map(([nr, name, fn]) => [nr, [name, fn]]));

/** Names of syscalls we do not implement, for the warning line. */
const OTHER_NAMES: Record<number, string> = {
  7: 'poll', 15: 'rt_sigreturn', 23: 'select', 26: 'msync', 27: 'mincore', 29: 'shmget', 34: 'pause',
  36: 'getitimer', 37: 'alarm', 38: 'setitimer', 40: 'sendfile', 41: 'socket', 42: 'connect', 56: 'clone', 57: 'fork',
  58: 'vfork', 59: 'execve', 61: 'wait4', 73: 'flock', 74: 'fsync', 75: 'fdatasync', 76: 'truncate', 77: 'ftruncate',
  78: 'getdents', 80: 'chdir', 81: 'fchdir', 84: 'rmdir', 86: 'link', 88: 'symlink', 90: 'chmod', 91: 'fchmod',
  92: 'chown', 93: 'fchown', 95: 'umask', 98: 'getrusage', 100: 'times', 101: 'ptrace',
  109: 'setpgid', 110: 'getppid', 111: 'getpgrp', 112: 'setsid', 137: 'statfs', 138: 'fstatfs', 157: 'prctl',
  160: 'setrlimit', 217: 'getdents64', 213: 'epoll_create', 229: 'clock_getres', 232: 'epoll_wait', 233: 'epoll_ctl',
  271: 'ppoll', 281: 'epoll_pwait', 283: 'timerfd_create', 290: 'eventfd2', 291: 'epoll_create1', 309: 'getcpu',
  324: 'membarrier', 435: 'clone3', 439: 'faccessat2',
};

export function dispatchSyscall(p: LinuxProcess, cpu: Cpu): void {
  const nr = cpu.get64lo(R.AX);
  const rflags = cpu.getFlags();
  const entry = table.get(nr);
  let ret: number;
  if (entry) {
    ret = entry[1](p);
  } else {
    const name = OTHER_NAMES[nr] ?? `syscall ${nr}`;
    p.warnOnce(`sys${nr}`, `emu: unimplemented syscall ${name} (${nr}) returns ENOSYS`);
    ret = -E.NOSYS;
  }
  if (p.exitStatus !== null) return;
  cpu.set64(R.AX, ret | 0, Math.floor(ret / 4294967296) | 0);
  cpu.set64(R.CX, cpu.rip | 0, Math.floor(cpu.rip / 4294967296) | 0);
  cpu.set64(R.R11, rflags, 0);
}

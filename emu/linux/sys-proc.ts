/**
 * Process, identity, signal, time and randomness syscalls for a single-
 * threaded program. Signals are not delivered asynchronously: actions and
 * masks are recorded, and a signal sent to self takes its default action.
 */
import * as os from 'node:os';
import { E } from './errno.js';
import type { LinuxProcess } from './process.js';
import type { Syscall } from './syscalls.js';

const ARCH_SET_GS = 0x1001, ARCH_SET_FS = 0x1002, ARCH_GET_FS = 0x1003, ARCH_GET_GS = 0x1004;
const NSIG = 64;
/** Signals whose default action is to ignore them. */
const IGNORED_BY_DEFAULT = new Set([17, 18, 23, 28]); // SIGCHLD SIGCONT SIGURG SIGWINCH

function u64bytes(...vals: bigint[]): Uint8Array {
  const b = new Uint8Array(vals.length * 8), dv = new DataView(b.buffer);
  vals.forEach((v, k) => dv.setBigUint64(k * 8, BigInt.asUintN(64, v), true));
  return b;
}

const archPrctl: Syscall = (p) => {
  const code = p.int(0), addr = p.arg(1);
  switch (code) {
    case ARCH_SET_FS: p.setFsBase(addr); return 0;
    case ARCH_SET_GS: p.setGsBase(addr); return 0;
    case ARCH_GET_FS: return p.mem.write(addr, u64bytes(BigInt(p.cpu.segBase[4]))) ? 0 : -E.FAULT;
    case ARCH_GET_GS: return p.mem.write(addr, u64bytes(BigInt(p.cpu.segBase[5]))) ? 0 : -E.FAULT;
    default: return -E.INVAL;
  }
};

/** A signal sent to ourselves: default actions only (terminate, or ignore). */
function signalSelf(p: LinuxProcess, sig: number): number {
  if (sig < 0 || sig > NSIG) return -E.INVAL;
  if (sig === 0 || IGNORED_BY_DEFAULT.has(sig)) return 0;
  const act = p.sigactions.get(sig);
  const handler = act ? new DataView(act.buffer).getBigUint64(0, true) : 0n;
  if (handler === 1n) return 0; // SIG_IGN
  if (handler > 1n) p.warnOnce(`sig${sig}`, `emu: signal ${sig} has a handler, but handlers are not run here; taking the default action`);
  p.kill(sig, 'sent by the program to itself');
  return 0;
}

/** rt_sigaction(sig, act, oldact, sigsetsize): struct kernel_sigaction is 32 bytes on x86-64. */
const rtSigaction: Syscall = (p) => {
  const sig = p.int(0), act = p.arg(1), old = p.arg(2);
  if (sig < 1 || sig > NSIG || p.arg(3) !== 8) return -E.INVAL;
  // SIGKILL and SIGSTOP can be queried but not given an action.
  if (act !== 0 && (sig === 9 || sig === 19)) return -E.INVAL;
  if (old !== 0 && !p.mem.write(old, p.sigactions.get(sig) ?? new Uint8Array(32))) return -E.FAULT;
  if (act !== 0) {
    const a = p.mem.read(act, 32);
    if (a === null) return -E.FAULT;
    p.sigactions.set(sig, a);
  }
  return 0;
};

const SIG_BLOCK = 0, SIG_UNBLOCK = 1, SIG_SETMASK = 2;
const rtSigprocmask: Syscall = (p) => {
  const how = p.int(0), set = p.arg(1), old = p.arg(2);
  if (p.arg(3) !== 8) return -E.INVAL;
  // The new set is read before the old one is written: they may be the same buffer.
  const s = set !== 0 ? p.mem.read(set, 8) : null;
  if (set !== 0 && s === null) return -E.FAULT;
  if (old !== 0 && !p.mem.write(old, p.sigmask.slice())) return -E.FAULT;
  if (s !== null) {
    for (let k = 0; k < 8; k++) {
      if (how === SIG_BLOCK) p.sigmask[k] |= s[k];
      else if (how === SIG_UNBLOCK) p.sigmask[k] &= ~s[k];
      else if (how === SIG_SETMASK) p.sigmask[k] = s[k];
      else return -E.INVAL;
    }
  }
  return 0;
};

/** sigaltstack: reports "disabled" (SS_DISABLE) and accepts a new stack, which is never used. */
const sigaltstack: Syscall = (p) => {
  const old = p.arg(1);
  if (old !== 0) {
    const b = new Uint8Array(24);
    new DataView(b.buffer).setInt32(8, 2, true);
    if (!p.mem.write(old, b)) return -E.FAULT;
  }
  return 0;
};

const FUTEX_WAIT = 0, FUTEX_WAKE = 1, FUTEX_CMD = 0x7f;
/** With one thread, a wait whose value still matches can only time out, or never end. */
const futex: Syscall = (p) => {
  const addr = p.arg(0), op = p.int(1) & FUTEX_CMD, val = p.int(2), timeout = p.arg(3);
  if (op === FUTEX_WAKE) return 0;
  if (op === FUTEX_WAIT) {
    const b = p.mem.read(addr, 4);
    if (b === null) return -E.FAULT;
    if (new DataView(b.buffer).getInt32(0, true) !== (val | 0)) return -E.AGAIN;
    if (timeout !== 0) {
      const r = sleepFor(p, timeout);
      return r < 0 ? r : -E.TIMEDOUT;
    }
    p.kill(9, 'deadlock: futex wait that no other thread can wake');
    return 0;
  }
  p.warnOnce(`futex${op}`, `emu: futex operation ${op} is not supported; returning ENOSYS`);
  return -E.NOSYS;
};

function utsField(s: string): Uint8Array { const b = new Uint8Array(65); b.set(new TextEncoder().encode(s).subarray(0, 64)); return b; }
const uname: Syscall = (p) => {
  const b = new Uint8Array(65 * 6);
  ['Linux', 'damselfly', '6.1.0-damselfly', '#1 SMP PREEMPT_DYNAMIC', 'x86_64', '(none)'].forEach((s, k) => b.set(utsField(s), k * 65));
  return p.mem.write(p.arg(0), b) ? 0 : -E.FAULT;
};

const RLIM_INFINITY = 0xffffffffffffffffn;
/** Limits a default Linux login has: 8 MiB stack, 1024 open files, the rest unlimited. */
function rlimit(res: number): [bigint, bigint] {
  if (res === 3) return [8n << 20n, RLIM_INFINITY]; // RLIMIT_STACK
  if (res === 7) return [1024n, 1024n * 1024n];     // RLIMIT_NOFILE
  if (res === 4) return [0n, RLIM_INFINITY];        // RLIMIT_CORE
  if (res < 0 || res > 15) return [-1n, -1n];
  return [RLIM_INFINITY, RLIM_INFINITY];
}
const prlimit64: Syscall = (p) => {
  const pid = p.int(0), res = p.int(1), old = p.arg(3);
  if (pid !== 0 && pid !== p.pid) return -E.SRCH;
  const [cur, max] = rlimit(res);
  if (cur === -1n) return -E.INVAL;
  if (old !== 0 && !p.mem.write(old, u64bytes(cur, max))) return -E.FAULT;
  return 0;
};
const getrlimit: Syscall = (p) => {
  const [cur, max] = rlimit(p.int(0));
  if (cur === -1n) return -E.INVAL;
  return p.mem.write(p.arg(1), u64bytes(cur, max)) ? 0 : -E.FAULT;
};

const schedGetaffinity: Syscall = (p) => {
  const size = p.arg(1);
  if (size < 8 || size % 8 !== 0) return -E.INVAL;
  return p.mem.write(p.arg(2), u64bytes(1n)) ? 8 : -E.FAULT;
};

const CLOCK_REALTIME = 0, CLOCK_MONOTONIC = 1, CLOCK_PROCESS_CPUTIME_ID = 2, CLOCK_THREAD_CPUTIME_ID = 3,
  CLOCK_MONOTONIC_RAW = 4, CLOCK_REALTIME_COARSE = 5, CLOCK_MONOTONIC_COARSE = 6, CLOCK_BOOTTIME = 7;
function clockNs(p: LinuxProcess, id: number): bigint | null {
  switch (id) {
    case CLOCK_REALTIME: case CLOCK_REALTIME_COARSE: return p.realtimeNs();
    case CLOCK_MONOTONIC: case CLOCK_MONOTONIC_RAW: case CLOCK_MONOTONIC_COARSE: case CLOCK_BOOTTIME: return p.nowNs();
    case CLOCK_PROCESS_CPUTIME_ID: case CLOCK_THREAD_CPUTIME_ID: return BigInt(p.cpu.icount);
    default: return null;
  }
}
const clockGettime: Syscall = (p) => {
  const t = clockNs(p, p.int(0));
  if (t === null) return -E.INVAL;
  return p.mem.write(p.arg(1), u64bytes(t / 1000000000n, t % 1000000000n)) ? 0 : -E.FAULT;
};
const gettimeofday: Syscall = (p) => {
  const t = p.realtimeNs();
  if (p.arg(0) !== 0 && !p.mem.write(p.arg(0), u64bytes(t / 1000000000n, (t % 1000000000n) / 1000n))) return -E.FAULT;
  return 0;
};
const time: Syscall = (p) => {
  const s = p.realtimeNs() / 1000000000n;
  if (p.arg(0) !== 0 && !p.mem.write(p.arg(0), u64bytes(s))) return -E.FAULT;
  return Number(s);
};

/** Sleeping advances virtual time; the host does not wait. */
function sleepFor(p: LinuxProcess, reqAddr: number): number {
  const b = p.mem.read(reqAddr, 16);
  if (b === null) return -E.FAULT;
  const dv = new DataView(b.buffer);
  const sec = dv.getBigInt64(0, true), nsec = dv.getBigInt64(8, true);
  if (sec < 0n || nsec < 0n || nsec >= 1000000000n) return -E.INVAL;
  p.sleptNs += sec * 1000000000n + nsec;
  return 0;
}
const TIMER_ABSTIME = 1;
const clockNanosleep: Syscall = (p) => {
  if (clockNs(p, p.int(0)) === null) return -E.INVAL;
  if (p.int(1) & TIMER_ABSTIME) {
    const b = p.mem.read(p.arg(2), 16);
    if (b === null) return -E.FAULT;
    const dv = new DataView(b.buffer);
    const target = dv.getBigInt64(0, true) * 1000000000n + dv.getBigInt64(8, true);
    const now = clockNs(p, p.int(0)) ?? 0n;
    if (target > now) p.sleptNs += target - now;
    return 0;
  }
  return sleepFor(p, p.arg(2));
};

const getrandom: Syscall = (p) => {
  const len = Math.min(p.arg(1), 1 << 25);
  if (len < 0) return -E.INVAL;
  return p.mem.write(p.arg(0), p.rng.bytes(len)) ? len : -E.FAULT;
};

/** struct sysinfo (include/uapi/linux/sysinfo.h, 112 bytes on x86-64), about the guest's memory. */
const sysinfo: Syscall = (p) => {
  const b = new Uint8Array(112), dv = new DataView(b.buffer);
  dv.setBigUint64(0, p.nowNs() / 1000000000n, true);
  dv.setBigUint64(32, BigInt(p.phys.size), true);
  dv.setBigUint64(40, BigInt(p.phys.size - p.mem.usedBytes), true);
  dv.setUint16(80, 1, true);
  dv.setUint32(104, 1, true);
  return p.mem.write(p.arg(0), b) ? 0 : -E.FAULT;
};

const RSEQ_FLAG_UNREGISTER = 1;
/**
 * rseq registration (kernel/rseq.c): the kernel fills cpu_id_start and cpu_id
 * (offsets 0 and 4 of struct rseq) now and after every preemption; with one
 * CPU and no preemption of a single thread, filling them once is the whole job.
 */
const rseq: Syscall = (p) => {
  const addr = p.arg(0), len = p.int(1), flags = p.int(2);
  if (flags & RSEQ_FLAG_UNREGISTER) {
    if (p.rseqArea !== addr) return -E.INVAL;
    p.rseqArea = 0;
    return 0;
  }
  if (flags !== 0 || len < 32 || addr % 32 !== 0) return -E.INVAL;
  if (p.rseqArea !== 0) return p.rseqArea === addr ? -E.BUSY : -E.INVAL;
  if (!p.mem.write(addr, new Uint8Array(8))) return -E.FAULT;
  p.rseqArea = addr;
  return 0;
};

export const procCalls: [number, string, Syscall][] = [
  [13, 'rt_sigaction', rtSigaction],
  [14, 'rt_sigprocmask', rtSigprocmask],
  [24, 'sched_yield', () => 0],
  [35, 'nanosleep', (p) => sleepFor(p, p.arg(0))],
  [39, 'getpid', (p) => p.pid],
  [60, 'exit', (p) => { p.exit(p.int(0) & 0xff); return 0; }],
  [62, 'kill', (p) => (p.int(0) === p.pid || p.int(0) === 0 ? signalSelf(p, p.int(1)) : -E.SRCH)],
  [63, 'uname', uname],
  [96, 'gettimeofday', gettimeofday],
  [97, 'getrlimit', getrlimit],
  [102, 'getuid', () => os.userInfo().uid],
  [104, 'getgid', () => os.userInfo().gid],
  [107, 'geteuid', () => os.userInfo().uid],
  [108, 'getegid', () => os.userInfo().gid],
  [99, 'sysinfo', sysinfo],
  [110, 'getppid', () => 1],
  [131, 'sigaltstack', sigaltstack],
  [158, 'arch_prctl', archPrctl],
  [186, 'gettid', (p) => p.pid],
  [200, 'tkill', (p) => (p.int(0) === p.pid ? signalSelf(p, p.int(1)) : -E.SRCH)],
  [201, 'time', time],
  [202, 'futex', futex],
  [204, 'sched_getaffinity', schedGetaffinity],
  [218, 'set_tid_address', (p) => p.pid],
  [228, 'clock_gettime', clockGettime],
  [230, 'clock_nanosleep', clockNanosleep],
  [231, 'exit_group', (p) => { p.exit(p.int(0) & 0xff); return 0; }],
  [234, 'tgkill', (p) => (p.int(0) === p.pid && p.int(1) === p.pid ? signalSelf(p, p.int(2)) : -E.SRCH)],
  [273, 'set_robust_list', (p) => (p.arg(1) === 24 ? 0 : -E.INVAL)],
  [302, 'prlimit64', prlimit64],
  [318, 'getrandom', getrandom],
  [334, 'rseq', rseq],
];

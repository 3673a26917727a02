/**
 * One Linux process under `emu run`: loads a static ELF into a fresh address
 * space, builds the initial stack as the kernel's execve does, runs the CPU
 * and turns faults into signals. Syscalls are dispatched from syscalls.ts.
 *
 * Time is virtual by default: one retired instruction is one nanosecond, so
 * the same program, arguments, seed and input always produce the same output.
 */
import * as fs from 'node:fs';
import { Cpu } from '../cpu/cpu.js';
import { Mmu } from '../cpu/mmu.js';
import { PhysMem } from '../cpu/physmem.js';
import { Interpreter } from '../cpu/interp.js';
import { opTable } from '../cpu/opcodes.js';
import { CpuFault, Vector } from '../cpu/fault.js';
import { R, Seg } from '../cpu/regs.js';
import { features } from '../cpu/cpuid.js';
import { F } from '../cpu/flags.js';
import { AddressSpace, PAGE, Prot, STACK_SIZE, STACK_TOP } from './addrspace.js';
import { parseElf, PF, PT, type ElfImage } from './elf.js';
import { FdTable } from './files.js';
import { dispatchSyscall } from './syscalls.js';
import { Rng } from './rng.js';
import { Symbols } from '../firmware/symbols.js';

export interface RunOptions {
  /** Path of the program as the guest sees it (argv[0] and AT_EXECFN). */
  argv: string[];
  env: string[];
  seed: bigint;
  hostTime: boolean;
  memBytes: number;
  /** Where diagnostics go (never the program's stdout). */
  log: (line: string) => void;
  /** Compile hot blocks (default); false interprets every instruction. */
  jit?: boolean;
  /** Called before each instruction when tracing; slows the run. */
  trace?: (p: LinuxProcess) => void;
}

/** Where a static PIE is placed, as Linux's ELF_ET_DYN_BASE puts it. */
const PIE_BASE = 0x555555554000;
/** Virtual epoch for CLOCK_REALTIME: 2026-01-01T00:00:00Z. */
const EPOCH_NS = 1767225600n * 1000000000n;
const SIGNAL_NAMES: Record<number, string> = { 4: 'SIGILL', 5: 'SIGTRAP', 6: 'SIGABRT', 7: 'SIGBUS', 8: 'SIGFPE', 9: 'SIGKILL', 11: 'SIGSEGV', 15: 'SIGTERM' };

export class LinuxProcess {
  readonly phys: PhysMem;
  readonly mmu: Mmu;
  readonly cpu: Cpu;
  readonly interp: Interpreter;
  readonly mem: AddressSpace;
  readonly files = new FdTable();
  readonly rng: Rng;
  readonly pid = 1000;
  exitStatus: number | null = null;
  brkStart = 0;
  brk = 0;
  /** Virtual nanoseconds added by sleeps. */
  sleptNs = 0n;
  readonly warned = new Set<string>();
  readonly sigactions = new Map<number, Uint8Array>();
  sigmask = new Uint8Array(8);
  /** The registered struct rseq, or 0. */
  rseqArea = 0;
  exePath: string;
  /** The program's symbols (static PIEs' moved to where they were loaded), for traces and fault lines. */
  readonly symbols: Symbols;

  constructor(readonly image: ElfImage, exePath: string, readonly opts: RunOptions) {
    this.exePath = exePath;
    this.phys = new PhysMem(opts.memBytes);
    this.mmu = new Mmu(this.phys);
    this.cpu = new Cpu(this.mmu, {
      syscall: (cpu) => dispatchSyscall(this, cpu),
      rdtsc: () => { const t = this.nowNs(); return [Number(t & 0xffffffffn) | 0, Number(t >> 32n) | 0]; },
    });
    this.interp = new Interpreter(this.cpu, opTable, { jit: opts.jit ?? true });
    this.mem = new AddressSpace(this.phys, this.mmu);
    this.rng = new Rng(opts.seed);
    this.load();
    this.symbols = Symbols.fromElf(image.bytes, exePath, (line) => opts.log(`emu: ${line}`), image.pie ? PIE_BASE : 0);
  }

  static fromFile(path: string, opts: RunOptions): LinuxProcess {
    const bytes = new Uint8Array(fs.readFileSync(path));
    return new LinuxProcess(parseElf(bytes), path, opts);
  }

  /** Monotonic virtual time in nanoseconds (or host time with --host-time). */
  nowNs(): bigint {
    if (this.opts.hostTime) return process.hrtime.bigint();
    return BigInt(this.cpu.icount) + this.sleptNs;
  }

  realtimeNs(): bigint {
    if (this.opts.hostTime) return BigInt(Date.now()) * 1000000n;
    return EPOCH_NS + this.nowNs();
  }

  warnOnce(key: string, line: string): void {
    if (this.warned.has(key)) return;
    this.warned.add(key);
    this.opts.log(line);
  }

  private load(): void {
    const img = this.image;
    const bias = img.pie ? PIE_BASE : 0;
    let end = 0;
    for (const s of img.segments) {
      if (s.type !== PT.LOAD || s.memsz === 0) continue;
      const prot = (s.flags & PF.R ? Prot.Read : 0) | (s.flags & PF.W ? Prot.Write : 0) | (s.flags & PF.X ? Prot.Exec : 0);
      const vaddr = s.vaddr + bias;
      const start = vaddr - (vaddr % PAGE);
      const fileEnd = vaddr + s.filesz;
      const memEnd = Math.ceil((vaddr + s.memsz) / PAGE) * PAGE;
      this.mem.map(start, memEnd, prot, 'elf');
      // File-backed pages are copied now (with the whole file page, as mmap would);
      // the rest of the segment is demand-zero.
      const fileOff = s.offset - (vaddr - start);
      for (let p = start; p < fileEnd; p += PAGE) {
        const frame = this.mem.populate(p, prot);
        const from = fileOff + (p - start);
        const n = Math.min(PAGE, img.bytes.length - from);
        if (n > 0) this.phys.bytes.set(img.bytes.subarray(from, from + n), frame);
        // Bytes past filesz on the last file page belong to .bss and must be zero.
        if (p + PAGE > fileEnd) this.phys.bytes.fill(0, frame + (fileEnd - p), frame + PAGE);
      }
      end = Math.max(end, memEnd);
    }
    this.brkStart = this.brk = end;
    this.mem.map(STACK_TOP - STACK_SIZE, STACK_TOP, Prot.Read | Prot.Write, 'stack');
    this.buildStack(bias);
    this.cpu.rip = img.entry + bias;
    // User code runs with interrupts enabled (IF), as under Linux.
    this.cpu.setFlags(F.IF);
  }

  /**
   * The initial stack (System V x86-64 psABI §3.4.1, and Linux's
   * create_elf_tables): argc, argv[], NULL, envp[], NULL, auxv pairs, AT_NULL;
   * the strings, AT_RANDOM bytes and platform string above them.
   */
  private buildStack(bias: number): void {
    const enc = new TextEncoder();
    let sp = STACK_TOP;
    const pushBytes = (b: Uint8Array): number => {
      sp -= b.length;
      if (!this.mem.write(sp, b)) throw new Error('cannot write the initial stack');
      return sp;
    };
    const cstr = (s: string): Uint8Array => { const b = enc.encode(s); const z = new Uint8Array(b.length + 1); z.set(b); return z; };
    sp -= 8;
    const execfn = pushBytes(cstr(this.opts.argv[0] ?? this.exePath));
    const envPtrs = this.opts.env.map((e) => pushBytes(cstr(e)));
    const argPtrs = this.opts.argv.map((a) => pushBytes(cstr(a)));
    const platform = pushBytes(cstr('x86_64'));
    const random = pushBytes(this.rng.bytes(16));
    sp -= sp % 16;
    const img = this.image;
    const phdr = img.segments.find((s) => s.type === PT.PHDR);
    const firstLoad = img.segments.find((s) => s.type === PT.LOAD && s.offset === 0);
    const phdrAddr = phdr ? phdr.vaddr + bias : (firstLoad ? firstLoad.vaddr + bias + img.phoff : 0);
    // AT_HWCAP on x86-64 is CPUID.1:EDX.
    const AT = { NULL: 0, PHDR: 3, PHENT: 4, PHNUM: 5, PAGESZ: 6, BASE: 7, FLAGS: 8, ENTRY: 9, UID: 11, EUID: 12, GID: 13, EGID: 14, PLATFORM: 15, HWCAP: 16, CLKTCK: 17, SECURE: 23, RANDOM: 25, HWCAP2: 26, EXECFN: 31 };
    const uid = process.getuid?.() ?? 0, gid = process.getgid?.() ?? 0;
    const auxv: [number, number][] = [
      [AT.PHDR, phdrAddr], [AT.PHENT, img.phentsize], [AT.PHNUM, img.phnum], [AT.PAGESZ, PAGE],
      [AT.BASE, 0], [AT.FLAGS, 0], [AT.ENTRY, img.entry + bias],
      [AT.UID, uid], [AT.EUID, uid], [AT.GID, gid], [AT.EGID, gid], [AT.SECURE, 0],
      [AT.HWCAP, features.leaf1Edx >>> 0], [AT.HWCAP2, 0], [AT.CLKTCK, 100], [AT.RANDOM, random],
      [AT.PLATFORM, platform], [AT.EXECFN, execfn], [AT.NULL, 0],
    ];
    const words: number[] = [this.opts.argv.length, ...argPtrs, 0, ...envPtrs, 0, ...auxv.flat()];
    if (words.length % 2) sp -= 8; // keep RSP 16-byte aligned at argc
    const block = new Uint8Array(words.length * 8);
    const dv = new DataView(block.buffer);
    words.forEach((w, k) => dv.setBigUint64(k * 8, BigInt(w), true));
    pushBytes(block);
    this.cpu.set64(R.SP, sp | 0, Math.floor(sp / 4294967296));
  }

  /** Runs until the program exits; returns its exit status (128+signal if killed). */
  run(): number {
    const onFault = (f: CpuFault): void => this.onFault(f);
    while (this.exitStatus === null) {
      if (this.opts.trace) {
        this.opts.trace(this);
        this.interp.run(1, onFault);
      } else {
        this.interp.run(1 << 20, onFault);
      }
    }
    return this.exitStatus;
  }

  exit(status: number): void {
    this.exitStatus = status;
    this.interp.stopRequested = true;
  }

  /** A fault the program cannot recover from ends it like the matching signal's default action. */
  kill(signal: number, detail: string): void {
    this.opts.log(`emu: ${SIGNAL_NAMES[signal] ?? `signal ${signal}`} ${detail}`);
    this.exit(128 + signal);
  }

  private onFault(f: CpuFault): void {
    const rip = `rip=${hex64(this.cpu.rip)}${this.symbols.annotate(this.cpu.rip)}`;
    // Linux's IDT admits only int3 and into from ring 3; any other int n is #GP there.
    if (f.soft && f.vector !== Vector.BP && f.vector !== Vector.OF) { this.kill(11, `at ${rip} (${f.message}: general protection)`); return; }
    if (f.vector === Vector.PF && this.mem.fault(f)) return;
    switch (f.vector) {
      case Vector.UD: this.kill(4, `at ${rip} bytes=${this.bytesAt(this.cpu.rip)} (${f.message})`); break;
      case Vector.DE: this.kill(8, `at ${rip} (integer divide error)`); break;
      case Vector.XM: case Vector.MF: this.kill(8, `at ${rip} (${f.message})`); break;
      case Vector.BP: this.kill(5, `at ${rip} (int3)`); break;
      case Vector.DB: this.kill(5, `at ${rip} (${f.message})`); break;
      case Vector.PF: this.kill(11, `at ${rip} address=${hex64(f.address)} (${f.errorCode & 1 ? 'protection' : 'not mapped'}, ${f.errorCode & 2 ? 'write' : f.errorCode & 16 ? 'fetch' : 'read'})`); break;
      case Vector.AC: this.kill(7, `at ${rip} (alignment check)`); break;
      // Linux sends SIGBUS for a stack-segment fault (arch/x86/kernel/traps.c).
      case Vector.SS: this.kill(7, `at ${rip} (${f.message})`); break;
      default: this.kill(11, `at ${rip} (${f.message})`); break;
    }
  }

  /** Up to 8 instruction bytes at `lin`, as hex, for reports. */
  bytesAt(lin: number): string {
    const out: string[] = [];
    for (let k = 0; k < 8; k++) {
      const p = this.mem.userPhys(lin + k, false);
      if (p < 0) break;
      out.push(this.phys.bytes[p].toString(16).padStart(2, '0'));
    }
    return out.join(' ');
  }

  /** Syscall argument n (rdi rsi rdx r10 r8 r9) as a signed 64-bit number: pointers, sizes, offsets. */
  arg(n: number): number { return this.cpu.regNum(ARG_REGS[n]); }
  /** An `int` argument: the kernel reads only the low 32 bits (fds, flags, modes, ids). */
  int(n: number): number { return this.cpu.get64lo(ARG_REGS[n]); }

  setFsBase(v: number): void { this.cpu.segBase[Seg.FS] = v; }
  setGsBase(v: number): void { this.cpu.segBase[Seg.GS] = v; }
}

const ARG_REGS = [R.DI, R.SI, R.DX, R.R10, R.R8, R.R9];

/** A signed canonical address as the u64 hex a user expects. */
function hex64(v: number): string {
  return '0x' + BigInt.asUintN(64, BigInt(v)).toString(16);
}

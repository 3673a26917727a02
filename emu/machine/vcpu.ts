/**
 * One virtual CPU of the machine: the CPU core, its interpreter and decode
 * cache, and its local APIC, plus the run state the APIC drives — running,
 * halted in HLT, or waiting for a STARTUP IPI after INIT (SDM Vol.3A §8.4).
 * It is the core's Platform (ports, APIC, TSC) and the APIC's ApicCpu.
 */
import { Cpu } from '../cpu/cpu.js';
import { Mmu } from '../cpu/mmu.js';
import { Interpreter } from '../cpu/interp.js';
import { opTable } from '../cpu/opcodes.js';
import { F } from '../cpu/flags.js';
import { raise } from '../cpu/interrupt.js';
import { syscallArch } from '../cpu/ops/interrupt.js';
import { Attr, resetSystemState, setSegment, updateMode } from '../cpu/system.js';
import { Seg } from '../cpu/regs.js';
import type { Platform } from '../cpu/platform.js';
import type { CodePages } from '../cpu/codepages.js';
import type { PhysMem } from '../cpu/physmem.js';
import { LocalApic, type ApicCpu } from './lapic.js';
import type { ApicBus } from './apic-bus.js';
import type { VirtualClock } from './clock.js';
import type { Log, PortBus } from './bus.js';
import type { Symbols } from '../firmware/symbols.js';
import type { StateValue, Stateful } from './state.js';
import { asRecord, restoreFields, saveFields } from './fields.js';

const TWO32 = 4294967296;

/** What a vCPU needs from its machine. */
export interface VCpuHost {
  readonly clock: VirtualClock;
  readonly ports: PortBus;
  readonly cpuCount: number;
  readonly jit: boolean;
  log: Log;
  /** INIT reached the BSP, or a triple fault: the machine resets (or stops, with -no-reboot). */
  reset(reason: string, cpu: VCpu): void;
  /** Called before every instruction while tracing (-d in_asm,cpu); slows the run. */
  readonly trace: ((v: VCpu) => void) | null;
  /** The kernel image's symbols, for traces and log lines. */
  readonly symbols: Symbols;
  /** An interrupt or NMI reached this vCPU's local APIC: it may have something to run now. */
  kicked(cpu: VCpu): void;
}

export type RunState = 'running' | 'halted' | 'wait-sipi';

/**
 * The core's architectural state and what the run loop keeps about pending
 * events: registers and lazy flags, segment caches, control and debug
 * registers, descriptor tables, MSRs, x87/SSE, interrupt shadows, NMI state,
 * the retired count (interrupt shadows are measured in it). The decoded-code
 * caches are not state: they are rebuilt from the same bytes.
 */
const CORE_FIELDS = [
  'regs', 'rip', 'ip', 'mode', 'decodeKey', 'flags', 'lazyOp', 'lazySize', 'lazyA', 'lazyAHi', 'lazyB', 'lazyBHi',
  'lazyRes', 'lazyResHi', 'lazyCarry', 'segBase', 'segSel', 'segLimit', 'segAttr', 'cr0', 'cr2', 'cr4', 'efer', 'dr',
  'gdtBase', 'gdtLimit', 'idtBase', 'idtLimit', 'ldtSel', 'ldtBase', 'ldtLimit', 'trSel', 'trBase', 'trLimit', 'trAttr',
  'kernelGsBase', 'starLo', 'starHi', 'lstar', 'cstar', 'fmask', 'tscAux', 'patLo', 'patHi', 'halted', 'attention',
  'inhibitUntil', 'nmiPending', 'nmiBlocked', 'xmm', 'mxcsr', 'fpr', 'fcw', 'fsw', 'ftw', 'fip', 'fdp', 'fop', 'icount',
] as const;
const VCPU_FIELDS = ['tscOffset', 'waitingForSipi', 'interrupts'] as const;

export class VCpu implements ApicCpu, Platform, Stateful {
  readonly cpu: Cpu;
  readonly interp: Interpreter;
  readonly apic: LocalApic;
  /** The TSC is the virtual clock plus this offset (IA32_TIME_STAMP_COUNTER writes move it). */
  private tscOffset = 0;
  waitingForSipi: boolean;
  /** Counters for the console's CPU panel. */
  interrupts = 0;

  constructor(
    private readonly host: VCpuHost,
    readonly index: number,
    readonly apicId: number,
    readonly bsp: boolean,
    phys: PhysMem,
    apicBus: ApicBus,
    codePages: CodePages,
  ) {
    this.cpu = new Cpu(new Mmu(phys), {
      syscall: syscallArch,
      rdtsc: () => { const t = this.tsc(); return [t | 0, Math.floor(t / TWO32) | 0]; },
    });
    this.cpu.platform = this;
    this.interp = new Interpreter(this.cpu, opTable, { jit: host.jit, codePages });
    this.apic = new LocalApic(apicId, bsp, host.clock, apicBus, this, host.log);
    resetSystemState(this.cpu);
    this.waitingForSipi = !bsp;
  }

  save(): StateValue {
    return { ...saveFields(this, VCPU_FIELDS), core: saveFields(this.cpu, CORE_FIELDS), mmu: this.cpu.mmu.saveState(), apic: this.apic.save() };
  }

  restore(s: StateValue): void {
    const r = asRecord(s, `cpu${this.index}`);
    restoreFields(this, VCPU_FIELDS, r);
    restoreFields(this.cpu, CORE_FIELDS, r.core);
    this.cpu.mmu.restoreState(asRecord(r.mmu, `cpu${this.index} MMU`));
    this.apic.restore(r.apic);
    this.interp.flushCode();
  }

  get cpuCount(): number { return this.host.cpuCount; }
  get symbols(): Symbols { return this.host.symbols; }

  get state(): RunState {
    return this.waitingForSipi ? 'wait-sipi' : this.cpu.halted ? 'halted' : 'running';
  }

  // ---- ApicCpu ----

  kick(): void { this.cpu.attention = true; this.host.kicked(this); }
  nmi(): void { this.cpu.nmiPending = true; this.cpu.attention = true; this.host.kicked(this); }

  /** INIT resets an AP's core into wait-for-SIPI; INIT to the BSP resets the machine, as a PC's would. */
  init(): void {
    if (this.bsp) { this.host.reset('INIT to the BSP', this); return; }
    this.resetCore();
    this.waitingForSipi = true;
  }

  /** STARTUP: an AP waiting for SIPI starts in real mode at vector × 4096; otherwise it is ignored. */
  sipi(vector: number): void {
    if (!this.waitingForSipi) return;
    this.waitingForSipi = false;
    const cpu = this.cpu;
    setSegment(cpu, Seg.CS, vector << 8, vector << 12, 0xffff, Attr.P | Attr.S | Attr.RW | Attr.A | Attr.CODE);
    cpu.rip = 0;
    cpu.halted = false;
    updateMode(cpu);
  }

  tsc(): number { return this.host.clock.time() + this.tscOffset; }

  // ---- Platform ----

  portRead(port: number, size: 1 | 2 | 4): number { return this.host.ports.read(port, size); }
  portWrite(port: number, size: 1 | 2 | 4, value: number): void { this.host.ports.write(port, size, value); }
  setTsc(v: number): void { this.tscOffset = v - this.host.clock.time(); }
  log(category: string, line: string): void { this.host.log(category, `cpu${this.index}: ${line}`); }
  shutdown(reason: string): void { this.host.reset(reason, this); }
  symbolize(lin: number): string { return this.host.symbols.annotate(lin); }

  // ---- running ----

  /** The core's INIT state (SDM Vol.3A Table 9-1); the APIC's own INIT handling is the APIC's. */
  resetCore(): void {
    const cpu = this.cpu;
    cpu.regs.fill(0);
    cpu.xmm.fill(0);
    resetSystemState(cpu);
    cpu.halted = false;
    cpu.nmiPending = false;
    cpu.nmiBlocked = false;
    cpu.inhibitUntil = 0;
    this.interp.flushCode();
  }

  /**
   * Can run this round: not waiting for SIPI, and not halted unless
   * something it can take has arrived (an NMI, or an interrupt with IF set).
   */
  runnable(): boolean {
    if (this.waitingForSipi) return false;
    const cpu = this.cpu;
    if (!cpu.halted) return true;
    if (!cpu.attention) return false;
    const wake = (cpu.nmiPending && !cpu.nmiBlocked) || ((cpu.flags & F.IF) !== 0 && this.apic.pendingVector() >= 0);
    if (wake) cpu.halted = false;
    return wake;
  }

  /** Runs up to `budget` instructions; faults are delivered through the IDT. */
  runSlice(budget: number): number {
    const cpu = this.cpu;
    const base = cpu.icount;
    this.host.clock.elapsed = () => cpu.icount - base;
    try {
      const trace = this.host.trace;
      if (trace === null) return this.interp.run(budget, (f) => raise(cpu, f));
      let n = 0;
      while (n < budget && !cpu.halted && !this.interp.stopRequested) {
        trace(this);
        n += this.interp.run(1, (f) => raise(cpu, f));
      }
      return n;
    } finally {
      this.host.clock.elapsed = () => 0;
    }
  }

  /** Stops the slice after the current instruction (debug-exit, reset). */
  stop(): void { this.interp.stopRequested = true; }
}

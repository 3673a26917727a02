/**
 * What a CPU running system code needs from the machine around it: I/O
 * ports, its local APIC, the time stamp counter, a log, and someone to tell
 * when it shuts down. The user-mode runner has no platform: privileged
 * instructions fault there before they would need one.
 */
export interface CpuApic {
  /** IA32_APIC_BASE[11]: while clear, CPUID reports no APIC (SDM Vol.3A §11.4.3). */
  readonly hwEnabled: boolean;
  /** CR8: the TPR's priority class (TPR bits 7:4); a write clears TPR bits 3:0. */
  tpr: number;
  /** The vector of the highest-priority deliverable maskable interrupt, or -1. */
  pendingVector(): number;
  /** The interrupt-acknowledge cycle: the vector the CPU must take now. */
  acknowledge(): number;
  readApicBaseMsr(): [number, number];
  /** False when the value sets a reserved bit (the CPU raises #GP). */
  writeApicBaseMsr(lo: number, hi: number): boolean;
  readTscDeadline(): number;
  writeTscDeadline(v: number): void;
}

export interface Platform {
  readonly apic: CpuApic;
  /** This CPU's APIC ID and the number of CPUs (CPUID topology). */
  readonly apicId: number;
  readonly cpuCount: number;
  portRead(port: number, size: 1 | 2 | 4): number;
  portWrite(port: number, size: 1 | 2 | 4, value: number): void;
  /** The TSC as a JS number of ticks (exact below 2^53, about 104 days at 1 GHz). */
  tsc(): number;
  /** IA32_TIME_STAMP_COUNTER write: the TSC continues from `v`. */
  setTsc(v: number): void;
  /** Diagnostics by QEMU `-d` category ('int', 'unimp', 'guest_errors', 'cpu_reset'). */
  log(category: string, line: string): void;
  /** A triple fault (or a shutdown request): the machine resets or stops. */
  shutdown(reason: string): void;
  /** ` <name+0xoff>` when the guest image's symbols name this linear code address, else '': for log lines. */
  symbolize?(lin: number): string;
}

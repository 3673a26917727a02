/**
 * What the CPU panel shows, read off a machine: cumulative counters only,
 * so a sample is small, serialisable (it crosses the WebSocket in remote
 * mode) and rates can be derived anywhere from two of them.
 */
import type { Machine } from '../machine/machine.js';
import type { RunState } from '../machine/vcpu.js';

export interface CpuSample {
  /** Virtual time of the sample, ns. */
  virtualNs: number;
  /** MachineRunner.generation: a reset starts the counters again. */
  generation: number;
  cpus: {
    apicId: number;
    state: RunState;
    instructions: number;
    /** Interrupt messages its local APIC received (IPIs, IOAPIC, MSI). */
    interrupts: number;
  }[];
  /** ipi[src][dst]: IPIs CPU src sent that reached CPU dst. */
  ipi: number[][];
}

export function sampleMachine(m: Machine, generation: number): CpuSample {
  const bus = m.apicBus;
  return {
    virtualNs: m.clock.now,
    generation,
    cpus: m.vcpus.map((v) => ({
      apicId: v.apicId,
      state: v.state,
      instructions: v.cpu.icount,
      interrupts: bus.received[v.apic.cpuIndex] ?? 0,
    })),
    ipi: m.vcpus.map((s) => m.vcpus.map((d) => bus.ipiCount[s.apic.cpuIndex]?.[d.apic.cpuIndex] ?? 0)),
  };
}

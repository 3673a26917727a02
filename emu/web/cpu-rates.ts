/**
 * Turns successive CpuSamples into the panel's numbers: totals, and rates
 * per second of *virtual* time. Virtual time is what the guest's own timers
 * count, so "100 interrupts/s" from a 100 Hz tick reads as 100 however fast
 * the host is, and the same run shows the same rates on every machine;
 * per wall second they would measure the host instead, and jump whenever
 * every CPU halts and the clock skips ahead to the next event.
 */
import type { CpuSample } from './cpu-sample.js';
import type { RunState } from '../machine/vcpu.js';

export interface CpuRow {
  index: number;
  apicId: number;
  state: RunState;
  instructions: number;
  interrupts: number;
  ipisSent: number;
  ipisReceived: number;
  /** Per virtual second over the last sampling interval. */
  interruptRate: number;
  ipiSentRate: number;
  ipiReceivedRate: number;
}

export interface PanelModel {
  virtualNs: number;
  cpus: CpuRow[];
  /** Cumulative IPIs, [src][dst]. */
  ipi: number[][];
  /** IPIs in the last sampling interval, [src][dst]: what the matrix highlights. */
  ipiRecent: number[][];
}

const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);
const column = (m: number[][], j: number): number[] => m.map((row) => row[j] ?? 0);

export class RateTracker {
  private last: CpuSample | null = null;
  private rates: { interrupt: number; sent: number; received: number }[] = [];
  private recent: number[][] = [];

  update(s: CpuSample): PanelModel {
    const prev = this.last !== null && this.last.generation === s.generation && this.last.cpus.length === s.cpus.length ? this.last : null;
    const dt = prev ? (s.virtualNs - prev.virtualNs) / 1e9 : 0;
    // A guest reboot rebuilds the APIC bus and its counters restart at zero: count from there.
    const delta = (now: number, before: number): number => (now >= before ? now - before : now);
    if (prev === null) {
      this.rates = s.cpus.map(() => ({ interrupt: 0, sent: 0, received: 0 }));
      this.recent = s.ipi.map((row) => row.map(() => 0));
    } else if (dt > 0) {
      // While paused or waiting for input no virtual time passes: the last rates stand.
      this.recent = s.ipi.map((row, i) => row.map((n, j) => delta(n, prev.ipi[i][j])));
      this.rates = s.cpus.map((c, i) => ({
        interrupt: delta(c.interrupts, prev.cpus[i].interrupts) / dt,
        sent: sum(this.recent[i]) / dt,
        received: sum(column(this.recent, i)) / dt,
      }));
    }
    this.last = s;
    return {
      virtualNs: s.virtualNs,
      ipi: s.ipi,
      ipiRecent: this.recent,
      cpus: s.cpus.map((c, i) => ({
        index: i,
        apicId: c.apicId,
        state: c.state,
        instructions: c.instructions,
        interrupts: c.interrupts,
        ipisSent: sum(s.ipi[i]),
        ipisReceived: sum(column(s.ipi, i)),
        interruptRate: this.rates[i].interrupt,
        ipiSentRate: this.rates[i].sent,
        ipiReceivedRate: this.rates[i].received,
      })),
    };
  }
}

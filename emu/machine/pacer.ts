/**
 * Keeps an interactive machine's virtual clock in step with the host's. While
 * every CPU halts, the machine jumps its clock to the next timer, so an idle
 * guest with a 100 Hz tick would see seconds pass in host milliseconds (and
 * burn a host core doing so). A host that paces asks `ahead()` between runs
 * and sleeps that long, as QEMU's `-icount sleep=on` does. A guest busier than
 * real time falls behind; the pacer then forgets all but `maxBehindMs` of the
 * debt, so it does not race later to catch up. Pure: the host's clock comes in
 * as a function, so the machine itself never reads host time.
 */
export class Pacer {
  private hostBase = 0;
  private virtualBase = 0;

  constructor(private readonly hostMs: () => number, private readonly maxBehindMs = 50) {}

  /** Virtual time `virtualNs` is now: after a start, a resume, a reset, a loaded snapshot. */
  anchor(virtualNs: number): void {
    this.hostBase = this.hostMs();
    this.virtualBase = virtualNs;
  }

  /** How many host milliseconds to wait before virtual time `virtualNs` is due; 0 when it is. */
  ahead(virtualNs: number): number {
    const host = this.hostMs() - this.hostBase;
    const virtual = (virtualNs - this.virtualBase) / 1e6;
    if (virtual < host - this.maxBehindMs) this.hostBase += host - this.maxBehindMs - virtual;
    return Math.max(0, virtual - host);
  }
}

/**
 * The interrupt-message fabric between interrupt sources (local APIC ICRs,
 * IOAPICs, MSI writes) and the local APICs, as on a system bus that carries
 * interrupt messages (Intel SDM Vol.3A §11.6 "Issuing Interprocessor
 * Interrupts", §11.6.2 destination modes, §11.6.2.4 lowest-priority delivery,
 * §11.11 "Message Signalled Interrupts"), plus the EOI messages that local
 * APICs broadcast back to IOAPICs for level-triggered vectors (§11.8.5).
 *
 * Delivery is instantaneous: a message reaches every target before the
 * sending register write returns, so a delivery status bit never reads busy.
 *
 * Lowest-priority arbitration picks the target with the lowest arbitration
 * priority (APR, §11.6.2.4); ties go to the lowest APIC ID. Real chipsets
 * rotate or hash, but a fixed rule keeps runs reproducible and easy to predict.
 */
import type { StateValue, Stateful } from './state.js';
import { asRecord } from './fields.js';
import type { Log } from './bus.js';
import type { LocalApic } from './lapic.js';

export type DeliveryMode = 'fixed' | 'lowest' | 'smi' | 'nmi' | 'init' | 'startup' | 'extint';

/** The 3-bit delivery-mode encoding shared by the ICR, IOAPIC entries and MSI data; null = reserved. */
export const DELIVERY_MODES: readonly (DeliveryMode | null)[] = ['fixed', 'lowest', 'smi', null, 'nmi', 'init', 'startup', 'extint'];

/** none: use dest; self; all: all including self; others: all excluding self (ICR only). */
export type Shorthand = 'none' | 'self' | 'all' | 'others';

export interface ApicMessage {
  mode: DeliveryMode;
  vector: number;
  destMode: 'physical' | 'logical';
  /** 8-bit APIC ID (physical, 0xFF = all) or logical destination (flat mask / cluster:mask). */
  dest: number;
  shorthand: Shorthand;
  trigger: 'edge' | 'level';
  /** Assert (true) or de-assert. Receivers ignore it: the one message it changed, INIT level de-assert, is dropped at the ICR. */
  level: boolean;
}

/** What an IOAPIC offers the bus: the EOI message for a level-triggered vector. */
export interface EoiReceiver {
  eoi(vector: number): void;
}

export class ApicBus implements Stateful {
  /** In attach order; a CPU's index here is its index in the counters below. */
  readonly lapics: LocalApic[] = [];
  private readonly eoiReceivers: EoiReceiver[] = [];
  /** ipiCount[src][dst]: messages a local APIC sent (ICR) that reached local APIC dst, by CPU index. */
  readonly ipiCount: number[][] = [];
  /** Messages from any source (IPI, IOAPIC, MSI) that reached each CPU's local APIC. */
  readonly received: number[] = [];

  constructor(private readonly log: Log) {}

  /** Called by the LocalApic constructor; returns the CPU index. */
  attach(lapic: LocalApic): number {
    if (this.lapics.includes(lapic)) throw new Error('local APIC attached twice');
    for (const row of this.ipiCount) row.push(0);
    this.lapics.push(lapic);
    this.ipiCount.push(new Array<number>(this.lapics.length).fill(0));
    this.received.push(0);
    return this.lapics.length - 1;
  }

  /** The counters; the APICs and IOAPICs save themselves. */
  save(): StateValue { return { ipiCount: this.ipiCount.map((row) => [...row]), received: [...this.received] }; }

  restore(s: StateValue): void {
    const r = asRecord(s, 'APIC bus');
    const rows = r.ipiCount, received = r.received;
    if (!Array.isArray(rows) || !Array.isArray(received) || rows.length !== this.ipiCount.length || received.length !== this.received.length) throw new Error('snapshot: the APIC bus counters do not match the number of CPUs');
    rows.forEach((row, i) => { if (Array.isArray(row)) row.forEach((v, j) => { this.ipiCount[i][j] = Number(v); }); });
    received.forEach((v, i) => { this.received[i] = Number(v); });
  }

  /** Called by the IoApic constructor. */
  attachIoApic(io: EoiReceiver): void { this.eoiReceivers.push(io); }

  /**
   * Sends `msg` from `src` (a local APIC's ICR) or from an IOAPIC/MSI (null).
   * Returns how many local APICs accepted it (an IOAPIC sets remote IRR only then).
   */
  deliver(msg: ApicMessage, src: LocalApic | null): number {
    let targets = this.targets(msg, src);
    if (msg.mode === 'lowest') {
      const chosen = this.lowestPriority(targets);
      targets = chosen ? [chosen] : [];
    }
    let accepted = 0;
    for (const t of targets) {
      if (src) this.ipiCount[src.cpuIndex][t.cpuIndex]++;
      this.received[t.cpuIndex]++;
      if (t.receive(msg)) accepted++;
    }
    return accepted;
  }

  /**
   * A memory write to 0xFEExxxxx by a device (SDM §11.11.1, §11.11.2): address
   * bits 19:12 destination, bit 3 redirection hint, bit 2 destination mode;
   * data bits 7:0 vector, 10:8 delivery mode, 14 level, 15 trigger mode.
   */
  deliverMsi(address: number, data: number): void {
    address >>>= 0;
    if (address >>> 20 !== 0xfee) {
      this.log('guest_errors', `MSI to 0x${address.toString(16)} is not in 0xFEExxxxx; dropped`);
      return;
    }
    let mode = DELIVERY_MODES[(data >>> 8) & 7];
    if (mode === null || mode === 'startup') {
      this.log('guest_errors', `MSI data 0x${(data >>> 0).toString(16)} has a reserved delivery mode; dropped`);
      return;
    }
    // RH=1 lets the chipset redirect among the addressed processors, which is
    // lowest-priority arbitration (KVM reads it the same way).
    if (mode === 'fixed' && address & 8) mode = 'lowest';
    this.deliver({
      mode,
      vector: data & 0xff,
      destMode: address & 4 ? 'logical' : 'physical',
      dest: (address >>> 12) & 0xff,
      shorthand: 'none',
      trigger: data & 0x8000 ? 'level' : 'edge',
      level: (data & 0x4000) !== 0,
    }, null);
  }

  /** A local APIC EOI'd a level-triggered vector: every IOAPIC hears it. */
  broadcastEoi(vector: number): void {
    for (const io of this.eoiReceivers) io.eoi(vector);
  }

  private targets(msg: ApicMessage, src: LocalApic | null): LocalApic[] {
    const present = this.lapics.filter((l) => l.hwEnabled);
    switch (msg.shorthand) {
      case 'self': return src && src.hwEnabled ? [src] : [];
      case 'all': return present;
      case 'others': return present.filter((l) => l !== src);
      case 'none': break;
    }
    const d = msg.dest & 0xff;
    if (msg.destMode === 'physical') return d === 0xff ? present : present.filter((l) => l.apicId === d);
    return present.filter((l) => logicalMatch(l, d));
  }

  private lowestPriority(targets: LocalApic[]): LocalApic | null {
    let best: LocalApic | null = null;
    let bestApr = 0;
    for (const t of targets) {
      // A software-disabled APIC would drop a fixed interrupt, so it cannot win (KVM does the same).
      if (!t.swEnabled) continue;
      const apr = t.arbitrationPriority();
      if (!best || apr < bestApr || (apr === bestApr && t.apicId < best.apicId)) { best = t; bestApr = apr; }
    }
    return best;
  }
}

/** SDM §11.6.2.2: flat model ANDs the 8-bit mask with LDR[31:24]; cluster model matches LDR[31:28] and ANDs LDR[27:24]. */
function logicalMatch(l: LocalApic, dest: number): boolean {
  const ldr = l.logicalId;
  if (l.flatModel) return (ldr & dest) !== 0;
  const cluster = dest >>> 4;
  return (cluster === 0xf || cluster === ldr >>> 4) && (dest & ldr & 0xf) !== 0;
}

/**
 * One vCPU's local APIC in xAPIC mode (Intel SDM Vol.3A ch.11): the register
 * page (Table 11-1), interrupt acceptance and priority (§11.8: IRR, ISR, TMR,
 * TPR, PPR, APR, EOI), the error status register (§11.5.3), the local vector
 * table and LINT0/LINT1 pins (§11.5.1), the timer in one-shot, periodic and
 * TSC-deadline modes (§11.5.4), interprocessor interrupts through the ICR
 * (§11.6), the software enable in the SVR (§11.9, §11.4.7.2), the
 * IA32_APIC_BASE MSR (§11.4.4) and the power-up and INIT states (§11.4.7).
 *
 * The version register reads 0x50014: six LVT entries (timer, thermal,
 * performance, LINT0, LINT1, error), so the CMCI entry at 0x2F0 is a reserved
 * register here, as on a processor whose MCG_CAP lacks CMCI (KVM does the
 * same); bit 24 is clear, so SVR bit 12 (EOI-broadcast suppression) is
 * reserved too and every EOI of a level-triggered vector is broadcast.
 *
 * The timer's input clock is 1 GHz (one tick per virtual nanosecond before
 * the divider, like QEMU's). The divided clock starts counting at the moment
 * the count is loaded; the current count drops by one at each divided tick,
 * and the tick that would take it to zero is the expiry: a one-shot timer then
 * reads 0, a periodic one reloads at that same instant.
 */
import type { Log, MmioDevice, Size } from './bus.js';
import type { ClockEvent, VirtualClock } from './clock.js';
import type { StateValue, Stateful } from './state.js';
import { restoreFields, saveFields } from './fields.js';
import { DELIVERY_MODES, type ApicBus, type ApicMessage, type Shorthand } from './apic-bus.js';

/** What a local APIC needs from the vCPU it belongs to. */
export interface ApicCpu {
  /** Something changed that may make a maskable interrupt deliverable (IRR set, TPR lowered, EOI, SVR). */
  kick(): void;
  nmi(): void;
  /** INIT: the vCPU resets and (if an AP) waits for SIPI; the BSP resets too. */
  init(): void;
  sipi(vector: number): void;
  /** The vCPU's TSC now (virtual ns + its offset), for TSC-deadline mode. */
  tsc(): number;
}

/** `pendingVector()` result meaning "the 8259 has the vector": `acknowledge()` runs its INTA cycle. */
export const EXTINT = 0x100;

export const APIC_DEFAULT_BASE = 0xfee00000;

const VERSION = 0x00050014;
const MASKED = 1 << 16;
const REMOTE_IRR = 1 << 14;
const SVR_ENABLE = 1 << 8;
const BASE_BSP = 1 << 8;
const BASE_ENABLE = 1 << 11;

const enum Lvt { Timer, Thermal, Perf, Lint0, Lint1, Error }
/** Writable bits of each LVT entry (SDM Figure 11-8); delivery status and remote IRR are read-only. */
const LVT_WRITABLE = [0x000700ff, 0x000107ff, 0x000107ff, 0x0001a7ff, 0x0001a7ff, 0x000100ff];

const enum Esr { SendIllegalVector = 1 << 5, ReceiveIllegalVector = 1 << 6, IllegalRegister = 1 << 7 }

const enum TimerMode { OneShot = 0, Periodic = 1, TscDeadline = 2 }

/** ICR bits 19:18. */
const SHORTHANDS: readonly Shorthand[] = ['none', 'self', 'all', 'others'];

/** Everything of the APIC that decides its future (the timer's pending event is the clock's). */
const STATE_FIELDS = [
  'id', 'baseAddr', 'enabled', 'taskPriority', 'ldr', 'dfr', 'svr', 'irr', 'isr', 'tmr', 'esrPending', 'esr',
  'icrLo', 'icrHi', 'lvt', 'lint', 'extIntMessage', 'initialCount', 'dcr', 'segStart', 'segCount', 'tscDeadline',
] as const;

export class LocalApic implements MmioDevice, Stateful {
  /** Index of this CPU on the bus (attach order). */
  readonly cpuIndex: number;
  /** Where ExtINT vectors come from (the 8259 pair's INTA); set by the machine. */
  extInt: { acknowledge(): number } | null = null;

  private id = 0;
  private baseAddr = APIC_DEFAULT_BASE;
  private enabled = true;
  private taskPriority = 0;
  private ldr = 0;
  private dfr = 0xffffffff;
  private svr = 0xff;
  private readonly irr = new Uint32Array(8);
  private readonly isr = new Uint32Array(8);
  private readonly tmr = new Uint32Array(8);
  /** Errors since the last ESR write; a write moves them into `esr`, the readable value. */
  private esrPending = 0;
  private esr = 0;
  private icrLo = 0;
  private icrHi = 0;
  private readonly lvt = new Uint32Array(6);
  private readonly lint = [false, false];
  /** An ExtINT message from an IOAPIC or MSI, waiting for the CPU's INTA. */
  private extIntMessage = false;

  private initialCount = 0;
  private dcr = 0;
  /** The running count segment: the count was `segCount` at time `segStart`; 0 = stopped. */
  private segStart = 0;
  private segCount = 0;
  private tscDeadline = 0;
  private timerEvent: ClockEvent | null = null;

  constructor(
    private readonly initialId: number,
    private readonly bsp: boolean,
    private readonly clock: VirtualClock,
    private readonly bus: ApicBus,
    private readonly cpu: ApicCpu,
    private readonly log: Log,
  ) {
    this.reset('power');
    this.cpuIndex = bus.attach(this);
  }

  save(): StateValue { return saveFields(this, STATE_FIELDS); }
  /** The timer's event, if one is pending, comes back through adopt(). */
  restore(s: StateValue): void {
    restoreFields(this, STATE_FIELDS, s);
    this.timerEvent = null;
  }

  /** Clock event tags name the CPU: every local APIC schedules on the one clock. */
  private tag(what: string): string { return `lapic${this.cpuIndex}:${what}`; }

  event(tag: string): () => void {
    const what = tag.slice(tag.indexOf(':') + 1);
    if (what === 'deadline') return () => this.deadlineEvent();
    const timer = /^timer:(\d+)$/.exec(what);
    if (timer) { const expiry = Number(timer[1]); return () => this.timerExpired(expiry); }
    throw new Error(`snapshot: local APIC ${this.cpuIndex} has no event '${tag}'`);
  }

  /** The re-created timer event, so that reprogramming the timer can cancel it. */
  adopt(_tag: string, e: ClockEvent): void { this.timerEvent = e; }

  /**
   * Power-up state (also what clearing IA32_APIC_BASE[11] leaves) or INIT
   * (§11.4.7.1, §11.4.7.3): INIT keeps the APIC ID and the APIC_BASE MSR. The LINT pin levels are
   * wires, not APIC state, and survive both.
   */
  reset(kind: 'power' | 'init' = 'init'): void {
    if (kind === 'power') {
      this.id = this.initialId & 0xff;
      this.baseAddr = APIC_DEFAULT_BASE;
      this.enabled = true;
    }
    this.taskPriority = 0;
    this.ldr = 0;
    this.dfr = 0xffffffff;
    this.svr = 0xff;
    this.irr.fill(0);
    this.isr.fill(0);
    this.tmr.fill(0);
    this.esrPending = 0;
    this.esr = 0;
    this.icrLo = 0;
    this.icrHi = 0;
    this.lvt.fill(MASKED);
    this.extIntMessage = false;
    this.stopTimer();
    this.dcr = 0;
    this.tscDeadline = 0;
  }

  // ---- what the bus and the machine read ----

  get apicId(): number { return this.id; }
  /** IA32_APIC_BASE[11]: the machine maps the register page at `base` only while this is set. */
  get hwEnabled(): boolean { return this.enabled; }
  get base(): number { return this.baseAddr; }
  get swEnabled(): boolean { return this.enabled && (this.svr & SVR_ENABLE) !== 0; }
  /** LDR[31:24]. */
  get logicalId(): number { return this.ldr >>> 24; }
  get flatModel(): boolean { return this.dfr >>> 28 === 0xf; }

  /** SDM §11.6.2.4 / Figure 11-15 (APR). */
  arbitrationPriority(): number {
    const tpr = this.taskPriority & 0xf0;
    const isrv = Math.max(highest(this.isr), 0) & 0xf0;
    const irrv = Math.max(highest(this.irr), 0) & 0xf0;
    if (tpr >= irrv && tpr > isrv) return this.taskPriority;
    return Math.max(tpr, isrv, irrv);
  }

  /** SDM §11.8.3.1. */
  processorPriority(): number {
    const isrv = Math.max(highest(this.isr), 0);
    return (this.taskPriority & 0xf0) >= (isrv & 0xf0) ? this.taskPriority : isrv & 0xf0;
  }

  // ---- the CPU side ----

  /**
   * The interrupt the CPU would take if RFLAGS.IF allowed it: the highest IRR
   * vector whose priority class is above PPR's, else EXTINT when the 8259's
   * INTR reaches the CPU through LINT0 (or an ExtINT message is waiting), else
   * -1. Fixed interrupts win over ExtINT, as in QEMU.
   */
  pendingVector(): number {
    const v = this.deliverableFixed();
    if (v >= 0) return v;
    return this.extIntPending() ? EXTINT : -1;
  }

  /** The INTA cycle: returns the vector the CPU must take. */
  acknowledge(): number {
    const v = this.deliverableFixed();
    if (v >= 0) {
      this.irr[v >>> 5] &= ~(1 << (v & 31));
      this.isr[v >>> 5] |= 1 << (v & 31);
      return v;
    }
    if (this.extIntPending()) {
      this.extIntMessage = false;
      if (this.extInt) return this.extInt.acknowledge();
      this.log('guest_errors', `lapic ${this.id}: ExtINT with no 8259 attached; spurious vector`);
    }
    return this.svr & 0xff;
  }

  /** CR8 view of the TPR: CR8[3:0] = TPR[7:4]; a CR8 write clears TPR[3:0] (SDM §11.8.6). */
  get tpr(): number { return this.taskPriority >>> 4; }
  set tpr(cr8: number) {
    this.taskPriority = (cr8 & 0xf) << 4;
    this.cpu.kick();
  }

  /** IA32_APIC_BASE as [low dword, high dword]. */
  readApicBaseMsr(): [number, number] {
    const lo = ((this.baseAddr % 0x100000000) | (this.bsp ? BASE_BSP : 0) | (this.enabled ? BASE_ENABLE : 0)) >>> 0;
    return [lo, Math.floor(this.baseAddr / 0x100000000)];
  }

  /**
   * Returns false when the value sets a reserved bit (the caller raises #GP):
   * bits 0-7, 9, 10 (no x2APIC) and those above MAXPHYADDR (40). The BSP flag
   * is read-only. Clearing the global enable returns the APIC to its power-up
   * register state (SDM §11.4.3 allows that, and it is what makes a later
   * re-enable well defined); on an FSB-era processor software may set it
   * again without a reset, and so it may here.
   */
  writeApicBaseMsr(lo: number, hi: number): boolean {
    lo >>>= 0;
    hi >>>= 0;
    if (lo & 0x6ff || hi & 0xffffff00) return false;
    const base = ((lo & 0xfffff000) >>> 0) + hi * 0x100000000;
    const enable = (lo & BASE_ENABLE) !== 0;
    const changed = enable !== this.enabled;
    if (this.enabled && !enable) this.reset('power');
    this.baseAddr = base;
    this.enabled = enable;
    // LINT0 turns into (or stops being) the core's INTR pin.
    if (changed) this.cpu.kick();
    return true;
  }

  /** IA32_TSC_DEADLINE reads 0 outside TSC-deadline mode and after the deadline fired (§11.5.4.1). */
  readTscDeadline(): number {
    return this.timerMode() === TimerMode.TscDeadline ? this.tscDeadline : 0;
  }

  /** Ignored outside TSC-deadline mode; 0 disarms; a deadline already passed fires at once. */
  writeTscDeadline(v: number): void {
    if (this.timerMode() !== TimerMode.TscDeadline) return;
    this.clock.cancel(this.timerEvent);
    this.timerEvent = null;
    this.tscDeadline = v;
    if (v === 0) return;
    const delta = v - this.cpu.tsc();
    if (delta <= 0) { this.deadlineFired(); return; }
    this.timerEvent = this.clock.schedule(this.clock.time() + delta, () => this.deadlineEvent(), this.tag('deadline'));
  }

  /**
   * The wire level at LINT0 (the 8259's INTR) or LINT1 (the chipset's NMI).
   * With the APIC globally disabled the pins reach the core directly as INTR
   * and NMI (§11.4.3: as if there were no APIC).
   */
  setLint(pin: 0 | 1, level: boolean): void {
    const was = this.lint[pin];
    this.lint[pin] = level;
    if (!this.enabled) {
      if (pin === 0 && level) this.cpu.kick();
      if (pin === 1 && level && !was) this.cpu.nmi();
      return;
    }
    const entry = this.lvt[Lvt.Lint0 + pin];
    const polarity = (entry & (1 << 13)) !== 0;
    this.lintInput(pin, was !== polarity);
  }

  // ---- the bus side ----

  /** A message from the bus (ICR, IOAPIC, MSI) addressed to this APIC; true if accepted. */
  receive(msg: ApicMessage): boolean {
    switch (msg.mode) {
      case 'fixed':
      case 'lowest':
        return this.accept(msg.vector, msg.trigger === 'level');
      case 'nmi':
        this.cpu.nmi();
        return true;
      case 'init':
        this.reset('init');
        this.cpu.init();
        return true;
      case 'startup':
        this.cpu.sipi(msg.vector & 0xff);
        return true;
      case 'extint':
        this.extIntMessage = true;
        this.cpu.kick();
        return true;
      case 'smi':
        this.log('unimp', `lapic ${this.id}: SMI received and dropped: this machine has no SMM`);
        return false;
    }
  }

  // ---- registers ----

  mmioRead(offset: number, size: Size): number {
    if (size !== 4 || offset & 0xf) {
      this.log('guest_errors', `lapic ${this.id}: ${size}-byte read at +0x${offset.toString(16)} is not an aligned register dword; reads 0`);
      return 0;
    }
    const reg = offset >>> 4;
    switch (reg) {
      case 0x02: return (this.id << 24) >>> 0;
      case 0x03: return VERSION;
      case 0x08: return this.taskPriority;
      case 0x09: return this.arbitrationPriority();
      case 0x0a: return this.processorPriority();
      case 0x0b: return 0; // EOI is write-only
      case 0x0c: return 0; // remote read: never used since the P6
      case 0x0d: return this.ldr;
      case 0x0e: return this.dfr;
      case 0x0f: return this.svr;
      case 0x28: return this.esr;
      case 0x30: return this.icrLo;
      case 0x31: return this.icrHi;
      case 0x38: return this.initialCount;
      case 0x39: return this.currentCount();
      case 0x3e: return this.dcr;
    }
    if (reg >= 0x10 && reg < 0x18) return this.isr[reg - 0x10];
    if (reg >= 0x18 && reg < 0x20) return this.tmr[reg - 0x18];
    if (reg >= 0x20 && reg < 0x28) return this.irr[reg - 0x20];
    if (reg >= 0x32 && reg < 0x38) return this.lvt[reg - 0x32];
    this.illegalRegister(offset, 'read');
    return 0;
  }

  mmioWrite(offset: number, size: Size, value: number): void {
    if (size !== 4 || offset & 0xf) {
      this.log('guest_errors', `lapic ${this.id}: ${size}-byte write at +0x${offset.toString(16)} is not an aligned register dword; ignored`);
      return;
    }
    value >>>= 0;
    const reg = offset >>> 4;
    switch (reg) {
      case 0x02: this.id = value >>> 24; return;
      case 0x08: this.taskPriority = value & 0xff; this.cpu.kick(); return;
      case 0x0b: this.eoi(); return;
      case 0x0d: this.ldr = (value & 0xff000000) >>> 0; return;
      case 0x0e:
        this.dfr = (value | 0x0fffffff) >>> 0;
        if (this.dfr >>> 28 !== 0xf && this.dfr >>> 28 !== 0) {
          this.log('guest_errors', `lapic ${this.id}: DFR model 0x${(this.dfr >>> 28).toString(16)} is neither flat nor cluster; treated as cluster`);
        }
        return;
      case 0x0f: this.writeSvr(value); return;
      case 0x28: this.esr = this.esrPending; this.esrPending = 0; return;
      // Bit 12 (delivery status) and 13, 16, 17 are not stored: they read 0 (idle, reserved).
      case 0x30: this.icrLo = value & 0x000ccfff; this.sendIpi(); return;
      case 0x31: this.icrHi = (value & 0xff000000) >>> 0; return;
      case 0x38: this.writeInitialCount(value); return;
      case 0x3e: this.writeDcr(value & 0xb); return;
      case 0x03: case 0x09: case 0x0a: case 0x0c: case 0x39:
        this.log('guest_errors', `lapic ${this.id}: write 0x${value.toString(16)} to read-only register +0x${offset.toString(16)} ignored`);
        return;
    }
    if (reg >= 0x10 && reg < 0x28) {
      this.log('guest_errors', `lapic ${this.id}: write 0x${value.toString(16)} to read-only ISR/TMR/IRR +0x${offset.toString(16)} ignored`);
      return;
    }
    if (reg >= 0x32 && reg < 0x38) { this.writeLvt(reg - 0x32, value); return; }
    this.illegalRegister(offset, `write 0x${value.toString(16)}`);
  }

  // ---- internals ----

  /** Puts a fixed interrupt in the IRR (a second request for a set bit merges with it). */
  private accept(vector: number, level: boolean): boolean {
    if (!this.swEnabled) return false;
    if (vector < 16) { this.error(Esr.ReceiveIllegalVector); return false; }
    const w = vector >>> 5, bit = 1 << (vector & 31);
    this.irr[w] |= bit;
    if (level) this.tmr[w] |= bit; else this.tmr[w] &= ~bit;
    this.cpu.kick();
    return true;
  }

  private deliverableFixed(): number {
    if (!this.swEnabled) return -1;
    const v = highest(this.irr);
    return v >= 0 && (v & 0xf0) > (this.processorPriority() & 0xf0) ? v : -1;
  }

  private extIntPending(): boolean {
    if (this.extIntMessage) return true;
    if (!this.enabled) return this.lint[0];
    const entry = this.lvt[Lvt.Lint0];
    return (entry & MASKED) === 0 && ((entry >>> 8) & 7) === 7 && this.lint[0] !== ((entry & (1 << 13)) !== 0);
  }

  /** An error sets its ESR bit (whatever the mask) and raises the LVT error interrupt unless masked (§11.5.3). */
  private error(bits: number): void {
    this.esrPending |= bits;
    const entry = this.lvt[Lvt.Error];
    if (entry & MASKED) return;
    const v = entry & 0xff;
    // An illegal error vector is itself a receive error; signalling it again would never end.
    if (v < 16) { this.esrPending |= Esr.ReceiveIllegalVector; return; }
    this.accept(v, false);
  }

  private illegalRegister(offset: number, what: string): void {
    this.log('guest_errors', `lapic ${this.id}: ${what} at reserved register +0x${offset.toString(16)}`);
    this.error(Esr.IllegalRegister);
  }

  private eoi(): void {
    const v = highest(this.isr);
    if (v < 0) return;
    const w = v >>> 5, bit = 1 << (v & 31);
    this.isr[w] &= ~bit;
    if (this.tmr[w] & bit) {
      this.bus.broadcastEoi(v);
      for (const pin of [0, 1] as const) {
        const entry = this.lvt[Lvt.Lint0 + pin];
        if (entry & REMOTE_IRR && (entry & 0xff) === v) {
          this.lvt[Lvt.Lint0 + pin] = entry & ~REMOTE_IRR;
          this.lintInput(pin, this.lintAsserted(pin));
        }
      }
    }
    this.cpu.kick();
  }

  /** Software disable masks every LVT entry (§11.4.7.2); entries stay masked until rewritten after enabling. */
  private writeSvr(value: number): void {
    this.svr = value & 0x1ff;
    if (!(this.svr & SVR_ENABLE)) for (let i = 0; i < 6; i++) this.lvt[i] |= MASKED;
    this.cpu.kick();
  }

  private writeLvt(i: Lvt, value: number): void {
    const old = this.lvt[i];
    let entry = (value & LVT_WRITABLE[i]) | (old & REMOTE_IRR);
    if (!(this.svr & SVR_ENABLE)) entry |= MASKED;
    if (i === Lvt.Lint0 || i === Lvt.Lint1) {
      const pin = (i - Lvt.Lint0) as 0 | 1;
      const was = this.lintAsserted(pin);
      this.lvt[i] = entry;
      this.lintInput(pin, was);
      if (((entry >>> 8) & 7) === 7) this.cpu.kick();
      return;
    }
    this.lvt[i] = entry;
    if (i !== Lvt.Timer) return;
    const oldMode = modeOf(old), mode = modeOf(entry);
    if (mode === 3) this.log('guest_errors', `lapic ${this.id}: reserved timer mode 3 written; counts as one-shot`);
    // §11.5.4.1: moving into or out of TSC-deadline mode disarms the timer (KVM also zeroes the initial count).
    if ((oldMode === TimerMode.TscDeadline) !== (mode === TimerMode.TscDeadline)) {
      this.stopTimer();
      this.tscDeadline = 0;
    }
  }

  private lintAsserted(pin: 0 | 1): boolean {
    return this.lint[pin] !== ((this.lvt[Lvt.Lint0 + pin] & (1 << 13)) !== 0);
  }

  /**
   * Acts on LINT`pin` after its level or its LVT entry changed; `was` is
   * whether it counted as asserted before. NMI, INIT, SMI and edge-triggered
   * fixed entries act on an edge; a level-triggered fixed entry while asserted
   * and remote IRR is clear; ExtINT is sampled by pendingVector().
   */
  private lintInput(pin: 0 | 1, was: boolean): void {
    const i = Lvt.Lint0 + pin;
    const entry = this.lvt[i];
    const now = this.lintAsserted(pin);
    if (entry & MASKED) return;
    const mode = (entry >>> 8) & 7;
    const rising = now && !was;
    if (mode === 7) { if (rising) this.cpu.kick(); return; }
    if (mode === 0 && entry & (1 << 15)) {
      if (now && !(entry & REMOTE_IRR) && this.accept(entry & 0xff, true)) this.lvt[i] = entry | REMOTE_IRR;
      return;
    }
    if (!rising) return;
    switch (mode) {
      case 0: this.accept(entry & 0xff, false); break;
      case 2: this.log('unimp', `lapic ${this.id}: SMI from LINT${pin} dropped: this machine has no SMM`); break;
      case 4: this.cpu.nmi(); break;
      case 5: this.reset('init'); this.cpu.init(); break;
      default: this.log('guest_errors', `lapic ${this.id}: LINT${pin} has reserved delivery mode ${mode}`);
    }
  }

  private sendIpi(): void {
    const lo = this.icrLo;
    const vector = lo & 0xff;
    const mode = DELIVERY_MODES[(lo >>> 8) & 7];
    if (mode === null || mode === 'extint') {
      this.log('guest_errors', `lapic ${this.id}: ICR 0x${lo.toString(16)} has a reserved delivery mode; not sent`);
      return;
    }
    const level = (lo & (1 << 14)) !== 0, levelTrigger = (lo & (1 << 15)) !== 0;
    // INIT level de-assert only resynchronised arbitration IDs on the 3-wire bus; modern CPUs ignore it.
    if (mode === 'init' && levelTrigger && !level) return;
    // §11.5.3: the message still goes out; each receiver also flags it.
    if ((mode === 'fixed' || mode === 'lowest') && vector < 16) this.error(Esr.SendIllegalVector);
    this.bus.deliver({
      mode,
      vector,
      destMode: lo & (1 << 11) ? 'logical' : 'physical',
      dest: this.icrHi >>> 24,
      shorthand: SHORTHANDS[(lo >>> 18) & 3],
      // The ICR trigger bit only qualified INIT de-assert; IPIs are edge-triggered (SDM Figure 11-12).
      trigger: 'edge',
      level: true,
    }, this);
  }

  // ---- timer ----

  private timerMode(): number { return modeOf(this.lvt[Lvt.Timer]); }

  private divisor(): number {
    const v = (this.dcr & 3) | ((this.dcr >>> 1) & 4);
    return 1 << ((v + 1) & 7);
  }

  private stopTimer(): void {
    this.clock.cancel(this.timerEvent);
    this.timerEvent = null;
    this.initialCount = 0;
    this.segCount = 0;
  }

  private writeInitialCount(value: number): void {
    // §11.5.4.1: in TSC-deadline mode writes to the initial count are ignored.
    if (this.timerMode() === TimerMode.TscDeadline) return;
    this.stopTimer();
    this.initialCount = value;
    this.startSegment(this.clock.time(), value);
  }

  /**
   * A new divider applies from now on, continuing from the present count. At
   * the very instant of an expiry the pending event is left to fire (and a
   * periodic reload then uses the new divider).
   */
  private writeDcr(value: number): void {
    const t = this.clock.time();
    const oldDivisor = this.divisor();
    this.dcr = value;
    if (this.segCount === 0 || t >= this.segStart + this.segCount * oldDivisor) return;
    const count = this.segCount - Math.floor((t - this.segStart) / oldDivisor);
    this.clock.cancel(this.timerEvent);
    this.startSegment(t, count);
  }

  private startSegment(at: number, count: number): void {
    this.segStart = at;
    this.segCount = count;
    if (count === 0) return;
    const expiry = at + count * this.divisor();
    this.timerEvent = this.clock.schedule(expiry, () => this.timerExpired(expiry), this.tag(`timer:${expiry}`));
  }

  private timerExpired(at: number): void {
    this.timerEvent = null;
    if (this.timerMode() === TimerMode.Periodic) this.startSegment(at, this.initialCount);
    else this.segCount = 0;
    this.localInterrupt(Lvt.Timer);
  }

  private deadlineEvent(): void {
    this.timerEvent = null;
    this.deadlineFired();
  }

  private deadlineFired(): void {
    this.tscDeadline = 0;
    this.localInterrupt(Lvt.Timer);
  }

  private currentCount(): number {
    if (this.segCount === 0) return 0;
    const ticks = Math.floor((this.clock.time() - this.segStart) / this.divisor());
    if (ticks < this.segCount) return this.segCount - ticks;
    if (this.timerMode() !== TimerMode.Periodic) return 0;
    return this.initialCount - ((ticks - this.segCount) % this.initialCount);
  }

  /** Timer and error entries have no delivery mode: they are always fixed, edge-triggered. */
  private localInterrupt(i: Lvt): void {
    const entry = this.lvt[i];
    if (!(entry & MASKED)) this.accept(entry & 0xff, false);
  }
}

function modeOf(timerLvt: number): number { return (timerLvt >>> 17) & 3; }

/** Highest set bit of a 256-bit register as a vector number, or -1. */
function highest(r: Uint32Array): number {
  for (let w = 7; w >= 0; w--) if (r[w]) return w * 32 + 31 - Math.clz32(r[w]);
  return -1;
}

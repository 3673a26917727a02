/**
 * The whole PC: RAM, the vCPUs with their local APICs, the IOAPIC and the
 * 8259 pair, the legacy devices, PCI, and the firmware that loads a
 * multiboot kernel — and the deterministic scheduler that runs it.
 *
 * All vCPUs run in one thread, in rounds. Each round has a length drawn from
 * a PRNG seeded by the user (so a seed fixes the interleaving and another
 * seed changes it), cut short at the next clock event; every runnable vCPU
 * executes that many instructions in turn, then the virtual clock advances
 * by the same amount and due events fire. A round in which every vCPU is
 * halted jumps straight to the next event. Same image, seed and input: same
 * transcript, byte for byte.
 */
import { PhysMem } from '../cpu/physmem.js';
import { CodePages } from '../cpu/codepages.js';
import { setSegment, writeCr0 } from '../cpu/system.js';
import { Seg, R } from '../cpu/regs.js';
import { cpuid } from '../cpu/cpuid.js';
import { loadMultiboot, type MultibootModule, type MultibootBoot } from '../firmware/multiboot.js';
import { MP_TABLE_ADDR, writeMpTable } from '../firmware/mptable.js';
import { Symbols } from '../firmware/symbols.js';
import { Rng } from '../linux/rng.js';
import { VirtualClock } from './clock.js';
import { MmioBus, PortBus, type Log, type PortDevice, type Size } from './bus.js';
import { SharedIrq, isaIrq, isaIrqToIoapicPin, pciIntxIrq, type IrqLine } from './irq.js';
import { ApicBus } from './apic-bus.js';
import { IoApic, IOAPIC_DEFAULT_BASE } from './ioapic.js';
import { Pic8259Pair } from './pic8259.js';
import { Pit8254 } from './pit8254.js';
import { CmosRtc, DEFAULT_RTC_BASE } from './rtc.js';
import { Uart16550 } from './uart16550.js';
import { DebugExit } from './debug-exit.js';
import { PciBus, assignBars, createHostBridge } from './pci.js';
import { GuestMemory } from './dma.js';
import { FIRST_DRIVE_SLOT, type BlockDevice, type DriveConfig } from './drives.js';
import { DEVICE_MODELS } from './drive-models.js';
import { VCpu, type VCpuHost } from './vcpu.js';
import type { StateValue, Stateful } from './state.js';
import { asRecord } from './fields.js';

export interface MachineConfig {
  /** Guest RAM in bytes (a multiple of 4 KiB, below the 3 GiB PCI hole). */
  ramBytes: number;
  cpus: number;
  /** Seeds the scheduler's quantum lengths: the interleaving of vCPUs. */
  seed: bigint;
  kernel: { name: string; bytes: Uint8Array };
  append?: string;
  modules?: MultibootModule[];
  /** Disks, each a PCI device from slot 3 up (emu/machine/drives.ts). */
  drives?: DriveConfig[];
  /** A triple fault or reset request stops the machine instead of rebooting it. */
  noReboot?: boolean;
  /** Unix time of virtual time 0 for the RTC. */
  rtcBase?: number;
  jit?: boolean;
  /** Bytes the guest writes to COM1 (COM2 goes to the log). */
  serial?: (byte: number) => void;
  log?: Log;
  /** Called before every instruction (-d in_asm,cpu). */
  trace?: (v: VCpu) => void;
}

export type StopReason =
  | { kind: 'exit'; status: number }
  | { kind: 'shutdown'; reason: string }
  | { kind: 'time' }
  | { kind: 'idle' }
  | { kind: 'error'; message: string };

/** Bounds of a round, in instructions (virtual nanoseconds). */
const QUANTUM_MIN = 1000;
const QUANTUM_SPAN = 3000;
/** A round with a single runnable vCPU needs no interleaving: it may run this long. */
const SOLO_QUANTUM = 1_000_000;
export const MAX_CPUS = 64;
const LAPIC_WINDOW = 0x1000;
const MSI_BASE = 0xfee00000;
const MSI_SIZE = 0x100000;
/** SeaBIOS's windows for BARs on QEMU's `pc` with less than 3.5 GiB of RAM. */
const PCI_MMIO_BASE = 0xe0000000;
const PCI_IO_BASE = 0xc000;
/** Below the multiboot memory map at 0x9000, in memory the map reports as usable. */
const FIRMWARE_STACK = 0x7000;

export class Machine implements VCpuHost {
  readonly clock = new VirtualClock();
  readonly phys: PhysMem;
  readonly cpuCount: number;
  readonly jit: boolean;
  readonly log: Log;
  readonly trace: ((v: VCpu) => void) | null;
  readonly symbols: Symbols;
  /** The CMOS keeps its NVRAM across resets, as on a PC. */
  readonly rtc: CmosRtc;
  private readonly rng: Rng;

  // Rebuilt by each reset.
  ports!: PortBus;
  mmio!: MmioBus;
  apicBus!: ApicBus;
  ioapic!: IoApic;
  pic!: Pic8259Pair;
  pit!: Pit8254;
  com1!: Uart16550;
  com2!: Uart16550;
  pci!: PciBus;
  /** The disks' device models, in the order of config.drives. */
  blockDevices!: BlockDevice[];
  /** Bus-master access to RAM for devices. */
  dma!: GuestMemory;
  vcpus!: VCpu[];
  boot!: MultibootBoot;
  private isaLines: IrqLine[] = [];
  /** Pages holding decoded code, shared by the vCPUs (a snapshot keeps the set: CodePages.list). */
  private codePages!: CodePages;
  /** COM2's line being collected for the log. */
  private com2Line: number[] = [];

  /** The vCPU executing right now (MMIO to the APIC page goes to its own local APIC). */
  private current: VCpu | null = null;
  /** The vCPU of the solo round under way (runSolo), if any. */
  private soloVcpu: VCpu | null = null;
  private stopReason: StopReason | null = null;
  private resetRequest: string | null = null;
  resets = 0;

  /**
   * `restoring`: the machine is about to receive a snapshot's state
   * (snapshot.ts), so the firmware does not load the kernel into RAM.
   */
  constructor(readonly config: MachineConfig, restoring = false) {
    if (config.cpus < 1 || config.cpus > MAX_CPUS || !Number.isInteger(config.cpus)) throw new Error(`-smp ${config.cpus}: between 1 and ${MAX_CPUS} CPUs`);
    this.cpuCount = config.cpus;
    this.jit = config.jit ?? true;
    // A reset rebuilds the buses; what they reported once stays reported.
    const said = new Set<string>();
    const log = config.log ?? (() => {});
    this.log = (category, line) => {
      if (category === 'unimp') { if (said.has(line)) return; said.add(line); }
      log(category, line);
    };
    this.trace = config.trace ?? null;
    this.rng = new Rng(config.seed);
    this.phys = new PhysMem(config.ramBytes);
    this.phys.mmio = {
      read: (addr, size) => {
        const apic = this.apicAt(addr);
        return apic ? apic.mmioRead(addr - apic.base, size) : this.mmio.read(addr, size);
      },
      write: (addr, size, value) => {
        const apic = this.apicAt(addr);
        if (apic) apic.mmioWrite(addr - apic.base, size, value);
        else this.mmio.write(addr, size, value);
      },
    };
    this.rtc = new CmosRtc(this.clock, { set: (level) => this.isaLines[8]?.set(level) }, config.rtcBase ?? DEFAULT_RTC_BASE, config.ramBytes, this.log);
    this.powerOn(!restoring);
    // Read once the image has been accepted, so that a refused image gets its one line and nothing else.
    this.symbols = Symbols.fromElf(config.kernel.bytes, config.kernel.name, (line) => this.log('firmware', line));
  }

  /** The running vCPU's local APIC if `addr` is in its register page (each CPU sees its own there). */
  private apicAt(addr: number) {
    const apic = this.current?.apic;
    return apic && apic.hwEnabled && addr >= apic.base && addr < apic.base + LAPIC_WINDOW ? apic : null;
  }

  /** Builds the devices and CPUs and runs the firmware: power-on and every reset. */
  private powerOn(firmware = true): void {
    const log = this.log;
    this.ports = new PortBus(log);
    this.mmio = new MmioBus(log);
    this.apicBus = new ApicBus(log);
    this.ioapic = new IoApic(this.apicBus, log, this.ioapicId);
    this.mmio.map(IOAPIC_DEFAULT_BASE, 0x1000, this.ioapic);
    // Writes to the interrupt address range are MSIs; the CPU's own APIC page shadows its first 4 KiB
    // for the CPU itself (see apicAt), as in QEMU, so a CPU can raise an MSI by writing above it.
    const bus = this.apicBus;
    this.mmio.map(MSI_BASE, MSI_SIZE, {
      mmioRead: () => 0xffffffff,
      mmioWrite: (offset, size, value) => {
        if (size === 4) bus.deliverMsi(MSI_BASE + offset, value);
        else log('guest_errors', `${size}-byte write to the MSI range at 0x${(MSI_BASE + offset).toString(16)}; MSIs are dword writes`);
      },
    });
    const codePages = this.codePages = new CodePages();
    this.vcpus = [];
    for (let i = 0; i < this.cpuCount; i++) this.vcpus.push(new VCpu(this, i, i, i === 0, this.phys, this.apicBus, codePages));
    const bsp = this.vcpus[0].apic;
    this.pic = new Pic8259Pair((level) => bsp.setLint(0, level), log);
    bsp.extInt = this.pic;
    this.pic.register(this.ports);
    this.isaLines = Array.from({ length: 16 }, (_, irq) => isaIrq(irq, this.pic, this.ioapic));
    this.pit = new Pit8254(this.clock, this.isaLines[0], log);
    this.pit.register(this.ports);
    this.com1 = new Uart16550(0x3f8, this.clock, this.isaLines[4], (b) => this.config.serial?.(b), log);
    this.com1.register(this.ports);
    this.com2Line = [];
    this.com2 = new Uart16550(0x2f8, this.clock, this.isaLines[3], (b) => {
      const line = this.com2Line;
      if (b === 10) { log('serial', `COM2: ${String.fromCharCode(...line)}`); line.length = 0; } else line.push(b);
    }, log);
    this.com2.register(this.ports);
    this.ports.register(0x70, 2, this.rtc);
    new DebugExit((status) => this.exit(status)).register(this.ports);
    // Port 0x80 is the POST code latch; kernels write it as a short delay.
    this.ports.register(0x80, 1, SINK);
    this.pci = new PciBus(log, (reason) => { if (this.current) this.reset(reason, this.current); });
    this.pci.add(0, 0, createHostBridge());
    this.pci.register(this.ports);
    this.dma = new GuestMemory(this.phys, codePages);
    const shared = new Map<number, SharedIrq>();
    this.blockDevices = (this.config.drives ?? []).map((drive, i) => {
      const slot = FIRST_DRIVE_SLOT + i;
      const dev = DEVICE_MODELS[drive.interface]({
        clock: this.clock, mem: this.dma, ports: this.ports, mmio: this.mmio, log,
        msi: (address, data) => bus.deliverMsi(address, data), cpus: this.cpuCount,
      }, drive, slot);
      this.pci.add(slot, 0, dev.pci);
      const pin = dev.pci.readConfig(0x3d, 1);
      if (pin) {
        const irq = pciIntxIrq(slot, pin);
        if (!shared.has(irq)) shared.set(irq, new SharedIrq(this.isaLines[irq]));
        dev.pci.intx = shared.get(irq)!.source();
      }
      return dev;
    });
    if (firmware) this.loadFirmware();
  }

  /**
   * What QEMU's `-kernel` path does with SeaBIOS: assign the PCI BARs and note
   * each function's IRQ in its Interrupt Line register, load the image, write
   * the MP table, start the BSP in protected mode.
   */
  private loadFirmware(): void {
    const c = this.config;
    assignBars(this.pci, PCI_MMIO_BASE, PCI_IO_BASE);
    const pciInterrupts = [];
    for (const [device, , fn] of this.pci.entries()) {
      const pin = fn.readConfig(0x3d, 1);
      if (!pin) continue;
      const irq = pciIntxIrq(device, pin);
      fn.writeConfig(0x3c, 1, irq);
      pciInterrupts.push({ device, pin, ioapicPin: isaIrqToIoapicPin(irq) });
    }
    this.boot = loadMultiboot(c.kernel.bytes, c.kernel.name, { bytes: this.phys.bytes, size: this.phys.size },
      { cmdline: c.append ?? '', modules: c.modules ?? [] });
    for (const w of this.boot.warnings) this.log('firmware', w);
    const [signature, , , features] = cpuid(1, 0, 0, this.cpuCount);
    writeMpTable({ bytes: this.phys.bytes, size: this.phys.size }, {
      cpus: this.vcpus.map((v) => ({ apicId: v.apicId, bsp: v.bsp })),
      ioapic: { id: this.ioapicId, address: IOAPIC_DEFAULT_BASE, version: 0x11 },
      lapicAddress: 0xfee00000,
      lapicVersion: 0x14,
      cpuSignature: signature,
      cpuFeatures: features,
      isaIrqPins: isaIrqToIoapicPin,
      pciInterrupts,
    }, MP_TABLE_ADDR);
    // Virtual-wire mode, as PC firmware leaves the BSP: the 8259's INTR reaches it through LINT0, NMI through LINT1.
    const bspApic = this.vcpus[0].apic;
    bspApic.mmioWrite(0xf0, 4, 0x1ff);
    bspApic.mmioWrite(0x350, 4, 0x700);
    bspApic.mmioWrite(0x360, 4, 0x400);
    const cpu = this.vcpus[0].cpu;
    const b = this.boot;
    cpu.gdtBase = b.gdtBase; cpu.gdtLimit = b.gdtLimit;
    writeCr0(cpu, cpu.cr0 | 1);
    setSegment(cpu, Seg.CS, b.code.selector, b.code.base, b.code.limit, b.code.attributes << 8);
    for (const s of [Seg.DS, Seg.ES, Seg.FS, Seg.GS, Seg.SS]) setSegment(cpu, s, b.data.selector, b.data.base, b.data.limit, b.data.attributes << 8);
    writeCr0(cpu, cpu.cr0);
    cpu.set32(R.AX, b.eax);
    cpu.set32(R.BX, b.ebx);
    // Multiboot leaves ESP undefined; a PC's firmware leaves it in low memory, so a kernel's first call works.
    cpu.set32(R.SP, FIRMWARE_STACK);
    cpu.rip = b.entry;
  }

  // ---- VCpuHost ----

  /**
   * A vCPU running alone (runSolo) that interrupts another, halted one (an
   * IPI) ends its slice, so the next round runs both: otherwise the woken one
   * would wait out the solo slice (up to SOLO_QUANTUM), and every IPI round
   * trip with an idle CPU would cost a millisecond of virtual time. The kick
   * comes from an instruction of the running vCPU, so where the slice ends
   * is the guest's doing, as determinism needs.
   */
  kicked(cpu: VCpu): void {
    if (this.soloVcpu !== null && cpu !== this.soloVcpu) this.soloVcpu.stop();
  }

  reset(reason: string, from: VCpu): void {
    this.log('cpu_reset', `cpu${from.index}: ${reason}`);
    if (this.config.noReboot) this.stopReason = { kind: 'shutdown', reason };
    else this.resetRequest = reason;
    from.stop();
  }

  private exit(status: number): void {
    this.stopReason = { kind: 'exit', status };
    this.current?.stop();
  }

  // ---- running ----

  /**
   * SeaBIOS numbers the IOAPIC after the CPUs. Its ID register has 4 bits;
   * with 16 or more CPUs the ID wraps, which xAPIC systems allow (IOAPIC IDs
   * do not route messages on the system bus).
   */
  get ioapicId(): number { return this.cpuCount % 16; }

  /** Why the machine stopped for good (exit, shutdown, error), or null while it can still run. */
  get stopped(): StopReason | null { return this.stopReason; }

  /** Host input for the guest's COM1. */
  sendSerial(bytes: Uint8Array): void { this.com1.receive(bytes); }

  /** Host input that arrives at virtual time `at`: how a recorded session is replayed. */
  scheduleSerial(at: number, bytes: Uint8Array): void {
    this.clock.schedule(at, () => this.sendSerial(bytes), `input:${[...bytes].map((b) => b.toString(16).padStart(2, '0')).join('')}`);
  }

  /**
   * A reset rebuilds every device but the RTC (whose CMOS survives, as on a PC):
   * what the old ones had scheduled must not fire — a disk's DMA into the new
   * boot's RAM, or an old timer's event handed to its successor by a snapshot.
   * Host input still arrives.
   */
  private forgetDevices(): void {
    for (const e of this.clock.pending()) if (!/^(rtc|input):/.test(e.tag ?? '')) this.clock.cancel(e);
  }

  // ---- snapshots (snapshot.ts has the file and RAM) ----

  /** Every component's state, in the order restoreComponents wants it. */
  saveComponents(): StateValue {
    return {
      machine: {
        rng: this.rng.state.toString(), resets: this.resets, resetRequest: this.resetRequest,
        stopReason: this.stopReason === null ? null : { ...this.stopReason }, com2Line: [...this.com2Line],
      },
      clock: this.clock.save(),
      pci: this.pci.save(),
      disks: this.blockDevices.map((d) => d.save()),
      pic: this.pic.save(),
      ioapic: this.ioapic.save(),
      pit: this.pit.save(),
      rtc: this.rtc.save(),
      com1: this.com1.save(),
      com2: this.com2.save(),
      apicBus: this.apicBus.save(),
      vcpus: this.vcpus.map((v) => v.save()),
      codePages: this.codePages.list(),
    };
  }

  /**
   * Reinstates saveComponents() on a machine built with `restoring`. PCI and
   * the disks go first: re-driving their INTx# lines touches the 8259 and the
   * IOAPIC, whose own saved state then overwrites what that did.
   */
  restoreComponents(s: StateValue): void {
    const r = asRecord(s, 'machine state');
    const m = asRecord(r.machine, 'machine');
    const { disks, vcpus, codePages } = r;
    if (typeof m.rng !== 'string' || typeof m.resets !== 'number' || !Array.isArray(m.com2Line) || !Array.isArray(disks) || !Array.isArray(vcpus) || !Array.isArray(codePages)) {
      throw new Error('snapshot: the machine state is malformed');
    }
    if (vcpus.length !== this.vcpus.length || disks.length !== this.blockDevices.length) throw new Error('snapshot: the number of CPUs or disks differs from the manifest');
    this.rng.state = BigInt(m.rng);
    this.resets = m.resets;
    this.resetRequest = typeof m.resetRequest === 'string' ? m.resetRequest : null;
    this.stopReason = m.stopReason === null ? null : asRecord(m.stopReason, 'stop reason') as unknown as StopReason;
    this.com2Line = m.com2Line.map(Number);
    this.clock.restore(r.clock);
    this.pci.restore(r.pci);
    this.blockDevices.forEach((d, i) => d.restore(disks[i]));
    this.pic.restore(r.pic);
    this.ioapic.restore(r.ioapic);
    this.pit.restore(r.pit);
    this.rtc.restore(r.rtc);
    this.com1.restore(r.com1);
    this.com2.restore(r.com2);
    this.apicBus.restore(r.apicBus);
    this.vcpus.forEach((v, i) => v.restore(vcpus[i]));
    for (const page of codePages) this.codePages.add(Number(page));
  }

  /**
   * The component that scheduled a clock event, by the tag's prefix (state.ts):
   * `lapicN`, `pit`, `rtc`, `uart3f8`/`uart2f8`, `input` (host bytes for COM1),
   * and `NAME@N` (e.g. `nvme@3`) for the disk in PCI slot N.
   */
  eventOwner(tag: string): Stateful {
    const owner = tag.slice(0, tag.indexOf(':'));
    const lapic = /^lapic(\d+)$/.exec(owner);
    if (lapic && Number(lapic[1]) < this.vcpus.length) return this.vcpus[Number(lapic[1])].apic;
    const slot = /^[a-z][a-z0-9-]*@(\d+)$/.exec(owner);
    const disk = slot ? this.blockDevices[Number(slot[1]) - FIRST_DRIVE_SLOT] : undefined;
    if (disk) return disk;
    switch (owner) {
      case 'pit': return this.pit;
      case 'rtc': return this.rtc;
      case 'uart3f8': return this.com1;
      case 'uart2f8': return this.com2;
      case 'input': return this.serialInput;
    }
    throw new Error(`snapshot: no component of this machine owns the clock event '${tag}'`);
  }

  /** Recorded host input waiting for its time (--replay) is state too: the bytes are in the tag. */
  private readonly serialInput: Stateful = {
    save: () => null,
    restore: () => {},
    event: (tag) => {
      const hex = tag.slice('input:'.length);
      if (!/^(?:[0-9a-f]{2})*$/.test(hex)) throw new Error(`snapshot: malformed input event '${tag}'`);
      const bytes = Uint8Array.from(hex.match(/../g) ?? [], (h) => parseInt(h, 16));
      return () => this.sendSerial(bytes);
    },
  };

  /**
   * Runs until virtual time `until` (ns), an exit, a shutdown, or a state in
   * which nothing can ever happen again without host input ('idle'). Rounds
   * are never cut at `until` (the last one may end a little after it), so how
   * a caller slices the run cannot change what the guest sees.
   */
  run(until = Infinity): StopReason {
    const clock = this.clock;
    for (;;) {
      if (this.stopReason) return this.stopReason;
      if (this.resetRequest !== null) { this.resetRequest = null; this.resets++; this.forgetDevices(); this.powerOn(); }
      const now = clock.now;
      if (now >= until) return { kind: 'time' };
      const next = clock.nextDue();
      if (next <= now) { clock.advanceTo(now); continue; }
      const runnable = this.vcpus.filter((v) => v.runnable());
      if (runnable.length === 0) {
        if (next === Infinity) return { kind: 'idle' };
        clock.advanceTo(Math.min(next, until));
        continue;
      }
      if (runnable.length === 1) {
        const stop = this.runSolo(runnable[0], Math.max(1, Math.min(SOLO_QUANTUM, next - now)));
        if (stop) return stop;
        continue;
      }
      const quantum = QUANTUM_MIN + Number(this.rng.next64() % BigInt(QUANTUM_SPAN));
      const len = Math.max(1, Math.min(quantum, next - now));
      for (const v of runnable) {
        this.current = v;
        try {
          v.runSlice(len);
        } catch (e) {
          this.current = null;
          this.stopReason = this.crashed(v, e);
          return this.stopReason;
        }
        if (this.stopReason || this.resetRequest !== null) break;
      }
      this.current = null;
      clock.advanceTo(now + len);
    }
  }

  /**
   * A round with one runnable vCPU: there is no interleaving to decide, so it
   * runs until the next event, and an event it schedules itself (a timer it
   * arms, a UART timeout) ends the slice at once so that it fires on time.
   * Time then advances by what the vCPU actually executed.
   */
  private runSolo(v: VCpu, len: number): StopReason | null {
    const now = this.clock.now;
    const end = now + len;
    this.current = v;
    this.soloVcpu = v;
    this.clock.onSchedule = (at) => { if (at < end) v.stop(); };
    let ran: number;
    try {
      ran = v.runSlice(len);
    } catch (e) {
      this.stopReason = this.crashed(v, e);
      return this.stopReason;
    } finally {
      this.current = null;
      this.soloVcpu = null;
      this.clock.onSchedule = () => {};
    }
    this.clock.advanceTo(now + Math.max(ran, v.cpu.halted ? 0 : 1));
    return null;
  }

  private crashed(v: VCpu, e: unknown): StopReason {
    const c = v.cpu;
    return { kind: 'error', message: `cpu${v.index} at ${c.segSel[Seg.CS].toString(16)}:${c.ip.toString(16)}${this.symbols.annotate(c.codeLinear(c.ip))}: ${(e as Error).message}` };
  }
}

/** A port that exists and ignores what it is given (reads as 0xFF, like an unused latch). */
const SINK: PortDevice = { portRead: (_p: number, size: Size) => (size === 1 ? 0xff : size === 2 ? 0xffff : 0xffffffff), portWrite: () => {} };


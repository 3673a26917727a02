/**
 * The programmatic face of the machine, for regression tests and embedders:
 * boot a kernel, wait for serial output by pattern with a timeout in virtual
 * time, type into COM1, run to an exit, look at the CPUs. Everything here is
 * deterministic: a test that passes once passes every time.
 *
 *   const s = new Session({ kernel: { name: 'k.elf', bytes }, cpus: 4 });
 *   await s.serial.expect(/login:/, { virtualTimeout: 5e9 });
 *   s.serial.send('root\n');
 *   const stop = await s.runToExit({ virtualTimeout: 10e9 });
 */
import { Machine, type MachineConfig, type StopReason } from './machine.js';
import type { RunState } from './vcpu.js';
import { loadState, saveState, type LoadEnv } from './snapshot.js';
import type { Codec } from '../storage/host.js';

export type SessionConfig = Omit<MachineConfig, 'serial' | 'ramBytes' | 'cpus' | 'seed'> &
  Partial<Pick<MachineConfig, 'ramBytes' | 'cpus' | 'seed'>>;

/** Virtual nanoseconds run between yields to the host's event loop. */
const SLICE = 10_000_000;

export class TimeoutError extends Error {}

export interface CpuInfo {
  index: number;
  apicId: number;
  state: RunState;
  instructions: number;
  /** Interrupt messages (IPIs, IOAPIC, MSI) its local APIC received. */
  interruptsReceived: number;
  /** IPIs it sent, by destination CPU index. */
  ipisSent: number[];
}

export class SerialConsole {
  private text = '';
  /** Where the last expect's match ended: the next expect looks only after it. */
  private cursor = 0;

  constructor(private readonly session: Session) {}

  /** @internal */
  receive(byte: number): void { this.text += String.fromCharCode(byte); }

  /** Everything COM1 has printed so far (bytes as Latin-1). */
  get output(): string { return this.text; }

  /**
   * Runs the machine until `pattern` appears in output not consumed by an
   * earlier expect, and returns the match. Throws TimeoutError if it has not
   * appeared within `virtualTimeout` ns of virtual time, or if the machine
   * stopped first.
   */
  async expect(pattern: RegExp, opts: { virtualTimeout: number }): Promise<RegExpExecArray> {
    const deadline = this.session.machine.clock.now + opts.virtualTimeout;
    for (;;) {
      const re = new RegExp(pattern.source, pattern.flags.replace('g', ''));
      const m = re.exec(this.text.slice(this.cursor));
      if (m) {
        this.cursor += m.index + m[0].length;
        return m;
      }
      const stop = await this.session.runUntil(deadline, () => re.test(this.text.slice(this.cursor)));
      if (stop !== null && !re.test(this.text.slice(this.cursor))) {
        throw new TimeoutError(`serial: ${pattern} not seen (${describe(stop)}); output so far:\n${this.text}`);
      }
    }
  }

  /** Host bytes for the guest's COM1 (strings as UTF-8), delivered at the line's pace. */
  send(data: string | Uint8Array): void {
    this.session.machine.sendSerial(typeof data === 'string' ? new TextEncoder().encode(data) : data);
  }
}

function describe(stop: StopReason): string {
  switch (stop.kind) {
    case 'exit': return `the machine exited with status ${stop.status}`;
    case 'shutdown': return `the machine shut down: ${stop.reason}`;
    case 'time': return 'virtual timeout';
    case 'idle': return 'every CPU is halted and nothing can wake one';
    case 'error': return stop.message;
  }
}

export class Session {
  readonly machine: Machine;
  readonly serial: SerialConsole;

  /** A new machine from `config`, or one built by `make` (given where COM1's bytes go). */
  constructor(config: SessionConfig | ((serial: (byte: number) => void) => Machine)) {
    this.serial = new SerialConsole(this);
    const serial = (b: number): void => this.serial.receive(b);
    this.machine = typeof config === 'function' ? config(serial) : new Machine({ ramBytes: 256 << 20, cpus: 1, seed: 0n, ...config, serial });
  }

  /** The whole machine as a snapshot file (emu/machine/snapshot.ts); `codec` is raw deflate (nodeEnv.codec in Node). */
  saveState(codec: Codec): Uint8Array { return saveState(this.machine, codec); }

  /**
   * A session resuming a snapshot; `file` names it in errors. Its serial
   * output starts empty: what the guest printed before the save is not state.
   */
  static loadState(file: string, bytes: Uint8Array, env: Omit<LoadEnv, 'serial'>): Session {
    return new Session((serial) => loadState(file, bytes, { ...env, serial }));
  }

  /**
   * Runs until virtual time `until` or until `done()` holds (checked between
   * slices); returns the stop reason, or null if `done()` ended the run.
   */
  async runUntil(until: number, done: () => boolean = () => false): Promise<StopReason | null> {
    const m = this.machine;
    for (;;) {
      const r = m.run(Math.min(until, m.clock.now + SLICE));
      if (done()) return null;
      if (r.kind !== 'time' || m.clock.now >= until) return r;
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
  }

  /** Runs until the machine stops by itself (debug-exit, shutdown, error) or `virtualTimeout` passes. */
  async runToExit(opts: { virtualTimeout: number }): Promise<StopReason> {
    const r = await this.runUntil(this.machine.clock.now + opts.virtualTimeout);
    return r ?? { kind: 'time' };
  }

  /** The exit status if the guest wrote to the debug-exit port, else null. */
  get exitStatus(): number | null {
    const r = this.machine.stopped;
    return r !== null && r.kind === 'exit' ? r.status : null;
  }

  cpus(): CpuInfo[] {
    const bus = this.machine.apicBus;
    return this.machine.vcpus.map((v) => ({
      index: v.index,
      apicId: v.apicId,
      state: v.state,
      instructions: v.cpu.icount,
      interruptsReceived: bus.received[v.apic.cpuIndex] ?? 0,
      ipisSent: [...(bus.ipiCount[v.apic.cpuIndex] ?? [])],
    }));
  }
}

/**
 * One machine driven for an interactive console: the page runs it in the
 * tab, the server runs it for `?remote=1`. Platform-free (no DOM, no Node),
 * so both sides share it. The host calls `run(budget)` from its own event
 * loop (requestAnimationFrame, setImmediate); each call runs short virtual
 * slices until that much host time has gone, so keys, paints and the panel
 * get through between calls.
 */
import { Machine, type MachineConfig, type StopReason } from '../machine/machine.js';
import { loadState, saveState, type LoadEnv } from '../machine/snapshot.js';
import { Pacer } from '../machine/pacer.js';
import type { Codec } from '../storage/host.js';

export type RunnerConfig = Omit<MachineConfig, 'serial' | 'log' | 'trace'>;

export type RunnerState =
  | { kind: 'running' }
  | { kind: 'paused' }
  /** Every CPU halted with nothing armed: only input can wake the machine. */
  | { kind: 'idle' }
  | { kind: 'stopped'; reason: string };

/**
 * Virtual nanoseconds per machine.run call. Small, so the host clock is read
 * often; a round is never cut (machine.ts), so a call may overrun by one
 * round (at most 1 ms of virtual time with a single runnable CPU).
 */
const VSLICE = 200_000;

export class MachineRunner {
  machine: Machine;
  /** Bumped by reset(): counters of an older machine are not comparable with this one's. */
  generation = 0;
  private out: number[] = [];
  private paused = false;
  private state: RunnerState = { kind: 'running' };
  /** Virtual time kept from running ahead of host time: an idle guest's clock would race otherwise. */
  private readonly pacer: Pacer;

  constructor(private config: RunnerConfig, hostMs: () => number = () => performance.now()) {
    this.pacer = new Pacer(hostMs);
    this.machine = this.powerOn();
  }

  private powerOn(): Machine {
    const m = new Machine({ ...this.config, serial: (b) => { this.out.push(b); } });
    this.pacer.anchor(m.clock.now);
    return m;
  }

  get current(): RunnerState { return this.paused && this.state.kind !== 'stopped' ? { kind: 'paused' } : this.state; }

  /** Whether run() has anything to do: the host stops scheduling it otherwise, until input, resume or reset. */
  get wantsToRun(): boolean { return this.current.kind === 'running'; }

  /** Host milliseconds until the machine's virtual time is due: the host waits that long before the next run(). */
  get aheadMs(): number { return this.pacer.ahead(this.machine.clock.now); }

  /** Runs until budgetMs of host time have gone, the machine stops or idles, or its virtual time gets ahead of the host's. */
  run(budgetMs: number, now: () => number = () => performance.now()): RunnerState {
    if (!this.wantsToRun) return this.current;
    const m = this.machine;
    const end = now() + budgetMs;
    do {
      const r = m.run(m.clock.now + VSLICE);
      if (r.kind !== 'time') { this.state = settle(r); break; }
    } while (now() < end && this.aheadMs === 0);
    return this.current;
  }

  /** Keystrokes for COM1; they wake an idle machine (even paused, they wait in the UART's FIFO). */
  input(bytes: Uint8Array): void {
    this.machine.sendSerial(bytes);
    if (this.state.kind === 'idle') {
      this.state = { kind: 'running' };
      this.pacer.anchor(this.machine.clock.now);
    }
  }

  pause(): void { this.paused = true; }
  resume(): void {
    this.paused = false;
    this.pacer.anchor(this.machine.clock.now);
  }

  /** A power cycle: a fresh machine from the same image and seed (the pause stays as it was). */
  reset(): void {
    this.machine = this.powerOn();
    this.generation++;
    this.state = { kind: 'running' };
  }

  /** The machine as a snapshot file. Between two run() calls the machine is at a round boundary, as saving needs. */
  save(codec: Codec): Uint8Array {
    return saveState(this.machine, codec);
  }

  /**
   * Resumes a snapshot in place of the current machine, which goes on
   * untouched if the file is refused (the error says why, in one line). A
   * later reset power-cycles the snapshot's machine: its kernel, its disks.
   */
  load(file: string, bytes: Uint8Array, env: Omit<LoadEnv, 'serial' | 'jit'>): void {
    const loaded = loadState(file, bytes, { ...env, jit: this.config.jit, serial: (b) => { this.out.push(b); } });
    this.closeDrives();
    this.config = loaded.config;
    this.machine = loaded;
    this.generation++;
    this.state = { kind: 'running' };
    this.pacer.anchor(loaded.clock.now);
  }

  /** Lets go of the disks (their files, on the server); the runner is not used after this. */
  close(): void { this.closeDrives(); }

  private closeDrives(): void {
    for (const d of this.config.drives ?? []) d.disk.close();
  }

  /** COM1 output since the last call. */
  takeOutput(): Uint8Array {
    const bytes = Uint8Array.from(this.out);
    this.out.length = 0;
    return bytes;
  }
}

function settle(r: StopReason): RunnerState {
  switch (r.kind) {
    case 'time': return { kind: 'running' };
    case 'idle': return { kind: 'idle' };
    case 'exit': return { kind: 'stopped', reason: `the guest exited with status ${r.status}` };
    case 'shutdown': return { kind: 'stopped', reason: `shutdown: ${r.reason}` };
    case 'error': return { kind: 'stopped', reason: r.message };
  }
}

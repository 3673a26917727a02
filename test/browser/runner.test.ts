/**
 * The platform-free halves of the browser console, in Node: MachineRunner
 * (slices bounded by host time, input, pause, reset, stops) and
 * RateTracker (rates per virtual second from successive samples).
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { ROOT } from '../helpers/emu.js';
import { MachineRunner, type RunnerConfig } from '../../emu/web/runner.js';
import { sampleMachine, type CpuSample } from '../../emu/web/cpu-sample.js';
import { RateTracker } from '../../emu/web/cpu-rates.js';

const image = (name: string): RunnerConfig => ({
  ramBytes: 256 << 20, cpus: name === 'smp.elf' ? 4 : 1, seed: 1n,
  kernel: { name, bytes: readFileSync(path.join(ROOT, 'test/guest/bin', name)) },
});
const text = (b: Uint8Array): string => new TextDecoder().decode(b);

/** Runs until `done` or the runner stops wanting to run; a fake clock makes each call exactly one slice. */
function runUntil(r: MachineRunner, done: (out: string) => boolean): string {
  let out = '';
  let t = 0;
  for (let k = 0; k < 100_000 && !done(out) && r.wantsToRun; k++) {
    r.run(1, () => (t += 1));
    out += text(r.takeOutput());
  }
  return out;
}

describe('MachineRunner', () => {
  it('stops a run once the virtual clock is ahead of the host clock, and says how long to wait', () => {
    let host = 0;
    const r = new MachineRunner(image('smp.elf'), () => host);
    expect(r.aheadMs).toBe(0);
    r.run(60_000);
    const ahead = r.aheadMs;
    expect(ahead).toBeGreaterThan(0);
    expect(ahead).toBeLessThan(2);
    expect(r.machine.clock.now).toBeLessThan(2e6);
    host += ahead;
    expect(r.aheadMs).toBe(0);
  });

  it('runs to the guest exit and reports the stop', () => {
    const r = new MachineRunner(image('hello.elf'));
    const out = runUntil(r, () => false);
    expect(out).toMatch(/^hello: damselfly guest test kernel\n[\s\S]*PASS\n$/);
    expect(r.current).toEqual({ kind: 'stopped', reason: 'the guest exited with status 1' });
    expect(r.wantsToRun).toBe(false);
  });

  it('takes input, holds it while paused, and starts again from power-on after reset', () => {
    const r = new MachineRunner(image('echo.elf'));
    expect(runUntil(r, (o) => o.includes('upper-cased'))).toMatch(/^echo: /);
    r.pause();
    r.input(new TextEncoder().encode('abc'));
    expect(r.current).toEqual({ kind: 'paused' });
    expect(r.run(1000)).toEqual({ kind: 'paused' });
    expect(text(r.takeOutput())).toBe('');
    r.resume();
    expect(runUntil(r, (o) => o.includes('ABC'))).toContain('ABC');
    const before = r.machine;
    r.reset();
    expect(r.machine).not.toBe(before);
    expect(r.generation).toBe(1);
    expect(runUntil(r, (o) => o.includes('upper-cased'))).toMatch(/^echo: /);
  });
});

describe('RateTracker', () => {
  const sample = (virtualNs: number, interrupts: number[], ipi: number[][], generation = 0): CpuSample => ({
    virtualNs, generation, ipi,
    cpus: interrupts.map((n, i) => ({ apicId: i, state: 'running', instructions: 0, interrupts: n })),
  });

  it('turns counter deltas into rates per virtual second', () => {
    const t = new RateTracker();
    const first = t.update(sample(0, [0, 0], [[0, 0], [0, 0]]));
    expect(first.cpus.map((c) => c.interruptRate)).toEqual([0, 0]);
    // Half a virtual second: 10 IPIs 0→1 and 4 back, plus 6 other interrupts at cpu0.
    const m = t.update(sample(5e8, [10, 10], [[0, 10], [4, 0]]));
    expect(m.cpus[0]).toMatchObject({ interruptRate: 20, ipiSentRate: 20, ipiReceivedRate: 8, ipisSent: 10, ipisReceived: 4 });
    expect(m.cpus[1]).toMatchObject({ interruptRate: 20, ipiSentRate: 8, ipiReceivedRate: 20 });
    expect(m.ipiRecent).toEqual([[0, 10], [4, 0]]);
  });

  it('keeps the last rates while no virtual time passes, and starts over after a reset', () => {
    const t = new RateTracker();
    t.update(sample(0, [0], [[0]]));
    t.update(sample(1e9, [7], [[0]]));
    expect(t.update(sample(1e9, [7], [[0]])).cpus[0].interruptRate).toBe(7);
    expect(t.update(sample(5, [1], [[0]], 1)).cpus[0].interruptRate).toBe(0);
  });

  it('reads the counters of a real machine', () => {
    const r = new MachineRunner(image('smp.elf'));
    runUntil(r, () => false);
    const m = new RateTracker().update(sampleMachine(r.machine, r.generation));
    expect(m.cpus.map((c) => c.apicId)).toEqual([0, 1, 2, 3]);
    for (let ap = 1; ap < 4; ap++) expect(m.ipi[0][ap]).toBeGreaterThan(0);
  });
});

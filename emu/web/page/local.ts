/**
 * The machine in this tab. It runs in setTimeout-chained slices of a few
 * milliseconds: between two slices the browser paints, handles keys and
 * runs the panel, so the page stays responsive, and all CPUs share the one
 * thread as they do in `emu boot` (no workers, no SharedArrayBuffer).
 * setTimeout rather than requestAnimationFrame because it keeps going,
 * throttled, in a background tab.
 */
import { deflateRaw } from 'pako';
import { MachineRunner, type RunnerConfig, type RunnerState } from '../runner.js';
import { sampleMachine } from '../cpu-sample.js';
import { snapshotDiskOpener, snapshotFileName, type DiskSource } from '../tab-disks.js';
import { pakoCodec } from '../../storage/pako-codec.js';
import type { Codec } from '../../storage/host.js';
import { SAMPLE_MS, type Backend, type BackendEvents } from './backend.js';

/** Host milliseconds per slice: most of a 60 Hz frame, leaving the rest to the page. */
const BUDGET_MS = 12;

/** Level 1, as `emu boot` saves: the user waits for the download, and RAM deflates several times faster for a somewhat larger file. */
const snapshotCodec: Codec = { deflate: (d) => deflateRaw(d, { level: 1 }), inflate: pakoCodec.inflate };

/** `disks`: the images this tab holds, which a loaded snapshot may name. */
export function startLocal(config: RunnerConfig, disks: DiskSource[], events: BackendEvents): Backend {
  const runner = new MachineRunner(config);
  let scheduled = false;
  let reported = '';

  const report = (state: RunnerState): void => {
    const key = JSON.stringify(state);
    if (key !== reported) { reported = key; events.state(state); }
  };
  const sample = (): void => events.sample(sampleMachine(runner.machine, runner.generation));
  const tick = (): void => {
    scheduled = false;
    const state = runner.run(BUDGET_MS);
    const out = runner.takeOutput();
    if (out.length > 0) events.output(out);
    report(state);
    // A stop or an idle machine is worth showing at once rather than at the next sample.
    if (state.kind !== 'running') sample();
    schedule();
  };
  let timer: ReturnType<typeof setTimeout> | undefined;
  /** The next slice, when the machine's virtual time is due (runner.aheadMs), or at once (`now`, after a key). */
  const schedule = (now = false): void => {
    if (!runner.wantsToRun) return;
    if (scheduled && !now) return;
    clearTimeout(timer);
    scheduled = true;
    timer = setTimeout(tick, now ? 0 : Math.min(runner.aheadMs, 100));
  };

  setInterval(sample, SAMPLE_MS);
  sample();
  report(runner.current);
  schedule();
  return {
    mode: 'local',
    input: (bytes) => { runner.input(bytes); report(runner.current); schedule(true); },
    pause: () => { runner.pause(); report(runner.current); },
    resume: () => { runner.resume(); report(runner.current); schedule(); },
    reset: () => { runner.reset(); sample(); report(runner.current); schedule(); },
    saveState: () => {
      try {
        return Promise.resolve({ name: snapshotFileName(runner.machine.clock.now), bytes: runner.save(snapshotCodec) });
      } catch (e) {
        return Promise.reject(e);
      }
    },
    loadState: (name, bytes) => {
      try {
        runner.load(name, bytes, { codec: snapshotCodec, openDisk: snapshotDiskOpener(disks) });
      } catch (e) {
        return Promise.reject(e);
      }
      sample();
      report(runner.current);
      schedule();
      return Promise.resolve();
    },
  };
}

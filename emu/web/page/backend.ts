/**
 * Where the machine runs, as the page sees it: in this tab (local.ts) or in
 * the server's Node process (remote.ts). The terminal and the panel talk
 * only to this, so both modes look and behave the same.
 */
import type { CpuSample } from '../cpu-sample.js';
import type { RunnerState } from '../runner.js';

export interface BackendEvents {
  output(bytes: Uint8Array): void;
  state(state: RunnerState): void;
  sample(sample: CpuSample): void;
}

export interface Backend {
  readonly mode: 'local' | 'remote';
  input(bytes: Uint8Array): void;
  pause(): void;
  resume(): void;
  reset(): void;
  /** The machine as a snapshot file, and the name to download it under. */
  saveState(): Promise<{ name: string; bytes: Uint8Array }>;
  /** Resumes a snapshot; rejects with a one-line reason, and the machine runs on as it was. */
  loadState(name: string, bytes: Uint8Array): Promise<void>;
}

/** How often the panel is refreshed, ms of wall time. */
export const SAMPLE_MS = 500;

/**
 * The WebSocket of remote mode (`?remote=1`), where the server runs the
 * machine. Binary frames are COM1 bytes (page → server: keystrokes;
 * server → page: guest output, batched per run slice); text frames are
 * these JSON messages.
 */
import type { CpuSample } from './cpu-sample.js';
import type { RunnerState } from './runner.js';

export type ToServer = { t: 'pause' } | { t: 'resume' } | { t: 'reset' };

export type ToPage =
  | { t: 'state'; state: RunnerState }
  | { t: 'sample'; sample: CpuSample };

export const WS_PATH = '/machine';

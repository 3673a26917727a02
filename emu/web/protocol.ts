/**
 * The WebSocket of remote mode (`?remote=1`), where the server runs the
 * machine. Binary frames are COM1 bytes (page → server: keystrokes;
 * server → page: guest output, batched per run slice) — except the one
 * right after a `load` (page → server) or a `snapshot` (server → page)
 * message, which is the snapshot file. Text frames are these JSON messages.
 */
import type { CpuSample } from './cpu-sample.js';
import type { RunnerState } from './runner.js';

export type ToServer =
  | { t: 'pause' } | { t: 'resume' } | { t: 'reset' }
  /** Answered by `snapshot` and the file, or `refused`. */
  | { t: 'save' }
  /** The next binary frame is the file; answered by `loaded` or `refused`. */
  | { t: 'load'; name: string };

export type ToPage =
  | { t: 'state'; state: RunnerState }
  | { t: 'sample'; sample: CpuSample }
  /** The next binary frame is the saved machine. */
  | { t: 'snapshot'; name: string }
  | { t: 'loaded'; name: string }
  /** A save or load that failed; the machine runs on as it was. */
  | { t: 'refused'; message: string };

export const WS_PATH = '/machine';

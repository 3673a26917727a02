/**
 * The progress bar of long `emu img` work: one line on stderr, redrawn in place at most
 * every REDRAW_MS, erased when the work ends (or fails), so that what follows starts on a
 * clean line. Drawn only when stderr is a terminal: piped or captured output (tests,
 * scripts) never sees it. Work shorter than REDRAW_MS shows nothing at all.
 *
 *     convert  42% [##########..............]  12.3 MiB / 29.0 MiB  85.1 MiB/s
 *
 * The clock and the terminal are injected, so the rendering is tested deterministically.
 */
import type { Progress } from '../storage/progress.js';

export interface Terminal {
  /** Width in columns; the line keeps off the last one, which would wrap on some terminals. */
  readonly columns: number;
  write(s: string): void;
}

const REDRAW_MS = 100;
/** Narrower than this, the bar is left out and only the figures are shown. */
const MIN_BAR = 10;
const ERASE_LINE = '\r\x1b[K';
/** '1023.9 MiB/s' */
const RATE_WIDTH = 12;

export function formatBytes(n: number): string {
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  if (n < 1024) return `${Math.round(n)} B`;
  let v = n / 1024, i = 0;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return `${v.toFixed(1)} ${units[i]}`;
}

/** The line for done of total bytes after secs seconds, at most width - 1 columns. */
export function renderProgress(label: string, done: number, total: number, secs: number, width: number): string {
  const frac = total > 0 ? Math.min(1, done / total) : 1;
  const left = `${label} ${String(Math.floor(frac * 100)).padStart(3)}% `;
  // Fixed widths, so that the bar does not jitter as the figures grow.
  const of = formatBytes(total);
  const rate = secs > 0 ? `${formatBytes(done / secs)}/s` : '';
  const right = `  ${formatBytes(done).padStart(of.length)} / ${of}  ${rate.padStart(RATE_WIDTH)}`;
  const room = width - 1 - left.length - right.length - 2;
  if (room < MIN_BAR) return (left.trimEnd() + right).slice(0, Math.max(0, width - 1));
  const filled = Math.floor(frac * room);
  return `${left}[${'#'.repeat(filled)}${'.'.repeat(room - filled)}]${right}`;
}

export class ProgressBar {
  private start = NaN;
  private lastDraw = NaN;
  private drawn = false;

  constructor(private readonly term: Terminal, private readonly label: string, private readonly now: () => number) {}

  readonly update: Progress = (done, total) => {
    const t = this.now();
    if (Number.isNaN(this.start)) this.start = this.lastDraw = t;
    if (t - this.lastDraw < REDRAW_MS) return;
    this.lastDraw = t;
    this.drawn = true;
    this.term.write(ERASE_LINE + renderProgress(this.label, done, total, (t - this.start) / 1000, this.term.columns));
  };

  /** Erases the line, if anything was drawn. Call it on success and on failure alike. */
  finish(): void {
    if (this.drawn) this.term.write(ERASE_LINE);
    this.drawn = false;
  }
}

/** A bar on stderr when it is a terminal; null otherwise. */
export function stderrProgress(label: string): ProgressBar | null {
  const err = process.stderr;
  if (!err.isTTY) return null;
  return new ProgressBar({ get columns() { return err.columns || 80; }, write: (s) => { err.write(s); } }, label, () => performance.now());
}

/** Runs work with a bar (when stderr is a terminal), erased however the work ends. */
export function withProgress<T>(label: string, work: (progress?: Progress) => T): T {
  const bar = stderrProgress(label);
  try {
    return work(bar?.update);
  } finally {
    bar?.finish();
  }
}

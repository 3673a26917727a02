/**
 * The machine's buttons, and the notice line under them where saving and
 * loading report (one line: the file saved, or why a file was refused).
 * Save state downloads the snapshot file; Load state uploads one through a
 * hidden file input and resumes it.
 */
import type { Backend } from './backend.js';
import type { RunnerState } from '../runner.js';

export interface ControlEvents {
  reset(): void;
  /** A snapshot was resumed: the terminal marks where its output starts. */
  loaded(name: string): void;
}

export class Controls {
  private readonly pauseButton: HTMLButtonElement;
  private readonly resumeButton: HTMLButtonElement;
  private readonly saveButton: HTMLButtonElement;
  private readonly loadButton: HTMLButtonElement;
  private readonly noticeLine: HTMLElement;
  private busy = false;

  constructor(root: HTMLElement, private readonly backend: () => Backend | null, events: ControlEvents) {
    const button = (id: string, label: string, action: () => void): HTMLButtonElement => {
      const b = document.createElement('button');
      b.id = id;
      b.textContent = label;
      b.addEventListener('click', action);
      return b;
    };
    this.pauseButton = button('pause', 'Pause', () => backend()?.pause());
    this.resumeButton = button('resume', 'Resume', () => backend()?.resume());
    const reset = button('reset', 'Reset', () => { events.reset(); backend()?.reset(); });
    reset.title = 'Power-cycle: the same image and seed, booted again';
    this.saveButton = button('save', 'Save state', () => void this.save());
    this.saveButton.title = 'Download the whole machine as a snapshot file (emu boot --load-state reads it too)';
    const file = document.createElement('input');
    file.type = 'file';
    file.id = 'load-file';
    file.accept = '.snap';
    file.hidden = true;
    file.addEventListener('change', () => {
      const f = file.files?.[0];
      file.value = '';
      if (f) void this.load(f, events);
    });
    this.loadButton = button('load', 'Load state', () => file.click());
    this.loadButton.title = 'Resume a snapshot file: its machine, kernel and disks replace this one';
    this.noticeLine = document.createElement('div');
    this.noticeLine.id = 'notice';
    this.noticeLine.setAttribute('role', 'status');
    root.append(this.pauseButton, this.resumeButton, reset, this.saveButton, this.loadButton, file);
    root.after(this.noticeLine);
    this.setState({ kind: 'running' });
  }

  setState(s: RunnerState): void {
    this.pauseButton.disabled = s.kind === 'paused' || s.kind === 'stopped';
    this.resumeButton.disabled = s.kind !== 'paused';
  }

  /** One line for the user; `kind` colours it. */
  notice(text: string, kind: 'info' | 'error' = 'info'): void {
    this.noticeLine.textContent = text;
    this.noticeLine.dataset.kind = kind;
  }

  private async save(): Promise<void> {
    const backend = this.backend();
    if (!backend || !this.begin()) return;
    try {
      const { name, bytes } = await backend.saveState();
      const url = URL.createObjectURL(new Blob([bytes as Uint8Array<ArrayBuffer>], { type: 'application/octet-stream' }));
      const a = document.createElement('a');
      a.href = url;
      a.download = name;
      a.click();
      // The download has taken its copy once the click is handled.
      setTimeout(() => URL.revokeObjectURL(url), 0);
      this.notice(`saved ${name} (${size(bytes.length)})`);
    } catch (e) {
      this.notice(`save state failed: ${message(e)}`, 'error');
    } finally {
      this.end();
    }
  }

  private async load(f: File, events: ControlEvents): Promise<void> {
    const backend = this.backend();
    if (!backend || !this.begin()) return;
    try {
      await backend.loadState(f.name, new Uint8Array(await f.arrayBuffer()));
      events.loaded(f.name);
      this.notice(`loaded ${f.name}`);
    } catch (e) {
      this.notice(`load state refused: ${message(e)}; the machine runs on as it was`, 'error');
    } finally {
      this.end();
    }
  }

  private begin(): boolean {
    if (this.busy) return false;
    this.busy = this.saveButton.disabled = this.loadButton.disabled = true;
    return true;
  }

  private end(): void {
    this.busy = this.saveButton.disabled = this.loadButton.disabled = false;
  }
}

const size = (n: number): string => (n < 2 ** 20 ? `${Math.ceil(n / 1024)} KiB` : `${(n / 2 ** 20).toFixed(1)} MiB`);
/** pako throws strings for bad streams; everything else throws Errors. */
const message = (e: unknown): string => (e instanceof Error ? e.message : String(e));

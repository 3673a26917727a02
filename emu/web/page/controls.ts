/**
 * The machine's buttons. Save and load state wait for machine snapshots,
 * which belong to the storage issue: they are shown, disabled, saying so.
 */
import type { Backend } from './backend.js';
import type { RunnerState } from '../runner.js';

const SNAPSHOTS_LATER = 'Machine snapshots are not implemented yet: they come with the storage issue.';

export class Controls {
  private readonly pauseButton: HTMLButtonElement;
  private readonly resumeButton: HTMLButtonElement;

  constructor(root: HTMLElement, backend: () => Backend | null, onReset: () => void) {
    const button = (id: string, label: string, action?: () => void): HTMLButtonElement => {
      const b = document.createElement('button');
      b.id = id;
      b.textContent = label;
      if (action) b.addEventListener('click', action);
      return b;
    };
    this.pauseButton = button('pause', 'Pause', () => backend()?.pause());
    this.resumeButton = button('resume', 'Resume', () => backend()?.resume());
    const reset = button('reset', 'Reset', () => { onReset(); backend()?.reset(); });
    reset.title = 'Power-cycle: the same image and seed, booted again';
    root.append(this.pauseButton, this.resumeButton, reset);
    for (const [id, label] of [['save', 'Save state'], ['load', 'Load state']]) {
      const b = button(id, label);
      b.disabled = true;
      // A disabled button gets no pointer events in some browsers; its wrapper carries the tooltip.
      const wrap = document.createElement('span');
      wrap.title = SNAPSHOTS_LATER;
      b.title = SNAPSHOTS_LATER;
      wrap.appendChild(b);
      root.appendChild(wrap);
    }
    this.setState({ kind: 'running' });
  }

  setState(s: RunnerState): void {
    this.pauseButton.disabled = s.kind === 'paused' || s.kind === 'stopped';
    this.resumeButton.disabled = s.kind !== 'paused';
  }
}

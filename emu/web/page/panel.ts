/**
 * The side panel that makes SMP visible: one row per CPU (run state,
 * instructions, interrupts and IPIs per virtual second, see cpu-rates.ts)
 * and the IPI matrix, sender by row and receiver by column, each cell the
 * total so far and shaded by how many arrived in the last interval.
 */
import type { PanelModel } from '../cpu-rates.js';
import type { RunnerState } from '../runner.js';

const STATE_LABEL = { running: 'running', halted: 'halted', 'wait-sipi': 'waiting for SIPI' } as const;

function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, text = ''): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text) e.textContent = text;
  return e;
}

const rate = (r: number): string => (r === 0 ? '0' : r < 10 ? r.toFixed(1) : Math.round(r).toLocaleString('en'));
const count = (n: number): string => n.toLocaleString('en');

export class CpuPanel {
  private readonly status: HTMLElement;
  private readonly rows: HTMLTableSectionElement;
  private readonly matrix: HTMLTableElement;
  private state: RunnerState = { kind: 'running' };
  private virtualNs = 0;

  constructor(root: HTMLElement, private readonly cpus: number) {
    this.status = root.appendChild(el('div', { id: 'status' }));
    const table = root.appendChild(el('table', { id: 'cpus' }));
    const head = table.createTHead().insertRow();
    for (const [h, title] of [
      ['CPU', ''], ['APIC', 'APIC ID'], ['state', ''], ['instructions', 'retired instructions'],
      ['irq/s', 'interrupt messages received (IPI, IOAPIC, MSI) per virtual second'],
      ['IPI out/s', 'IPIs sent per virtual second'], ['IPI in/s', 'IPIs received per virtual second'],
    ]) head.appendChild(el('th', title ? { title } : {}, h));
    this.rows = table.createTBody();
    root.appendChild(el('h2', {}, 'IPIs, sender → receiver'));
    this.matrix = root.appendChild(el('table', { id: 'ipi-matrix' }));
    this.renderStatus();
  }

  setState(state: RunnerState): void {
    this.state = state;
    this.renderStatus();
  }

  render(m: PanelModel): void {
    this.virtualNs = m.virtualNs;
    this.renderStatus();
    // Rebuilt when the CPU count changes; otherwise only cell text changes (cheap, and selection-safe).
    if (this.rows.rows.length !== m.cpus.length) this.build(m.cpus.length);
    m.cpus.forEach((c, i) => {
      const cells = this.rows.rows[i].cells;
      cells[1].textContent = String(c.apicId);
      cells[2].textContent = STATE_LABEL[c.state];
      cells[2].className = `state-${c.state}`;
      cells[3].textContent = count(c.instructions);
      cells[4].textContent = rate(c.interruptRate);
      cells[4].title = `${count(c.interrupts)} in all`;
      cells[5].textContent = rate(c.ipiSentRate);
      cells[5].title = `${count(c.ipisSent)} in all`;
      cells[6].textContent = rate(c.ipiReceivedRate);
      cells[6].title = `${count(c.ipisReceived)} in all`;
    });
    const peak = Math.max(1, ...m.ipiRecent.flat());
    m.ipi.forEach((row, s) => row.forEach((n, d) => {
      const cell = this.matrix.rows[s + 1].cells[d + 1];
      const recent = m.ipiRecent[s]?.[d] ?? 0;
      cell.textContent = n === 0 ? '·' : count(n);
      cell.title = `cpu${s} → cpu${d}: ${count(n)} IPIs, ${count(recent)} in the last interval`;
      cell.style.setProperty('--heat', String(recent / peak));
      cell.classList.toggle('hot', recent > 0);
    }));
  }

  private build(n: number): void {
    this.rows.replaceChildren();
    for (let i = 0; i < n; i++) {
      const row = this.rows.insertRow();
      row.dataset.cpu = String(i);
      row.appendChild(el('th', {}, `cpu${i}`));
      for (let k = 0; k < 6; k++) row.insertCell();
    }
    this.matrix.replaceChildren();
    const head = this.matrix.insertRow();
    head.appendChild(el('th', {}, 'from\\to'));
    for (let d = 0; d < n; d++) head.appendChild(el('th', {}, String(d)));
    for (let s = 0; s < n; s++) {
      const row = this.matrix.insertRow();
      row.appendChild(el('th', {}, String(s)));
      for (let d = 0; d < n; d++) row.insertCell();
    }
  }

  private renderStatus(): void {
    const s = this.state;
    const what = s.kind === 'stopped' ? `stopped: ${s.reason}` : s.kind === 'idle' ? 'idle: waiting for input' : s.kind;
    this.status.dataset.state = s.kind;
    this.status.textContent = `${what} · ${this.cpus} CPU${this.cpus > 1 ? 's' : ''} · virtual time ${(this.virtualNs / 1e9).toFixed(3)} s`;
  }
}

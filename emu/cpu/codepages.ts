/**
 * Which physical pages hold decoded code, shared by every vCPU of a machine.
 * A store to such a page, by any CPU or by the host, drops the decoded code
 * of every interpreter (self- and cross-modifying code behave as on
 * hardware); while a page is registered, no MMU keeps a fast write
 * translation to it, so every store to it takes the slow path that reports.
 */
import type { Mmu } from './mmu.js';

export class CodePages {
  private readonly pages = new Set<number>();
  private readonly mmus: Mmu[] = [];
  private readonly listeners: ((physPage: number) => void)[] = [];

  /** An MMU whose write translations must respect the registry, and the interpreter to tell about stores. */
  attach(mmu: Mmu, onWrite: (physPage: number) => void): void {
    if (!this.mmus.includes(mmu)) this.mmus.push(mmu);
    this.listeners.push(onWrite);
    mmu.code = this;
  }

  has(physPage: number): boolean { return this.pages.has(physPage); }

  add(physPage: number): void {
    if (this.pages.has(physPage)) return;
    this.pages.add(physPage);
    for (const m of this.mmus) m.unmapWritesTo(physPage);
  }

  /** A store reached a registered page: every interpreter forgets its code there. */
  written(physPage: number): void {
    if (!this.pages.delete(physPage)) return;
    for (const l of this.listeners) l(physPage);
  }

  clear(): void { this.pages.clear(); }

  /**
   * The registered pages, for machine snapshots: a store to one ends the
   * running block (the interpreters' epoch), which moves the next point where
   * interrupts are taken, so the registry is state even though the decoded
   * code is not (it is rebuilt from the same bytes).
   */
  list(): number[] { return [...this.pages]; }
}

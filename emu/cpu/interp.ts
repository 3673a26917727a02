/**
 * The interpreter loop with its decode cache. Decoded instructions are kept
 * per physical page and mode; a write to a page that holds decoded code drops
 * that page's cache (the MMU routes such writes through its slow path), so
 * self-modifying code behaves as on hardware, where a store is seen by the
 * next fetch after a branch.
 */
import { Cpu } from './cpu.js';
import { Decoder, type Mode } from './decode.js';
import { Insn } from './insn.js';
import { CpuFault } from './fault.js';
import type { OpTable } from './table.js';

type PageCode = (Insn | undefined)[];

export class Interpreter {
  private readonly decoder: Decoder;
  private readonly pages = new Map<number, PageCode>();
  /** Pages whose last instruction continues on the key page. */
  private readonly spill = new Map<number, number>();
  private readonly codePages = new Set<number>();
  private cachedMode = 0;
  // The page RIP was last on; valid while the MMU's translation generation is unchanged.
  private curLinPage = NaN;
  private curCode: PageCode = [];
  private curGen = -1;
  /** Set by a handler (exit, halt) to leave `run` after the current instruction. */
  stopRequested = false;

  constructor(readonly cpu: Cpu, table: OpTable) {
    this.decoder = new Decoder(table);
    cpu.mmu.codePages = this.codePages;
    cpu.mmu.onCodeWrite = (page) => this.invalidate(page);
  }

  /**
   * Runs up to `budget` instructions. A fault restores RIP to the faulting
   * instruction and is passed to `onFault`, which either fixes things up
   * (e.g. maps a page) and returns, or stops the run.
   */
  run(budget: number, onFault: (f: CpuFault) => void): number {
    const cpu = this.cpu;
    const mmu = cpu.mmu;
    let done = 0;
    this.stopRequested = false;
    while (done < budget && !this.stopRequested) {
      try {
        while (done < budget && !this.stopRequested) {
          const rip = cpu.rip;
          const off = rip & 0xfff;
          const linPage = rip - off;
          let code = this.curCode;
          if (linPage !== this.curLinPage || this.curGen !== mmu.gen) {
            code = this.codeFor(mmu.fetchPhys(rip) - off);
            this.curLinPage = linPage; this.curCode = code; this.curGen = mmu.gen;
          }
          let insn = code[off];
          if (insn === undefined) insn = this.decodeAt(rip, code, off);
          cpu.ip = rip;
          cpu.rip = rip + insn.len;
          insn.exec(cpu, insn);
          cpu.icount++;
          done++;
        }
      } catch (e) {
        if (!(e instanceof CpuFault)) throw e;
        if (!e.trap) cpu.rip = cpu.ip;
        onFault(e);
      }
    }
    return done;
  }

  /** Forgets all decoded code (after memory was changed behind the MMU's back). */
  flushCode(): void {
    this.pages.clear(); this.spill.clear(); this.codePages.clear();
    this.curLinPage = NaN;
  }

  /** Decodes the instruction at a linear address without executing it (for traces). */
  decodeOnly(rip: number): Insn {
    const insn = new Insn();
    const mmu = this.cpu.mmu;
    this.decoder.decode((k) => mmu.phys.read8(mmu.fetchPhys(rip + k)), this.cpu.mode, insn);
    return insn;
  }

  private codeFor(physPage: number): PageCode {
    if (this.cpu.mode !== this.cachedMode) {
      this.flushCode();
      this.cachedMode = this.cpu.mode;
    }
    let code = this.pages.get(physPage);
    if (code === undefined) {
      code = new Array<Insn | undefined>(4096).fill(undefined);
      this.pages.set(physPage, code);
      this.codePages.add(physPage);
      this.cpu.mmu.unmapWritesTo(physPage);
    }
    return code;
  }

  private decodeAt(rip: number, code: PageCode, off: number): Insn {
    const insn = new Insn();
    const mmu = this.cpu.mmu;
    const startPhys = mmu.fetchPhys(rip) - off;
    this.decoder.decode((k) => {
      const p = mmu.fetchPhys(rip + k);
      const page = p - (p & 0xfff);
      if (page !== startPhys && !this.spill.has(page)) { this.spill.set(page, startPhys); this.codeFor(page); }
      return mmu.phys.read8(p);
    }, this.cpu.mode as Mode, insn);
    code[off] = insn;
    return insn;
  }

  private invalidate(physPage: number): void {
    this.pages.delete(physPage);
    this.codePages.delete(physPage);
    const prev = this.spill.get(physPage);
    if (prev !== undefined) {
      this.spill.delete(physPage);
      this.pages.delete(prev);
      this.codePages.delete(prev);
    }
    this.curLinPage = NaN;
  }
}

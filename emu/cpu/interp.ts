/**
 * The interpreter loop with its decode cache. Decoded instructions are kept
 * per physical page and mode, grouped into basic blocks: straight-line runs
 * that end at a branch (a row marked `end`), at the end of the page, or after
 * MAX_BLOCK instructions. Executing a block walks its array with no
 * per-instruction cache lookup.
 *
 * A write to a page that holds decoded code drops that page's cache (the MMU
 * routes such writes through its slow path) and bumps `epoch`, which ends the
 * running block, so self-modifying code behaves as on hardware: the store is
 * seen by the next instruction fetched.
 */
import { Cpu } from './cpu.js';
import { Decoder, Mode } from './decode.js';
import { Insn } from './insn.js';
import { CpuFault, Vector } from './fault.js';
import { F } from './flags.js';
import type { OpTable } from './table.js';
import { compileBlock, type CompiledBlock } from './jit.js';
import { CodePages } from './codepages.js';
import { serviceEvents } from './interrupt.js';
import { Seg } from './regs.js';
import { fpuGate } from './system.js';

const PAGE = 4096;
const RECENT = 64;
const MAX_BLOCK = 64;
/** DR6.BS: the #DB came from single-stepping (SDM Vol.3B §17.2.3). */
const DR6_BS = 1 << 14;

/** Complete interpreted runs after which a block is compiled (jit.ts). */
const HOT_RUNS = 32;

class Block {
  readonly insns: Insn[] = [];
  /** Byte offset of each instruction's end from the block's start. */
  readonly ends: number[] = [];
  runs = 0;
  compiled: CompiledBlock | null = null;
}

export interface InterpreterOptions {
  /** Compile hot blocks (the default); false interprets every instruction, the reference behaviour. */
  jit?: boolean;
  /** The machine-wide registry of code pages, shared by all vCPUs; a lone CPU gets its own. */
  codePages?: CodePages;
}

/** One physical page's decoded code: instructions and blocks by page offset. */
class PageCode {
  readonly insns = new Array<Insn | undefined>(PAGE).fill(undefined);
  readonly blocks = new Array<Block | undefined>(PAGE).fill(undefined);
}

export class Interpreter {
  private readonly decoder: Decoder;
  /** Decoded pages for each decode key (mode and FPU gates), so switching modes keeps every cache. */
  private readonly caches = new Map<number, Map<number, PageCode>>();
  private pages = new Map<number, PageCode>();
  private readonly codePages: CodePages;
  private cachedKey = -1;
  // Recently executed linear pages and their code, direct-mapped; valid
  // while the MMU's translation generation is unchanged (`recentGen`).
  private readonly recentLin = new Float64Array(RECENT).fill(NaN);
  private readonly recentCode: PageCode[] = new Array<PageCode>(RECENT).fill(new PageCode());
  private recentGen = -1;
  /** Bumped whenever decoded code is dropped; a running block stops at the next instruction. */
  private readonly epoch = { value: 0 };
  private readonly jit: boolean;
  /** Set by a handler (exit, halt) to leave `run` after the current instruction. */
  stopRequested = false;

  constructor(readonly cpu: Cpu, table: OpTable, options: InterpreterOptions = {}) {
    this.decoder = new Decoder(table);
    this.jit = options.jit ?? true;
    this.codePages = options.codePages ?? new CodePages();
    this.codePages.attach(cpu.mmu, (page) => this.invalidate(page));
  }

  /**
   * Runs up to `budget` instructions (fewer if stopped). A
   * fault restores RIP to the faulting instruction and is passed to
   * `onFault`, which either fixes things up (e.g. maps a page) and returns,
   * or stops the run. Returns the number of instructions retired.
   */
  run(budget: number, onFault: (f: CpuFault) => void): number {
    const cpu = this.cpu;
    const start = cpu.icount;
    this.stopRequested = false;
    while (cpu.icount - start < budget && !this.stopRequested && !cpu.halted) {
      try {
        this.runBlocks(start + budget);
      } catch (e) {
        if (!(e instanceof CpuFault)) throw e;
        if (!e.trap) cpu.rip = cpu.ip;
        onFault(e);
      }
    }
    return cpu.icount - start;
  }

  /** Runs whole blocks until the retired count reaches `until` or a handler asks to stop. */
  private runBlocks(until: number): void {
    const cpu = this.cpu;
    while (cpu.icount < until && !this.stopRequested) {
      if (cpu.attention) {
        serviceEvents(cpu);
        if (cpu.halted) return;
      }
      const rip = cpu.rip;
      // Set before the fetch: a fault while fetching or decoding restarts here.
      cpu.ip = rip;
      // Outside 64-bit mode RIP is an offset into CS; blocks are found by linear address.
      const b = this.blockAt(cpu.mode === Mode.Long64 ? rip : (rip + cpu.segBase[Seg.CS]) % 4294967296);
      // Single-step (RFLAGS.TF): one instruction, then a #DB trap (SDM Vol.3B §17.3.1.4).
      // TF is only ever set by an instruction that ends a block, so checking here suffices.
      if (cpu.flags & F.TF) {
        this.execute(b, rip, 1);
        cpu.dr[6] |= DR6_BS;
        throw new CpuFault(Vector.DB, -1, 0, 'single-step trap', true);
      }
      const left = until - cpu.icount;
      if (b.compiled !== null && b.insns.length <= left) b.compiled(cpu, rip, until);
      else this.execute(b, rip, left);
      if (cpu.halted) return;
    }
  }

  private blockAt(rip: number): Block {
    const off = rip & 0xfff;
    const linPage = rip - off;
    const mmu = this.cpu.mmu;
    if (this.recentGen !== mmu.gen) { this.recentLin.fill(NaN); this.recentGen = mmu.gen; }
    const slot = (rip >>> 12) & (RECENT - 1);
    let code = this.recentCode[slot];
    if (this.recentLin[slot] !== linPage) {
      code = this.codeFor(mmu.fetchPhys(rip) - off);
      this.recentLin[slot] = linPage; this.recentCode[slot] = code;
    }
    return code.blocks[off] ?? this.buildBlock(rip, code, off);
  }

  /**
   * Interprets up to `limit` instructions of a block. The retired count goes
   * up after each instruction, so a fault leaves it exact; a store into
   * decoded code ends the block early. Complete runs count towards compiling.
   */
  private execute(b: Block, rip: number, limit: number): void {
    const cpu = this.cpu;
    const epoch = this.epoch.value;
    const insns = b.insns, ends = b.ends;
    const n = Math.min(insns.length, limit);
    let start = 0;
    for (let k = 0; k < n; k++) {
      const insn = insns[k];
      cpu.ip = rip + start;
      cpu.rip = rip + ends[k];
      insn.exec(cpu, insn);
      cpu.icount++;
      if (this.epoch.value !== epoch) return;
      start = ends[k];
    }
    if (n === insns.length && ++b.runs === HOT_RUNS && this.jit) b.compiled = compileBlock(insns, ends, this.epoch, cpu.mode === Mode.Long64);
  }

  /** Forgets all decoded code (after memory was changed behind the MMU's back). */
  flushCode(): void {
    this.caches.clear();
    this.pages = new Map();
    this.cachedKey = -1;
    this.recentLin.fill(NaN);
    this.epoch.value++;
  }

  /** Decodes the instruction at a linear address without executing it (for traces). */
  decodeOnly(rip: number): Insn {
    const insn = new Insn();
    const mmu = this.cpu.mmu;
    this.decoder.decode((k) => mmu.phys.read8(mmu.fetchPhys(rip + k)), this.cpu.mode, insn);
    return insn;
  }

  private codeFor(physPage: number): PageCode {
    const key = this.cpu.mode | (this.cpu.decodeKey & ~0xff);
    if (key !== this.cachedKey) {
      let pages = this.caches.get(key);
      if (pages === undefined) { pages = new Map(); this.caches.set(key, pages); }
      this.pages = pages;
      this.cachedKey = key;
    }
    let code = this.pages.get(physPage);
    if (code === undefined) {
      code = new PageCode();
      this.pages.set(physPage, code);
      this.codePages.add(physPage);
    }
    return code;
  }

  /**
   * Decodes forward from `off` to the end of the basic block (or of the
   * page). Only the first instruction may fault here: a later one that
   * cannot be decoded ends the block, and faults when execution reaches it.
   */
  private buildBlock(rip: number, code: PageCode, off: number): Block {
    const b = new Block();
    let o = off;
    for (;;) {
      let insn = code.insns[o];
      if (insn === undefined) {
        try {
          insn = this.decodeAt(rip + (o - off), code, o);
        } catch (e) {
          if (b.insns.length === 0 || !(e instanceof CpuFault)) throw e;
          break;
        }
      }
      b.insns.push(insn);
      o += insn.len;
      b.ends.push(o - off);
      if (insn.row.end || o >= PAGE || b.insns.length >= MAX_BLOCK) break;
    }
    // A block ending in a page-crossing instruction is rebuilt each time (see decodeAt).
    if (o <= PAGE) code.blocks[off] = b;
    return b;
  }

  /**
   * Decodes one instruction. One that continues onto the next page is not
   * cached: its second page may be unmapped or remapped independently, so it
   * is fetched (and translated) afresh every time.
   */
  private decodeAt(rip: number, code: PageCode, off: number): Insn {
    const insn = this.decodeOnly(rip);
    // Under a gated FPU state the instruction raises its #NM or #UD instead of executing.
    const unit = insn.row.unit;
    if (unit !== undefined && this.cachedKey > 0xff) {
      const vector = fpuGate(unit, this.cachedKey);
      if (vector >= 0) {
        insn.fpuTrap = true;
        const why = `${insn.row.mn} with ${vector === Vector.NM ? 'CR0.TS or CR0.EM set' : 'CR0.EM set or CR4.OSFXSR clear'}`;
        insn.exec = () => { throw new CpuFault(vector, -1, 0, why); };
      }
    }
    if (off + insn.len <= PAGE) code.insns[off] = insn;
    return insn;
  }

  private invalidate(physPage: number): void {
    for (const pages of this.caches.values()) pages.delete(physPage);
    this.recentLin.fill(NaN);
    this.epoch.value++;
  }
}

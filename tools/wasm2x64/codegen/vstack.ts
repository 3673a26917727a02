/**
 * The value stack of the single-pass compiler, Liftoff-style: each operand
 * lives in a register, as a constant, as the flags of a comparison, or in
 * its fixed frame slot; locals live in their frame slots, written through on
 * every set, and may also be cached in a register until the next join point.
 * Registers are taken as they are needed and the oldest operand is spilled
 * when none is left.
 *
 * At a join point (a label that more than one path reaches) the state is
 * canonical: every operand in its slot, no local cached, so every path
 * agrees on it without a merge. A path only has to put its operands in
 * their slots before jumping there (local slots are always current); the
 * label itself forgets the caches.
 *
 * Within one instruction, registers are in one of three conditions besides
 * free: held by operands or a local cache, owned by the code being written
 * (popped operands, scratch), or pinned (a popped operand read in place).
 * `done()` ends the instruction: pins and scratch go, owned registers must
 * have been pushed or freed.
 */
import { ptr, r32, rw } from './context.js';

export type Entry =
  | { readonly k: 'reg'; readonly r: string }
  /** The value's 64-bit pattern: i32/f32 zero-extended, i64/f64 as signed. */
  | { readonly k: 'const'; readonly v: bigint }
  | { readonly k: 'slot' }
  /** The flags of a comparison; the value is 1 when `cc` holds. Only ever the top entry. */
  | { readonly k: 'cond'; readonly cc: string };

/** Locals a label expects cached, and in which registers. */
export type Expect = ReadonlyMap<number, string>;
export const NO_CACHES: Expect = new Map();

/** A popped entry and the depth it had, which names its slot. */
export type Popped = Entry & { readonly d: number };

export type RegClass = 'gp' | 'xmm';

/** Allocation order: registers no instruction needs by name come first. */
const GP = ['rbx', 'r12', 'r13', 'r14', 'r8', 'r9', 'r10', 'r11', 'rsi', 'rdi', 'rax', 'rdx', 'rcx'];
const XMM = Array.from({ length: 16 }, (_, i) => `xmm${i}`);

export const classOf = (r: string): RegClass => (r.startsWith('xmm') ? 'xmm' : 'gp');
const fits32 = (v: bigint): boolean => v >= -(2n ** 31n) && v < 2n ** 31n;
export const hex = (v: number | bigint): string => (BigInt(v) < 0n ? `-0x${(-BigInt(v)).toString(16)}` : `0x${BigInt(v).toString(16)}`);

const INVERSE: Record<string, string> = {
  e: 'ne', ne: 'e', l: 'ge', ge: 'l', g: 'le', le: 'g', b: 'ae', ae: 'b', a: 'be', be: 'a', p: 'np', np: 'p',
};
export const invert = (cc: string): string => INVERSE[cc];

interface State {
  entries: Entry[];
  uses: Map<string, number>;
  regLocal: Map<string, number>;
  localReg: (string | undefined)[];
  inBounds: number[];
}

export class ValueStack {
  private entries: Entry[] = [];
  private uses = new Map<string, number>();
  /** The local a register caches, and the register caching each local. */
  private regLocal = new Map<string, number>();
  private localReg: (string | undefined)[];
  /**
   * Per local: how far past its current value memory is known to reach (an
   * earlier bounds check of value + that many bytes passed). Memory never
   * shrinks, so the knowledge lasts until the local is set or paths join.
   */
  private inBounds: number[];
  private readonly owned = new Set<string>();
  /** Registers of popped operands, by how many such operands are in each; they stay intact until done(). */
  private readonly pinned = new Map<string, number>();
  private readonly scratch = new Set<string>();
  maxDepth = 0;

  constructor(
    private readonly e: (line: string) => void,
    /** rbp offset of the slot at a depth, and of a local. */
    private readonly slotOff: (d: number) => number,
    nlocals: number,
    private readonly where: () => string,
  ) {
    this.localReg = new Array(nlocals).fill(undefined);
    this.inBounds = new Array(nlocals).fill(0);
  }

  get depth(): number { return this.entries.length; }
  top(): Entry | undefined { return this.entries.at(-1); }
  peek(i: number): Entry { return this.entries[this.entries.length - 1 - i]; }
  isOwned(r: string): boolean { return this.owned.has(r); }

  slot(d: number, ptr = 'qword ptr'): string { return `${ptr} [rbp${hex(this.slotOff(d)).replace(/^0x/, '+0x')}]`; }

  private fail(msg: string): never { throw new Error(`${this.where()}: ${msg}`); }
  private use(r: string, n: number): void { this.uses.set(r, (this.uses.get(r) ?? 0) + n); }
  private busy(r: string): boolean { return this.owned.has(r) || this.pinned.has(r); }
  private pin(r: string): void { this.pinned.set(r, (this.pinned.get(r) ?? 0) + 1); }
  private unpin(r: string): void {
    const n = this.pinned.get(r) ?? 0;
    if (n <= 1) this.pinned.delete(r);
    else this.pinned.set(r, n - 1);
  }
  private held(r: string): boolean { return (this.uses.get(r) ?? 0) > 0; }

  push(en: Entry): void {
    if (en.k === 'reg') this.use(en.r, 1);
    this.entries.push(en);
    if (this.entries.length > this.maxDepth) this.maxDepth = this.entries.length;
  }
  /** Pushes a register the caller owns; the stack holds it from now on. */
  pushReg(r: string): void {
    if (!this.owned.delete(r)) this.fail(`pushing ${r}, which is not owned`);
    this.push({ k: 'reg', r });
  }
  pop(): Popped {
    const en = this.entries.pop();
    if (!en) this.fail('value stack underflow');
    if (en.k === 'reg') {
      this.use(en.r, -1);
      this.pin(en.r);
    }
    return { ...en, d: this.entries.length };
  }

  // ---- registers ----

  private dropCache(r: string): void {
    const j = this.regLocal.get(r);
    if (j === undefined) return;
    this.regLocal.delete(r);
    this.localReg[j] = undefined;
  }

  /** Writes every operand held in `r` to its slot. */
  private spillReg(r: string): void {
    this.entries.forEach((en, d) => {
      if (en.k === 'reg' && en.r === r) {
        this.storeSlot(d, en);
        this.entries[d] = { k: 'slot' };
      }
    });
    this.uses.set(r, 0);
  }

  /** A free register of the class, now owned; spills the oldest operand if there is none. */
  alloc(cls: RegClass): string {
    const order = cls === 'gp' ? GP : XMM;
    let r = order.find((x) => !this.busy(x) && !this.held(x) && !this.regLocal.has(x));
    if (!r) {
      r = order.find((x) => !this.busy(x) && !this.held(x));
      if (r) this.dropCache(r);
    }
    if (!r) {
      const victim = this.entries.find((en) => en.k === 'reg' && classOf(en.r) === cls && !this.busy(en.r));
      if (!victim || victim.k !== 'reg') this.fail(`no ${cls} register left`);
      r = victim.r;
      this.spillReg(r);
      this.dropCache(r);
    }
    this.owned.add(r);
    return r;
  }

  /** Makes `r` owned, moving whatever operands it holds to another register (or their slots). */
  claim(r: string): string {
    if (this.busy(r)) this.fail(`${r} is already taken by this instruction`);
    if (this.held(r)) {
      this.owned.add(r); // keeps alloc away from it
      const to = this.tryAlloc(classOf(r));
      this.owned.delete(r);
      if (to) {
        this.move(to, r);
        this.entries = this.entries.map((en) => (en.k === 'reg' && en.r === r ? { k: 'reg', r: to } : en));
        this.uses.set(to, this.uses.get(r)!);
        this.uses.set(r, 0);
        this.owned.delete(to);
        const j = this.regLocal.get(r);
        if (j !== undefined) { this.regLocal.delete(r); this.regLocal.set(to, j); this.localReg[j] = to; }
      } else this.spillReg(r);
    }
    this.dropCache(r);
    this.owned.add(r);
    return r;
  }

  private tryAlloc(cls: RegClass): string | null {
    const order = cls === 'gp' ? GP : XMM;
    const r = order.find((x) => !this.busy(x) && !this.held(x) && !this.regLocal.has(x));
    if (!r) return null;
    this.owned.add(r);
    return r;
  }

  free(r: string): void { this.owned.delete(r); }

  /** A register of the class, owned for this instruction only. */
  temp(cls: RegClass = 'gp', want?: string): string {
    const r = want ? this.claim(want) : this.alloc(cls);
    this.scratch.add(r);
    return r;
  }

  /** Lets scratch and pinned registers go before the instruction ends (a call clobbers them all). */
  releaseScratch(): void {
    for (const r of this.scratch) this.owned.delete(r);
    this.scratch.clear();
    this.pinned.clear();
  }

  /** Ends an instruction. */
  done(): void {
    this.releaseScratch();
    if (this.owned.size) this.fail(`${[...this.owned].join(', ')} still owned after an instruction`);
  }

  private move(to: string, from: string): void {
    if (to === from) return;
    const a = classOf(to), b = classOf(from);
    this.e(a === 'gp' && b === 'gp' ? `mov ${to}, ${from}` : a === 'xmm' && b === 'xmm' ? `movaps ${to}, ${from}` : `movq ${to}, ${from}`);
  }

  /** Emits the code that puts a popped value into register `r` (owned by the caller); its own register is let go. */
  loadInto(p: Popped, r: string): void {
    const cls = classOf(r);
    switch (p.k) {
      case 'reg': this.move(r, p.r); this.unpin(p.r); break;
      case 'slot': this.e(cls === 'gp' ? `mov ${r}, ${this.slot(p.d)}` : `movq ${r}, ${this.slot(p.d)}`); break;
      case 'const':
        if (cls === 'gp') this.e(p.v >= 0n && p.v < 2n ** 32n ? `mov ${r32(r)}, ${hex(p.v)}` : `mov ${r}, ${hex(p.v)}`);
        else if (p.v === 0n) this.e(`xorps ${r}, ${r}`);
        else {
          const t = this.alloc('gp');
          this.e(`mov ${t}, ${hex(p.v)}`);
          this.e(`movq ${r}, ${t}`);
          this.owned.delete(t);
        }
        break;
      case 'cond':
        if (cls === 'gp') {
          this.e(`set${p.cc} ${rw(r, 8)}`);
          this.e(`movzx ${r32(r)}, ${rw(r, 8)}`);
        } else {
          const t = this.alloc('gp');
          this.e(`set${p.cc} ${rw(t, 8)}`);
          this.e(`movzx ${r32(t)}, ${rw(t, 8)}`);
          this.e(`movq ${r}, ${t}`);
          this.owned.delete(t);
        }
        break;
    }
  }

  /** A register of the class holding the popped value, owned by the caller, who may clobber it. */
  take(p: Popped, cls: RegClass, want?: string): string {
    if (p.k === 'reg' && classOf(p.r) === cls && !this.held(p.r) && !this.owned.has(p.r) && this.pinned.get(p.r) === 1 && (!want || want === p.r)) {
      this.pinned.delete(p.r);
      this.dropCache(p.r);
      this.owned.add(p.r);
      return p.r;
    }
    if (p.k === 'reg' && p.r === want) {
      // Shared: the other holders move away and the value stays.
      this.unpin(want);
      this.claim(want);
      return want;
    }
    const r = want ? this.claim(want) : this.alloc(cls);
    this.loadInto(p, r);
    return r;
  }

  /** A register holding the popped value for reading during this instruction. */
  read(p: Popped, cls: RegClass = 'gp'): string {
    if (p.k === 'reg' && classOf(p.r) === cls) return p.r;
    const r = this.temp(cls);
    this.loadInto(p, r);
    return r;
  }

  /** The popped integer as an instruction operand of `bits` width: a register, its slot, or an immediate. */
  operand(p: Popped, bits: 8 | 16 | 32 | 64, allowImm = true): string {
    if (p.k === 'const' && allowImm) {
      if (bits < 64) return hex(p.v & ((1n << BigInt(bits)) - 1n));
      if (fits32(p.v)) return hex(p.v);
    }
    if (p.k === 'slot') return this.slot(p.d, ptr(bits / 8));
    return rw(this.read(p), bits);
  }

  // ---- slots and locals ----

  private storeSlot(d: number, en: Entry): void { this.storeTo(this.slotOff(d), en); }

  /** Writes a value to the 8-byte frame cell at rbp+off; flags survive. */
  storeTo(off: number, en: Entry): void {
    const cell = (ptr: string, o = 0): string => `${ptr} [rbp${hex(off + o).replace(/^0x/, '+0x')}]`;
    switch (en.k) {
      case 'reg': this.e(classOf(en.r) === 'gp' ? `mov ${cell('qword ptr')}, ${en.r}` : `movq ${cell('qword ptr')}, ${en.r}`); break;
      case 'const':
        if (fits32(en.v)) this.e(`mov ${cell('qword ptr')}, ${hex(en.v)}`);
        else {
          const u = BigInt.asUintN(64, en.v);
          this.e(`mov ${cell('dword ptr')}, ${hex(u & 0xffffffffn)}`);
          this.e(`mov ${cell('dword ptr', 4)}, ${hex(u >> 32n)}`);
        }
        break;
      case 'cond':
        this.e(`mov ${cell('qword ptr')}, 0`);
        this.e(`set${en.cc} ${cell('byte ptr')}`);
        break;
      case 'slot': this.fail('storing a slot entry');
    }
  }

  /** Whether `r` caches a local (so clobbering it would cost a reload). */
  caches(r: string): boolean { return this.regLocal.has(r); }

  /** The register caching local `j`, if any. */
  cached(j: number): string | undefined { return this.localReg[j]; }

  /** Records that `r` (held by the stack, not owned) now also caches local `j`. */
  cache(j: number, r: string): void {
    const old = this.localReg[j];
    if (old !== undefined) this.regLocal.delete(old);
    this.localReg[j] = undefined;
    if (this.regLocal.has(r)) return; // one local per register; the other keeps it
    this.regLocal.set(r, j);
    this.localReg[j] = r;
  }

  /** How many bytes past the value in `r` are known to be inside memory (0: nothing known). */
  boundsOf(r: string): number {
    const j = this.regLocal.get(r);
    return j === undefined ? 0 : this.inBounds[j];
  }

  /** Records that memory reaches `end` bytes past the value in `r`, if `r` caches a local. */
  noteBounds(r: string, end: number): void {
    const j = this.regLocal.get(r);
    if (j !== undefined) this.inBounds[j] = Math.max(this.inBounds[j], end);
  }

  /** Local `j` gets a new value. */
  assigned(j: number): void { this.inBounds[j] = 0; }

  /** Forgets the cached copy of local `j` (its slot is being written). */
  forget(j: number): void {
    const r = this.localReg[j];
    if (r !== undefined) { this.regLocal.delete(r); this.localReg[j] = undefined; }
  }

  /** Puts the top entry into a register if it is not in one; returns it (held by the stack). */
  topToReg(cls: RegClass): string {
    const t = this.top();
    if (t && t.k === 'reg') return t.r;
    const p = this.pop();
    const r = this.take(p, cls);
    this.pushReg(r);
    return r;
  }

  /** Materializes a comparison on top of the stack into a register. */
  settle(): void {
    if (this.top()?.k === 'cond') this.topToReg('gp');
  }

  // ---- join points ----

  /** Writes every operand to its slot; local caches stay (their slots are current). */
  spillStack(from = 0, to = this.entries.length): void {
    for (let d = from; d < to; d++) {
      const en = this.entries[d];
      if (en.k === 'slot') continue;
      if (en.k === 'reg') this.use(en.r, -1);
      this.storeSlot(d, en);
      this.entries[d] = { k: 'slot' };
    }
  }

  /** Forgets every register: a call, a runtime routine or a join point may change them all. */
  forgetAll(): void {
    this.regLocal.clear();
    this.localReg.fill(undefined);
    for (const r of this.uses.keys()) if (!this.held(r)) this.uses.delete(r);
  }

  /** The state at a label reached by branches: `depth` operands, all in slots, and the caches the label expects. */
  atLabel(depth: number, expect: Expect): void {
    this.entries = Array.from({ length: depth }, () => ({ k: 'slot' }) as Entry);
    this.uses.clear();
    this.forgetAll();
    for (const [j, r] of expect) { this.regLocal.set(r, j); this.localReg[j] = r; }
    this.inBounds.fill(0);
    if (depth > this.maxDepth) this.maxDepth = depth;
  }

  /** Forgets the operands above `depth`: a jump leaves them behind. */
  truncate(depth: number): void {
    while (this.entries.length > depth) {
      const en = this.entries.pop()!;
      if (en.k === 'reg') this.use(en.r, -1);
    }
  }

  /** The local caches now. */
  cachesNow(): Map<number, string> {
    return new Map([...this.regLocal].map(([r, j]) => [j, r]));
  }

  /**
   * Before a jump to (or a fall into) a label: makes every cache it expects
   * hold, by `load(j, r)` where local j is not already cached in r. Operands
   * must be in their slots, so the registers hold nothing else.
   */
  establish(expect: Expect, load: (j: number, r: string) => void): void {
    const pending = [...expect].filter(([j, r]) => this.localReg[j] !== r);
    for (const [, r] of pending) if (this.held(r)) this.fail(`${r} still holds an operand at a jump`);
    const put = (j: number, r: string): void => {
      this.dropCache(r);
      this.forget(j);
      this.regLocal.set(r, j);
      this.localReg[j] = r;
    };
    // Register moves first, each once its target is no other move's source; what is left comes from the slots.
    let moves = pending.filter(([j]) => this.localReg[j] !== undefined);
    for (let progress = true; progress;) {
      progress = false;
      for (const [j, r] of moves) {
        if (moves.some(([k]) => k !== j && this.localReg[k] === r)) continue;
        this.move(r, this.localReg[j]!);
        put(j, r);
        moves = moves.filter(([k]) => k !== j);
        progress = true;
        break;
      }
    }
    for (const [j, r] of pending) {
      if (this.localReg[j] === r) continue;
      load(j, r);
      put(j, r);
    }
  }

  snapshot(): State {
    return { entries: [...this.entries], uses: new Map(this.uses), regLocal: new Map(this.regLocal), localReg: [...this.localReg], inBounds: [...this.inBounds] };
  }

  restore(s: State): void {
    this.entries = [...s.entries];
    this.uses = new Map(s.uses);
    this.regLocal = new Map(s.regLocal);
    this.localReg = [...s.localReg];
    this.inBounds = [...s.inBounds];
  }
}

/**
 * Paging as the MMU implements it (SDM Vol.3A §4.5-§4.10): walks through
 * hand-built tables, A/D bits, #PF error codes and CR2, and a TLB that keeps
 * using a stale translation until it is invalidated. Also the decode cache's
 * view of code that changes under it.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { Sandbox } from '../../emu/cpu/sandbox.js';
import { R } from '../../emu/cpu/regs.js';
import { Access, Pte } from '../../emu/cpu/mmu.js';
import { CpuFault } from '../../emu/cpu/fault.js';

const PML4 = 0x10000, PDPT = 0x11000, PD = 0x12000, PT = 0x13000;
const CODE = 0x400000, DATA = 0x401000, RO = 0x402000, ABSENT = 0x403000, NX = 0x404000;
const LARGE = 0x40000000; // 1 GiB: PDPT entry 1 → PD2 with a 2 MiB page
const PD2 = 0x14000;
const U = Pte.P | Pte.US;

let s: Sandbox;

function pte(at: number): number { return s.phys.view.getUint32(at, true); }
function setPte(at: number, lo: number, hi = 0): void { s.phys.view.setUint32(at, lo >>> 0, true); s.phys.view.setUint32(at + 4, hi >>> 0, true); }
const ptSlot = (lin: number): number => PT + ((lin >>> 12) & 511) * 8;

beforeEach(() => {
  s = new Sandbox(4 << 20);
  setPte(PML4, PDPT | U | Pte.RW);
  setPte(PDPT, PD | U | Pte.RW);
  setPte(PDPT + 8, PD2 | U | Pte.RW);
  setPte(PD + 2 * 8, PT | U | Pte.RW); // 0x400000 is PD index 2
  setPte(ptSlot(CODE), 0x20000 | U);
  setPte(ptSlot(DATA), 0x21000 | U | Pte.RW);
  setPte(ptSlot(RO), 0x22000 | U);
  setPte(ptSlot(NX), 0x24000 | U, 1 << 31);
  setPte(PD2, 0x200000 | U | Pte.RW | Pte.PS); // 2 MiB at 0x40000000 → phys 0x200000
  const mmu = s.cpu.mmu;
  mmu.cr3 = PML4; mmu.paging = true; mmu.nxe = true; mmu.cpl = 3;
  mmu.flushAll();
});

function faultOf(fn: () => void): CpuFault {
  try { fn(); } catch (e) { if (e instanceof CpuFault) return e; throw e; }
  throw new Error('no fault');
}

describe('page walk', () => {
  it('a load reads the mapped frame and sets A in every level', () => {
    s.phys.view.setUint32(0x21010, 0xdeadbeef, true);
    expect(s.cpu.mmu.read32(DATA + 0x10) >>> 0).toBe(0xdeadbeef);
    for (const at of [PML4, PDPT, PD + 16, ptSlot(DATA)]) expect(pte(at) & Pte.A).toBe(Pte.A);
    expect(pte(ptSlot(DATA)) & Pte.D).toBe(0);
  });

  it('a store sets D in the PTE', () => {
    s.cpu.mmu.write32(DATA + 4, 7);
    expect(pte(ptSlot(DATA)) & (Pte.A | Pte.D)).toBe(Pte.A | Pte.D);
    expect(s.phys.view.getUint32(0x21004, true)).toBe(7);
  });

  it('a 2 MiB page maps the offset within it', () => {
    s.phys.view.setUint32(0x200000 + 0x12345, 0x55aa, true);
    expect(s.cpu.mmu.read32(LARGE + 0x12345)).toBe(0x55aa);
  });
});

describe('#PF error codes and CR2 (SDM Vol.3A §4.7)', () => {
  it('a user read of a not-present page: U only', () => {
    const f = faultOf(() => s.cpu.mmu.read8(ABSENT + 5));
    expect([f.vector, f.errorCode, f.address]).toEqual([14, 4, ABSENT + 5]);
  });

  it('a user write to a read-only page: P|W|U', () => {
    const f = faultOf(() => s.cpu.mmu.write8(RO, 1));
    expect([f.vector, f.errorCode, f.address]).toEqual([14, 7, RO]);
  });

  it('a fetch from an XD page: P|U|I', () => {
    const f = faultOf(() => s.cpu.mmu.translate(NX, Access.Exec));
    expect([f.vector, f.errorCode]).toEqual([14, 0x15]);
  });

  it('what if a supervisor write hits a read-only page with CR0.WP clear: it succeeds', () => {
    s.cpu.mmu.cpl = 0;
    s.cpu.mmu.wp = false;
    s.cpu.mmu.write8(RO, 9);
    expect(s.phys.bytes[0x22000]).toBe(9);
  });

  it('a non-canonical address is #GP(0), not a walk', () => {
    const f = faultOf(() => s.cpu.mmu.read8(2 ** 47));
    expect([f.vector, f.errorCode]).toEqual([13, 0]);
  });

  it('a store that straddles into a read-only page writes neither page', () => {
    s.phys.bytes.fill(0xee, 0x21ffc, 0x22000);
    faultOf(() => s.cpu.mmu.write64(DATA + 0xffc, 0x11111111, 0x22222222));
    expect(s.phys.view.getUint32(0x21ffc, true)).toBe(0xeeeeeeee);
  });
});

describe('the TLB really caches', () => {
  it('a changed PTE is not seen until INVLPG', () => {
    s.phys.view.setUint32(0x21000, 1, true);
    s.phys.view.setUint32(0x23000, 2, true);
    expect(s.cpu.mmu.read32(DATA)).toBe(1);
    setPte(ptSlot(DATA), 0x23000 | U | Pte.RW);
    expect(s.cpu.mmu.read32(DATA)).toBe(1);
    s.cpu.mmu.invlpg(DATA);
    expect(s.cpu.mmu.read32(DATA)).toBe(2);
  });

  it('a PTE made not-present still translates until flushed', () => {
    s.cpu.mmu.read8(DATA);
    setPte(ptSlot(DATA), 0);
    expect(() => s.cpu.mmu.read8(DATA)).not.toThrow();
    s.cpu.mmu.flushNonGlobal();
    expect(faultOf(() => s.cpu.mmu.read8(DATA)).vector).toBe(14);
  });

  it('global entries survive a CR3 reload but not a full flush', () => {
    setPte(ptSlot(DATA), 0x21000 | U | Pte.RW | Pte.G);
    s.cpu.mmu.read8(DATA);
    setPte(ptSlot(DATA), 0);
    s.cpu.mmu.flushNonGlobal();
    expect(() => s.cpu.mmu.read8(DATA)).not.toThrow();
    s.cpu.mmu.flushAll();
    expect(faultOf(() => s.cpu.mmu.read8(DATA)).vector).toBe(14);
  });

  it('INVLPG anywhere in a 2 MiB page drops all of its cached slices', () => {
    s.cpu.mmu.read8(LARGE);
    s.cpu.mmu.read8(LARGE + 0x100000);
    setPte(PD2, 0);
    s.cpu.mmu.invlpg(LARGE);
    expect(faultOf(() => s.cpu.mmu.read8(LARGE + 0x100000)).vector).toBe(14);
  });
});

describe('the decode cache follows the code', () => {
  it('a store into the next instruction of the same block takes effect', () => {
    const f = new Sandbox();
    // mov byte [rip+1], 0x2a   ; patches the imm32 of the next instruction
    // mov eax, 0               ; executes as mov eax, 42
    f.load(0x1000, [0xc6, 0x05, 0x01, 0x00, 0x00, 0x00, 0x2a, 0xb8, 0x00, 0x00, 0x00, 0x00]);
    f.step(2);
    expect(f.faults).toEqual([]);
    expect(f.getReg(R.AX)).toBe(42n);
  });

  it('code rewritten after it ran is decoded again', () => {
    const f = new Sandbox();
    f.load(0x1000, [0xb8, 0x01, 0x00, 0x00, 0x00, 0xeb, 0xf9]); // mov eax, 1; jmp 0x1000
    f.step(2);
    expect(f.getReg(R.AX)).toBe(1n);
    f.cpu.mmu.write8(0x1001, 5);
    f.step(1);
    expect(f.getReg(R.AX)).toBe(5n);
  });

  it('what if a later instruction of a block cannot be decoded: the earlier ones run, and RIP stops at it', () => {
    const f = new Sandbox();
    f.load(0x1000, [0x90, 0x0f, 0x04]); // nop; (undefined 0f 04)
    f.step(5);
    expect(f.faults.map((x) => x.vector)).toEqual([6]);
    expect(f.cpu.rip).toBe(0x1001);
    expect(f.cpu.icount).toBe(1);
  });
});

describe('single-step', () => {
  it('popf setting TF traps with #DB after the next instruction, RIP past it', () => {
    const f = new Sandbox();
    // pushf; or qword [rsp], 0x100; popf; nop; nop
    f.load(0x1000, [0x9c, 0x48, 0x81, 0x0c, 0x24, 0x00, 0x01, 0x00, 0x00, 0x9d, 0x90, 0x90]);
    f.setReg(R.SP, 0x8000n);
    f.step(10);
    expect(f.faults.map((x) => [x.vector, x.trap])).toEqual([[1, true]]);
    expect(f.cpu.rip).toBe(0x100b);
    expect(f.cpu.icount).toBe(4);
  });
});

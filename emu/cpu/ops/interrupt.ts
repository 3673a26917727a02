/**
 * Software interrupts and the fast system-call pair: int3, int n, into,
 * int1, iret, syscall, sysret (SDM Vol.2A INT n, IRET; Vol.2B SYSCALL,
 * SYSRET). Delivery itself is interrupt.ts; these raise or undo it.
 */
import type { Cpu } from '../cpu.js';
import type { Insn } from '../insn.js';
import type { OpDef } from '../table.js';
import { CpuFault, Vector } from '../fault.js';
import { F } from '../flags.js';
import { R, Seg } from '../regs.js';
import { iret } from '../interrupt.js';
import { Attr, Efer, setSegment, updateMode } from '../system.js';
import { CANONICAL_LIMIT } from '../mmu.js';

const TWO32 = 4294967296;

/** int3 and int n are traps (the saved RIP is the next instruction's) checked against the gate's DPL. */
function int3(): void { throw new CpuFault(Vector.BP, -1, 0, 'int3', true, true); }
function intN(cpu: Cpu, i: Insn): void { throw new CpuFault(i.imm & 0xff, -1, 0, `int 0x${(i.imm & 0xff).toString(16)}`, true, true); }
function into(cpu: Cpu): void { if (cpu.of()) throw new CpuFault(Vector.OF, -1, 0, 'into', true, true); }
/** int1 (icebp) is a #DB trap that, unlike int n, ignores the gate's DPL. */
function int1(): void { throw new CpuFault(Vector.DB, -1, 0, 'int1', true); }

function doIret(cpu: Cpu, i: Insn): void { iret(cpu, i.osz); }

/** bound: #BR (a fault) unless lower <= index <= upper, all signed, the bounds a pair in memory. */
function bound(cpu: Cpu, i: Insn): void {
  const a = cpu.ea(i), size = i.osz;
  const sext = (v: number): number => size === 2 ? (v << 16) >> 16 : v | 0;
  const lower = sext(cpu.readMem(size, a)), upper = sext(cpu.readMem(size, a + size));
  const index = sext(cpu.readG(i, size));
  if (index < lower || index > upper) throw new CpuFault(Vector.BR, -1, 0, `bound: ${index} outside [${lower}, ${upper}]`);
}

const FLAT = Attr.P | Attr.S | Attr.A;

/**
 * The architectural SYSCALL: RCX and R11 keep RIP and RFLAGS, CS and SS come
 * from STAR[47:32] as flat ring-0 segments, RFLAGS is masked by FMASK and
 * execution continues at LSTAR. The user-mode runner replaces this with its
 * Linux personality (CpuHost.syscall).
 */
export function syscallArch(cpu: Cpu): void {
  if (!(cpu.efer & Efer.SCE)) throw new CpuFault(Vector.UD, -1, 0, 'syscall with EFER.SCE clear');
  const rip = cpu.rip;
  cpu.set64(R.CX, rip | 0, Math.floor(rip / TWO32) | 0);
  const flags = cpu.getFlags();
  cpu.set64(R.R11, flags & ~F.RF, 0);
  const sel = (cpu.starHi & 0xffff) & 0xfffc;
  setSegment(cpu, Seg.CS, sel, 0, 0xffffffff, FLAT | Attr.CODE | Attr.RW | Attr.L | Attr.G);
  setSegment(cpu, Seg.SS, sel + 8, 0, 0xffffffff, FLAT | Attr.RW | Attr.DB | Attr.G);
  cpu.mmu.cpl = 0;
  updateMode(cpu);
  cpu.setFlags(flags & ~cpu.fmask & ~F.RF);
  cpu.rip = cpu.lstar;
}

/**
 * SYSRET back to ring 3: to 64-bit code with REX.W (CS = STAR[63:48] + 16),
 * else to compatibility mode (CS = STAR[63:48]); SS = STAR[63:48] + 8.
 * A non-canonical RCX is #GP(0) in ring 0, as on Intel CPUs.
 */
function sysret(cpu: Cpu, i: Insn): void {
  if (!(cpu.efer & Efer.SCE)) throw new CpuFault(Vector.UD, -1, 0, 'sysret with EFER.SCE clear');
  if (cpu.mmu.cpl !== 0) throw new CpuFault(Vector.GP, 0, 0, 'sysret outside ring 0');
  const to64 = i.osz === 8;
  const target = to64 ? cpu.regNum(R.CX) : cpu.get64lo(R.CX) >>> 0;
  if (target < -CANONICAL_LIMIT || target >= CANONICAL_LIMIT) throw new CpuFault(Vector.GP, 0, 0, 'sysret to a non-canonical RCX');
  const base = (cpu.starHi >>> 16) & 0xffff;
  const dpl3 = 3 << Attr.DPL_SHIFT;
  setSegment(cpu, Seg.CS, ((to64 ? base + 16 : base) & 0xfffc) | 3, 0, 0xffffffff,
    FLAT | dpl3 | Attr.CODE | Attr.RW | Attr.G | (to64 ? Attr.L : Attr.DB));
  setSegment(cpu, Seg.SS, ((base + 8) & 0xfffc) | 3, 0, 0xffffffff, FLAT | dpl3 | Attr.RW | Attr.DB | Attr.G);
  cpu.setFlags((cpu.get64lo(R.R11) & 0x3c7fd7) | F.FIXED1);
  cpu.mmu.cpl = 3;
  updateMode(cpu);
  cpu.rip = target;
  cpu.attention = true;
}

export const rows: OpDef[] = [
  { mn: 'int3', code: 0xcc, exec: int3, end: true },
  { mn: 'int', code: 0xcd, ops: 'Ib', exec: intN, end: true },
  { mn: 'into', code: 0xce, exec: into, mode: 'i64', end: true },
  { mn: 'int1', code: 0xf1, exec: int1, end: true },
  { mn: 'iretw|iret|iretq', code: 0xcf, exec: doIret, end: true },
  { mn: 'bound', code: 0x62, mod: 'mem', ops: 'Gv,Ma', mode: 'i64', exec: bound },
  { mn: 'sysretd|sysretd|sysretq', code: 0x0f07, exec: sysret, mode: 'o64', end: true },
];

/**
 * The x87 register stack and status plumbing shared by the x87 families
 * (SDM Vol.1 §8.1). ST(i) is physical register (TOP + i) mod 8; each
 * physical register has a 2-bit tag in cpu.ftw, kept exact on every write.
 *
 * FSW (Vol.1 Figure 8-4):
 *   15  14  13..11  10  9   8   7   6   5   4   3   2   1   0
 *  ┌──┬──┬───────┬──┬──┬──┬──┬──┬──┬──┬──┬──┬──┬──┐
 *  │B │C3│  TOP  │C2│C1│C0│ES│SF│PE│UE│OE│ZE│DE│IE│
 *  └──┴──┴───────┴──┴──┴──┴──┴──┴──┴──┴──┴──┴──┴──┘
 *
 * Every non-control instruction runs begin() → work → finish(). begin()
 * raises a pending unmasked exception as #MF (CR0.NE=1 style, Vol.1 §8.7)
 * and records FIP/FDP/FOP; finish() ORs the sticky flags into FSW, sets
 * C1 (round-up or stack-overflow indication, else 0) and ES/B.
 */
import type { Cpu } from '../cpu.js';
import type { Insn } from '../insn.js';
import { CpuFault, Vector } from '../fault.js';
import { type F80, type FpEnv, Exc, INDEFINITE, classify, Cls } from '../softfloat80.js';

export const enum Sw {
  ES = 1 << 7,   // exception summary
  C0 = 1 << 8,
  C1 = 1 << 9,
  C2 = 1 << 10,
  TOP = 7 << 11,
  C3 = 1 << 14,
  B = 1 << 15,   // busy: mirrors ES
  CC = C0 | C1 | C2 | C3,
}

export const enum Tag { Valid = 0, Zero = 1, Special = 2, Empty = 3 }

export function top(cpu: Cpu): number { return (cpu.fsw >> 11) & 7; }
export function setTop(cpu: Cpu, t: number): void { cpu.fsw = (cpu.fsw & ~Sw.TOP) | ((t & 7) << 11); }
export function phys(cpu: Cpu, i: number): number { return (top(cpu) + i) & 7; }

export function tagOf(v: F80): Tag {
  switch (classify(v)) {
    case Cls.Normal: return Tag.Valid;
    case Cls.Zero: return Tag.Zero;
    default: return Tag.Special;
  }
}

export function physTag(cpu: Cpu, p: number): Tag { return (cpu.ftw >> (2 * p)) & 3; }
export function setPhysTag(cpu: Cpu, p: number, t: Tag): void { cpu.ftw = (cpu.ftw & ~(3 << (2 * p))) | (t << (2 * p)); }
export function isEmpty(cpu: Cpu, i: number): boolean { return physTag(cpu, phys(cpu, i)) === Tag.Empty; }

export function readPhys(cpu: Cpu, p: number): F80 {
  const r = cpu.fpr, k = p * 3;
  return { sign: (r[k + 2] >> 15) & 1, exp: r[k + 2] & 0x7fff, sig: (BigInt(r[k + 1] >>> 0) << 32n) | BigInt(r[k] >>> 0) };
}

export function writePhys(cpu: Cpu, p: number, v: F80): void {
  const r = cpu.fpr, k = p * 3;
  r[k] = Number(v.sig & 0xffffffffn) | 0;
  r[k + 1] = Number(v.sig >> 32n) | 0;
  r[k + 2] = (v.sign << 15) | v.exp;
  setPhysTag(cpu, p, tagOf(v));
}

export function getST(cpu: Cpu, i: number): F80 { return readPhys(cpu, phys(cpu, i)); }
export function setST(cpu: Cpu, i: number, v: F80): void { writePhys(cpu, phys(cpu, i), v); }

/** Pushes v; the caller has checked that ST(7) is empty (see pushOverflows). */
export function push(cpu: Cpu, v: F80): void {
  setTop(cpu, top(cpu) - 1);
  setST(cpu, 0, v);
}

export function pop(cpu: Cpu): void {
  setPhysTag(cpu, top(cpu), Tag.Empty);
  setTop(cpu, top(cpu) + 1);
}

// ---- instruction frame ---------------------------------------------------------

/** Raises #MF if an unmasked exception is pending (what a waiting instruction does). */
export function checkPending(cpu: Cpu): void {
  if (cpu.fsw & Sw.ES) throw new CpuFault(Vector.MF, -1, 0, `x87 exception pending (fsw ${cpu.fsw.toString(16)})`);
}

/**
 * Starts a non-control x87 instruction. For a memory form the operand's
 * linear address is left in cpu.fdp, which is where the handler reads it.
 */
export function begin(cpu: Cpu, i: Insn): FpEnv {
  checkPending(cpu);
  cpu.fip = cpu.ip;
  cpu.fop = ((i.row.opcode & 7) << 8) | (i.mod << 6) | ((i.reg & 7) << 3) | (i.rm & 7);
  if (i.isMem) cpu.fdp = cpu.ea(i);
  return { cw: cpu.fcw, exc: 0 };
}

/** Merges env's flags into FSW: sticky exceptions, C1 as reported, ES and B. */
export function finish(cpu: Cpu, env: FpEnv): void {
  const f = (cpu.fsw & ~Sw.C1) | (env.exc & (Exc.ALL | Exc.SF | Exc.C1));
  cpu.fsw = updateSummary(f, cpu.fcw);
}

/** ES and B follow the unmasked, set exception flags. */
export function updateSummary(fsw: number, fcw: number): number {
  return (fsw & ~fcw & Exc.ALL) !== 0 ? fsw | Sw.ES | Sw.B : fsw & ~(Sw.ES | Sw.B);
}

/**
 * Stack underflow (an empty source register): IE and SF with C1 = 0.
 * Returns true when masked, i.e. the destination receives the indefinite.
 */
export function underflow(env: FpEnv): boolean {
  env.exc = (env.exc & ~Exc.C1) | Exc.IE | Exc.SF;
  return (env.cw & Exc.IE) !== 0;
}

/** Stack overflow on a push (ST(7) in use): IE, SF and C1 = 1; true when masked. */
export function overflow(env: FpEnv): boolean {
  env.exc |= Exc.IE | Exc.SF | Exc.C1;
  return (env.cw & Exc.IE) !== 0;
}

/**
 * Pushes the value `make` produces, with the stack-overflow check first.
 * `make` returning null (an unmasked exception) pushes nothing.
 */
export function pushChecked(cpu: Cpu, env: FpEnv, make: () => F80 | null): void {
  if (!isEmpty(cpu, 7)) {
    if (overflow(env)) push(cpu, INDEFINITE);
    return;
  }
  const v = make();
  if (v !== null) push(cpu, v);
}

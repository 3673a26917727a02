/**
 * Shared scaffolding for the integer-family tests (shift, muldiv, bits,
 * atomic): hand encoding of ModRM forms, a runner that executes one case in
 * a reused sandbox from a clean register file, and BigInt helpers for the
 * reference models.
 */
import { Sandbox } from '../../emu/cpu/sandbox.js';
import { F } from '../../emu/cpu/flags.js';
import type { CpuFault } from '../../emu/cpu/fault.js';

export const CODE = 0x1000;
export const DATA = 0x8000;
export const ARITH = F.ARITH;

export function modrm(mod: number, reg: number, rm: number): number {
  return (mod << 6) | ((reg & 7) << 3) | (rm & 7);
}

/**
 * Prefixes for an instruction on a register r/m `rm` and ModRM.reg `reg` at
 * width w (8 16 32 64): 66 for words, REX.W for quadwords, REX.R/B for
 * r8..r15, and a bare REX for spl..dil. Byte registers are given as REX
 * codes 0..15 (no AH..BH).
 */
export function prefixes(w: number, rm: number, reg = 0): number[] {
  const out: number[] = [];
  if (w === 16) out.push(0x66);
  let rex = (w === 64 ? 8 : 0) | (rm >= 8 ? 1 : 0) | (reg >= 8 ? 4 : 0);
  if (w === 8 && (rm >= 4 || reg >= 4)) rex |= 0x40;
  if (rex !== 0) out.push(0x40 | rex);
  return out;
}

export function maskOf(w: number): bigint { return (1n << BigInt(w)) - 1n; }
export function sext(v: bigint, w: number): bigint { return BigInt.asIntN(w, v); }
export function bit(v: bigint, k: number): bigint { return (v >> BigInt(k)) & 1n; }

/** PF for a result: set when its low byte has an even number of 1 bits. */
export function parity(v: bigint): number {
  let x = Number(v & 0xffn), n = 0;
  while (x) { n += x & 1; x >>= 1; }
  return n % 2 === 0 ? F.PF : 0;
}

/** SF ZF PF of a w-bit result. */
export function szp(v: bigint, w: number): number {
  return parity(v) | (v === 0n ? F.ZF : 0) | (bit(v, w - 1) ? F.SF : 0);
}

export interface Setup {
  regs?: Record<number, bigint>;
  /** Initial arithmetic flags (the fixed bit 1 is added). */
  flags?: number;
  /** Little-endian stores done before running: [address, byte count, value]. */
  mem?: [number, number, bigint][];
}

export interface Result {
  s: Sandbox;
  reg(r: number): bigint;
  /** The arithmetic flags after the run. */
  flags: number;
  fault: CpuFault | undefined;
  mem(addr: number, bytes: number): bigint;
}

function wrap(s: Sandbox): Result {
  return {
    s,
    reg: (r) => s.getReg(r),
    flags: s.cpu.getFlags() & ARITH,
    fault: s.faults[0],
    mem: (addr, bytes) => {
      let v = 0n;
      for (let k = bytes - 1; k >= 0; k--) v = (v << 8n) | BigInt(s.phys.bytes[addr + k]);
      return v;
    },
  };
}

function prepare(s: Sandbox, setup: Setup): void {
  for (let r = 0; r < 16; r++) s.cpu.set64(r, 0, 0);
  for (const [r, v] of Object.entries(setup.regs ?? {})) s.setReg(Number(r), v);
  s.cpu.setFlags(setup.flags ?? 0);
  for (const [addr, bytes, v] of setup.mem ?? []) {
    for (let k = 0; k < bytes; k++) s.phys.bytes[addr + k] = Number((BigInt.asUintN(128, v) >> BigInt(8 * k)) & 0xffn);
  }
  s.faults = [];
}

/** Runs `steps` instructions of `code` at CODE in a fresh 1 MiB sandbox. */
export function exec(code: number[], setup: Setup = {}, steps = 1): Result {
  const s = new Sandbox();
  s.load(CODE, code);
  prepare(s, setup);
  s.step(steps);
  return wrap(s);
}

/** For sweeps: one sandbox reused case after case (load() drops what was decoded before). */
export class Runner {
  private readonly s = new Sandbox();

  run(code: number[], setup: Setup = {}): Result {
    const s = this.s;
    s.load(CODE, code);
    prepare(s, setup);
    s.step(1);
    return wrap(s);
  }
}

/**
 * A compiled block must be indistinguishable from interpreting it: random
 * blocks of the forms the compiler inlines, mixed with forms it calls
 * handlers for, run in a loop with and without compilation from the same
 * state; registers, flags, RIP and the retired count must agree throughout.
 */
import { describe, expect, it } from 'vitest';
import { Sandbox } from '../../emu/cpu/sandbox.js';
import { F } from '../../emu/cpu/flags.js';

/** A small deterministic generator (xorshift32) so that failures reproduce. */
function rng(seed: number): () => number {
  let x = seed | 1;
  return () => { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; return x >>> 0; };
}

const REX_W = 0x48;
/** One random instruction from a family of inlined and handler-called register forms (no rsp). */
function randomInsn(next: () => number): number[] {
  // r15 stays the base of the scratch memory the loads and stores use.
  const reg = (): number => { let r; do r = next() % 16; while (r === 4 || r === 15); return r; };
  const modrm = (reg3: number, rm: number): number => 0xc0 | ((reg3 & 7) << 3) | (rm & 7);
  const rex = (w: boolean, r: number, b: number): number[] => {
    const v = 0x40 | (w ? 8 : 0) | (r & 8 ? 4 : 0) | (b & 8 ? 1 : 0);
    return v === 0x40 ? [] : [v];
  };
  const w = (next() & 1) === 1;
  const a = reg(), b = reg();
  const imm8 = next() & 0xff, imm32 = [next() & 0xff, next() & 0xff, next() & 0xff, next() & 0xff];
  const op = next() % 28;
  switch (op) {
    case 13: return [...rex(w, b, a), 0x0f, [0xb6, 0xb7, 0xbe, 0xbf][next() % 4], modrm(b, a)];   // movzx/movsx r, r
    case 14: {
      const rex2 = 0x41 | (w ? 8 : 0) | (b & 8 ? 4 : 0);
      return [rex2, 0x0f, [0xb6, 0xb7, 0xbe, 0xbf][next() % 4], 0x47 | ((b & 7) << 3), next() & 0x7e]; // movzx/movsx r, [r15+d8]
    }
    case 15: {
      const x = reg(), rexv = 0x40 | (w ? 8 : 0) | (b & 8 ? 4 : 0) | (x & 8 ? 2 : 0) | (a & 8 ? 1 : 0);
      return [rexv, 0x8d, 0x84 | ((b & 7) << 3), ((next() % 4) << 6) | ((x & 7) << 3) | (a & 7), ...imm32]; // lea r, [a + x*s + disp32]
    }
    case 16: return [...rex(w, 0, 0), [0x05, 0x2d, 0x25, 0x0d, 0x35, 0x3d][next() % 6], ...imm32];   // alu eAX, imm32
    case 17: return [0x41 | (w ? 8 : 0), 0xc7, 0x47, next() & 0x78, ...imm32];                       // mov [r15+d8], imm32
    case 18: return [0x41, 0xc6, 0x47, next() & 0x7f, imm8];                                           // mov byte [r15+d8], imm8
    case 22: return [0x66, ...rex(false, b, a), [0x01, 0x29, 0x21, 0x09, 0x31, 0x39, 0x89, 0x8b][next() % 8], modrm(b, a)]; // 16-bit forms
    case 23: return [[0x00, 0x28, 0x20, 0x08, 0x30, 0x38, 0x88, 0x84][next() % 8], modrm(b & 7, a & 7)]; // byte forms, AH..BH included
    case 24: return next() & 1                                                                // group 2, all /digits incl. rcl rcr /6
      ? [...rex(w, 0, a), 0xd1, modrm(next() % 8, a)]
      : [...rex(w, 0, a), 0xc1, modrm(next() % 8, a), next() % 70];
    case 25: return [0x0f, [0xef, 0xeb, 0xdb, 0xfe][next() % 4], modrm(b & 7, a & 7)];          // MMX forms (NP), never inlined as XMM
    case 26: return [...rex(w, 0, a), 0xff, modrm(next() % 2, a)];                              // inc, dec
    case 27: return [...(a & 8 ? [0x41] : []), 0x50 + (a & 7), ...(b & 8 ? [0x41] : []), 0x58 + (b & 7)]; // push a; pop b
    case 19: return [0x66, ...rex(false, b, a), 0x0f, [0xef, 0xeb, 0xdb, 0xdf, 0xfe, 0xfa, 0x6f][next() % 7], modrm(b, a)]; // SSE2 xmm, xmm
    case 20: return [...rex(false, b, a), 0x0f, 0x28, modrm(b, a)];                                // movaps xmm, xmm
    case 21: return [0x66, ...rex(false, 0, a), 0x0f, 0x72, modrm([2, 4, 6][next() % 3], a), next() % 40]; // psrld/psrad/pslld xmm, imm8
    case 11: case 12: {
      const rex = 0x41 | (w ? 8 : 0) | (b & 8 ? 4 : 0);                                       // REX.B: base r15
      return [rex, op === 11 ? 0x89 : 0x8b, 0x47 | ((b & 7) << 3), next() & 0x78];           // mov [r15+d8], r / mov r, [r15+d8]
    }
    case 0: return [...rex(w, b, a), 0x89, modrm(b, a)];                                  // mov r/m, r
    case 1: return [...rex(w, b, a), 0x8b, modrm(b, a)];                                  // mov r, r/m
    case 2: return [...rex(w, b, a), [0x01, 0x29, 0x21, 0x09, 0x31, 0x39][next() % 6], modrm(b, a)]; // alu r/m, r
    case 3: return [...rex(w, b, a), [0x03, 0x2b, 0x23, 0x0b, 0x33, 0x3b][next() % 6], modrm(b, a)]; // alu r, r/m
    case 4: return [...rex(w, 0, a), 0x83, modrm([0, 1, 4, 5, 6, 7][next() % 6], a), imm8]; // alu r/m, imm8
    case 5: return [...rex(w, 0, a), 0x81, modrm([0, 1, 4, 5, 6, 7][next() % 6], a), ...imm32];
    case 6: return [...rex(w, b, a), 0x85, modrm(b, a)];                                  // test
    case 7: return [...rex(w, 0, a), 0xb8 + (a & 7), ...imm32, ...(w ? imm32 : [])];       // mov r, imm
    case 8: return [...rex(w, 0, a), 0xc1, modrm([0, 1, 4, 5, 7][next() % 5], a), imm8 & 63]; // shifts (handler)
    case 9: return [...rex(w, b, a), [0x11, 0x19][next() % 2], modrm(b, a)];                 // adc, sbb (handler)
    default: return [...rex(w, b, a), 0x0f, 0x40 + (next() % 16), modrm(b, a)];           // cmovcc (handler)
  }
}

function run(code: number[], regs: bigint[], xmm: bigint[], flags: number, jit: boolean, insns: number): Sandbox {
  const s = new Sandbox(1 << 16, undefined, { jit });
  s.load(0x1000, code);
  regs.forEach((v, r) => { if (r !== 4) s.setReg(r, v); });
  s.setReg(4, 0xa000n);
  xmm.forEach((v, n) => s.setXmm(n, v));
  s.cpu.setFlags(flags);
  s.step(insns);
  return s;
}

describe('compiled blocks match the interpreter', () => {
  for (let seed = 1; seed <= 100; seed++) {
    it(`random block ${seed}`, () => {
      const next = rng(seed * 7919);
      const body: number[][] = Array.from({ length: 3 + (next() % 20) }, () => randomInsn(next));
      const bytes = body.flat();
      // Close with a random jcc back to the start, then a jmp back for the fall-through (rel32 forms).
      const rel32 = (v: number): number[] => [v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, (v >> 24) & 0xff];
      const code = [...bytes, 0x0f, 0x80 + (next() % 16), ...rel32(-(bytes.length + 6)), 0xe9, ...rel32(-(bytes.length + 11))];
      // Half the registers hold small values, as pointers and counters do, so fast paths get taken too.
      const regs = Array.from({ length: 16 }, (_, r) =>
        r === 15 ? 0x8000n : r % 2 ? (BigInt(next()) << 32n) | BigInt(next()) : BigInt(next() & 0xfffff));
      const xmm = Array.from({ length: 16 }, () => (BigInt(next()) << 96n) | (BigInt(next()) << 64n) | (BigInt(next()) << 32n) | BigInt(next()));
      const flags = (next() & (F.CF | F.PF | F.AF | F.ZF | F.SF | F.OF)) | F.FIXED1;
      const total = (body.length + 2) * 100;
      const j = run(code, regs, xmm, flags, true, total);
      const i = run(code, regs, xmm, flags, false, total);
      expect(j.faults).toEqual([]);
      expect(i.faults).toEqual([]);
      for (let r = 0; r < 16; r++) expect(j.getReg(r), `r${r}`).toBe(i.getReg(r));
      for (let n = 0; n < 16; n++) expect(j.getXmm(n), `xmm${n}`).toBe(i.getXmm(n));
      expect(Buffer.from(j.phys.bytes)).toEqual(Buffer.from(i.phys.bytes));
      expect(j.cpu.getFlags()).toBe(i.cpu.getFlags());
      expect(j.cpu.rip).toBe(i.cpu.rip);
      expect(j.cpu.ip).toBe(i.cpu.ip);
      expect(j.cpu.icount).toBe(i.cpu.icount);
      expect([...j.cpu.fpr, j.cpu.ftw, j.cpu.fsw]).toEqual([...i.cpu.fpr, i.cpu.ftw, i.cpu.fsw]);
    });
  }
});

/** Everything a program could observe: state at the end, at each fault and at each rdtsc. */
function observe(code: number[], setup: { regs?: Record<number, bigint>; fs?: number; mem?: [number, number[]][] }, jit: boolean, insns: number): string[] {
  const log: string[] = [];
  const where = (c: Sandbox['cpu']): string => `ip=${c.ip.toString(16)} rip=${c.rip.toString(16)} icount=${c.icount}`;
  const s = new Sandbox(1 << 16, { rdtsc: (c) => { log.push(`rdtsc ${where(c)}`); return [c.icount | 0, 0]; } }, { jit });
  s.load(0x1000, code);
  for (const [at, bytes] of setup.mem ?? []) s.phys.bytes.set(bytes, at);
  for (const [r, v] of Object.entries(setup.regs ?? {})) s.setReg(Number(r), v);
  s.cpu.segBase[4] = setup.fs ?? 0;
  s.step(insns);
  for (const f of s.faults) log.push(`fault ${f.vector} ${where(s.cpu)}`);
  for (let r = 0; r < 16; r++) log.push(`r${r}=${s.getReg(r).toString(16)}`);
  log.push(`flags=${s.cpu.getFlags().toString(16)} ${where(s.cpu)}`);
  log.push(`memory=${Buffer.from(s.phys.bytes.subarray(0, 1 << 16)).toString('base64')}`);
  return log;
}

/** A block that loops: `body` then jmp rel32 back to it. */
function loop(body: number[]): number[] {
  const rel = -(body.length + 5);
  return [...body, 0xe9, rel & 0xff, (rel >> 8) & 0xff, (rel >> 16) & 0xff, (rel >> 24) & 0xff];
}

const R = { 0: 0x1122334455667788n, 1: 0x99aabbccddeeff00n, 3: 0x0123456789abcdefn, 15: 0x8000n };
/** Reaches the store only after 40 runs (cmovae picks the code address), i.e. after the block is compiled. */
const LATE = [0x83, 0xc1, 0x01, 0x83, 0xf9, 0x28, 0x4d, 0x0f, 0x43, 0xee];

describe('compiled blocks match the interpreter where programs can tell', () => {
  const cases: [string, number[], Parameters<typeof observe>[1], number][] = [
    ['a fault after compilation leaves ip, rip and the retired count exact',
      loop([0x4d, 0x01, 0xf5, 0x31, 0xc9, 0x49, 0x8b, 0x45, 0x00]), { regs: { 13: 0x9000n, 14: 1n << 41n } }, 100000],
    ['rdtsc in mid-block sees the exact retired count', loop([0x01, 0xd8, 0x31, 0xc9, 0x0f, 0x31, 0x89, 0xc3]), {}, 400],
    ['a compiled inline store into a later instruction of its own block takes effect',
      loop([...LATE, 0x41, 0xc7, 0x45, 0x00, 0x11, 0x22, 0x33, 0x44, 0xb8, 0, 0, 0, 0, 0x01, 0xc2, 0x83, 0xc2, 0x07]), { regs: { 14: 0x1013n, 13: 0x8000n } }, 3000],
    ['a handler store (xchg) into a later instruction takes effect',
      loop([...LATE, 0x41, 0x87, 0x55, 0x00, 0xb8, 0, 0, 0, 0, 0x01, 0xc2, 0x83, 0xc2, 0x07]), { regs: { 14: 0x100fn, 13: 0x8000n } }, 3000],
    ['66 makes add a 16-bit add', loop([0x66, 0x01, 0xd8]), { regs: R }, 400],
    ['dec rax borrows from the high dword (after compilation)', loop([0x48, 0xff, 0xc8]), { regs: { 0: 0x100000064n } }, 400],
    ['inc rax carries into the high dword (after compilation)', loop([0x48, 0xff, 0xc0]), { regs: { 0: 0xffffff9cn } }, 400],
    ['movzx edi, ah reads AH', loop([0x0f, 0xb6, 0xfc, 0x01, 0xf8]), { regs: R }, 400],
    ['rol rax, 1', loop([0x48, 0xd1, 0xc0]), { regs: R }, 400],
    ['a rip-relative load', loop([0x48, 0x8b, 0x05, 0xf9, 0x6f, 0, 0, 0x48, 0x01, 0xc3]), { regs: R, mem: [[0x8000, [1, 2, 3, 4, 5, 6, 7, 8]]] }, 400],
    ['an FS-relative load', loop([0x64, 0x49, 0x8b, 0x07, 0x48, 0x01, 0xc3]), { regs: R, fs: 0x10, mem: [[0x8010, [9, 9, 9, 9]]] }, 400],
    ['a base whose high dword is large takes the exact slow path', loop([0x49, 0x8b, 0x07, 0x48, 0x01, 0xc3]), { regs: { ...R, 15: 0x7fff00008000n } }, 400],
    ['a 67-prefixed load truncates the address to 32 bits', loop([0x67, 0x41, 0x8b, 0x07, 0x01, 0xc3]), { regs: { ...R, 15: 0x100008000n } }, 400],
  ];
  for (const [title, code, setup, n] of cases) {
    it(title, () => {
      expect(observe(code, setup, true, n)).toEqual(observe(code, setup, false, n));
    });
  }
});

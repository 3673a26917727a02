import { describe, expect, it } from 'vitest';
import { R } from '../../emu/cpu/regs.js';
import type { Sandbox } from '../../emu/cpu/sandbox.js';
import { run, vector, poke, peek, dw, DATA } from './sse-helpers.js';

const le = (v: number, n: number): number[] => Array.from({ length: n }, (_, k) => Math.floor(v / 2 ** (8 * k)) % 256);

describe('ldmxcsr and stmxcsr', () => {
  it('ldmxcsr loads the register and stmxcsr stores it', () => {
    const s = run([0x0f, 0xae, 0x10], (s) => { poke(s, DATA, le(0x9fc0, 4)); s.setReg(R.AX, BigInt(DATA)); });
    expect(s.cpu.mxcsr).toBe(0x9fc0);
    const t = run([0x0f, 0xae, 0x18], (s) => { s.cpu.mxcsr = 0x3f85; s.setReg(R.AX, BigInt(DATA + 1)); });
    expect(peek(t, DATA + 1, 4)).toEqual(le(0x3f85, 4));
  });

  it('what if a reserved MXCSR bit is set: #GP(0) and MXCSR unchanged', () => {
    const s = run([0x0f, 0xae, 0x10], (s) => { poke(s, DATA, le(0x11f80, 4)); s.setReg(R.AX, BigInt(DATA)); });
    expect(vector(s)).toBe(13);
    expect(s.faults[0].errorCode).toBe(0);
    expect(s.cpu.mxcsr).toBe(0x1f80);
  });
});

describe('fxsave and fxrstor', () => {
  /** x87 state: TOP = 6, R6 = 1.0 (valid), R7 = +0 (zero), the rest empty; plus SSE state. */
  function state(s: Sandbox): void {
    s.cpu.fcw = 0x27f;
    s.cpu.fsw = (6 << 11) | 0x1;
    s.cpu.ftw = 0x4fff;
    s.cpu.fpr.set([0, 0x80000000 | 0, 0x3fff], 18);
    s.cpu.fop = 0x123;
    s.cpu.fip = 0x401000;
    s.cpu.fdp = 0x7fff0010;
    s.cpu.mxcsr = 0x1fa0;
    s.setXmm(5, dw(0x11111111, 0x22222222, 0x33333333, 0x44444444));
    s.setXmm(15, -1n);
    s.setReg(R.AX, BigInt(DATA));
    poke(s, DATA, new Array(512).fill(0xaa));
  }

  it('fxsave lays out the x87 and SSE state as SDM Vol.1 Table 10-2 draws it', () => {
    const s = run([0x0f, 0xae, 0x00], state);
    const m = peek(s, DATA, 512);
    expect(m.slice(0, 32)).toEqual([
      ...le(0x27f, 2), ...le(0x3001, 2), 0xc0, 0, ...le(0x123, 2),
      ...le(0x401000, 4), 0, 0, 0, 0, ...le(0x7fff0010, 4), 0, 0, 0, 0,
      ...le(0x1fa0, 4), ...le(0xffff, 4),
    ]);
    // ST0 is physical register 6: 1.0 with its 16-bit sign/exponent, then six reserved bytes.
    expect(m.slice(32, 48)).toEqual([0, 0, 0, 0, 0, 0, 0, 0x80, 0xff, 0x3f, 0, 0, 0, 0, 0, 0]);
    expect(m.slice(160 + 5 * 16, 160 + 6 * 16)).toEqual([...le(0x11111111, 4), ...le(0x22222222, 4), ...le(0x33333333, 4), ...le(0x44444444, 4)]);
    expect(m.slice(400, 416)).toEqual(new Array(16).fill(0xff));
    expect(m.slice(416)).toEqual(new Array(96).fill(0xaa));
  });

  it('fxsave64 stores the 64-bit instruction pointer', () => {
    const s = run([0x48, 0x0f, 0xae, 0x00], (s) => { state(s); s.cpu.fip = 0x123456789abc; });
    expect(peek(s, DATA + 8, 8)).toEqual(le(0x123456789abc, 8));
  });

  it('fxrstor brings everything back and rebuilds the full tags from the registers', () => {
    const saved = run([0x0f, 0xae, 0x00], state);
    const area = peek(saved, DATA, 512);
    const s = run([0x0f, 0xae, 0x08], (s) => { poke(s, DATA, area); s.setReg(R.AX, BigInt(DATA)); });
    expect(s.cpu.fcw).toBe(0x27f);
    expect(s.cpu.fsw).toBe(0x3001);
    expect(s.cpu.ftw).toBe(0x4fff);
    expect(Array.from(s.cpu.fpr.slice(18, 24))).toEqual([0, 0x80000000 | 0, 0x3fff, 0, 0, 0]);
    expect([s.cpu.fop, s.cpu.fip, s.cpu.fdp]).toEqual([0x123, 0x401000, 0x7fff0010]);
    expect(s.cpu.mxcsr).toBe(0x1fa0);
    expect(s.getXmm(5)).toBe(dw(0x11111111, 0x22222222, 0x33333333, 0x44444444));
    expect(s.getXmm(15)).toBe((1n << 128n) - 1n);
  });

  it('what if the saved MXCSR has reserved bits: fxrstor raises #GP(0) and restores nothing', () => {
    const s = run([0x0f, 0xae, 0x08], (s) => {
      poke(s, DATA, new Array(512).fill(0));
      poke(s, DATA + 24, le(0x10000, 4));
      s.setReg(R.AX, BigInt(DATA));
      s.cpu.fcw = 0x37f;
    });
    expect(vector(s)).toBe(13);
    expect(s.cpu.fcw).toBe(0x37f);
    expect(s.cpu.ftw).toBe(0xffff);
  });

  it('what if the area is not 16-byte aligned: #GP(0)', () => {
    const s = run([0x0f, 0xae, 0x00], (s) => { s.setReg(R.AX, BigInt(DATA + 8)); });
    expect(vector(s)).toBe(13);
  });
});

import { describe, expect, it } from 'vitest';
import { Sandbox } from '../emu/cpu/sandbox.js';
import { R } from '../emu/cpu/regs.js';
import { F } from '../emu/cpu/flags.js';

describe('cpu basics', () => {
  it('add rax, rbx carries from the low dword into the high dword', () => {
    const s = new Sandbox();
    s.load(0x1000, [0x48, 0x01, 0xd8]); // add rax, rbx
    s.setReg(R.AX, 0xffffffffn);
    s.setReg(R.BX, 1n);
    s.step();
    expect(s.getReg(R.AX)).toBe(0x100000000n);
    expect(s.cpu.getFlags() & (F.CF | F.ZF | F.AF)).toBe(F.AF);
  });

  it('sub eax, eax zero-extends and sets ZF and PF', () => {
    const s = new Sandbox();
    s.load(0x1000, [0x29, 0xc0]);
    s.setReg(R.AX, -1n);
    s.step();
    expect(s.getReg(R.AX)).toBe(0n);
    expect(s.cpu.getFlags() & F.ARITH).toBe(F.ZF | F.PF);
  });

  it('a counted loop runs to completion', () => {
    const s = new Sandbox();
    // mov ecx, 10; xor eax, eax; L: add eax, ecx; dec ecx; jnz L
    s.load(0x1000, [0xb9, 10, 0, 0, 0, 0x31, 0xc0, 0x01, 0xc8, 0xff, 0xc9, 0x75, 0xfa]);
    s.step(2 + 3 * 10);
    expect(s.getReg(R.AX)).toBe(55n);
    expect(s.faults).toEqual([]);
  });

  it('what if the opcode is undefined: #UD, RIP left on the instruction', () => {
    const s = new Sandbox();
    s.load(0x1000, [0x0f, 0x0b]);
    s.step();
    expect(s.faults[0].vector).toBe(6);
    expect(s.cpu.rip).toBe(0x1000);
  });
});

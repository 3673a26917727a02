/**
 * A decoded instruction: every field the handlers need, named as the SDM names
 * it, so that no handler ever looks at instruction bytes again. Instances are
 * cached per physical code page and reused on every execution.
 */
import type { Cpu } from './cpu.js';
import type { OpRow } from './table.js';
import { Seg } from './regs.js';

export type Handler = (cpu: Cpu, i: Insn) => void;

export class Insn {
  row!: OpRow;
  exec!: Handler;
  /** The row's handler parameter: ALU op number, condition code, … */
  arg = 0;
  /** Length in bytes (1..15). */
  len = 0;
  /** Operand size in bytes: 1 for byte forms, else 2, 4 or 8. */
  osz = 4;
  /** Address size in bytes: 2, 4 or 8. */
  asz = 8;
  /** The REX byte (0x40..0x4f), or 0. */
  rex = 0;
  /** Last of F2/F3 seen (0 if none): REPNE/REP, or the SSE mandatory prefix. */
  rep = 0;
  /** 66 was present. */
  opsizePrefix = false;
  lock = false;
  /** Segment override, Seg.None if none. */
  seg: number = Seg.None;

  /** ModRM.mod; 3 means the r/m operand is a register. */
  mod = 3;
  /** ModRM.reg extended by REX.R (or the opcode's low bits extended by REX.B for +r forms). */
  reg = 0;
  /** ModRM.rm extended by REX.B, meaningful when mod == 3. */
  rm = 0;
  /** Byte-register codes for reg and rm: 0..15, or 16..19 for AH CH DH BH without REX. */
  regB = 0;
  rmB = 0;
  isMem = false;

  // Memory operand: [base + index << scale + disp], or [rip + disp].
  base = -1;
  index = -1;
  scale = 0;
  disp = 0;
  ripRel = false;

  /** First immediate (sign-extended to int32 where the form says so); high dword of an imm64. */
  imm = 0;
  immHi = 0;
  /** Second immediate (enter's nesting level; the 0F3A forms' imm8 stays in imm). */
  imm2 = 0;
  /** The CPU's FPU state at decode time makes this instruction raise #NM or #UD (interp.ts); `exec` does that. */
  fpuTrap = false;
}

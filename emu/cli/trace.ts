/** The -d trace: `in_asm` disassembles each instruction, `cpu` dumps registers before it. */
import type { LinuxProcess } from '../linux/process.js';
import { GPR64 } from '../cpu/regs.js';
import { disassemble, formatBytes } from '../cpu/disasm.js';

const hex = (v: number, w = 16): string => (v < 0 ? BigInt.asUintN(64, BigInt(v)) : BigInt(v)).toString(16).padStart(w, '0');

export function traceHook(items: string[], out: (line: string) => void): (p: LinuxProcess) => void {
  const asm = items.includes('in_asm'), regs = items.includes('cpu');
  return (p) => {
    const cpu = p.cpu;
    if (regs) {
      const lines: string[] = [];
      for (let r = 0; r < 16; r += 4) {
        lines.push(GPR64.slice(r, r + 4).map((n, k) => `${n.toUpperCase().padEnd(3)}=${(BigInt(cpu.get64hi(r + k) >>> 0) << 32n | BigInt(cpu.get64lo(r + k) >>> 0)).toString(16).padStart(16, '0')}`).join(' '));
      }
      lines.push(`RIP=${hex(cpu.rip)} RFL=${cpu.getFlags().toString(16).padStart(8, '0')} FS=${hex(cpu.segBase[4])}`);
      out(lines.join('\n'));
    }
    if (asm) {
      let text: string;
      try {
        const insn = p.interp.decodeOnly(cpu.rip);
        const bytes = p.mem.read(cpu.rip, insn.len) ?? new Uint8Array(0);
        text = `${formatBytes(bytes).padEnd(30)} ${disassemble(insn, bytes, cpu.rip, cpu.mode)}`;
      } catch (e) {
        text = `(${(e as Error).message})`;
      }
      out(`0x${hex(cpu.rip)}:  ${text}`);
    }
  };
}

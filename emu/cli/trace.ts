/** The -d trace: `in_asm` disassembles each instruction, `cpu` dumps registers before it. */
import type { LinuxProcess } from '../linux/process.js';
import type { VCpu } from '../machine/vcpu.js';
import type { Cpu } from '../cpu/cpu.js';
import type { Interpreter } from '../cpu/interp.js';
import { GPR64, Seg } from '../cpu/regs.js';
import { Mode } from '../cpu/decode.js';
import { disassemble, formatBytes } from '../cpu/disasm.js';

const hex = (v: number, w = 16): string => (v < 0 ? BigInt.asUintN(64, BigInt(v)) : BigInt(v)).toString(16).padStart(w, '0');

/** One trace step for a CPU; `bytesAt` reads instruction bytes at a linear address (null if unmapped). */
function traceStep(items: string[], out: (line: string) => void, cpu: Cpu, interp: Interpreter,
  bytesAt: (lin: number, n: number) => Uint8Array | null, prefix: string): void {
  if (items.includes('cpu')) {
    const lines: string[] = [];
    for (let r = 0; r < 16; r += 4) {
      lines.push(prefix + GPR64.slice(r, r + 4).map((n, k) => `${n.toUpperCase().padEnd(3)}=${(BigInt(cpu.get64hi(r + k) >>> 0) << 32n | BigInt(cpu.get64lo(r + k) >>> 0)).toString(16).padStart(16, '0')}`).join(' '));
    }
    lines.push(`${prefix}RIP=${hex(cpu.rip)} RFL=${cpu.getFlags().toString(16).padStart(8, '0')} CS=${hex(cpu.segSel[Seg.CS], 4)} CPL=${cpu.mmu.cpl} FS=${hex(cpu.segBase[Seg.FS])} GS=${hex(cpu.segBase[Seg.GS])}`);
    out(lines.join('\n'));
  }
  if (items.includes('in_asm')) {
    const lin = cpu.mode === Mode.Long64 ? cpu.rip : (cpu.rip + cpu.segBase[Seg.CS]) % 4294967296;
    let text: string;
    try {
      const insn = interp.decodeOnly(lin);
      const bytes = bytesAt(lin, insn.len) ?? new Uint8Array(0);
      text = `${formatBytes(bytes).padEnd(30)} ${disassemble(insn, bytes, cpu.rip, cpu.mode)}`;
    } catch (e) {
      text = `(${(e as Error).message})`;
    }
    out(`${prefix}0x${hex(lin)}:  ${text}`);
  }
}

export function traceHook(items: string[], out: (line: string) => void): (p: LinuxProcess) => void {
  return (p) => traceStep(items, out, p.cpu, p.interp, (lin, n) => p.mem.read(lin, n), '');
}

/** The machine's trace: every line names its CPU. */
export function machineTrace(items: string[], out: (line: string) => void): (v: VCpu) => void {
  return (v) => traceStep(items, out, v.cpu, v.interp, (lin, n) => {
    const mmu = v.cpu.mmu;
    const bytes = new Uint8Array(n);
    for (let k = 0; k < n; k++) bytes[k] = mmu.phys.read8(mmu.fetchPhys(lin + k));
    return bytes;
  }, `cpu${v.index} `);
}

/**
 * The -d trace: `in_asm` disassembles each instruction, `cpu` dumps registers
 * before it. Where the guest image has symbols, a block that starts at a named
 * address gets QEMU's `IN: name+0xoff` header line and RIP is followed by
 * `<name+0xoff>`; without them the trace is as it always was.
 */
import type { LinuxProcess } from '../linux/process.js';
import type { VCpu } from '../machine/vcpu.js';
import type { Cpu } from '../cpu/cpu.js';
import type { Interpreter } from '../cpu/interp.js';
import type { Insn } from '../cpu/insn.js';
import { GPR64, Seg } from '../cpu/regs.js';
import { disassemble, formatBytes } from '../cpu/disasm.js';
import { formatHit, type Symbols } from '../firmware/symbols.js';

const hex = (v: number, w = 16): string => (v < 0 ? BigInt.asUintN(64, BigInt(v)) : BigInt(v)).toString(16).padStart(w, '0');

/**
 * One CPU's place in its instruction stream: the address its last traced
 * instruction falls through to, or NaN after one that ends a block (a branch,
 * taken or not). Execution arriving anywhere else (a jump, an interrupt) starts
 * a block, as a QEMU translation block starts.
 */
interface Flow { next: number }

/** One trace step for a CPU; `bytesAt` reads instruction bytes at a linear address (null if unmapped). */
function traceStep(items: string[], out: (line: string) => void, cpu: Cpu, interp: Interpreter, symbols: Symbols, flow: Flow,
  bytesAt: (lin: number, n: number) => Uint8Array | null, prefix: string): void {
  const lin = cpu.codeLinear(cpu.rip);
  const asm = items.includes('in_asm');
  if (asm) {
    const at = symbols.lookup(lin);
    // A fall-through into the next function starts its block too.
    if (at !== null && (lin !== flow.next || at.offset === 0)) out(`${prefix}IN: ${formatHit(at)}`);
  }
  if (items.includes('cpu')) {
    const lines: string[] = [];
    for (let r = 0; r < 16; r += 4) {
      lines.push(prefix + GPR64.slice(r, r + 4).map((n, k) => `${n.toUpperCase().padEnd(3)}=${(BigInt(cpu.get64hi(r + k) >>> 0) << 32n | BigInt(cpu.get64lo(r + k) >>> 0)).toString(16).padStart(16, '0')}`).join(' '));
    }
    lines.push(`${prefix}RIP=${hex(cpu.rip)}${symbols.annotate(lin)} RFL=${cpu.getFlags().toString(16).padStart(8, '0')} CS=${hex(cpu.segSel[Seg.CS], 4)} CPL=${cpu.mmu.cpl} FS=${hex(cpu.segBase[Seg.FS])} GS=${hex(cpu.segBase[Seg.GS])}`);
    out(lines.join('\n'));
  }
  if (asm) {
    let text: string;
    let insn: Insn | null = null;
    try {
      insn = interp.decodeOnly(lin);
      const bytes = bytesAt(lin, insn.len) ?? new Uint8Array(0);
      text = `${formatBytes(bytes).padEnd(30)} ${disassemble(insn, bytes, cpu.rip, cpu.mode)}`;
    } catch (e) {
      text = `(${(e as Error).message})`;
    }
    flow.next = insn !== null && !insn.row.end ? lin + insn.len : NaN;
    out(`${prefix}0x${hex(lin)}:  ${text}`);
  }
}

export function traceHook(items: string[], out: (line: string) => void): (p: LinuxProcess) => void {
  const flow: Flow = { next: NaN };
  return (p) => traceStep(items, out, p.cpu, p.interp, p.symbols, flow, (lin, n) => p.mem.read(lin, n), '');
}

/** The machine's trace: every line names its CPU. */
export function machineTrace(items: string[], out: (line: string) => void): (v: VCpu) => void {
  const flows: Flow[] = [];
  return (v) => traceStep(items, out, v.cpu, v.interp, v.symbols, flows[v.index] ??= { next: NaN }, (lin, n) => {
    const mmu = v.cpu.mmu;
    const bytes = new Uint8Array(n);
    for (let k = 0; k < n; k++) bytes[k] = mmu.phys.read8(mmu.fetchPhys(lin + k));
    return bytes;
  }, `cpu${v.index} `);
}

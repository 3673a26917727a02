/**
 * A bare CPU on flat memory (paging off, CPL 3 rules not applied) for
 * instruction-level tests: place code, set registers, step, read back.
 */
import { Cpu, type CpuHost } from './cpu.js';
import { Mmu } from './mmu.js';
import { PhysMem } from './physmem.js';
import { Interpreter, type InterpreterOptions } from './interp.js';
import { opTable } from './opcodes.js';
import type { CpuFault } from './fault.js';


export class Sandbox {
  readonly phys: PhysMem;
  readonly cpu: Cpu;
  readonly interp: Interpreter;
  faults: CpuFault[] = [];

  constructor(ramBytes = 1 << 20, host?: Partial<CpuHost>, options: InterpreterOptions = {}) {
    this.phys = new PhysMem(ramBytes);
    const mmu = new Mmu(this.phys);
    this.cpu = new Cpu(mmu, {
      syscall: host?.syscall ?? (() => { throw new Error('syscall in sandbox'); }),
      rdtsc: host?.rdtsc ?? ((c) => [c.icount | 0, 0]),
    });
    this.interp = new Interpreter(this.cpu, opTable, options);
  }

  /** Copies code to `addr` and points RIP at it. */
  load(addr: number, bytes: Uint8Array | number[]): void {
    this.phys.bytes.set(bytes, addr);
    this.interp.flushCode();
    this.cpu.rip = addr;
  }

  setReg(r: number, v: bigint): void {
    const u = BigInt.asUintN(64, v);
    this.cpu.set64(r, Number(u & 0xffffffffn) | 0, Number(u >> 32n) | 0);
  }

  getReg(r: number): bigint {
    return (BigInt(this.cpu.get64hi(r) >>> 0) << 32n) | BigInt(this.cpu.get64lo(r) >>> 0);
  }

  setXmm(n: number, v: bigint): void {
    const u = BigInt.asUintN(128, v);
    for (let k = 0; k < 4; k++) this.cpu.xmm[n * 4 + k] = Number((u >> BigInt(32 * k)) & 0xffffffffn) | 0;
  }

  getXmm(n: number): bigint {
    let v = 0n;
    for (let k = 3; k >= 0; k--) v = (v << 32n) | BigInt(this.cpu.xmm[n * 4 + k] >>> 0);
    return v;
  }

  /** Executes `count` instructions; faults are collected in `faults` and stop the run. */
  step(count = 1): number {
    let n = 0;
    while (n < count) {
      const before = this.faults.length;
      n += this.interp.run(count - n, (f) => { this.faults.push(f); this.interp.stopRequested = true; });
      if (this.faults.length > before) break;
    }
    return n;
  }

}

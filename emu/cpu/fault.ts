/**
 * CPU exceptions as JavaScript exceptions. Instruction handlers throw a
 * CpuFault; the run loop restores RIP to the faulting instruction and hands
 * the fault to whoever owns the machine (the Linux runner turns it into a
 * signal, the system machine will deliver it through the IDT).
 * Vector numbers: SDM Vol.3A §6.3.1, Table 6-1.
 */
export const enum Vector {
  DE = 0,  // divide error
  DB = 1,  // debug
  NMI = 2,
  BP = 3,  // int3
  OF = 4,  // into
  BR = 5,  // bound
  UD = 6,  // invalid opcode
  NM = 7,  // device not available
  DF = 8,  // double fault
  TS = 10, // invalid TSS
  NP = 11, // segment not present
  SS = 12, // stack fault
  GP = 13, // general protection
  PF = 14, // page fault
  MC = 18, // machine check
  MF = 16, // x87 floating-point error
  AC = 17, // alignment check
  XM = 19, // SIMD floating-point
}

export const VECTOR_NAMES: Record<number, string> = {
  0: '#DE', 1: '#DB', 2: 'NMI', 3: '#BP', 4: '#OF', 5: '#BR', 6: '#UD', 7: '#NM', 8: '#DF',
  10: '#TS', 11: '#NP', 12: '#SS', 13: '#GP', 14: '#PF', 16: '#MF', 17: '#AC', 19: '#XM',
};

/** Page-fault error code bits: SDM Vol.3A §4.7, Figure 4-12. */
export const enum PfErr {
  P = 1,     // 0: not present, 1: protection violation
  W = 2,     // access was a write
  U = 4,     // access came from CPL 3
  RSVD = 8,  // reserved bit set in a paging structure
  I = 16,    // instruction fetch
}

export class CpuFault extends Error {
  constructor(
    readonly vector: number,
    readonly errorCode = -1,
    /** CR2 for #PF: the canonical linear address as a signed JS number. */
    readonly address = 0,
    detail = '',
    /** A trap reports the RIP after the instruction (int3, into); a fault the RIP of it. */
    readonly trap = false,
    /**
     * Raised by INT n, INT3 or INTO: delivered through the IDT only if the
     * gate's DPL admits the current CPL, and never marked external (EXT).
     */
    readonly soft = false,
  ) {
    super(`${VECTOR_NAMES[vector] ?? `vector ${vector}`}${detail ? ': ' + detail : ''}`);
  }
}

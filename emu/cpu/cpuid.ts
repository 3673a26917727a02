/**
 * CPUID (SDM Vol.2A CPUID). It advertises exactly what the interpreter
 * implements: C libraries pick their code paths from these bits, so a bit
 * set here for an unimplemented extension would send them into #UD.
 * Leaf 1 ECX/EDX and leaf 0x80000001 bits: SDM Vol.2A Tables 3-10, 3-11.
 */
export const enum Leaf1Edx {
  FPU = 1 << 0, PSE = 1 << 3, TSC = 1 << 4, MSR = 1 << 5, PAE = 1 << 6, MCE = 1 << 7, CX8 = 1 << 8, APIC = 1 << 9, SEP = 1 << 11,
  PGE = 1 << 13, CMOV = 1 << 15, PAT = 1 << 16, CLFSH = 1 << 19, MMX = 1 << 23, FXSR = 1 << 24, SSE = 1 << 25, SSE2 = 1 << 26,
  HTT = 1 << 28,
}
export const enum Leaf1Ecx {
  SSE3 = 1 << 0, SSSE3 = 1 << 9, CX16 = 1 << 13, SSE41 = 1 << 19, SSE42 = 1 << 20,
  MOVBE = 1 << 22, POPCNT = 1 << 23, TSC_DEADLINE = 1 << 24, HYPERVISOR = 1 << 31,
}
export const enum Ext1Ecx { LAHF = 1 << 0, ABM = 1 << 5 }
export const enum Ext1Edx { SYSCALL = 1 << 11, NX = 1 << 20, PDPE1GB = 1 << 26, RDTSCP = 1 << 27, LM = 1 << 29 }

/** Feature bits; the instruction families that implement a feature set its bit here. */
export const features = {
  leaf1Edx: Leaf1Edx.FPU | Leaf1Edx.TSC | Leaf1Edx.CX8 | Leaf1Edx.CMOV | Leaf1Edx.CLFSH |
    Leaf1Edx.MMX | Leaf1Edx.FXSR | Leaf1Edx.SSE | Leaf1Edx.SSE2 |
    // The system level (system.ts, msr.ts, mmu.ts, the machine's local APIC).
    Leaf1Edx.PSE | Leaf1Edx.MSR | Leaf1Edx.PAE | Leaf1Edx.APIC | Leaf1Edx.PGE | Leaf1Edx.PAT,
  leaf1Ecx: Leaf1Ecx.CX16 | Leaf1Ecx.MOVBE | Leaf1Ecx.POPCNT |
    Leaf1Ecx.SSE3 | Leaf1Ecx.SSSE3 | Leaf1Ecx.SSE41 | Leaf1Ecx.SSE42 | Leaf1Ecx.TSC_DEADLINE,
  ext1Ecx: Ext1Ecx.LAHF | Ext1Ecx.ABM,
  ext1Edx: Ext1Edx.SYSCALL | Ext1Edx.NX | Ext1Edx.RDTSCP | Ext1Edx.LM | Ext1Edx.PDPE1GB,
};

const VENDOR = 'GenuineIntel';
const BRAND = 'damselfly x86-64 interpreter';

function str4(s: string, k: number): number {
  let v = 0;
  for (let j = 3; j >= 0; j--) v = (v << 8) | (s.charCodeAt(k + j) || 0);
  return v;
}

/**
 * Returns [eax, ebx, ecx, edx] for a leaf/subleaf on the CPU with APIC ID
 * `apicId` of `cpus` (one package, one thread per core, APIC ID = core).
 */
export function cpuid(leaf: number, subleaf: number, apicId: number, cpus = 1): [number, number, number, number] {
  // Bits needed to number the cores: the shift of leaf 0xB's core level.
  const coreBits = Math.ceil(Math.log2(cpus));
  switch (leaf >>> 0) {
    case 0: return [0xd, str4(VENDOR, 0), str4(VENDOR, 8), str4(VENDOR, 4)];
    case 1:
      // Family 6, model 0x55 stepping 4 signature; EBX: CLFLUSH line 8 qwords, logical CPUs per package, APIC ID.
      return [0x00050654, (apicId << 24) | ((1 << coreBits) << 16) | (8 << 8), features.leaf1Ecx | Leaf1Ecx.HYPERVISOR,
        features.leaf1Edx | (cpus > 1 ? Leaf1Edx.HTT : 0)];
    case 0xb: {
      // x2APIC topology: level 0 SMT (1 thread), level 1 core (all CPUs), then invalid.
      if (subleaf === 0) return [0, 1, 0x100, apicId];
      if (subleaf === 1) return [coreBits, cpus, 0x201, apicId];
      return [0, 0, subleaf & 0xff, apicId];
    }
    case 4: {
      // Deterministic cache parameters: L1d 32K 8-way, L1i 32K, L2 1M 16-way, L3 8M 16-way; 64-byte lines.
      const caches: [number, number, number, number][] = [[1, 1, 8, 64], [2, 1, 8, 64], [1, 2, 16, 1024], [1, 3, 16, 8192]];
      if (subleaf >= caches.length) return [0, 0, 0, 0];
      const [type, level, ways, kb] = caches[subleaf];
      const sets = (kb * 1024) / (ways * 64);
      // EAX[31:26]: addressable core IDs in the package, minus one.
      return [type | (level << 5) | (1 << 8) | (((1 << coreBits) - 1) << 26), (63) | ((ways - 1) << 22), sets - 1, 0];
    }
    case 7: return [0, 0, 0, 0];
    case 0xd: return [0, 0, 0, 0];
    case 0x80000000: return [0x80000008, 0, 0, 0];
    case 0x80000001: return [0, 0, features.ext1Ecx, features.ext1Edx];
    case 0x80000002: case 0x80000003: case 0x80000004: {
      const k = (leaf - 0x80000002) * 16;
      return [str4(BRAND, k), str4(BRAND, k + 4), str4(BRAND, k + 8), str4(BRAND, k + 12)];
    }
    case 0x80000006: return [0, 0, (1024 << 16) | (6 << 12) | 64, 0];
    case 0x80000008: return [0x3028, 0, 0, 0]; // 40-bit physical, 48-bit linear addresses
    default: return [0, 0, 0, 0];
  }
}

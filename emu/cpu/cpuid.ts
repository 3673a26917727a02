/**
 * CPUID (SDM Vol.2A CPUID). It advertises exactly what the interpreter
 * implements: C libraries pick their code paths from these bits, so a bit
 * set here for an unimplemented extension would send them into #UD.
 * Leaf 1 ECX/EDX and leaf 0x80000001 bits: SDM Vol.2A Tables 3-10, 3-11.
 */
export const enum Leaf1Edx {
  FPU = 1 << 0, TSC = 1 << 4, MSR = 1 << 5, CX8 = 1 << 8, APIC = 1 << 9, SEP = 1 << 11,
  CMOV = 1 << 15, CLFSH = 1 << 19, MMX = 1 << 23, FXSR = 1 << 24, SSE = 1 << 25, SSE2 = 1 << 26,
}
export const enum Leaf1Ecx {
  SSE3 = 1 << 0, SSSE3 = 1 << 9, CX16 = 1 << 13, SSE41 = 1 << 19, SSE42 = 1 << 20,
  MOVBE = 1 << 22, POPCNT = 1 << 23, HYPERVISOR = 1 << 31,
}
export const enum Ext1Ecx { LAHF = 1 << 0, ABM = 1 << 5 }
export const enum Ext1Edx { SYSCALL = 1 << 11, NX = 1 << 20, RDTSCP = 1 << 27, LM = 1 << 29 }

/** Feature bits; the instruction families that implement a feature set its bit here. */
export const features = {
  leaf1Edx: Leaf1Edx.FPU | Leaf1Edx.TSC | Leaf1Edx.CX8 | Leaf1Edx.CMOV | Leaf1Edx.CLFSH |
    Leaf1Edx.MMX | Leaf1Edx.FXSR | Leaf1Edx.SSE | Leaf1Edx.SSE2,
  leaf1Ecx: Leaf1Ecx.CX16 | Leaf1Ecx.MOVBE | Leaf1Ecx.POPCNT |
    Leaf1Ecx.SSE3 | Leaf1Ecx.SSSE3 | Leaf1Ecx.SSE41 | Leaf1Ecx.SSE42,
  ext1Ecx: Ext1Ecx.LAHF | Ext1Ecx.ABM,
  ext1Edx: Ext1Edx.SYSCALL | Ext1Edx.NX | Ext1Edx.RDTSCP | Ext1Edx.LM,
};

const VENDOR = 'GenuineIntel';
const BRAND = 'damselfly x86-64 interpreter';

function str4(s: string, k: number): number {
  let v = 0;
  for (let j = 3; j >= 0; j--) v = (v << 8) | (s.charCodeAt(k + j) || 0);
  return v;
}

/** Returns [eax, ebx, ecx, edx] for a leaf/subleaf; `apicId` identifies the CPU. */
export function cpuid(leaf: number, subleaf: number, apicId: number): [number, number, number, number] {
  switch (leaf >>> 0) {
    case 0: return [0xd, str4(VENDOR, 0), str4(VENDOR, 8), str4(VENDOR, 4)];
    case 1:
      // Family 6, model 0x55 stepping 4 signature; EBX: CLFLUSH line 8 qwords, APIC ID in 31..24.
      return [0x00050654, (apicId << 24) | (1 << 16) | (8 << 8), features.leaf1Ecx | Leaf1Ecx.HYPERVISOR, features.leaf1Edx];
    case 4: {
      // Deterministic cache parameters: L1d 32K 8-way, L1i 32K, L2 1M 16-way, L3 8M 16-way; 64-byte lines.
      const caches: [number, number, number, number][] = [[1, 1, 8, 64], [2, 1, 8, 64], [1, 2, 16, 1024], [1, 3, 16, 8192]];
      if (subleaf >= caches.length) return [0, 0, 0, 0];
      const [type, level, ways, kb] = caches[subleaf];
      const sets = (kb * 1024) / (ways * 64);
      return [type | (level << 5) | (1 << 8), (63) | ((ways - 1) << 22), sets - 1, 0];
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

/** Instructions whose whole job is a flag: clc stc cmc cld std lahf sahf. */
import type { Cpu } from '../cpu.js';
import type { OpDef } from '../table.js';
import { F } from '../flags.js';

/** lahf/sahf move SF ZF AF PF CF (bit 1 always set) between AH and RFLAGS. */
const AH_FLAGS = F.SF | F.ZF | F.AF | F.PF | F.CF;

function lahf(cpu: Cpu): void { cpu.set8(16, (cpu.getFlags() & AH_FLAGS) | F.FIXED1); }
function sahf(cpu: Cpu): void { cpu.setFlags((cpu.getFlags() & ~AH_FLAGS) | (cpu.get8(16) & AH_FLAGS)); }
function clc(cpu: Cpu): void { cpu.setCF(false); }
function stc(cpu: Cpu): void { cpu.setCF(true); }
function cmc(cpu: Cpu): void { cpu.setCF(!cpu.cf()); }
function cld(cpu: Cpu): void { cpu.flags &= ~F.DF; }
function std(cpu: Cpu): void { cpu.flags |= F.DF; }

export const rows: OpDef[] = [
  { mn: 'lahf', code: 0x9f, exec: lahf },
  { mn: 'sahf', code: 0x9e, exec: sahf, wf: 'SZAPC' },
  { mn: 'clc', code: 0xf8, exec: clc, wf: 'C' },
  { mn: 'stc', code: 0xf9, exec: stc, wf: 'C' },
  { mn: 'cmc', code: 0xf5, exec: cmc, wf: 'C' },
  { mn: 'cld', code: 0xfc, exec: cld },
  { mn: 'std', code: 0xfd, exec: std },
];

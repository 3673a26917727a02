/**
 * Every SSE/MMX form with an xmm/mm-or-memory source, taken from the opcode
 * table: the memory form must read exactly the operand its row declares
 * (placed flush against the end of RAM, so one byte more would run off it)
 * and compute what the register form computes from the same bytes.
 */
import { describe, expect, it } from 'vitest';
import { opTable } from '../../emu/cpu/opcodes.js';
import { Imm, type OpRow } from '../../emu/cpu/table.js';
import { Sandbox } from '../../emu/cpu/sandbox.js';
import { R } from '../../emu/cpu/regs.js';

const RAM = 1 << 20;

/** Memory operand size of an operand spec such as 'Wss', 'Qd' or 'Udq/Md'. */
function memSize(spec: string): number {
  const m = spec.includes('/') ? spec.slice(spec.indexOf('/') + 1) : spec;
  switch (m.slice(1)) {
    case 'b': return 1;
    case 'w': return 2;
    case 'd': case 'ss': return 4;
    case 'q': case 'sd': return 8;
    default: return 16;
  }
}

/** Moves whose register form merges into the destination while the memory form zero-fills it. */
const MERGING = new Set(['movss', 'movsd']);

function sourceRows(): OpRow[] {
  return opTable.rows.filter((r) => r.pfx !== undefined && r.mod === undefined && r.digit === undefined &&
    r.map > 0 && /^[VP]/.test(r.operands[0] ?? '') && /^[WQU]/.test(r.operands[1] ?? '') && !MERGING.has(r.mn));
}

function encode(r: OpRow, modrm: number, imm: number): number[] {
  const op = r.map === 1 ? [0x0f, r.opcode] : [0x0f, r.map === 2 ? 0x38 : 0x3a, r.opcode];
  return [...(r.pfx ? [r.pfx] : []), ...op, modrm, ...(r.imm1 === Imm.B ? [imm] : [])];
}

let seed = 0x9e3779b9;
function rnd32(): number { seed ^= seed << 13; seed ^= seed >>> 17; seed ^= seed << 5; return seed >>> 0; }
function rnd128(): bigint { return (BigInt(rnd32()) << 96n) | (BigInt(rnd32()) << 64n) | (BigInt(rnd32()) << 32n) | BigInt(rnd32()); }

interface Out { xmm0: bigint; mm0: number[]; rcx: bigint; flags: number; mxcsr: number; fault: number | null }

/** Runs one instruction; `mem` places `value`'s low `size` bytes at `addr` and points rbx there. */
function exec(bytes: number[], xmm0: bigint, xmm1: bigint, mm: number[], mem: { addr: number; value: bigint; size: number } | null): Out {
  const s = new Sandbox(RAM);
  s.load(0x1000, bytes);
  s.setXmm(0, xmm0); s.setXmm(1, xmm1);
  s.cpu.fpr.set([mm[0], mm[1], 0, mm[2], mm[3], 0]);
  s.setReg(R.AX, 5n); s.setReg(R.DX, 7n);
  if (mem !== null) {
    for (let k = 0; k < mem.size; k++) s.phys.bytes[mem.addr + k] = Number((mem.value >> BigInt(8 * k)) & 0xffn);
    s.setReg(R.BX, BigInt(mem.addr));
  }
  s.step(1);
  return {
    xmm0: s.getXmm(0), mm0: [s.cpu.fpr[0], s.cpu.fpr[1]], rcx: s.getReg(R.CX), flags: s.cpu.getFlags() & 0x8d5,
    mxcsr: s.cpu.mxcsr, fault: s.faults.length ? s.faults[0].vector : null,
  };
}

describe('memory forms', () => {
  const rows = sourceRows();

  it('the opcode table has memory-capable source forms to check', () => {
    expect(rows.length).toBeGreaterThan(200);
  });

  for (const r of rows) {
    const size = memSize(r.operands[1]);
    const mmxSource = r.operands[1].startsWith('Q');
    it(`${r.mn} ${r.operands.join(',')} reads ${size} bytes and agrees with its register form`, () => {
      for (let n = 0; n < 12; n++) {
        const x0 = rnd128(), x1 = rnd128();
        const mm = [rnd32() | 0, rnd32() | 0, rnd32() | 0, rnd32() | 0];
        // insertps ignores its source-lane field for a memory operand; pick lane 0 for both.
        const imm = r.mn === 'insertps' ? rnd32() & 0x3f : rnd32() & 0xff;
        const src = mmxSource ? (BigInt(mm[3] >>> 0) << 32n) | BigInt(mm[2] >>> 0) : x1;
        const reg = exec(encode(r, 0xc1, imm), x0, x1, mm, null);
        const mem = exec(encode(r, 0x03, imm), x0, x1, mm, { addr: RAM - size, value: src, size });
        expect(mem, `${r.mn} case ${n}`).toEqual(reg);
      }
    });
  }
});

/** The legacy-SSE 16-byte memory operands that need no alignment (SDM Vol.1 §11.4.1, §12.12). */
const UNALIGNED = new Set(['movups', 'movupd', 'movdqu', 'pcmpestri', 'pcmpestrm', 'pcmpistri', 'pcmpistrm']);

describe('alignment', () => {
  for (const r of sourceRows().filter((r) => memSize(r.operands[1]) === 16 && r.operands[1][0] !== 'Q')) {
    const free = UNALIGNED.has(r.mn);
    it(`${r.mn} ${r.operands.join(',')} ${free ? 'accepts' : 'raises #GP(0) for'} a misaligned operand`, () => {
      const out = exec(encode(r, 0x03, 0), 0n, 0n, [0, 0, 0, 0], { addr: RAM - 24, value: 0n, size: 16 });
      expect(out.fault).toBe(free ? null : 13);
    });
  }
});

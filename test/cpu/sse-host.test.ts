/**
 * Replays SSE/MMX results recorded on the host CPU (sse-host-vectors.txt.gz,
 * written by sse-host/gen.mjs): edge-heavy floating-point operands under
 * random MXCSR including unmasked exceptions (#XM), every imm8 mode of the
 * four string compares, crc32 and the MMX forms. rcpps/rsqrtps are left
 * out: their approximations differ between CPU models.
 */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { Sandbox } from '../../emu/cpu/sandbox.js';
import { R } from '../../emu/cpu/regs.js';

interface Vector { name: string; line: string; bytes: number[]; inp: bigint[]; out: bigint[] }

const text = gunzipSync(readFileSync(new URL('./sse-host-vectors.txt.gz', import.meta.url))).toString();
const vectors: Vector[] = text.split('\n').filter((l) => l && !l.startsWith('#')).map((line) => {
  const [lhs, rhs] = line.split(' -> ');
  const [name, bytes, ...inp] = lhs.split(' ');
  return {
    name, line,
    bytes: bytes.match(/../g)!.map((h) => parseInt(h, 16)),
    inp: inp.map((h) => BigInt('0x' + h)),
    out: rhs.split(' ').map((h) => BigInt('0x' + h)),
  };
});

const M64 = (1n << 64n) - 1n;
const hex = (v: bigint): string => v.toString(16);

/** The differences between the emulator and the host for one vector, as text. */
function replay(s: Sandbox, v: Vector): string[] {
  const [mx, x0, x1, rax, rdx, rcx, flags] = v.inp;
  const [wx0, wmm0, wrax, wrcx, wflags, wmx, trapped] = v.out;
  s.load(0x1000, v.bytes);
  s.faults = [];
  s.setXmm(0, x0); s.setXmm(1, x1);
  const f = s.cpu.fpr;
  f[0] = Number(x0 & 0xffffffffn) | 0; f[1] = Number((x0 >> 32n) & 0xffffffffn) | 0;
  f[3] = Number(x1 & 0xffffffffn) | 0; f[4] = Number((x1 >> 32n) & 0xffffffffn) | 0;
  s.setReg(R.AX, rax); s.setReg(R.DX, rdx); s.setReg(R.CX, rcx);
  s.cpu.setFlags(Number(flags));
  s.cpu.mxcsr = Number(mx);
  s.step(1);
  const d: string[] = [];
  const fault = s.faults[0]?.vector ?? null;
  if (fault !== (trapped ? 19 : null)) d.push(`fault ${fault} (host: ${trapped ? '#XM' : 'none'})`);
  if (s.getXmm(0) !== wx0) d.push(`xmm0 ${hex(s.getXmm(0))} != ${hex(wx0)}`);
  const mm0 = (BigInt(f[1] >>> 0) << 32n) | BigInt(f[0] >>> 0);
  if (mm0 !== wmm0) d.push(`mm0 ${hex(mm0)} != ${hex(wmm0)}`);
  if (s.getReg(R.AX) !== (wrax & M64)) d.push(`rax ${hex(s.getReg(R.AX))} != ${hex(wrax)}`);
  if (s.getReg(R.CX) !== (wrcx & M64)) d.push(`rcx ${hex(s.getReg(R.CX))} != ${hex(wrcx)}`);
  const fl = BigInt(s.cpu.getFlags() & 0x8d5);
  if (fl !== wflags) d.push(`rflags ${hex(fl)} != ${hex(wflags)}`);
  if (BigInt(s.cpu.mxcsr) !== wmx) d.push(`mxcsr ${hex(BigInt(s.cpu.mxcsr))} != ${hex(wmx)}`);
  return d;
}

describe('host-recorded SSE/MMX vectors', () => {
  it('the vector file covers floating point, #XM traps, string compares and MMX', () => {
    expect(vectors.length).toBeGreaterThan(2000);
    expect(vectors.some((v) => v.out[6] === 1n)).toBe(true);
  });

  const families = [...new Set(vectors.map((v) => v.name.replace(/-.*$/, '')))];
  it.each(families)('%s matches the host', (family) => {
    const s = new Sandbox();
    const wrong: string[] = [];
    for (const v of vectors) {
      if (v.name.replace(/-.*$/, '') !== family) continue;
      const d = replay(s, v);
      if (d.length) wrong.push(`${v.line}: ${d.join('; ')}`);
    }
    expect(wrong.slice(0, 5), `${wrong.length} vectors differ`).toEqual([]);
  });
});

/**
 * Replays the instruction cases captured on the real CPU (test/golden/insn):
 * each case loads registers, flags, XMM state and scratch memory, executes
 * one instruction and compares everything the SDM defines. An ISA extension
 * that CPUID does not advertise must raise #UD instead.
 */
import { describe, expect, it } from 'vitest';
import { Sandbox } from '../emu/cpu/sandbox.js';
import { cpuid, Leaf1Ecx, Ext1Ecx } from '../emu/cpu/cpuid.js';
// @ts-expect-error: plain ESM helper shared with the generator
import { FAMILIES, GPRS, loadFamily, inputState, expectedState } from './golden/insn/load.mjs';

interface State { gpr: bigint[]; rflags: bigint; xmm: bigint[]; mxcsr: bigint; mem: Uint8Array | null; flagsMask: bigint; undefinedRegs: string[]; fault: string | null }
interface Case { asm: string; bytes: string; in: Record<string, string> }
interface Form { form: string; isa: string; flagsMask: string; cases: Case[] }

const RSP = 4;
const [, , ecx1] = cpuid(1, 0, 0);
const [, ebx7] = cpuid(7, 0, 0);
const [, , ecxExt] = cpuid(0x80000001, 0, 0);
const ADVERTISED: Record<string, boolean> = {
  'x86-64': true,
  sse3: (ecx1 & Leaf1Ecx.SSE3) !== 0,
  ssse3: (ecx1 & Leaf1Ecx.SSSE3) !== 0,
  'sse4.1': (ecx1 & Leaf1Ecx.SSE41) !== 0,
  'sse4.2': (ecx1 & Leaf1Ecx.SSE42) !== 0,
  popcnt: (ecx1 & Leaf1Ecx.POPCNT) !== 0,
  lzcnt: (ecxExt & Ext1Ecx.ABM) !== 0,
  bmi1: (ebx7 & (1 << 3)) !== 0,
  bmi2: (ebx7 & (1 << 8)) !== 0,
};

/** Without BMI1, F3 0F BC executes as BSF, so the host's TZCNT results do not apply (test/cpu covers it). */
const tzcntWithoutBmi1 = (f: Form): boolean => f.form.startsWith('tzcnt') && !ADVERTISED.bmi1;

const hex = (v: bigint): string => '0x' + v.toString(16);
let sandbox: Sandbox | null = null;

function run(c: Case, codeBase: number, memBase: number): { s: Sandbox; vector: number | null } {
  sandbox ??= new Sandbox(0x20010000);
  const s = sandbox;
  const st: State = inputState(c);
  st.gpr.forEach((v, r) => { if (r !== RSP) s.setReg(r, v); });
  s.setReg(RSP, 0x8000n);
  s.cpu.setFlags(Number(st.rflags));
  st.xmm.forEach((v, n) => s.setXmm(n, v));
  s.cpu.mxcsr = Number(st.mxcsr);
  if (st.mem) s.phys.bytes.set(st.mem, memBase);
  s.load(codeBase, Buffer.from(c.bytes, 'hex'));
  s.faults = [];
  s.step(1);
  return { s, vector: s.faults.length ? s.faults[0].vector : null };
}

/** Differences between the emulator's state and the CPU's, as readable lines. */
function compare(s: Sandbox, e: State, memBase: number): string[] {
  const out: string[] = [];
  e.gpr.forEach((want, r) => {
    if (r === RSP || e.undefinedRegs.includes(GPRS[r])) return;
    const got = s.getReg(r);
    if (got !== want) out.push(`${GPRS[r]} ${hex(got)} != ${hex(want)}`);
  });
  const flags = BigInt(s.cpu.getFlags());
  if ((flags ^ e.rflags) & e.flagsMask) out.push(`rflags ${hex(flags)} != ${hex(e.rflags)} (mask ${hex(e.flagsMask)})`);
  e.xmm.forEach((want, n) => {
    if (e.undefinedRegs.includes(`xmm${n}`)) return;
    const got = s.getXmm(n);
    if (got !== want) out.push(`xmm${n} ${hex(got)} != ${hex(want)}`);
  });
  if (BigInt(s.cpu.mxcsr) !== e.mxcsr) out.push(`mxcsr ${hex(BigInt(s.cpu.mxcsr))} != ${hex(e.mxcsr)}`);
  if (e.mem) {
    const got = s.phys.bytes.subarray(memBase, memBase + e.mem.length);
    if (Buffer.compare(Buffer.from(got), Buffer.from(e.mem)) !== 0) out.push('scratch memory differs');
  }
  return out;
}

for (const family of FAMILIES as string[]) {
  const doc = loadFamily(family) as { codeBase: string; memBase: string; forms: Form[] };
  const codeBase = Number(doc.codeBase), memBase = Number(doc.memBase);
  describe(`golden ${family}`, () => {
    for (const form of doc.forms) {
      if (tzcntWithoutBmi1(form)) continue;
      if (!ADVERTISED[form.isa]) {
        it(`${form.form} raises #UD: CPUID does not advertise ${form.isa}`, () => {
          for (const c of form.cases) expect(run(c, codeBase, memBase).vector, c.asm).toBe(6);
        });
        continue;
      }
      it(`${form.form} matches the CPU on ${form.cases.length} cases`, () => {
        const failures: string[] = [];
        for (const c of form.cases) {
          const e: State = expectedState(c, form);
          const { s, vector } = run(c, codeBase, memBase);
          let diffs: string[];
          if (e.fault === 'DE') diffs = vector === 0 ? compare(s, e, memBase) : [`expected #DE, got ${vector ?? 'no fault'}`];
          else diffs = vector !== null ? [`fault ${s.faults[0].message}`] : compare(s, e, memBase);
          if (diffs.length) failures.push(`${c.asm} [${c.bytes}] in=${JSON.stringify(c.in)}: ${diffs.join('; ')}`);
        }
        expect(failures.slice(0, 5), `${failures.length} of ${form.cases.length} cases differ`).toEqual([]);
      });
    }
  });
}

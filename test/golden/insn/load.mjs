// Reader for the committed golden data (no gcc needed). For the replay test:
//
//   import { FAMILIES, loadFamily, inputState, expectedState } from '../golden/insn/load.mjs';
//   for (const fam of FAMILIES) for (const form of loadFamily(fam).forms) for (const c of form.cases) {
//     const s = inputState(c);           // full machine state to load
//     ... write c.bytes at doc.codeBase, run one instruction ...
//     const e = expectedState(c, form);  // what to compare, see README.md
//   }
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const FAMILIES = ['alu', 'shift', 'muldiv', 'bits', 'bmi', 'misc', 'string', 'sse-int', 'sse-fp'];
export const GPRS = ['rax', 'rcx', 'rdx', 'rbx', 'rsp', 'rbp', 'rsi', 'rdi', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15'];

/** Parsed <family>.json.gz: { format, family, cpu, codeBase, memBase, forms: [{ form, isa, flagsMask, cases }] } */
export function loadFamily(name, dir = path.join(here, 'cases')) {
  return JSON.parse(zlib.gunzipSync(fs.readFileSync(path.join(dir, `${name}.json.gz`))).toString('utf8'));
}

function state(rec, base) {
  const gpr = GPRS.map((r) => (rec[r] !== undefined ? BigInt(rec[r]) : base ? base.gpr[GPRS.indexOf(r)] : 0n));
  const xmm = Array.from({ length: 16 }, (_, i) => (rec[`xmm${i}`] !== undefined ? BigInt(rec[`xmm${i}`]) : base ? base.xmm[i] : 0n));
  return {
    gpr, // rsp is never used by a case (0 here; leave the emulator's own value)
    rflags: BigInt(rec.rflags),
    xmm, // 128-bit values; lane 0 = least significant bits
    mxcsr: rec.mxcsr !== undefined ? BigInt(rec.mxcsr) : base ? base.mxcsr : 0x1f80n,
    mem: rec.mem !== undefined ? Uint8Array.from(Buffer.from(rec.mem, 'hex')) : base ? base.mem : null, // at memBase
  };
}

/** Full input state: registers not listed are 0, MXCSR 0x1f80, no scratch memory. */
export function inputState(c) {
  return state(c.in);
}

/**
 * Full expected state after the instruction: registers not in "out" keep
 * their input value. flagsMask: compare (actual ^ rflags) & flagsMask only.
 * undefinedRegs: registers whose value is architecturally undefined (the
 * recorded value is what this CPU did).
 */
export function expectedState(c, form) {
  const s = state(c.out, inputState(c));
  s.flagsMask = BigInt(c.flagsMask ?? form.flagsMask);
  s.undefinedRegs = c.undefined ?? [];
  s.fault = c.fault ?? null;
  return s;
}

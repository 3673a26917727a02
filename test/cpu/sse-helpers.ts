/** Small helpers shared by the SSE tests: building xmm values from lanes and running one instruction. */
import { Sandbox } from '../../emu/cpu/sandbox.js';

const buf = new ArrayBuffer(16);
const f64 = new Float64Array(buf);
const f32 = new Float32Array(buf);
const u32 = new Uint32Array(buf);

function fromWords(): bigint {
  return (BigInt(u32[3]) << 96n) | (BigInt(u32[2]) << 64n) | (BigInt(u32[1]) << 32n) | BigInt(u32[0]);
}

function toWords(v: bigint): void {
  for (let k = 0; k < 4; k++) u32[k] = Number((v >> BigInt(32 * k)) & 0xffffffffn);
}

/** An xmm value with binary64 lanes (low first). */
export function pd(lo: number, hi = 0): bigint { f64[0] = lo; f64[1] = hi; return fromWords(); }
/** An xmm value with binary32 lanes (low first). */
export function ps(a: number, b = 0, c = 0, d = 0): bigint { f32[0] = a; f32[1] = b; f32[2] = c; f32[3] = d; return fromWords(); }
/** An xmm value from dwords (low first). */
export function dw(a: number, b = 0, c = 0, d = 0): bigint { u32[0] = a; u32[1] = b; u32[2] = c; u32[3] = d; return fromWords(); }

export function lanesF64(v: bigint): number[] { toWords(v); return [f64[0], f64[1]]; }
export function lanesF32(v: bigint): number[] { toWords(v); return [f32[0], f32[1], f32[2], f32[3]]; }
export function lanesU32(v: bigint): number[] { toWords(v); return [u32[0], u32[1], u32[2], u32[3]]; }

/** Bits of a binary64 / binary32 value. */
export function bits64(x: number): bigint { f64[0] = x; return (BigInt(u32[1]) << 32n) | BigInt(u32[0]); }
export function bits32(x: number): number { f32[0] = x; return u32[0]; }

export const CODE = 0x1000;
export const DATA = 0x8000;

/** A sandbox with `bytes` at CODE; `setup` runs before the single step. */
export function run(bytes: number[], setup: (s: Sandbox) => void = () => {}): Sandbox {
  const s = new Sandbox();
  s.load(CODE, bytes);
  setup(s);
  s.step(1);
  return s;
}

/** The vector of the first fault, or null. */
export function vector(s: Sandbox): number | null { return s.faults.length ? s.faults[0].vector : null; }

/** Writes bytes into guest memory. */
export function poke(s: Sandbox, addr: number, bytes: number[] | Uint8Array): void { s.phys.bytes.set(bytes, addr); }
export function peek(s: Sandbox, addr: number, n: number): number[] { return Array.from(s.phys.bytes.subarray(addr, addr + n)); }

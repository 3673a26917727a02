// Random x87 operands for host.c: node gen.mjs OPS[,OPS…] SEED COUNT → "op cw ase asig bse bsig" lines.
// Operand mix: ordinary, near 1, extreme, denormal, pseudo-denormal, zero, inf, NaN, unsupported, integers.
let seed = Number(process.argv[3] ?? 1);
function rnd() { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed / 0x80000000; }
function ri(n) { return Math.floor(rnd() * n); }
function r64() { let v = 0n; for (let i = 0; i < 4; i++) v = (v << 16n) | BigInt(ri(65536)); return v; }
const hex = (v, n) => v.toString(16).padStart(n, '0');
function sigFew() { let v = 1n << 63n; const k = ri(4); for (let i = 0; i < k; i++) v |= 1n << BigInt(ri(63)); return v; }
function operand(kind) {
  const s = ri(2) << 15;
  const k = kind ?? ri(100);
  if (k < 40) return [s | (0x3fff - 70 + ri(140)), (1n << 63n) | r64()];
  if (k < 50) return [s | (0x3fff - 3 + ri(6)), ri(2) ? sigFew() : (1n << 63n) | r64()];
  if (k < 56) return [s | ri(0x7fff), (1n << 63n) | r64()];
  if (k < 62) return [s | (1 + ri(70)), (1n << 63n) | (ri(2) ? r64() : sigFew())];
  if (k < 67) return [s | (0x7ffe - ri(70)), (1n << 63n) | (ri(2) ? r64() : sigFew())];
  if (k < 72) return [s, ri(2) ? r64() >> BigInt(1 + ri(63)) : 1n << BigInt(ri(63))];
  if (k < 74) return [s, (1n << 63n) | r64()]; // pseudo-denormal
  if (k < 78) return [s, 0n];
  if (k < 81) return [s | 0x7fff, 1n << 63n];
  if (k < 84) return [s | 0x7fff, (3n << 62n) | (r64() >> BigInt(2 + ri(60)))];
  if (k < 86) return [s | 0x7fff, (1n << 63n) | ((r64() >> 2n) | 1n)];
  if (k < 87) return [s | ri(0x8000), r64() >> 1n]; // unsupported
  // integers and halves for rounding
  const e = ri(66); return [s | (0x3fff + e - 1), (1n << 63n) | (r64() >> BigInt(Math.min(63, e + 1)) << BigInt(Math.max(0, 64 - e - 2)) >> 0n)];
}
function cw() {
  const rc = ri(4), pc = [0, 2, 3, 3, 3][ri(5)];
  let mask = 0x3f;
  if (ri(8) === 0) mask &= ~(1 << ri(6));
  return 0x40 | mask | (pc << 8) | (rc << 10);
}
const ops = process.argv[2].split(',');
const n = Number(process.argv[4] ?? 1000);
const out = [];
for (const op of ops) for (let i = 0; i < n; i++) {
  let a = operand(), b = operand();
  let c = cw(); if (op === 'xtract') c |= 0x3f;
  if (op === 'ld64') { a = [0, r64() & (ri(8) ? ~0n : 0x800fffffffffffffn) | (ri(10)?0n:0x7ff0000000000000n)]; }
  if (op === 'ld32') { a = [0, r64() & (ri(8) ? 0xffffffffn : 0x807fffffn) | (ri(10)?0n:0x7f800000n)]; }
  if (op === 'ild64' || op === 'ild16' || op === 'ild32') { a = [0, r64() >> BigInt(ri(64))]; if (ri(2)) a[1] = (-a[1]) & ((1n<<64n)-1n); }
  if (op === 'bld') { let v = 0n; for (let d = 0; d < 18; d++) v |= BigInt(ri(10)) << BigInt(4*d); a = [0, v]; b = [ri(2) ? 0x8000 : 0, 0n]; }
  if (op === 'prem' || op === 'prem1') { if (ri(2)) { b = [(ri(2) << 15) | Math.max(1, (a[0] & 0x7fff) - ri(200)), b[1]]; } }
  if (op === 'scale') { if (ri(3)) b = [ri(2) << 15 | (0x3fff + ri(16)), b[1]]; }
  out.push(`${op} ${hex(c, 4)} ${hex(a[0], 4)} ${hex(a[1], 16)} ${hex(b[0], 4)} ${hex(b[1], 16)}`);
}
console.log(out.join('\n'));

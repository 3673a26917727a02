// The AssemblyScript programs of test/fixtures/as/ (see its README): compiled
// with the pinned asc at test time, run on V8 with JS implementations of the
// two `sys` imports, and compared byte for byte with the committed goldens
// (written by `node test/fixtures/as/build.mjs --update`). The goldens are
// then checked against facts computed independently here: node:crypto's
// SHA-256, a JS sieve, BigInt arithmetic, JS sorting, and JS floats.
//
// Later the same .wasm files will also run natively and under `emu run`,
// compiled by tools/wasm2x64, and must print the same bytes.

import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import {
  ABORT_STATUS, PROGRAMS, SYS_IMPORTS, checkInterface, compile, expected, run,
} from './fixtures/as/build.mjs';

const golden = (name: string) => expected(name).stdout.toString('utf8');

describe('AssemblyScript programs on V8', () => {
  for (const name of PROGRAMS) {
    it(`${name}: imports only sys.*, output matches the golden`, async () => {
      const wasm = await compile(name);
      const module = new WebAssembly.Module(wasm);
      for (const imp of WebAssembly.Module.imports(module)) {
        expect(imp.module).toBe('sys');
        expect(SYS_IMPORTS[imp.name], `import sys.${imp.name}`).toBe(imp.kind);
      }
      expect(checkInterface(wasm)).toEqual([]);

      const r = run(wasm);
      const e = expected(name);
      expect(r.trap).toBeNull();
      expect(r.stdout.toString('utf8')).toBe(e.stdout.toString('utf8')); // readable diff
      expect(r.stdout.equals(e.stdout)).toBe(true); // byte for byte
      expect(r.stderr.equals(e.stderr)).toBe(true);
      expect(r.status).toBe(e.status);
      expect(e.status).toBe(name === 'panic' ? ABORT_STATUS : 0);
    });
  }
});

describe('the goldens agree with independent computations', () => {
  it('sha256: node:crypto', () => {
    const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
    const lines: string[] = [];
    const str = (label: string, s: string) => lines.push(`${label} ${sha(Buffer.from(s, 'utf8'))}`);
    str('empty', '');
    str('abc', 'abc');
    str('nist448', 'abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq');
    str('nist896', 'abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu');
    str('fox', 'The quick brown fox jumps over the lazy dog');
    str('utf8', 'héllo wörld — ✓ 🦀');
    const pat = Uint8Array.from({ length: 256 }, (_, i) => (7 * i + 3) & 0xff);
    for (const n of [55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 255]) lines.push(`pattern${n} ${sha(pat.subarray(0, n))}`);
    lines.push(`million-a ${sha(Buffer.alloc(1000000, 'a'))}`);
    const N = 1 << 20;
    const gen = Uint8Array.from({ length: N }, (_, i) => Math.imul(i, 0x9e3779b1) >>> 24);
    lines.push(`gen1MiB ${sha(gen)}`, `gen1MiB-chunked ${sha(gen)}`);
    const chunks = [1, 3, 63, 64, 65, 127, 1000, 4096, 7, 55, 56, 57, 0, 100000];
    let k = 0;
    for (let off = 0; off < N; k++) off += Math.min(chunks[k % chunks.length], N - off);
    lines.push(`chunks ${k} same`);
    let d: Buffer = createHash('sha256').digest();
    for (let i = 0; i < 1000; i++) d = createHash('sha256').update(d).digest();
    lines.push(`chain1000 ${d.toString('hex')}`);
    // Known published digests, to be sure the oracle is wired right.
    expect(lines[1]).toBe('abc ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(lines[17]).toBe('million-a cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0');
    expect(golden('sha256')).toBe(lines.join('\n') + '\n');
  });

  it('sieve: a JS sieve', () => {
    const N = 10_000_000;
    const s = new Uint8Array(N).fill(1);
    s[0] = s[1] = 0;
    for (let i = 2; i * i < N; i++) if (s[i]) for (let j = i * i; j < N; j += i) s[j] = 0;
    const primes: number[] = [];
    for (let i = 0; i < N; i++) if (s[i]) primes.push(i);
    const pi = [1, 2, 3, 4, 5, 6].map((e) => primes.filter((p) => p < 10 ** e).length);
    let twins = 0, gap = 0, after = 0, sum = 0n;
    primes.forEach((p, i) => {
      sum += BigInt(p);
      if (i > 0) {
        if (p - primes[i - 1] === 2) twins++;
        if (p - primes[i - 1] > gap) [gap, after] = [p - primes[i - 1], primes[i - 1]];
      }
    });
    const count = primes.length, last = primes[count - 1];
    const segments = Math.ceil(N / 32768), base = primes.filter((p) => p * p <= N).length;
    // Published values: pi(10^7) = 664579, the largest prime below 10^7 is 9999991.
    expect([count, last]).toEqual([664579, 9999991]);
    expect(golden('sieve')).toBe([
      `pi(10^k): ${pi.join(' ')} ${count}`,
      `byte sieve: count ${count} last ${last} sum ${sum} twins ${twins}`,
      `largest gap ${gap} after ${after}`,
      `primes below 100: ${primes.filter((p) => p < 100).join(' ')}`,
      `prime #100000 = ${primes[99999]}`,
      `prime #600000 = ${primes[599999]}`,
      `bit sieve: count ${count} last ${last}`,
      `segmented sieve: ${segments} segments, ${base} base primes, count ${count} last ${last} sum ${sum}`,
      'all sieves agree',
      '',
    ].join('\n'));
  });

  it('bignum: BigInt', () => {
    const fact = (n: number) => { let r = 1n; for (let k = 2n; k <= BigInt(n); k++) r *= k; return r; };
    let [x, y] = [0n, 1n];
    for (let k = 0; k < 1000; k++) [x, y] = [y, x + y];
    const fib = x;
    const lines: string[] = [];
    const show = (label: string, n: bigint, full = true) => {
      const dec = n.toString();
      const digitSum = [...dec].reduce((a, c) => a + Number(c), 0);
      const limbs = Math.ceil(n.toString(2).length / 32);
      const top = (n >> BigInt(32 * (limbs - 1))).toString(16).padStart(8, '0');
      lines.push(`${label}: ${dec.length} digits, digit sum ${digitSum}, ${limbs} limbs, top limb ${top}`);
      lines.push(`${label} = ${full || dec.length <= 40 ? dec : `${dec.slice(0, 20)}...${dec.slice(-20)}`}`);
    };
    show('500!', fact(500));
    lines.push('500! by binary splitting: equal', '500! / 500 / ... / 2 = 1, remainders 0');
    show('2^1000', 2n ** 1000n);
    lines.push('2^1000 by squaring: equal');
    show('fib(1000)', fib);
    lines.push('fib(1000) by fast doubling: equal');
    show('C(1000,500)', fact(1000) / (fact(500) * fact(500)));
    show('(2^64-1)^2', (2n ** 64n - 1n) ** 2n);
    show('10^50-1', 10n ** 50n - 1n);
    show('2^1000-1', 2n ** 1000n - 1n);
    show('2^1000+fib(1000)', 2n ** 1000n + fib);
    show('10000!', fact(10000), false);
    lines.push('10000! by binary splitting: equal', 'failures 0');
    expect(golden('bignum')).toBe(lines.join('\n') + '\n');
  });

  it('sort: the same xorshift64* data sorted by JS', () => {
    const M = (1n << 64n) - 1n;
    let state = 0x9e3779b97f4a7c15n;
    const next = () => {
      let x = state;
      x ^= x >> 12n;
      x ^= (x << 25n) & M;
      x ^= x >> 27n;
      state = x;
      return (x * 0x2545f4914f6cdd1dn) & M;
    };
    const ints: number[] = [];
    for (let i = 0; i < 100000; i++) {
      const r = next();
      ints.push((i & 3) === 0 ? Number(r % 1000n) - 500 : Number(BigInt.asIntN(32, r >> 32n)));
    }
    const longs: bigint[] = [];
    for (let i = 0; i < 50000; i++) longs.push(next());
    const checksum = (a: (number | bigint)[]) =>
      a.reduce<bigint>((s, v, i) => (s + BigInt(i + 1) * BigInt.asUintN(64, BigInt(v))) & M, 0n).toString(16).padStart(16, '0');
    const hex = (v: bigint) => v.toString(16).padStart(16, '0');
    const popcount = (v: bigint) => [...v.toString(2)].filter((c) => c === '1').length;
    const cmpBig = (a: bigint, b: bigint) => (a < b ? -1 : a > b ? 1 : 0);

    const asc = [...ints].sort((a, b) => a - b);
    const desc = [...ints].sort((a, b) => b - a);
    const byByte = [...ints].sort((a, b) => (a & 0xff) - (b & 0xff)); // stable, like merge sort
    const asc64 = [...longs].sort(cmpBig);
    const pop64 = [...longs].sort((a, b) => popcount(a) - popcount(b) || cmpBig(b, a));
    const seq = Array.from({ length: 100000 }, (_, i) => i - 50000);

    const out = '\n' + golden('sort');
    const sums = (kind: string) => [...out.matchAll(new RegExp(`^(\\w+) +${kind} +n=\\d+ sorted perm compares=\\d+ checksum=(\\w+)$`, 'gm'))]
      .map((m) => `${m[1]} ${m[2]}`);
    expect(sums('i32 asc')).toEqual([...['quick', 'merge', 'heap'].map((a) => `${a} ${checksum(asc)}`), `quick ${checksum(seq)}`]);
    expect(sums('i32 desc')).toEqual([...['quick', 'merge', 'heap'].map((a) => `${a} ${checksum(desc)}`), `quick ${checksum([...seq].reverse())}`]);
    expect(sums('i32 byte')).toEqual([`merge ${checksum(byByte)}`]);
    expect(sums('u64 asc')).toEqual(['quick', 'merge', 'heap'].map((a) => `${a} ${checksum(asc64)}`));
    expect(sums('u64 pop')).toEqual(['quick', 'merge', 'heap'].map((a) => `${a} ${checksum(pop64)}`));
    expect(out).toContain(`\ninput ${ints.slice(0, 8).join(' ')}\n`);
    expect(out).toContain(`\nsmallest ${asc.slice(0, 8).join(' ')}\n`);
    expect(out).toContain(`\nlargest ${desc.slice(0, 8).join(' ')}\n`);
    expect(out).toContain(`\nbytefirst ${byByte.slice(0, 8).join(' ')}\n`);
    expect(out).toContain(`\nsmallest64 ${asc64.slice(0, 3).map(hex).join(' ')}\n`);
    expect(out).toContain(`\nfewestbits ${pop64.slice(0, 3).map(hex).join(' ')}\n`);
    expect(out.endsWith('\nfailures 0\n')).toBe(true);
  });

  it('interp: the programs\' results computed in JS', () => {
    const i64 = (v: bigint) => BigInt.asIntN(64, v).toString();
    const fact = (n: bigint): bigint => (n <= 1n ? 1n : n * fact(n - 1n));
    const fizz = Array.from({ length: 20 }, (_, k) => {
      const i = k + 1;
      return i % 15 === 0 ? 'FizzBuzz' : i % 3 === 0 ? 'Fizz' : i % 5 === 0 ? 'Buzz' : String(i);
    }).join(',');
    const squares = Array.from({ length: 11 }, (_, k) => `${(k - 5) ** 2}→`).join('');
    const MIN = -(2n ** 63n);
    let best = 0, bestLen = 0;
    for (let start = 1; start < 10000; start++) {
      let n = start, len = 0;
      while (n !== 1) { n = n % 2 ? 3 * n + 1 : n / 2; len++; }
      if (len > bestLen) [best, bestLen] = [start, len];
    }
    const values = [
      '500000500000',
      '196418', i64(fact(20n)), i64(fact(21n)),
      fizz, String(fizz.length), squares, String([...squares].length),
      '-3', '-1', '-3', '1', i64(-MIN), '0', String(2n ** 40n), i64(1n << 63n), '1', '15', '-16',
      String(0x123456789abcdef0n & 0x0f0f0f0f0f0f0f0fn), String(-(0x1234n ^ -1n)), i64(3037000500n ** 2n),
      '2', String(5 | 7 | 5), '1', '21',
      String(best), String(bestLen),
      '1', 'vm error: division by zero',
      'vm error: stack overflow',
      'vm error: call stack overflow',
    ];
    const got = golden('interp').split('\n')
      .filter((l) => l !== '' && !l.startsWith('== ') && !l.startsWith('steps '))
      .map((l) => l.replace(/ at pc \d+, depth \d+$/, ''));
    expect(got).toEqual(values);
  });

  it('floats: the same operations in JS', () => {
    const dv = new DataView(new ArrayBuffer(8));
    const b64 = (x: number) => { dv.setFloat64(0, x); return dv.getBigUint64(0).toString(16).padStart(16, '0'); };
    const b32 = (x: number) => { dv.setFloat32(0, x); return dv.getUint32(0).toString(16).padStart(8, '0'); };
    const d = (x: number) => (Number.isNaN(x) ? 'nan' : b64(x));
    const f = (x: number) => (Number.isNaN(x) ? 'nan' : b32(x));
    const fr = Math.fround;
    const nearest = (x: number) => {
      if (!Number.isFinite(x) || Number.isInteger(x)) return x;
      const lo = Math.floor(x), diff = x - lo;
      const r = diff < 0.5 ? lo : diff > 0.5 ? lo + 1 : lo % 2 === 0 ? lo : lo + 1;
      return r === 0 && x < 0 ? -0 : r;
    };
    // Correctly rounded BigInt -> f32 (Math.fround(Number(v)) would round twice).
    const toF32 = (v: bigint) => {
      let m = v < 0n ? -v : v;
      const len = m.toString(2).length;
      if (len > 24) {
        const shift = BigInt(len - 24), q = m >> shift, rem = m - (q << shift), half = 1n << (shift - 1n);
        m = (rem > half || (rem === half && (q & 1n) === 1n) ? q + 1n : q) << shift;
      }
      return fr(v < 0n ? -Number(m) : Number(m));
    };
    const sat = (x: number, bits: number, signed: boolean) => {
      const lo = signed ? -(2n ** BigInt(bits - 1)) : 0n;
      const hi = signed ? 2n ** BigInt(bits - 1) - 1n : 2n ** BigInt(bits) - 1n;
      if (Number.isNaN(x)) return '0';
      if (x === Infinity) return hi.toString();
      if (x === -Infinity) return lo.toString();
      const t = BigInt(Math.trunc(x));
      return (t < lo ? lo : t > hi ? hi : t).toString();
    };
    const truncs = (x: number) => `i32 ${sat(x, 32, true)} u32 ${sat(x, 32, false)} i64 ${sat(x, 64, true)} u64 ${sat(x, 64, false)}`;
    const NaN64 = NaN, MINSUB = 5e-324, MAXF32 = 3.4028234663852886e38;

    const lines: string[] = [];
    const D = (label: string, x: number) => lines.push(`${label}: ${d(x)}`);
    const F = (label: string, x: number) => lines.push(`${label}: ${f(x)}`);
    D('f64 0.1+0.2', 0.1 + 0.2);
    D('f64 0.3-0.1', 0.3 - 0.1);
    D('f64 0.1*3', 0.1 * 3);
    D('f64 1/3', 1 / 3);
    D('f64 2/3', 2 / 3);
    D('f64 1e308*10', 1e308 * 10);
    D('f64 -1e308*10', -1e308 * 10);
    D('f64 inf-inf', Infinity - Infinity);
    D('f64 0/0', 0 / 0);
    D('f64 1/-0', 1 / -0);
    D('f64 -0+0', -0 + 0);
    D('f64 -0-0', -0 - 0);
    D('f64 -0*5', -0 * 5);
    D('f64 minsub/2', MINSUB / 2);
    D('f64 minsub*1.5', MINSUB * 1.5);
    D('f64 minnorm/4', 2.2250738585072014e-308 / 4);
    D('f64 maxsub+minsub', 2.225073858507201e-308 + MINSUB);
    D('f64 (1+2^-52)*(1-2^-53)', 1.0000000000000002 * 0.9999999999999999);
    D('f64 2^53+1', 2 ** 53 + 1);
    D('f64 2^53+3', 2 ** 53 + 3);
    D('f64 1e16+1.5', 1e16 + 1.5);
    D('f64 sqrt 2', Math.sqrt(2));
    D('f64 sqrt 1e-300', Math.sqrt(1e-300));
    D('f64 sqrt minsub', Math.sqrt(MINSUB));
    D('f64 sqrt -0', Math.sqrt(-0));
    D('f64 sqrt -1', Math.sqrt(-1));
    D('f64 sqrt inf', Math.sqrt(Infinity));
    D('f64 min(0,-0)', Math.min(0, -0));
    D('f64 min(-0,0)', Math.min(-0, 0));
    D('f64 max(0,-0)', Math.max(0, -0));
    D('f64 max(-0,0)', Math.max(-0, 0));
    D('f64 min(1,nan)', Math.min(1, NaN64));
    D('f64 max(nan,1)', Math.max(NaN64, 1));
    D('f64 min(-inf,5)', -Infinity);
    D('f64 max(-inf,5)', 5);
    D('f64 copysign(3,-0)', -3);
    D('f64 copysign(-3,nan)', 3);
    D('f64 copysign(inf,-1)', -Infinity);
    lines.push('f64 abs(-nan:1): 7ff8000000000001', 'f64 neg(nan:2): fff8000000000002', 'f64 copysign(nan:3,-1): fff4000000000003');
    D('f64 abs(-0)', 0);
    D('f64 neg(0)', -0);
    D('f64 1-0.9', 1 - 0.9);
    D('f64 1e300*1e10/1e10', (1e300 * 1e10) / 1e10);
    D('f64 3*(1/3)', 3 * (1 / 3));
    for (const x of [2.5, -2.5, 0.5, -0.5, 1.5, -1.4999999999999998, 4503599627370497, -0, 1e300, 0.49999999999999994]) {
      lines.push(`round ${b64(x)}: floor ${b64(Math.floor(x))} ceil ${b64(Math.ceil(x))} trunc ${b64(Math.trunc(x))} nearest ${b64(nearest(x))}`);
      const y = fr(x);
      lines.push(`roundf ${b32(y)}: floor ${b32(Math.floor(y))} ceil ${b32(Math.ceil(y))} trunc ${b32(Math.trunc(y))} nearest ${b32(nearest(y))}`);
    }
    F('f32 0.1+0.2', fr(fr(0.1) + fr(0.2)));
    F('f32 1/3', fr(1 / 3));
    F('f32 0.1*3', fr(fr(0.1) * 3));
    F('f32 2^24+1', fr(2 ** 24 + 1));
    F('f32 2^24+3', fr(2 ** 24 + 3));
    F('f32 max*2', fr(MAXF32 * 2));
    F('f32 minsub/2', fr(fr(1.401298464324817e-45) / 2));
    F('f32 minnorm/3', fr(fr(1.1754943508222875e-38) / 3));
    F('f32 sqrt 2', fr(Math.sqrt(2)));
    F('f32 sqrt 0.01', fr(Math.sqrt(fr(0.01))));
    F('f32 sqrt -4', NaN);
    F('f32 min(0,-0)', -0);
    F('f32 max(-0,0)', 0);
    F('f32 min(nan,1)', NaN);
    F('f32 copysign(2,-inf)', -2);
    lines.push('f32 abs(-nan:5): 7fc00005', 'f32 neg(nan:6): ffc00006');
    F('f32 1e20*1e20', fr(fr(1e20) * fr(1e20)));
    F('f32 (0.1+0.2)+0.3', fr(fr(fr(0.1) + fr(0.2)) + fr(0.3)));
    F('f32 0.1+(0.2+0.3)', fr(fr(0.1) + fr(fr(0.2) + fr(0.3))));
    for (const x of [3e9, -3e9, NaN, -1.9, 2147483647.9, -2147483648.9, Infinity, -Infinity, -0.5, 4294967295.5, 5e9,
      9.3e18, -9.3e18, 9223372036854774784, 9223372036854775808, -1e19, 18446744073709549568, 2e19, -0.9]) {
      lines.push(`trunc ${b64(x)}: ${truncs(x)}`);
    }
    for (const x of [3e9, -1, 1.8446743e19, 9.223372e18, -9.223373e18, 16777217, NaN, -Infinity, 2147483520].map(fr)) {
      lines.push(`truncf ${b32(x)}: ${truncs(x)}`);
    }
    const fromInt = (kind: string, v: bigint) => lines.push(`from ${kind} ${v}: f64 ${b64(Number(v))} f32 ${b32(toF32(v))}`);
    for (const v of [2n ** 63n - 1n, -(2n ** 63n), 9007199254740993n, -9007199254740993n, 0x7fffff4000000001n,
      0x7ffffffffffffdffn, -1n, 16777217n, 0x20000010000001n, -0x20000010000001n]) fromInt('i64', v);
    for (const v of [2n ** 64n - 1n, 0x8000000000000401n, 0x8000000000000400n, 0x8000000000000c00n, 0x8000000000000bffn,
      0x8000008000000001n, 0x8000008000000000n, 0x8000018000000000n, 9007199254740993n, 0xffffff7fffffffffn,
      0xfffffffffffffbffn, 0xfffffffffffffc00n]) fromInt('u64', v);
    for (const v of [-(2 ** 31), 2 ** 31 - 1, 16777217, 16777219, -16777219, -1, 0x7fffffbf, 0x7fffffc0]) {
      const u = v >>> 0;
      lines.push(`from i32 ${v}: f64 ${b64(v)} f32 ${b32(toF32(BigInt(v)))} as u32: f64 ${b64(u)} f32 ${b32(toF32(BigInt(u)))}`);
    }
    for (const x of [0.1, 1e40, -1e40, 1e-46, 3.4028235677973366e38, 3.4028235677973362e38, 1.401298464324817e-45,
      7.006492321624085e-46, 7.006492321624087e-46, 1.1754942807573643e-38, 16777217, -0, Infinity]) {
      lines.push(`demote ${b64(x)}: ${b32(fr(x))} promoted back ${b64(fr(x))}`);
    }
    lines.push('demote nan is nan: yes');
    D('7.5 % 2', 7.5 % 2);
    D('-7.5 % 2', -7.5 % 2);
    D('5 % inf', 5 % Infinity);
    D('1e300 % 3', 1e300 % 3);
    let fwd = 0, bwd = 0, sum = 0, c = 0;
    for (let k = 1; k <= 1000000; k++) fwd += 1.0 / (k * k);
    for (let k = 1000000; k >= 1; k--) bwd += 1.0 / (k * k);
    for (let k = 1; k <= 1000000; k++) {
      const y = 1.0 / (k * k) - c, t = sum + y;
      c = (t - sum) - y;
      sum = t;
    }
    D('basel forward', fwd);
    D('basel backward', bwd);
    D('basel kahan', sum);
    let hsum = 0, stall = 0;
    for (let k = 1; k <= 3000000; k++) {
      const before = hsum;
      hsum = fr(hsum + fr(1 / k));
      if (hsum === before && stall === 0) stall = k;
    }
    F('harmonic f32', hsum);
    lines.push(`harmonic f32 stalls at k: ${stall}`);
    let x = 1, iters = 0;
    for (;;) {
      const nx = 0.5 * (x + 2 / x);
      iters++;
      if (nx === x || iters === 100) break;
      x = nx;
    }
    D('newton sqrt 2', x);
    lines.push(`newton iterations: ${iters}`);
    let r = 0.3;
    for (let i = 0; i < 100000; i++) r = 3.9 * r * (1 - r);
    D('logistic 100000', r);
    const M = (1n << 64n) - 1n;
    let acc = 0n;
    for (let i = -50000; i < 50000; i++) {
      const v = i * 1234.5678;
      dv.setFloat32(0, v);
      acc = (acc * 31n + BigInt.asUintN(64, BigInt(Math.trunc(v))) + BigInt(dv.getUint32(0))) & M;
    }
    lines.push(`${acc.toString(16).padStart(16, '0')} <- conversion checksum`);

    // Everything but the Math.* lines (AssemblyScript's own libm) is checked.
    const got = golden('floats').split('\n').filter((l) => l !== '' && !/^Mathf?\./.test(l));
    expect(got).toEqual(lines);
  });
});

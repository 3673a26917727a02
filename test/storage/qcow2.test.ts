/**
 * qcow2 read-only, against images qemu-img made (test/fixtures/qcow2/make.sh): every image
 * reads exactly as `qemu-img convert -O raw` wrote it (SHA-256 in expected.json), what we
 * cannot read is refused in one line, and damaged tables are refused, never misread.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { createHash } from 'node:crypto';
import { nodeCodec, nodeEnv } from '../../emu/storage/node.js';
import { pakoCodec } from '../../emu/storage/pako-codec.js';
import { openDisk } from '../../emu/storage/open.js';
import { Qcow2Disk } from '../../emu/storage/qcow2.js';
import { describe as describeImage } from '../../emu/storage/info.js';
import { checkImage } from '../../emu/storage/check.js';
import { convertImage } from '../../emu/storage/convert.js';
import { ScratchOverlay } from '../../emu/storage/scratch.js';
import { type BlockFile, ImageError } from '../../emu/storage/host.js';
import type { Disk } from '../../emu/storage/disk.js';
import { ROOT, bundle, prng, runNode, tempDir } from './helpers.js';

const FIXTURES = path.join(ROOT, 'test/fixtures/qcow2');
interface Expected { sha256: string; virtualSize: number; clusterSize: number; version: number; dataBytes: number; zeroFlagBytes: number }
const expected: Record<string, Expected> = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'expected.json'), 'utf8'));
const READABLE = Object.keys(expected);

let dir = '';
let emu = '';
const f = (n: string) => path.join(dir, n);
const bytesOf = (name: string) => new Uint8Array(fs.readFileSync(f(name)));

beforeAll(async () => {
  dir = tempDir('qcow2');
  for (const gz of fs.readdirSync(FIXTURES).filter((n) => n.endsWith('.qcow2.gz'))) {
    fs.writeFileSync(f(gz.slice(0, -3)), zlib.gunzipSync(fs.readFileSync(path.join(FIXTURES, gz))));
  }
  emu = await bundle('emu-cli-qcow2', "import { main } from './emu/cli/main.ts'; main(process.argv.slice(2));");
});

function readAll(d: Disk, step = 65536): Uint8Array {
  const out = new Uint8Array(d.size);
  for (let p = 0; p < d.size; p += step) out.set(d.read(p, Math.min(step, d.size - p)), p);
  return out;
}
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
/** Byte equality without vitest's element-by-element diffing, which takes seconds on megabytes. */
const same = (a: Uint8Array, b: Uint8Array) => Buffer.from(a.buffer, a.byteOffset, a.length).equals(Buffer.from(b.buffer, b.byteOffset, b.length));

/** A qcow2 image held in memory, so that hundreds of damaged variants cost no file I/O. */
function memFile(name: string, bytes: Uint8Array): BlockFile {
  return {
    path: name,
    size: () => bytes.length,
    read: (pos, len) => bytes.slice(pos, Math.min(bytes.length, pos + len)),
    write: () => { throw new Error('read-only'); },
    sync: () => {},
    truncate: () => { throw new Error('read-only'); },
    close: () => {},
  };
}

/** What a damaged image gives: the ImageError it is refused with, or everything it reads. */
function outcome(name: string, bytes: Uint8Array): ImageError | Uint8Array {
  try {
    return readAll(Qcow2Disk.open(memFile(name, bytes), nodeCodec));
  } catch (e) {
    if (e instanceof ImageError) return e;
    throw e;
  }
}

describe('qcow2 images made by qemu-img', () => {
  it.each(READABLE)('%s reads as qemu-img convert -O raw wrote it', (name) => {
    const e = expected[name];
    const d = openDisk(nodeEnv, f(name)) as Qcow2Disk;
    expect(d.format).toBe('qcow2');
    expect([d.size, d.clusterSize, d.version]).toEqual([e.virtualSize, e.clusterSize, e.version]);
    expect(sha(readAll(d))).toBe(e.sha256);
    // qemu-img map's figures: guest bytes backed by data (standard or compressed), and by a zero flag.
    let data = 0, zero = 0;
    d.forEachCluster((c, m) => {
      const visible = Math.min(d.clusterSize, d.size - c * d.clusterSize);
      if (m.kind === 'data' || m.kind === 'compressed') data += visible;
      if (m.kind === 'zero') zero += visible;
    }, (err) => { throw err; });
    expect({ data, zero }).toEqual({ data: e.dataBytes, zero: e.zeroFlagBytes });
    d.close();
  });

  it('the fixtures cover v2 and v3, 512 B to 2 MiB clusters, compressed, zero-flag and preallocated zero clusters', () => {
    const kinds = new Set<string>();
    for (const name of READABLE) {
      const d = openDisk(nodeEnv, f(name)) as Qcow2Disk;
      kinds.add(`v${d.version}`).add(`cluster ${d.clusterSize}`);
      d.forEachCluster((_c, m) => kinds.add(`v${d.version} ${m.kind}`), (err) => { throw err; });
      for (let c = 0; c < d.clusters; c++) if (d.cluster(c).kind === 'unallocated') kinds.add(`v${d.version} unallocated`);
      d.close();
    }
    for (const k of ['v2', 'v3', 'cluster 512', 'cluster 4096', 'cluster 65536', 'cluster 2097152', 'v2 compressed', 'v3 compressed', 'v2 data', 'v3 data', 'v3 zero', 'v2 unallocated']) {
      expect(kinds, k).toContain(k);
    }
  });

  it.each(['v3-512-compressed.qcow2', 'v3-4k-mixed.qcow2', 'v3-2m-compressed.qcow2'])('%s: any offset and length reads the same bytes as one whole read', (name) => {
    const d = openDisk(nodeEnv, f(name));
    const whole = readAll(d, d.size);
    const r = prng(11);
    for (let i = 0; i < 300; i++) {
      const pos = Math.floor(r() * d.size), len = Math.floor(r() * Math.min(20000, d.size - pos));
      expect(same(d.read(pos, len), whole.subarray(pos, pos + len)), `${pos}+${len}`).toBe(true);
    }
    d.close();
  });

  it.each(READABLE)('%s reads the same with pako as with node:zlib (the browser path)', (name) => {
    const d = openDisk({ host: nodeEnv.host, codec: pakoCodec }, f(name));
    expect(sha(readAll(d))).toBe(expected[name].sha256);
    d.close();
  });

  it('info shows format, virtual size, cluster size and version', () => {
    const i = describeImage(openDisk(nodeEnv, f('v3-4k-mixed.qcow2')));
    expect(i).toMatchObject({ format: 'qcow2', size: 4195840, qcow2: { version: 3, clusterSize: 4096, dirty: false } });
    // 95744 guest bytes of data, as qemu-img map counts them: 23 whole clusters and the 1536-byte last one.
    expect(i.qcow2!.clusters.data + i.qcow2!.clusters.compressed).toBe(24);
    expect(i.qcow2!.clusters.zero).toBe(1);
  });

  it('convert to raw and to dfly gives the same content, and both check clean', () => {
    for (const name of ['v2-64k.qcow2', 'v3-2m-compressed.qcow2']) {
      convertImage(nodeEnv, f(name), f(`${name}.raw`), 'raw');
      expect(sha(bytesOf(`${name}.raw`))).toBe(expected[name].sha256);
      convertImage(nodeEnv, f(name), f(`${name}.img`), 'dfly');
      const d = openDisk(nodeEnv, f(`${name}.img`));
      expect(d.format).toBe('dfly');
      expect(sha(readAll(d))).toBe(expected[name].sha256);
      d.close();
      expect(checkImage(nodeEnv, f(`${name}.img`)).errors).toEqual([]);
    }
  });

  it('check passes every fixture and counts its allocated clusters', () => {
    for (const name of READABLE) {
      const r = checkImage(nodeEnv, f(name));
      expect(r, name).toMatchObject({ errors: [], format: 'qcow2' });
      expect(r.chunks * expected[name].clusterSize, name).toBeGreaterThanOrEqual(expected[name].dataBytes);
    }
  });

  it('opening writable is refused; under a scratch overlay it takes writes in memory only', () => {
    const before = bytesOf('v2-64k.qcow2');
    expect(() => openDisk(nodeEnv, f('v2-64k.qcow2'), { writable: true })).toThrow(/v2-64k\.qcow2: qcow2 images are read-only here/);
    const o = new ScratchOverlay(openDisk(nodeEnv, f('v2-64k.qcow2'), { writable: false }));
    const orig = o.read(99, 5);
    o.write(100, new Uint8Array([1, 2, 3]));
    expect([...o.read(99, 5)]).toEqual([orig[0], 1, 2, 3, orig[4]]);
    expect([...orig.subarray(1, 4)]).not.toEqual([1, 2, 3]);
    o.close();
    expect(same(bytesOf('v2-64k.qcow2'), before)).toBe(true);
  });
});

describe('qcow2 features we do not read are refused in one line naming the file', () => {
  it.each([
    ['backing.qcow2', /: qcow2 with a backing file is not supported: v2-64k\.qcow2 \(/],
    ['aes.qcow2', /: encrypted qcow2 \(AES\) is not supported$/],
    ['datafile.qcow2', /: qcow2 with an external data file is not supported$/],
    ['extended-l2.qcow2', /: qcow2 with extended L2 entries \(subclusters\) is not supported$/],
    ['zstd.qcow2', /: qcow2 with zstd compression is not supported$/],
  ])('%s', (name, msg) => {
    let err: unknown;
    try { openDisk(nodeEnv, f(name)); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(ImageError);
    expect((err as Error).message.startsWith(`${f(name)}: `)).toBe(true);
    expect((err as Error).message).toMatch(msg);
    expect((err as Error).message).not.toContain('\n');
  });

  it('unknown incompatible feature bits, a bad version and a bad magic', () => {
    const b = bytesOf('v3-4k-mixed.qcow2');
    const set = (at: number, bytes: number[]) => { const c = b.slice(); c.set(bytes, at); return c; };
    expect(outcome('x', set(72, [0, 0, 0, 0, 0, 0, 0, 0x40]))).toEqual(new ImageError('x', 'qcow2 with unknown incompatible features 0x40 is not supported'));
    expect(outcome('x', set(4, [0, 0, 0, 4]))).toEqual(new ImageError('x', 'qcow2 version 4 is not supported (2 and 3 are)'));
    expect(outcome('x', set(0, [0x51, 0x46, 0x49, 0xfa]))).toEqual(new ImageError('x', 'not a qcow2 image (bad magic)'));
  });
});

/** v3-4k-mixed.qcow2 with the deflate stream of guest cluster 0 (compressed) overwritten. */
function damageCluster0(image: Uint8Array): { bad: Uint8Array; off: number } {
  const v = new DataView(image.buffer, image.byteOffset);
  const l2 = Number(v.getBigUint64(Number(v.getBigUint64(40))) & 0x00ff_ffff_ffff_fe00n);
  const e0 = v.getBigUint64(l2);
  expect(e0 & (1n << 62n)).not.toBe(0n);
  const off = Number(e0 & ((1n << 54n) - 1n)); // x = 62 - (12 - 8)
  const bad = image.slice();
  for (let i = 0; i < 64; i++) bad[off + i] ^= 0xff;
  return { bad, off };
}

describe('damaged qcow2 images', () => {
  const NAME = 'v3-4k-mixed.qcow2';
  let pristine: Uint8Array, content: Uint8Array;
  beforeAll(() => {
    pristine = bytesOf(NAME);
    content = outcome(NAME, pristine) as Uint8Array;
    expect(sha(content)).toBe(expected[NAME].sha256);
  });
  const be64 = (b: Uint8Array, at: number) => new DataView(b.buffer, b.byteOffset).getBigUint64(at);
  const put64 = (b: Uint8Array, at: number, v: bigint) => { const c = b.slice(); new DataView(c.buffer).setBigUint64(at, v); return c; };

  it('truncated anywhere: refused, or (when only unreferenced bytes went) read exactly as before', () => {
    let refused = 0;
    for (let len = 0; len < pristine.length; len += 509) {
      const r = outcome(NAME, pristine.subarray(0, len));
      if (r instanceof ImageError) refused++;
      else expect(sha(r), `cut at ${len}`).toBe(expected[NAME].sha256);
    }
    // Everything but the refcount blocks at the end is needed: nearly every cut is refused.
    expect(refused).toBeGreaterThan(90);
  });

  it('a truncated last data cluster is refused, not read as zeros', () => {
    const d = openDisk(nodeEnv, f('v2-64k.qcow2')) as Qcow2Disk;
    let last = 0;
    d.forEachCluster((_c, m) => { if (m.kind === 'data') last = Math.max(last, m.offset); }, (err) => { throw err; });
    d.close();
    const r = outcome('cut', bytesOf('v2-64k.qcow2').subarray(0, last + 1000));
    expect(r).toBeInstanceOf(ImageError);
    expect((r as Error).message).toMatch(/^cut: corrupt qcow2: (L1 entry|L2 entry of guest cluster \d+) .*past the end of the file/);
  });

  it('an L1 table offset off the cluster alignment, past the end, or zero', () => {
    const l1 = be64(pristine, 40);
    expect(outcome('x', put64(pristine, 40, l1 + 8n))).toEqual(new ImageError('x', `corrupt qcow2 header: L1 table offset ${l1 + 8n} is not aligned to the cluster size (4096)`));
    expect((outcome('x', put64(pristine, 40, 1n << 40n)) as Error).message).toMatch(/^x: corrupt qcow2 header: L1 table at offset 1099511627776 lies outside the file/);
    expect((outcome('x', put64(pristine, 40, 0n)) as Error).message).toMatch(/^x: corrupt qcow2 header: L1 table at offset 0 lies outside the file/);
  });

  it('an L2 table or data cluster pointer that is misaligned or past the end', () => {
    const l1 = Number(be64(pristine, 40));
    const l2 = Number(be64(pristine, l1) & 0x00ff_ffff_ffff_fe00n);
    expect(outcome('x', put64(pristine, l1, (1n << 63n) | BigInt(l2 + 512)))).toEqual(new ImageError('x', `corrupt qcow2: L1 entry 0 (L2 table) points at ${l2 + 512}, not aligned to the cluster size (4096)`));
    expect(outcome('x', put64(pristine, l1, BigInt(pristine.length)))).toEqual(new ImageError('x', `corrupt qcow2: L1 entry 0 (L2 table) points at ${pristine.length}, past the end of the file (${pristine.length} bytes)`));
    // Guest cluster 2 is a standard cluster (written over by qemu-io); point it elsewhere.
    const e2 = be64(pristine, l2 + 16);
    expect(e2 & (1n << 62n)).toBe(0n);
    expect(outcome('x', put64(pristine, l2 + 16, e2 + 512n))).toEqual(new ImageError('x', `corrupt qcow2: L2 entry of guest cluster 2 points at ${Number(e2 & 0xffff_ffff_fe00n) + 512}, not aligned to the cluster size (4096)`));
    expect(outcome('x', put64(pristine, l2 + 16, (1n << 63n) | (1n << 44n)))).toEqual(new ImageError('x', `corrupt qcow2: L2 entry of guest cluster 2 points at ${2 ** 44}, past the end of the file (${pristine.length} bytes)`));
    expect(outcome('x', put64(pristine, l2 + 16, e2 | 2n))).toEqual(new ImageError('x', 'corrupt qcow2: L2 entry of guest cluster 2 has reserved bits set'));
  });

  it('a damaged compressed cluster is refused when read, and check names it', () => {
    const { bad, off } = damageCluster0(pristine);
    expect(outcome('x', bad)).toEqual(new ImageError('x', `guest cluster 0: corrupt compressed data at offset ${off}`));
    fs.writeFileSync(f('badz.qcow2'), bad);
    expect(checkImage(nodeEnv, f('badz.qcow2')).errors).toEqual([`${f('badz.qcow2')}: guest cluster 0: corrupt compressed data at offset ${off}`]);
  });

  it('check reports two guest clusters sharing one host cluster', () => {
    const l1 = Number(be64(pristine, 40));
    const l2 = Number(be64(pristine, l1) & 0x00ff_ffff_ffff_fe00n);
    const shared = put64(pristine, l2 + 5 * 8, be64(pristine, l2 + 2 * 8));
    fs.writeFileSync(f('shared.qcow2'), shared);
    const off = Number(be64(pristine, l2 + 16) & 0xffff_ffff_fe00n);
    expect(checkImage(nodeEnv, f('shared.qcow2')).errors).toEqual([`${f('shared.qcow2')}: host cluster at offset ${off} is used twice: guest cluster 2 and guest cluster 5`]);
  });

  /*
   * Every bit of the v3 header, flipped alone. qcow2 has no header checksum, so what a flip
   * does depends on the field: some must be refused, some change nothing a reader uses, and
   * a few (cluster size, L1 table position, virtual size) can describe another valid image.
   */
  it('every bit of the header flipped: refused, unchanged, or (a few fields) another image — never a crash', () => {
    const field = (byte: number): 'refused' | 'same' | 'size' | 'any' => {
      if (byte < 4) return 'refused'; // magic (Qcow2Disk.open; openDisk would take the file as raw)
      if (byte < 8) return 'any'; // version: 3 → 2 reads on until it meets a v3-only zero flag
      if (byte < 16) return 'refused'; // backing file offset
      if (byte < 20) return 'same'; // backing file name length, unused without an offset
      if (byte < 24) return 'any'; // cluster_bits: 13 and 14 may still fit the file
      if (byte < 32) return 'size';
      if (byte < 36) return 'refused'; // encryption
      if (byte < 40) return 'same'; // l1_size: larger is harmless, smaller is refused
      if (byte < 48) return 'any'; // L1 table offset: may land on another aligned cluster
      if (byte < 72) return 'same'; // refcount table, snapshots
      if (byte < 80) return byte === 79 ? 'same' : 'refused'; // incompatible features; bit 0 (dirty) is harmless, the rest refused
      if (byte < 100) return 'same'; // compatible and autoclear features, refcount order
      return 'same'; // header length: refused unless it stays a multiple of 8 within the cluster
    };
    for (let bit = 0; bit < 104 * 8; bit++) {
      const byte = bit >> 3, flipped = pristine.slice();
      flipped[byte] ^= 1 << (bit & 7);
      const r = outcome('x', flipped);
      const kind = field(byte);
      const what = `bit ${bit & 7} of byte ${byte}`;
      if (r instanceof ImageError) {
        expect(r.message, what).toMatch(/^x: /);
        expect(r.message, what).not.toContain('\n');
        continue;
      }
      if (kind === 'refused') expect.fail(`${what}: not refused`);
      if (kind === 'same' || (kind === 'size' && r.length === content.length)) {
        expect(sha(r), what).toBe(expected[NAME].sha256);
      } else if (kind === 'size') {
        const n = Math.min(r.length, content.length);
        expect(same(r.subarray(0, n), content.subarray(0, n)), what).toBe(true);
        expect(r.subarray(n).every((x) => x === 0), what).toBe(true);
      }
    }
  });
});

describe('emu img on qcow2', () => {
  async function img(args: string[]) {
    return runNode(emu, ['img', ...args], { cwd: dir });
  }

  it('info, check and convert; no progress bar when stderr is not a terminal', async () => {
    const info = await img(['info', 'v3-64k-zero.qcow2']);
    expect(info.status).toBe(0);
    expect(info.stdout).toMatch(/^image: v3-64k-zero\.qcow2\nfile format: qcow2\nvirtual size: 4 MiB \(4195840 bytes\)\ndisk size: .*\ncluster size: 65536\nversion: 3 \(compat 1\.1\)\nallocated clusters: \d+ of 65 \(0 compressed; and 2 zero clusters\)\n$/);
    const check = await img(['check', 'v3-64k-zero.qcow2']);
    expect([check.status, check.stderr]).toEqual([0, '']);
    expect(check.stdout).toMatch(/^No errors were found in the qcow2 tables\.\n\d+ allocated clusters checked; not checked: refcounts/);
    const conv = await img(['convert', '-O', 'raw', 'v3-64k-zero.qcow2', 'cli.raw']);
    expect([conv.status, conv.stdout, conv.stderr]).toEqual([0, '', '']);
    expect(sha(bytesOf('cli.raw'))).toBe(expected['v3-64k-zero.qcow2'].sha256);
  });

  it('a refused qcow2 is one line, a non-zero exit, and no destination file', async () => {
    const r = await img(['convert', 'backing.qcow2', 'never.img']);
    expect(r.status).not.toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe('emu: backing.qcow2: qcow2 with a backing file is not supported: v2-64k.qcow2 (qemu-img convert -O qcow2 makes a standalone copy)\n');
    expect(fs.readdirSync(dir).filter((n) => n.startsWith('never'))).toEqual([]);
  });

  it('check of a damaged qcow2 exits 2 naming the entry', async () => {
    fs.writeFileSync(f('cli-bad.qcow2'), damageCluster0(bytesOf('v3-4k-mixed.qcow2')).bad);
    const r = await img(['check', 'cli-bad.qcow2']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^emu: cli-bad\.qcow2: guest cluster 0: corrupt compressed data at offset \d+\n$/);
  });
});

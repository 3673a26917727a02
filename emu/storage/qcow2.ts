/**
 * qcow2, read-only: QEMU's image format, versions 2 and 3 (the layout is QEMU's
 * docs/interop/qcow2.txt; section names below are that file's). Users have such images,
 * so they boot (under a scratch overlay) and convert; writing them is not supported.
 *
 * A guest offset maps through two tables, big-endian 64-bit entries throughout:
 *
 *     guest cluster c = offset >> cluster_bits,   l2_entries = cluster_size / 8
 *     L1[c / l2_entries] ──► L2 table (one cluster) ──► L2[c % l2_entries] ──► the cluster
 *
 *     L1 entry:  63 copied │ 62..56 reserved │ 55..9 L2 table offset │ 8..0 reserved
 *     L2 entry:  63 copied │ 62 compressed   │ 61..0 cluster descriptor
 *       standard:   61..56 reserved │ 55..9 host cluster offset │ 8..1 reserved │ 0 reads as zeros (v3)
 *       compressed: 61..x extra 512-byte sectors │ x-1..0 host byte offset,  x = 62 - (cluster_bits - 8)
 *
 * An L1 or L2 entry of 0 is unallocated: zeros, as there is no backing file. Refcounts only
 * matter to writers and are never read. Anything this reader does not understand — a
 * backing file, encryption, an external data file, extended L2 entries, zstd, an unknown
 * incompatible feature bit — is refused at open; a table entry pointing outside the file or
 * off its alignment is refused when it is met (scan() meets them all: emu img check).
 */
import { type BlockFile, type Codec, ImageError } from './host.js';
import { checkRange, type Disk } from './disk.js';

const QCOW2_MAGIC = [0x51, 0x46, 0x49, 0xfb]; // 'QFI\xfb'

export function isQcow2(first: Uint8Array): boolean {
  return first.length >= 4 && QCOW2_MAGIC.every((b, i) => first[i] === b);
}

export const QCOW2_READ_ONLY = 'qcow2 images are read-only here (emu img convert makes a dfly copy; -drive …,snapshot=on boots one with a throw-away overlay)';

/** Header: the fields a reader needs (qcow2.txt "Header"). */
export interface Qcow2Header {
  version: 2 | 3;
  clusterBits: number;
  size: number;
  l1Size: number;
  l1Offset: number;
  /** Incompatible feature bit 0: refcounts may be stale, which a reader never looks at. */
  dirty: boolean;
  nbSnapshots: number;
}

const V2_HEADER = 72;
const V3_HEADER = 104;
const MIN_CLUSTER_BITS = 9;
/** QEMU's own limit (2 MiB); the format allows more, but no QEMU could have written it. */
const MAX_CLUSTER_BITS = 21;
/** QEMU's limit on the L1 table: 32 MiB. */
const MAX_L1_BYTES = 32 << 20;
const MAX_BACKING_NAME = 1023;

const enum Incompat { Dirty = 1, Corrupt = 2, DataFile = 4, CompressionType = 8, ExtendedL2 = 16 }
const KNOWN_INCOMPAT = Incompat.Dirty | Incompat.Corrupt | Incompat.DataFile | Incompat.CompressionType | Incompat.ExtendedL2;
const CRYPT_METHODS = ['', 'AES', 'LUKS'];
const COMPRESSION_TYPES = ['zlib', 'zstd'];

const L1_OFFSET_MASK = 0x00ff_ffff_ffff_fe00n; // bits 55..9
const L1_RESERVED = 0x7f00_0000_0000_01ffn; // bits 62..56 and 8..0
const L2_COPIED = 1n << 63n;
const L2_COMPRESSED = 1n << 62n;
const L2_DESCRIPTOR = (1n << 62n) - 1n;
const STD_OFFSET_MASK = L1_OFFSET_MASK;
const STD_RESERVED = 0x3f00_0000_0000_01fen; // bits 61..56 and 8..1
const STD_ZERO = 1n;

/** Decoded L2 entry. */
export type Cluster =
  | { kind: 'unallocated' }
  | { kind: 'zero' }
  | { kind: 'data'; offset: number }
  | { kind: 'compressed'; offset: number; length: number };

/** L2 tables kept decoded, and clusters kept inflated, so that sector-sized reads stay cheap. */
const MAX_L2_CACHED = 32;
const MAX_INFLATED_CACHED = 4;

export function decodeQcow2Header(file: BlockFile): Qcow2Header {
  const path = file.path;
  const fileSize = file.size();
  const b = file.read(0, V3_HEADER + 8);
  const fail = (what: string): never => { throw new ImageError(path, what); };
  if (b.length < V2_HEADER || !isQcow2(b)) fail(`not a qcow2 image (${b.length < V2_HEADER ? 'truncated header' : 'bad magic'})`);
  const v = new DataView(b.buffer, b.byteOffset, b.length);
  const u32 = (at: number) => v.getUint32(at);
  const u64 = (at: number) => v.getBigUint64(at);
  const version = u32(4);
  if (version !== 2 && version !== 3) fail(`qcow2 version ${version} is not supported (2 and 3 are)`);
  const clusterBits = u32(20);
  if (clusterBits < MIN_CLUSTER_BITS || clusterBits > MAX_CLUSTER_BITS) {
    fail(`corrupt qcow2 header: cluster_bits ${clusterBits} (cluster sizes 512 B to 2 MiB are valid)`);
  }
  const clusterSize = 2 ** clusterBits;
  let incompat = 0n;
  if (version === 3) {
    if (b.length < V3_HEADER) fail('truncated qcow2 header');
    const headerLength = u32(100);
    if (headerLength < V3_HEADER || headerLength % 8 !== 0 || headerLength > clusterSize) fail(`corrupt qcow2 header: header_length ${headerLength}`);
    incompat = u64(72);
    const names: string[] = [];
    if (incompat & BigInt(Incompat.Corrupt)) names.push('marked corrupt by QEMU (qemu-img check -r all repairs it)');
    if (incompat & BigInt(Incompat.DataFile)) names.push('an external data file');
    if (incompat & BigInt(Incompat.ExtendedL2)) names.push('extended L2 entries (subclusters)');
    if (incompat & BigInt(Incompat.CompressionType)) {
      const t = headerLength > V3_HEADER ? b[V3_HEADER] : 0;
      names.push(`${COMPRESSION_TYPES[t] ?? `compression type ${t}`} compression`);
    }
    const unknown = incompat & ~BigInt(KNOWN_INCOMPAT);
    if (unknown) names.push(`unknown incompatible features 0x${unknown.toString(16)}`);
    if (names.length) fail(`qcow2 with ${names.join(', ')} is not supported`);
  }
  const crypt = u32(32);
  if (crypt !== 0) fail(`encrypted qcow2 (${CRYPT_METHODS[crypt] ?? `method ${crypt}`}) is not supported`);
  const backingOffset = u64(8);
  if (backingOffset !== 0n) {
    const len = Math.min(u32(16), MAX_BACKING_NAME);
    const name = backingOffset + BigInt(len) <= BigInt(fileSize) ? new TextDecoder().decode(file.read(Number(backingOffset), len)) : '(name past the end of the file)';
    fail(`qcow2 with a backing file is not supported: ${name} (qemu-img convert -O qcow2 makes a standalone copy)`);
  }
  const size = u64(24);
  if (size > BigInt(Number.MAX_SAFE_INTEGER)) fail(`corrupt qcow2 header: virtual size ${size}`);
  const l1Size = u32(36);
  const l1Offset = u64(40);
  const h: Qcow2Header = { version: version as 2 | 3, clusterBits, size: Number(size), l1Size, l1Offset: Number(l1Offset), dirty: !!(incompat & BigInt(Incompat.Dirty)), nbSnapshots: u32(60) };
  // qcow2.txt "Cluster mapping": one L1 entry per L2 table's worth of guest clusters.
  const needed = Math.ceil(h.size / clusterSize / (clusterSize / 8));
  if (l1Size < needed) fail(`corrupt qcow2 header: L1 table of ${l1Size} entries is too small for a ${h.size}-byte disk (needs ${needed})`);
  if (l1Size * 8 > MAX_L1_BYTES) fail(`corrupt qcow2 header: L1 table of ${l1Size} entries`);
  if (needed > 0) {
    if (l1Offset % BigInt(clusterSize) !== 0n) fail(`corrupt qcow2 header: L1 table offset ${l1Offset} is not aligned to the cluster size (${clusterSize})`);
    if (l1Offset === 0n || l1Offset + BigInt(needed * 8) > BigInt(fileSize)) fail(`corrupt qcow2 header: L1 table at offset ${l1Offset} lies outside the file (${fileSize} bytes)`);
  }
  return h;
}

export class Qcow2Disk implements Disk {
  readonly format = 'qcow2' as const;
  readonly parent = null;
  readonly clusterSize: number;
  /** Guest clusters per L2 table. */
  private readonly l2Entries: number;
  /** Host offsets of the L2 tables; 0 = unallocated. Checked at open. */
  private readonly l1: number[];
  private readonly l2Cache = new Map<number, DataView>();
  private readonly inflated = new Map<number, Uint8Array>();
  private readonly fileSize: number;

  private constructor(private readonly file: BlockFile, private readonly codec: Codec, readonly header: Qcow2Header) {
    this.clusterSize = 2 ** header.clusterBits;
    this.l2Entries = this.clusterSize / 8;
    this.fileSize = file.size();
    this.l1 = this.readL1();
  }

  static open(file: BlockFile, codec: Codec): Qcow2Disk {
    return new Qcow2Disk(file, codec, decodeQcow2Header(file));
  }

  get path(): string { return this.file.path; }
  get size(): number { return this.header.size; }
  get version(): 2 | 3 { return this.header.version; }
  get clusters(): number { return Math.ceil(this.size / this.clusterSize); }
  get onDiskSize(): number { return this.fileSize; }

  read(pos: number, len: number): Uint8Array {
    checkRange(this, pos, len);
    const out = new Uint8Array(len);
    for (let done = 0; done < len;) {
      const c = Math.floor((pos + done) / this.clusterSize), at = (pos + done) % this.clusterSize;
      const n = Math.min(this.clusterSize - at, len - done);
      const m = this.cluster(c);
      if (m.kind === 'data') out.set(this.file.read(m.offset + at, n), done);
      else if (m.kind === 'compressed') out.set(this.inflate(c, m).subarray(at, at + n), done);
      done += n;
    }
    return out;
  }

  write(): void {
    throw new ImageError(this.path, QCOW2_READ_ONLY);
  }

  flush(): void {}
  close(): void { this.file.close(); }

  /** Guest cluster c's L2 entry, decoded and checked; throws ImageError naming the entry. */
  cluster(c: number): Cluster {
    const l2 = this.l1[Math.floor(c / this.l2Entries)];
    if (!l2) return { kind: 'unallocated' };
    return this.decodeL2(c, this.l2Table(l2).getBigUint64((c % this.l2Entries) * 8));
  }

  /** The compressed cluster's deflate stream, inflated and checked. */
  inflate(c: number, m: Extract<Cluster, { kind: 'compressed' }>): Uint8Array {
    const hit = this.inflated.get(c);
    if (hit) return hit;
    let data: Uint8Array;
    try {
      data = this.codec.inflate(this.file.read(m.offset, m.length));
    } catch {
      throw new ImageError(this.path, `guest cluster ${c}: corrupt compressed data at offset ${m.offset}`);
    }
    // QEMU compresses whole clusters and refuses streams that come up short.
    if (data.length < this.clusterSize) throw new ImageError(this.path, `guest cluster ${c}: compressed data at offset ${m.offset} inflates to ${data.length} bytes, not ${this.clusterSize}`);
    data = data.subarray(0, this.clusterSize);
    this.inflated.set(c, data);
    if (this.inflated.size > MAX_INFLATED_CACHED) this.inflated.delete(this.inflated.keys().next().value!);
    return data;
  }

  /**
   * Visits every guest cluster that is not unallocated, in order, each L2 table read once
   * and tables never allocated skipped. A bad entry goes to onError instead.
   */
  forEachCluster(visit: (c: number, m: Exclude<Cluster, { kind: 'unallocated' }>) => void, onError: (e: ImageError) => void): void {
    this.l1.forEach((l2, i) => {
      if (!l2) return;
      for (let c = i * this.l2Entries, end = Math.min(this.clusters, c + this.l2Entries); c < end; c++) {
        let m: Cluster;
        try {
          m = this.cluster(c);
        } catch (e) {
          if (!(e instanceof ImageError)) throw e;
          onError(e);
          continue;
        }
        if (m.kind !== 'unallocated') visit(c, m);
      }
    });
  }

  /** Host offsets of the allocated L2 tables. */
  get l2Tables(): number[] { return this.l1.filter((o) => o !== 0); }

  private readL1(): number[] {
    const n = Math.ceil(this.clusters / this.l2Entries);
    const raw = this.file.read(this.header.l1Offset, n * 8);
    const v = new DataView(raw.buffer, raw.byteOffset, raw.length);
    const l1: number[] = [];
    for (let i = 0; i < n; i++) {
      const e = v.getBigUint64(i * 8);
      const off = Number(e & L1_OFFSET_MASK);
      const bad = e & L1_RESERVED ? 'has reserved bits set'
        : off % this.clusterSize ? `points at ${off}, not aligned to the cluster size (${this.clusterSize})`
          : off + this.clusterSize > this.fileSize ? `points at ${off}, past the end of the file (${this.fileSize} bytes)` : '';
      if (bad) throw new ImageError(this.path, `corrupt qcow2: L1 entry ${i} (L2 table) ${bad}`);
      l1.push(off);
    }
    return l1;
  }

  private l2Table(offset: number): DataView {
    let t = this.l2Cache.get(offset);
    if (t) return t;
    const raw = this.file.read(offset, this.clusterSize);
    t = new DataView(raw.buffer, raw.byteOffset, raw.length);
    this.l2Cache.set(offset, t);
    if (this.l2Cache.size > MAX_L2_CACHED) this.l2Cache.delete(this.l2Cache.keys().next().value!);
    return t;
  }

  /** qcow2.txt "Cluster mapping": standard and compressed cluster descriptors. */
  private decodeL2(c: number, e: bigint): Cluster {
    const bad = (what: string): never => { throw new ImageError(this.path, `corrupt qcow2: L2 entry of guest cluster ${c} ${what}`); };
    if (e & L2_COMPRESSED) {
      if (e & L2_COPIED) bad('is compressed but marked copied');
      const x = BigInt(62 - (this.header.clusterBits - 8));
      const desc = e & L2_DESCRIPTOR;
      const offset = Number(desc & ((1n << x) - 1n));
      const sectors = Number(desc >> x) + 1;
      if (offset >= this.fileSize) bad(`points at ${offset}, past the end of the file (${this.fileSize} bytes)`);
      // The stream ends inside its last sector; that sector may be the file's last, cut short.
      const length = Math.min(sectors * 512 - (offset % 512), this.fileSize - offset);
      return { kind: 'compressed', offset, length };
    }
    if (e & STD_RESERVED) bad('has reserved bits set');
    const offset = Number(e & STD_OFFSET_MASK);
    if (e & STD_ZERO) {
      if (this.header.version === 2) bad('has the zero flag, which version 2 does not have');
      return { kind: 'zero' };
    }
    if (offset === 0) {
      if (e & L2_COPIED) bad('has offset 0 marked copied (only valid with an external data file)');
      return { kind: 'unallocated' };
    }
    if (offset % this.clusterSize) bad(`points at ${offset}, not aligned to the cluster size (${this.clusterSize})`);
    // Only the part the guest sees must be in the file: the tail past the virtual size need not be.
    const visible = Math.min(this.clusterSize, this.size - c * this.clusterSize);
    if (offset + visible > this.fileSize) bad(`points at ${offset}, past the end of the file (${this.fileSize} bytes)`);
    return { kind: 'data', offset };
  }
}

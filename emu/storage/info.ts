/** emu img info: what the image is, how much of it is allocated, and its parent chain. */
import type { Env } from './host.js';
import { DflyImage } from './image.js';
import { chain, formatUuid, openDisk } from './open.js';
import type { Disk } from './disk.js';
import { Qcow2Disk } from './qcow2.js';

export interface ImageInfo {
  path: string;
  format: 'raw' | 'dfly' | 'qcow2';
  size: number;
  fileSize: number;
  uuid?: string;
  chunks?: { total: number; data: number; zero: number };
  parent?: { path: string; uuid: string | null };
  qcow2?: Qcow2Info;
}

export interface Qcow2Info {
  version: 2 | 3;
  clusterSize: number;
  /** Guest clusters by kind; unallocated ones are the rest of total. */
  clusters: { total: number; data: number; compressed: number; zero: number };
  dirty: boolean;
  snapshots: number;
}

/** Reads every L2 table (not the data): a corrupt entry is refused as reading would refuse it. */
export function describeQcow2(d: Qcow2Disk): Qcow2Info {
  const clusters = { total: d.clusters, data: 0, compressed: 0, zero: 0 };
  d.forEachCluster((_c, m) => { clusters[m.kind]++; }, (e) => { throw e; });
  return { version: d.version, clusterSize: d.clusterSize, clusters, dirty: d.header.dirty, snapshots: d.header.nbSnapshots };
}

export function describe(d: Disk): ImageInfo {
  if (d instanceof Qcow2Disk) return { path: d.path, format: 'qcow2', size: d.size, fileSize: d.onDiskSize, qcow2: describeQcow2(d) };
  if (!(d instanceof DflyImage)) return { path: d.path, format: 'raw', size: d.size, fileSize: d.size };
  let data = 0, zero = 0;
  for (const k of d.chunkNumbers()) (d.entry(k)!.stored ? data++ : zero++);
  const p = d.header.parent;
  return {
    path: d.path, format: 'dfly', size: d.size, fileSize: d.fileSize, uuid: formatUuid(d.uuid),
    chunks: { total: d.chunks, data, zero },
    parent: p && { path: p.path, uuid: p.uuid.every((b) => b === 0) ? null : formatUuid(p.uuid) },
  };
}

export function imageInfo(env: Env, path: string): ImageInfo[] {
  const d = openDisk(env, path);
  try {
    return chain(d).map(describe);
  } finally {
    d.close();
  }
}

const bytes = (n: number) => {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0, v = n;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return i === 0 ? `${n} bytes` : `${+v.toFixed(2)} ${units[i]} (${n} bytes)`;
};

export function formatInfo(infos: ImageInfo[]): string {
  return infos.map((i, depth) => {
    const lines = [
      `image: ${i.path}`,
      `file format: ${i.format}`,
      `virtual size: ${bytes(i.size)}`,
      `disk size: ${bytes(i.fileSize)}`,
    ];
    if (i.chunks) {
      lines.push(`chunk size: 65536`, `allocated chunks: ${i.chunks.data} of ${i.chunks.total} (and ${i.chunks.zero} zero chunks)`, `uuid: ${i.uuid}`);
    }
    if (i.qcow2) {
      const q = i.qcow2, c = q.clusters;
      lines.push(`cluster size: ${q.clusterSize}`, `version: ${q.version} (compat ${q.version === 2 ? '0.10' : '1.1'})`,
        `allocated clusters: ${c.data + c.compressed} of ${c.total} (${c.compressed} compressed; and ${c.zero} zero clusters)`);
      if (q.snapshots) lines.push(`internal snapshots: ${q.snapshots} (not readable here; the active image is)`);
      if (q.dirty) lines.push('dirty: yes (refcounts may be stale; reading does not use them)');
    }
    if (i.parent) lines.push(`backing file: ${i.parent.path}${i.parent.uuid ? ` (uuid ${i.parent.uuid})` : ` (${infos[depth + 1]?.format ?? 'raw'})`}`);
    return (depth > 0 ? '\n' : '') + lines.join('\n');
  }).join('\n') + '\n';
}

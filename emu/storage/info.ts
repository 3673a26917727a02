/** emu img info: what the image is, how much of it is allocated, and its parent chain. */
import type { Env } from './host.js';
import { DflyImage } from './image.js';
import { chain, formatUuid, openDisk } from './open.js';
import type { Disk } from './disk.js';

export interface ImageInfo {
  path: string;
  format: 'raw' | 'dfly';
  size: number;
  fileSize: number;
  uuid?: string;
  chunks?: { total: number; data: number; zero: number };
  parent?: { path: string; uuid: string | null };
}

export function describe(d: Disk): ImageInfo {
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
    if (i.parent) lines.push(`backing file: ${i.parent.path}${i.parent.uuid ? ` (uuid ${i.parent.uuid})` : ' (raw)'}`);
    return (depth > 0 ? '\n' : '') + lines.join('\n');
  }).join('\n') + '\n';
}

/**
 * emu img check on qcow2: what is cheap and what reading depends on. Every L1 and L2
 * entry (reserved bits, alignment, inside the file), every compressed cluster inflated to
 * a whole cluster, and no host cluster used twice by the tables and standard clusters of
 * the active image (header cluster and L1 table included). Not checked: refcounts
 * (reading never uses them; `qemu-img check` verifies them) and the contents of
 * standard clusters (qcow2 keeps no checksums). Internal snapshots are not looked at.
 */
import { ImageError } from './host.js';
import type { Qcow2Disk } from './qcow2.js';
import type { CheckResult } from './check.js';
import type { Progress } from './progress.js';

export const QCOW2_UNCHECKED = 'refcounts (qemu-img check verifies them; reading never uses them) and the contents of uncompressed clusters (qcow2 keeps no checksums)';

export function checkQcow2(d: Qcow2Disk, progress?: Progress): CheckResult {
  const errors: string[] = [];
  /** Host cluster → what uses it, for the first user; a second one is an error. */
  const owner = new Map<number, string>();
  const use = (offset: number, what: string) => {
    const cl = Math.floor(offset / d.clusterSize);
    const first = owner.get(cl);
    if (first) errors.push(`${d.path}: host cluster at offset ${cl * d.clusterSize} is used twice: ${first} and ${what}`);
    else owner.set(cl, what);
  };
  use(0, 'the header');
  const l1Clusters = Math.ceil(d.header.l1Size * 8 / d.clusterSize);
  for (let i = 0; i < l1Clusters; i++) use(d.header.l1Offset + i * d.clusterSize, 'the L1 table');
  d.l2Tables.forEach((o) => use(o, `the L2 table at ${o}`));
  let allocated = 0;
  d.forEachCluster((c, m) => {
    if (m.kind === 'data') {
      allocated++;
      use(m.offset, `guest cluster ${c}`);
    } else if (m.kind === 'compressed') {
      allocated++;
      try {
        d.inflate(c, m);
      } catch (e) {
        if (!(e instanceof ImageError)) throw e;
        errors.push(e.message);
      }
    }
    progress?.(Math.min(d.size, (c + 1) * d.clusterSize), d.size);
  }, (e) => errors.push(e.message));
  progress?.(d.size, d.size);
  return { errors, leaked: 0, chunks: allocated, format: 'qcow2' };
}

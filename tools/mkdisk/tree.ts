/**
 * A host directory tree as ustar entries, in a fixed order: depth first, each
 * directory before its contents, names sorted by UTF-16 code unit — so the
 * same tree always makes the same archive, whatever order readdir gives.
 * Symbolic links are stored as links, not followed; anything but files,
 * directories and links is refused.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { TarEntry } from './ustar.js';

export function treeEntries(root: string): TarEntry[] {
  const out: TarEntry[] = [];
  const walk = (dir: string, rel: string): void => {
    const names = fs.readdirSync(dir).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    for (const name of names) {
      const full = path.join(dir, name), p = rel ? `${rel}/${name}` : name;
      const st = fs.lstatSync(full);
      if (st.isSymbolicLink()) out.push({ kind: 'symlink', path: p, target: fs.readlinkSync(full) });
      else if (st.isDirectory()) {
        out.push({ kind: 'dir', path: p });
        walk(full, p);
      } else if (st.isFile()) out.push({ kind: 'file', path: p, executable: (st.mode & 0o111) !== 0, data: fs.readFileSync(full) });
      else throw new Error(`${full}: not a file, directory or symbolic link`);
    }
  };
  walk(root, '');
  return out;
}

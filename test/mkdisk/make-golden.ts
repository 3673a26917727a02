/**
 * Writes gnu-tar.tar: the sample tree archived by GNU tar (1.34) in ustar
 * format with mkdisk's fixed owner, group and mtime, in mkdisk's order. Run
 * by make-golden.sh.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { makeSampleTree } from './sample-tree.js';

const out = path.resolve(process.argv[2]);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ustar-golden-'));
try {
  makeSampleTree(dir);
  const top = fs.readdirSync(dir).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  execFileSync('tar', ['--format=ustar', '--sort=name', '--mtime=@0', '--owner=root:0', '--group=root:0', '-cf', out, ...top], { cwd: dir, env: { LC_ALL: 'C' } });
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}

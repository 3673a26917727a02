/**
 * The directory tree of the ustar tests: plain, executable, empty and binary
 * files, a symbolic link, an empty directory, a non-ASCII name and a path
 * long enough (≥ 100 bytes) to need ustar's prefix field.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export const LONG_DIR = `${'d'.repeat(60)}/${'e'.repeat(60)}`;
export const LONG_FILE = `${LONG_DIR}/${'f'.repeat(90)}`;

export function makeSampleTree(root: string): void {
  fs.mkdirSync(path.join(root, 'sub/empty'), { recursive: true });
  fs.mkdirSync(path.join(root, LONG_DIR), { recursive: true });
  fs.writeFileSync(path.join(root, LONG_FILE), 'x'.repeat(513));
  fs.writeFileSync(path.join(root, 'a.txt'), 'hello\n');
  fs.writeFileSync(path.join(root, 'B.bin'), new Uint8Array(1024).fill(7));
  fs.writeFileSync(path.join(root, 'sub/run.sh'), '#!/bin/sh\necho hi\n');
  fs.chmodSync(path.join(root, 'sub/run.sh'), 0o755);
  fs.writeFileSync(path.join(root, 'grüße.txt'), '');
  fs.symlinkSync('../a.txt', path.join(root, 'sub/link'));
  // Modes as mkdisk normalises them, so that GNU tar, which keeps modes, writes the same.
  for (const d of ['.', 'sub', 'sub/empty', LONG_DIR.split('/')[0], LONG_DIR]) fs.chmodSync(path.join(root, d), 0o755);
  for (const f of [LONG_FILE, 'a.txt', 'B.bin', 'grüße.txt']) fs.chmodSync(path.join(root, f), 0o644);
}

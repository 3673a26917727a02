/**
 * mkdisk's ustar archives (tools/mkdisk/ustar.ts, tree.ts): every header
 * field and checksum as POSIX specifies, the same bytes as GNU tar writes for
 * the same tree (test/mkdisk/gnu-tar.tar, made by test/mkdisk/make-golden.sh),
 * the same bytes every time, and paths ustar cannot hold refused.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as net from 'node:net';
import { BLOCK, ustarArchive, ustarSize } from '../tools/mkdisk/ustar.js';
import { treeEntries } from '../tools/mkdisk/tree.js';
import { LONG_DIR, LONG_FILE, makeSampleTree } from './mkdisk/sample-tree.js';

let dir = '';
let archive: Uint8Array;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mkdisk-ustar-'));
  makeSampleTree(path.join(dir, 'tree'));
  archive = ustarArchive(treeEntries(path.join(dir, 'tree')));
});
afterAll(() => { fs.rmSync(dir, { recursive: true, force: true }); });

const latin1 = (b: Uint8Array) => Buffer.from(b).toString('latin1');
const field = (h: Uint8Array, at: number, len: number) => latin1(h.subarray(at, at + len)).replace(/\0.*$/s, '');

interface Header { path: string; mode: number; uid: number; gid: number; size: number; mtime: number; type: string; link: string; uname: string; gname: string; sumOk: boolean }

/** A reader written from the spec, independent of the writer: the headers in order, up to the two zero blocks. */
function headers(a: Uint8Array): Header[] {
  const out: Header[] = [];
  let at = 0;
  for (;;) {
    const h = a.subarray(at, at + BLOCK);
    if (h.every((b) => b === 0)) {
      expect(a.subarray(at + BLOCK, at + 2 * BLOCK).every((b) => b === 0)).toBe(true);
      expect(at + 2 * BLOCK).toBe(a.length);
      return out;
    }
    expect(latin1(h.subarray(257, 265))).toBe('ustar\u000000');
    let sum = 0;
    for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : h[i];
    const prefix = Buffer.from(h.subarray(345, 500)).toString('utf8').replace(/\0.*$/s, '');
    const name = Buffer.from(h.subarray(0, 100)).toString('utf8').replace(/\0.*$/s, '');
    const size = parseInt(field(h, 124, 12), 8);
    out.push({
      path: prefix ? `${prefix}/${name}` : name,
      mode: parseInt(field(h, 100, 8), 8), uid: parseInt(field(h, 108, 8), 8), gid: parseInt(field(h, 116, 8), 8),
      size, mtime: parseInt(field(h, 136, 12), 8), type: latin1(h.subarray(156, 157)),
      link: field(h, 157, 100), uname: field(h, 265, 32), gname: field(h, 297, 32),
      // Six octal digits, NUL, space, as tar writes it.
      sumOk: parseInt(field(h, 148, 6), 8) === sum && h[154] === 0 && h[155] === 0x20,
    });
    at += BLOCK + Math.ceil(size / BLOCK) * BLOCK;
  }
}

describe('ustar', () => {
  it('lists like `tar -tvf` did for the sample tree (recorded with GNU tar 1.34)', () => {
    const listing = headers(archive).map((h) => `${h.type} ${h.mode.toString(8)} ${h.uname}/${h.gname} ${h.uid}/${h.gid} ${h.size} ${h.mtime} ${h.path}${h.link ? ` -> ${h.link}` : ''}`);
    expect(listing).toEqual([
      '0 644 root/root 0/0 1024 0 B.bin',
      '0 644 root/root 0/0 6 0 a.txt',
      `5 755 root/root 0/0 0 0 ${LONG_DIR.split('/')[0]}/`,
      `5 755 root/root 0/0 0 0 ${LONG_DIR}/`,
      `0 644 root/root 0/0 513 0 ${LONG_FILE}`,
      '0 644 root/root 0/0 0 0 grüße.txt',
      '5 755 root/root 0/0 0 0 sub/',
      '5 755 root/root 0/0 0 0 sub/empty/',
      '2 777 root/root 0/0 0 0 sub/link -> ../a.txt',
      '0 755 root/root 0/0 18 0 sub/run.sh',
    ]);
  });

  it('gives every header a correct checksum and the long path a prefix', () => {
    const hs = headers(archive);
    expect(hs.every((h) => h.sumOk)).toBe(true);
    // The 211-byte path is split at a "/": the prefix holds the two directories.
    const i = hs.findIndex((h) => h.path === LONG_FILE);
    let at = 0;
    for (let k = 0; k < i; k++) at += BLOCK + Math.ceil(hs[k].size / BLOCK) * BLOCK;
    expect(field(archive.subarray(at), 345, 155)).toBe(LONG_DIR);
    expect(field(archive.subarray(at), 0, 100)).toBe('f'.repeat(90));
  });

  it('stores file data padded to 512 bytes, and nothing after the two zero blocks', () => {
    expect(archive.length).toBe(ustarSize(treeEntries(path.join(dir, 'tree'))));
    // 10 headers, B.bin 2 blocks, a.txt 1, the long file 2, run.sh 1, 2 end blocks.
    expect(archive.length).toBe((10 + 2 + 1 + 2 + 1 + 2) * BLOCK);
    const at = archive.length - 2 * BLOCK - BLOCK;
    expect(latin1(archive.subarray(at, at + 18))).toBe('#!/bin/sh\necho hi\n');
  });

  it('is byte for byte what GNU tar writes for the same tree (before tar pads to its 10240-byte record)', () => {
    const gnu = fs.readFileSync(new URL('mkdisk/gnu-tar.tar', import.meta.url));
    expect(gnu.length).toBe(10240);
    expect(Buffer.from(archive).equals(gnu.subarray(0, archive.length))).toBe(true);
    expect(gnu.subarray(archive.length).every((b) => b === 0)).toBe(true);
  });

  it('gives the same bytes for the same tree, whatever the files\' times, owners and creation order', () => {
    const other = path.join(dir, 'again');
    makeSampleTree(other);
    fs.utimesSync(path.join(other, 'a.txt'), 1e9, 1e9);
    fs.chmodSync(path.join(other, 'sub/run.sh'), 0o700);
    expect(Buffer.from(ustarArchive(treeEntries(other))).equals(Buffer.from(archive))).toBe(true);
  });

  it('refuses a path ustar cannot hold, and a link target over 100 bytes', () => {
    const name = 'n'.repeat(101);
    expect(() => ustarArchive([{ kind: 'file', path: name, executable: false, data: new Uint8Array(0) }])).toThrow(/path too long for ustar/);
    expect(() => ustarArchive([{ kind: 'file', path: `${'p'.repeat(156)}/x`, executable: false, data: new Uint8Array(0) }])).toThrow(/path too long for ustar/);
    expect(() => ustarArchive([{ kind: 'symlink', path: 'l', target: 't'.repeat(101) }])).toThrow(/link target longer than 100 bytes/);
  });

  it('refuses what is not a file, directory or link (a socket)', async () => {
    const t = path.join(dir, 'special');
    fs.mkdirSync(t);
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(path.join(t, 'sock'), resolve));
    try {
      expect(() => treeEntries(t)).toThrow(/sock: not a file, directory or symbolic link/);
    } finally {
      server.close();
    }
  });
});

/** emu img check and every refusal: one line naming the file and what is wrong, a non-zero exit, nothing modified. */
import { beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { nodeEnv } from '../../emu/storage/node.js';
import { createImage } from '../../emu/storage/create.js';
import { openDisk } from '../../emu/storage/open.js';
import { DflyImage } from '../../emu/storage/image.js';
import { checkImage } from '../../emu/storage/check.js';
import { bundle, data, prng, runNode, tempDir, uuid } from './helpers.js';

const CH = 65536;
let emu = '';
let dir = '';
const f = (n: string) => path.join(dir, n);

function filled(name: string, chunks = 8): { file: string; index: number; chunk: number } {
  const file = f(name);
  createImage(nodeEnv, file, { size: chunks * CH, uuid: uuid(1) });
  const d = openDisk(nodeEnv, file, { writable: true }) as DflyImage;
  d.write(0, data(prng(5), chunks * CH).fill(0x33, 0, 100));
  d.write(0, new Uint8Array(chunks * CH).map((_, i) => (i * 7) % 251));
  d.close();
  const e = openDisk(nodeEnv, file) as DflyImage;
  const r = { file, index: e.commitSlot.indexOffset, chunk: e.entry(2)!.offset };
  e.close();
  return r;
}

function flip(file: string, at: number): void {
  const b = fs.readFileSync(file);
  b[at] ^= 0x10;
  fs.writeFileSync(file, b);
}

beforeAll(async () => {
  emu = await bundle('emu-cli', "import { main } from './emu/cli/main.ts'; main(process.argv.slice(2));");
  dir = tempDir('check');
});

async function img(args: string[]) {
  return runNode(emu, ['img', ...args], { cwd: dir });
}

/** One line on stderr, nothing on stdout, a non-zero status, and every file in the directory unchanged. */
async function refuses(args: string[], pattern: RegExp): Promise<void> {
  const before = new Map(fs.readdirSync(dir).map((n) => [n, fs.readFileSync(f(n))]));
  const r = await img(args);
  expect(r.status).not.toBe(0);
  expect(r.stdout).toBe('');
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(pattern);
  const after = fs.readdirSync(dir);
  expect(after.sort()).toEqual([...before.keys()].sort());
  for (const n of after) expect(fs.readFileSync(f(n)).equals(before.get(n)!), n).toBe(true);
}

describe('check', () => {
  it('passes a good image', () => {
    const { file } = filled('good.img');
    expect(checkImage(nodeEnv, file)).toMatchObject({ errors: [], chunks: 8, format: 'dfly' });
  });

  it('catches a flipped bit in a chunk, naming the chunk', () => {
    const { file, chunk } = filled('badchunk.img');
    flip(file, chunk + 5);
    const r = checkImage(nodeEnv, file);
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]).toMatch(new RegExp(`badchunk\\.img: chunk 2 at offset ${chunk}: (CRC mismatch|corrupt deflate data)`));
  });

  it('catches a flipped bit in the index', () => {
    const { file, index } = filled('badindex.img');
    flip(file, index + 30);
    expect(checkImage(nodeEnv, file).errors).toEqual([`${file}: index CRC mismatch (corrupt index at offset ${index})`]);
  });

  it('reads a chunk with a flipped bit as an error, never as wrong data', () => {
    const { file, chunk } = filled('readbad.img');
    flip(file, chunk + 100);
    const d = openDisk(nodeEnv, file);
    expect(() => d.read(2 * CH, 10)).toThrow(/readbad\.img: chunk 2/);
    expect(d.read(3 * CH, 10)[1]).toBe(((3 * CH + 1) * 7) % 251);
    d.close();
  });
});

describe('emu img', () => {
  it('create, info, check, convert, compact, commit, rebase from the command line', async () => {
    expect((await img(['create', 'cli.img', '1M'])).status).toBe(0);
    expect((await img(['create', '-b', 'cli.img', 'cli-top.img'])).status).toBe(0);
    const info = await img(['info', 'cli-top.img']);
    expect(info.stdout).toMatch(/image: cli-top\.img\nfile format: dfly\nvirtual size: 1 MiB \(1048576 bytes\)/);
    expect(info.stdout).toMatch(/backing file: cli\.img \(uuid [0-9a-f-]{36}\)\n\nimage: cli\.img/);
    expect((await img(['check', 'cli-top.img'])).stdout).toMatch(/^No errors were found on the image\./);
    for (const args of [['convert', '-O', 'raw', 'cli-top.img', 'cli.raw'], ['compact', 'cli-top.img'], ['commit', 'cli-top.img'], ['rebase', '-b', '', 'cli-top.img']]) {
      const r = await img(args);
      expect(r.status, `${args.join(' ')}: ${r.stderr}`).toBe(0);
    }
    expect(fs.statSync(f('cli.raw')).size).toBe(1 << 20);
    expect((await img(['info', 'cli-top.img'])).stdout).not.toMatch(/backing file/);
  });

  describe('refuses bad input with one line naming the file', () => {
    beforeAll(() => {
      filled('ok.img');
      const { file, index } = filled('truncated.img');
      fs.truncateSync(file, index + 10);
      const m = filled('magic.img');
      fs.writeFileSync(m.file, Buffer.concat([Buffer.from('DFLYIMX'), fs.readFileSync(m.file).subarray(7)]));
      const h = filled('header.img');
      flip(h.file, 20);
      const c = filled('chunk.img');
      flip(c.file, c.chunk + 3);
      const x = filled('index.img');
      flip(x.file, x.index + 25);
      const s = filled('slots.img');
      const b = fs.readFileSync(s.file);
      b.fill(0, 512, 2048);
      fs.writeFileSync(s.file, b);
      createImage(nodeEnv, f('gone-base.img'), { size: CH, uuid: uuid(8) });
      createImage(nodeEnv, f('orphan.img'), { backing: f('gone-base.img'), uuid: uuid(9) });
      fs.rmSync(f('gone-base.img'));
      createImage(nodeEnv, f('other-base.img'), { size: CH, uuid: uuid(10) });
      createImage(nodeEnv, f('wrong.img'), { backing: f('other-base.img'), uuid: uuid(11) });
      fs.rmSync(f('other-base.img'));
      createImage(nodeEnv, f('other-base.img'), { size: CH, uuid: uuid(12) });
      fs.writeFileSync(f('disk.qcow2'), Buffer.concat([Buffer.from([0x51, 0x46, 0x49, 0xfb, 0, 0, 0, 3]), Buffer.alloc(1000)]));
      fs.writeFileSync(f('plain.raw'), Buffer.alloc(CH));
    });
    it('a truncated image', () => refuses(['info', 'truncated.img'], /^emu: truncated\.img: truncated \(index at offset \d+ runs past the end of the file, \d+ bytes\)$/));
    it('a wrong magic', () => refuses(['check', 'magic.img'], /^emu: magic\.img: bad magic \(not a damselfly image\)$/));
    it('a corrupt header', () => refuses(['info', 'header.img'], /^emu: header\.img: header CRC mismatch \(corrupt header\)$/));
    it('a corrupt chunk (check)', () => refuses(['check', 'chunk.img'], /^emu: chunk\.img: chunk 2 at offset \d+: (CRC mismatch|corrupt deflate data)$/));
    it('a corrupt chunk (convert)', () => refuses(['convert', 'chunk.img', 'out.img'], /^emu: chunk\.img: chunk 2 at offset \d+: (CRC mismatch|corrupt deflate data)$/));
    it('a corrupt chunk (compact)', () => refuses(['compact', 'chunk.img'], /^emu: chunk\.img: chunk 2 at offset \d+/));
    it('a corrupt index', () => refuses(['check', 'index.img'], /^emu: index\.img: index CRC mismatch \(corrupt index at offset \d+\)$/));
    it('no valid commit slot', () => refuses(['info', 'slots.img'], /^emu: slots\.img: no valid commit slot/));
    it('a missing parent', () => refuses(['info', 'orphan.img'], /^emu: orphan\.img: missing parent .*gone-base\.img$/));
    it('a parent with another UUID', () => refuses(['commit', 'wrong.img'], /^emu: wrong\.img: parent .*other-base\.img is not the image this overlay was made on \(UUID 0c0c0c0c-.*, expected 0a0a0a0a-.*\)$/));
    it('a qcow2 image with a corrupt header', () => refuses(['convert', 'disk.qcow2', 'x.img'], /^emu: disk\.qcow2: corrupt qcow2 header: cluster_bits 0 /));
    it('a missing file', () => refuses(['info', 'nope.img'], /^emu: nope\.img: no such file$/));
    it('a directory', () => refuses(['check', '.'], /^emu: \.: is a directory$/));
    it('create over an existing file', () => refuses(['create', 'ok.img', '1M'], /^emu: ok\.img: already exists/));
    it('create with a bad size', () => refuses(['create', 'new.img', '12Q'], /^emu: img create: '12Q' is not a size/));
    it('create with an unaligned size', () => refuses(['create', 'new.img', '1000'], /^emu: new\.img: size 1000 is not a positive multiple of 512$/));
    it('commit without a parent', () => refuses(['commit', 'ok.img'], /^emu: ok\.img: has no backing file to commit into$/));
    it('commit of a raw image', () => refuses(['commit', 'plain.raw'], /^emu: plain\.raw: is a raw image/));
    it('compact of a raw image', () => refuses(['compact', 'plain.raw'], /^emu: plain\.raw: is a raw image; there is nothing to compact$/));
    it('convert onto its source', () => refuses(['convert', 'ok.img', 'ok.img'], /^emu: ok\.img: is the source; convert to another file$/));
    it('an unknown subcommand', () => refuses(['resize', 'ok.img'], /^emu: img: unknown command 'resize'/));
    it('an unknown option', () => refuses(['info', '-x', 'ok.img'], /^emu: img info: unknown option '-x'$/));
  });
});

// The `image` section of `npm run bench`: how fast a dfly image (emu/storage) is written and
// read, against raw node:zlib deflating and inflating the same 64 KiB chunks in memory —
// the floor the image format adds its CRCs, index, copies and file I/O to. Three kinds of
// data, 64 MiB each: text-like (compresses ~3:1), random (does not compress) and mostly
// zeros (7 chunks in 8 all zero, which an image stores as nothing).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { randomFillSync } from 'node:crypto';
import { build } from 'esbuild';

const CHUNK = 65536;
const SIZE = 64 << 20;
/** The size of each write and read against the image: a large guest request. */
const IO = 1 << 20;
const RUNS = 3;

/** emu/storage bundled for this process (it is TypeScript, and dist/ has only the command lines). */
async function storage(root) {
  const outfile = path.join(root, 'node_modules/.cache/bench/storage.mjs');
  await build({
    stdin: {
      contents: "export { nodeEnv } from './emu/storage/node.ts'; export { createImage } from './emu/storage/create.ts'; export { openDisk } from './emu/storage/open.ts';",
      resolveDir: root, loader: 'ts', sourcefile: 'bench-storage.ts',
    },
    outfile, bundle: true, platform: 'node', format: 'esm', target: 'node20', packages: 'external', logLevel: 'warning',
  });
  return import(outfile);
}

function textLike(len) {
  const words = ['the', 'kernel', 'maps', 'a', 'page', 'of', 'memory', 'into', 'each', 'process', 'and', 'writes', 'its', 'disk', 'blocks', '0x1f00', 'error', 'ok', '\n'];
  const b = Buffer.alloc(len);
  let s = 0x9e3779b9, at = 0;
  while (at < len) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    at += b.write(words[(s >>> 16) % words.length] + ' ', at);
  }
  return b;
}

const KINDS = {
  'text-like': () => textLike(SIZE),
  random: () => randomFillSync(Buffer.alloc(SIZE)),
  'mostly zeros': () => {
    const b = Buffer.alloc(SIZE), t = textLike(CHUNK);
    for (let at = 0; at < SIZE; at += 8 * CHUNK) t.copy(b, at);
    return b;
  },
};

function bestSecs(fn) {
  let best = Infinity;
  for (let k = 0; k < RUNS; k++) {
    const s = process.hrtime.bigint();
    fn(k);
    best = Math.min(best, Number(process.hrtime.bigint() - s) / 1e9);
  }
  return best;
}

export async function benchImage(root, only = Object.keys(KINDS)) {
  const { nodeEnv, createImage, openDisk } = await storage(root);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'damselfly-image-bench-'));
  const mbs = (secs) => SIZE / secs / 1e6;
  const rows = [];
  try {
    for (const kind of only) {
      const data = KINDS[kind]();
      const chunks = [];
      for (let at = 0; at < SIZE; at += CHUNK) chunks.push(data.subarray(at, at + CHUNK));
      let deflated = [];
      const deflate = bestSecs(() => { deflated = chunks.map((c) => zlib.deflateRawSync(c)); });
      const inflate = bestSecs(() => { for (const z of deflated) zlib.inflateRawSync(z); });
      let file = '';
      const write = bestSecs((k) => {
        file = path.join(dir, `${kind.replace(/ /g, '-')}-${k}.img`);
        createImage(nodeEnv, file, { size: SIZE });
        const d = openDisk(nodeEnv, file, { writable: true });
        for (let at = 0; at < SIZE; at += IO) d.write(at, data.subarray(at, at + IO));
        d.close(); // flush: the last chunks, the index, fsync, the commit slot, fsync
      });
      const read = bestSecs(() => {
        const d = openDisk(nodeEnv, file);
        for (let at = 0; at < SIZE; at += IO) {
          const got = d.read(at, IO);
          if (got[IO - 1] !== data[at + IO - 1]) throw new Error(`image bench: ${file} reads back wrong at ${at + IO - 1}`);
        }
        d.close();
      });
      rows.push({ kind, deflate, write, inflate, read, stored: fs.statSync(file).size });
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const pad = (s, n) => String(s).padStart(n);
  console.log(`image: dfly write/read through emu/storage (1 MiB requests; write includes the final flush and fsyncs) against node:zlib` +
    ` deflateRawSync/inflateRawSync of the same 64 KiB chunks in memory; 64 MiB per kind, best of ${RUNS}`);
  console.log(`${'data'.padEnd(13)} ${pad('deflate MB/s', 13)} ${pad('write MB/s', 11)} ${pad('ratio', 6)} ${pad('inflate MB/s', 13)} ${pad('read MB/s', 10)} ${pad('ratio', 6)} ${pad('image size', 11)}`);
  for (const r of rows) {
    console.log(`${r.kind.padEnd(13)} ${pad(mbs(r.deflate).toFixed(0), 13)} ${pad(mbs(r.write).toFixed(0), 11)} ${pad((r.deflate / r.write).toFixed(2) + 'x', 6)}` +
      ` ${pad(mbs(r.inflate).toFixed(0), 13)} ${pad(mbs(r.read).toFixed(0), 10)} ${pad((r.inflate / r.read).toFixed(2) + 'x', 6)} ${pad((r.stored / SIZE * 100).toFixed(1) + '%', 11)}`);
  }
  console.log('ratio: image throughput / zlib throughput (1.00x: the format costs nothing beyond deflate; above 1: zero chunks skipped)');
}

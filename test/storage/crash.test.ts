/**
 * A writer killed at any instant leaves an image that opens, checks clean and holds every
 * flushed write: its contents are exactly those after the last acknowledged flush, or after
 * the one in progress if that one's commit slot got written before the kill.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as path from 'node:path';
import * as fs from 'node:fs';
import { nodeEnv } from '../../emu/storage/node.js';
import { createImage } from '../../emu/storage/create.js';
import { openDisk } from '../../emu/storage/open.js';
import { checkImage } from '../../emu/storage/check.js';
import { CRASH_FLUSHES, CRASH_SIZE, statesAfter } from './crash-ops.js';
import { bundle, prng, runNode, tempDir, uuid } from './helpers.js';

const RUNS = Number(process.env.CRASH_RUNS ?? 200);
// Mostly waiting for fsync and for Node to start, so more writers than CPUs.
const PARALLEL = 4;
let writer = '';
let dir = '';
let template = '';
/** File operations of a whole uninterrupted run, to spread kill points over. */
let totalOps = 0;
let runMs = 0;

beforeAll(async () => {
  writer = await bundle('crash-writer', "import './test/storage/crash-writer.ts';");
  // On tmpfs where there is one: fsync costs ~5 ms on this disk, and a killed process loses
  // nothing the kernel already holds, so what is tested is the order of the writer's
  // operations (each one a kill point below), not the disk's. Power loss is not simulated.
  dir = fs.existsSync('/dev/shm') ? fs.mkdtempSync('/dev/shm/emu-storage-crash-') : tempDir('crash');
  template = path.join(dir, 'template.img');
  createImage(nodeEnv, template, { size: CRASH_SIZE, uuid: uuid(9) });
  const f = path.join(dir, 'probe.img');
  fs.copyFileSync(template, f);
  const r = await runNode(writer, [f, '1']);
  expect(r.status, r.stderr).toBe(0);
  const m = /done (\d+) ([\d.]+)/.exec(r.stdout)!;
  totalOps = Number(m[1]);
  runMs = Number(m[2]);
});

interface Outcome { acked: number; got: number; how: string }

async function one(i: number, rand: () => number): Promise<Outcome> {
  const f = path.join(dir, `run${i}.img`);
  // A copy needs no fsync: a killed process loses nothing the kernel already has.
  fs.copyFileSync(template, f);
  const seed = 1000 + i;
  // Half the runs die at a chosen file operation (writes torn at a random byte), half by SIGKILL from outside at a random time.
  const inside = i % 2 === 0;
  const args = inside ? [f, String(seed), String(Math.floor(rand() * (totalOps + 5))), String(rand())] : [f, String(seed)];
  const r = await runNode(writer, args, inside ? {} : { killAfterMs: Math.floor(rand() * runMs * 1.2) });
  if (r.stderr) throw new Error(`writer ${i}: ${r.stderr}`);
  const acked = Math.max(0, ...[...r.stdout.matchAll(/F (\d+)/g)].map((m) => Number(m[1])));
  const check = checkImage(nodeEnv, f);
  expect(check.errors, `run ${i}`).toEqual([]);
  const d = openDisk(nodeEnv, f);
  const content = Buffer.from(d.read(0, CRASH_SIZE));
  d.close();
  let got = -1;
  const states = statesAfter(seed, [acked, acked + 1]);
  states.forEach((s, j) => { if (content.equals(Buffer.from(s))) got = acked + j; });
  expect(got, `run ${i}: image matches neither flush ${acked} nor ${acked + 1}`).toBeGreaterThanOrEqual(0);
  // The survivor must also take new writes.
  const w = openDisk(nodeEnv, f, { writable: true });
  w.write(0, new Uint8Array([1, 2, 3]));
  w.close();
  expect(checkImage(nodeEnv, f).errors).toEqual([]);
  fs.rmSync(f);
  return { acked, got, how: r.signal ? 'killed' : 'finished' };
}

describe('crash safety', () => {
  it(`${RUNS} writers killed at random points leave images holding every flushed write`, async () => {
    const rand = prng(2024);
    const outcomes: Outcome[] = [];
    let next = 0;
    await Promise.all(Array.from({ length: PARALLEL }, async () => {
      while (next < RUNS) {
        const i = next++;
        outcomes[i] = await one(i, rand);
      }
    }));
    const killed = outcomes.filter((o) => o.how === 'killed');
    // The kill points must actually spread over the work, not all before or after it.
    expect(killed.length).toBeGreaterThan(RUNS * 0.6);
    expect(killed.filter((o) => o.acked > 0 && o.acked < CRASH_FLUSHES).length).toBeGreaterThan(RUNS * 0.4);
    expect(killed.some((o) => o.got === o.acked + 1)).toBe(true);
    console.log(`crash test: ${killed.length} of ${RUNS} killed mid-run (work ${runMs} ms, ${totalOps} file operations); ` +
      `${killed.filter((o) => o.got === o.acked + 1).length} had committed the flush in progress`);
  });
});

/**
 * `emu serve` without a browser: its refusals, and what its HTTP server
 * hands out (the page, the configuration, the image) and refuses (anything
 * else of the host's files).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { ROOT, runEmu } from '../helpers/emu.js';
import { serve, type Served } from './serve.js';

describe('emu serve refuses', () => {
  const refuses = async (args: string[], message: RegExp): Promise<void> => {
    const r = await runEmu(['serve', ...args]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(message);
  };
  it('no kernel', () => refuses([], /serve: missing -kernel FILE/));
  it('a missing kernel file', () => refuses(['-kernel', 'no/such.elf'], /-kernel no\/such\.elf: no such file/));
  it('a bad port', () => refuses(['-kernel', 'test/guest/bin/hello.elf', '--port', '70000'], /--port: '70000' is not a port number/));
  it('a bad CPU count', () => refuses(['-kernel', 'test/guest/bin/hello.elf', '-smp', '0'], /-smp: '0'/));
});

describe('emu serve over HTTP', () => {
  let s: Served;
  beforeAll(async () => { s = await serve(['-kernel', 'test/guest/bin/smp.elf', '-smp', '2', '--seed', '0x10', '-append', 'a b']); });
  afterAll(() => s?.stop());

  const get = (p: string): Promise<Response> => fetch(new URL(p, s.url));

  it('serves the page and its bundle', async () => {
    const page = await get('/');
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    expect(await page.text()).toMatch(/<script type="module" src="app\.js">/);
    expect((await get('/app.js')).status).toBe(200);
    expect((await get('/app.css')).status).toBe(200);
  });

  it('describes the machine and hands out the kernel it names', async () => {
    const config = await (await get('/config.json')).json();
    expect(config).toMatchObject({ cpus: 2, seed: '16', append: 'a b', ramBytes: 256 << 20, kernel: { url: '/kernel' }, modules: [] });
    const kernel = new Uint8Array(await (await get(config.kernel.url)).arrayBuffer());
    expect(Buffer.from(kernel).equals(readFileSync(path.join(ROOT, 'test/guest/bin/smp.elf')))).toBe(true);
  });

  it('refuses everything else', async () => {
    for (const p of ['/../package.json', '/%2e%2e/package.json', '/emu.mjs', '/nothing.js', '/web/index.html']) {
      expect((await get(p)).status, p).toBe(404);
    }
    expect((await fetch(new URL('/config.json', s.url), { method: 'POST' })).status).toBe(405);
  });
});

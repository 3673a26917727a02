/**
 * `emu serve` without a browser: its refusals, and what its HTTP server
 * hands out (the page, the configuration, the image) and refuses (anything
 * else of the host's files).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ROOT, runEmu } from '../helpers/emu.js';
import { serve, type Served } from './serve.js';

describe('emu serve refuses', () => {
  const refuses = async (args: string[], message: RegExp): Promise<void> => {
    const r = await runEmu(['serve', ...args]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(message);
  };
  it('no kernel and no disk', () => refuses([], /serve: missing -kernel FILE or a DISK/));
  it('a missing disk image', () => refuses(['no/such.img'], /^emu: no\/such\.img: no such file$/m));
  it('a DISK with no GPT to boot from', () => refuses(['test/guest/bin/hello.elf'], /^emu: test\/guest\/bin\/hello\.elf: too small for a GPT/m));
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
    expect(Buffer.from(kernel).equals(fs.readFileSync(path.join(ROOT, 'test/guest/bin/smp.elf')))).toBe(true);
  });

  it('refuses everything else', async () => {
    for (const p of ['/../package.json', '/%2e%2e/package.json', '/emu.mjs', '/nothing.js', '/web/index.html']) {
      expect((await get(p)).status, p).toBe(404);
    }
    expect((await fetch(new URL('/config.json', s.url), { method: 'POST' })).status).toBe(405);
  });
});

describe('emu serve with a disk over HTTP', () => {
  let s: Served;
  let dir: string;
  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'serve-disk-'));
    const recipe = path.join(dir, 'disk.json');
    fs.writeFileSync(recipe, JSON.stringify({ partitions: [{ type: 'boot', kernel: path.join(ROOT, 'test/guest/bin/hello.elf'), cmdline: 'x' }] }));
    execFileSync(process.execPath, [path.join(ROOT, 'bin/mkdisk.mjs'), recipe, '-o', path.join(dir, 'disk.img')], { stdio: 'pipe' });
    s = await serve([path.join(dir, 'disk.img'), '-drive', `file=${path.join(dir, 'disk.img')},if=nvme,model=none`]);
  });
  afterAll(async () => {
    await s?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('boots from the disk (no kernel URL) and hands out each image whole, unchanged', async () => {
    const config = await (await fetch(new URL('/config.json', s.url))).json();
    const file = path.join(dir, 'disk.img');
    const size = fs.statSync(file).size;
    expect(config).toMatchObject({
      kernel: null, remoteOnly: null,
      drives: [
        { name: file, url: '/drive/0', fileBytes: size, interface: 'virtio', serial: 'DFLY0000', timing: { model: 'hdd' } },
        { name: file, url: '/drive/1', fileBytes: size, interface: 'nvme', serial: 'DFLY0001', timing: { model: 'none', rate: 'Infinity' } },
      ],
    });
    for (const d of config.drives) {
      const bytes = new Uint8Array(await (await fetch(new URL(d.url, s.url))).arrayBuffer());
      expect(Buffer.from(bytes).equals(fs.readFileSync(file)), d.url).toBe(true);
    }
    expect((await fetch(new URL('/kernel', s.url))).status).toBe(404);
    expect((await fetch(new URL('/drive/2', s.url))).status).toBe(404);
  });
});

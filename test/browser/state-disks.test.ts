/**
 * Save state, load state and disks in the browser console, in real
 * Chromium: a saved machine comes back with the same terminal output and
 * runs on (in the tab and in the server); a damaged upload, or a snapshot of
 * disks the console does not serve, is refused in one line while the
 * machine runs on; a disk made by mkdisk boots from its boot partition with
 * no -kernel, in the tab and in the server; an overlay whose parent the page
 * cannot fetch falls back to the server with a notice. Skipped, saying why,
 * without Chromium.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { ROOT } from '../helpers/emu.js';
import { serve, type Served } from './serve.js';
import { CHROMIUM, DEADLINE_MS, closePage, openPage, suiteName, terminalText, waitForState, waitForText } from './page.js';

const OUT = path.join(ROOT, 'build/test-output/browser');
const ECHO_BANNER = /echo: damselfly console echo/;
const HELLO_BANNER = /hello: damselfly guest test kernel/;

describe.skipIf(!CHROMIUM)(suiteName('save state, load state and disks in Chromium'), () => {
  let browser: Browser;
  let dir: string;
  let echo: Served, disk: Served, overlay: Served;

  beforeAll(async () => {
    if (!fs.existsSync(path.join(ROOT, 'dist/web/index.html'))) throw new Error('dist/web is not built: run `node tools/build.mjs` (npm test does)');
    fs.mkdirSync(OUT, { recursive: true });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'browser-disks-'));
    const recipe = path.join(dir, 'disk.json');
    fs.writeFileSync(recipe, JSON.stringify({ partitions: [{ type: 'boot', kernel: path.join(ROOT, 'test/guest/bin/hello.elf'), cmdline: 'from-the-disk' }] }));
    execFileSync(process.execPath, [path.join(ROOT, 'bin/mkdisk.mjs'), recipe, '-o', path.join(dir, 'disk.img')], { stdio: 'pipe' });
    execFileSync(process.execPath, [path.join(ROOT, 'bin/emu.mjs'), 'img', 'create', '-b', path.join(dir, 'disk.img'), path.join(dir, 'top.img')], { stdio: 'pipe' });
    [echo, disk, overlay] = await Promise.all([
      serve(['-kernel', 'test/guest/bin/echo.elf']),
      serve([path.join(dir, 'disk.img')]),
      serve([path.join(dir, 'top.img')]),
    ]);
    // Root (CI) cannot use Chromium's sandbox; the pages are our own.
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  });

  afterAll(async () => {
    await browser?.close();
    await Promise.all([echo, disk, overlay].map((s) => s?.stop()));
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  const open = (url: string): Promise<Page> => openPage(browser, url, { downloads: true });
  const close = closePage;

  /** Clicks Save state and keeps the download in the test's folder; returns its path and name. */
  async function saveState(page: Page, prefix: string): Promise<{ file: string; name: string }> {
    const [download] = await Promise.all([page.waitForEvent('download', { timeout: DEADLINE_MS }), page.click('#save')]);
    const name = download.suggestedFilename();
    const file = path.join(dir, `${prefix}-${name}`);
    await download.saveAs(file);
    return { file, name };
  }

  /** The buttons take the focus: the terminal gets it back before each key. */
  async function type(page: Page, text: string): Promise<void> {
    await page.locator('#terminal').click();
    await page.keyboard.type(text);
  }

  const notice = (page: Page): Promise<string> => page.locator('#notice').textContent().then((t) => t ?? '');

  for (const mode of ['tab', 'server'] as const) {
    it(`saves the machine and resumes it with the same output, and refuses a damaged file (machine in the ${mode})`, async () => {
      const page = await open(mode === 'tab' ? echo.url : `${echo.url}?remote=1`);
      await waitForText(page, ECHO_BANNER);
      expect(await page.evaluate(() => document.body.dataset.mode)).toBe(mode === 'tab' ? 'local' : 'remote');
      await type(page, 'before');
      await waitForText(page, /BEFORE/);
      // Keys typed while paused wait in the UART's FIFO: the snapshot holds them.
      await page.click('#pause');
      await waitForState(page, 'paused');
      await type(page, 'queued');
      const { file, name } = await saveState(page, mode);
      expect(name).toMatch(/^damselfly-[1-9]\d*ns\.snap$/);
      await expect.poll(() => notice(page), { timeout: DEADLINE_MS }).toMatch(new RegExp(`^saved ${name.replace(/\./g, '\\.')} \\(\\d+ KiB\\)$`));
      await page.click('#resume');
      await waitForText(page, /BEFOREQUEUED/);
      await type(page, 'after');
      await waitForText(page, /BEFOREQUEUEDAFTER/);

      await page.setInputFiles('#load-file', file);
      await expect.poll(() => notice(page), { timeout: DEADLINE_MS }).toBe(`loaded ${mode}-${name}`);
      // What followed the save comes again: the queued keys' echo, then the machine takes new ones.
      await waitForText(page, /\[loaded [^\]]+\]\n+QUEUED/);
      await type(page, 'more');
      await waitForText(page, /\[loaded [^\]]+\]\n+QUEUEDMORE/);
      await waitForState(page, 'running');

      const damaged = fs.readFileSync(file);
      damaged[damaged.length >> 1] ^= 0x40;
      const bad = path.join(dir, `${mode}-damaged.snap`);
      fs.writeFileSync(bad, damaged);
      await page.setInputFiles('#load-file', bad);
      await expect.poll(() => notice(page), { timeout: DEADLINE_MS })
        .toMatch(/^load state refused: \S*damaged\.snap: corrupt section \w+ \(CRC mismatch\); the machine runs on as it was$/);
      await type(page, 'still');
      await waitForText(page, /QUEUEDMORESTILL/);
      expect((await terminalText(page)).match(/\[loaded /g)).toHaveLength(1);
      await page.screenshot({ path: path.join(OUT, `state-${mode}.png`) });
      await close(page);
    });
  }

  it('boots a mkdisk image from its boot partition in the tab; its snapshot is refused where the disk is not served', async () => {
    const page = await open(disk.url);
    await waitForText(page, HELLO_BANNER);
    await waitForText(page, /cmdline args: from-the-disk/);
    await waitForState(page, 'stopped');
    expect(await page.evaluate(() => document.body.dataset.mode)).toBe('local');
    expect(await page.title()).toMatch(/damselfly · .*disk\.img/);
    const { file } = await saveState(page, 'disk');
    await page.screenshot({ path: path.join(OUT, 'disk.png') });
    await close(page);

    const other = await open(echo.url);
    await waitForText(other, ECHO_BANNER);
    await other.setInputFiles('#load-file', file);
    await expect.poll(() => notice(other), { timeout: DEADLINE_MS })
      .toBe(`load state refused: the snapshot needs the disk ${path.join(dir, 'disk.img')}, which this console does not serve (it has none); the machine runs on as it was`);
    await close(other);
  });

  it('boots the same image in the server with ?remote=1', async () => {
    const page = await open(`${disk.url}?remote=1`);
    await waitForText(page, HELLO_BANNER);
    await waitForText(page, /cmdline args: from-the-disk/);
    await page.waitForSelector('body[data-mode="remote"]', { timeout: DEADLINE_MS });
    await close(page);
  });

  it('falls back to the server, saying why, for an image the tab cannot open', async () => {
    const page = await open(overlay.url);
    await waitForText(page, HELLO_BANNER);
    await page.waitForSelector('body[data-mode="remote"]', { timeout: DEADLINE_MS });
    expect(await notice(page)).toBe(`${path.join(dir, 'top.img')} is an overlay on ${path.join(dir, 'disk.img')}, which the page does not fetch: the machine runs in the server`);
    await close(page);
  });
});

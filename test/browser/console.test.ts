/**
 * The browser console (`emu serve`) in real Chromium, driven by
 * playwright-core: the page loads and boots a test kernel in the tab, the
 * banner reaches the terminal, keys and pasted text reach the guest and its
 * echo comes back, copy takes the selection, the buttons work, the CPU panel
 * shows every CPU of -smp 4 and their IPIs, and remote mode (?remote=1)
 * runs the same machine in the server. Screenshots go to
 * build/test-output/browser/.
 *
 * Debian's chromium only (nothing downloads a browser); without it the suite
 * is skipped and its name says why. CHROMIUM=/path replaces the lookup.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { ROOT } from '../helpers/emu.js';
import { serve, type Served } from './serve.js';
import { CHROMIUM, DEADLINE_MS, closePage, openPage, suiteName, terminalText, waitForState, waitForText } from './page.js';

const SUITE = suiteName('emu serve in Chromium');
const OUT = path.join(ROOT, 'build/test-output/browser');
const BIN = 'test/guest/bin';
const ECHO_BANNER = /echo: damselfly console echo/;

describe.skipIf(!CHROMIUM)(SUITE, () => {
  let browser: Browser;
  let hello: Served, echo: Served, smp: Served;

  beforeAll(async () => {
    if (!fs.existsSync(path.join(ROOT, 'dist/web/index.html'))) throw new Error('dist/web is not built: run `node tools/build.mjs` (npm test does)');
    fs.mkdirSync(OUT, { recursive: true });
    [hello, echo, smp] = await Promise.all([
      serve(['-kernel', `${BIN}/hello.elf`, '-append', 'from the browser']),
      serve(['-kernel', `${BIN}/echo.elf`]),
      serve(['-kernel', `${BIN}/smp.elf`, '-smp', '4', '--seed', '3']),
    ]);
    // Root (CI) cannot use Chromium's sandbox; the pages are our own.
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  });

  afterAll(async () => {
    await browser?.close();
    await Promise.all([hello, echo, smp].map((s) => s?.stop()));
  });

  const open = (url: string, clipboard = false): Promise<Page> => openPage(browser, url, { clipboard });
  const close = closePage;

  it('loads, boots the hello kernel in the tab, and batches its output', async () => {
    const page = await open(hello.url);
    await waitForText(page, /hello: damselfly guest test kernel/);
    await waitForState(page, 'stopped');
    expect(await page.title()).toMatch(/damselfly · .*hello\.elf/);
    expect(await page.evaluate(() => document.body.dataset.mode)).toBe('local');
    expect(await terminalText(page)).toMatch(/cmdline args: from the browser/);
    expect(await page.locator('#status').textContent()).toMatch(/stopped: the guest exited with status 1/);
    // A write per frame, not per byte: far fewer writes than bytes printed.
    const { writes, length } = await page.evaluate(() => ({ writes: window.damselfly!.terminal.writes, length: window.damselfly!.terminal.text().length }));
    expect(writes).toBeLessThan(length / 10);
    await page.screenshot({ path: path.join(OUT, 'hello.png') });
    // The fit addon: a narrower window, fewer columns.
    const cols = await page.evaluate(() => window.damselfly!.terminal.term.cols);
    await page.setViewportSize({ width: 900, height: 500 });
    await expect.poll(() => page.evaluate(() => window.damselfly!.terminal.term.cols), { timeout: DEADLINE_MS }).toBeLessThan(cols);
    await close(page);
  });

  it('sends keystrokes to COM1 and shows the echo', async () => {
    const page = await open(echo.url);
    await waitForText(page, ECHO_BANNER);
    await page.locator('#terminal').click();
    await page.keyboard.type('hello, world');
    await waitForText(page, /HELLO, WORLD/);
    await page.keyboard.press('Enter');
    await page.keyboard.type('ünï');
    // UTF-8: the guest upper-cases only ASCII letters and echoes every byte, so ü and ï come back whole.
    await waitForText(page, /^üNï/m);
    // No selection: Ctrl+C belongs to the guest.
    await page.keyboard.press('Control+c');
    await waitForText(page, /\^C received/);
    await close(page);
  });

  it('copies the selection and pastes into the guest', async () => {
    const page = await open(echo.url, true);
    await waitForText(page, ECHO_BANNER);
    await page.locator('#terminal').click();
    await page.evaluate(() => window.damselfly!.terminal.term.selectAll());
    await page.keyboard.press('Control+c');
    await expect.poll(() => page.evaluate(() => navigator.clipboard.readText()), { timeout: DEADLINE_MS }).toMatch(ECHO_BANNER);
    // The copy took the selection, not the guest: no ^C went to it.
    await page.evaluate(() => window.damselfly!.terminal.term.clearSelection());
    await page.evaluate(() => navigator.clipboard.writeText('pasted text'));
    await page.keyboard.press('Control+v');
    await waitForText(page, /PASTED TEXT/);
    expect(await terminalText(page)).not.toMatch(/\^C received/);
    await close(page);
  });

  it('pauses, resumes and resets the machine', async () => {
    const page = await open(echo.url);
    await waitForText(page, ECHO_BANNER);
    await page.click('#pause');
    await waitForState(page, 'paused');
    await page.locator('#terminal').click();
    await page.keyboard.type('held');
    // Keys typed while paused wait in the UART and come back once it runs.
    await page.click('#resume');
    await waitForState(page, 'running');
    await waitForText(page, /HELD/);
    await page.click('#reset');
    await waitForText(page, /\[reset\]/);
    await waitForText(page, ECHO_BANNER, 2);
    await close(page);
  });

  it('shows every CPU of -smp 4 and the IPIs between them', async () => {
    const page = await open(smp.url);
    await waitForText(page, /cpu 3: apic id 3 online in long mode/);
    await waitForText(page, /^PASS$/m);
    await waitForState(page, 'stopped');
    // The stop refreshes the panel at once; the rows are the final counts.
    await expect.poll(() => page.locator('#cpus tbody tr').count(), { timeout: DEADLINE_MS }).toBe(4);
    const rows = await page.locator('#cpus tbody tr').evaluateAll((trs) => trs.map((tr) => Array.from(tr.children, (c) => c.textContent)));
    expect(rows.map((r) => r[0])).toEqual(['cpu0', 'cpu1', 'cpu2', 'cpu3']);
    expect(rows.map((r) => r[1])).toEqual(['0', '1', '2', '3']);
    for (const r of rows) expect(['running', 'halted', 'waiting for SIPI']).toContain(r[2]);
    // smp.S pings every AP from the BSP and each answers: row 0 and column 0 of the matrix are busy.
    const matrix = await page.locator('#ipi-matrix tr').evaluateAll((trs) => trs.slice(1).map((tr) => Array.from(tr.querySelectorAll('td'), (c) => c.textContent)));
    expect(matrix).toHaveLength(4);
    for (let ap = 1; ap < 4; ap++) {
      expect(Number(matrix[0][ap]!.replace(/,/g, ''))).toBeGreaterThan(0);
      expect(Number(matrix[ap][0]!.replace(/,/g, ''))).toBeGreaterThan(0);
    }
    await page.screenshot({ path: path.join(OUT, 'smp4.png') });
    await close(page);
  });

  it('runs the machine in the server with ?remote=1', async () => {
    const page = await open(`${echo.url}?remote=1`);
    await waitForText(page, ECHO_BANNER);
    await page.waitForSelector('body[data-mode="remote"]', { timeout: DEADLINE_MS });
    await page.locator('#terminal').click();
    await page.keyboard.type('over the wire');
    await waitForText(page, /OVER THE WIRE/);
    await expect.poll(() => page.locator('#cpus tbody tr').count(), { timeout: DEADLINE_MS }).toBe(1);
    await page.click('#pause');
    await waitForState(page, 'paused');
    await page.click('#resume');
    await waitForState(page, 'running');
    await page.screenshot({ path: path.join(OUT, 'remote.png') });
    await close(page);
  });
});

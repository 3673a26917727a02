/**
 * Reading the console page from a test: the terminal's buffer through
 * window.damselfly, polled with generous deadlines (a loaded CI machine
 * runs the guest slowly; nothing here measures time).
 */
import * as fs from 'node:fs';
import { expect } from 'vitest';
import type { Browser, Page } from 'playwright-core';

export const DEADLINE_MS = 90_000;

const CANDIDATES = process.env.CHROMIUM ? [process.env.CHROMIUM] : ['/usr/bin/chromium', '/usr/bin/chromium-browser'];
/** Debian's chromium only: nothing downloads a browser. CHROMIUM=/path replaces the lookup. */
export const CHROMIUM = CANDIDATES.find((p) => fs.existsSync(p));

/** A suite's name, saying why it is skipped when there is no Chromium. */
export function suiteName(name: string): string {
  return CHROMIUM ? name : `${name} (skipped: no Chromium at ${CANDIDATES.join(' or ')}; apt-get install chromium, as .ci/run does)`;
}

const pageErrors = new WeakMap<Page, string[]>();

/** A page of its own context at `url`, recording uncaught errors for closePage. */
export async function openPage(browser: Browser, url: string, opts: { clipboard?: boolean; downloads?: boolean } = {}): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 720 }, ...(opts.downloads ? { acceptDownloads: true } : {}) });
  if (opts.clipboard) await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: new URL(url).origin });
  const page = await context.newPage();
  const errors: string[] = [];
  pageErrors.set(page, errors);
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(url);
  return page;
}

/** Ends a test's page; an uncaught error in it fails the test even if every check passed. */
export async function closePage(page: Page): Promise<void> {
  const errors = pageErrors.get(page) ?? [];
  await page.context().close();
  expect(errors, 'uncaught errors in the page').toEqual([]);
}

export function terminalText(page: Page): Promise<string> {
  return page.evaluate(() => window.damselfly?.terminal.text() ?? '');
}

/** Waits until the terminal shows `pattern` (`times` matches); throws with the screen if it does not. */
export async function waitForText(page: Page, pattern: RegExp, times = 1): Promise<string> {
  const g = new RegExp(pattern.source, pattern.flags.includes('g') ? pattern.flags : pattern.flags + 'g');
  try {
    await page.waitForFunction(([src, flags, n]) => {
      const d = window.damselfly;
      if (d?.error) return true;
      return (d?.terminal.text().match(new RegExp(src as string, flags as string))?.length ?? 0) >= (n as number);
    }, [g.source, g.flags, times] as const, { timeout: DEADLINE_MS, polling: 100 });
  } catch {
    throw new Error(`no ${pattern} (×${times}) in the terminal within ${DEADLINE_MS / 1000} s; it shows:\n${await terminalText(page)}`);
  }
  const text = await terminalText(page);
  const error = await page.evaluate(() => window.damselfly?.error ?? null);
  if (error) throw new Error(`the page failed: ${error}\n${text}`);
  return text;
}

/** Waits for the panel's status line to say `state` (running, paused, idle, stopped). */
export async function waitForState(page: Page, state: string): Promise<void> {
  await page.waitForSelector(`#status[data-state="${state}"]`, { timeout: DEADLINE_MS });
}

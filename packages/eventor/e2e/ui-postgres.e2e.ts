/// <reference lib="dom" />
// eventor ui over a PostgreSQL store, in a real browser: a run still going, followed live.
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { startUi, type UiServer } from '../src/ui/server.js';
import { assertBuilt, PACKAGE_ROOT } from '../test/fixtures-cli/cli.js';
import { gatedRun } from '../test/fixtures-ui/flows.js';
import { testDatabase } from '../test/helpers/postgres.js';

const CHROMIUM = '/usr/bin/chromium';
const STATIC = join(PACKAGE_ROOT, 'dist', 'ui', 'static');
const db = testDatabase('e2e');

let browser: Browser;

beforeAll(async () => {
  assertBuilt();
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
});

afterAll(async () => {
  await browser?.close();
});

async function serve(store: string): Promise<UiServer> {
  const ui = await startUi({ store, port: 0, staticDir: STATIC });
  onTestFinished(() => ui.close());
  return ui;
}

/** A page that fails the test on a script error. */
async function open(): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
  onTestFinished(() => context.close());
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console: ${message.text()}`);
  });
  onTestFinished(() => expect(problems).toEqual([]));
  return page;
}

describe('eventor ui on a PostgreSQL store, in a browser', () => {
  it('opens a run from the list and follows it from running to success without a reload', async () => {
    const store = db.store('live');
    const run = gatedRun(store);
    await run.started;
    const ui = await serve(store);
    const password = new URL(store).password;
    const list = await open();
    await list.goto(ui.url);
    await list.waitForSelector('body[data-live="on"]');
    expect(await list.locator('h1 small').textContent()).toContain(':***@');
    expect(await list.content()).not.toContain(password);
    expect(await list.locator('table.runs tbody .status').textContent()).toBe('running');
    const page = await open();
    await page.goto(ui.url);
    await page.locator('table.runs tbody a').click();
    await page.waitForURL(`**/runs/${run.runId}`);
    await page.waitForSelector('body[data-rendered="true"]');
    await page.waitForSelector('body[data-live="on"]');
    const step = (name: string) => `#graph g.step[data-step="${name}"]`;
    expect(await page.locator(step('wait')).getAttribute('data-state')).toBe('active');
    await page.evaluate(() => {
      (window as unknown as { marker: number }).marker = 42;
    });

    const opened = Date.now();
    run.open();
    await page.waitForSelector(`${step('wait')}[data-state="success"]`, { timeout: 5000 });
    const tookMs = Date.now() - opened;
    await page.waitForSelector(`${step('last')}[data-state="success"]`, { timeout: 5000 });
    await run.done;
    await expect.poll(() => page.locator('#run-status').textContent()).toBe('success');
    await expect.poll(() => list.locator('table.runs tbody .status').textContent()).toBe('success');
    expect(await page.evaluate(() => (window as unknown as { marker?: number }).marker)).toBe(42);
    expect(tookMs).toBeLessThan(1000);
  });
});

/// <reference lib="dom" />
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { startUi, type UiServer } from '../src/ui/server.js';
import { assertBuilt, PACKAGE_ROOT, tempDir } from '../test/fixtures-cli/cli.js';
import { batchFlow, gatedTree } from '../test/fixtures-tree/flows.mjs';
import { chainRun, gatedRun, HOSTILE, hostileRun, recoveredDemo } from '../test/fixtures-ui/flows.js';

const CHROMIUM = '/usr/bin/chromium';
const STATIC = join(PACKAGE_ROOT, 'dist', 'ui', 'static');
/** Screenshots and timings of this suite. */
export const OUTPUT = join(PACKAGE_ROOT, 'e2e-output');

let browser: Browser;

beforeAll(async () => {
  assertBuilt();
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `${CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium); .ci/run does.`,
    );
  }
  mkdirSync(OUTPUT, { recursive: true });
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

/** A page that fails the test on a script error or an alert (an escaped name never runs). */
async function open(): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
  onTestFinished(() => context.close());
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('dialog', (dialog) => {
    problems.push(`dialog: ${dialog.message()}`);
    void dialog.dismiss();
  });
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console: ${message.text()}`);
  });
  onTestFinished(() => expect(problems).toEqual([]));
  return page;
}

function stepNode(page: Page, step: string) {
  return page.locator(`#graph g.step[data-step="${step.replace(/["\\]/g, '\\$&')}"]`);
}

describe('eventor ui in a browser', () => {
  it('opens the runs list, a run, a step with its tasks and its why; saves a screenshot', async () => {
    const store = join(tempDir('eventor-ui-e2e-'), 'demo.run.db');
    const runId = await recoveredDemo(store);
    const ui = await serve(store);
    const page = await open();

    await page.goto(ui.url);
    const row = page.locator('table.runs tbody tr');
    await expect.poll(() => row.count()).toBe(1);
    expect(await row.locator('td').nth(1).textContent()).toBe('demo');
    expect(await row.locator('.status').textContent()).toBe('success');
    await row.locator('a').click();
    await page.waitForURL(`**/runs/${runId}`);
    await page.waitForSelector('body[data-rendered="true"]');

    expect(await stepNode(page, 's1').getAttribute('data-state')).toBe('skipped');
    expect(await stepNode(page, 's2').getAttribute('data-state')).toBe('success');
    expect(await page.locator('#run-status').textContent()).toBe('success');
    // the graph's step fill comes from the status colour, not Graphviz's white
    const fill = await stepNode(page, 's2')
      .locator('path, polygon')
      .first()
      .evaluate((el) => getComputedStyle(el).fill);
    expect(fill).toBe('rgb(211, 249, 216)');

    await stepNode(page, 's2').click();
    const panel = page.locator('#step-panel');
    await panel.waitFor({ state: 'visible' });
    expect(await panel.locator('.step-name').textContent()).toBe('s2');
    const cells = await panel
      .locator('tbody tr')
      .evaluateAll((rows) =>
        rows.map((r) => [...r.querySelectorAll('td')].slice(0, 4).map((td) => td.textContent)),
      );
    expect(cells).toEqual([
      ['3', '0', 'failure', '1'],
      ['3', '1', 'success', '1'],
    ]);
    const error = panel.locator('td.error details').first();
    expect(await error.locator('summary').textContent()).toContain('cannot take the square root of -9');
    expect(await error.locator('pre').textContent()).toMatch(/RangeError: .*\n\s+at /);
    const why = (await (await fetch(new URL(`/api/runs/${runId}/why?step=s2`, ui.url))).json()) as {
      text: string;
    };
    expect(await panel.locator('pre.why').textContent()).toBe(why.text);
    expect(why.text).toContain('s2[3]: it ran.');

    // the tasks table filters; the recoveries sit side by side
    await page.locator('#task-filters select[name="status"]').selectOption('skipped');
    expect(await page.locator('#tasks tbody tr td').first().textContent()).toBe('s1');
    expect(await page.locator('#tasks tbody tr').count()).toBe(1);
    const recoveries = await page
      .locator('#recoveries tbody tr')
      .evaluateAll((rows) => rows.map((r) => [...r.querySelectorAll('td')].map((td) => td.textContent)));
    expect(recoveries).toEqual([
      ['s1', '3', 'success', 'skipped'],
      ['s2', '3', 'failure', 'reran: success'],
      ['s3', '3', '—', 'success'],
    ]);
    expect(await page.locator('#recoveries th.recovery-summary').allTextContents()).toEqual([
      'ran 2',
      'ran 1, reran 1, skipped 1',
    ]);
    await page.screenshot({ path: join(OUTPUT, 'run-page.png'), fullPage: true });
  });

  it('turns a step of a run still going from running to success without a reload', async () => {
    const store = join(tempDir('eventor-ui-e2e-'), 'live.run.db');
    const run = gatedRun(store);
    await run.started;
    const ui = await serve(store);
    const page = await open();
    await page.goto(new URL(`/runs/${run.runId}`, ui.url).href);
    await page.waitForSelector('body[data-rendered="true"]');
    await page.waitForSelector('body[data-live="on"]');
    expect(await stepNode(page, 'wait').getAttribute('data-state')).toBe('active');
    expect(await page.locator('#run-status').textContent()).toBe('running');
    await page.evaluate(() => {
      (window as unknown as { marker: number }).marker = 42;
    });
    // and the runs list, in a second page
    const list = await open();
    await list.goto(ui.url);
    await list.waitForSelector('body[data-live="on"]');
    expect(await list.locator('table.runs tbody .status').textContent()).toBe('running');

    const opened = Date.now();
    run.open();
    await page.waitForSelector('#graph g.step[data-step="wait"][data-state="success"]', { timeout: 5000 });
    const tookMs = Date.now() - opened;
    await page.waitForSelector('#graph g.step[data-step="last"][data-state="success"]', { timeout: 5000 });
    await run.done;
    await expect.poll(() => page.locator('#run-status').textContent()).toBe('success');
    await expect.poll(() => list.locator('table.runs tbody .status').textContent()).toBe('success');
    // the same document: no reload happened
    expect(await page.evaluate(() => (window as unknown as { marker?: number }).marker)).toBe(42);
    expect(tookMs).toBeLessThan(1000);
    writeFileSync(join(OUTPUT, 'live.json'), JSON.stringify({ runningToSuccessMs: tookMs }));
  });

  it('shows names made of HTML as text', async () => {
    const store = join(tempDir('eventor-ui-e2e-'), 'hostile.run.db');
    const runId = await hostileRun(store);
    const ui = await serve(store);
    const page = await open();
    await page.goto(ui.url);
    expect(await page.locator('table.runs tbody td').nth(1).textContent()).toBe(`flow ${HOSTILE}`);
    await page.goto(new URL(`/runs/${encodeURIComponent(runId)}`, ui.url).href);
    await page.waitForSelector('body[data-rendered="true"]');
    expect(await page.locator('h1 .run-name').textContent()).toBe(`flow ${HOSTILE}`);
    expect(await page.locator('#graph g.step text').first().textContent()).toBe(HOSTILE);
    await stepNode(page, HOSTILE).click();
    const panel = page.locator('#step-panel');
    await panel.waitFor({ state: 'visible' });
    expect(await panel.locator('.step-name').textContent()).toBe(HOSTILE);
    expect(await panel.locator('tbody td').first().textContent()).toBe(`seq ${HOSTILE}`);
    expect(await panel.locator('pre.why').textContent()).toContain(`${HOSTILE}[seq ${HOSTILE}]: it ran.`);
    expect(await page.locator('#tasks tbody td').first().textContent()).toBe(HOSTILE);
    expect(await page.locator('img').count()).toBe(0);
  });

  it('renders the run page of a 1,000-step run in under a second', async () => {
    const store = join(tempDir('eventor-ui-e2e-'), 'chain.run.db');
    const runId = await chainRun(store, 1000);
    const ui = await serve(store);
    const page = await open();
    // as a user comes to it: from the runs list (its layout is not cached yet)
    await page.goto(ui.url);
    const started = Date.now();
    await page.locator('table.runs a').first().click();
    await page.waitForURL(`**/runs/${runId}`);
    await page.waitForSelector('body[data-rendered="true"]', { timeout: 20_000 });
    const wallMs = Date.now() - started;
    const renderMs = Number(await page.locator('body').getAttribute('data-render-ms'));
    expect(await page.locator('#graph g.step').count()).toBe(1000);
    expect(await page.locator('#graph g.step[data-state="success"]').count()).toBe(1000);
    expect(await page.locator('#tasks tbody tr').count()).toBe(1000);
    // again, with the server's layout cached
    await page.reload();
    await page.waitForSelector('body[data-rendered="true"]', { timeout: 20_000 });
    const cachedMs = Number(await page.locator('body').getAttribute('data-render-ms'));
    writeFileSync(join(OUTPUT, 'render-1000.json'), JSON.stringify({ renderMs, wallMs, cachedMs }));
    // with its layout made (the server keeps one per flow, made once: a change of status only
    // recolours it); the first view, which waits for Graphviz's layout, is in render-1000.json
    expect(cachedMs).toBeLessThan(1000);
    expect(renderMs).toBeLessThan(5000);
  });

  it('draws a sequent run as its tree with its iterations, explains a step by its requirement, toggles to the eventor graph', async () => {
    const store = join(tempDir('eventor-ui-e2e-'), 'etl.run.db');
    await batchFlow({ store });
    const ui = await serve(store);
    const page = await open();
    await page.goto(ui.url);
    await page.locator('table.runs a').first().click();
    await page.waitForURL('**/runs/r-etl');
    await page.waitForSelector('body[data-rendered="true"]');
    expect(await page.locator('#graph').getAttribute('data-view')).toBe('tree');

    // batch is a box holding its steps, with its iterations; nothing compiled is drawn
    const batch = page.locator('#graph g.container[data-step="batch"]');
    expect(await batch.getAttribute('data-state')).toBe('failure');
    expect(await batch.locator('text').first().textContent()).toBe('batch');
    expect(await page.locator('#graph g.header text').allTextContents()).toEqual([
      '3 iterations',
      '1.1 success · 1.2 failure · 1.3 not started',
    ]);
    expect(await stepNode(page, 'batch_extract').getAttribute('data-state')).toBe('failure');
    expect(await stepNode(page, 'batch_load').getAttribute('data-state')).toBe('success');
    expect(await stepNode(page, 'report').getAttribute('data-state')).toBe('dead');
    const texts = await page.locator('#graph text').allTextContents();
    expect(texts.filter((text) => /\w#\w/.test(text))).toEqual([]);
    expect(texts).toContain('failure'); // batch -> alert waits for batch's failure
    // the steps inside batch are drawn inside its box
    const box = await batch.boundingBox();
    const load = await stepNode(page, 'batch_load').boundingBox();
    expect(box && load && load.x > box.x && load.x + load.width < box.x + box.width).toBe(true);
    // the tasks are the leaves', by path
    expect(await page.locator('#tasks tbody tr td:first-child').allTextContents()).toEqual([
      'batch_extract',
      'batch_load',
      'batch_extract',
      'alert',
    ]);

    await stepNode(page, 'batch_load').click();
    const panel = page.locator('#step-panel');
    await panel.waitFor({ state: 'visible' });
    expect(await panel.locator('.step-name').textContent()).toBe('batch_load');
    const why = await panel.locator('pre.why').textContent();
    expect(why).toContain(
      'It waits for batch_extract to succeed in iteration 1.2: batch_extract[1.2] failed, so it never will.',
    );
    expect(why).not.toMatch(/\w#\w/);
    await page.screenshot({ path: join(OUTPUT, 'tree-run-page.png'), fullPage: true });

    // a container's panel lists its iterations
    await batch.locator('text').first().click();
    await expect.poll(() => panel.locator('.step-name').textContent()).toBe('batch');
    const rows = await panel
      .locator('table.iterations tbody tr')
      .evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)));
    expect(rows).toEqual([
      ['1.1', 'success'],
      ['1.2', 'failure'],
      ['1.3', 'not started'],
    ]);

    // the toggle draws the eventor graph it was compiled to, and back
    await page.locator('#graph-toggle').click();
    await page.waitForSelector('#graph[data-view="compiled"]');
    expect(await page.locator('#graph g.step[data-step="batch#begin"]').count()).toBe(1);
    expect(await page.locator('#graph g.cluster').count()).toBe(0);
    expect(await page.locator('#tasks tbody tr td:first-child').allTextContents()).toContain('batch#next');
    await page.locator('#graph-toggle').click();
    await page.waitForSelector('#graph[data-view="tree"]');
    expect(await page.locator('#graph g.container').count()).toBe(1);
  });

  it('follows a sequent run still going: an iteration turns from running to success without a reload', async () => {
    const store = join(tempDir('eventor-ui-e2e-'), 'live-tree.run.db');
    const run = await gatedTree({ store });
    await run.started;
    const ui = await serve(store);
    const page = await open();
    await page.goto(new URL(`/runs/${run.runId}`, ui.url).href);
    await page.waitForSelector('body[data-rendered="true"]');
    await page.waitForSelector('body[data-live="on"]');
    const header = page.locator('#graph g.header text');
    expect(await header.allTextContents()).toEqual(['2 iterations', '1.1 success · 1.2 running']);
    expect(await page.locator('#graph g.container').getAttribute('data-state')).toBe('active');
    await page.evaluate(() => {
      (window as unknown as { marker: number }).marker = 7;
    });
    run.open();
    await expect
      .poll(() => header.allTextContents(), { timeout: 5000 })
      .toEqual(['2 iterations', '1.1 success · 1.2 success']);
    await run.done;
    await expect.poll(() => page.locator('#graph g.container').getAttribute('data-state')).toBe('success');
    expect(await stepNode(page, 'batch_work').getAttribute('data-state')).toBe('success');
    expect(await page.evaluate(() => (window as unknown as { marker?: number }).marker)).toBe(7);
  });
});

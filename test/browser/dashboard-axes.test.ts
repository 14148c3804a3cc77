/**
 * The dashboard's charts as a person reads their value axes, in real headless Chromium:
 * on a companion with no traffic yet, and with a few fast requests (latencies of a
 * millisecond or two), every tick label is distinct — never "1 ms, 1 ms, 1 ms, 0 ms".
 * uPlot draws the axes on a canvas, so the labels are read from what it paints.
 */
import assert from 'node:assert/strict';
import { type TestContext, test } from 'node:test';
import type { Page } from 'playwright-core';
import { historySettled, openBrowser, signInToPanel, startPanelCompanion } from '../support/browser.js';
import { eventually, ollamaClient } from '../support/companion-harness.js';

const CHARTS = ['Requests and errors', 'Model tokens', 'Latency'];

/**
 * Records the text each canvas paints since it was last cleared (uPlot clears before each
 * redraw), with its alignment: uPlot right-aligns the left value axis, centres the time axis.
 */
function recordCanvasText(): void {
  const painted = new WeakMap<HTMLCanvasElement, { text: string; align: string }[]>();
  (window as unknown as { paintedText: typeof painted }).paintedText = painted;
  const proto = CanvasRenderingContext2D.prototype;
  const fillText = proto.fillText;
  const clearRect = proto.clearRect;
  proto.fillText = function (text, ...rest) {
    const list = painted.get(this.canvas) ?? [];
    list.push({ text: String(text), align: this.textAlign });
    painted.set(this.canvas, list);
    return fillText.call(this, text, ...rest);
  };
  proto.clearRect = function (x, y, w, h) {
    if (x <= 0 && y <= 0 && w >= this.canvas.width && h >= this.canvas.height) painted.set(this.canvas, []);
    return clearRect.call(this, x, y, w, h);
  };
}

/** The value axis labels of a chart, bottom to top. */
async function valueTicks(page: Page, title: string): Promise<string[]> {
  const canvas = page.getByRole('figure', { name: title }).locator('canvas');
  await canvas.waitFor();
  // uPlot paints on the next frame after the canvas appears.
  return eventually(async () => {
    const painted = await canvas.evaluate(
      (c) =>
        (
          window as unknown as { paintedText: WeakMap<HTMLCanvasElement, { text: string; align: string }[]> }
        ).paintedText.get(c as HTMLCanvasElement) ?? [],
    );
    const ticks = painted.filter((p) => p.align === 'right').map((p) => p.text);
    return ticks.length > 0 ? ticks : undefined;
  });
}

async function assertDistinctTicks(t: TestContext, page: Page, unit: 'day' | 'hour'): Promise<void> {
  for (const chart of CHARTS) {
    const title = `${chart} per ${unit}`;
    const ticks = await valueTicks(page, title);
    t.diagnostic(`${title}: ${ticks.join(', ')}`);
    assert.ok(ticks.length >= 2, `${title} shows a value axis (${ticks.join(', ')})`);
    assert.equal(new Set(ticks).size, ticks.length, `${title} repeats a tick label: ${ticks.join(', ')}`);
  }
  const latency = await valueTicks(page, `Latency per ${unit}`);
  for (const tick of latency) assert.match(tick, /^\d+ ms$/, `latency ticks are whole milliseconds: ${tick}`);
  // Evenly spaced as read: 0, 2.5, 5 rounded to "0 ms, 3 ms, 5 ms" would not be.
  const values = latency.map((tick) => Number.parseInt(tick, 10));
  const steps = new Set(values.slice(1).map((v, i) => v - (values[i] ?? 0)));
  assert.equal(steps.size, 1, `latency ticks step evenly: ${latency.join(', ')}`);
}

test('an empty companion’s dashboard labels each chart’s value axis with distinct ticks', async (t) => {
  const { companion } = await startPanelCompanion(t);
  const browser = await openBrowser(t);
  await browser.context.addInitScript(recordCanvasText);
  const { page } = browser;
  await signInToPanel(page, companion.url, 'olivia', 'owner password');
  await page.getByRole('list', { name: 'Totals for the period' }).getByText('0').first().waitFor();
  await assertDistinctTicks(t, page, 'day');
  await page.getByLabel('Period', { exact: true }).selectOption('1');
  await assertDistinctTicks(t, page, 'hour');
  await browser.screenshot('dashboard-empty');
});

test('a dashboard with a few fast requests labels its latency axis with distinct whole milliseconds', async (t) => {
  const { companion } = await startPanelCompanion(t);
  const secret = companion.token('quick', { models: ['*'] });
  const client = ollamaClient(companion, secret);
  for (const content of ['one', 'two', 'three']) {
    await client.chat({ model: 'llama3.2:latest', messages: [{ role: 'user', content }] });
  }
  await historySettled(companion, 3);

  const browser = await openBrowser(t);
  await browser.context.addInitScript(recordCanvasText);
  const { page } = browser;
  await signInToPanel(page, companion.url, 'olivia', 'owner password');
  await page.getByRole('list', { name: 'Totals for the period' }).getByText('3').first().waitFor();
  await assertDistinctTicks(t, page, 'day');
  await page.getByLabel('Period', { exact: true }).selectOption('1');
  await assertDistinctTicks(t, page, 'hour');
  await browser.screenshot('dashboard-few-requests');
});

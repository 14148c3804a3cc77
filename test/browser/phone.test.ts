/**
 * The panel on a phone-sized screen in real headless Chromium: every page fits without
 * sideways scrolling, even with long code lines, long words and long names in the data,
 * and keyboard focus is visible. Screenshots of each page at phone and desktop size go to
 * test-artifacts/screenshots/{phone,desktop}-*.png.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Page } from 'playwright-core';
import {
  addAdmin,
  type BrowserSession,
  DESKTOP,
  historySettled,
  openBrowser,
  PHONE,
} from '../support/browser.js';
import { emulatorFor, ollamaClient, startCompanion } from '../support/companion-harness.js';

const MODEL = 'llama3.2:latest';
const LONG_MODEL = `hf.co/research-group/${'long-model-name-'.repeat(4)}gguf:q4_K_M`;
const LONG_TOKEN = `a-token-with-a-very-long-name-${'x'.repeat(30)}`;
const CODE_LINE =
  `const answer = ${'computeSomethingRatherLong('.repeat(7)}${'1'.repeat(10)}${')'.repeat(7)};`.padEnd(
    200,
    '/',
  );
const LONG_WORD = 'w'.repeat(300);
const PROMPT = `A rather long question to see how the phone layout wraps it\n\n\`\`\`js\n${CODE_LINE}\n\`\`\`\n\nand ${LONG_WORD} too`;

/** How wide the page is, and the widest element that sticks out past the screen (for the message). */
function widthOf(page: Page): Promise<{ width: number; culprit: string }> {
  return page.evaluate(() => {
    const limit = window.innerWidth;
    let culprit = '';
    let right = limit;
    for (const el of document.querySelectorAll<HTMLElement>('body *')) {
      const box = el.getBoundingClientRect();
      if (box.right > right + 1) {
        right = box.right;
        culprit = `${el.tagName.toLowerCase()}.${el.className} (${Math.round(box.right)} px)`;
      }
    }
    return { width: document.documentElement.scrollWidth, culprit };
  });
}

async function assertFits(page: Page, what: string): Promise<void> {
  const { width, culprit } = await widthOf(page);
  assert.ok(
    width <= PHONE.width,
    `${what} is ${width} px wide on a ${PHONE.width} px phone; widest: ${culprit}`,
  );
}

/** The token row's actions have room between them, and its cells end at the same height. */
async function checkTokenRow(page: Page, size: 'phone' | 'desktop'): Promise<void> {
  const row = page.locator('table tbody tr').first();
  const actions = await row
    .getByRole('button')
    .evaluateAll((buttons) =>
      buttons
        .map((b) => b.getBoundingClientRect())
        .map((b) => ({ left: b.left, right: b.right, top: b.top })),
    );
  for (let i = 1; i < actions.length; i++) {
    const { left, top } = actions[i]!;
    const { right, top: previousTop } = actions[i - 1]!;
    if (top === previousTop) assert.ok(left - right >= 4, `${size}: action buttons ${left - right} px apart`);
  }
  await page.getByText('2 calls in total').waitFor();
  if (size === 'desktop') {
    const bottoms = await row
      .locator('th, td')
      .evaluateAll((cells) => cells.map((c) => Math.round(c.getBoundingClientRect().bottom)));
    assert.equal(
      new Set(bottoms).size,
      1,
      `every cell of a row ends at the same height: ${bottoms.join(', ')}`,
    );
  }
}

async function visitEveryPage(
  browser: BrowserSession,
  url: string,
  secret: string,
  size: 'phone' | 'desktop',
): Promise<void> {
  const { page } = browser;
  const pages: [string, string][] = [
    ['/admin/', 'Dashboard'],
    ['/admin/tokens', 'Tokens'],
    ['/admin/history', 'History'],
    ['/admin/admins', 'Admins'],
    ['/admin/audit', 'Audit log'],
    ['/admin/settings', 'Settings'],
  ];
  for (const [path, heading] of pages) {
    await page.goto(`${url}${path}`);
    await page.getByRole('heading', { name: heading, exact: true }).waitFor();
    await page.waitForLoadState('networkidle');
    if (size === 'phone') await assertFits(page, path);
    if (size === 'phone' && path === '/admin/history') {
      // Fifty rows must stay a scrollable list, not pages of one long prompt each.
      const tallest = await page
        .locator('table.history tbody tr')
        .evaluateAll((rows) => Math.max(...rows.map((r) => r.getBoundingClientRect().height)));
      if (tallest > 300) await browser.screenshot('phone-history-tall');
      assert.ok(tallest <= 300, `a history row with a long prompt is ${tallest} px tall on a phone`);
    }
    if (path === '/admin/tokens') await checkTokenRow(page, size);
    if (path === '/admin/' && size === 'desktop') {
      // Each row has one request: the bars are as long, whatever the names' and notes' lengths.
      const bars = await page
        .getByRole('figure', { name: 'Top models' })
        .locator('.bar-fill')
        .evaluateAll((fills) => fills.map((f) => Math.round(f.getBoundingClientRect().width)));
      assert.equal(bars.length, 3);
      assert.equal(new Set(bars).size, 1, `equal counts draw equal bars: ${bars.join(' px, ')} px`);
      const models = page.getByRole('figure', { name: 'Top models' });
      await models.getByText('1 request ·').first().waitFor();
      await models.getByText('no model', { exact: true }).waitFor();
    }
    await browser.screenshot(`${size}-${heading.toLowerCase().replace(/\s+/g, '-')}`);
  }
  await page.goto(`${url}/admin/history`);
  await page
    .getByRole('link', { name: /A rather long question/ })
    .first()
    .click();
  await page.getByRole('article').first().getByText('Prompt tokens').waitFor();
  await page.waitForLoadState('networkidle');
  if (size === 'phone') await assertFits(page, 'a conversation with a 200-character code line');
  await browser.screenshot(`${size}-conversation`);

  const me = await browser.newPage();
  await me.goto(`${url}/me`);
  await me.getByLabel('Your token').fill(secret);
  await me.getByRole('button', { name: 'Show my usage' }).click();
  await me.getByText(/\/ 20/).first().waitFor();
  await me.waitForLoadState('networkidle');
  if (size === 'phone') await assertFits(me, '/me');
  await browser.screenshot(`${size}-me`, me);
  await me.close();
}

test('every page fits a phone screen, with long lines in the data, and keyboard focus is visible', async (t) => {
  const emulator = await emulatorFor(t);
  emulator.options.models.push({ name: LONG_MODEL });
  const companion = await startCompanion(t, emulator.url);
  await addAdmin(companion, 'olivia', 'owner password', 'owner');
  const secret = companion.token(LONG_TOKEN, {
    calls: { day: 20, minute: 5, hour: 10, month: 100 },
    maxConcurrent: 1,
  });
  await ollamaClient(companion, secret).chat({ model: MODEL, messages: [{ role: 'user', content: PROMPT }] });
  await ollamaClient(companion, secret).chat({
    model: LONG_MODEL,
    messages: [{ role: 'user', content: `${LONG_WORD} in short` }],
  });
  // Listing models names none: the dashboard counts it under "no model".
  await ollamaClient(companion, secret).list();
  await historySettled(companion, 3);

  const browser = await openBrowser(t, { viewport: PHONE });
  const { page } = browser;
  await page.goto(`${companion.url}/admin/`);
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  await page.keyboard.press('Tab');
  const outline = await page.evaluate(() => {
    const focused = document.activeElement as HTMLElement;
    return { tag: focused.tagName, style: getComputedStyle(focused).outlineStyle };
  });
  assert.notEqual(outline.style, 'none', `the focused ${outline.tag} shows a focus ring`);
  await browser.screenshot('phone-sign-in');
  await page.getByLabel('Username').fill('olivia');
  await page.getByLabel('Password').fill('owner password');
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { name: 'Dashboard' }).waitFor();

  await visitEveryPage(browser, companion.url, secret, 'phone');
  await page.setViewportSize(DESKTOP);
  await visitEveryPage(browser, companion.url, secret, 'desktop');
  const icon = await page.request.get(`${companion.url}/favicon.ico`);
  assert.equal(icon.status(), 200, 'the browser asks for /favicon.ico and gets an icon');
  assert.match(icon.headers()['content-type'] ?? '', /^image\/svg\+xml/);
  assert.deepEqual(browser.errors, []);
  assert.deepEqual(await browser.cspViolations(), []);
});

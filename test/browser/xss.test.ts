/**
 * Stored XSS: a token holder sends prompts full of HTML and script; the model's answer
 * repeats them. An admin reading the history list and the conversation, and the token
 * holder reading their own page, see the markup as text — nothing runs (no flag set on
 * window, no dialog, no CSP violation), and no live element comes out of it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Ollama } from 'ollama';
import type { Page } from 'playwright-core';
import { addAdmin, type BrowserSession, openBrowser, signInToPanel } from '../support/browser.js';
import { emulatorFor, eventually, startCompanion, type TestCompanion } from '../support/companion-harness.js';

const PAYLOAD = [
  `<img src=x onerror="window.__xss='img';alert('img')">`,
  `<script>window.__xss='script';alert('script')</script>`,
  `<svg onload="window.__xss='svg'"></svg>`,
  `<a href="javascript:window.__xss='href'">click me</a>`,
  `[markdown link](javascript:window.__xss='md')`,
  `<iframe srcdoc="<script>parent.__xss='iframe'</script>"></iframe>`,
  `<style>body{display:none}</style>`,
].join('\n');

function finished(companion: TestCompanion, count: number): Promise<true> {
  return eventually(() => {
    void companion.companion.history.flush();
    const done = [...companion.companion.historyRepo.iterate({})].filter((r) => r.outcome === 'ok');
    return done.length >= count ? true : undefined;
  });
}

async function assertInert(browser: BrowserSession, page: Page, where: string): Promise<void> {
  // Give an event handler that slipped through time to fire.
  await page.waitForTimeout(300);
  assert.equal(await page.evaluate(() => (window as unknown as { __xss?: string }).__xss), undefined, where);
  assert.deepEqual(browser.dialogs, [], `${where}: no dialog opened`);
  const live = await page.evaluate(() => ({
    images: document.querySelectorAll('main img').length,
    scripts: document.querySelectorAll('main script').length,
    svgs: document.querySelectorAll('main svg').length,
    iframes: document.querySelectorAll('main iframe').length,
    styles: document.querySelectorAll('main style').length,
    jsLinks: document.querySelectorAll('a[href^="javascript" i]').length,
    handlers: [...document.querySelectorAll('main *')].filter((e) =>
      [...e.attributes].some((a) => a.name.startsWith('on')),
    ).length,
  }));
  assert.deepEqual(
    live,
    { images: 0, scripts: 0, svgs: 0, iframes: 0, styles: 0, jsLinks: 0, handlers: 0 },
    `${where}: no live element from the payload`,
  );
  assert.deepEqual(await browser.cspViolations(), [], `${where}: nothing even tried to run`);
}

test('a stored XSS attempt in a prompt is shown as text and never runs', async (t) => {
  const emulator = await emulatorFor(t);
  const companion = await startCompanion(t, emulator.url);
  const secret = companion.token('mallory');
  await addAdmin(companion, 'vera', 'viewer password', 'viewer');
  const ollama = new Ollama({ host: companion.url, headers: { Authorization: `Bearer ${secret}` } });
  const chat = await ollama.chat({
    model: 'llama3.2:latest',
    messages: [{ role: 'user', content: PAYLOAD }],
  });
  assert.equal(chat.message.content, `Echo: ${PAYLOAD}`, 'the answer repeats the payload');
  await ollama.generate({ model: 'llama3.2:latest', prompt: PAYLOAD, system: PAYLOAD });
  await finished(companion, 2);

  const browser = await openBrowser(t);
  const { page } = browser;
  await signInToPanel(page, companion.url, 'vera', 'viewer password');

  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'History' }).click();
  const rows = page.getByRole('row').filter({ hasText: '<img src=x onerror=' });
  await eventually(async () => ((await rows.count()) === 2 ? true : undefined), 5000);
  await assertInert(browser, page, 'history list');
  await browser.screenshot('xss-history');

  await rows.first().getByRole('link').click();
  await page.getByRole('heading', { name: 'Conversation' }).waitFor();
  const exchange = page.getByRole('article').first();
  // The prompt is plain text; the answer is Markdown with its raw HTML escaped.
  await exchange.locator('.msg-text').filter({ hasText: `<script>window.__xss='script'` }).first().waitFor();
  await exchange
    .locator('.md')
    .filter({ hasText: `<img src=x onerror="window.__xss='img';alert('img')">` })
    .waitFor();
  assert.equal(await exchange.locator('.md').getByText('markdown link').count(), 1, 'the link text stays');
  await assertInert(browser, page, 'conversation');
  await browser.screenshot('xss-conversation');

  // The token holder's own page renders the same records just as safely.
  const me = await browser.newPage();
  await me.goto(`${companion.url}/me`);
  await me.getByLabel('Your token').fill(secret);
  await me.getByRole('button', { name: 'Show my usage' }).click();
  const mine = me.getByRole('row').filter({ hasText: '<img src=x onerror=' });
  await eventually(async () => ((await mine.count()) === 2 ? true : undefined), 5000);
  await mine.first().getByRole('button').click();
  await me.getByRole('article').locator('.md').first().waitFor();
  await assertInert(browser, me, '/me');
  await browser.screenshot('xss-me', me);
  assert.deepEqual(browser.errors, []);
});

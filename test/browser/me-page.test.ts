/**
 * The token holder's /me page in real headless Chromium: the token pasted once (kept in
 * this tab's sessionStorage only), limits and usage, only their own history, reading an
 * exchange, searching, exporting, and forgetting the token.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { historySettled, openBrowser, startPanelCompanion } from '../support/browser.js';
import { ollamaClient } from '../support/companion-harness.js';

const MODEL = 'llama3.2:latest';

test('a token holder sees their limits, usage and only their own history on /me, and exports it', async (t) => {
  const { companion } = await startPanelCompanion(t);
  const carol = companion.token('carol', { calls: { day: 50 } });
  const dave = companion.token('dave');
  await ollamaClient(companion, carol).chat({
    model: MODEL,
    messages: [{ role: 'user', content: 'carol asks about tulips' }],
  });
  await ollamaClient(companion, dave).chat({
    model: MODEL,
    messages: [{ role: 'user', content: 'dave asks privately' }],
  });
  await historySettled(companion, 2);

  const browser = await openBrowser(t);
  const { page } = browser;
  await page.goto(`${companion.url}/me`);
  await page.getByLabel('Your token').fill('oc_not-a-real-token-at-all');
  await page.getByRole('button', { name: 'Show my usage' }).click();
  await page
    .getByRole('alert')
    .filter({ hasText: 'This token is not known here; check that you pasted all of it.' })
    .waitFor();

  const erin = companion.token('erin');
  companion.companion.tokens.revoke('erin');
  companion.companion.directory.reload();
  await page.getByLabel('Your token').fill(erin);
  await page.getByRole('button', { name: 'Show my usage' }).click();
  await page
    .getByRole('alert')
    .filter({ hasText: 'This token was revoked or has expired; ask an admin for a new one.' })
    .waitFor();

  await page.getByLabel('Your token').fill(carol);
  await page.getByRole('button', { name: 'Show my usage' }).click();
  await page.getByText('1 / 50').waitFor();
  await page.getByRole('button', { name: 'carol asks about tulips' }).waitFor();
  assert.equal(await page.getByText('dave asks privately').count(), 0, 'only their own records');
  const kept = await page.evaluate(() => sessionStorage.getItem('ollama-companion.token'));
  assert.ok(kept === carol, 'the token is kept in sessionStorage for this tab');
  assert.equal(await page.evaluate(() => localStorage.length), 0, 'never kept beyond the tab');
  await page.getByRole('button', { name: 'carol asks about tulips' }).click();
  await page.getByRole('article').getByText('Echo: carol asks about tulips').waitFor();
  await browser.screenshot('me');

  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('button', { name: 'JSONL' }).click(),
  ]);
  const path = await download.path();
  const lines = (await readFile(path, 'utf8')).trim().split('\n');
  assert.equal(lines.length, 1);
  assert.equal(JSON.parse(lines[0]!).tokenName, 'carol');

  await page.getByLabel('Search prompts and answers').fill('zeppelin');
  await page.getByRole('button', { name: 'Search' }).click();
  await page.getByText('Nothing found.').waitFor();

  await page.reload();
  await page.getByText('1 / 50').waitFor();
  await page.getByRole('button', { name: 'Forget token' }).click();
  await page.getByLabel('Your token').waitFor();
  assert.equal(await page.evaluate(() => sessionStorage.getItem('ollama-companion.token')), null);
  assert.deepEqual(browser.errors, []);
  assert.deepEqual(await browser.cspViolations(), []);
});

/**
 * The audit page in real headless Chromium: actions from the command line and the panel
 * name their target (a token by its name, not its id) and say what changed in words, and
 * each filter (who, action, dates) narrows the list as soon as it changes.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openBrowser, signInToPanel, startPanelCompanion } from '../support/browser.js';
import { runCli } from '../support/companion-harness.js';

test('the audit page shows a token by name with readable details, and its filters narrow the list', async (t) => {
  const { companion } = await startPanelCompanion(t);
  const cli = (...args: string[]) =>
    runCli([...args, '--data-dir', companion.dataDir], { timeoutMs: 20_000 });
  assert.equal((await cli('token', 'create', '--name', 'laptop', '--models', 'llama3.2:*')).code, 0);
  assert.equal((await cli('token', 'update', 'laptop', '--models', '*', '--calls-per-day', '100')).code, 0);
  const tokenId = companion.companion.tokens.get('laptop').id;

  const browser = await openBrowser(t);
  const { page } = browser;
  await signInToPanel(page, companion.url, 'olivia', 'owner password');
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Audit log' }).click();
  const table = page.getByRole('table', { name: 'Admin actions, newest first' });
  const rows = table.locator('tbody tr');
  await table.waitFor();

  const update = rows.filter({ has: page.getByRole('cell', { name: 'token.update', exact: true }) });
  assert.equal(await update.count(), 1);
  assert.equal(await update.locator('td[data-label="Who"]').textContent(), 'cli:root');
  assert.equal(await update.locator('td[data-label="Target"]').textContent(), 'token laptop');
  assert.equal(await update.locator('td[data-label="From"]').textContent(), 'command line');
  assert.equal(
    await update.locator('td[data-label="Details"]').textContent(),
    'models: llama3.2:* → *; calls/day: none → 100',
  );
  const created = rows.filter({ has: page.getByRole('cell', { name: 'token.create', exact: true }) });
  assert.equal(
    await created.locator('td[data-label="Details"]').textContent(),
    'models: llama3.2:*; scopes: inference, embeddings, read',
  );
  const text = (await table.textContent()) ?? '';
  assert.ok(!text.includes(tokenId), 'no raw token id');
  assert.ok(!text.includes('{'), 'no raw JSON');
  assert.equal(await rows.count(), 3, 'two CLI actions and the sign-in');
  await browser.screenshot('audit-names');

  // Who: the command line only; the sign-in goes.
  await page.getByLabel('Who').selectOption('cli:root');
  await rows.filter({ hasText: 'login' }).waitFor({ state: 'detached' });
  assert.equal(await rows.count(), 2);
  assert.equal(new URL(page.url()).search, '?actor=cli%3Aroot', 'the filter is in the address');

  // Action: one of them.
  await page.getByLabel('Action').selectOption('token.update');
  await rows.filter({ hasText: 'token.create' }).waitFor({ state: 'detached' });
  assert.equal(await rows.count(), 1);
  await browser.screenshot('audit-filtered');

  // Dates: from tomorrow on, nothing.
  const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
  await page.getByLabel('From').fill(tomorrow);
  await page.getByRole('status').filter({ hasText: 'No entries match these filters.' }).waitFor();

  // The filters survive a reload, and clearing them brings everything back.
  await page.reload();
  await page.getByRole('status').filter({ hasText: 'No entries match these filters.' }).waitFor();
  assert.equal(await page.getByLabel('Who').inputValue(), 'cli:root');
  await page.getByRole('link', { name: 'Clear the filters' }).click();
  await rows.filter({ hasText: 'login' }).waitFor();
  assert.equal(await rows.count(), 3);

  assert.deepEqual(browser.dialogs, []);
  assert.deepEqual(browser.errors, []);
  assert.deepEqual(await browser.cspViolations(), []);
});

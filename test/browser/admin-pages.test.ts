/**
 * The admin pages in real headless Chromium: the dashboard's charts, admin accounts,
 * settings, redaction and the audit log for an owner; the same pages without their
 * controls for a viewer. Screenshots go to test-artifacts/screenshots/.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  addAdmin,
  historySettled,
  openBrowser,
  signInToPanel,
  startPanelCompanion,
} from '../support/browser.js';
import { ollamaClient } from '../support/companion-harness.js';

const MODEL = 'llama3.2:latest';

test('an owner reads the dashboard, manages admins and settings, redacts, and sees it all audited', async (t) => {
  const { companion } = await startPanelCompanion(t);
  const secret = companion.token('bob', { models: ['llama3*'] });
  const bob = ollamaClient(companion, secret);
  await bob.chat({
    model: MODEL,
    messages: [{ role: 'user', content: 'Show code:\n\n```js\nconst x = 1;\n```' }],
  });
  await bob.generate({ model: MODEL, prompt: 'A second question' });
  await assert.rejects(bob.generate({ model: 'qwen3:8b', prompt: 'not my model' }));
  await historySettled(companion, 3);

  const browser = await openBrowser(t);
  const { page } = browser;
  const nav = page.getByRole('navigation', { name: 'Main' });
  await signInToPanel(page, companion.url, 'olivia', 'owner password');

  // Dashboard: totals, three uPlot charts, top models and tokens.
  const requests = page.getByRole('list', { name: 'Totals for the period' }).getByRole('listitem').first();
  await requests.getByText('3').waitFor();
  for (const title of ['Requests and errors per day', 'Model tokens per day', 'Latency per day']) {
    const chart = page.getByRole('figure', { name: title });
    await chart.locator('canvas').waitFor();
  }
  await page.getByRole('figure', { name: 'Top models' }).getByText(MODEL).waitFor();
  await page.getByRole('figure', { name: 'Top tokens' }).getByText('bob').waitFor();
  await browser.screenshot('dashboard');
  await page.getByLabel('Period', { exact: true }).selectOption('1');
  await page.getByRole('figure', { name: 'Requests and errors per hour' }).locator('canvas').waitFor();

  // Admins: create a viewer, promote them, and the last owner cannot demote themself.
  await nav.getByRole('link', { name: 'Admins' }).click();
  await page.getByLabel('Username').fill('victor');
  await page.getByLabel('Password (at least 10 characters)').fill('viewer password');
  await page.getByLabel('Role', { exact: true }).selectOption('viewer');
  await page.getByRole('button', { name: 'Create admin' }).click();
  await page.getByRole('status').filter({ hasText: 'Admin victor created.' }).waitFor();
  await page.getByLabel('Role of victor').selectOption('admin');
  await page.getByRole('row').filter({ hasText: 'victor' }).getByRole('button', { name: 'Save' }).click();
  await page.getByRole('status').filter({ hasText: 'victor is now admin.' }).waitFor();
  await page.getByLabel('Role of olivia').selectOption('viewer');
  await page.getByRole('row').filter({ hasText: 'olivia' }).getByRole('button', { name: 'Save' }).click();
  await page.getByRole('alert').filter({ hasText: /owner/ }).waitFor();
  assert.equal(await page.getByLabel('Role of olivia').inputValue(), 'owner', 'the refused change is undone');
  await browser.screenshot('admins');

  // Settings: retention saved and still there after a reload.
  await nav.getByRole('link', { name: 'Settings' }).click();
  await page.getByLabel('Keep history for (days)').fill('90');
  await page.getByRole('button', { name: 'Save settings' }).click();
  await page.getByRole('status').filter({ hasText: 'Settings saved.' }).waitFor();
  await page.reload();
  await page.getByRole('heading', { name: 'Settings' }).waitFor();
  assert.equal(await page.getByLabel('Keep history for (days)').inputValue(), '90');
  // A value the server refuses is explained in words: the setting and what it accepts.
  await page.getByLabel('Sign out after idle (minutes)').fill('2000');
  await page.getByRole('button', { name: 'Save settings' }).click();
  await page
    .getByRole('alert')
    .filter({ hasText: 'sessionIdleMinutes must be a number above 0 and at most 1440' })
    .waitFor();
  await browser.screenshot('settings-refused');
  await page.reload();
  await page.getByRole('heading', { name: 'Settings' }).waitFor();
  assert.equal(await page.getByLabel('Sign out after idle (minutes)').inputValue(), '30');
  await browser.screenshot('settings');

  // Redaction: the content goes, a tombstone stays.
  await nav.getByRole('link', { name: 'History' }).click();
  await page.getByRole('link', { name: /Show code/ }).click();
  const exchange = page.getByRole('article');
  await exchange.locator('pre.code code.hljs.language-js').waitFor();
  assert.ok((await exchange.locator('pre.code .hljs-keyword').count()) > 0, 'code is highlighted');
  await browser.screenshot('conversation-code');
  await exchange.getByRole('button', { name: 'Redact' }).click();
  await exchange.getByRole('button', { name: 'Erase content' }).click();
  await exchange.getByText('Content redacted by olivia').waitFor();
  assert.equal(await exchange.getByText('Show code').count(), 0);

  // The audit log names every one of these actions.
  await nav.getByRole('link', { name: 'Audit log' }).click();
  const table = page.getByRole('table', { name: 'Admin actions, newest first' });
  await table.waitFor();
  for (const action of ['login', 'admin.create', 'admin.update', 'settings.update', 'history.redact']) {
    assert.ok(
      (await table.getByRole('cell', { name: action, exact: true }).count()) > 0,
      `${action} audited`,
    );
  }
  await browser.screenshot('audit');

  assert.deepEqual(browser.dialogs, []);
  assert.deepEqual(browser.errors, []);
  assert.deepEqual(await browser.cspViolations(), []);
});

test('a viewer sees the pages without the controls that change things', async (t) => {
  const { companion } = await startPanelCompanion(t);
  await addAdmin(companion, 'vera', 'viewer password', 'viewer');
  companion.token('read-only-check');
  const browser = await openBrowser(t);
  const { page } = browser;
  const nav = page.getByRole('navigation', { name: 'Main' });
  await signInToPanel(page, companion.url, 'vera', 'viewer password');

  await nav.getByRole('link', { name: 'Tokens' }).click();
  await page.getByRole('row').filter({ hasText: 'read-only-check' }).waitFor();
  assert.equal(await page.getByRole('button', { name: 'New token' }).count(), 0);
  assert.equal(await page.getByRole('button', { name: /Revoke/ }).count(), 0);
  await nav.getByRole('link', { name: 'Admins' }).click();
  await page.getByText('Only owners can add, change or remove admins.').waitFor();
  assert.equal(await page.getByRole('button', { name: 'Create admin' }).count(), 0);
  await nav.getByRole('link', { name: 'Settings' }).click();
  assert.equal(await page.getByLabel('Keep history for (days)').isDisabled(), true);
  await browser.screenshot('settings-viewer');
  assert.deepEqual(browser.errors, []);
});

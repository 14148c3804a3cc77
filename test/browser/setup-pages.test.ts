/**
 * Before any admin exists, in real headless Chromium: `/admin` says where the setup link
 * is (the line `serve` printed at start) and how to create the first owner from the
 * command line, instead of a sign-in form nobody can use; a wrong setup link says so as
 * soon as the page opens, before the form is filled in; the right one shows the form.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pendingSetupUrl } from '../../src/admin/setup-routes.js';
import { openBrowser, overflowsSideways, PHONE } from '../support/browser.js';
import { emulatorFor, runCli, startCompanion } from '../support/companion-harness.js';

test('with no admin, /admin tells how to get the setup link instead of showing a sign-in form', async (t) => {
  const emulator = await emulatorFor(t);
  const companion = await startCompanion(t, emulator.url);
  const browser = await openBrowser(t, { viewport: PHONE });
  const { page } = browser;

  await page.goto(`${companion.url}/admin/`);
  await page.getByRole('heading', { name: 'No admin account yet' }).waitFor();
  await page.getByText('Create the first owner within an hour at:').waitFor();
  await page.getByText('ollama-companion serve').waitFor();
  await page.getByText('npx ollama-companion admin create --username NAME').waitFor();
  assert.equal(await page.getByLabel('Password').count(), 0, 'no sign-in form');
  assert.equal(await page.getByRole('button', { name: 'Sign in' }).count(), 0);
  assert.equal(await overflowsSideways(page), false, 'fits a phone');
  await browser.screenshot('phone-no-admin');

  // Once an admin exists (here from the command line), the same address signs in.
  const made = await runCli(['admin', 'create', '--username', 'olivia', '--data-dir', companion.dataDir], {
    input: 'a long passphrase',
    timeoutMs: 20_000,
  });
  assert.equal(made.code, 0, made.stderr);
  await page.reload();
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  assert.equal(await page.getByRole('heading', { name: 'No admin account yet' }).count(), 0);

  assert.deepEqual(browser.errors, []);
  assert.deepEqual(await browser.cspViolations(), []);
});

test('a wrong setup link says so when the page opens; the right one shows the form', async (t) => {
  const emulator = await emulatorFor(t);
  const companion = await startCompanion(t, emulator.url);
  const url = await pendingSetupUrl(companion.companion);
  assert.ok(url);
  const browser = await openBrowser(t);

  const wrong = url.replace(/#.*$/, '#not-the-code-that-was-printed');
  await browser.page.goto(wrong);
  await browser.page
    .getByRole('alert')
    .filter({ hasText: 'this setup link is wrong: open the whole link the companion printed' })
    .waitFor();
  assert.equal(await browser.page.getByLabel('Username').count(), 0, 'no form to fill in for nothing');
  await browser.screenshot('setup-wrong-link', browser.page);

  const right = await browser.newPage();
  await right.goto(url);
  await right.getByLabel('Username').waitFor();
  assert.equal(await right.getByRole('alert').count(), 0);

  assert.deepEqual(browser.errors, []);
  assert.deepEqual(await browser.cspViolations(), []);
});

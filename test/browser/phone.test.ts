/**
 * The panel on a phone-sized screen in real headless Chromium: every page fits without
 * sideways scrolling, and keyboard focus is visible. Screenshots of each page go to
 * test-artifacts/screenshots/phone-*.png.
 */
import assert from 'node:assert/strict';
import { type TestContext, test } from 'node:test';
import { Ollama } from 'ollama';
import { addAdmin, openBrowser, overflowsSideways, PHONE } from '../support/browser.js';
import { eventually, startCompanion, type TestCompanion } from '../support/companion-harness.js';
import { startEmulator } from '../support/ollama-emulator.js';

const MODEL = 'llama3.2:latest';

async function setup(t: TestContext) {
  const emulator = await startEmulator();
  t.after(() => emulator.close());
  const companion = await startCompanion(t, emulator.url);
  await addAdmin(companion, 'olivia', 'owner password', 'owner');
  return { emulator, companion };
}

function client(companion: TestCompanion, secret: string): Ollama {
  return new Ollama({ host: companion.url, headers: { Authorization: `Bearer ${secret}` } });
}

function settled(companion: TestCompanion, count: number): Promise<true> {
  return eventually(() => {
    void companion.companion.history.flush();
    const done = [...companion.companion.historyRepo.iterate({})].filter((r) => r.outcome !== 'in_progress');
    return done.length >= count ? true : undefined;
  });
}

test('every page fits a phone screen and keyboard focus is visible', async (t) => {
  const { companion } = await setup(t);
  const secret = companion.token('phone-user', { calls: { day: 20, minute: 5 }, maxConcurrent: 1 });
  await client(companion, secret).chat({
    model: MODEL,
    messages: [{ role: 'user', content: 'A rather long question to see how the phone layout wraps it' }],
  });
  await settled(companion, 1);

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
  await page.getByRole('figure', { name: 'Tokens used per day' }).locator('canvas').waitFor();

  const pages: [string, string][] = [
    ['/admin/', 'Dashboard'],
    ['/admin/tokens', 'Tokens'],
    ['/admin/history', 'History'],
    ['/admin/admins', 'Admins'],
    ['/admin/audit', 'Audit log'],
    ['/admin/settings', 'Settings'],
  ];
  for (const [path, heading] of pages) {
    await page.goto(`${companion.url}${path}`);
    await page.getByRole('heading', { name: heading, exact: true }).waitFor();
    await page.waitForLoadState('networkidle');
    assert.equal(await overflowsSideways(page), false, `${path} needs no sideways scrolling on a phone`);
    await browser.screenshot(`phone-${heading.toLowerCase().replace(/\s+/g, '-')}`);
  }
  await page.goto(`${companion.url}/admin/history`);
  await page.getByRole('link', { name: /A rather long question/ }).click();
  await page.getByRole('article').getByText('Prompt tokens').waitFor();
  assert.equal(await overflowsSideways(page), false, 'a conversation fits a phone');
  await browser.screenshot('phone-conversation');

  const me = await browser.newPage();
  await me.goto(`${companion.url}/me`);
  await me.getByLabel('Your token').fill(secret);
  await me.getByRole('button', { name: 'Show my usage' }).click();
  await me.getByText('1 / 20').waitFor();
  assert.equal(await overflowsSideways(me), false, '/me fits a phone');
  await browser.screenshot('phone-me', me);
  assert.deepEqual(browser.errors, []);
  assert.deepEqual(await browser.cspViolations(), []);
});

/**
 * The panel on a phone-sized screen in real headless Chromium: every page fits without
 * sideways scrolling, and keyboard focus is visible. Screenshots of each page go to
 * test-artifacts/screenshots/phone-*.png.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  historySettled,
  openBrowser,
  overflowsSideways,
  PHONE,
  startPanelCompanion,
} from '../support/browser.js';
import { ollamaClient } from '../support/companion-harness.js';

const MODEL = 'llama3.2:latest';

test('every page fits a phone screen and keyboard focus is visible', async (t) => {
  const { companion } = await startPanelCompanion(t);
  const secret = companion.token('phone-user', { calls: { day: 20, minute: 5 }, maxConcurrent: 1 });
  await ollamaClient(companion, secret).chat({
    model: MODEL,
    messages: [{ role: 'user', content: 'A rather long question to see how the phone layout wraps it' }],
  });
  await historySettled(companion, 1);

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

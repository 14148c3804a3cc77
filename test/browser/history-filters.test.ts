/**
 * The history page's filters in real headless Chromium: a changed filter applies by
 * itself (no Search click), a word typed slowly survives the searches it sets off, the
 * matches of words, phrases and prefix* are marked in the list and in the conversation,
 * and a query made of HTML is only ever text. Needs the built panel: `npm run build`.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Page } from 'playwright-core';
import { addAdmin, historySettled, openBrowser, signInToPanel } from '../support/browser.js';
import { emulatorFor, eventually, ollamaClient, startCompanion } from '../support/companion-harness.js';
import { defaultModels } from '../support/ollama-emulator.js';

const RIDDLE = 'Which bird is called zebracorn in the riddle?';
const ZEBRAS = 'How do zebras sleep standing up?';
const PAYLOAD = 'Render <img src=x onerror=window.__xss=1> for me';

/** The prompts listed in the results table, top to bottom. */
function listed(page: Page): Promise<string[]> {
  return page.getByRole('table', { name: 'History results' }).locator('tbody .prompt-link').allTextContents();
}

/** Waits until the results list holds exactly these prompts (in any order). */
async function showing(page: Page, prompts: string[]): Promise<void> {
  const want = [...prompts].sort();
  await eventually(async () => {
    const now = (await page.getByText('Nothing found.').count()) > 0 ? [] : (await listed(page)).sort();
    return JSON.stringify(now) === JSON.stringify(want) ? true : undefined;
  }, 5000).catch(async (error) => {
    throw new Error(
      `${error.message}: listed ${JSON.stringify(await listed(page))}, want ${JSON.stringify(want)}`,
    );
  });
}

const marks = (page: Page, within = 'main') => page.locator(`${within} mark`).allTextContents();

/** Waits until the marked text in `within` is exactly `want`, in any order (the list may still be the last one). */
async function marked(page: Page, want: string[], within = 'main'): Promise<void> {
  await eventually(async () => {
    const now = (await marks(page, within)).sort();
    return JSON.stringify(now) === JSON.stringify([...want].sort()) ? true : undefined;
  }, 5000).catch(async (error) => {
    throw new Error(
      `${error.message}: marked ${JSON.stringify(await marks(page, within))}, want ${JSON.stringify(want)}`,
    );
  });
}

test('a changed filter applies without a click, and the matches are marked as text', async (t) => {
  const emulator = await emulatorFor(t, { models: [...defaultModels(), { name: 'gemma3:1b' }] });
  const companion = await startCompanion(t, emulator.url);
  await addAdmin(companion, 'olivia', 'owner password', 'owner');
  const ollama = ollamaClient(companion, companion.token('alice', { models: ['*'] }));
  await ollama.chat({ model: 'llama3.2', messages: [{ role: 'user', content: RIDDLE }] });
  await ollama.generate({ model: 'gemma3:1b', prompt: ZEBRAS });
  await ollama.chat({ model: 'qwen3:8b', messages: [{ role: 'user', content: PAYLOAD }], think: false });
  await historySettled(companion, 3);

  const browser = await openBrowser(t);
  const { page } = browser;
  await signInToPanel(page, companion.url, 'olivia', 'owner password');
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'History' }).click();
  await showing(page, [RIDDLE, ZEBRAS, PAYLOAD]);

  // A model glob narrows the list once typing pauses; a choice applies at once.
  const model = page.getByLabel('Model', { exact: true });
  await model.fill('llama3.*');
  await showing(page, [RIDDLE]);
  assert.match(page.url(), /[?&]model=llama3\.\*/, 'the address keeps the filters');
  await page.getByLabel('Status', { exact: true }).selectOption('error');
  await page.getByText('Nothing found.').waitFor();
  await page.getByLabel('Status', { exact: true }).selectOption('');
  await showing(page, [RIDDLE]);
  await model.fill('*:1b');
  await showing(page, [ZEBRAS]);
  await model.fill('');
  await showing(page, [RIDDLE, ZEBRAS, PAYLOAD]);

  // Typed slowly, each pause searches; what is typed meanwhile stays in the box.
  const searchBox = page.getByLabel('Search prompts and answers');
  await searchBox.pressSequentially('zebracorn', { delay: 120 });
  await page.waitForTimeout(400);
  await searchBox.pressSequentially(' riddle', { delay: 350 });
  assert.equal(await searchBox.inputValue(), 'zebracorn riddle', 'nothing typed was lost');
  await eventually(() => (/[?&]q=zebracorn\+riddle(&|$)/.test(page.url()) ? true : undefined), 5000);
  await showing(page, [RIDDLE]);
  assert.deepEqual(await marks(page), ['zebracorn', 'riddle'], 'each word of the query is marked');
  assert.equal(
    await page
      .locator('main mark')
      .first()
      .evaluate((e) => e.closest('a')?.textContent),
    RIDDLE,
  );

  // Phrases and prefixes are marked as the search matched them.
  await searchBox.fill('"is called" zebr*');
  await marked(page, ['is called', 'zebracorn']);
  await showing(page, [RIDDLE]);
  await searchBox.fill('zebra*');
  await showing(page, [RIDDLE, ZEBRAS]);
  await marked(page, ['zebracorn', 'zebras']);
  await browser.screenshot('history-marked');

  // A query made of HTML finds the exchange that holds it and is shown as text, marked.
  await searchBox.fill('<img src=x onerror=window.__xss=1>');
  await showing(page, [PAYLOAD]);
  await marked(page, ['img', 'src=x', 'onerror=window.__xss=1']);
  assert.equal(await searchBox.inputValue(), '<img src=x onerror=window.__xss=1>');
  await page.getByRole('link', { name: PAYLOAD }).click();
  await page.getByRole('heading', { name: 'Conversation' }).waitFor();
  const exchange = page.getByRole('article').first();
  await marked(page, ['img', 'src=x', 'onerror=window.__xss=1'], '.msg-text');
  await marked(page, ['img', 'src=x', 'onerror=window.__xss=1'], '.md');
  assert.equal(
    (await exchange.locator('.md').textContent())?.trim(),
    `Echo: ${PAYLOAD}`,
    'the answer reads as it was written',
  );
  await page.waitForTimeout(300);
  assert.equal(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss), undefined);
  assert.equal(await page.locator('main img').count(), 0, 'no element made from the text');
  assert.deepEqual(browser.dialogs, []);
  assert.deepEqual(await browser.cspViolations(), []);
  await browser.screenshot('conversation-marked');
  assert.deepEqual(browser.errors, []);
});

/**
 * The admin panel in real headless Chromium, against a real companion in front of the
 * Ollama emulator: the first owner is created through the setup link, signs out and in,
 * creates a token whose secret the `ollama` client then uses, finds that exchange by
 * full-text search, reads the conversation, and revokes the token — after which the
 * client is refused. Every page is screenshotted (desktop and phone) into
 * test-artifacts/screenshots/. Needs the built panel: `npm run build`.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { Ollama } from 'ollama';
import { request } from 'undici';
import { pendingSetupUrl } from '../../src/admin/setup-routes.js';
import { type BrowserSession, openBrowser } from '../support/browser.js';
import { emulatorFor, eventually, startCompanion, type TestCompanion } from '../support/companion-harness.js';

const OWNER = { username: 'olivia', password: 'correct horse battery' };
const MODEL = 'llama3.2:latest';

async function signIn(browser: BrowserSession, username: string, password: string): Promise<void> {
  const { page } = browser;
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

function historyCount(companion: TestCompanion, tokenName: string): number {
  void companion.companion.history.flush();
  return [...companion.companion.historyRepo.iterate({})].filter(
    (r) => r.tokenName === tokenName && r.outcome !== 'in_progress',
  ).length;
}

test('an admin creates a token, finds its conversation by searching, and revokes it', async (t) => {
  const emulator = await emulatorFor(t);
  const companion = await startCompanion(t, emulator.url);
  const browser = await openBrowser(t);
  const { page } = browser;
  const nav = page.getByRole('navigation', { name: 'Main' });

  // The panel pages carry the strict CSP and the other security headers.
  const served = await request(`${companion.url}/admin/`);
  assert.equal(served.statusCode, 200);
  assert.match(String(served.headers['content-security-policy']), /script-src 'self'; style-src 'self'/);
  assert.match(String(served.headers['content-security-policy']), /frame-ancestors 'none'/);
  assert.equal(served.headers['x-content-type-options'], 'nosniff');
  assert.equal(served.headers['referrer-policy'], 'no-referrer');
  const html = await served.body.text();
  assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/, 'no inline script in the panel page');
  assert.doesNotMatch(html, /<style|\sstyle=/, 'no inline style in the panel page');
  for (const path of ['/admin', '/admin/tokens', '/admin/history/some-id', '/me']) {
    const answer = await request(`${companion.url}${path}`);
    assert.equal(answer.statusCode, 200, `${path} is a panel page`);
    assert.match(String(answer.headers['content-type']), /^text\/html/);
    assert.equal(answer.headers['content-security-policy'], served.headers['content-security-policy']);
    await answer.body.dump();
  }
  const unknownApi = await request(`${companion.url}/admin/api/no-such-route`);
  assert.equal(unknownApi.statusCode, 404, 'unknown API paths are not answered with the panel');
  assert.equal(((await unknownApi.body.json()) as { error: { code: string } }).error.code, 'not_found');
  const missingAsset = await request(`${companion.url}/admin/assets/missing.js`);
  assert.equal(missingAsset.statusCode, 404);
  await missingAsset.body.dump();

  // First start: the printed setup link creates the owner and signs them in.
  const setupUrl = await pendingSetupUrl(companion.companion);
  assert.ok(setupUrl, 'a setup link is printed when no admin exists');
  await page.goto(setupUrl);
  await page.getByRole('heading', { name: 'Create the first owner' }).waitFor();
  assert.equal(new URL(page.url()).hash, '', 'the setup code is taken out of the address bar');
  await browser.screenshot('setup');
  await page.getByLabel('Username').fill(OWNER.username);
  await page.getByLabel('Password (at least 10 characters)').fill(OWNER.password);
  await page.getByLabel('Repeat the password').fill(OWNER.password);
  await page.getByRole('button', { name: 'Create owner and sign in' }).click();
  await page.getByRole('heading', { name: 'Dashboard' }).waitFor();

  // Sign out, fail once, sign in.
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  await signIn(browser, OWNER.username, 'wrong password!');
  await page.getByRole('alert').filter({ hasText: 'wrong username or password' }).waitFor();
  await browser.screenshot('sign-in');
  await signIn(browser, OWNER.username, OWNER.password);
  await page.getByRole('heading', { name: 'Dashboard' }).waitFor();

  // Create a token with limits; the secret is shown once, with a copy button.
  await nav.getByRole('link', { name: 'Tokens' }).click();
  await page.getByRole('heading', { name: 'Tokens' }).waitFor();
  await page.getByRole('button', { name: 'New token' }).click();
  await page.getByLabel('Name').fill('alice-laptop');
  await page.getByLabel('Models', { exact: true }).fill('llama3*');
  await page.getByLabel('Calls per day').fill('100');
  await page.getByLabel('Calls per minute').fill('30');
  await page.getByLabel('Concurrent requests').fill('2');
  await page.getByLabel('Expires').selectOption('30d');
  await browser.screenshot('token-form');
  await page.getByRole('button', { name: 'Create token' }).click();
  const secretBox = page.getByLabel('Secret');
  await secretBox.waitFor();
  const secret = await secretBox.inputValue();
  assert.ok(/^\S{20,}$/.test(secret), 'the secret is shown in full');
  await browser.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: companion.url });
  await page.getByRole('button', { name: 'Copy' }).click();
  await page.getByRole('status').filter({ hasText: 'Copied.' }).waitFor();
  const copied = await page.evaluate(() => navigator.clipboard.readText());
  assert.ok(copied === secret, 'the Copy button puts the secret on the clipboard');
  await browser.screenshot('token-created');
  await page.getByRole('button', { name: 'I have stored it' }).click();
  assert.equal(await page.getByLabel('Secret').count(), 0, 'the secret is gone once dismissed');

  // The holder uses it through the ollama npm client: a conversation of two exchanges.
  const ollama = new Ollama({ host: companion.url, headers: { Authorization: `Bearer ${secret}` } });
  const question = 'Which bird is called zebracorn in the riddle?';
  const first = await ollama.chat({ model: MODEL, messages: [{ role: 'user', content: question }] });
  assert.equal(first.message.content, `Echo: ${question}`);
  const followUp = 'And what does it **eat**?';
  await ollama.chat({
    model: MODEL,
    messages: [
      { role: 'user', content: question },
      { role: 'assistant', content: first.message.content },
      { role: 'user', content: followUp },
    ],
  });
  await eventually(() => (historyCount(companion, 'alice-laptop') === 2 ? true : undefined));

  // Its usage shows against its quotas.
  await page.reload();
  const row = page.getByRole('row').filter({ hasText: 'alice-laptop' });
  await row.getByText('2 / 100').waitFor();
  await browser.screenshot('tokens');

  // Edit a limit: the new quota shows at once.
  await row.getByRole('button', { name: 'Edit alice-laptop' }).click();
  await page.getByRole('heading', { name: 'Edit token alice-laptop' }).waitFor();
  await page.getByRole('spinbutton', { name: 'Calls per day' }).fill('200');
  await page.getByRole('button', { name: 'Save changes' }).click();
  await page.getByRole('status').filter({ hasText: 'Token alice-laptop saved.' }).waitFor();
  await row.getByText('2 / 200').waitFor();

  // Find the first exchange by searching a word of its prompt, then open the conversation.
  // The token names arrive only once the word is typed: a late answer must not wipe it.
  let releaseTokens!: () => void;
  const tokensHeld = new Promise<void>((resolve) => {
    releaseTokens = resolve;
  });
  await page.route('**/admin/api/tokens', async (route) => {
    await tokensHeld;
    await route.continue();
  });
  await nav.getByRole('link', { name: 'History' }).click();
  await page.getByRole('heading', { name: 'History' }).waitFor();
  const searchBox = page.getByLabel('Search prompts and answers');
  await searchBox.fill('zebracorn');
  releaseTokens();
  await page
    .getByLabel('Token', { exact: true })
    .locator('option', { hasText: 'alice-laptop' })
    .waitFor({ state: 'attached' });
  await page.unroute('**/admin/api/tokens');
  assert.equal(await searchBox.inputValue(), 'zebracorn', 'what was typed survives the page loading');
  await page.getByRole('button', { name: 'Search' }).click();
  // The unfiltered list already shows the hit, so wait for the search itself to land:
  // the query in the address, then the other exchange gone from the list.
  await eventually(() => (/q=zebracorn/.test(page.url()) ? true : undefined));
  await page.getByRole('link', { name: followUp }).waitFor({ state: 'detached' });
  const hit = page.getByRole('link', { name: question });
  await hit.waitFor();
  assert.equal(await page.getByRole('link', { name: followUp }).count(), 0, 'the search narrows the list');
  await browser.screenshot('history');
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('link', { name: 'JSONL' }).click(),
  ]);
  const exported = (await readFile(await download.path(), 'utf8')).trim().split('\n');
  assert.equal(exported.length, 1, 'the export holds what the search found');
  assert.equal(JSON.parse(exported[0]!).answerContent, `Echo: ${question}`);
  await hit.click();
  await page.getByRole('heading', { name: 'Conversation' }).waitFor();
  const exchanges = page.getByRole('article');
  await eventually(async () => ((await exchanges.count()) === 2 ? true : undefined));
  await exchanges.nth(1).getByText(followUp, { exact: true }).waitFor();
  await exchanges.nth(1).getByText('Echo: And what does it eat?').waitFor();
  assert.equal(await exchanges.nth(1).locator('.md strong').textContent(), 'eat', 'answers render Markdown');
  await exchanges.first().getByText('Prompt tokens').waitFor();
  await browser.screenshot('conversation');

  // Revoke: the client is refused from the next request on.
  await nav.getByRole('link', { name: 'Tokens' }).click();
  await row.getByRole('button', { name: 'Revoke alice-laptop' }).click();
  await row.getByRole('button', { name: 'Revoke now' }).click();
  await page.getByRole('status').filter({ hasText: 'Token alice-laptop revoked.' }).waitFor();
  await assert.rejects(
    ollama.chat({ model: MODEL, messages: [{ role: 'user', content: 'still there?' }] }),
    (error: Error & { status_code?: number }) => error.status_code === 401,
  );
  await page.getByLabel('Show revoked tokens').check();
  await row.getByText('revoked').waitFor();

  assert.deepEqual(browser.dialogs, []);
  assert.deepEqual(browser.errors, []);
  assert.deepEqual(await browser.cspViolations(), []);
  const leaked = emulator.requests.filter((r) => JSON.stringify(r.headers).includes(secret));
  assert.equal(leaked.length, 0, 'the token never reaches Ollama');
});

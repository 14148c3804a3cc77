/**
 * The token form's cloud control in real headless Chromium: "Allow cloud models" adds
 * the cloud patterns to the Models field (and takes them out again), and the token it
 * makes can use a cloud model that a token for "all models" cannot. Needs the built
 * panel: `npm run build`.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { addAdmin, openBrowser, signInToPanel } from '../support/browser.js';
import { emulatorFor, ollamaClient, startCompanion } from '../support/companion-harness.js';
import { cloudModels, defaultModels } from '../support/ollama-emulator.js';

test('"Allow cloud models" grants a new token the cloud models, and shows on the token it made', async (t) => {
  const emulator = await emulatorFor(t, { models: [...defaultModels(), ...cloudModels()] });
  const companion = await startCompanion(t, emulator.url);
  await addAdmin(companion, 'olivia', 'owner password', 'owner');
  const browser = await openBrowser(t);
  const { page } = browser;
  await signInToPanel(page, companion.url, 'olivia', 'owner password');

  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Tokens' }).click();
  await page.getByRole('button', { name: 'New token' }).click();
  await page.getByLabel('Name').fill('cloud-user');
  const models = page.getByLabel('Models', { exact: true });
  const cloud = page.getByRole('checkbox', { name: 'Allow cloud models' });
  assert.equal(await models.inputValue(), '*');
  assert.equal(await cloud.isChecked(), false, 'a new token gets local models only');
  await cloud.check();
  assert.equal(await models.inputValue(), '*, *-cloud, *:cloud');
  await cloud.uncheck();
  assert.equal(await models.inputValue(), '*', 'unticking takes the patterns out again');
  await cloud.check();
  await browser.screenshot('token-form-cloud');
  await page.getByRole('button', { name: 'Create token' }).click();
  const secret = await page.getByLabel('Secret').inputValue();
  await page.getByRole('button', { name: 'I have stored it' }).click();

  const answer = await ollamaClient(companion, secret).chat({
    model: 'gpt-oss:120b-cloud',
    messages: [{ role: 'user', content: 'from the cloud' }],
    stream: false,
  });
  assert.equal(answer.message.content, 'Echo: from the cloud');
  const localOnly = companion.token('local-only');
  await assert.rejects(
    ollamaClient(companion, localOnly).chat({
      model: 'gpt-oss:120b-cloud',
      messages: [{ role: 'user', content: 'from the cloud' }],
      stream: false,
    }),
    (error: { status_code?: number }) => error.status_code === 403,
  );

  await page.getByRole('button', { name: 'Edit cloud-user' }).click();
  await page.getByRole('heading', { name: 'Edit token cloud-user' }).waitFor();
  assert.equal(await page.getByRole('checkbox', { name: 'Allow cloud models' }).isChecked(), true);
  assert.deepEqual(browser.errors, []);
  assert.deepEqual(await browser.cspViolations(), []);
});

/**
 * Refusals of the admin API read as sentences a person can act on: the field's name and
 * the values it accepts, never the validator's wording ("Expected union value") or a raw
 * pattern; a throttled sign-in says how long to wait in minutes.
 */
import assert from 'node:assert/strict';
import { type TestContext, test } from 'node:test';
import { AdminClient, signedIn } from './support/admin-client.js';
import { emulatorFor, startCompanion } from './support/companion-harness.js';

type Refusal = { error: { code: string; message: string } };

async function setup(t: TestContext) {
  const emulator = await emulatorFor(t);
  const server = await startCompanion(t, emulator.url);
  const owner = await signedIn(server.url, server.companion, 'olivia', 'owner');
  return { server, owner };
}

test('a refused setting names the setting and the values it accepts', async (t) => {
  const { owner } = await setup(t);
  const cases: [unknown, string][] = [
    [{ sessionIdleMinutes: 100_000 }, 'sessionIdleMinutes must be a number above 0 and at most 1440'],
    [{ sessionIdleMinutes: 0 }, 'sessionIdleMinutes must be a number above 0 and at most 1440'],
    [{ historyMaxAgeDays: 0 }, 'historyMaxAgeDays must be a whole number from 1 to 36500, or null'],
    [{ historyMaxRecords: 'lots' }, 'historyMaxRecords must be a whole number of 1 or more, or null'],
    [{ logLevel: 'debug' }, 'logLevel is not a known field'],
    [{}, 'the request body must name at least one field to change'],
  ];
  for (const [body, message] of cases) {
    const refused = await owner.call<Refusal>('PATCH', '/admin/api/settings', body);
    assert.equal(refused.status, 400, JSON.stringify(body));
    assert.deepEqual(refused.body, { error: { code: 'bad_request', message } }, JSON.stringify(body));
  }
});

test('a refused token field names the field and the values it accepts', async (t) => {
  const { owner } = await setup(t);
  const cases: [unknown, string][] = [
    [
      { name: 'a', models: 'llama3' },
      'models must be a list of up to 200 model names or globs, such as ["llama3*", "qwen3:*"], or ["*"]',
    ],
    [
      { name: 'a', models: [''] },
      'models must be a list of up to 200 model names or globs, such as ["llama3*", "qwen3:*"], or ["*"]',
    ],
    [
      { name: 'a', scopes: ['everything'] },
      'scopes entries must be one of inference, embeddings, read, show, manage, metrics',
    ],
    [{ name: 'a', maxCalls: -1 }, 'maxCalls must be a whole number of 0 or more, or null'],
    [{ name: 'a', maxConcurrent: 0 }, 'maxConcurrent must be a whole number of 1 or more, or null'],
    [{ name: 'a', enabled: 'yes' }, 'enabled must be true or false'],
    [{ models: ['*'] }, 'name is required'],
  ];
  for (const [body, message] of cases) {
    const refused = await owner.call<Refusal>('POST', '/admin/api/tokens', body);
    assert.equal(refused.status, 400, JSON.stringify(body));
    assert.equal(refused.body.error.message, message, JSON.stringify(body));
  }
  const query = await owner.call<Refusal>('GET', '/admin/api/history?limit=lots');
  assert.equal(query.status, 400);
  assert.doesNotMatch(query.body.error.message, /Expected|\//, query.body.error.message);
  assert.match(query.body.error.message, /^query parameter limit must be a whole number/);
});

test('a throttled sign-in says how many minutes to wait', async (t) => {
  const { server } = await setup(t);
  const client = new AdminClient(server.url);
  for (let i = 0; i < 5; i++) assert.equal((await client.login('olivia', `guess ${i}`)).status, 401);
  const refused = await client.login('olivia', 'guess 6');
  assert.equal(refused.status, 429);
  assert.deepEqual(refused.body, {
    error: { code: 'throttled', message: 'too many failed sign-ins; try again in 15 minutes' },
  });
});

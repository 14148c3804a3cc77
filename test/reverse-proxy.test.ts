/**
 * The companion behind a reverse proxy on the same machine (Caddy, nginx, a tunnel): with
 * `trustProxy` naming it, history, sign-in throttling, the audit log and the session
 * cookie see the client the proxy relayed; without it, a client cannot pass itself off
 * as another address by sending X-Forwarded-For.
 */
import assert from 'node:assert/strict';
import { type TestContext, test } from 'node:test';
import { Ollama } from 'ollama';
import OpenAI from 'openai';
import { request } from 'undici';
import type { Config } from '../src/config/config-schema.js';
import { AdminClient, addAdmin, cookieAttributes, PASSWORD, signedIn } from './support/admin-client.js';
import {
  emulatorFor,
  ollamaClient,
  startCompanion,
  type TestCompanion,
} from './support/companion-harness.js';

async function setup(t: TestContext, settings: Partial<Config> = {}) {
  const emulator = await emulatorFor(t);
  return startCompanion(t, emulator.url, settings);
}

async function clientAddresses(companion: TestCompanion, tokenName: string): Promise<(string | undefined)[]> {
  await companion.companion.history.flush();
  return [...companion.companion.historyRepo.iterate({})]
    .filter((r) => r.tokenName === tokenName)
    .map((r) => r.clientAddr ?? undefined);
}

/** Signs in as a client the proxy relays from `address`. */
function loginVia(client: AdminClient, address: string, username: string, password: string) {
  return client.call('POST', '/admin/api/login', { username, password }, { 'x-forwarded-for': address });
}

test('behind a trusted proxy, history records the client it relayed, whichever way the request went', async (t) => {
  const companion = await setup(t, { trustProxy: ['loopback'] });
  const secret = companion.token('laptop');
  const relayed = { 'X-Forwarded-For': '203.0.113.9' };

  const viaOllama = new Ollama({
    host: companion.url,
    headers: { Authorization: `Bearer ${secret}`, ...relayed },
  });
  await viaOllama.chat({ model: 'llama3.2', messages: [{ role: 'user', content: 'from far away' }] });
  const openai = new OpenAI({ baseURL: `${companion.url}/v1`, apiKey: secret, defaultHeaders: relayed });
  await openai.chat.completions.create({ model: 'llama3.2', messages: [{ role: 'user', content: 'hi' }] });
  // A browser request (with Origin) goes through the full router rather than the fast path.
  const browser = await request(`${companion.url}/api/chat`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${secret}`,
      origin: 'http://localhost:3000',
      'content-type': 'application/json',
      // A client may put anything first; the proxy appends the address it saw.
      'x-forwarded-for': '10.9.9.9, 198.51.100.4',
    },
    body: JSON.stringify({ model: 'llama3.2', messages: [{ role: 'user', content: 'x' }], stream: false }),
  });
  assert.equal(browser.statusCode, 200);
  await browser.body.dump();
  // A request without the header came from the proxy's machine itself.
  await ollamaClient(companion, secret).chat({
    model: 'llama3.2',
    messages: [{ role: 'user', content: 'local' }],
  });

  assert.deepEqual(await clientAddresses(companion, 'laptop'), [
    '203.0.113.9',
    '203.0.113.9',
    '198.51.100.4',
    '127.0.0.1',
  ]);
});

test('without trustProxy, X-Forwarded-For is ignored: the address is the connection’s', async (t) => {
  const companion = await setup(t);
  const secret = companion.token('spoofer');
  const openai = new OpenAI({
    baseURL: `${companion.url}/v1`,
    apiKey: secret,
    defaultHeaders: { 'X-Forwarded-For': '203.0.113.9' },
  });
  await openai.chat.completions.create({ model: 'llama3.2', messages: [{ role: 'user', content: 'hi' }] });
  assert.deepEqual(await clientAddresses(companion, 'spoofer'), ['127.0.0.1']);

  // Nor does changing the header get a guesser past the throttle on its address.
  await addAdmin(companion.companion, 'olivia', 'owner');
  const guesser = new AdminClient(companion.url);
  for (let i = 0; i < 5; i++) {
    assert.equal((await loginVia(guesser, `198.51.100.${i}`, 'nobody', 'wrong password')).status, 401);
  }
  assert.equal((await loginVia(guesser, '198.51.100.99', 'olivia', PASSWORD)).status, 429);
});

test('behind a trusted proxy, sign-in throttling, the audit log and the cookie see the relayed client', async (t) => {
  const companion = await setup(t, { trustProxy: ['127.0.0.1'] });
  const owner = await signedIn(companion.url, companion.companion, 'olivia', 'owner');

  // Five wrong guesses from one client lock that client out, not everyone behind the proxy.
  const attacker = new AdminClient(companion.url);
  for (const name of ['root', 'admin', 'test', 'guest', 'oracle']) {
    assert.equal((await loginVia(attacker, '203.0.113.66', name, 'password123')).status, 401);
  }
  assert.equal((await loginVia(attacker, '203.0.113.66', 'olivia', PASSWORD)).status, 429);
  const colleague = new AdminClient(companion.url);
  const signIn = await loginVia(colleague, '198.51.100.7', 'olivia', PASSWORD);
  assert.equal(signIn.status, 200, 'another client of the same proxy still signs in');

  const audit = await owner.call<{ items: { ip: string | null; outcome: string }[] }>(
    'GET',
    '/admin/api/audit?action=login&limit=50',
  );
  const ips = new Set(audit.body.items.filter((e) => e.outcome !== 'ok').map((e) => e.ip));
  assert.deepEqual([...ips], ['203.0.113.66'], 'the audit log names the relayed client');

  // A proxy that ends HTTPS says so, and the session cookie is then marked Secure.
  const secure = new AdminClient(companion.url);
  await addAdmin(companion.companion, 'sam', 'viewer');
  const overHttps = await secure.call(
    'POST',
    '/admin/api/login',
    { username: 'sam', password: PASSWORD },
    { 'x-forwarded-for': '198.51.100.8', 'x-forwarded-proto': 'https' },
  );
  assert.equal(overHttps.status, 200);
  const cookie = secure.lastSetCookie.map(cookieAttributes).find((c) => c.name === 'oc_admin');
  assert.ok(cookie?.attrs.has('secure'), 'Secure when the proxy says the client used HTTPS');
  assert.equal(
    colleague.lastSetCookie
      .map(cookieAttributes)
      .find((c) => c.name === 'oc_admin')
      ?.attrs.has('secure'),
    false,
    'not Secure over plain HTTP',
  );
});

test('/metrics: a client relayed by a trusted proxy needs a token; the machine itself does not', async (t) => {
  const companion = await setup(t, { trustProxy: ['loopback'] });
  const relayed = await request(`${companion.url}/metrics`, {
    headers: { 'x-forwarded-for': '203.0.113.9' },
  });
  assert.equal(relayed.statusCode, 401);
  await relayed.body.dump();
  const local = await request(`${companion.url}/metrics`);
  assert.equal(local.statusCode, 200);
  await local.body.dump();
});

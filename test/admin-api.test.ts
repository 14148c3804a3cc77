/**
 * The admin JSON API as scripts and the panel use it: signing in and out, tokens from
 * creation to revocation (checked through the proxy with the `ollama` client), settings,
 * the audit log, the one-time setup link, the token holders' own page, and the OpenAPI
 * description.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { type TestContext, test } from 'node:test';
import type { Ollama } from 'ollama';
import { request } from 'undici';
import { pendingSetupUrl } from '../src/admin/setup-routes.js';
import { createAdmin } from '../src/auth/admin-accounts.js';
import { openDatabase } from '../src/store/database.js';
import { createSqliteAdminStore } from '../src/store/sqlite/admin-store.js';
import { AdminClient, cookieAttributes, PASSWORD, signedIn } from './support/admin-client.js';
import {
  BIN,
  emulatorFor,
  eventually,
  ollamaClient,
  startCompanion,
  type TestCompanion,
  tempDir,
} from './support/companion-harness.js';
import type { Emulator } from './support/ollama-emulator.js';

interface TokenBody {
  id: string;
  name: string;
  prefix: string;
  status: string;
  enabled: boolean;
  models: string[];
  scopes: string[];
  limits: Record<string, number | null>;
  usage: Record<string, number>;
  expiresAt: string | null;
  revokedAt: string | null;
  historyMode: string;
  token?: string;
}

interface AuditBody {
  items: {
    id: number;
    at: string;
    adminUsername: string | null;
    action: string;
    targetType: string | null;
    targetId: string | null;
    details: Record<string, unknown> | null;
    ip: string | null;
    outcome: string;
  }[];
  next: string | null;
}

interface Setup {
  emulator: Emulator;
  server: TestCompanion;
  owner: AdminClient;
}

async function setup(t: TestContext): Promise<Setup> {
  const emulator = await emulatorFor(t, { chunks: 2 });
  const server = await startCompanion(t, emulator.url);
  const owner = await signedIn(server.url, server.companion, 'olivia', 'owner');
  return { emulator, server, owner };
}

const ask = (ollama: Ollama, content: string) =>
  ollama.chat({ model: 'llama3.2', messages: [{ role: 'user', content }], stream: false });

function statusOf(error: unknown): number | undefined {
  return (error as { status_code?: number }).status_code;
}

test('signing in sets an HttpOnly, SameSite=Strict session cookie; /me and sign-out work with it', async (t) => {
  const { server } = await setup(t);
  const client = new AdminClient(server.url);
  const login = await client.login('olivia');
  assert.equal(login.status, 200);
  assert.equal(login.body.admin.username, 'olivia');
  assert.equal(login.body.admin.role, 'owner');
  assert.match(login.body.csrfToken, /^[A-Za-z0-9_-]{32,}$/);

  const cookie = client.lastSetCookie.map(cookieAttributes).find((c) => c.name === 'oc_admin');
  assert.ok(cookie, 'a session cookie named oc_admin is set');
  assert.ok(cookie.attrs.has('httponly'), 'HttpOnly');
  assert.equal(cookie.attrs.get('samesite')?.toLowerCase(), 'strict');
  assert.equal(cookie.attrs.get('path'), '/');
  assert.ok(!cookie.attrs.has('secure'), 'not Secure over plain HTTP, or the browser would drop it');

  const me = await client.call<{ admin: { username: string; role: string }; csrfToken: string }>(
    'GET',
    '/admin/api/me',
  );
  assert.equal(me.status, 200);
  assert.equal(me.body.admin.username, 'olivia');
  assert.equal(me.body.csrfToken, login.body.csrfToken);
  assert.equal(me.headers['cache-control'], 'no-store', 'session data is never cached');

  const logout = await client.call('POST', '/admin/api/logout');
  assert.equal(logout.status, 204);
  assert.equal(client.cookie, undefined, 'the cookie is cleared');
  const after = await client.call('GET', '/admin/api/me');
  assert.equal(after.status, 401);
  assert.deepEqual(after.body, { error: { code: 'unauthenticated', message: 'not signed in' } });
});

test('a wrong password or unknown account gets the same 401 in the admin error shape', async (t) => {
  const { server } = await setup(t);
  const client = new AdminClient(server.url);
  const wrong = await client.login('olivia', 'not the password');
  const unknown = await client.login('nobody', 'not the password');
  assert.equal(wrong.status, 401);
  assert.equal(unknown.status, 401);
  assert.deepEqual(wrong.body, unknown.body);
  assert.deepEqual(wrong.body, { error: { code: 'unauthenticated', message: 'wrong username or password' } });
  assert.equal(client.cookie, undefined);
});

test('a token created through the API answers its secret once and works at once through the proxy', async (t) => {
  const { server, owner, emulator } = await setup(t);
  const created = await owner.call<TokenBody>('POST', '/admin/api/tokens', {
    name: 'laptop',
    models: ['llama3.2'],
    limits: { day: 50, maxConcurrent: 2 },
    historyMode: 'full',
  });
  assert.equal(created.status, 201);
  const secret = created.body.token ?? '';
  assert.ok(secret.startsWith('oc_'));
  assert.ok(secret.startsWith(created.body.prefix));
  assert.equal(created.body.status, 'active');
  assert.deepEqual(created.body.models, ['llama3.2']);
  assert.equal(created.body.limits.day, 50);
  assert.equal(created.body.limits.maxConcurrent, 2);
  assert.equal(created.body.limits.total, null);

  const answer = await ask(ollamaClient(server, secret), 'hello from the panel');
  assert.equal(answer.message.content, 'Echo: hello from the panel');

  // The secret is never shown again: not in the list, not in the token's page, not in the audit log.
  const list = await owner.call<{ items: TokenBody[] }>('GET', '/admin/api/tokens');
  const one = await owner.call<TokenBody>('GET', `/admin/api/tokens/${created.body.id}`);
  const audit = await owner.call<AuditBody>('GET', '/admin/api/audit');
  for (const text of [list.text, one.text, audit.text]) assert.ok(!text.includes(secret));
  assert.equal(list.body.items.length, 1);
  assert.equal(one.body.token, undefined);
  for (const r of emulator.requests) {
    assert.ok(!JSON.stringify(r.headers).includes(secret) && !r.rawBody.toString().includes(secret));
  }
});

test('each token shows its usage against its quotas', async (t) => {
  const { server, owner } = await setup(t);
  const created = await owner.call<TokenBody>('POST', '/admin/api/tokens', {
    name: 'metered',
    limits: { total: 10, hour: 5 },
  });
  const ollama = ollamaClient(server, created.body.token!);
  await ask(ollama, 'one');
  await ask(ollama, 'two');
  await ask(ollama, 'three');
  await ollama.list(); // listings do not count
  const shown = await owner.call<TokenBody>('GET', `/admin/api/tokens/${created.body.id}`);
  assert.deepEqual(shown.body.usage, { inFlight: 0, total: 3, minute: 3, hour: 3, day: 3, month: 3 });
  assert.equal(shown.body.limits.total, 10);
  assert.equal(shown.body.limits.hour, 5);
  const byName = await owner.call<TokenBody>('GET', '/admin/api/tokens/metered');
  assert.equal(byName.body.id, created.body.id, 'a token can be addressed by name too');
});

test('PATCH limits take effect on the very next request', async (t) => {
  const { server, owner } = await setup(t);
  const created = await owner.call<TokenBody>('POST', '/admin/api/tokens', { name: 'script' });
  const ollama = ollamaClient(server, created.body.token!);
  await ask(ollama, 'first');
  await ask(ollama, 'second');

  const patched = await owner.call<TokenBody>('PATCH', `/admin/api/tokens/${created.body.id}`, {
    limits: { total: 2 },
  });
  assert.equal(patched.status, 200);
  assert.equal(patched.body.limits.total, 2);
  await assert.rejects(ask(ollama, 'third'), (error) => statusOf(error) === 429);

  const lifted = await owner.call<TokenBody>('PATCH', `/admin/api/tokens/${created.body.id}`, {
    limits: { total: null },
    models: ['qwen3:*'],
  });
  assert.equal(lifted.body.limits.total, null);
  assert.deepEqual(lifted.body.models, ['qwen3:*']);
  await assert.rejects(ask(ollama, 'not this model'), (error) => statusOf(error) === 403);

  const disabled = await owner.call<TokenBody>('PATCH', `/admin/api/tokens/${created.body.id}`, {
    enabled: false,
    models: ['*'],
  });
  assert.equal(disabled.body.status, 'disabled');
  await assert.rejects(ask(ollama, 'disabled'), (error) => statusOf(error) === 403);
  await owner.call('PATCH', `/admin/api/tokens/${created.body.id}`, { enabled: true });
  assert.equal((await ask(ollama, 'back')).message.content, 'Echo: back');
});

test('a token as GET answers it is accepted back verbatim by PATCH and changes nothing', async (t) => {
  const { owner } = await setup(t);
  const created = await owner.call<TokenBody>('POST', '/admin/api/tokens', {
    name: 'round-trip',
    models: ['llama3.2', 'qwen3:*'],
    scopes: ['inference', 'read'],
    limits: { total: 1000, minute: 5, hour: 60, day: 500, month: null, maxConcurrent: 2 },
    expires: '30d',
    historyMode: 'metadata',
  });
  assert.equal(created.status, 201);
  const shown = await owner.call<TokenBody>('GET', `/admin/api/tokens/${created.body.id}`);
  assert.deepEqual(shown.body.limits, {
    total: 1000,
    minute: 5,
    hour: 60,
    day: 500,
    month: null,
    maxConcurrent: 2,
  });

  const sentBack = await owner.call<TokenBody>('PATCH', `/admin/api/tokens/${created.body.id}`, shown.body);
  assert.equal(sentBack.status, 200, sentBack.text);
  const { updatedAt: _before, ...unchanged } = shown.body as TokenBody & { updatedAt: string };
  const { updatedAt: _after, ...after } = sentBack.body as TokenBody & { updatedAt: string };
  assert.deepEqual(after, unchanged);

  // Edit one limit in the answer and send it all back: only that limit changes.
  const edited = { ...shown.body, limits: { ...shown.body.limits, day: 20 } };
  const changed = await owner.call<TokenBody>('PATCH', `/admin/api/tokens/${created.body.id}`, edited);
  assert.equal(changed.status, 200, changed.text);
  assert.deepEqual(changed.body.limits, { ...shown.body.limits, day: 20 });
  assert.equal(changed.body.expiresAt, shown.body.expiresAt);

  // Another token's answer sent to this token's address is refused, not half applied.
  await owner.call<TokenBody>('POST', '/admin/api/tokens', { name: 'other' });
  const other = await owner.call<TokenBody>('GET', '/admin/api/tokens/other');
  const crossed = await owner.call<{ error: { message: string } }>(
    'PATCH',
    `/admin/api/tokens/${created.body.id}`,
    other.body,
  );
  assert.equal(crossed.status, 400);
  assert.match(crossed.body.error.message, /is not the id of token "round-trip"/);
});

test('an expired token sent back as GET answers it is accepted: its own past expiry is no change', async (t) => {
  const { owner } = await setup(t);
  const created = await owner.call<TokenBody>('POST', '/admin/api/tokens', {
    name: 'lapsing',
    expiresAt: new Date(Date.now() + 1000).toISOString(),
  });
  const shown = await eventually(async () => {
    const answer = await owner.call<TokenBody>('GET', `/admin/api/tokens/${created.body.id}`);
    return answer.body.status === 'expired' ? answer : undefined;
  });
  const sentBack = await owner.call<TokenBody>('PATCH', `/admin/api/tokens/${created.body.id}`, {
    ...shown.body,
    limits: { ...shown.body.limits, day: 3 },
  });
  assert.equal(sentBack.status, 200, sentBack.text);
  assert.equal(sentBack.body.limits.day, 3);
  assert.equal(sentBack.body.expiresAt, shown.body.expiresAt);
});

test('the older flat limit names (callsPerDay, maxCalls, …) are still read, as their limits key', async (t) => {
  const { owner } = await setup(t);
  const created = await owner.call<TokenBody>('POST', '/admin/api/tokens', {
    name: 'old-script',
    maxCalls: 100,
    callsPerMinute: 1,
    callsPerHour: 2,
    callsPerDay: 3,
    callsPerMonth: 4,
    maxConcurrent: 5,
  });
  assert.equal(created.status, 201, created.text);
  assert.deepEqual(created.body.limits, {
    total: 100,
    minute: 1,
    hour: 2,
    day: 3,
    month: 4,
    maxConcurrent: 5,
  });
  const patched = await owner.call<TokenBody>('PATCH', `/admin/api/tokens/${created.body.id}`, {
    callsPerDay: null,
    limits: { hour: 20 },
  });
  assert.equal(patched.status, 200, patched.text);
  assert.deepEqual(patched.body.limits, {
    total: 100,
    minute: 1,
    hour: 20,
    day: null,
    month: 4,
    maxConcurrent: 5,
  });
});

test('DELETE revokes a token at once: its client gets 401 and it cannot come back', async (t) => {
  const { server, owner } = await setup(t);
  const created = await owner.call<TokenBody>('POST', '/admin/api/tokens', { name: 'leaked' });
  const ollama = ollamaClient(server, created.body.token!);
  await ask(ollama, 'before');

  const revoked = await owner.call<TokenBody>('DELETE', `/admin/api/tokens/${created.body.id}`);
  assert.equal(revoked.status, 200);
  assert.equal(revoked.body.status, 'revoked');
  assert.ok(revoked.body.revokedAt);
  await assert.rejects(ask(ollama, 'after'), (error) => statusOf(error) === 401);

  const revive = await owner.call('PATCH', `/admin/api/tokens/${created.body.id}`, { enabled: true });
  assert.equal(revive.status, 409);
  assert.equal((revive.body as { error: { code: string } }).error.code, 'conflict');
});

test('token fields are validated and refusals come back in the admin error shape', async (t) => {
  const { owner } = await setup(t);
  const cases: [unknown, RegExp][] = [
    [{ name: 'a', scopes: ['everything'] }, /scopes/],
    [{ name: 'a', limits: { total: -1 } }, /^limits\.total must be a whole number of 0 or more, or null$/],
    [{ name: 'a', limits: { day: 2.5 } }, /^limits\.day must be a whole number of 0 or more, or null$/],
    [
      { name: 'a', limits: { maxConcurrent: 0 } },
      /^limits\.maxConcurrent must be a whole number of 1 or more/,
    ],
    [
      { name: 'a', limits: { week: 3 } },
      /^limits\.week is not a known field; limits takes total, minute, hour, day, month, maxConcurrent$/,
    ],
    [
      { name: 'a', limits: 100 },
      /^limits must be an object with total, minute, hour, day, month, maxConcurrent$/,
    ],
    [{ name: 'a', limits: { day: 5 }, callsPerDay: 5 }, /either limits\.day or callsPerDay/],
    [{ name: 'a', maxCalls: -1 }, /maxCalls/],
    [{ name: 'a', colour: 'blue' }, /colour/],
    [{ name: 'a', expiresAt: 'tomorrow-ish' }, /expiresAt/],
    [{ name: 'a', expiresAt: '2001-01-01T00:00:00Z' }, /past/],
    [{ name: 'a', expires: '30d', expiresAt: null }, /either/],
    [{ name: 'a', expires: 'soon' }, /expiry/],
    [{ name: 'has space' }, /name/],
    [{ models: ['*'] }, /name/],
  ];
  for (const [body, message] of cases) {
    const answer = await owner.call<{ error: { code: string; message: string } }>(
      'POST',
      '/admin/api/tokens',
      body,
    );
    assert.equal(answer.status, 400, JSON.stringify(body));
    assert.equal(answer.body.error.code, 'bad_request');
    assert.match(answer.body.error.message, message);
  }
  const list = await owner.call<{ items: unknown[] }>('GET', '/admin/api/tokens');
  assert.equal(list.body.items.length, 0, 'nothing was created by a refused request');

  const expiring = await owner.call<TokenBody>('POST', '/admin/api/tokens', {
    name: 'month',
    expires: '30d',
  });
  const days = (Date.parse(expiring.body.expiresAt!) - Date.now()) / 86_400_000;
  assert.ok(days > 29.9 && days <= 30, `expires in 30 days, got ${days}`);
  const dup = await owner.call('POST', '/admin/api/tokens', { name: 'month' });
  assert.equal(dup.status, 409);
  const missing = await owner.call('GET', '/admin/api/tokens/no-such-token');
  assert.equal(missing.status, 404);
  assert.equal((missing.body as { error: { code: string } }).error.code, 'not_found');
  const emptyPatch = await owner.call('PATCH', `/admin/api/tokens/${expiring.body.id}`, {});
  assert.equal(emptyPatch.status, 400);
});

test('an empty model list is refused on create and on change, never read as every model', async (t) => {
  const { owner, server } = await setup(t);
  type Refusal = { error: { code: string; message: string } };
  const created = await owner.call<Refusal>('POST', '/admin/api/tokens', { name: 'nothing', models: [] });
  assert.equal(created.status, 400);
  assert.deepEqual(created.body, {
    error: {
      code: 'bad_request',
      message: 'models is empty; give model names or globs, or "*" for all local models',
    },
  });
  const list = await owner.call<{ items: unknown[] }>('GET', '/admin/api/tokens');
  assert.equal(list.body.items.length, 0, 'nothing was created');

  // The panel's edit form with its Models field cleared.
  const narrow = await owner.call<TokenBody>('POST', '/admin/api/tokens', {
    name: 'narrow',
    models: ['llama3.2'],
  });
  assert.equal(narrow.status, 201);
  const cleared = await owner.call<Refusal>('PATCH', `/admin/api/tokens/${narrow.body.id}`, { models: [] });
  assert.equal(cleared.status, 400);
  assert.match(cleared.body.error.message, /models is empty/);
  const after = await owner.call<TokenBody>('GET', `/admin/api/tokens/${narrow.body.id}`);
  assert.deepEqual(after.body.models, ['llama3.2'], 'the token keeps its models');
  const other = await ollamaClient(server, narrow.body.token!)
    .chat({ model: 'qwen3:8b', messages: [{ role: 'user', content: 'hi' }], stream: false })
    .then(
      () => 200,
      (error: unknown) => statusOf(error),
    );
  assert.equal(other, 403, 'another model is still refused');
});

test('settings read their defaults, change when valid, and refuse anything else', async (t) => {
  const { owner } = await setup(t);
  const initial = await owner.call('GET', '/admin/api/settings');
  assert.deepEqual(initial.body, {
    historyMaxAgeDays: null,
    historyMaxRecords: null,
    sessionIdleMinutes: 30,
  });

  const changed = await owner.call('PATCH', '/admin/api/settings', {
    historyMaxAgeDays: 90,
    historyMaxRecords: 1000,
  });
  assert.equal(changed.status, 200);
  assert.deepEqual(changed.body, { historyMaxAgeDays: 90, historyMaxRecords: 1000, sessionIdleMinutes: 30 });

  for (const body of [
    { historyMaxAgeDays: 0 },
    { historyMaxAgeDays: 1.5 },
    { historyMaxRecords: 'lots' },
    { sessionIdleMinutes: 0 },
    { sessionIdleMinutes: 100_000 },
    { sessionIdleMinutes: null },
    { logLevel: 'debug' },
    {},
  ]) {
    const refused = await owner.call<{ error: { code: string } }>('PATCH', '/admin/api/settings', body);
    assert.equal(refused.status, 400, JSON.stringify(body));
    assert.equal(refused.body.error.code, 'bad_request');
  }
  const lifted = await owner.call('PATCH', '/admin/api/settings', { historyMaxAgeDays: null });
  assert.deepEqual(lifted.body, { historyMaxAgeDays: null, historyMaxRecords: 1000, sessionIdleMinutes: 30 });
  assert.deepEqual((await owner.call('GET', '/admin/api/settings')).body, lifted.body);

  const audit = await owner.call<AuditBody>('GET', '/admin/api/audit?action=settings.update');
  assert.equal(audit.body.items.length, 2);
  assert.deepEqual(audit.body.items[0]!.details, { historyMaxAgeDays: { from: 90, to: null } });
});

test('the audit log says who did what, when and from where, newest first, in pages', async (t) => {
  const { owner } = await setup(t);
  const before = Date.now();
  for (let i = 0; i < 5; i++) await owner.call('POST', '/admin/api/tokens', { name: `t${i}` });
  const first = await owner.call<AuditBody>('GET', '/admin/api/audit?limit=3');
  assert.equal(first.status, 200);
  assert.equal(first.body.items.length, 3);
  assert.ok(first.body.next);
  const [newest] = first.body.items;
  assert.equal(newest!.action, 'token.create');
  assert.equal(newest!.adminUsername, 'olivia');
  assert.equal(newest!.ip, '127.0.0.1');
  assert.equal(newest!.outcome, 'ok');
  assert.equal(newest!.targetType, 'token');
  assert.equal(newest!.details?.name, 't4');
  assert.ok(Date.parse(newest!.at) >= before - 1000);

  const second = await owner.call<AuditBody>('GET', `/admin/api/audit?limit=3&cursor=${first.body.next}`);
  assert.equal(second.body.items.length, 3);
  assert.equal(second.body.next, null);
  const actions = [...first.body.items, ...second.body.items].map((e) => e.action);
  assert.deepEqual(actions, [
    'token.create',
    'token.create',
    'token.create',
    'token.create',
    'token.create',
    'login',
  ]);
  const ids = [...first.body.items, ...second.body.items].map((e) => e.id);
  assert.deepEqual(
    ids,
    [...ids].sort((a, b) => b - a),
  );

  const badCursor = await owner.call('GET', '/admin/api/audit?cursor=abc');
  assert.equal(badCursor.status, 400);
  const badLimit = await owner.call('GET', '/admin/api/audit?limit=0');
  assert.equal(badLimit.status, 400);
});

test('the one-time setup link creates the first owner once, signs them in, then is refused', async (t) => {
  const emulator = await emulatorFor(t, {});
  const server = await startCompanion(t, emulator.url);
  const url = await pendingSetupUrl(server.companion);
  assert.ok(url, 'a setup link exists while there is no admin');
  assert.ok(url.startsWith(`${server.url}/admin/setup#`));
  const setupToken = url.split('#')[1]!;
  const browser = new AdminClient(server.url);
  assert.deepEqual((await browser.call('GET', '/admin/api/setup')).body, { setupNeeded: true });

  const wrong = await browser.call<{ error: { code: string } }>('POST', '/admin/api/setup', {
    setupToken: `${setupToken.slice(0, -2)}xx`,
    username: 'first',
    password: PASSWORD,
  });
  assert.equal(wrong.status, 403);
  assert.equal(wrong.body.error.code, 'setup_refused');

  const weak = await browser.call('POST', '/admin/api/setup', {
    setupToken,
    username: 'first',
    password: 'short',
  });
  assert.equal(weak.status, 400, 'a refused password does not use up the link');

  const done = await browser.call<{ csrfToken: string; admin: { username: string; role: string } }>(
    'POST',
    '/admin/api/setup',
    { setupToken, username: 'first', password: PASSWORD },
  );
  assert.equal(done.status, 201);
  assert.deepEqual(done.body.admin.role, 'owner');
  browser.csrf = done.body.csrfToken;
  const me = await browser.call<{ admin: { username: string } }>('GET', '/admin/api/me');
  assert.equal(me.body.admin.username, 'first', 'setup signs the new owner in');

  const again = await new AdminClient(server.url).call('POST', '/admin/api/setup', {
    setupToken,
    username: 'second',
    password: PASSWORD,
  });
  assert.equal(again.status, 409);
  assert.deepEqual((await browser.call('GET', '/admin/api/setup')).body, { setupNeeded: false });
  const owners = await browser.call<{ items: { username: string }[] }>('GET', '/admin/api/admins');
  assert.deepEqual(
    owners.body.items.map((a) => a.username),
    ['first'],
  );
  const audit = await browser.call<AuditBody>('GET', '/admin/api/audit?action=setup');
  assert.deepEqual(
    audit.body.items.map((e) => e.outcome),
    ['denied', 'ok', 'denied'],
  );
});

test('a companion that already has an admin prints no setup link and refuses setup', async (t) => {
  const emulator = await emulatorFor(t, {});
  const dataDir = tempDir(t);
  const db = openDatabase(dataDir);
  await createAdmin(createSqliteAdminStore(db), 'cli-made', PASSWORD, 'owner');
  db.close();
  const server = await startCompanion(t, emulator.url, { dataDir });
  assert.equal(await pendingSetupUrl(server.companion), undefined);
  assert.deepEqual((await new AdminClient(server.url).call('GET', '/admin/api/setup')).body, {
    setupNeeded: false,
  });
  const refused = await new AdminClient(server.url).call('POST', '/admin/api/setup', {
    setupToken: 'anything',
    username: 'intruder',
    password: PASSWORD,
  });
  assert.equal(refused.status, 409);
});

test('`serve` on an empty data dir prints the setup link as one line, and the link works', async (t) => {
  const emulator = await emulatorFor(t, {});
  const dataDir = tempDir(t);
  const child = spawn(
    process.execPath,
    [BIN, 'serve', '--port', '0', '--data-dir', dataDir, '--upstream', emulator.url, '--log-level', 'warn'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  t.after(() => {
    if (child.exitCode === null) child.kill('SIGTERM');
  });
  let stdout = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  const line = await eventually(() => stdout.split('\n').find((l) => l.includes('/admin/setup#')), 15_000);
  const link = /(https?:\/\/\S+\/admin\/setup#(\S+))/.exec(line);
  assert.ok(link, `a full URL on the line: ${line}`);
  assert.match(line, /first owner/i);
  const base = link[1]!.split('/admin/setup')[0]!;
  const done = await new AdminClient(base).call('POST', '/admin/api/setup', {
    setupToken: link[2],
    username: 'root',
    password: PASSWORD,
  });
  assert.equal(done.status, 201);
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
});

test('/api/companion/me shows a token holder only their own limits, usage and records', async (t) => {
  const { server, owner } = await setup(t);
  const mine = await owner.call<TokenBody>('POST', '/admin/api/tokens', {
    name: 'mine',
    callsPerDay: 100,
    historyMode: 'full',
  });
  const theirs = await owner.call<TokenBody>('POST', '/admin/api/tokens', { name: 'theirs' });
  const me = ollamaClient(server, mine.body.token!);
  const other = ollamaClient(server, theirs.body.token!);
  for (const text of ['m1', 'm2', 'm3']) await ask(me, `mine ${text}`);
  await ask(other, 'a secret of someone else');

  type MeBody = {
    token: {
      name: string;
      prefix: string;
      limits: Record<string, number | null>;
      usage: Record<string, number>;
    };
    history: {
      items: { id: string; tokenId: string; prompt: string; answer: string }[];
      next: string | null;
    };
  };
  const get = (path: string, headers: Record<string, string>) =>
    request(`${server.url}${path}`, { headers }).then(async (res) => ({
      status: res.statusCode,
      text: await res.body.text(),
    }));
  const page = await eventually(async () => {
    void server.companion.history.flush();
    const res = await get('/api/companion/me', { authorization: `Bearer ${mine.body.token}` });
    const body = JSON.parse(res.text) as MeBody;
    return body.history.items.length === 3 ? body : undefined;
  });
  assert.equal(page.token.name, 'mine');
  assert.equal(page.token.prefix, mine.body.prefix);
  assert.equal(page.token.limits.day, 100);
  assert.equal(page.token.usage.day, 3);
  assert.ok(page.history.items.every((r) => r.tokenId === mine.body.id));
  assert.equal(page.history.items[0]!.answer, 'Echo: mine m3', 'newest first');
  assert.equal(page.history.items[0]!.prompt, 'mine m3');
  const all = JSON.stringify(page);
  assert.ok(!all.includes('someone else'));
  assert.ok(!all.includes(mine.body.token!), 'the secret is not echoed');

  // Pages follow the cursor; the path-prefix form of the token works too.
  const first = JSON.parse((await get(`/t/${mine.body.token}/api/companion/me?limit=2`, {})).text) as MeBody;
  assert.equal(first.history.items.length, 2);
  assert.ok(first.history.next);
  const second = JSON.parse(
    (await get(`/api/companion/me?limit=2&cursor=${first.history.next}`, { 'x-api-key': mine.body.token! }))
      .text,
  ) as MeBody;
  assert.deepEqual(
    second.history.items.map((r) => r.answer),
    ['Echo: mine m1'],
  );
  assert.equal(second.history.next, null);

  // Filters narrow within the token's own records; a token filter cannot widen them.
  const searched = JSON.parse(
    (await get('/api/companion/me?q=m2', { authorization: `Bearer ${mine.body.token}` })).text,
  ) as MeBody;
  assert.deepEqual(
    searched.history.items.map((r) => r.answer),
    ['Echo: mine m2'],
  );
  const widen = await get(`/api/companion/me?token=${theirs.body.id}`, {
    authorization: `Bearer ${mine.body.token}`,
  });
  assert.equal(widen.status, 400);
  const exported = await get('/api/companion/me/export?format=jsonl', {
    authorization: `Bearer ${mine.body.token}`,
  });
  assert.equal(exported.status, 200);
  const lines = exported.text.trim().split('\n');
  assert.equal(lines.length, 3);
  assert.ok(!exported.text.includes('someone else'));

  const anonymous = await get('/api/companion/me', {});
  assert.equal(anonymous.status, 401);
  await owner.call('DELETE', `/admin/api/tokens/${mine.body.id}`);
  const revoked = await get('/api/companion/me', { authorization: `Bearer ${mine.body.token}` });
  assert.equal(revoked.status, 401);
});

test('the OpenAPI description lists every admin route', async (t) => {
  const { server } = await setup(t);
  const res = await request(`${server.url}/admin/api/openapi.json`);
  assert.equal(res.statusCode, 200);
  const doc = (await res.body.json()) as { openapi: string; paths: Record<string, Record<string, unknown>> };
  assert.match(doc.openapi, /^3\./);
  const routes = Object.entries(doc.paths).flatMap(([path, methods]) =>
    Object.keys(methods).map((m) => `${m.toUpperCase()} ${path}`),
  );
  for (const route of [
    'POST /admin/api/login',
    'POST /admin/api/logout',
    'GET /admin/api/me',
    'GET /admin/api/setup',
    'POST /admin/api/setup',
    'GET /admin/api/tokens',
    'POST /admin/api/tokens',
    'GET /admin/api/tokens/{id}',
    'PATCH /admin/api/tokens/{id}',
    'DELETE /admin/api/tokens/{id}',
    'GET /admin/api/admins',
    'POST /admin/api/admins',
    'PATCH /admin/api/admins/{id}',
    'DELETE /admin/api/admins/{id}',
    'GET /admin/api/audit',
    'GET /admin/api/settings',
    'PATCH /admin/api/settings',
    'GET /api/companion/me',
  ]) {
    assert.ok(routes.includes(route), `${route} is documented`);
  }
  const createToken = doc.paths['/admin/api/tokens']?.post as {
    requestBody: { content: { 'application/json': { schema: { properties: Record<string, unknown> } } } };
  };
  const fields = Object.keys(createToken.requestBody.content['application/json'].schema.properties);
  for (const field of ['name', 'models', 'scopes', 'limits', 'expiresAt']) {
    assert.ok(fields.includes(field), `token creation documents ${field}`);
  }
});

test('malformed requests and unknown admin paths answer in the admin error shape', async (t) => {
  const { server, owner } = await setup(t);
  const missing = await new AdminClient(server.url).call<{ error: { code: string; message: string } }>(
    'POST',
    '/admin/api/login',
    { username: 'olivia' },
  );
  assert.equal(missing.status, 400);
  assert.equal(missing.body.error.code, 'bad_request');
  assert.match(missing.body.error.message, /password/);

  const res = await request(`${server.url}/admin/api/tokens`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      cookie: `oc_admin=${owner.cookie}`,
      'x-csrf-token': owner.csrf!,
    },
    body: '{"name": ',
  });
  assert.equal(res.statusCode, 400);
  const broken = (await res.body.json()) as { error: { code: string } };
  assert.equal(broken.error.code, 'bad_request');

  const unknown = await owner.call<{ error: { code: string } }>('GET', '/admin/api/nothing-here');
  assert.equal(unknown.status, 404);
  assert.equal(unknown.body.error.code, 'not_found');
});

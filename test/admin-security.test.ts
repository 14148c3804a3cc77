/**
 * The admin API's defences as an attacker meets them: CSRF tokens on every change,
 * session ids renewed at each sign-in and stored only as hashes, sessions ending when
 * idle or signed out, sign-in throttled per account and per address (parallel guesses
 * included), Secure cookies under HTTPS, and no crossing between token and admin
 * credentials.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { Agent, request } from 'undici';
import { AdminClient, addAdmin, cookieAttributes, PASSWORD, signedIn } from './support/admin-client.js';
import { emulatorFor, startCompanion, type TestCompanion, tempDir } from './support/companion-harness.js';

interface AuditItem {
  adminUsername: string | null;
  action: string;
  details: Record<string, unknown> | null;
  ip: string | null;
  outcome: string;
}

async function setup(t: TestContext) {
  const emulator = await emulatorFor(t, {});
  const server = await startCompanion(t, emulator.url);
  const owner = await signedIn(server.url, server.companion, 'olivia', 'owner');
  return { server, owner };
}

/** A client whose connections come from another loopback address, as another machine's would. */
function from(t: TestContext, server: TestCompanion, address: string): AdminClient {
  const dispatcher = new Agent({ localAddress: address });
  t.after(() => dispatcher.close());
  return new AdminClient(server.url, { dispatcher });
}

const errorCode = (body: unknown) => (body as { error: { code: string } }).error.code;

test('every change needs the session’s CSRF token: missing or wrong is refused and audited', async (t) => {
  const { server, owner } = await setup(t);
  const other = await signedIn(server.url, server.companion, 'adam', 'admin');
  const tries: [string, Record<string, string>][] = [
    ['missing', { 'x-csrf-token': '' }],
    ['wrong', { 'x-csrf-token': 'x'.repeat(owner.csrf!.length) }],
    ['another session’s', { 'x-csrf-token': other.csrf! }],
  ];
  for (const [label, headers] of tries) {
    const create = await owner.call('POST', '/admin/api/tokens', { name: 'forged' }, headers);
    assert.equal(create.status, 403, label);
    assert.equal(errorCode(create.body), 'csrf_failed', label);
    const settings = await owner.call('PATCH', '/admin/api/settings', { historyMaxAgeDays: 1 }, headers);
    assert.equal(settings.status, 403, label);
    const logout = await owner.call('POST', '/admin/api/logout', undefined, headers);
    assert.equal(logout.status, 403, `${label}: even sign-out needs it`);
  }
  // Reads need no token, and nothing changed.
  const tokens = await owner.call<{ items: unknown[] }>('GET', '/admin/api/tokens');
  assert.equal(tokens.status, 200);
  assert.equal(tokens.body.items.length, 0);
  assert.equal(
    (await owner.call<{ historyMaxAgeDays: null }>('GET', '/admin/api/settings')).body.historyMaxAgeDays,
    null,
  );
  assert.equal((await owner.call('GET', '/admin/api/me')).status, 200, 'still signed in');

  const audit = await owner.call<{ items: AuditItem[] }>('GET', '/admin/api/audit?outcome=denied');
  const csrf = audit.body.items.filter((e) => e.details?.reason === 'csrf_failed');
  assert.equal(csrf.length, 9);
  assert.ok(csrf.every((e) => e.adminUsername === 'olivia' && e.ip === '127.0.0.1'));
});

test('each sign-in makes a new session id; the old one stops working; only hashes are stored', async (t) => {
  const { server, owner } = await setup(t);
  const laptop = new AdminClient(server.url);
  await laptop.login('olivia');
  const first = { cookie: laptop.cookie!, csrf: laptop.csrf! };
  await laptop.login('olivia');
  assert.ok(laptop.cookie && laptop.cookie !== first.cookie, 'a new session id');
  assert.notEqual(laptop.csrf, first.csrf, 'a new CSRF token');
  assert.equal((await laptop.call('GET', '/admin/api/me')).status, 200);

  const stale = new AdminClient(server.url);
  stale.cookie = first.cookie;
  assert.equal((await stale.call('GET', '/admin/api/me')).status, 401, 'the replaced session is gone');
  assert.equal((await owner.call('GET', '/admin/api/me')).status, 200, 'other browsers stay signed in');

  const stored = server.companion.db.prepare('SELECT id_hash FROM admin_sessions').all() as {
    id_hash: string;
  }[];
  assert.equal(stored.length, 2);
  for (const cookie of [first.cookie, laptop.cookie, owner.cookie!]) {
    assert.ok(!stored.some((row) => row.id_hash === cookie), 'the cookie value itself is never stored');
  }
});

test('signing out ends the session on the server, so a copied cookie is useless afterwards', async (t) => {
  const { server, owner } = await setup(t);
  const copy = new AdminClient(server.url);
  copy.cookie = owner.cookie;
  assert.equal((await copy.call('GET', '/admin/api/me')).status, 200);
  assert.equal((await owner.call('POST', '/admin/api/logout')).status, 204);
  assert.equal((await copy.call('GET', '/admin/api/me')).status, 401);
  const audit = server.companion.db
    .prepare("SELECT admin_username, outcome FROM audit_log WHERE action = 'logout'")
    .all() as { admin_username: string; outcome: string }[];
  assert.deepEqual(audit, [{ admin_username: 'olivia', outcome: 'ok' }]);
});

test('a session unused for the idle time ends; one in use stays', async (t) => {
  const { server, owner } = await setup(t);
  const idleMs = 1200;
  const changed = await owner.call('PATCH', '/admin/api/settings', { sessionIdleMinutes: idleMs / 60_000 });
  assert.equal(changed.status, 200);

  const busy = new AdminClient(server.url);
  await busy.login('olivia');
  const idle = new AdminClient(server.url);
  await idle.login('olivia');
  // The busy browser keeps calling, well within the idle time, for longer than the idle time.
  for (let i = 0; i < 6; i++) {
    await delay(idleMs / 4);
    assert.equal((await busy.call('GET', '/admin/api/me')).status, 200, `busy call ${i}`);
  }
  const after = await idle.call<{ error: { code: string } }>('GET', '/admin/api/me');
  assert.equal(after.status, 401, 'the idle session ended');
  assert.equal((await idle.login('olivia')).status, 200, 'signing in again works');
});

test('an account is throttled after five failed sign-ins, from any address: 429 with Retry-After', async (t) => {
  const { server, owner } = await setup(t);
  await addAdmin(server.companion, 'target', 'admin');
  for (let i = 0; i < 5; i++) {
    const attacker = from(t, server, `127.0.0.${10 + i}`);
    assert.equal((await attacker.login('target', `guess number ${i}`)).status, 401);
  }
  const victim = from(t, server, '127.0.0.20');
  const refused = await victim.login('TARGET');
  assert.equal(
    refused.status,
    429,
    'even the right password is refused for a while (names are case-insensitive)',
  );
  assert.equal(errorCode(refused.body), 'throttled');
  const retryAfter = Number(refused.headers['retry-after']);
  assert.ok(retryAfter >= 1 && retryAfter <= 15 * 60, `Retry-After ${retryAfter}`);
  assert.equal(victim.cookie, undefined);

  assert.equal(
    (await from(t, server, '127.0.0.21').login('olivia')).status,
    200,
    'other accounts are unaffected',
  );

  const audit = await owner.call<{ items: AuditItem[] }>('GET', '/admin/api/audit?action=login&limit=50');
  const failed = audit.body.items.filter((e) => e.outcome === 'failed');
  assert.equal(failed.length, 5);
  assert.ok(failed.every((e) => e.adminUsername === 'target'));
  assert.deepEqual(failed.map((e) => e.ip).sort(), [
    '127.0.0.10',
    '127.0.0.11',
    '127.0.0.12',
    '127.0.0.13',
    '127.0.0.14',
  ]);
  const throttled = audit.body.items.find((e) => e.outcome === 'denied');
  assert.equal(throttled?.details?.reason, 'throttled');
  assert.equal(throttled?.ip, '127.0.0.20');
  assert.ok(!JSON.stringify(audit.body).includes('guess number'), 'tried passwords are never logged');
});

test('an address is throttled after five failed sign-ins, whichever accounts it tried', async (t) => {
  const { server } = await setup(t);
  const sprayer = from(t, server, '127.0.0.30');
  for (const name of ['root', 'admin', 'olivia', 'test', 'guest']) {
    assert.equal((await sprayer.login(name, 'password123')).status, 401);
  }
  const blocked = await sprayer.login('olivia');
  assert.equal(blocked.status, 429);
  assert.ok(Number(blocked.headers['retry-after']) >= 1);
  assert.equal(
    (await from(t, server, '127.0.0.31').login('olivia')).status,
    200,
    'other addresses are unaffected',
  );
});

test('guesses sent in parallel are throttled too', async (t) => {
  const { server } = await setup(t);
  const attacker = from(t, server, '127.0.0.40');
  const answers = await Promise.all(
    Array.from({ length: 12 }, (_, i) =>
      request(`${server.url}/admin/api/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'olivia', password: `parallel ${i}` }),
        dispatcher: attacker.options.dispatcher!,
      }).then(async (res) => {
        await res.body.dump();
        return res.statusCode;
      }),
    ),
  );
  assert.equal(answers.filter((s) => s === 401).length, 5, `statuses ${answers.join(',')}`);
  assert.equal(answers.filter((s) => s === 429).length, 7);
});

test('refusals before sign-in cannot flood the audit log: 20 per address, the rest only counted', async (t) => {
  const { server, owner } = await setup(t);
  const unrecorded = async () => {
    const res = await request(`${server.url}/metrics`);
    const text = await res.body.text();
    return Number(/^companion_audit_unrecorded_total (\S+)$/m.exec(text)?.[1]);
  };
  assert.equal(await unrecorded(), 0);
  const flooder = from(t, server, '127.0.0.50');
  for (let i = 0; i < 30; i++) {
    assert.equal((await flooder.login('olivia', `guess ${i}`)).status, i < 5 ? 401 : 429);
  }
  const setupAgain = await flooder.call('POST', '/admin/api/setup', {
    setupToken: 'x'.repeat(43),
    username: 'mallory',
    password: 'a long enough password',
  });
  assert.equal(setupAgain.status, 409);
  assert.equal((await from(t, server, '127.0.0.51').login('someone', 'one wrong guess')).status, 401);

  const audit = await owner.call<{ items: AuditItem[] }>('GET', '/admin/api/audit?limit=100');
  const byAddress = (ip: string) => audit.body.items.filter((e) => e.ip === ip);
  assert.equal(byAddress('127.0.0.50').length, 20, 'the first 20 refusals of the address are recorded');
  assert.equal(
    byAddress('127.0.0.50').filter((e) => e.outcome === 'failed').length,
    5,
    'its five wrong passwords among them',
  );
  assert.equal(byAddress('127.0.0.51').length, 1, 'another address is recorded as before');
  assert.equal(await unrecorded(), 11, 'the other 10 sign-ins and the setup attempt are counted');

  // A signed-in admin's actions are always recorded, from any address.
  assert.equal((await owner.call('PATCH', '/admin/api/settings', { historyMaxAgeDays: 30 })).status, 200);
  const after = await owner.call<{ items: AuditItem[] }>(
    'GET',
    '/admin/api/audit?action=settings.update&limit=5',
  );
  assert.ok(after.body.items.some((e) => e.adminUsername === 'olivia' && e.outcome === 'ok'));
});

test('sign-in accepts only JSON, so a cross-site form cannot post one', async (t) => {
  const { server } = await setup(t);
  const form = await request(`${server.url}/admin/api/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: `username=olivia&password=${encodeURIComponent(PASSWORD)}`,
  });
  assert.equal(form.statusCode, 415);
  assert.equal(form.headers['set-cookie'], undefined);
  const body = (await form.body.json()) as { error: { code: string } };
  assert.ok(body.error.code);
});

test('token secrets and admin sessions do not stand in for each other', async (t) => {
  const { server, owner } = await setup(t);
  const created = await owner.call<{ token: string }>('POST', '/admin/api/tokens', {
    name: 'holder',
    scopes: ['inference', 'embeddings', 'read', 'show', 'manage', 'metrics'],
  });
  const secret = created.body.token;
  const asToken = await request(`${server.url}/admin/api/tokens`, {
    headers: { authorization: `Bearer ${secret}` },
  });
  assert.equal(asToken.statusCode, 401, 'a token is not an admin session');
  await asToken.body.dump();
  const asCookie = await request(`${server.url}/api/tags`, {
    headers: { cookie: `oc_admin=${owner.cookie}` },
  });
  assert.equal(asCookie.statusCode, 401, 'an admin session is not a token');
  await asCookie.body.dump();
  const me = await request(`${server.url}/api/companion/me`, {
    headers: { cookie: `oc_admin=${owner.cookie}` },
  });
  assert.equal(me.statusCode, 401);
  await me.body.dump();
});

test('under HTTPS the session cookie is Secure', async (t) => {
  const dir = tempDir(t);
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  try {
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1'].concat([
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
      ]),
      { stdio: 'ignore' },
    );
  } catch {
    t.skip('openssl is not available to make a test certificate');
    return;
  }
  const emulator = await emulatorFor(t, {});
  const server = await startCompanion(t, emulator.url, { tlsCert: cert, tlsKey: key });
  await addAdmin(server.companion, 'olivia', 'owner');
  assert.ok(server.url.startsWith('https://'));
  const dispatcher = new Agent({ connect: { ca: readFileSync(cert) } });
  t.after(() => dispatcher.close());
  const browser = new AdminClient(server.url, { dispatcher });
  const login = await browser.login('olivia');
  assert.equal(login.status, 200);
  const cookie = browser.lastSetCookie.map(cookieAttributes).find((c) => c.name === 'oc_admin');
  assert.ok(cookie, 'a session cookie is set');
  assert.ok(cookie.attrs.has('secure'), 'Secure');
  assert.ok(cookie.attrs.has('httponly'));
  assert.equal(cookie.attrs.get('samesite')?.toLowerCase(), 'strict');
  assert.equal((await browser.call('GET', '/admin/api/me')).status, 200);
});

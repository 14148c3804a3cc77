/**
 * Roles in the admin API: viewers read, admins also change tokens and settings, owners
 * also manage admins. Every refusal is a 403 in the admin shape and an audit entry; the
 * last owner can be neither demoted nor removed.
 */
import assert from 'node:assert/strict';
import { type TestContext, test } from 'node:test';
import { AdminClient, addAdmin, PASSWORD, signedIn } from './support/admin-client.js';
import { emulatorFor, startCompanion, type TestCompanion } from './support/companion-harness.js';

interface AuditItem {
  adminUsername: string | null;
  action: string;
  targetType: string | null;
  targetId: string | null;
  details: Record<string, unknown> | null;
  ip: string | null;
  outcome: string;
}

interface AdminItem {
  id: string;
  username: string;
  role: string;
}

interface Roles {
  server: TestCompanion;
  owner: AdminClient;
  admin: AdminClient;
  viewer: AdminClient;
  tokenId: string;
}

async function setup(t: TestContext): Promise<Roles> {
  const emulator = await emulatorFor(t, {});
  const server = await startCompanion(t, emulator.url);
  const owner = await signedIn(server.url, server.companion, 'olivia', 'owner');
  const admin = await signedIn(server.url, server.companion, 'adam', 'admin');
  const viewer = await signedIn(server.url, server.companion, 'vera', 'viewer');
  const created = await owner.call<{ id: string }>('POST', '/admin/api/tokens', { name: 'shared' });
  return { server, owner, admin, viewer, tokenId: created.body.id };
}

async function deniedEntries(owner: AdminClient): Promise<AuditItem[]> {
  const answer = await owner.call<{ items: AuditItem[] }>('GET', '/admin/api/audit?outcome=denied&limit=500');
  return answer.body.items;
}

function assertForbidden(answer: { status: number; body: unknown }, what: string): void {
  assert.equal(answer.status, 403, what);
  assert.equal((answer.body as { error: { code: string } }).error.code, 'forbidden_role', what);
}

test('a viewer reads everything and changes nothing; each attempt is refused and audited', async (t) => {
  const { owner, viewer, tokenId } = await setup(t);
  for (const path of [
    '/admin/api/tokens',
    `/admin/api/tokens/${tokenId}`,
    '/admin/api/admins',
    '/admin/api/audit',
    '/admin/api/settings',
    '/admin/api/me',
  ]) {
    assert.equal((await viewer.call('GET', path)).status, 200, `viewer reads ${path}`);
  }

  const attempts: [string, 'POST' | 'PATCH' | 'DELETE', string, unknown][] = [
    ['token.create', 'POST', '/admin/api/tokens', { name: 'sneaky' }],
    ['token.update', 'PATCH', `/admin/api/tokens/${tokenId}`, { maxCalls: 1000000 }],
    ['token.revoke', 'DELETE', `/admin/api/tokens/${tokenId}`, undefined],
    ['settings.update', 'PATCH', '/admin/api/settings', { historyMaxAgeDays: 1 }],
    ['admin.create', 'POST', '/admin/api/admins', { username: 'mallory', password: PASSWORD, role: 'owner' }],
  ];
  for (const [, method, path, body] of attempts) {
    assertForbidden(await viewer.call(method, path, body), `${method} ${path}`);
  }

  const token = await owner.call<{ status: string; limits: { total: number | null } }>(
    'GET',
    `/admin/api/tokens/${tokenId}`,
  );
  assert.equal(token.body.status, 'active', 'the token was not revoked');
  assert.equal(token.body.limits.total, null, 'the token was not changed');
  const tokens = await owner.call<{ items: unknown[] }>('GET', '/admin/api/tokens');
  assert.equal(tokens.body.items.length, 1, 'no token was created');
  const settings = await owner.call<{ historyMaxAgeDays: number | null }>('GET', '/admin/api/settings');
  assert.equal(settings.body.historyMaxAgeDays, null);

  const denied = await deniedEntries(owner);
  for (const [action] of attempts) {
    const entry = denied.find((e) => e.action === action);
    assert.ok(entry, `${action} attempt is in the audit log`);
    assert.equal(entry.adminUsername, 'vera');
    assert.equal(entry.ip, '127.0.0.1');
    assert.equal(entry.details?.reason, 'forbidden_role');
  }
  const revokeAttempt = denied.find((e) => e.action === 'token.revoke');
  assert.equal(revokeAttempt?.targetType, 'token');
  assert.equal(revokeAttempt?.targetId, tokenId);
});

test('an admin changes tokens and settings but cannot manage admins', async (t) => {
  const { owner, admin, tokenId } = await setup(t);
  const created = await admin.call<{ token: string }>('POST', '/admin/api/tokens', { name: 'ci' });
  assert.equal(created.status, 201);
  assert.equal((await admin.call('PATCH', `/admin/api/tokens/${tokenId}`, { callsPerDay: 9 })).status, 200);
  assert.equal((await admin.call('DELETE', `/admin/api/tokens/${tokenId}`)).status, 200);
  assert.equal((await admin.call('PATCH', '/admin/api/settings', { historyMaxRecords: 500 })).status, 200);

  const list = await admin.call<{ items: AdminItem[] }>('GET', '/admin/api/admins');
  assert.equal(list.status, 200);
  const olivia = list.body.items.find((a) => a.username === 'olivia')!;
  assertForbidden(
    await admin.call('POST', '/admin/api/admins', { username: 'eve', password: PASSWORD, role: 'viewer' }),
    'create admin',
  );
  assertForbidden(
    await admin.call('PATCH', `/admin/api/admins/${olivia.id}`, { role: 'viewer' }),
    'demote owner',
  );
  const self = list.body.items.find((a) => a.username === 'adam')!;
  assertForbidden(
    await admin.call('PATCH', `/admin/api/admins/${self.id}`, { role: 'owner' }),
    'promote self',
  );
  assertForbidden(await admin.call('DELETE', `/admin/api/admins/${olivia.id}`), 'remove owner');

  const after = await owner.call<{ items: AdminItem[] }>('GET', '/admin/api/admins');
  assert.deepEqual(
    after.body.items.map((a) => `${a.username}:${a.role}`),
    ['olivia:owner', 'adam:admin', 'vera:viewer'],
  );
  const denied = await deniedEntries(owner);
  assert.deepEqual(
    denied.map((e) => `${e.adminUsername} ${e.action}`),
    ['adam admin.delete', 'adam admin.update', 'adam admin.update', 'adam admin.create'],
  );
});

test('an owner creates, changes and removes admins, with effect on their next request', async (t) => {
  const { server, owner, admin, viewer } = await setup(t);
  const created = await owner.call<AdminItem & { createdAt: string }>('POST', '/admin/api/admins', {
    username: 'nina',
    password: PASSWORD,
    role: 'viewer',
  });
  assert.equal(created.status, 201);
  assert.equal(created.body.role, 'viewer');
  assert.ok(!created.text.includes(PASSWORD), 'the password is not echoed');
  const nina = new AdminClient(server.url);
  assert.equal((await nina.login('nina')).status, 200);

  // Promotion applies to the session already open.
  const promoted = await owner.call<AdminItem>('PATCH', `/admin/api/admins/${created.body.id}`, {
    role: 'admin',
  });
  assert.equal(promoted.body.role, 'admin');
  assert.equal((await nina.call('POST', '/admin/api/tokens', { name: 'by-nina' })).status, 201);

  // A new password signs the account out everywhere; only the new one works.
  const changed = await owner.call('PATCH', `/admin/api/admins/${created.body.id}`, {
    password: 'a brand new secret',
  });
  assert.equal(changed.status, 200);
  assert.equal((await nina.call('GET', '/admin/api/me')).status, 401);
  assert.equal((await new AdminClient(server.url).login('nina')).status, 401);
  assert.equal((await new AdminClient(server.url).login('nina', 'a brand new secret')).status, 200);

  // Demotion of an open session applies at once.
  const adam = (await owner.call<{ items: AdminItem[] }>('GET', '/admin/api/admins')).body.items.find(
    (a) => a.username === 'adam',
  )!;
  await owner.call('PATCH', `/admin/api/admins/${adam.id}`, { role: 'viewer' });
  assertForbidden(await admin.call('POST', '/admin/api/tokens', { name: 'too-late' }), 'demoted admin');

  // Removal ends the account's sessions.
  const vera = (await owner.call<{ items: AdminItem[] }>('GET', '/admin/api/admins')).body.items.find(
    (a) => a.username === 'vera',
  )!;
  const removed = await owner.call<AdminItem>('DELETE', `/admin/api/admins/${vera.id}`);
  assert.equal(removed.status, 200);
  assert.equal(removed.body.username, 'vera');
  assert.equal((await viewer.call('GET', '/admin/api/me')).status, 401);
  assert.equal((await new AdminClient(server.url).login('vera')).status, 401);

  const audit = await owner.call<{ items: AuditItem[] }>('GET', '/admin/api/audit?limit=500');
  const actions = audit.body.items.filter(
    (e) => e.adminUsername === 'olivia' && e.action.startsWith('admin.'),
  );
  assert.deepEqual(
    actions.map((e) => e.action),
    ['admin.delete', 'admin.update', 'admin.update', 'admin.update', 'admin.create'],
  );
  assert.ok(
    !JSON.stringify(audit.body).includes('a brand new secret'),
    'passwords never reach the audit log',
  );
});

test('account fields are validated; names are unique', async (t) => {
  const { owner } = await setup(t);
  const cases: [unknown, number][] = [
    [{ username: 'weak', password: 'short', role: 'viewer' }, 400],
    [{ username: 'bad name', password: PASSWORD, role: 'viewer' }, 400],
    [{ username: 'king', password: PASSWORD, role: 'emperor' }, 400],
    [{ username: 'nopass', role: 'viewer' }, 400],
    [{ username: 'VERA', password: PASSWORD, role: 'viewer' }, 409],
  ];
  for (const [body, status] of cases) {
    const answer = await owner.call('POST', '/admin/api/admins', body);
    assert.equal(answer.status, status, JSON.stringify(body));
  }
  assert.equal((await owner.call('PATCH', '/admin/api/admins/no-such-id', { role: 'viewer' })).status, 404);
  assert.equal((await owner.call('DELETE', '/admin/api/admins/no-such-id')).status, 404);
  const list = await owner.call<{ items: AdminItem[] }>('GET', '/admin/api/admins');
  const vera = list.body.items.find((a) => a.username === 'vera')!;
  assert.equal((await owner.call('PATCH', `/admin/api/admins/${vera.id}`, {})).status, 400);
  assert.equal(
    (await owner.call('PATCH', `/admin/api/admins/${vera.id}`, { password: 'short' })).status,
    400,
  );
});

test('the last owner can be neither demoted nor removed; with two owners, one can go', async (t) => {
  const { server, owner } = await setup(t);
  const me = (await owner.call<{ admin: AdminItem }>('GET', '/admin/api/me')).body.admin;
  for (const [method, body] of [
    ['PATCH', { role: 'admin' }],
    ['PATCH', { role: 'viewer' }],
    ['DELETE', undefined],
  ] as const) {
    const answer = await owner.call<{ error: { code: string; message: string } }>(
      method,
      `/admin/api/admins/${me.id}`,
      body,
    );
    assert.equal(answer.status, 409, `${method} ${JSON.stringify(body)}`);
    assert.equal(answer.body.error.code, 'conflict');
    assert.match(answer.body.error.message, /last owner/);
  }
  assert.equal((await owner.call('GET', '/admin/api/me')).status, 200, 'still an owner, still signed in');

  const second = await addAdmin(server.companion, 'oscar', 'owner');
  const demoted = await owner.call<AdminItem>('PATCH', `/admin/api/admins/${me.id}`, { role: 'admin' });
  assert.equal(demoted.status, 200);
  assert.equal(demoted.body.role, 'admin');
  const oscar = new AdminClient(server.url);
  await oscar.login('oscar');
  const selfDelete = await oscar.call('DELETE', `/admin/api/admins/${second.id}`);
  assert.equal(selfDelete.status, 409, 'oscar is now the last owner');
  assert.equal((await oscar.call('DELETE', `/admin/api/admins/${me.id}`)).status, 200);
});

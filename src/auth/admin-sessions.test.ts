import assert from 'node:assert/strict';
import { type TestContext, test } from 'node:test';
import { ADMIN_STORE_BACKENDS, type AdminStoreBackend } from '../../test/support/admin-store-backends.js';
import { ABSOLUTE_SESSION_MS, AdminSessions } from './admin-sessions.js';
import type { Admin } from './admin-store.js';

const MINUTE = 60_000;

async function setup(backend: AdminStoreBackend, t: TestContext) {
  const stores = (await backend.open(t)).companion();
  const admins = stores.admins;
  const admin: Admin = { id: 'a1', username: 'olivia', role: 'owner', createdAt: 0, updatedAt: 0 };
  const other: Admin = { id: 'a2', username: 'otto', role: 'owner', createdAt: 0, updatedAt: 0 };
  await admins.insert(admin, 'scrypt$x');
  await admins.insert(other, 'scrypt$x');
  const clock = { now: 1_000_000, idle: 30 * MINUTE };
  const sessions = new AdminSessions(
    stores.sessions,
    () => clock.idle,
    () => clock.now,
  );
  return { admins, admin, clock, sessions };
}

for (const backend of ADMIN_STORE_BACKENDS) {
  const { name, skip } = backend;

  test(`${name}: a session is found by its cookie value and carries the account as it is now`, {
    skip,
  }, async (t) => {
    const { sessions, admin, admins, clock } = await setup(backend, t);
    const started = await sessions.start(admin, { ip: '10.0.0.1', userAgent: 'test' });
    assert.equal((await sessions.lookup(started.cookieValue))?.admin.role, 'owner');
    await admins.updateKeepingAnOwner(admin.id, { role: 'viewer' }, clock.now);
    assert.equal((await sessions.lookup(started.cookieValue))?.admin.role, 'viewer');
    assert.equal(await sessions.lookup('not-a-session'), undefined);
    assert.equal(await sessions.lookup(undefined), undefined);
  });

  test(`${name}: idle sessions end; use keeps them alive; the idle time is read live`, {
    skip,
  }, async (t) => {
    const { sessions, admin, clock } = await setup(backend, t);
    const kept = await sessions.start(admin, { ip: '10.0.0.1' });
    const left = await sessions.start(admin, { ip: '10.0.0.1' });
    for (let i = 0; i < 4; i++) {
      clock.now += 20 * MINUTE;
      assert.ok(await sessions.lookup(kept.cookieValue), `used every 20 minutes (${i})`);
    }
    assert.equal(await sessions.lookup(left.cookieValue), undefined, 'unused for 80 minutes');
    clock.idle = 10 * MINUTE;
    clock.now += 15 * MINUTE;
    assert.equal(await sessions.lookup(kept.cookieValue), undefined, 'a shorter idle time applies at once');
  });

  test(`${name}: every session ends twelve hours after sign-in, however busy`, { skip }, async (t) => {
    const { sessions, admin, clock } = await setup(backend, t);
    const started = await sessions.start(admin, { ip: '10.0.0.1' });
    const end = clock.now + ABSOLUTE_SESSION_MS;
    while (clock.now + 10 * MINUTE <= end) {
      clock.now += 10 * MINUTE;
      assert.ok(await sessions.lookup(started.cookieValue));
    }
    clock.now = end + 1;
    assert.equal(await sessions.lookup(started.cookieValue), undefined);
  });

  test(`${name}: signing in again replaces the session the browser held; others stay`, {
    skip,
  }, async (t) => {
    const { sessions, admin } = await setup(backend, t);
    const phone = await sessions.start(admin, { ip: '10.0.0.2' });
    const first = await sessions.start(admin, { ip: '10.0.0.1' });
    const second = await sessions.start(admin, { ip: '10.0.0.1' }, first.cookieValue);
    assert.notEqual(second.cookieValue, first.cookieValue);
    assert.notEqual(second.csrfToken, first.csrfToken);
    assert.equal(await sessions.lookup(first.cookieValue), undefined);
    assert.ok(await sessions.lookup(second.cookieValue));
    assert.ok(await sessions.lookup(phone.cookieValue));
  });

  test(`${name}: ending all of an account’s sessions can spare the caller’s; removing the account ends them all`, {
    skip,
  }, async (t) => {
    const { sessions, admin, admins } = await setup(backend, t);
    const mine = await sessions.start(admin, { ip: '10.0.0.1' });
    const other = await sessions.start(admin, { ip: '10.0.0.2' });
    assert.equal(await sessions.endAllFor(admin.id, mine.signedIn), 1);
    assert.ok(await sessions.lookup(mine.cookieValue));
    assert.equal(await sessions.lookup(other.cookieValue), undefined);
    await admins.removeKeepingAnOwner(admin.id);
    assert.equal(await sessions.lookup(mine.cookieValue), undefined);
  });

  test(`${name}: the CSRF check wants exactly the session’s token`, { skip }, async (t) => {
    const { sessions, admin } = await setup(backend, t);
    const { signedIn, csrfToken } = await sessions.start(admin, { ip: '10.0.0.1' });
    assert.ok(AdminSessions.csrfMatches(signedIn, csrfToken));
    assert.ok(!AdminSessions.csrfMatches(signedIn, undefined));
    assert.ok(!AdminSessions.csrfMatches(signedIn, ''));
    assert.ok(!AdminSessions.csrfMatches(signedIn, `${csrfToken}x`));
    assert.ok(!AdminSessions.csrfMatches(signedIn, [csrfToken, csrfToken]));
    assert.ok(!AdminSessions.csrfMatches(signedIn, csrfToken.toUpperCase()));
  });
}

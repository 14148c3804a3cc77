import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { openDatabase } from '../store/database.js';
import { createSqliteAdminSessionStore } from '../store/sqlite/admin-session-store.js';
import { createSqliteAdminStore } from '../store/sqlite/admin-store.js';
import { ABSOLUTE_SESSION_MS, AdminSessions } from './admin-sessions.js';
import type { Admin } from './admin-store.js';

const MINUTE = 60_000;

async function setup(t: TestContext) {
  const dir = mkdtempSync(join(tmpdir(), 'sessions-test-'));
  const db = openDatabase(dir);
  t.after(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const admins = createSqliteAdminStore(db);
  const admin: Admin = { id: 'a1', username: 'olivia', role: 'owner', createdAt: 0, updatedAt: 0 };
  const other: Admin = { id: 'a2', username: 'otto', role: 'owner', createdAt: 0, updatedAt: 0 };
  await admins.insert(admin, 'scrypt$x');
  await admins.insert(other, 'scrypt$x');
  const clock = { now: 1_000_000, idle: 30 * MINUTE };
  const sessions = new AdminSessions(
    createSqliteAdminSessionStore(db),
    () => clock.idle,
    () => clock.now,
  );
  return { db, admins, admin, clock, sessions };
}

test('a session is found by its cookie value and carries the account as it is now', async (t) => {
  const { sessions, admin, admins, clock } = await setup(t);
  const started = await sessions.start(admin, { ip: '10.0.0.1', userAgent: 'test' });
  assert.equal((await sessions.lookup(started.cookieValue))?.admin.role, 'owner');
  await admins.updateKeepingAnOwner(admin.id, { role: 'viewer' }, clock.now);
  assert.equal((await sessions.lookup(started.cookieValue))?.admin.role, 'viewer');
  assert.equal(await sessions.lookup('not-a-session'), undefined);
  assert.equal(await sessions.lookup(undefined), undefined);
});

test('idle sessions end; use keeps them alive; the idle time is read live', async (t) => {
  const { sessions, admin, clock } = await setup(t);
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

test('every session ends twelve hours after sign-in, however busy', async (t) => {
  const { sessions, admin, clock } = await setup(t);
  const started = await sessions.start(admin, { ip: '10.0.0.1' });
  const end = clock.now + ABSOLUTE_SESSION_MS;
  while (clock.now + 10 * MINUTE <= end) {
    clock.now += 10 * MINUTE;
    assert.ok(await sessions.lookup(started.cookieValue));
  }
  clock.now = end + 1;
  assert.equal(await sessions.lookup(started.cookieValue), undefined);
});

test('signing in again replaces the session the browser held; others stay', async (t) => {
  const { sessions, admin } = await setup(t);
  const phone = await sessions.start(admin, { ip: '10.0.0.2' });
  const first = await sessions.start(admin, { ip: '10.0.0.1' });
  const second = await sessions.start(admin, { ip: '10.0.0.1' }, first.cookieValue);
  assert.notEqual(second.cookieValue, first.cookieValue);
  assert.notEqual(second.csrfToken, first.csrfToken);
  assert.equal(await sessions.lookup(first.cookieValue), undefined);
  assert.ok(await sessions.lookup(second.cookieValue));
  assert.ok(await sessions.lookup(phone.cookieValue));
});

test('ending all of an account’s sessions can spare the caller’s; removing the account ends them all', async (t) => {
  const { sessions, admin, admins } = await setup(t);
  const mine = await sessions.start(admin, { ip: '10.0.0.1' });
  const other = await sessions.start(admin, { ip: '10.0.0.2' });
  assert.equal(await sessions.endAllFor(admin.id, mine.signedIn), 1);
  assert.ok(await sessions.lookup(mine.cookieValue));
  assert.equal(await sessions.lookup(other.cookieValue), undefined);
  await admins.removeKeepingAnOwner(admin.id);
  assert.equal(await sessions.lookup(mine.cookieValue), undefined);
});

test('the CSRF check wants exactly the session’s token', async (t) => {
  const { sessions, admin } = await setup(t);
  const { signedIn, csrfToken } = await sessions.start(admin, { ip: '10.0.0.1' });
  assert.ok(AdminSessions.csrfMatches(signedIn, csrfToken));
  assert.ok(!AdminSessions.csrfMatches(signedIn, undefined));
  assert.ok(!AdminSessions.csrfMatches(signedIn, ''));
  assert.ok(!AdminSessions.csrfMatches(signedIn, `${csrfToken}x`));
  assert.ok(!AdminSessions.csrfMatches(signedIn, [csrfToken, csrfToken]));
  assert.ok(!AdminSessions.csrfMatches(signedIn, csrfToken.toUpperCase()));
});

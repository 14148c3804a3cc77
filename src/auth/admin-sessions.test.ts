import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { openDatabase } from '../store/database.js';
import { createSessionRepository } from '../store/sqlite/admin-session-store.js';
import { type Admin, createAdminRepository } from '../store/sqlite/admin-store.js';
import { ABSOLUTE_SESSION_MS, AdminSessions } from './admin-sessions.js';

const MINUTE = 60_000;

function setup(t: TestContext) {
  const dir = mkdtempSync(join(tmpdir(), 'sessions-test-'));
  const db = openDatabase(dir);
  t.after(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const admins = createAdminRepository(db);
  const admin: Admin = { id: 'a1', username: 'olivia', role: 'owner', createdAt: 0, updatedAt: 0 };
  admins.insert(admin, 'scrypt$x');
  const clock = { now: 1_000_000, idle: 30 * MINUTE };
  const sessions = new AdminSessions(
    createSessionRepository(db),
    () => clock.idle,
    () => clock.now,
  );
  return { db, admins, admin, clock, sessions };
}

test('a session is found by its cookie value and carries the account as it is now', (t) => {
  const { sessions, admin, admins, clock } = setup(t);
  const started = sessions.start(admin, { ip: '10.0.0.1', userAgent: 'test' });
  assert.equal(sessions.lookup(started.cookieValue)?.admin.role, 'owner');
  admins.updateRole(admin.id, 'viewer', clock.now);
  assert.equal(sessions.lookup(started.cookieValue)?.admin.role, 'viewer');
  assert.equal(sessions.lookup('not-a-session'), undefined);
  assert.equal(sessions.lookup(undefined), undefined);
});

test('idle sessions end; use keeps them alive; the idle time is read live', (t) => {
  const { sessions, admin, clock } = setup(t);
  const kept = sessions.start(admin, { ip: '10.0.0.1' });
  const left = sessions.start(admin, { ip: '10.0.0.1' });
  for (let i = 0; i < 4; i++) {
    clock.now += 20 * MINUTE;
    assert.ok(sessions.lookup(kept.cookieValue), `used every 20 minutes (${i})`);
  }
  assert.equal(sessions.lookup(left.cookieValue), undefined, 'unused for 80 minutes');
  clock.idle = 10 * MINUTE;
  clock.now += 15 * MINUTE;
  assert.equal(sessions.lookup(kept.cookieValue), undefined, 'a shorter idle time applies at once');
});

test('every session ends twelve hours after sign-in, however busy', (t) => {
  const { sessions, admin, clock } = setup(t);
  const started = sessions.start(admin, { ip: '10.0.0.1' });
  const end = clock.now + ABSOLUTE_SESSION_MS;
  while (clock.now + 10 * MINUTE <= end) {
    clock.now += 10 * MINUTE;
    assert.ok(sessions.lookup(started.cookieValue));
  }
  clock.now = end + 1;
  assert.equal(sessions.lookup(started.cookieValue), undefined);
});

test('signing in again replaces the session the browser held; others stay', (t) => {
  const { sessions, admin } = setup(t);
  const phone = sessions.start(admin, { ip: '10.0.0.2' });
  const first = sessions.start(admin, { ip: '10.0.0.1' });
  const second = sessions.start(admin, { ip: '10.0.0.1' }, first.cookieValue);
  assert.notEqual(second.cookieValue, first.cookieValue);
  assert.notEqual(second.csrfToken, first.csrfToken);
  assert.equal(sessions.lookup(first.cookieValue), undefined);
  assert.ok(sessions.lookup(second.cookieValue));
  assert.ok(sessions.lookup(phone.cookieValue));
});

test('ending all of an account’s sessions can spare the caller’s; removing the account ends them all', (t) => {
  const { sessions, admin, admins } = setup(t);
  const mine = sessions.start(admin, { ip: '10.0.0.1' });
  const other = sessions.start(admin, { ip: '10.0.0.2' });
  assert.equal(sessions.endAllFor(admin.id, mine.signedIn), 1);
  assert.ok(sessions.lookup(mine.cookieValue));
  assert.equal(sessions.lookup(other.cookieValue), undefined);
  admins.delete(admin.id);
  assert.equal(sessions.lookup(mine.cookieValue), undefined);
});

test('the CSRF check wants exactly the session’s token', (t) => {
  const { sessions, admin } = setup(t);
  const { signedIn, csrfToken } = sessions.start(admin, { ip: '10.0.0.1' });
  assert.ok(AdminSessions.csrfMatches(signedIn, csrfToken));
  assert.ok(!AdminSessions.csrfMatches(signedIn, undefined));
  assert.ok(!AdminSessions.csrfMatches(signedIn, ''));
  assert.ok(!AdminSessions.csrfMatches(signedIn, `${csrfToken}x`));
  assert.ok(!AdminSessions.csrfMatches(signedIn, [csrfToken, csrfToken]));
  assert.ok(!AdminSessions.csrfMatches(signedIn, csrfToken.toUpperCase()));
});

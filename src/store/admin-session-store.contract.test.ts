/** The `AdminSessionStore` port's contract: the same cases, the same answers, on every backend. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ADMIN_STORE_BACKENDS } from '../../test/support/admin-store-backends.js';
import type { AdminSessionRecord } from '../auth/admin-session-store.js';
import type { Admin } from '../auth/admin-store.js';

const olivia: Admin = { id: 'a1', username: 'olivia', role: 'owner', createdAt: 10, updatedAt: 10 };
const otto: Admin = { id: 'a2', username: 'otto', role: 'owner', createdAt: 20, updatedAt: 20 };

const session = (
  idHash: string,
  adminId: string,
  createdAt: number,
  lastSeenAt = createdAt,
): AdminSessionRecord => ({
  idHash,
  adminId,
  csrfToken: `csrf-${idHash}`,
  createdAt,
  lastSeenAt,
  ip: '10.0.0.1',
  userAgent: 'test browser',
});

for (const backend of ADMIN_STORE_BACKENDS) {
  const { name, skip } = backend;

  test(`${name}: a session started on one companion is found on another, with its account as it is now`, {
    skip,
  }, async (t) => {
    const db = await backend.open(t);
    const [first, second] = [db.companion(), db.companion()];
    await first.admins.insert(olivia, 'hash');
    await first.sessions.insert({ ...session('h1', 'a1', 1000), ip: null, userAgent: null });
    assert.deepEqual(await second.sessions.findWithAdmin('h1'), {
      session: { ...session('h1', 'a1', 1000), ip: null, userAgent: null },
      admin: olivia,
    });
    await second.admins.insert(otto, 'hash');
    await second.admins.updateKeepingAnOwner('a1', { role: 'viewer' }, 2000);
    assert.deepEqual((await first.sessions.findWithAdmin('h1'))?.admin, {
      ...olivia,
      role: 'viewer',
      updatedAt: 2000,
    });
    await second.sessions.touch('h1', 3000);
    assert.equal((await first.sessions.findWithAdmin('h1'))?.session.lastSeenAt, 3000);
    assert.equal(await first.sessions.findWithAdmin('nothing'), undefined);
    await second.sessions.delete('h1');
    assert.equal(await first.sessions.findWithAdmin('h1'), undefined);
  });

  test(`${name}: an account's sessions end all but one, or all; expired ones go by idle or by age`, {
    skip,
  }, async (t) => {
    const { admins, sessions } = (await backend.open(t)).companion();
    await admins.insert(olivia, 'hash');
    await admins.insert(otto, 'hash');
    for (const idHash of ['o1', 'o2', 'o3']) await sessions.insert(session(idHash, 'a1', 1000));
    await sessions.insert(session('t1', 'a2', 1000));
    assert.equal(await sessions.deleteForAdmin('a1', 'o2'), 2);
    assert.equal(await sessions.findWithAdmin('o1'), undefined);
    assert.equal((await sessions.findWithAdmin('o2'))?.session.csrfToken, 'csrf-o2');
    assert.equal(await sessions.deleteForAdmin('a1'), 1);
    assert.equal((await sessions.findWithAdmin('t1'))?.admin.username, 'otto');

    await sessions.insert(session('old', 'a1', 100, 5000));
    await sessions.insert(session('idle', 'a1', 2000, 2000));
    await sessions.insert(session('fresh', 'a1', 2000, 5000));
    // t1: created at 1000, last seen at 1000 (idle); old: created before 1000 (too old).
    assert.equal(await sessions.deleteExpired(3000, 1000), 3);
    assert.deepEqual(
      await Promise.all(
        ['old', 'idle', 't1', 'fresh'].map(async (id) => (await sessions.findWithAdmin(id)) !== undefined),
      ),
      [false, false, false, true],
    );
  });
}

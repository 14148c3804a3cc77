/** The `AdminStore` port's contract: the same cases, the same answers, on every backend. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ADMIN_STORE_BACKENDS } from '../../test/support/admin-store-backends.js';
import type { Admin, AdminRole } from '../auth/admin-store.js';

const admin = (id: string, username: string, role: AdminRole, at = 1000): Admin => ({
  id,
  username,
  role,
  createdAt: at,
  updatedAt: at,
});

for (const backend of ADMIN_STORE_BACKENDS) {
  const { name, skip } = backend;

  test(`${name}: a name is taken whatever its case; accounts are found by either case`, {
    skip,
  }, async (t) => {
    const { admins } = (await backend.open(t)).companion();
    assert.equal(await admins.insert(admin('a1', 'Olivia', 'owner', 1000), 'hash-1'), true);
    assert.equal(await admins.insert(admin('a2', 'olivia', 'admin', 2000), 'hash-2'), false);
    assert.equal(await admins.insert(admin('a3', 'vera', 'viewer', 3000), 'hash-3'), true);
    assert.deepEqual(await admins.findByUsername('OLIVIA'), {
      ...admin('a1', 'Olivia', 'owner', 1000),
      passwordHash: 'hash-1',
    });
    assert.equal(await admins.findByUsername('nobody'), undefined);
    assert.deepEqual(await admins.findById('a3'), admin('a3', 'vera', 'viewer', 3000));
    assert.equal(await admins.findById('a2'), undefined);
    assert.deepEqual(
      (await admins.list()).map((a) => a.username),
      ['Olivia', 'vera'],
    );
    assert.equal(await admins.count(), 2);
  });

  test(`${name}: role and password change together; the last owner is neither demoted nor removed`, {
    skip,
  }, async (t) => {
    const { admins, sessions } = (await backend.open(t)).companion();
    await admins.insert(admin('a1', 'olivia', 'owner', 1000), 'hash-1');
    await admins.insert(admin('a2', 'vera', 'viewer', 2000), 'hash-2');
    assert.deepEqual(await admins.updateKeepingAnOwner('a1', { role: 'admin' }, 5000), {
      refused: 'last_owner',
    });
    assert.deepEqual(await admins.removeKeepingAnOwner('a1'), { refused: 'last_owner' });
    assert.deepEqual(await admins.updateKeepingAnOwner('nobody', { role: 'admin' }, 5000), {
      refused: 'not_found',
    });
    assert.deepEqual(await admins.removeKeepingAnOwner('nobody'), { refused: 'not_found' });
    // A password change alone is no owner change: the last owner may make it.
    assert.deepEqual(await admins.updateKeepingAnOwner('a1', { passwordHash: 'hash-1b' }, 5000), {
      admin: { ...admin('a1', 'olivia', 'owner', 1000), updatedAt: 5000 },
    });
    assert.equal((await admins.findByUsername('olivia'))?.passwordHash, 'hash-1b');
    assert.deepEqual(
      await admins.updateKeepingAnOwner('a2', { role: 'owner', passwordHash: 'hash-2b' }, 6000),
      {
        admin: { ...admin('a2', 'vera', 'owner', 2000), updatedAt: 6000 },
      },
    );
    assert.equal((await admins.findByUsername('vera'))?.passwordHash, 'hash-2b');
    assert.deepEqual(await admins.updateKeepingAnOwner('a1', { role: 'viewer' }, 7000), {
      admin: { ...admin('a1', 'olivia', 'viewer', 1000), updatedAt: 7000 },
    });
    assert.deepEqual(await admins.removeKeepingAnOwner('a2'), { refused: 'last_owner' });
    // Removing an account ends its sessions.
    await sessions.insert({
      idHash: 'h1',
      adminId: 'a1',
      csrfToken: 'c',
      createdAt: 7000,
      lastSeenAt: 7000,
      ip: null,
      userAgent: null,
    });
    assert.deepEqual(await admins.removeKeepingAnOwner('a1'), {
      admin: { ...admin('a1', 'olivia', 'viewer', 1000), updatedAt: 7000 },
    });
    assert.equal(await sessions.findWithAdmin('h1'), undefined);
    assert.deepEqual(
      (await admins.list()).map((a) => [a.username, a.role]),
      [['vera', 'owner']],
    );
  });

  test(`${name}: two owners demoting or removing each other at once on two companions leave one owner`, {
    skip,
  }, async (t) => {
    const db = await backend.open(t);
    const [first, second] = [db.companion().admins, db.companion().admins];
    // Several rounds, so that the two changes really meet rather than pass one after the other.
    let survivor: string | undefined;
    for (let round = 0; round < 5; round++) {
      const [x, y] = [`x${round}`, `y${round}`];
      await first.insert(admin(x, `olivia${round}`, 'owner'), 'hash');
      await second.insert(admin(y, `otto${round}`, 'owner'), 'hash');
      // The owner left by the round before steps down: these two are the only owners.
      if (survivor)
        assert.ok('admin' in (await first.updateKeepingAnOwner(survivor, { role: 'viewer' }, 6000)));
      const both =
        round % 2 === 0
          ? await Promise.all([
              first.updateKeepingAnOwner(x, { role: 'admin' }, 5000),
              second.updateKeepingAnOwner(y, { role: 'admin' }, 5000),
            ])
          : await Promise.all([first.removeKeepingAnOwner(y), second.removeKeepingAnOwner(x)]);
      assert.equal(
        both.filter((r) => 'refused' in r && r.refused === 'last_owner').length,
        1,
        `round ${round}`,
      );
      const owners = (await second.list()).filter((a) => a.role === 'owner');
      assert.equal(owners.length, 1, `round ${round}`);
      survivor = owners[0]!.id;
    }
  });

  test(`${name}: two companions creating one name in two cases at once: one account`, { skip }, async (t) => {
    const db = await backend.open(t);
    const [first, second] = [db.companion().admins, db.companion().admins];
    const both = await Promise.all([
      first.insert(admin('a1', 'adam', 'admin'), 'hash'),
      second.insert(admin('a2', 'ADAM', 'admin'), 'hash'),
    ]);
    assert.deepEqual([...both].sort(), [false, true]);
    assert.equal(await first.count(), 1);
  });
}

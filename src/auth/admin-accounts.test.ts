import assert from 'node:assert/strict';
import { type TestContext, test } from 'node:test';
import { ADMIN_STORE_BACKENDS, type AdminStoreBackend } from '../../test/support/admin-store-backends.js';
import { CompanionError } from '../errors/companion-error.js';
import { changeAdmin, createAdmin, removeAdmin, verifyAdmin } from './admin-accounts.js';

const PASSWORD = 'correct horse battery';

/** The accounts of a new, empty database of `backend`. */
async function repo(backend: AdminStoreBackend, t: TestContext) {
  return (await backend.open(t)).companion().admins;
}

const conflict = (error: unknown) => error instanceof CompanionError && error.status === 409;

for (const backend of ADMIN_STORE_BACKENDS) {
  const { name, skip } = backend;

  test(`${name}: sign-in checks the password; unknown names and wrong passwords look the same`, {
    skip,
  }, async (t) => {
    const admins = await repo(backend, t);
    await createAdmin(admins, 'olivia', PASSWORD, 'owner');
    assert.equal((await verifyAdmin(admins, 'olivia', PASSWORD))?.username, 'olivia');
    assert.equal((await verifyAdmin(admins, 'OLIVIA', PASSWORD))?.username, 'olivia');
    assert.equal(await verifyAdmin(admins, 'olivia', 'wrong password'), undefined);
    assert.equal(await verifyAdmin(admins, 'nobody', PASSWORD), undefined);
    const found = await verifyAdmin(admins, 'olivia', PASSWORD);
    assert.ok(found && !('passwordHash' in found), 'the hash never leaves with the account');
  });

  test(`${name}: the last owner can be neither demoted nor removed`, { skip }, async (t) => {
    const admins = await repo(backend, t);
    const owner = await createAdmin(admins, 'olivia', PASSWORD, 'owner');
    const viewer = await createAdmin(admins, 'vera', PASSWORD, 'viewer');
    await assert.rejects(changeAdmin(admins, owner.id, { role: 'admin' }), conflict);
    await assert.rejects(removeAdmin(admins, owner.id), conflict);
    assert.equal((await changeAdmin(admins, viewer.id, { role: 'owner' })).role, 'owner');
    assert.equal((await changeAdmin(admins, owner.id, { role: 'viewer' })).role, 'viewer');
    await assert.rejects(removeAdmin(admins, viewer.id), conflict, 'vera is now the only owner');
    assert.equal((await removeAdmin(admins, owner.id)).username, 'olivia');
    assert.deepEqual(
      (await admins.list()).map((a) => [a.username, a.role]),
      [['vera', 'owner']],
    );
    await assert.rejects(removeAdmin(admins, owner.id), /no admin/);
  });

  test(`${name}: a changed password replaces the old one; weak ones are refused`, { skip }, async (t) => {
    const admins = await repo(backend, t);
    const owner = await createAdmin(admins, 'olivia', PASSWORD, 'owner');
    await assert.rejects(changeAdmin(admins, owner.id, { password: 'short' }), /too short/);
    await changeAdmin(admins, owner.id, { password: 'another long password' });
    assert.equal(await verifyAdmin(admins, 'olivia', PASSWORD), undefined);
    assert.ok(await verifyAdmin(admins, 'olivia', 'another long password'));
    await assert.rejects(changeAdmin(admins, 'missing', { role: 'viewer' }), /no admin/);
  });

  test(`${name}: a name is taken whatever its case, also by two creations at once`, { skip }, async (t) => {
    const admins = await repo(backend, t);
    await createAdmin(admins, 'olivia', PASSWORD, 'owner');
    await assert.rejects(createAdmin(admins, 'Olivia', PASSWORD, 'admin'), conflict);
    const both = await Promise.allSettled([
      createAdmin(admins, 'adam', PASSWORD, 'admin'),
      createAdmin(admins, 'ADAM', PASSWORD, 'admin'),
    ]);
    // Either may win the race; exactly one does.
    assert.deepEqual(both.map((r) => r.status).sort(), ['fulfilled', 'rejected']);
    assert.equal(await admins.count(), 2);
  });

  test(`${name}: two owners demoting each other at once leave one owner`, { skip }, async (t) => {
    const admins = await repo(backend, t);
    const olivia = await createAdmin(admins, 'olivia', PASSWORD, 'owner');
    const otto = await createAdmin(admins, 'otto', PASSWORD, 'owner');
    const both = await Promise.allSettled([
      changeAdmin(admins, olivia.id, { role: 'admin' }),
      changeAdmin(admins, otto.id, { role: 'admin' }),
    ]);
    assert.equal(both.filter((r) => r.status === 'rejected').length, 1);
    assert.equal((await admins.list()).filter((a) => a.role === 'owner').length, 1);
  });
}

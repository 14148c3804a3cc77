import assert from 'node:assert/strict';
import { test } from 'node:test';
import { postgresSkip as skip } from '../../../test/support/postgres.js';
import { CompanionError } from '../../errors/companion-error.js';
import type { Token } from '../../policy/token.js';
import { createPostgresTokenStore } from './token-store.js';
import { migratedPool, sampleToken } from './token-store.test-helper.js';

function conflict(pattern: RegExp) {
  return (error: unknown) => {
    assert.ok(error instanceof CompanionError);
    assert.equal(error.code, 'conflict');
    assert.match(error.message, pattern);
    return true;
  };
}

test('a token comes back as it was stored, by id, by name, in the list and with its hash', {
  skip,
}, async (t) => {
  const store = createPostgresTokenStore(await migratedPool(t), 'node-a');
  const token = sampleToken();
  const older = sampleToken({ name: 'desk', createdAt: 1_600_000_000_000, updatedAt: 1_600_000_000_000 });
  await store.insert(token, 'hash-laptop');
  await store.insert(older, 'hash-desk');

  assert.deepEqual(await store.findById(token.id), token);
  assert.deepEqual(await store.findByName('laptop'), token);
  assert.equal(await store.findByName('nobody'), undefined);
  assert.deepEqual(await store.list(), [older, token]);
  assert.deepEqual(await store.listWithHashes(), [
    { token: older, secretHash: 'hash-desk' },
    { token, secretHash: 'hash-laptop' },
  ]);

  const changed: Token = {
    ...token,
    name: 'laptop-2',
    models: ['*'],
    limits: { calls: { total: null, minute: 5, hour: null, day: 100, month: null }, maxConcurrent: null },
    expiresAt: null,
    enabled: false,
    historyMode: 'off',
    updatedAt: token.updatedAt + 1,
  };
  assert.deepEqual(await store.update(changed), changed);
  assert.deepEqual(await store.findById(token.id), changed);
});

test('a name is taken for good by the database itself: by a new token, a rename, a revoked holder', {
  skip,
}, async (t) => {
  const store = createPostgresTokenStore(await migratedPool(t), 'node-a');
  const first = sampleToken();
  await store.insert(first, 'hash-1');
  await assert.rejects(store.insert(sampleToken(), 'hash-2'), conflict(/a token named "laptop" exists/));
  const other = sampleToken({ name: 'desk' });
  await store.insert(other, 'hash-3');
  await assert.rejects(store.update({ ...other, name: 'laptop' }), conflict(/"laptop" exists/));
  await store.update({ ...first, enabled: false, revokedAt: 5, updatedAt: 5 });
  await assert.rejects(store.insert(sampleToken(), 'hash-4'), conflict(/"laptop" exists/));
  assert.equal((await store.list()).length, 2);
});

test('a token revoked by another companion stays revoked, whatever a later update says', {
  skip,
}, async (t) => {
  const pool = await migratedPool(t);
  const here = createPostgresTokenStore(pool, 'node-a');
  const there = createPostgresTokenStore(pool, 'node-b');
  const token = sampleToken();
  await here.insert(token, 'hash');
  // node-b revokes; node-a, still holding the token as it was, changes its limits.
  const revoked = await there.update({ ...token, enabled: false, revokedAt: 10, updatedAt: 10 });
  assert.equal(revoked.revokedAt, 10);
  await assert.rejects(
    here.update({ ...token, enabled: true, updatedAt: 11 }),
    conflict(/"laptop" is revoked/),
  );
  // Revoking again answers with the first revocation.
  assert.deepEqual(await here.update({ ...token, enabled: false, revokedAt: 12, updatedAt: 12 }), revoked);
  assert.deepEqual(await here.findById(token.id), revoked);
  await assert.rejects(here.update(sampleToken({ name: 'ghost' })), (error: unknown) => {
    assert.ok(error instanceof CompanionError);
    assert.equal(error.code, 'not_found');
    return true;
  });
});

test("a token's usage is the sum of every node's counters of the current window", { skip }, async (t) => {
  const pool = await migratedPool(t);
  const a = createPostgresTokenStore(pool, 'node-a');
  const b = createPostgresTokenStore(pool, 'node-b');
  const token = sampleToken();
  const other = sampleToken({ name: 'desk' });
  await a.insert(token, 'h1');
  await a.insert(other, 'h2');

  await a.writeUsage([
    { tokenId: token.id, window: 'total', windowStart: 0, calls: 7, reserved: 8 },
    { tokenId: token.id, window: 'hour', windowStart: 3_600_000, calls: 3, reserved: 3 },
    { tokenId: other.id, window: 'total', windowStart: 0, calls: 1 },
  ]);
  // node-b is already in the next hour; node-a's older hour counts as zero there.
  await b.writeUsage([
    { tokenId: token.id, window: 'total', windowStart: 0, calls: 5, reserved: 5 },
    { tokenId: token.id, window: 'hour', windowStart: 7_200_000, calls: 2, reserved: 4 },
  ]);
  // Absolute values: a second write replaces, it does not add.
  await a.writeUsage([{ tokenId: token.id, window: 'total', windowStart: 0, calls: 9, reserved: 10 }]);

  const byWindow = (rows: Awaited<ReturnType<typeof a.readUsage>>) =>
    Object.fromEntries(rows.map((r) => [r.window, r]));
  assert.deepEqual(byWindow(await a.readUsage(token.id)), {
    total: { tokenId: token.id, window: 'total', windowStart: 0, calls: 14, reserved: 15 },
    hour: { tokenId: token.id, window: 'hour', windowStart: 7_200_000, calls: 2, reserved: 4 },
  });
  assert.equal((await b.readUsage()).length, 3);

  // Each node resumes from its own counters only, so its next write stays its own.
  assert.deepEqual(
    (await b.readOwnUsage()).sort((x, y) => x.window.localeCompare(y.window)),
    [
      { tokenId: token.id, window: 'hour', windowStart: 7_200_000, calls: 2, reserved: 4 },
      { tokenId: token.id, window: 'total', windowStart: 0, calls: 5, reserved: 5 },
    ],
  );
  // A late write of an older window does not undo a newer one.
  await b.writeUsage([{ tokenId: token.id, window: 'hour', windowStart: 3_600_000, calls: 40 }]);
  assert.equal(byWindow(await a.readUsage(token.id)).hour?.calls, 2);
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { freshPostgresDatabase, postgresSkip as skip } from '../../../test/support/postgres.js';
import { windowStart } from '../../policy/quota-windows.js';
import { QUOTA_WINDOWS, type QuotaWindow, type Token } from '../../policy/token.js';
import { createPostgresPool } from './postgres-pool.js';
import { createPostgresQuotaReservations, type WindowStarts } from './quota-reservations.js';
import { createPostgresTokenStore } from './token-store.js';
import { migratedPool, sampleToken } from './token-store.test-helper.js';

const starts = (at: number): WindowStarts =>
  Object.fromEntries(QUOTA_WINDOWS.map((w) => [w, windowStart(w, at)])) as WindowStarts;

const T0 = Date.UTC(2026, 11, 4, 10, 0, 0);
const MINUTE = 60_000;

function limited(calls: Partial<Record<QuotaWindow, number>>): Token {
  return sampleToken({
    limits: {
      calls: { total: null, minute: null, hour: null, day: null, month: null, ...calls },
      maxConcurrent: null,
    },
  });
}

test('N calls left and N+10 requests at once on three companions: exactly N are reserved', {
  skip,
}, async (t) => {
  const url = await freshPostgresDatabase(t);
  const first = await migratedPool(t, url);
  const pools = [first, createPostgresPool(url), createPostgresPool(url)];
  t.after(() => Promise.all(pools.slice(1).map((p) => p.end())));
  const N = 25;
  const token = limited({ total: 1000, hour: N });
  await createPostgresTokenStore(first, 'node-a').insert(token, 'hash');
  const companions = pools.map((pool) => createPostgresQuotaReservations(pool));

  const at = starts(T0);
  const outcomes = await Promise.all(
    Array.from({ length: N + 10 }, (_, i) => companions[i % 3]!.reserve(token.id, at)),
  );
  assert.equal(outcomes.filter((o) => o.outcome === 'reserved').length, N);
  const refused = outcomes.filter((o) => o.outcome !== 'reserved');
  assert.equal(refused.length, 10);
  for (const o of refused) assert.deepEqual(o, { outcome: 'exhausted', window: 'hour', used: N, limit: N });
  // The total window counted only the calls that went ahead.
  const lowTotal = limited({ total: N });
  await createPostgresTokenStore(first, 'node-a').update({ ...token, limits: lowTotal.limits });
  assert.deepEqual(await companions[1]!.reserve(token.id, starts(T0 + 3_600_000)), {
    outcome: 'exhausted',
    window: 'total',
    used: N,
    limit: N,
  });
});

test('a new window starts from zero; a window that is full takes nothing from the others', {
  skip,
}, async (t) => {
  const pool = await migratedPool(t);
  const token = limited({ minute: 3, day: 5 });
  await createPostgresTokenStore(pool, 'node-a').insert(token, 'hash');
  const quota = createPostgresQuotaReservations(pool);
  const reserve = async (at: number) => (await quota.reserve(token.id, starts(at))).outcome;

  assert.deepEqual(await Promise.all([reserve(T0), reserve(T0 + 1), reserve(T0 + 2)]), [
    'reserved',
    'reserved',
    'reserved',
  ]);
  assert.deepEqual(await quota.reserve(token.id, starts(T0 + 3)), {
    outcome: 'exhausted',
    window: 'minute',
    used: 3,
    limit: 3,
  });
  // The next minute: two more reach the day's 5 (the refused call did not count there).
  assert.equal(await reserve(T0 + MINUTE), 'reserved');
  assert.equal(await reserve(T0 + MINUTE + 1), 'reserved');
  assert.deepEqual(await quota.reserve(token.id, starts(T0 + MINUTE + 2)), {
    outcome: 'exhausted',
    window: 'day',
    used: 5,
    limit: 5,
  });
  // The next day everything is fresh.
  assert.equal(await reserve(T0 + 86_400_000), 'reserved');
});

test('a call given back frees its slot, unless its window has rolled over', { skip }, async (t) => {
  const pool = await migratedPool(t);
  const token = limited({ minute: 1 });
  await createPostgresTokenStore(pool, 'node-a').insert(token, 'hash');
  const quota = createPostgresQuotaReservations(pool);

  assert.equal((await quota.reserve(token.id, starts(T0))).outcome, 'reserved');
  assert.equal((await quota.reserve(token.id, starts(T0))).outcome, 'exhausted');
  await quota.release(token.id, starts(T0));
  assert.equal((await quota.reserve(token.id, starts(T0))).outcome, 'reserved');

  assert.equal((await quota.reserve(token.id, starts(T0 + MINUTE))).outcome, 'reserved');
  // A refund of the last minute's call does not free this minute's slot.
  await quota.release(token.id, starts(T0));
  assert.equal((await quota.reserve(token.id, starts(T0 + MINUTE))).outcome, 'exhausted');
  // Nor does a count ever go below zero.
  await quota.release(token.id, starts(T0 + MINUTE));
  await quota.release(token.id, starts(T0 + MINUTE));
  assert.equal((await quota.reserve(token.id, starts(T0 + MINUTE))).outcome, 'reserved');
  assert.equal((await quota.reserve(token.id, starts(T0 + MINUTE))).outcome, 'exhausted');
});

test('the limits and the revocation are those stored now, whoever changed them', { skip }, async (t) => {
  const pool = await migratedPool(t);
  const other = createPostgresTokenStore(pool, 'node-b');
  const token = limited({ minute: 10 });
  await createPostgresTokenStore(pool, 'node-a').insert(token, 'hash');
  const quota = createPostgresQuotaReservations(pool);
  const at = starts(T0);

  assert.equal((await quota.reserve(token.id, at)).outcome, 'reserved');
  // Another companion lowers the quota: the caller's stale view does not matter.
  await other.update({ ...token, limits: limited({ minute: 1 }).limits });
  assert.equal((await quota.reserve(token.id, at)).outcome, 'exhausted');
  await other.update({ ...token, enabled: false });
  assert.deepEqual(await quota.reserve(token.id, at), { outcome: 'disabled' });
  await other.update({ ...token, enabled: false, revokedAt: T0 });
  assert.deepEqual(await quota.reserve(token.id, at), { outcome: 'revoked' });
  assert.deepEqual(await quota.reserve('no-such-token', at), { outcome: 'revoked' });
});

test('a quota added to a token in use counts the calls the nodes already made in the window', {
  skip,
}, async (t) => {
  const pool = await migratedPool(t);
  const store = createPostgresTokenStore(pool, 'node-a');
  const token = limited({});
  await store.insert(token, 'hash');
  const hour = windowStart('hour', T0);
  await store.writeUsage([{ tokenId: token.id, window: 'hour', windowStart: hour, calls: 4 }]);
  await createPostgresTokenStore(pool, 'node-b').writeUsage([
    { tokenId: token.id, window: 'hour', windowStart: hour, calls: 3 },
  ]);
  await store.update({ ...token, limits: limited({ hour: 8 }).limits });
  const quota = createPostgresQuotaReservations(pool);
  assert.equal((await quota.reserve(token.id, starts(T0))).outcome, 'reserved');
  assert.deepEqual(await quota.reserve(token.id, starts(T0)), {
    outcome: 'exhausted',
    window: 'hour',
    used: 8,
    limit: 8,
  });
});

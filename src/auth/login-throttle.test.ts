import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { ADMIN_STORE_BACKENDS } from '../../test/support/admin-store-backends.js';
import { openDatabase } from '../store/database.js';
import { createSqliteLoginFailureStore } from '../store/sqlite/login-failure-store.js';
import type { LoginFailureStore } from './login-failure-store.js';
import { LoginThrottle } from './login-throttle.js';
import { MemoryLoginFailures } from './memory-login-failures.js';

const MINUTE = 60_000;

/** The throttle's rules hold the same over every store: in memory, in SQLite and in PostgreSQL. */
const STORES: [string, string | false, (t: TestContext) => LoginFailureStore | Promise<LoginFailureStore>][] =
  [
    ['memory', false, () => new MemoryLoginFailures()],
    ...ADMIN_STORE_BACKENDS.map(
      (backend): [string, string | false, (t: TestContext) => Promise<LoginFailureStore>] => [
        backend.name,
        backend.skip,
        async (t) => (await backend.open(t)).companion().loginFailures,
      ],
    ),
  ];

function throttle(store: LoginFailureStore) {
  const clock = { now: 1_000_000 };
  const t = new LoginThrottle(store, { maxFailures: 5, windowMs: 15 * MINUTE }, () => clock.now);
  return { t, clock };
}

const fail = async (t: LoginThrottle, keys: string[]) => {
  const attempt = await t.attempt(keys);
  assert.ok(!('retryAfter' in attempt), 'the attempt is allowed');
};

for (const [kind, skip, storeFor] of STORES) {
  test(`${kind}: five failures block the sixth attempt until the oldest failure leaves the window`, {
    skip,
  }, async (ctx) => {
    const { t, clock } = throttle(await storeFor(ctx));
    const keys = LoginThrottle.keys('Olivia', '10.0.0.1');
    for (let i = 0; i < 5; i++) {
      await fail(t, keys);
      clock.now += MINUTE;
    }
    // Failures at 0..4 minutes; now is 5 minutes: the first leaves the window at 15 minutes.
    assert.equal(await t.retryAfter(keys), 10 * 60);
    const blocked = await t.attempt(keys);
    assert.ok('retryAfter' in blocked && blocked.retryAfter === 600);
    clock.now += 10 * MINUTE;
    assert.equal(await t.retryAfter(keys), undefined, 'one failure aged out: one more attempt is allowed');
    await fail(t, keys);
    assert.equal(await t.retryAfter(keys), 60, 'and then the next oldest decides');
  });

  test(`${kind}: accounts are throttled case-insensitively, from any address`, { skip }, async (ctx) => {
    const { t } = throttle(await storeFor(ctx));
    for (let i = 0; i < 5; i++) await fail(t, LoginThrottle.keys(i % 2 ? 'OLIVIA' : 'olivia', `10.0.0.${i}`));
    assert.ok(await t.retryAfter(LoginThrottle.keys('Olivia', '10.9.9.9')));
    assert.equal(await t.retryAfter(LoginThrottle.keys('adam', '10.9.9.9')), undefined);
  });

  test(`${kind}: an address is throttled whatever accounts it tries`, { skip }, async (ctx) => {
    const { t } = throttle(await storeFor(ctx));
    for (const name of ['a', 'b', 'c', 'd', 'e']) await fail(t, LoginThrottle.keys(name, '10.0.0.1'));
    assert.ok(await t.retryAfter(LoginThrottle.keys('f', '10.0.0.1')));
    assert.equal(await t.retryAfter(LoginThrottle.keys('f', '10.0.0.2')), undefined);
  });

  test(`${kind}: a success takes its attempt back and clears the account, not the address`, {
    skip,
  }, async (ctx) => {
    const { t } = throttle(await storeFor(ctx));
    const mine = LoginThrottle.keys('olivia', '10.0.0.1');
    for (let i = 0; i < 4; i++) await fail(t, mine);
    const attempt = await t.attempt(mine);
    assert.ok('succeeded' in attempt);
    await attempt.succeeded();
    assert.equal(await t.retryAfter(LoginThrottle.keys('olivia', '10.0.0.2')), undefined, 'account cleared');
    // The address keeps its 4 earlier failures: one more from it and it is blocked.
    await fail(t, LoginThrottle.keys('other', '10.0.0.1'));
    assert.ok(await t.retryAfter(LoginThrottle.keys('third', '10.0.0.1')));
  });

  test(`${kind}: attempts in flight count, so parallel guesses cannot slip past the limit`, {
    skip,
  }, async (ctx) => {
    const { t } = throttle(await storeFor(ctx));
    const keys = LoginThrottle.keys('olivia', '10.0.0.1');
    const started = await Promise.all(Array.from({ length: 8 }, () => t.attempt(keys)));
    assert.equal(started.filter((a) => 'succeeded' in a).length, 5);
    assert.equal(started.filter((a) => 'retryAfter' in a).length, 3);
  });

  test(`${kind}: unlock forgets the account's failures, also those counted against its address`, {
    skip,
  }, async (ctx) => {
    const { t } = throttle(await storeFor(ctx));
    const mine = LoginThrottle.keys('Olivia', '10.0.0.1');
    for (let i = 0; i < 3; i++) await fail(t, mine);
    for (const name of ['x', 'y']) await fail(t, LoginThrottle.keys(name, '10.0.0.1'));
    assert.ok(await t.retryAfter(mine), 'address blocked');
    for (let i = 0; i < 2; i++) await fail(t, LoginThrottle.keys('olivia', '10.0.0.2'));
    assert.ok(await t.retryAfter(LoginThrottle.keys('olivia', '10.0.0.3')), 'account blocked');
    assert.equal(await t.unlock('OLIVIA'), 5);
    assert.equal(await t.retryAfter(mine), undefined, 'account and its address free again');
    // The other accounts' failures from that address still count.
    for (let i = 0; i < 2; i++) await fail(t, LoginThrottle.keys('z', '10.0.0.1'));
    assert.equal(await t.retryAfter(LoginThrottle.keys('w', '10.0.0.1')), undefined);
    await fail(t, LoginThrottle.keys('z', '10.0.0.1'));
    assert.ok(await t.retryAfter(LoginThrottle.keys('w', '10.0.0.1')), 'x, y and three z: five');
  });
}

test('memory stays bounded: the least recently failed keys are forgotten first', async () => {
  const { t } = throttle(new MemoryLoginFailures(10));
  for (let i = 0; i < 50; i++) await t.attempt([`addr:${i}`]);
  for (let i = 0; i < 5; i++) await t.attempt(['addr:49']);
  assert.ok(await t.retryAfter(['addr:49']), 'the latest key is kept');
  for (let i = 0; i < 5; i++) await t.attempt(['addr:0']);
  assert.ok(await t.retryAfter(['addr:0']));
});

test('sqlite: failures outlive the connection and age out of the table', async (ctx) => {
  const dir = mkdtempSync(join(tmpdir(), 'throttle-test-'));
  ctx.after(() => rmSync(dir, { recursive: true, force: true }));
  const clock = { now: 1_000_000 };
  const options = { maxFailures: 5, windowMs: 15 * MINUTE };
  const keys = LoginThrottle.keys('olivia', '10.0.0.1');
  const first = openDatabase(dir);
  const before = new LoginThrottle(createSqliteLoginFailureStore(first), options, () => clock.now);
  for (let i = 0; i < 5; i++) await before.attempt(keys);
  first.close();
  const second = openDatabase(dir);
  ctx.after(() => second.close());
  const store = createSqliteLoginFailureStore(second);
  const after = new LoginThrottle(store, options, () => clock.now);
  assert.ok(await after.retryAfter(keys), 'a restart does not lift the throttle');
  clock.now += 16 * MINUTE;
  await after.attempt(LoginThrottle.keys('someone', '10.0.0.9'));
  for (const key of keys) assert.deepEqual(await store.recent(key, 0), [], `${key}: aged out and gone`);
});

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { openDatabase } from '../store/database.js';
import { createLoginFailureRepository } from '../store/sqlite/login-failure-store.js';
import { type LoginFailureStore, LoginThrottle } from './login-throttle.js';
import { MemoryLoginFailures } from './memory-login-failures.js';

const MINUTE = 60_000;

/** The throttle's rules hold the same over both stores: in memory and in SQLite. */
const STORES: [string, (t: TestContext) => LoginFailureStore][] = [
  ['memory', () => new MemoryLoginFailures()],
  [
    'sqlite',
    (t) => {
      const dir = mkdtempSync(join(tmpdir(), 'throttle-test-'));
      const db = openDatabase(dir);
      t.after(() => {
        db.close();
        rmSync(dir, { recursive: true, force: true });
      });
      return createLoginFailureRepository(db);
    },
  ],
];

function throttle(store: LoginFailureStore) {
  const clock = { now: 1_000_000 };
  const t = new LoginThrottle(store, { maxFailures: 5, windowMs: 15 * MINUTE }, () => clock.now);
  return { t, clock };
}

const fail = (t: LoginThrottle, keys: string[]) => {
  const attempt = t.attempt(keys);
  assert.ok(!('retryAfter' in attempt), 'the attempt is allowed');
};

for (const [kind, storeFor] of STORES) {
  test(`${kind}: five failures block the sixth attempt until the oldest failure leaves the window`, (ctx) => {
    const { t, clock } = throttle(storeFor(ctx));
    const keys = LoginThrottle.keys('Olivia', '10.0.0.1');
    for (let i = 0; i < 5; i++) {
      fail(t, keys);
      clock.now += MINUTE;
    }
    // Failures at 0..4 minutes; now is 5 minutes: the first leaves the window at 15 minutes.
    assert.equal(t.retryAfter(keys), 10 * 60);
    const blocked = t.attempt(keys);
    assert.ok('retryAfter' in blocked && blocked.retryAfter === 600);
    clock.now += 10 * MINUTE;
    assert.equal(t.retryAfter(keys), undefined, 'one failure aged out: one more attempt is allowed');
    fail(t, keys);
    assert.equal(t.retryAfter(keys), 60, 'and then the next oldest decides');
  });

  test(`${kind}: accounts are throttled case-insensitively, from any address`, (ctx) => {
    const { t } = throttle(storeFor(ctx));
    for (let i = 0; i < 5; i++) fail(t, LoginThrottle.keys(i % 2 ? 'OLIVIA' : 'olivia', `10.0.0.${i}`));
    assert.ok(t.retryAfter(LoginThrottle.keys('Olivia', '10.9.9.9')));
    assert.equal(t.retryAfter(LoginThrottle.keys('adam', '10.9.9.9')), undefined);
  });

  test(`${kind}: an address is throttled whatever accounts it tries`, (ctx) => {
    const { t } = throttle(storeFor(ctx));
    for (const name of ['a', 'b', 'c', 'd', 'e']) fail(t, LoginThrottle.keys(name, '10.0.0.1'));
    assert.ok(t.retryAfter(LoginThrottle.keys('f', '10.0.0.1')));
    assert.equal(t.retryAfter(LoginThrottle.keys('f', '10.0.0.2')), undefined);
  });

  test(`${kind}: a success takes its attempt back and clears the account, not the address`, (ctx) => {
    const { t } = throttle(storeFor(ctx));
    const mine = LoginThrottle.keys('olivia', '10.0.0.1');
    for (let i = 0; i < 4; i++) fail(t, mine);
    const attempt = t.attempt(mine);
    assert.ok('succeeded' in attempt);
    attempt.succeeded();
    assert.equal(t.retryAfter(LoginThrottle.keys('olivia', '10.0.0.2')), undefined, 'account cleared');
    // The address keeps its 4 earlier failures: one more from it and it is blocked.
    fail(t, LoginThrottle.keys('other', '10.0.0.1'));
    assert.ok(t.retryAfter(LoginThrottle.keys('third', '10.0.0.1')));
  });

  test(`${kind}: attempts in flight count, so parallel guesses cannot slip past the limit`, (ctx) => {
    const { t } = throttle(storeFor(ctx));
    const keys = LoginThrottle.keys('olivia', '10.0.0.1');
    const started = Array.from({ length: 8 }, () => t.attempt(keys));
    assert.equal(started.filter((a) => 'succeeded' in a).length, 5);
    assert.equal(started.filter((a) => 'retryAfter' in a).length, 3);
  });

  test(`${kind}: unlock forgets the account's failures, also those counted against its address`, (ctx) => {
    const { t } = throttle(storeFor(ctx));
    const mine = LoginThrottle.keys('Olivia', '10.0.0.1');
    for (let i = 0; i < 3; i++) fail(t, mine);
    for (const name of ['x', 'y']) fail(t, LoginThrottle.keys(name, '10.0.0.1'));
    assert.ok(t.retryAfter(mine), 'address blocked');
    for (let i = 0; i < 2; i++) fail(t, LoginThrottle.keys('olivia', '10.0.0.2'));
    assert.ok(t.retryAfter(LoginThrottle.keys('olivia', '10.0.0.3')), 'account blocked');
    assert.equal(t.unlock('OLIVIA'), 5);
    assert.equal(t.retryAfter(mine), undefined, 'account and its address free again');
    // The other accounts' failures from that address still count.
    for (let i = 0; i < 2; i++) fail(t, LoginThrottle.keys('z', '10.0.0.1'));
    assert.equal(t.retryAfter(LoginThrottle.keys('w', '10.0.0.1')), undefined);
    fail(t, LoginThrottle.keys('z', '10.0.0.1'));
    assert.ok(t.retryAfter(LoginThrottle.keys('w', '10.0.0.1')), 'x, y and three z: five');
  });
}

test('memory stays bounded: the least recently failed keys are forgotten first', () => {
  const { t } = throttle(new MemoryLoginFailures(10));
  for (let i = 0; i < 50; i++) t.fail([`addr:${i}`]);
  for (let i = 0; i < 5; i++) t.fail(['addr:49']);
  assert.ok(t.retryAfter(['addr:49']), 'the latest key is kept');
  for (let i = 0; i < 5; i++) t.fail(['addr:0']);
  assert.ok(t.retryAfter(['addr:0']));
});

test('sqlite: failures outlive the connection and age out of the table', (ctx) => {
  const dir = mkdtempSync(join(tmpdir(), 'throttle-test-'));
  ctx.after(() => rmSync(dir, { recursive: true, force: true }));
  const clock = { now: 1_000_000 };
  const options = { maxFailures: 5, windowMs: 15 * MINUTE };
  const keys = LoginThrottle.keys('olivia', '10.0.0.1');
  const first = openDatabase(dir);
  const before = new LoginThrottle(createLoginFailureRepository(first), options, () => clock.now);
  for (let i = 0; i < 5; i++) before.fail(keys);
  first.close();
  const second = openDatabase(dir);
  ctx.after(() => second.close());
  const after = new LoginThrottle(createLoginFailureRepository(second), options, () => clock.now);
  assert.ok(after.retryAfter(keys), 'a restart does not lift the throttle');
  clock.now += 16 * MINUTE;
  after.fail(LoginThrottle.keys('someone', '10.0.0.9'));
  const rows = second.prepare('SELECT COUNT(*) AS n FROM login_failures').get() as { n: number };
  assert.equal(rows.n, 2, 'only the new failure is kept, under its two keys');
});

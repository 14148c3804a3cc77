import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LoginThrottle } from './login-throttle.js';

const MINUTE = 60_000;

function throttle(maxKeys = 100) {
  const clock = { now: 1_000_000 };
  const t = new LoginThrottle({ maxFailures: 5, windowMs: 15 * MINUTE, maxKeys }, () => clock.now);
  return { t, clock };
}

const fail = (t: LoginThrottle, keys: string[]) => {
  const attempt = t.attempt(keys);
  assert.ok(!('retryAfter' in attempt), 'the attempt is allowed');
};

test('five failures block the sixth attempt until the oldest failure leaves the window', () => {
  const { t, clock } = throttle();
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

test('accounts are throttled case-insensitively, from any address', () => {
  const { t } = throttle();
  for (let i = 0; i < 5; i++) fail(t, LoginThrottle.keys(i % 2 ? 'OLIVIA' : 'olivia', `10.0.0.${i}`));
  assert.ok(t.retryAfter(LoginThrottle.keys('Olivia', '10.9.9.9')));
  assert.equal(t.retryAfter(LoginThrottle.keys('adam', '10.9.9.9')), undefined);
});

test('an address is throttled whatever accounts it tries', () => {
  const { t } = throttle();
  for (const name of ['a', 'b', 'c', 'd', 'e']) fail(t, LoginThrottle.keys(name, '10.0.0.1'));
  assert.ok(t.retryAfter(LoginThrottle.keys('f', '10.0.0.1')));
  assert.equal(t.retryAfter(LoginThrottle.keys('f', '10.0.0.2')), undefined);
});

test('a success takes its attempt back and clears the account, not the address', () => {
  const { t } = throttle();
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

test('attempts in flight count, so parallel guesses cannot slip past the limit', () => {
  const { t } = throttle();
  const keys = LoginThrottle.keys('olivia', '10.0.0.1');
  const started = Array.from({ length: 8 }, () => t.attempt(keys));
  assert.equal(started.filter((a) => 'succeeded' in a).length, 5);
  assert.equal(started.filter((a) => 'retryAfter' in a).length, 3);
});

test('memory stays bounded: the least recently failed keys are forgotten first', () => {
  const { t } = throttle(10);
  for (let i = 0; i < 50; i++) t.fail([`addr:${i}`]);
  for (let i = 0; i < 5; i++) t.fail(['addr:49']);
  assert.ok(t.retryAfter(['addr:49']), 'the latest key is kept');
  for (let i = 0; i < 5; i++) t.fail(['addr:0']);
  assert.ok(t.retryAfter(['addr:0']));
});

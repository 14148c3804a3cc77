/** The `LoginFailureStore` port's contract: the same cases, the same answers, on every backend. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ADMIN_STORE_BACKENDS } from '../../test/support/admin-store-backends.js';

const MINUTE = 60_000;
const KEYS = ['user:olivia', 'addr:10.0.0.1'];

for (const backend of ADMIN_STORE_BACKENDS) {
  const { name, skip } = backend;

  test(`${name}: failures count per key until the limit, and the blocking one is the latest over the keys`, {
    skip,
  }, async (t) => {
    const { loginFailures } = (await backend.open(t)).companion();
    const limit = (at: number) => ({ since: at - 15 * MINUTE, maxFailures: 3 });
    for (let i = 0; i < 3; i++) {
      const at = 100 * MINUTE + i * MINUTE;
      assert.equal(await loginFailures.addUnlessThrottled(KEYS, 'olivia', at, limit(at)), null);
    }
    // The address has two more, later, from another account.
    const other = ['user:otto', 'addr:10.0.0.2'];
    for (let i = 0; i < 3; i++)
      await loginFailures.addUnlessThrottled(other, 'otto', 103 * MINUTE + i, limit(0));
    assert.deepEqual(await loginFailures.recent('user:olivia', 0), [
      100 * MINUTE,
      101 * MINUTE,
      102 * MINUTE,
    ]);
    const at = 105 * MINUTE;
    assert.equal(await loginFailures.addUnlessThrottled(KEYS, 'olivia', at, limit(at)), 100 * MINUTE);
    assert.equal(
      await loginFailures.addUnlessThrottled(['user:olivia', 'addr:10.0.0.2'], 'olivia', at, limit(at)),
      103 * MINUTE,
      'the later of the two keys’ blocking failures',
    );
    // Refused attempts are not counted.
    assert.equal((await loginFailures.recent('user:olivia', 0)).length, 3);
    // Once the oldest leaves the window, one more is let in; what left the window is forgotten.
    const later = 115 * MINUTE + 1;
    assert.equal(await loginFailures.addUnlessThrottled(KEYS, 'olivia', later, limit(later)), null);
    assert.deepEqual(await loginFailures.recent('user:olivia', 0), [101 * MINUTE, 102 * MINUTE, later]);
  });

  test(`${name}: an attempt is taken back per key; keys and accounts are cleared`, { skip }, async (t) => {
    const { loginFailures } = (await backend.open(t)).companion();
    const limit = { since: 0, maxFailures: 10 };
    await loginFailures.addUnlessThrottled(KEYS, 'olivia', 1000, limit);
    await loginFailures.addUnlessThrottled(KEYS, 'olivia', 2000, limit);
    await loginFailures.addUnlessThrottled(KEYS, 'olivia', 2000, limit);
    await loginFailures.addUnlessThrottled(['user:x', 'addr:10.0.0.1'], 'x', 3000, limit);
    await loginFailures.takeBack(KEYS, 2000);
    assert.deepEqual(await loginFailures.recent('user:olivia', 0), [1000, 2000]);
    assert.deepEqual(await loginFailures.recent('addr:10.0.0.1', 0), [1000, 2000, 3000]);
    assert.deepEqual(await loginFailures.recent('addr:10.0.0.1', 1000), [2000, 3000]);
    await loginFailures.clearAccount('olivia');
    assert.deepEqual(await loginFailures.recent('user:olivia', 0), []);
    assert.deepEqual(await loginFailures.recent('addr:10.0.0.1', 0), [3000], 'x’s failure still counts');
    await loginFailures.clear('addr:10.0.0.1');
    assert.deepEqual(await loginFailures.recent('addr:10.0.0.1', 0), []);
    assert.deepEqual(await loginFailures.recent('user:x', 0), [3000]);
  });

  test(`${name}: parallel guesses on two companions cannot slip past the limit`, { skip }, async (t) => {
    const db = await backend.open(t);
    const companions = [db.companion().loginFailures, db.companion().loginFailures];
    const limit = { since: 0, maxFailures: 5 };
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        companions[i % 2]!.addUnlessThrottled(KEYS, 'olivia', 1000 + i, limit),
      ),
    );
    assert.equal(results.filter((r) => r === null).length, 5);
    assert.equal((await companions[0]!.recent('user:olivia', 0)).length, 5);
    assert.equal((await companions[1]!.recent('addr:10.0.0.1', 0)).length, 5);
  });
}

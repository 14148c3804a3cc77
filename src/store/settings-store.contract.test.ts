/** The `SettingsStore` port's contract: the same cases, the same answers, on every backend. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ADMIN_STORE_BACKENDS } from '../../test/support/admin-store-backends.js';
import { DEFAULT_SETTINGS } from '../settings/runtime-settings.js';

for (const backend of ADMIN_STORE_BACKENDS) {
  const { name, skip } = backend;

  test(`${name}: settings read as defaults until written, and a write is seen by another companion`, {
    skip,
  }, async (t) => {
    const db = await backend.open(t);
    const [first, second] = [db.companion().settings, db.companion().settings];
    assert.deepEqual(await first.read(), DEFAULT_SETTINGS);
    assert.deepEqual(await first.write({ historyMaxAgeDays: 30, sessionIdleMinutes: 5 }), {
      historyMaxAgeDays: 30,
      historyMaxRecords: null,
      sessionIdleMinutes: 5,
    });
    assert.deepEqual(await second.read(), {
      historyMaxAgeDays: 30,
      historyMaxRecords: null,
      sessionIdleMinutes: 5,
    });
    assert.deepEqual(await second.write({ historyMaxAgeDays: null, historyMaxRecords: 1000 }), {
      historyMaxAgeDays: null,
      historyMaxRecords: 1000,
      sessionIdleMinutes: 5,
    });
    assert.deepEqual(await first.read(), {
      historyMaxAgeDays: null,
      historyMaxRecords: 1000,
      sessionIdleMinutes: 5,
    });
    // Writing nothing changes nothing.
    assert.deepEqual(await first.write({}), await second.read());
  });
}

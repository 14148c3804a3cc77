import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { DEFAULT_SETTINGS } from '../../settings/runtime-settings.js';
import { openDatabase } from '../database.js';
import { createSqliteSettingsStore } from './settings-store.js';

function database(t: TestContext) {
  const dir = mkdtempSync(join(tmpdir(), 'settings-test-'));
  const db = openDatabase(dir);
  t.after(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { db, dir };
}

test('settings read as defaults until written, and a write is seen by another connection', async (t) => {
  const { db, dir } = database(t);
  const settings = createSqliteSettingsStore(db);
  assert.deepEqual(await settings.read(), DEFAULT_SETTINGS);
  assert.deepEqual(await settings.write({ historyMaxAgeDays: 30, sessionIdleMinutes: 5 }), {
    historyMaxAgeDays: 30,
    historyMaxRecords: null,
    sessionIdleMinutes: 5,
  });
  const other = openDatabase(dir);
  t.after(() => other.close());
  assert.deepEqual(await createSqliteSettingsStore(other).read(), {
    historyMaxAgeDays: 30,
    historyMaxRecords: null,
    sessionIdleMinutes: 5,
  });
  await settings.write({ historyMaxAgeDays: null });
  assert.equal((await createSqliteSettingsStore(other).read()).historyMaxAgeDays, null);
});

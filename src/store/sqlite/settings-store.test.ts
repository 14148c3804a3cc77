import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { openDatabase } from '../database.js';
import { createSettingsRepository, DEFAULT_SETTINGS } from './settings-store.js';

function database(t: TestContext) {
  const dir = mkdtempSync(join(tmpdir(), 'settings-test-'));
  const db = openDatabase(dir);
  t.after(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { db, dir };
}

test('settings read as defaults until written, and a write is seen by another connection', (t) => {
  const { db, dir } = database(t);
  const settings = createSettingsRepository(db);
  assert.deepEqual(settings.read(), DEFAULT_SETTINGS);
  settings.write({ historyMaxAgeDays: 30, sessionIdleMinutes: 5 });
  const other = openDatabase(dir);
  t.after(() => other.close());
  assert.deepEqual(createSettingsRepository(other).read(), {
    historyMaxAgeDays: 30,
    historyMaxRecords: null,
    sessionIdleMinutes: 5,
  });
  settings.write({ historyMaxAgeDays: null });
  assert.equal(createSettingsRepository(other).read().historyMaxAgeDays, null);
});

test('a stored value that is unreadable or out of range reads as its default', (t) => {
  const { db } = database(t);
  const put = db.prepare('INSERT OR REPLACE INTO settings (key, value) VALUES (?, ?)');
  put.run('sessionIdleMinutes', '-4');
  put.run('historyMaxRecords', '{not json');
  put.run('somethingElse', '1');
  assert.deepEqual(createSettingsRepository(db).read(), DEFAULT_SETTINGS);
});

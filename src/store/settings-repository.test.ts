import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { createAuditRepository } from './audit-repository.js';
import { openDatabase } from './database.js';
import { createSettingsRepository, DEFAULT_SETTINGS } from './settings-repository.js';

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

test('the audit log pages newest first and filters', (t) => {
  const { db } = database(t);
  const audit = createAuditRepository(db);
  for (let i = 0; i < 5; i++) {
    audit.append({
      at: i,
      adminId: 'a1',
      adminUsername: 'olivia',
      action: i % 2 ? 'token.create' : 'login',
      targetType: null,
      targetId: null,
      details: { i },
      ip: '10.0.0.1',
      outcome: i === 4 ? 'denied' : 'ok',
    });
  }
  const first = audit.list({ limit: 2 });
  assert.deepEqual(
    first.map((e) => e.details?.i),
    [4, 3],
  );
  assert.deepEqual(
    audit.list({ limit: 10, before: first[1]!.id }).map((e) => e.details?.i),
    [2, 1, 0],
  );
  assert.deepEqual(
    audit.list({ limit: 10, action: 'token.create' }).map((e) => e.details?.i),
    [3, 1],
  );
  assert.deepEqual(
    audit.list({ limit: 10, outcome: 'denied' }).map((e) => e.details?.i),
    [4],
  );
});

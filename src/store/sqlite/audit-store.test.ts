import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { actionFilter, actorFilter, type NewAuditEntry } from '../../audit/audit-log.js';
import { openDatabase } from '../database.js';
import { createSqliteAuditStore } from './audit-store.js';

function database(t: TestContext) {
  const dir = mkdtempSync(join(tmpdir(), 'audit-test-'));
  const db = openDatabase(dir);
  t.after(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return db;
}

const entry = (i: number, changes: Partial<NewAuditEntry> = {}): NewAuditEntry => ({
  at: i * 1000,
  actorKind: 'admin',
  adminId: 'a1',
  adminUsername: 'olivia',
  osUser: null,
  action: i % 2 ? 'token.create' : 'login',
  targetType: null,
  targetId: null,
  targetName: null,
  details: { i },
  ip: '10.0.0.1',
  outcome: i === 4 ? 'denied' : 'ok',
  ...changes,
});

test('the audit log pages newest first and filters by outcome and action', async (t) => {
  const audit = createSqliteAuditStore(database(t));
  for (let i = 0; i < 5; i++) await audit.append(entry(i));
  const first = await audit.list({ limit: 2 });
  const is = (list: { details: Record<string, unknown> | null }[]) => list.map((e) => e.details?.i);
  assert.deepEqual(is(first), [4, 3]);
  assert.deepEqual(is(await audit.list({ limit: 10, before: first[1]!.id })), [2, 1, 0]);
  assert.deepEqual(is(await audit.list({ limit: 10, action: actionFilter('token.create') })), [3, 1]);
  assert.deepEqual(is(await audit.list({ limit: 10, action: actionFilter('token.*') })), [3, 1]);
  assert.deepEqual(is(await audit.list({ limit: 10, action: actionFilter('token') })), []);
  assert.deepEqual(is(await audit.list({ limit: 10, outcome: 'denied' })), [4]);
  assert.deepEqual(is(await audit.list({ limit: 10, since: 1000, until: 3000 })), [2, 1]);
});

test('command-line entries are found by cli and by their OS user; tried names are no actors', async (t) => {
  const audit = createSqliteAuditStore(database(t));
  await audit.append(entry(0));
  await audit.append(entry(1, { actorKind: 'cli', adminId: null, adminUsername: null, osUser: 'alice' }));
  await audit.append(entry(2, { actorKind: 'cli', adminId: null, adminUsername: null, osUser: 'root' }));
  await audit.append(entry(3, { adminId: null, adminUsername: 'mallory', outcome: 'failed' }));
  await audit.append(entry(5, { action: 'token_x.create' }));
  const is = (list: { details: Record<string, unknown> | null }[]) => list.map((e) => e.details?.i);
  assert.deepEqual(is(await audit.list({ limit: 10, actor: actorFilter('cli') })), [2, 1]);
  assert.deepEqual(is(await audit.list({ limit: 10, actor: actorFilter('cli:alice') })), [1]);
  assert.deepEqual(is(await audit.list({ limit: 10, actor: actorFilter('olivia') })), [5, 0]);
  assert.deepEqual(is(await audit.list({ limit: 10, actor: actorFilter('mallory') })), [3]);
  // LIKE's wildcards in a family name match only themselves.
  assert.deepEqual(is(await audit.list({ limit: 10, action: actionFilter('toke_.*') })), []);
  assert.deepEqual(is(await audit.list({ limit: 10, action: actionFilter('token_x.*') })), [5]);
  assert.deepEqual(await audit.actors(), [
    { kind: 'admin', actor: 'olivia' },
    { kind: 'cli', actor: 'cli:alice' },
    { kind: 'cli', actor: 'cli:root' },
  ]);
  assert.deepEqual(await audit.actions(), ['login', 'token.create', 'token_x.create']);
});

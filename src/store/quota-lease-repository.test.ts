import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { windowStart } from '../policy/quota-windows.js';
import { createTokenService } from '../policy/token-service.js';
import { openDatabase } from './database.js';
import { createQuotaLeaseRepository } from './quota-lease-repository.js';
import { createTokenRepository } from './token-repository.js';

function database(t: TestContext) {
  const dir = mkdtempSync(join(tmpdir(), 'quota-lease-test-'));
  const db = openDatabase(dir);
  t.after(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const tokenId = createTokenService(createTokenRepository(db), 'node', windowStart).create('q', {}).token.id;
  return { db, dir, tokenId };
}

test('a saved lease is on disk for the next connection, the latest per token and window', (t) => {
  const { db, dir, tokenId } = database(t);
  const leases = createQuotaLeaseRepository(db);
  assert.equal(leases.save([{ tokenId, window: 'total', windowStart: 0, reservedTo: 5 }], true), true);
  leases.save(
    [
      { tokenId, window: 'total', windowStart: 0, reservedTo: 9 },
      { tokenId, window: 'day', windowStart: 86_400_000, reservedTo: 3 },
    ],
    true,
  );
  const other = openDatabase(dir);
  t.after(() => other.close());
  const loaded = createQuotaLeaseRepository(other).load();
  assert.deepEqual(
    loaded.sort((a, b) => a.window.localeCompare(b.window)),
    [
      { tokenId, window: 'day', windowStart: 86_400_000, reservedTo: 3 },
      { tokenId, window: 'total', windowStart: 0, reservedTo: 9 },
    ],
  );
});

test('without waiting, a save gives up while another connection writes, and works once it is done', (t) => {
  const { db, dir, tokenId } = database(t);
  const leases = createQuotaLeaseRepository(db);
  const writer = openDatabase(dir);
  t.after(() => writer.close());
  writer.exec('BEGIN IMMEDIATE');
  assert.equal(leases.save([{ tokenId, window: 'total', windowStart: 0, reservedTo: 5 }], false), false);
  assert.equal(db.pragma('busy_timeout', { simple: true }), 5000, 'the busy timeout is back');
  writer.exec('COMMIT');
  assert.equal(leases.save([{ tokenId, window: 'total', windowStart: 0, reservedTo: 5 }], false), true);
  assert.equal(leases.load()[0]?.reservedTo, 5);
});

test('usage counters keep what was reserved, also inside an outer transaction; old rows read as calls', (t) => {
  const { db, tokenId } = database(t);
  const tokens = createTokenRepository(db);
  db.transaction(() => {
    tokens.writeUsage([{ tokenId, window: 'total', windowStart: 0, calls: 3, reserved: 5 }]);
  })();
  assert.deepEqual(tokens.readUsage(tokenId), [
    { tokenId, window: 'total', windowStart: 0, calls: 3, reserved: 5 },
  ]);
  tokens.writeUsage([{ tokenId, window: 'total', windowStart: 0, calls: 4 }]);
  db.prepare('UPDATE token_usage SET reserved = NULL').run();
  assert.deepEqual(tokens.readUsage(tokenId), [
    { tokenId, window: 'total', windowStart: 0, calls: 4, reserved: 4 },
  ]);
});

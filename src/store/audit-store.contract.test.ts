/** The `AuditStore` port's contract: the same cases, the same answers, on every backend. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ADMIN_STORE_BACKENDS } from '../../test/support/admin-store-backends.js';
import { actionFilter, actorFilter, type NewAuditEntry } from '../audit/audit-log.js';

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

for (const backend of ADMIN_STORE_BACKENDS) {
  const { name, skip } = backend;

  test(`${name}: the audit log pages newest first and filters by outcome and action`, { skip }, async (t) => {
    const { audit } = (await backend.open(t)).companion();
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

  test(`${name}: command-line entries are found by cli and by their OS user; tried names are no actors`, {
    skip,
  }, async (t) => {
    const { audit } = (await backend.open(t)).companion();
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

  test(`${name}: two companions write one log, read alike from either`, { skip }, async (t) => {
    const db = await backend.open(t);
    const [first, second] = [db.companion().audit, db.companion().audit];
    const ids = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        (i % 2 ? first : second).append(entry(i, { targetName: 'Zoë "z" \\ 𝄞' })),
      ),
    );
    assert.equal(new Set(ids).size, 10);
    const listed = await first.list({ limit: 20 });
    assert.deepEqual(listed, await second.list({ limit: 20 }));
    assert.deepEqual(
      listed.map((e) => e.id),
      [...ids].sort((a, b) => b - a),
    );
    const written = listed.find((e) => e.id === ids[3])!;
    assert.deepEqual(written, { id: ids[3], ...entry(3, { targetName: 'Zoë "z" \\ 𝄞' }) });
    // Sorted by code point, whatever the database's collation: capitals first.
    await second.append(entry(11, { action: 'Zeta.x', adminUsername: 'Zed', adminId: 'a9' }));
    assert.deepEqual(await first.actions(), ['Zeta.x', 'login', 'token.create']);
    assert.deepEqual(await first.actors(), [
      { kind: 'admin', actor: 'Zed' },
      { kind: 'admin', actor: 'olivia' },
    ]);
  });
}

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CompanionError } from '../errors/companion-error.js';
import type { QuotaLease, QuotaLeaseStore } from './quota-lease-store.js';
import { leaseSize, QuotaLedger } from './quota-ledger.js';
import type { QuotaWindow, Token } from './token.js';

function token(calls: Partial<Record<QuotaWindow, number>>, maxConcurrent: number | null = null): Token {
  return {
    id: 't1',
    name: 't1',
    prefix: 'oc_abcdefgh',
    models: ['*'],
    scopes: ['inference', 'embeddings', 'read'],
    limits: {
      calls: { total: null, minute: null, hour: null, day: null, month: null, ...calls },
      maxConcurrent,
    },
    expiresAt: null,
    enabled: true,
    revokedAt: null,
    historyMode: 'full',
    createdAt: 0,
    updatedAt: 0,
    originNode: 'n',
  };
}

function refusal(fn: () => unknown): CompanionError {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof CompanionError);
    return error;
  }
  assert.fail('expected a refusal');
}

test('a total quota lets exactly N calls through, then 429 saying it is used up, with no retry hint', () => {
  const ledger = new QuotaLedger([]);
  const t = token({ total: 3 });
  for (let i = 0; i < 3; i++) ledger.reserve(t, true);
  const error = refusal(() => ledger.reserve(t, true));
  assert.equal(error.status, 429);
  assert.equal(error.code, 'quota_exceeded');
  assert.equal(error.message, 'token quota used up: 3 of 3 calls; an admin can raise it');
  assert.equal(error.retryAfterSeconds, undefined);
  assert.equal(error.headers['x-should-retry'], 'false');
  assert.equal(ledger.usage('t1').calls.total, 3);
});

test('listings do not use up calls', () => {
  const ledger = new QuotaLedger([]);
  const t = token({ total: 1 });
  for (let i = 0; i < 10; i++) ledger.reserve(t, false).release();
  ledger.reserve(t, true);
  assert.equal(refusal(() => ledger.reserve(t, true)).status, 429);
});

test('a refunded call is given back; a plain release keeps it counted', () => {
  const ledger = new QuotaLedger([]);
  const t = token({ total: 1 });
  ledger.reserve(t, true).release(true);
  const kept = ledger.reserve(t, true);
  kept.release();
  kept.release(true); // a second release changes nothing
  assert.equal(refusal(() => ledger.reserve(t, true)).code, 'quota_exceeded');
});

test('a per-minute quota resets with the next minute and says when', () => {
  let now = Date.UTC(2026, 0, 1, 12, 0, 15);
  const ledger = new QuotaLedger([], () => now);
  const t = token({ minute: 2 });
  ledger.reserve(t, true);
  ledger.reserve(t, true);
  const error = refusal(() => ledger.reserve(t, true));
  assert.equal(error.code, 'rate_limited');
  assert.equal(error.retryAfterSeconds, 45);
  now += 45_000;
  ledger.reserve(t, true);
});

test('Retry-After of a per-minute quota is between 1 and 60 seconds', () => {
  for (const second of [0, 1, 30, 59.999]) {
    const at = Date.UTC(2026, 0, 1, 12, 0, 0) + second * 1000;
    const ledger = new QuotaLedger([], () => at);
    const t = token({ minute: 0 });
    const seconds = refusal(() => ledger.reserve(t, true)).retryAfterSeconds ?? -1;
    assert.ok(seconds >= 1 && seconds <= 60, `${second}s into the minute: ${seconds}`);
  }
});

test('a refused call takes nothing from the other windows', () => {
  const ledger = new QuotaLedger([]);
  const t = token({ total: 5, minute: 1 });
  ledger.reserve(t, true);
  refusal(() => ledger.reserve(t, true));
  refusal(() => ledger.reserve(t, true));
  assert.equal(ledger.usage('t1').calls.total, 1);
});

test('the concurrency cap frees a slot when a request ends', () => {
  const ledger = new QuotaLedger([]);
  const t = token({}, 2);
  const a = ledger.reserve(t, true);
  ledger.reserve(t, false);
  const error = refusal(() => ledger.reserve(t, true));
  assert.equal(error.code, 'concurrency_limited');
  assert.ok((error.retryAfterSeconds ?? 0) >= 1);
  assert.equal(ledger.usage('t1').calls.total, 1, 'the refused request used no call');
  a.release();
  ledger.reserve(t, true);
});

test('usage persisted earlier counts against the quota after a restart', () => {
  const now = Date.UTC(2026, 0, 1, 12, 0, 0);
  const first = new QuotaLedger([], () => now);
  const t = token({ total: 2, day: 10 });
  first.reserve(t, true);
  first.reserve(t, true);
  const restarted = new QuotaLedger(first.drainChanges(), () => now);
  assert.equal(refusal(() => restarted.reserve(t, true)).code, 'quota_exceeded');
});

/** A lease store that keeps what it was given, as a durable store would across a crash. */
function memoryLeases(options: { busy?: boolean; failing?: boolean } = {}) {
  const held = new Map<string, QuotaLease>();
  const saves: { leases: QuotaLease[]; wait: boolean }[] = [];
  const store: QuotaLeaseStore = {
    load: () => [...held.values()],
    save(leases, wait) {
      saves.push({ leases, wait });
      if (options.failing) throw new Error('disk I/O error');
      if (options.busy && !wait) return false;
      for (const l of leases) held.set(`${l.tokenId}/${l.window}`, l);
      return true;
    },
  };
  return { store, saves, held, options };
}

/** Counts calls allowed until the first refusal. */
function allowed(ledger: QuotaLedger, t: Token, most = 10_000): number {
  for (let n = 0; n < most; n++) {
    try {
      ledger.reserve(t, true);
    } catch {
      return n;
    }
  }
  return most;
}

test('a crash never gives a token more calls than its quota, and costs at most 1/20 of it', () => {
  for (const limit of [1, 7, 20, 100, 1000, 50_000]) {
    for (const before of [0, 1, Math.floor(limit / 2), limit - 1]) {
      const leases = memoryLeases();
      const t = token({ total: limit });
      const first = new QuotaLedger([], Date.now, () => {}, leases.store);
      for (let i = 0; i < before; i++) first.reserve(t, true);
      // The crash: the counters were never written, only the leases.
      const restarted = new QuotaLedger([], Date.now, () => {}, leases.store);
      const after = allowed(restarted, t, limit + 10);
      assert.ok(before + after <= limit, `limit ${limit}, ${before} before: ${after} after`);
      assert.ok(
        before + after >= limit - leaseSize(limit),
        `limit ${limit}, ${before} before: only ${after} after`,
      );
    }
  }
  assert.equal(leaseSize(20), 1);
  assert.equal(leaseSize(1000), 50);
  assert.equal(leaseSize(1e9), 1000);
});

test('a small quota writes its lease before every call; a large one once per many calls', () => {
  const small = memoryLeases();
  const ledger = new QuotaLedger([], Date.now, () => {}, small.store);
  for (let i = 0; i < 20; i++) ledger.reserve(token({ total: 20 }), true);
  assert.equal(small.saves.filter((s) => s.wait).length, 20);

  const large = memoryLeases();
  const busy = new QuotaLedger([], Date.now, () => {}, large.store);
  const t = token({ total: 1_000_000, day: 1_000_000 });
  for (let i = 0; i < 10_000; i++) busy.reserve(t, true);
  // Leases of 1,000 calls, the next taken without waiting when 750 are used: both windows
  // in one write, and only the very first call waited for it.
  assert.equal(large.saves.filter((s) => s.wait).length, 1);
  assert.ok(large.saves.length <= 10_000 / 700, `${large.saves.length} writes for 10,000 calls`);
});

test('when the store is busy, the ledger keeps its lease and waits only once it is used up', () => {
  const leases = memoryLeases({ busy: true });
  const ledger = new QuotaLedger([], Date.now, () => {}, leases.store);
  const t = token({ total: 100_000 });
  for (let i = 0; i < 2500; i++) ledger.reserve(t, true);
  // 1,000 calls per lease: waits at 1, 1,001 and 2,001; tries ahead in between.
  assert.equal(leases.saves.filter((s) => s.wait).length, 3);
  assert.ok(leases.saves.some((s) => !s.wait));
  const held = leases.held.get('t1/total');
  assert.ok(held && held.reservedTo >= 2500, 'the lease always covers the calls made');
});

test('a store that cannot record the call refuses it with 503 and counts nothing', () => {
  const leases = memoryLeases({ failing: true });
  const ledger = new QuotaLedger([], Date.now, () => {}, leases.store);
  const error = refusal(() => ledger.reserve(token({ total: 5 }), true));
  assert.equal(error.status, 503);
  assert.equal(error.code, 'store_unavailable');
  assert.equal(error.retryAfterSeconds, 5);
  assert.equal(ledger.usage('t1').calls.total, 0);
  assert.equal(ledger.usage('t1').inFlight, 0);
});

test('tokens without call limits never touch the lease store', () => {
  const leases = memoryLeases();
  const ledger = new QuotaLedger([], Date.now, () => {}, leases.store);
  for (let i = 0; i < 100; i++) ledger.reserve(token({}), true).release();
  for (let i = 0; i < 100; i++) ledger.reserve(token({ total: 5 }), false).release();
  assert.equal(leases.saves.length, 0);
  assert.equal(ledger.usage('t1').calls.total, 100);
});

test('a refund written with the counters survives a crash', () => {
  const leases = memoryLeases();
  const t = token({ total: 20 });
  const first = new QuotaLedger([], Date.now, () => {}, leases.store);
  for (let i = 0; i < 10; i++) first.reserve(t, true);
  for (let i = 0; i < 5; i++) first.reserve(t, true).release(true);
  const written = first.drainChanges();
  assert.deepEqual(
    written.find((u) => u.window === 'total'),
    { tokenId: 't1', window: 'total', windowStart: 0, calls: 10, reserved: 15 },
  );
  first.reserve(t, true); // forwarded after the last write, then the crash
  const restarted = new QuotaLedger(written, Date.now, () => {}, leases.store);
  assert.equal(restarted.usage('t1').calls.total, 11);
  assert.equal(allowed(restarted, t), 9);
});

test('a clean stop gives unused leases back: the restart counts exactly the calls made', () => {
  const leases = memoryLeases();
  const t = token({ total: 10_000 });
  const first = new QuotaLedger([], Date.now, () => {}, leases.store);
  for (let i = 0; i < 1234; i++) first.reserve(t, true);
  const written = first.drainChanges();
  first.returnLeases();
  const restarted = new QuotaLedger(written, Date.now, () => {}, leases.store);
  assert.equal(restarted.usage('t1').calls.total, 1234);
});

test('a lease of a past window does not count in the next one', () => {
  let now = Date.UTC(2026, 0, 1, 12, 0, 30);
  const leases = memoryLeases();
  const t = token({ minute: 1000 });
  const first = new QuotaLedger(
    [],
    () => now,
    () => {},
    leases.store,
  );
  for (let i = 0; i < 10; i++) first.reserve(t, true);
  now += 60_000;
  const restarted = new QuotaLedger(
    [],
    () => now,
    () => {},
    leases.store,
  );
  assert.equal(restarted.usage('t1').calls.minute, 0);
  assert.equal(allowed(restarted, t), 1000);
});

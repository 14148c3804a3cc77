import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CompanionError } from '../errors/companion-error.js';
import { QuotaLedger } from './quota-ledger.js';
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

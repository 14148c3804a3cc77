import assert from 'node:assert/strict';
import { test } from 'node:test';
import { end, openHistoryStore, start } from './history-store.test-helper.js';

test('usage adds up per day, model and token, with averages and a p95 estimate', async (t) => {
  const store = openHistoryStore(t);
  const { usage } = store.reads;
  const day = 86_400_000;
  const t0 = Date.UTC(2025, 2, 10);
  const finished = [];
  for (let i = 0; i < 100; i++) {
    finished.push({
      start: start(`r${i}`, t0 + (i % 3) * day + i * 60_000, null, {
        model: i % 4 === 0 ? 'qwen3:8b' : 'llama3.2',
        tokenId: i < 10 ? 'tok-2' : 'tok-1',
      }),
      end: end('x', {
        durationMs: i < 95 ? 80 : 5000,
        outcome: i === 7 ? 'error' : i === 8 ? 'refused' : 'ok',
        status: i === 8 ? 429 : 200,
      }),
      startWritten: false as const,
    });
  }
  store.repo.writeBatch({ started: [], finished });

  const { series, totals } = await usage.usage('day', t0 - day, t0 + 4 * day);
  assert.deepEqual(
    series.map((p) => [p.key, p.requests]),
    [
      ['2025-03-09', 0],
      ['2025-03-10', 34],
      ['2025-03-11', 33],
      ['2025-03-12', 33],
      ['2025-03-13', 0],
    ],
  );
  assert.equal(totals.requests, 100);
  assert.equal(totals.errors, 1);
  assert.equal(totals.refused, 1);
  assert.equal(totals.promptTokens, 1000);
  assert.equal(totals.completionTokens, 2000);
  assert.equal(totals.avgLatencyMs, (95 * 80 + 5 * 5000) / 100);
  assert.ok(
    totals.p95LatencyMs !== null && totals.p95LatencyMs > 50 && totals.p95LatencyMs <= 100,
    `${totals.p95LatencyMs}`,
  );

  const models = (await usage.usage('model', t0, t0 + 3 * day)).series;
  assert.deepEqual(
    models.map((p) => [p.key, p.requests]),
    [
      ['llama3.2', 75],
      ['qwen3:8b', 25],
    ],
  );
  // A range that cuts days in the middle: whole days from the daily table, the edges by hour.
  const from = t0 + 12 * 3_600_000;
  const to = t0 + 2 * day + 5 * 3_600_000;
  const expected = finished.filter((r) => r.start.startedAt >= from && r.start.startedAt < to).length;
  assert.equal((await usage.usage('token', from, to)).totals.requests, expected);
  assert.equal((await usage.usage('hour', from, to)).totals.requests, expected);
});

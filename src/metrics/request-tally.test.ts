import assert from 'node:assert/strict';
import test from 'node:test';
import { Registry } from 'prom-client';
import { RequestTally } from './request-tally.js';

function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

test('the tally reads as Prometheus counters and cumulative histograms', async () => {
  const registry = new Registry();
  const tally = new RequestTally(registry);
  assert.doesNotMatch(await registry.metrics(), /^companion_requests_total\{/m, 'no series before a request');

  tally.request('/api/chat', 200, 0.003, 0.001);
  tally.request('/api/chat', 200, 0.7, null);
  tally.request('/api/chat', 429, 0.5, null);
  tally.modelTokens('llama3.2', 5, 7);
  tally.modelTokens('llama3.2', 1, 0);
  const text = await registry.metrics();

  assert.equal(sample(text, 'companion_requests_total{endpoint="/api/chat",status="200"}'), 2);
  assert.equal(sample(text, 'companion_requests_total{endpoint="/api/chat",status="429"}'), 1);
  const bucket = (le: string) =>
    sample(text, `companion_request_duration_seconds_bucket{endpoint="/api/chat",le="${le}"}`);
  assert.equal(bucket('0.005'), 1);
  assert.equal(bucket('0.5'), 2, 'a bucket counts values equal to its bound');
  assert.equal(bucket('1'), 3);
  assert.equal(bucket('+Inf'), 3);
  assert.equal(sample(text, 'companion_request_duration_seconds_count{endpoint="/api/chat"}'), 3);
  assert.ok(
    Math.abs(sample(text, 'companion_request_duration_seconds_sum{endpoint="/api/chat"}')! - 1.203) < 1e-9,
  );
  assert.equal(sample(text, 'companion_time_to_first_chunk_seconds_count{endpoint="/api/chat"}'), 1);
  assert.equal(sample(text, 'companion_tokens_total{kind="prompt",model="llama3.2"}'), 6);
  assert.equal(sample(text, 'companion_tokens_total{kind="completion",model="llama3.2"}'), 7);
});

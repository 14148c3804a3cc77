/**
 * `/metrics` as a Prometheus scraper sees it: open to this machine (not to clients a
 * reverse proxy relays), otherwise only to tokens with the `metrics` scope; counters
 * that move with the traffic.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { type TestContext, test } from 'node:test';
import { Ollama } from 'ollama';
import { request } from 'undici';
import { emulatorFor, startCompanion, type TestCompanion } from './support/companion-harness.js';

async function setup(t: TestContext, settings: Parameters<typeof startCompanion>[2] = {}) {
  const emulator = await emulatorFor(t);
  const companion = await startCompanion(t, emulator.url, settings);
  return { emulator, companion };
}

async function scrape(companion: TestCompanion, headers: Record<string, string> = {}, path = '/metrics') {
  const res = await request(`${companion.url}${path}`, { headers });
  return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
}

/** The value of one sample, `name{label="value",...}`, or undefined when absent. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const found: Record<string, string> = {};
    for (const pair of (match[2] ?? '').matchAll(/([a-zA-Z_]+)="((?:[^"\\]|\\.)*)"/g))
      found[pair[1]!] = pair[2]!;
    if (Object.entries(labels).every(([key, value]) => found[key] === value)) return Number(match[3]);
  }
  return undefined;
}

/** Sum of every sample of a metric. */
function total(text: string, name: string): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name} `) || line.startsWith(`${name}{`)) sum += Number(line.split(' ').at(-1));
  }
  return sum;
}

/** A TCP port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  return typeof address === 'object' && address ? address.port : 1;
}

const NAMES = [
  'companion_requests_total',
  'companion_request_duration_seconds',
  'companion_tokens_total',
  'companion_refusals_total',
  'companion_unauthenticated_total',
  'companion_upstream_errors_total',
  'companion_history_queue_depth',
];

test('/metrics from loopback: Prometheus text whose counters move with the traffic', async (t) => {
  const { companion } = await setup(t, { historyFlushMs: 5000 });
  const secret = companion.token('scraped', { models: ['llama3.2'] });
  const client = new Ollama({ host: companion.url, headers: { Authorization: `Bearer ${secret}` } });

  const before = await scrape(companion);
  assert.equal(before.status, 200);
  assert.match(String(before.headers['content-type']), /^text\/plain; version=0\.0\.4/);
  for (const name of NAMES) assert.match(before.text, new RegExp(`^# TYPE ${name} `, 'm'), name);
  assert.equal(total(before.text, 'companion_requests_total'), 0);
  assert.equal(sample(before.text, 'companion_history_queue_depth'), 0);

  let final: Record<string, unknown> = {};
  for await (const part of await client.chat({
    model: 'llama3.2',
    messages: [{ role: 'user', content: 'count my tokens' }],
    stream: true,
  })) {
    if (part.done) final = part as unknown as Record<string, unknown>;
  }
  await assert.rejects(client.chat({ model: 'qwen3:8b', messages: [{ role: 'user', content: 'not mine' }] }));
  const unauthenticated = await request(`${companion.url}/api/tags`, {
    headers: { authorization: 'Bearer nope' },
  });
  await unauthenticated.body.dump();
  assert.equal(unauthenticated.statusCode, 401);

  const after = await scrape(companion);
  assert.equal(sample(after.text, 'companion_requests_total', { endpoint: '/api/chat', status: '200' }), 1);
  assert.equal(sample(after.text, 'companion_requests_total', { endpoint: '/api/chat', status: '403' }), 1);
  assert.equal(sample(after.text, 'companion_request_duration_seconds_count', { endpoint: '/api/chat' }), 2);
  assert.ok(
    (sample(after.text, 'companion_request_duration_seconds_sum', { endpoint: '/api/chat' }) ?? 0) > 0,
  );
  assert.equal(
    sample(after.text, 'companion_tokens_total', { kind: 'prompt', model: 'llama3.2' }),
    final.prompt_eval_count,
  );
  assert.equal(
    sample(after.text, 'companion_tokens_total', { kind: 'completion', model: 'llama3.2' }),
    final.eval_count,
  );
  assert.equal(total(after.text, 'companion_refusals_total'), 1);
  assert.equal(sample(after.text, 'companion_unauthenticated_total'), 1);
  // Two records wait for the next flush (5 s away); writing them empties the queue.
  assert.equal(sample(after.text, 'companion_history_queue_depth'), 2);
  await companion.companion.history.flush();
  assert.equal(sample((await scrape(companion)).text, 'companion_history_queue_depth'), 0);
  assert.equal(after.text.includes(secret), false, 'no secret in the metrics');
});

test('companion_upstream_errors_total counts an unreachable Ollama', async (t) => {
  const companion = await startCompanion(t, `http://127.0.0.1:${await closedPort()}`);
  const secret = companion.token('stranded');
  const client = new Ollama({ host: companion.url, headers: { Authorization: `Bearer ${secret}` } });
  assert.equal(total((await scrape(companion)).text, 'companion_upstream_errors_total'), 0);
  await assert.rejects(
    client.chat({ model: 'llama3.2', messages: [{ role: 'user', content: 'anyone there?' }] }),
    (error: { status_code?: number }) => error.status_code === 502,
  );
  const text = (await scrape(companion)).text;
  assert.equal(total(text, 'companion_upstream_errors_total'), 1);
  assert.equal(sample(text, 'companion_requests_total', { endpoint: '/api/chat', status: '502' }), 1);
});

test('a request relayed by a reverse proxy on this machine needs a token for /metrics', async (t) => {
  const { companion } = await setup(t);
  const scraper = companion.token('scraper', { scopes: ['metrics'] });
  const proxies: Record<string, string>[] = [
    { 'x-forwarded-for': '203.0.113.7' },
    { forwarded: 'for=203.0.113.7;proto=https' },
    { 'x-real-ip': '203.0.113.7' },
  ];
  for (const relayed of proxies) {
    const outsider = await scrape(companion, relayed);
    assert.equal(outsider.status, 401, `refused with ${Object.keys(relayed)[0]}`);
    assert.doesNotMatch(outsider.text, /companion_requests_total/);
    const withToken = await scrape(companion, { ...relayed, authorization: `Bearer ${scraper}` });
    assert.equal(withToken.status, 200);
  }
  assert.equal((await scrape(companion)).status, 200, 'a scraper on this machine still needs none');
});

test('with metricsFromLoopback off: 401 without a token, 403 without the metrics scope, 200 with it', async (t) => {
  const { companion } = await setup(t, { metricsFromLoopback: false });
  const plain = companion.token('plain');
  const scraper = companion.token('scraper', { scopes: ['metrics'] });

  const anonymous = await scrape(companion);
  assert.equal(anonymous.status, 401);
  assert.ok(anonymous.headers['www-authenticate'], 'WWW-Authenticate tells the scraper to authenticate');
  assert.doesNotMatch(anonymous.text, /companion_requests_total/);

  const wrong = await scrape(companion, { authorization: 'Bearer oc_wrong' });
  assert.equal(wrong.status, 401);

  const forbidden = await scrape(companion, { authorization: `Bearer ${plain}` });
  assert.equal(forbidden.status, 403);
  assert.match(forbidden.text, /metrics/);
  assert.doesNotMatch(forbidden.text, /companion_requests_total/);

  const allowed = await scrape(companion, { authorization: `Bearer ${scraper}` });
  assert.equal(allowed.status, 200);
  assert.match(allowed.text, /^# TYPE companion_requests_total counter$/m);
  assert.equal(sample(allowed.text, 'companion_unauthenticated_total'), 2);

  // Scrapers that only take a URL use the path prefix.
  const prefixed = await scrape(companion, {}, `/t/${scraper}/metrics`);
  assert.equal(prefixed.status, 200);
  assert.match(prefixed.text, /companion_history_queue_depth/);
  for (const text of [anonymous.text, forbidden.text, allowed.text, prefixed.text]) {
    assert.equal(text.includes(scraper), false);
    assert.equal(text.includes(plain), false);
  }
});

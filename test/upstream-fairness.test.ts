/**
 * One busy token cannot block everyone: listings and the version go to Ollama on
 * connections of their own, so they answer while model runs fill the pool; a token
 * holds at most its share of the model-run connections, so another token's generation
 * still starts; and a request that waits too long for a connection gets Ollama's own
 * "server busy" answer (OpenAI's shape on /v1), with Retry-After.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Ollama } from 'ollama';
import OpenAI from 'openai';
import { Agent, request } from 'undici';
import { emulatorFor, startCompanion } from './support/companion-harness.js';

const BUSY = 'server busy, please try again.  maximum pending requests exceeded';

function generate(prompt: string): string {
  return JSON.stringify({ model: 'llama3.2', prompt, stream: true });
}

test('listings, the version and another token’s generation answer while one token runs 256 slow generations', async (t) => {
  // Each generation streams for about a minute; Ollama runs them all at once.
  const emulator = await emulatorFor(t, {
    parallel: 600,
    maxQueue: 600,
    chunks: 120,
    chunkDelayMs: 500,
    answer: () => 'word '.repeat(120),
  });
  const companion = await startCompanion(t, emulator.url, { shutdownGraceMs: 200 });
  const busy = companion.token('busy');
  const other = companion.token('other', { scopes: ['inference', 'read', 'show'] });
  const client = new Agent({ connections: 400 });
  t.after(() => client.destroy());

  const flood = Array.from({ length: 256 }, (_, i) =>
    request(`${companion.url}/api/generate`, {
      method: 'POST',
      dispatcher: client,
      headers: { authorization: `Bearer ${busy}` },
      body: generate(`slow ${i}`),
    }).then(
      (res) => res.body.dump().catch(() => {}),
      () => {},
    ),
  );
  void Promise.all(flood);
  // However many of them Ollama holds, the busy token's requests are all under way.
  await emulator.waitFor((e) => e.stats.inFlight >= 128, 20_000);
  await new Promise((resolve) => setTimeout(resolve, 500));

  const ask = async (method: 'GET' | 'POST', path: string, body?: string) => {
    const started = Date.now();
    try {
      const res = await request(`${companion.url}${path}`, {
        method,
        dispatcher: client,
        headers: { authorization: `Bearer ${other}` },
        ...(body ? { body } : {}),
        headersTimeout: 8000,
      });
      const firstChunk = await new Promise<number>((resolve, reject) => {
        res.body.once('data', () => resolve(Date.now() - started));
        res.body.once('error', reject);
      });
      res.body.destroy();
      return { status: res.statusCode, ms: firstChunk };
    } catch (error) {
      return { status: 0, ms: Date.now() - started, error: (error as Error).message };
    }
  };
  const answers = {
    tags: await ask('GET', '/api/tags'),
    version: await ask('GET', '/api/version'),
    show: await ask('POST', '/api/show', JSON.stringify({ model: 'llama3.2' })),
    generate: await ask('POST', '/api/generate', generate('another token')),
  };
  for (const [name, answer] of Object.entries(answers)) {
    assert.equal(answer.status, 200, `${name} got no answer within 8 s: ${JSON.stringify(answer)}`);
    // Generous for a loaded two-core machine; stuck behind the flood it would be minutes.
    assert.ok(answer.ms < 5000, `${name} took ${answer.ms} ms to its first byte`);
  }
});

test('a request that waits too long for a connection gets Ollama’s busy answer, or OpenAI’s shape on /v1', async (t) => {
  const emulator = await emulatorFor(t, {
    parallel: 10,
    chunks: 60,
    chunkDelayMs: 500,
    answer: () => 'word '.repeat(60),
  });
  const companion = await startCompanion(t, emulator.url, {
    upstreamConnections: 4,
    upstreamPerToken: 2,
    upstreamQueueMs: 300,
    shutdownGraceMs: 200,
  });
  const greedy = companion.token('greedy');
  const modest = companion.token('modest');
  const client = new Agent({ connections: 20 });
  t.after(() => client.destroy());
  const start = (secret: string, prompt: string) =>
    request(`${companion.url}/api/generate`, {
      method: 'POST',
      dispatcher: client,
      headers: { authorization: `Bearer ${secret}` },
      body: generate(prompt),
    });

  // The greedy token takes its share, two of the four connections, with long streams.
  const running = await Promise.all([start(greedy, 'one'), start(greedy, 'two')]);
  assert.deepEqual(
    running.map((r) => r.statusCode),
    [200, 200],
  );

  // Its third waits for a share it will not get in time: Ollama's own busy answer.
  const third = await start(greedy, 'three');
  assert.equal(third.statusCode, 503);
  assert.ok(Number(third.headers['retry-after']) > 0, 'Retry-After says when to try again');
  assert.deepEqual(await third.body.json(), { error: BUSY });

  // As its users call it: the ollama client surfaces the message and status.
  const ollama = new Ollama({ host: companion.url, headers: { Authorization: `Bearer ${greedy}` } });
  await assert.rejects(ollama.generate({ model: 'llama3.2', prompt: 'four', stream: false }), (error) => {
    assert.equal((error as { status_code?: number }).status_code, 503);
    assert.equal((error as Error).message, BUSY);
    return true;
  });
  const openai = new OpenAI({ baseURL: `${companion.url}/v1`, apiKey: greedy, maxRetries: 0 });
  await assert.rejects(
    openai.chat.completions.create({ model: 'llama3.2', messages: [{ role: 'user', content: 'five' }] }),
    (error) => {
      assert.ok(error instanceof OpenAI.APIError);
      assert.equal(error.status, 503);
      assert.equal(error.message, `503 ${BUSY}`);
      return true;
    },
  );

  const { id } = companion.companion.directory.identify(greedy).token;
  assert.equal(companion.companion.ledger.usage(id).calls.total, 2, 'the busy answers used up no call');

  // Another token still gets a connection at once.
  const modestRun = await start(modest, 'mine');
  assert.equal(modestRun.statusCode, 200);
  for (const res of [...running, modestRun]) res.body.destroy();
  assert.equal(
    emulator.requests.filter((r) => r.path === '/api/generate').length,
    3,
    'the refused ones never reached Ollama',
  );
});

test('a request that waits for a connection gets the one freed first, and is answered in full', async (t) => {
  const emulator = await emulatorFor(t, { chunks: 4, chunkDelayMs: 200, answer: () => 'one two three four' });
  const companion = await startCompanion(t, emulator.url, {
    upstreamConnections: 1,
    upstreamQueueMs: 10_000,
  });
  const secret = companion.token('patient');
  const ollama = new Ollama({ host: companion.url, headers: { Authorization: `Bearer ${secret}` } });
  const ask = (prompt: string) => ollama.generate({ model: 'llama3.2', prompt, stream: false });
  const [first, second] = await Promise.all([ask('first'), ask('second')]);
  assert.equal(first.response, 'one two three four');
  assert.equal(second.response, 'one two three four');
  const [a, b] = emulator.requests.filter((r) => r.path === '/api/generate');
  assert.ok(a && b);
  assert.ok(b.receivedAt - a.receivedAt >= 500, 'the second reached Ollama only once the first was done');
});

/**
 * The native Ollama API through the companion, driven by the `ollama` npm client as users
 * drive it: every endpoint answers as Ollama would, streams arrive chunk by chunk, lists are
 * narrowed to the token's models, and Ollama's own errors come back unchanged.
 */
import assert from 'node:assert/strict';
import { type TestContext, test } from 'node:test';
import { Ollama } from 'ollama';
import { request } from 'undici';
import { emulatorFor, eventually, startCompanion, type TestCompanion } from './support/companion-harness.js';
import type { Emulator, EmulatorOptions } from './support/ollama-emulator.js';

interface Setup {
  emulator: Emulator;
  companion: TestCompanion;
  secret: string;
  ollama: Ollama;
}

async function setup(
  t: TestContext,
  emulatorOptions: EmulatorOptions = {},
  policy: Parameters<TestCompanion['token']>[1] = {},
): Promise<Setup> {
  const emulator = await emulatorFor(t, emulatorOptions);
  const companion = await startCompanion(t, emulator.url);
  const secret = companion.token('native', {
    scopes: ['inference', 'embeddings', 'read', 'show'],
    ...policy,
  });
  const ollama = new Ollama({ host: companion.url, headers: { Authorization: `Bearer ${secret}` } });
  return { emulator, companion, secret, ollama };
}

/** Statuses and messages of errors thrown by the ollama client (its ResponseError). */
function clientError(error: unknown): { status: number | undefined; message: string } {
  const e = error as { status_code?: number; message?: string };
  return { status: e.status_code, message: e.message ?? '' };
}

async function historyFor(companion: TestCompanion, endpoint: string) {
  return eventually(() => {
    void companion.companion.history.flush();
    const rows = [...companion.companion.historyRepo.iterate({})].filter(
      (r) => r.endpoint === endpoint && r.outcome !== 'in_progress',
    );
    return rows.length > 0 ? rows : undefined;
  });
}

test('chat streamed with stream: true arrives in parts and adds up to the whole answer', async (t) => {
  const { ollama, emulator } = await setup(t, { chunks: 4 });
  const stream = await ollama.chat({
    model: 'llama3.2',
    messages: [{ role: 'user', content: 'hello there' }],
    stream: true,
  });
  const parts: string[] = [];
  let last: { done: boolean; eval_count?: number; done_reason?: string } | undefined;
  for await (const part of stream) {
    parts.push(part.message.content);
    last = part;
  }
  assert.ok(parts.length >= 4, `expected several parts, got ${parts.length}`);
  assert.equal(parts.join(''), 'Echo: hello there');
  assert.equal(last?.done, true);
  assert.equal(last?.done_reason, 'stop');
  assert.ok((last?.eval_count ?? 0) > 0);
  const upstream = emulator.requests.find((r) => r.path === '/api/chat');
  assert.deepEqual((upstream?.body as { stream?: boolean } | undefined)?.stream, true);
});

test('chat without a stream field streams NDJSON, as Ollama defaults to', async (t) => {
  const { companion, secret } = await setup(t, { chunks: 3 });
  const res = await request(`${companion.url}/api/chat`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'llama3.2', messages: [{ role: 'user', content: 'abc' }] }),
  });
  assert.equal(res.statusCode, 200);
  assert.equal(res.headers['content-type'], 'application/x-ndjson');
  const lines = (await res.body.text()).trim().split('\n');
  assert.ok(lines.length >= 4, `expected one line per chunk plus the final line, got ${lines.length}`);
  const objects = lines.map((line) => JSON.parse(line) as { done: boolean; message: { content: string } });
  assert.equal(objects.map((o) => o.message.content).join(''), 'Echo: abc');
  assert.equal(objects.at(-1)?.done, true);
});

test('chat not streamed answers one JSON object', async (t) => {
  const { ollama } = await setup(t);
  const response = await ollama.chat({
    model: 'llama3.2:latest',
    messages: [{ role: 'user', content: 'one shot' }],
  });
  assert.equal(response.message.role, 'assistant');
  assert.equal(response.message.content, 'Echo: one shot');
  assert.equal(response.done, true);
  assert.ok(response.prompt_eval_count > 0);
});

test('generate works streamed and not streamed', async (t) => {
  const { ollama } = await setup(t, { chunks: 3 });
  const whole = await ollama.generate({ model: 'llama3.2', prompt: 'tell me' });
  assert.equal(whole.response, 'Echo: tell me');
  assert.equal(whole.done, true);
  assert.ok(Array.isArray(whole.context) && whole.context.length > 0);

  const parts: string[] = [];
  for await (const part of await ollama.generate({ model: 'llama3.2', prompt: 'stream me', stream: true })) {
    parts.push(part.response ?? '');
  }
  assert.ok(parts.length >= 3);
  assert.equal(parts.join(''), 'Echo: stream me');
});

test('embed returns one vector per input with the model’s dimensions', async (t) => {
  const { ollama } = await setup(t);
  const response = await ollama.embed({ model: 'nomic-embed-text', input: ['first', 'second'] });
  assert.equal(response.embeddings.length, 2);
  assert.equal(response.embeddings[0]?.length, 768);
  assert.notDeepEqual(response.embeddings[0], response.embeddings[1]);
});

test('the legacy embeddings endpoint returns one vector', async (t) => {
  const { ollama } = await setup(t);
  const response = await ollama.embeddings({ model: 'nomic-embed-text', prompt: 'legacy' });
  assert.equal(response.embedding.length, 768);
});

test('show describes the model', async (t) => {
  const { ollama } = await setup(t);
  const response = await ollama.show({ model: 'qwen3:8b' });
  assert.equal(response.details.family, 'qwen3');
  assert.ok((response as { capabilities?: string[] }).capabilities?.includes('thinking'));
  assert.match(response.modelfile, /FROM /);
});

test('tags and ps list only the models the token may use', async (t) => {
  const { ollama, emulator } = await setup(
    t,
    { loaded: ['llama3.2:latest', 'qwen3:8b', 'nomic-embed-text:latest'] },
    { models: ['llama3.2', 'nomic-*'] },
  );
  const tags = await ollama.list();
  assert.deepEqual(tags.models.map((m) => m.name).sort(), ['llama3.2:latest', 'nomic-embed-text:latest']);
  const entry = tags.models.find((m) => m.name === 'llama3.2:latest');
  assert.equal(entry?.details.family, 'llama', 'entries keep every field Ollama sent');

  const ps = await ollama.ps();
  assert.deepEqual(ps.models.map((m) => m.name).sort(), ['llama3.2:latest', 'nomic-embed-text:latest']);
  assert.ok(emulator.requests.some((r) => r.path === '/api/ps'));
});

test('a token for every model sees the whole list', async (t) => {
  const { ollama } = await setup(t, {}, { models: ['*'] });
  const tags = await ollama.list();
  assert.equal(tags.models.length, 3);
});

test('version answers with Ollama’s version', async (t) => {
  const { ollama } = await setup(t, { version: '0.12.6' });
  const { version } = await ollama.version();
  assert.equal(version, '0.12.6');
});

test('thinking comes through, streamed and not', async (t) => {
  const { ollama } = await setup(t, { chunks: 3 });
  const whole = await ollama.chat({
    model: 'qwen3:8b',
    messages: [{ role: 'user', content: 'why' }],
    think: true,
  });
  assert.equal(whole.message.thinking, 'Thinking about: why');
  assert.equal(whole.message.content, 'Echo: why');

  let thinking = '';
  let content = '';
  for await (const part of await ollama.chat({
    model: 'qwen3:8b',
    messages: [{ role: 'user', content: 'how' }],
    think: true,
    stream: true,
  })) {
    thinking += part.message.thinking ?? '';
    content += part.message.content;
  }
  assert.equal(thinking, 'Thinking about: how');
  assert.equal(content, 'Echo: how');
});

test('tool calls come through', async (t) => {
  const { ollama } = await setup(t);
  const tools = [
    {
      type: 'function',
      function: {
        name: 'get_weather',
        description: 'Weather in a city',
        parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
      },
    },
  ];
  const response = await ollama.chat({
    model: 'llama3.2',
    messages: [{ role: 'user', content: 'Paris' }],
    tools,
  });
  const call = response.message.tool_calls?.[0];
  assert.equal(call?.function.name, 'get_weather');
  assert.deepEqual(call?.function.arguments, { city: 'Paris' });

  const streamed = [];
  for await (const part of await ollama.chat({
    model: 'llama3.2',
    messages: [{ role: 'user', content: 'Rome' }],
    tools,
    stream: true,
  })) {
    streamed.push(...(part.message.tool_calls ?? []));
  }
  assert.equal(streamed[0]?.function.name, 'get_weather');
  assert.deepEqual(streamed[0]?.function.arguments, { city: 'Rome' });
});

test('the first chunk reaches the client while Ollama is still sending the rest', async (t) => {
  const { ollama, emulator } = await setup(t, { chunks: 5, chunkDelayMs: 150 });
  const stream = await ollama.chat({
    model: 'llama3.2',
    messages: [{ role: 'user', content: 'slowly please' }],
    stream: true,
  });
  const seen: Array<{ content: string; inFlight: number; completed: number }> = [];
  for await (const part of stream) {
    seen.push({
      content: part.message.content,
      inFlight: emulator.stats.inFlight,
      completed: emulator.stats.completed,
    });
  }
  assert.ok(seen.length >= 5);
  assert.equal(seen[0]?.inFlight, 1, 'the upstream request is still running when the first part arrives');
  assert.equal(seen[0]?.completed, 0, 'the upstream answer has not finished when the first part arrives');
  assert.notEqual(seen[0]?.content, '');
  await emulator.waitFor((e) => e.stats.completed === 1);
});

test('an unknown model gets Ollama’s 404 and its body unchanged', async (t) => {
  const { ollama, companion, secret } = await setup(t);
  await assert.rejects(
    ollama.chat({ model: 'nope', messages: [{ role: 'user', content: 'x' }] }),
    (error: unknown) => {
      assert.deepEqual(clientError(error), { status: 404, message: "model 'nope' not found" });
      return true;
    },
  );
  const res = await request(`${companion.url}/api/generate`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}` },
    body: JSON.stringify({ model: 'x', prompt: 'hi' }),
  });
  assert.equal(res.statusCode, 404);
  assert.equal(await res.body.text(), `{"error":"model 'x' not found"}`);
  assert.match(String(res.headers['content-type']), /^application\/json/);
});

test('Ollama’s 503 when busy comes back with its body', async (t) => {
  const { ollama, companion, secret, emulator } = await setup(t, {
    parallel: 1,
    maxQueue: 0,
    chunks: 3,
    chunkDelayMs: 100,
  });
  const first = await ollama.chat({
    model: 'llama3.2',
    messages: [{ role: 'user', content: 'occupy' }],
    stream: true,
  });
  await emulator.waitFor((e) => e.stats.active === 1);
  const res = await request(`${companion.url}/api/chat`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}` },
    body: JSON.stringify({ model: 'llama3.2', messages: [{ role: 'user', content: 'me too' }] }),
  });
  assert.equal(res.statusCode, 503);
  assert.equal(
    await res.body.text(),
    '{"error":"server busy, please try again.  maximum pending requests exceeded"}',
  );
  let content = '';
  for await (const part of first) content += part.message.content;
  assert.equal(content, 'Echo: occupy', 'the running request is not disturbed');
});

test('an error line in the middle of a stream reaches the client', async (t) => {
  const { ollama, companion, secret } = await setup(t, {
    chunks: 5,
    failMidStream: { afterChunks: 2, error: 'model runner crashed' },
  });
  const parts: string[] = [];
  await assert.rejects(
    (async () => {
      for await (const part of await ollama.chat({
        model: 'llama3.2',
        messages: [{ role: 'user', content: 'break' }],
        stream: true,
      })) {
        parts.push(part.message.content);
      }
    })(),
    /model runner crashed/,
  );
  assert.equal(parts.length, 2, 'the chunks before the error arrived');

  const res = await request(`${companion.url}/api/generate`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}` },
    body: JSON.stringify({ model: 'llama3.2', prompt: 'break' }),
  });
  assert.equal(res.statusCode, 200);
  const lines = (await res.body.text()).trim().split('\n');
  assert.deepEqual(JSON.parse(lines.at(-1) ?? ''), { error: 'model runner crashed' });

  const rows = await historyFor(companion, '/api/chat');
  assert.equal(rows[0]?.outcome, 'error');
  assert.match(rows[0]?.error ?? '', /model runner crashed/);
});

/**
 * The OpenAI- and Anthropic-compatible APIs through the companion: the `openai` npm client
 * works against it as against Ollama, SSE streams pass through, model listings are narrowed
 * to the token's models, and refusals come back in the shape each client family expects.
 */
import assert from 'node:assert/strict';
import { type TestContext, test } from 'node:test';
import OpenAI from 'openai';
import { request } from 'undici';
import { emulatorFor, startCompanion, type TestCompanion } from './support/companion-harness.js';
import type { Emulator, EmulatorOptions } from './support/ollama-emulator.js';

interface Setup {
  emulator: Emulator;
  companion: TestCompanion;
  secret: string;
  openai: OpenAI;
}

async function setup(
  t: TestContext,
  emulatorOptions: EmulatorOptions = {},
  policy: Parameters<TestCompanion['token']>[1] = {},
): Promise<Setup> {
  const emulator = await emulatorFor(t, emulatorOptions);
  const companion = await startCompanion(t, emulator.url);
  const secret = companion.token('openai-user', policy);
  const openai = new OpenAI({ baseURL: `${companion.url}/v1`, apiKey: secret, maxRetries: 0 });
  return { emulator, companion, secret, openai };
}

interface SseEvent {
  event: string | undefined;
  data: string;
}

function parseSse(text: string): SseEvent[] {
  return text
    .split('\n\n')
    .filter((block) => block.trim() !== '')
    .map((block) => {
      let event: string | undefined;
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith('event:')) event = line.slice(6).trim();
        else if (line.startsWith('data:')) data.push(line.slice(5).trimStart());
      }
      return { event, data: data.join('\n') };
    });
}

test('chat.completions answers in one piece', async (t) => {
  const { openai, emulator } = await setup(t);
  const completion = await openai.chat.completions.create({
    model: 'llama3.2',
    messages: [{ role: 'user', content: 'hi openai' }],
  });
  assert.equal(completion.object, 'chat.completion');
  assert.equal(completion.choices[0]?.message.content, 'Echo: hi openai');
  assert.equal(completion.choices[0]?.finish_reason, 'stop');
  assert.ok((completion.usage?.total_tokens ?? 0) > 0);
  assert.equal(emulator.requests.filter((r) => r.path === '/v1/chat/completions').length, 1);
});

test('chat.completions streams deltas and the usage chunk when asked for', async (t) => {
  const { openai } = await setup(t, { chunks: 4 });
  const stream = await openai.chat.completions.create({
    model: 'llama3.2',
    messages: [{ role: 'user', content: 'stream it' }],
    stream: true,
    stream_options: { include_usage: true },
  });
  let content = '';
  let deltas = 0;
  let finish: string | null | undefined;
  let usage: OpenAI.CompletionUsage | null | undefined;
  for await (const chunk of stream) {
    const choice = chunk.choices[0];
    if (choice?.delta.content) {
      content += choice.delta.content;
      deltas++;
    }
    if (choice?.finish_reason) finish = choice.finish_reason;
    if (chunk.usage) usage = chunk.usage;
  }
  assert.equal(content, 'Echo: stream it');
  assert.ok(deltas >= 4, `expected several deltas, got ${deltas}`);
  assert.equal(finish, 'stop');
  assert.ok(usage && usage.completion_tokens > 0 && usage.prompt_tokens > 0);
});

test('completions answers streamed and not', async (t) => {
  const { openai } = await setup(t, { chunks: 3 });
  const whole = await openai.completions.create({ model: 'llama3.2', prompt: 'complete me' });
  assert.equal(whole.choices[0]?.text, 'Echo: complete me');

  let text = '';
  for await (const chunk of await openai.completions.create({
    model: 'llama3.2',
    prompt: 'stream me',
    stream: true,
  })) {
    text += chunk.choices[0]?.text ?? '';
  }
  assert.equal(text, 'Echo: stream me');
});

test('embeddings return one vector per input', async (t) => {
  const { openai } = await setup(t);
  const response = await openai.embeddings.create({
    model: 'nomic-embed-text',
    input: ['a', 'b', 'c'],
    encoding_format: 'float',
  });
  assert.equal(response.data.length, 3);
  assert.equal(response.data[0]?.embedding.length, 768);
  assert.deepEqual(
    response.data.map((d) => d.index),
    [0, 1, 2],
  );
});

test('embeddings work with the client’s default base64 encoding', async (t) => {
  const { openai } = await setup(t);
  const response = await openai.embeddings.create({ model: 'nomic-embed-text', input: 'default format' });
  assert.equal(response.data[0]?.embedding.length, 768);
});

test('models.list shows only the allowed models', async (t) => {
  const { openai } = await setup(t, {}, { models: ['qwen3:*', 'llama3.2'] });
  const ids: string[] = [];
  for await (const model of openai.models.list()) ids.push(model.id);
  assert.deepEqual(ids.sort(), ['llama3.2:latest', 'qwen3:8b']);
});

test('models.retrieve answers for an allowed model and refuses another with 403', async (t) => {
  const { openai, emulator } = await setup(t, {}, { models: ['llama3.2'] });
  const model = await openai.models.retrieve('llama3.2:latest');
  assert.equal(model.id, 'llama3.2:latest');
  assert.equal(model.object, 'model');

  emulator.reset();
  await assert.rejects(openai.models.retrieve('qwen3:8b'), (error: unknown) => {
    assert.ok(error instanceof OpenAI.APIError);
    assert.equal(error.status, 403);
    assert.equal(error.type, 'permission_error');
    assert.match(error.message, /qwen3:8b/);
    return true;
  });
  assert.equal(emulator.requests.length, 0, 'a refused request never reaches Ollama');
});

test('responses API answers streamed and not', async (t) => {
  const { openai } = await setup(t, { chunks: 3 });
  const response = await openai.responses.create({ model: 'llama3.2', input: 'respond' });
  assert.equal(response.status, 'completed');
  assert.equal(response.output_text, 'Echo: respond');

  const types = new Set<string>();
  let text = '';
  let completed: OpenAI.Responses.Response | undefined;
  for await (const event of await openai.responses.create({
    model: 'llama3.2',
    input: 'respond live',
    stream: true,
  })) {
    types.add(event.type);
    if (event.type === 'response.output_text.delta') text += event.delta;
    if (event.type === 'response.completed') completed = event.response;
  }
  assert.equal(text, 'Echo: respond live');
  assert.ok(types.has('response.created'));
  assert.equal(completed?.status, 'completed');
});

test('Anthropic messages answer as JSON', async (t) => {
  const { companion, secret, emulator } = await setup(t);
  const res = await request(`${companion.url}/v1/messages`, {
    method: 'POST',
    headers: {
      'x-api-key': secret,
      'anthropic-version': '2023-06-01',
      'content-type': 'application/json',
    },
    body: JSON.stringify({
      model: 'llama3.2',
      max_tokens: 100,
      messages: [{ role: 'user', content: 'bonjour' }],
    }),
  });
  assert.equal(res.statusCode, 200);
  const body = (await res.body.json()) as {
    type: string;
    role: string;
    content: Array<{ type: string; text?: string }>;
    stop_reason: string;
  };
  assert.equal(body.type, 'message');
  assert.equal(body.role, 'assistant');
  assert.deepEqual(body.content, [{ type: 'text', text: 'Echo: bonjour' }]);
  assert.equal(body.stop_reason, 'end_turn');
  const upstream = emulator.requests.find((r) => r.path === '/v1/messages');
  assert.equal(upstream?.headers['anthropic-version'], '2023-06-01');
});

test('Anthropic messages stream SSE events', async (t) => {
  const { companion, secret } = await setup(t, { chunks: 3 });
  const res = await request(`${companion.url}/v1/messages`, {
    method: 'POST',
    headers: { 'x-api-key': secret, 'anthropic-version': '2023-06-01' },
    body: JSON.stringify({
      model: 'llama3.2',
      max_tokens: 100,
      stream: true,
      messages: [{ role: 'user', content: 'stream' }],
    }),
  });
  assert.equal(res.statusCode, 200);
  assert.match(String(res.headers['content-type']), /^text\/event-stream/);
  const events = parseSse(await res.body.text());
  const names = events.map((e) => e.event);
  assert.equal(names[0], 'message_start');
  assert.equal(names.at(-1), 'message_stop');
  assert.ok(names.includes('content_block_start'));
  const text = events
    .filter((e) => e.event === 'content_block_delta')
    .map((e) => (JSON.parse(e.data) as { delta: { text?: string } }).delta.text ?? '')
    .join('');
  assert.equal(text, 'Echo: stream');
});

test('a refused model gets a 403 in each wire shape and never reaches Ollama', async (t) => {
  const { companion, secret, emulator, openai } = await setup(t, {}, { models: ['llama3.2'] });
  const headers = { authorization: `Bearer ${secret}`, 'content-type': 'application/json' };
  const messages = [{ role: 'user', content: 'forbidden' }];

  await assert.rejects(
    openai.chat.completions.create({ model: 'qwen3:8b', messages: [{ role: 'user', content: 'x' }] }),
    (error: unknown) => error instanceof OpenAI.APIError && error.status === 403,
  );

  const v1 = await request(`${companion.url}/v1/chat/completions`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ model: 'qwen3:8b', messages }),
  });
  assert.equal(v1.statusCode, 403);
  const v1Body = (await v1.body.json()) as { error: { message: string; type: string } };
  assert.equal(typeof v1Body.error.message, 'string');
  assert.match(v1Body.error.message, /qwen3:8b/);
  assert.equal(v1Body.error.type, 'permission_error');

  const anthropic = await request(`${companion.url}/v1/messages`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ model: 'qwen3:8b', max_tokens: 10, messages }),
  });
  assert.equal(anthropic.statusCode, 403);
  const anthropicBody = (await anthropic.body.json()) as {
    type: string;
    error: { type: string; message: string };
  };
  assert.equal(anthropicBody.type, 'error');
  assert.equal(anthropicBody.error.type, 'permission_error');
  assert.match(anthropicBody.error.message, /qwen3:8b/);

  const native = await request(`${companion.url}/api/chat`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ model: 'qwen3:8b', messages }),
  });
  assert.equal(native.statusCode, 403);
  const nativeBody = (await native.body.json()) as { error: unknown };
  assert.deepEqual(Object.keys(nativeBody), ['error']);
  assert.equal(typeof nativeBody.error, 'string');
  assert.match(String(nativeBody.error), /qwen3:8b/);

  assert.equal(emulator.requests.length, 0);
});

test('a missing scope is refused in each wire shape, naming the scope', async (t) => {
  const { companion, secret, emulator } = await setup(t, {}, { scopes: ['read'] });
  const headers = { authorization: `Bearer ${secret}` };
  const v1 = await request(`${companion.url}/v1/embeddings`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ model: 'nomic-embed-text', input: 'x' }),
  });
  assert.equal(v1.statusCode, 403);
  const v1Body = (await v1.body.json()) as { error: { message: string; type: string } };
  assert.match(v1Body.error.message, /embeddings/);

  const anthropic = await request(`${companion.url}/v1/messages`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ model: 'llama3.2', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }),
  });
  assert.equal(anthropic.statusCode, 403);
  const anthropicBody = (await anthropic.body.json()) as { type: string; error: { message: string } };
  assert.equal(anthropicBody.type, 'error');
  assert.match(anthropicBody.error.message, /inference/);

  const native = await request(`${companion.url}/api/embed`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ model: 'nomic-embed-text', input: 'x' }),
  });
  assert.equal(native.statusCode, 403);
  assert.match(((await native.body.json()) as { error: string }).error, /embeddings/);
  assert.equal(emulator.requests.length, 0);
});

test('without a token: 401 in the OpenAI, Anthropic and Ollama shapes', async (t) => {
  const { companion, emulator } = await setup(t);
  const anonymous = new OpenAI({ baseURL: `${companion.url}/v1`, apiKey: 'ollama', maxRetries: 0 });
  await assert.rejects(anonymous.models.list(), (error: unknown) => {
    assert.ok(error instanceof OpenAI.APIError);
    assert.equal(error.status, 401);
    assert.equal(typeof (error.error as { message?: unknown }).message, 'string');
    return true;
  });

  const anthropic = await request(`${companion.url}/v1/messages`, {
    method: 'POST',
    body: JSON.stringify({ model: 'llama3.2', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }),
  });
  assert.equal(anthropic.statusCode, 401);
  assert.ok(anthropic.headers['www-authenticate']);
  const anthropicBody = (await anthropic.body.json()) as { type: string; error: { type: string } };
  assert.equal(anthropicBody.type, 'error');
  assert.equal(anthropicBody.error.type, 'authentication_error');

  const native = await request(`${companion.url}/api/tags`);
  assert.equal(native.statusCode, 401);
  assert.ok(native.headers['www-authenticate']);
  const nativeBody = (await native.body.json()) as Record<string, unknown>;
  assert.deepEqual(Object.keys(nativeBody), ['error']);
  assert.equal(typeof nativeBody.error, 'string');
  assert.equal(emulator.requests.length, 0);
});

test('Ollama’s own OpenAI-shaped errors come back unchanged', async (t) => {
  const { openai, companion, secret } = await setup(t);
  await assert.rejects(
    openai.chat.completions.create({ model: 'missing-model', messages: [{ role: 'user', content: 'x' }] }),
    (error: unknown) => {
      assert.ok(error instanceof OpenAI.APIError);
      assert.equal(error.status, 404);
      assert.equal(error.message, "404 model 'missing-model' not found");
      return true;
    },
  );
  const res = await request(`${companion.url}/v1/messages`, {
    method: 'POST',
    headers: { 'x-api-key': secret },
    body: JSON.stringify({
      model: 'missing-model',
      max_tokens: 5,
      messages: [{ role: 'user', content: 'x' }],
    }),
  });
  assert.equal(res.statusCode, 404);
  const body = (await res.body.json()) as { type: string; error: { type: string; message: string } };
  assert.equal(body.type, 'error');
  assert.deepEqual(body.error, { type: 'not_found_error', message: "model 'missing-model' not found" });
});

test('the first SSE delta reaches the client while Ollama is still sending the rest', async (t) => {
  const { openai, emulator } = await setup(t, { chunks: 5, chunkDelayMs: 150 });
  const stream = await openai.chat.completions.create({
    model: 'llama3.2',
    messages: [{ role: 'user', content: 'slow stream' }],
    stream: true,
  });
  const states: Array<{ inFlight: number; completed: number }> = [];
  for await (const chunk of stream) {
    if (chunk.choices[0]?.delta.content) {
      states.push({ inFlight: emulator.stats.inFlight, completed: emulator.stats.completed });
    }
  }
  assert.ok(states.length >= 5);
  assert.deepEqual(states[0], { inFlight: 1, completed: 0 });
});

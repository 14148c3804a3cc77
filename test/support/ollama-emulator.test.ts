/**
 * Checks that the Ollama emulator follows Ollama's wire format (status codes, content types, framing, error
 * strings) with raw undici requests and with the real `ollama` and `openai` clients, so the proxy's tests can
 * trust it as a stand-in for Ollama.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { type TestContext, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Ollama } from 'ollama';
import OpenAI from 'openai';
import { request } from 'undici';
import { type Emulator, type EmulatorOptions, startEmulator } from './ollama-emulator.js';

type Json = Record<string, unknown>;

async function emu(t: TestContext, options: EmulatorOptions = {}): Promise<Emulator> {
  const emulator = await startEmulator(options);
  t.after(() => emulator.close());
  return emulator;
}

async function post(
  emulator: Emulator,
  path: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; type: string; text: string }> {
  const res = await request(`${emulator.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return {
    status: res.statusCode,
    type: String(res.headers['content-type'] ?? ''),
    text: await res.body.text(),
  };
}

function ndjson(text: string): Json[] {
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Json);
}

function sseEvents(text: string): Array<{ event: string | undefined; data: string }> {
  return text
    .split('\n\n')
    .filter((block) => block.trim() !== '')
    .map((block) => {
      const lines = block.split('\n');
      const event = lines.find((l) => l.startsWith('event: '))?.slice(7);
      const data = lines
        .filter((l) => l.startsWith('data: '))
        .map((l) => l.slice(6))
        .join('\n');
      return { event, data };
    });
}

const chatBody = (content: string, extra: Json = {}): Json => ({
  model: 'llama3.2',
  messages: [{ role: 'user', content }],
  ...extra,
});

test('GET and HEAD / answer "Ollama is running" as text/plain', async (t) => {
  const e = await emu(t);
  const get = await request(`${e.url}/`);
  assert.equal(get.statusCode, 200);
  assert.equal(get.headers['content-type'], 'text/plain; charset=utf-8');
  assert.equal(await get.body.text(), 'Ollama is running');
  const head = await request(`${e.url}/`, { method: 'HEAD' });
  assert.equal(head.statusCode, 200);
  assert.equal(await head.body.text(), '');
  const version = await request(`${e.url}/api/version`);
  assert.deepEqual(await version.body.json(), { version: e.options.version });
});

test('/api/chat streams NDJSON by default with a final done chunk carrying the counters', async (t) => {
  const e = await emu(t);
  const res = await post(e, '/api/chat', chatBody('hello there'));
  assert.equal(res.status, 200);
  assert.equal(res.type, 'application/x-ndjson');
  const lines = ndjson(res.text);
  assert.equal(lines.length, 6, 'five content chunks and the final chunk');
  const content = lines.map((l) => (l.message as Json).content).join('');
  assert.equal(content, 'Echo: hello there');
  for (const l of lines.slice(0, -1)) {
    assert.equal(l.done, false);
    assert.equal(l.model, 'llama3.2');
    assert.match(String(l.created_at), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
    assert.equal((l.message as Json).role, 'assistant');
  }
  const last = lines.at(-1) as Json;
  assert.equal(last.done, true);
  assert.equal(last.done_reason, 'stop');
  for (const k of [
    'total_duration',
    'load_duration',
    'prompt_eval_count',
    'prompt_eval_duration',
    'eval_count',
  ]) {
    assert.equal(typeof last[k], 'number', k);
    assert.ok((last[k] as number) > 0, k);
  }
  assert.equal(last.eval_count, 5);
});

test('/api/chat with stream:false answers one JSON object', async (t) => {
  const e = await emu(t);
  const res = await post(e, '/api/chat', chatBody('hi', { stream: false }));
  assert.equal(res.status, 200);
  assert.equal(res.type, 'application/json; charset=utf-8');
  const body = JSON.parse(res.text) as Json;
  assert.deepEqual(body.message, { role: 'assistant', content: 'Echo: hi' });
  assert.equal(body.done, true);
  assert.equal(body.done_reason, 'stop');
  assert.equal(typeof body.eval_duration, 'number');
});

test('/api/generate streams by default and carries context on the final chunk', async (t) => {
  const e = await emu(t, { chunks: 3 });
  const res = await post(e, '/api/generate', { model: 'llama3.2:latest', prompt: 'why?' });
  assert.equal(res.type, 'application/x-ndjson');
  const lines = ndjson(res.text);
  assert.equal(lines.length, 4);
  assert.equal(lines.map((l) => l.response).join(''), 'Echo: why?');
  const last = lines.at(-1) as Json;
  assert.equal(last.model, 'llama3.2:latest', 'the model name is echoed as sent');
  assert.ok(Array.isArray(last.context) && last.context.length > 0);
  const single = JSON.parse(
    (await post(e, '/api/generate', { model: 'llama3.2', prompt: 'x', stream: false })).text,
  );
  assert.equal(single.response, 'Echo: x');
  const load = JSON.parse((await post(e, '/api/generate', { model: 'llama3.2' })).text);
  assert.deepEqual([load.done, load.done_reason, load.response], [true, 'load', '']);
});

/** Streams a chat answer; returns when each of its lines arrived. `onLine` runs as each one does. */
async function lineArrivals(e: Emulator, onLine: (count: number) => void = () => {}): Promise<number[]> {
  const res = await request(`${e.url}/api/chat`, {
    method: 'POST',
    body: JSON.stringify(chatBody('abcdefgh')),
  });
  const arrivals: number[] = [];
  let buffered = '';
  for await (const chunk of res.body) {
    buffered += chunk.toString();
    const complete = buffered.split('\n');
    buffered = complete.pop() ?? '';
    for (const _line of complete) {
      arrivals.push(performance.now());
      onLine(arrivals.length);
    }
  }
  return arrivals;
}

test('stream chunks are written one by one with the configured delay', async (t) => {
  const e = await emu(t, { chunkDelayMs: 40, chunks: 4 });
  const arrivals = await lineArrivals(e);
  assert.equal(arrivals.length, 5);
  const first = arrivals[0] ?? 0;
  const last = arrivals.at(-1) ?? 0;
  assert.ok(last - first >= 4 * 40 - 15, `chunks spread over time (${Math.round(last - first)} ms)`);
  assert.ok(first <= last - 100, 'the first chunk arrives well before the stream ends');
});

test('a chunk written late does not push back the rest of the stream', async (t) => {
  // A model keeps its own pace: the benchmark's answer times must not stretch because
  // the emulator's event loop was busy for a while.
  const e = await emu(t, { chunkDelayMs: 50, chunks: 4 });
  const arrivals = await lineArrivals(e, (count) => {
    if (count !== 1) return;
    // The whole process stalls, the emulator's timers included.
    const until = performance.now() + 250;
    while (performance.now() < until) {}
  });
  assert.equal(arrivals.length, 5);
  const spread = (arrivals.at(-1) ?? 0) - (arrivals[0] ?? 0);
  // On schedule the last chunks are overdue once the stall ends, at 250 ms; pushed back
  // by it, the stream would end 250 + 3 × 50 = 400 ms after its first chunk.
  assert.ok(spread < 325, `the stream kept its schedule (${Math.round(spread)} ms)`);
  assert.ok(spread >= 4 * 50 - 15, `chunks still spread over time (${Math.round(spread)} ms)`);
});

test('live options change the answer shape', async (t) => {
  const e = await emu(t);
  e.options.chunks = 2;
  e.options.answer = ({ prompt, endpoint }) => `custom ${endpoint} ${prompt}`;
  const lines = ndjson((await post(e, '/api/chat', chatBody('q'))).text);
  assert.equal(lines.length, 3);
  assert.equal(lines.map((l) => (l.message as Json).content).join(''), 'custom /api/chat q');
});

test('think:true yields thinking before content; models without thinking answer 400', async (t) => {
  const e = await emu(t);
  const lines = ndjson(
    (await post(e, '/api/chat', { ...chatBody('sky'), model: 'qwen3:8b', think: true })).text,
  );
  const firstContent = lines.findIndex((l) => (l.message as Json).content !== '');
  const thinkingAt = lines.flatMap((l, i) => (typeof (l.message as Json).thinking === 'string' ? [i] : []));
  const lastThinking = thinkingAt.at(-1) ?? -1;
  assert.ok(lastThinking >= 0 && lastThinking < firstContent);
  assert.equal(lines.map((l) => (l.message as Json).thinking ?? '').join(''), 'Thinking about: sky');
  const gen = ndjson((await post(e, '/api/generate', { model: 'qwen3:8b', prompt: 'p', think: true })).text);
  assert.equal(gen.map((l) => l.thinking ?? '').join(''), 'Thinking about: p');
  const refused = await post(e, '/api/chat', { ...chatBody('x'), think: true });
  assert.equal(refused.status, 400);
  assert.equal(refused.text, '{"error":"\\"llama3.2\\" does not support thinking"}');
});

test('a chat request with tools ends with tool_calls', async (t) => {
  const e = await emu(t);
  const tools = [
    {
      type: 'function',
      function: {
        name: 'get_weather',
        parameters: { type: 'object', properties: { city: { type: 'string' }, days: { type: 'integer' } } },
      },
    },
  ];
  const single = JSON.parse((await post(e, '/api/chat', chatBody('Paris', { tools, stream: false }))).text);
  assert.equal(single.message.content, '');
  assert.equal(single.message.tool_calls.length, 1);
  assert.equal(single.message.tool_calls[0].function.name, 'get_weather');
  assert.deepEqual(single.message.tool_calls[0].function.arguments, { city: 'Paris', days: 42 });
  assert.match(single.message.tool_calls[0].id, /^call_[a-z0-9]{8}$/);
  const streamed = ndjson((await post(e, '/api/chat', chatBody('Paris', { tools }))).text);
  assert.ok(streamed.some((l) => Array.isArray((l.message as Json).tool_calls)));
  const embedOnly = await post(e, '/api/chat', { ...chatBody('x', { tools }), model: 'nomic-embed-text' });
  assert.equal(embedOnly.status, 400);
  assert.equal(JSON.parse(embedOnly.text).error, '"nomic-embed-text" does not support chat');
});

test('native error shapes and messages match Ollama', async (t) => {
  const e = await emu(t);
  const cases: Array<[string, unknown, number, string]> = [
    ['/api/chat', chatBody('x', { model: 'nope' }), 404, "model 'nope' not found"],
    ['/api/chat', { messages: [] }, 400, 'model is required'],
    ['/api/generate', { prompt: 'x' }, 404, "model '' not found"],
    ['/api/generate', { model: 'ghost', prompt: 'x' }, 404, "model 'ghost' not found"],
    ['/api/show', {}, 400, 'model is required'],
    ['/api/show', { model: 'ghost' }, 404, "model 'ghost' not found"],
    ['/api/embed', { model: 'ghost', input: 'x' }, 404, "model 'ghost' not found"],
    [
      '/api/embeddings',
      { model: 'ghost', prompt: 'x' },
      404,
      'model "ghost" not found, try pulling it first',
    ],
    ['/api/chat', '{bad', 400, "invalid character 'b' looking for beginning of object key string"],
    ['/api/chat', '{"model": "llama3.2",', 400, 'unexpected EOF'],
    ['/api/chat', '', 400, 'missing request body'],
    [
      '/api/chat',
      { model: 5 },
      400,
      'json: cannot unmarshal number into Go struct field ChatRequest.model of type string',
    ],
  ];
  for (const [path, body, status, message] of cases) {
    const res = await post(e, path, body);
    assert.equal(res.status, status, `${path} ${JSON.stringify(body)}`);
    assert.equal(res.type, 'application/json; charset=utf-8');
    assert.deepEqual(JSON.parse(res.text), { error: message });
  }
  const del = await request(`${e.url}/api/delete`, {
    method: 'DELETE',
    body: JSON.stringify({ model: 'ghost' }),
  });
  assert.equal(del.statusCode, 404);
  assert.deepEqual(await del.body.json(), { error: "model 'ghost' not found" });
});

test('unknown paths answer Gin 404 text, wrong methods 405', async (t) => {
  const e = await emu(t);
  const missing = await request(`${e.url}/api/nothing`);
  assert.equal(missing.statusCode, 404);
  assert.equal(missing.headers['content-type'], 'text/plain');
  assert.equal(await missing.body.text(), '404 page not found');
  const wrong = await request(`${e.url}/api/chat`);
  assert.equal(wrong.statusCode, 405);
  assert.equal(await wrong.body.text(), '405 method not allowed');
});

test('a foreign Host or Origin gets an empty 403; local hosts pass', async (t) => {
  const e = await emu(t);
  const foreign = await request(`${e.url}/api/tags`, { headers: { host: 'ollama.example.com' } });
  assert.equal(foreign.statusCode, 403);
  assert.equal(await foreign.body.text(), '');
  assert.equal(foreign.headers['content-type'], undefined);
  for (const host of ['localhost:11434', '127.0.0.1', '[::1]:11434', '0.0.0.0:80', 'box.local']) {
    const ok = await request(`${e.url}/api/tags`, { headers: { host } });
    assert.equal(ok.statusCode, 200, host);
    await ok.body.dump();
  }
  const origin = await request(`${e.url}/api/tags`, { headers: { origin: 'https://evil.example' } });
  assert.equal(origin.statusCode, 403);
  assert.equal(await origin.body.text(), '');
  e.options.checkHost = false;
  const relaxed = await request(`${e.url}/api/tags`, { headers: { host: 'ollama.example.com' } });
  assert.equal(relaxed.statusCode, 200);
  await relaxed.body.dump();
});

test('more than parallel+maxQueue generations get 503 with Ollama body', async (t) => {
  const e = await emu(t, { parallel: 1, maxQueue: 1, chunkDelayMs: 30 });
  const first = post(e, '/api/chat', chatBody('one'));
  const second = post(e, '/api/generate', { model: 'llama3.2', prompt: 'two' });
  await e.waitFor((x) => x.stats.active === 1 && x.stats.queued === 1);
  assert.equal(e.stats.inFlight, 2);
  const third = await post(e, '/api/chat', chatBody('three'));
  assert.equal(third.status, 503);
  assert.equal(third.text, '{"error":"server busy, please try again.  maximum pending requests exceeded"}');
  const v1 = await post(e, '/v1/chat/completions', chatBody('four'));
  assert.equal(v1.status, 503);
  assert.equal(JSON.parse(v1.text).error.type, 'api_error');
  const results = await Promise.all([first, second]);
  assert.deepEqual(
    results.map((r) => r.status),
    [200, 200],
  );
  assert.equal(e.stats.rejected, 2);
  assert.equal(e.stats.completed, 2);
  assert.equal(e.stats.maxInFlight, 2);
});

test('a client leaving mid-stream stops the stream and counts as aborted', async (t) => {
  const e = await emu(t, { chunkDelayMs: 50, chunks: 20 });
  const controller = new AbortController();
  const res = await request(`${e.url}/api/chat`, {
    method: 'POST',
    body: JSON.stringify(chatBody('a long question to answer slowly')),
    signal: controller.signal,
  });
  const iterator = res.body[Symbol.asyncIterator]();
  await iterator.next();
  assert.equal(e.stats.inFlight, 1);
  controller.abort();
  await e.waitFor((x) => x.stats.aborted === 1);
  assert.equal(e.stats.inFlight, 0);
  assert.equal(e.stats.completed, 0);
  assert.equal(e.stats.active, 0, 'the slot is released');
});

test('failMidStream ends NDJSON with an error line and SSE with an error event', async (t) => {
  const e = await emu(t, { failMidStream: { afterChunks: 2, error: 'boom' } });
  const lines = ndjson((await post(e, '/api/chat', chatBody('x'))).text);
  assert.equal(lines.length, 3);
  assert.deepEqual(lines.at(-1), { error: 'boom' });
  const sse = sseEvents((await post(e, '/v1/chat/completions', chatBody('x', { stream: true }))).text);
  assert.deepEqual(JSON.parse(sse.at(-1)?.data ?? ''), {
    error: { message: 'boom', type: 'api_error', param: null, code: null },
  });
  e.options.failMidStream = { afterChunks: 0 };
  const early = await post(e, '/api/chat', chatBody('x'));
  assert.equal(early.status, 500);
  assert.equal(typeof JSON.parse(early.text).error, 'string');
});

test('cutMidStream sends whole chunks, then half a line, then drops the connection', async (t) => {
  const e = await emu(t, { chunks: 5, cutMidStream: { afterChunks: 2 } });
  for (const [path, extra] of [
    ['/api/chat', {}],
    ['/v1/chat/completions', { stream: true }],
  ] as const) {
    const res = await request(`${e.url}${path}`, {
      method: 'POST',
      body: JSON.stringify(chatBody('a question to cut', extra)),
    });
    assert.equal(res.statusCode, 200);
    let received = '';
    await assert.rejects(async () => {
      for await (const chunk of res.body) received += chunk.toString();
    }, /terminated|other side closed/);
    const separator = path === '/api/chat' ? '\n' : '\n\n';
    const whole = received.split(separator);
    assert.equal(whole.length, 3, `${path}: two whole chunks and a part (${JSON.stringify(received)})`);
    assert.notEqual(whole.at(-1), '', `${path}: the last line is incomplete`);
    assert.throws(() => JSON.parse((whole.at(-1) ?? '').replace(/^data: /, '')));
  }
});

test('requests are recorded with headers and parsed bodies', async (t) => {
  const e = await emu(t);
  await post(e, '/api/chat', chatBody('rec', { stream: false }), {
    authorization: 'Bearer secret',
    'x-extra': '1',
  });
  const rec = e.requests.at(-1);
  assert.ok(rec);
  assert.equal(rec.method, 'POST');
  assert.equal(rec.path, '/api/chat');
  assert.equal(rec.headers.authorization, 'Bearer secret');
  assert.equal(rec.headers.host, new URL(e.url).host);
  assert.deepEqual(rec.body, chatBody('rec', { stream: false }));
  e.reset();
  assert.equal(e.requests.length, 0);
});

test('tags, ps, show, embed and embeddings have Ollama shapes', async (t) => {
  const e = await emu(t, { embeddingDimensions: 8 });
  const tags = (await (await request(`${e.url}/api/tags`)).body.json()) as { models: Json[] };
  assert.deepEqual(
    tags.models.map((m) => m.name),
    ['llama3.2:latest', 'qwen3:8b', 'nomic-embed-text:latest'],
  );
  const first = tags.models[0] as Json;
  assert.deepEqual(Object.keys(first), ['name', 'model', 'modified_at', 'size', 'digest', 'details']);
  assert.deepEqual(Object.keys(first.details as Json), [
    'parent_model',
    'format',
    'family',
    'families',
    'parameter_size',
    'quantization_level',
  ]);
  assert.deepEqual(await (await request(`${e.url}/api/ps`)).body.json(), { models: [] });
  const embed = JSON.parse(
    (await post(e, '/api/embed', { model: 'nomic-embed-text', input: ['a', 'b'] })).text,
  );
  assert.equal(embed.model, 'nomic-embed-text');
  assert.equal(embed.embeddings.length, 2);
  assert.equal(embed.embeddings[0].length, 8);
  const norm = Math.hypot(...(embed.embeddings[0] as number[]));
  assert.ok(Math.abs(norm - 1) < 1e-5, 'embeddings are normalized');
  assert.equal(typeof embed.prompt_eval_count, 'number');
  const again = JSON.parse((await post(e, '/api/embed', { model: 'nomic-embed-text', input: 'a' })).text);
  assert.deepEqual(again.embeddings[0], embed.embeddings[0], 'deterministic');
  const legacy = JSON.parse(
    (await post(e, '/api/embeddings', { model: 'nomic-embed-text', prompt: 'a' })).text,
  );
  assert.equal(legacy.embedding.length, 8);
  const ps = (await (await request(`${e.url}/api/ps`)).body.json()) as { models: Json[] };
  assert.deepEqual(
    ps.models.map((m) => m.name),
    ['nomic-embed-text:latest'],
  );
  assert.ok('expires_at' in (ps.models[0] as Json) && 'size_vram' in (ps.models[0] as Json));
  const show = JSON.parse((await post(e, '/api/show', { model: 'qwen3:8b' })).text);
  assert.deepEqual(show.capabilities, ['completion', 'tools', 'thinking']);
  assert.equal(show.details.family, 'qwen3');
  assert.equal(typeof show.model_info, 'object');
});

test('pull, push, create, copy, delete and blobs behave like Ollama', async (t) => {
  const e = await emu(t);
  const pull = await post(e, '/api/pull', { model: 'phi4:14b' });
  assert.equal(pull.type, 'application/x-ndjson');
  const statuses = ndjson(pull.text).map((l) => l.status);
  assert.equal(statuses[0], 'pulling manifest');
  assert.equal(statuses.at(-1), 'success');
  assert.ok(e.options.models.some((m) => m.name === 'phi4:14b'));
  const quiet = await post(e, '/api/pull', { model: 'phi4:14b', stream: false });
  assert.equal(quiet.type, 'application/json');
  assert.deepEqual(JSON.parse(quiet.text), { status: 'success' });
  const push = ndjson((await post(e, '/api/push', { model: 'phi4:14b' })).text);
  assert.equal(push.at(-1)?.status, 'success');
  const copy = await post(e, '/api/copy', { source: 'llama3.2', destination: 'mine:v1' });
  assert.deepEqual([copy.status, copy.text], [200, '']);
  const missingCopy = await post(e, '/api/copy', { source: 'ghost', destination: 'x' });
  assert.deepEqual(
    [missingCopy.status, JSON.parse(missingCopy.text).error],
    [404, 'model "ghost" not found'],
  );
  const create = ndjson(
    (await post(e, '/api/create', { model: 'made', from: 'mine:v1', system: 'be brief' })).text,
  );
  assert.equal(create.at(-1)?.status, 'success');
  assert.ok(e.options.models.some((m) => m.name === 'made:latest'));
  const badCreate = await post(e, '/api/create', { model: 'made2' });
  assert.deepEqual(
    [badCreate.status, JSON.parse(badCreate.text).error],
    [400, "neither 'from' or 'files' was specified"],
  );
  const del = await request(`${e.url}/api/delete`, {
    method: 'DELETE',
    body: JSON.stringify({ model: 'mine:v1' }),
  });
  assert.equal(del.statusCode, 200);
  assert.equal(await del.body.text(), '');
  const data = Buffer.from('GGUF blob');
  const digest = `sha256:${createHash('sha256').update(data).digest('hex')}`;
  const head = await request(`${e.url}/api/blobs/${digest}`, { method: 'HEAD' });
  assert.equal(head.statusCode, 404);
  await head.body.dump();
  const upload = await request(`${e.url}/api/blobs/${digest}`, { method: 'POST', body: data });
  assert.equal(upload.statusCode, 201);
  await upload.body.dump();
  const head2 = await request(`${e.url}/api/blobs/${digest}`, { method: 'HEAD' });
  assert.equal(head2.statusCode, 200);
  await head2.body.dump();
  const bad = await request(`${e.url}/api/blobs/sha256:${'0'.repeat(64)}`, { method: 'POST', body: data });
  assert.equal(bad.statusCode, 400);
  assert.match(((await bad.body.json()) as Json).error as string, /^digest mismatch/);
});

test('/v1/chat/completions: JSON by default, SSE framing with usage and [DONE] when streaming', async (t) => {
  const e = await emu(t);
  const plain = await post(e, '/v1/chat/completions', chatBody('hey'));
  assert.equal(plain.type, 'application/json');
  const completion = JSON.parse(plain.text);
  assert.equal(completion.object, 'chat.completion');
  assert.match(completion.id, /^chatcmpl-\d+$/);
  assert.equal(completion.choices[0].message.content, 'Echo: hey');
  assert.equal(completion.choices[0].finish_reason, 'stop');
  assert.deepEqual(Object.keys(completion.usage), ['prompt_tokens', 'completion_tokens', 'total_tokens']);
  const streamed = await post(
    e,
    '/v1/chat/completions',
    chatBody('hey', { stream: true, stream_options: { include_usage: true } }),
  );
  assert.equal(streamed.type, 'text/event-stream');
  assert.ok(streamed.text.endsWith('data: [DONE]\n\n'));
  const events = sseEvents(streamed.text);
  assert.ok(events.every((ev) => ev.event === undefined));
  const chunks = events.slice(0, -1).map((ev) => JSON.parse(ev.data));
  assert.ok(chunks.every((c) => c.object === 'chat.completion.chunk'));
  assert.equal(chunks.map((c) => c.choices[0]?.delta.content ?? '').join(''), 'Echo: hey');
  const usage = chunks.at(-1);
  assert.deepEqual(usage.choices, []);
  assert.equal(usage.usage.total_tokens, usage.usage.prompt_tokens + usage.usage.completion_tokens);
  const notFound = await post(e, '/v1/chat/completions', chatBody('x', { model: 'ghost' }));
  assert.equal(notFound.status, 404);
  assert.deepEqual(JSON.parse(notFound.text), {
    error: { message: "model 'ghost' not found", type: 'not_found_error', param: null, code: null },
  });
  const empty = await post(e, '/v1/chat/completions', { model: 'llama3.2', messages: [] });
  assert.equal(empty.status, 400);
  assert.equal(JSON.parse(empty.text).error.message, "[] is too short - 'messages'");
  assert.equal(JSON.parse(empty.text).error.type, 'invalid_request_error');
});

test('/v1 models, completions, embeddings and responses', async (t) => {
  const e = await emu(t);
  const models = (await (await request(`${e.url}/v1/models`)).body.json()) as {
    object: string;
    data: Json[];
  };
  assert.equal(models.object, 'list');
  assert.deepEqual(models.data[0], {
    id: 'llama3.2:latest',
    object: 'model',
    created: 1748772000,
    owned_by: 'library',
  });
  const one = await request(`${e.url}/v1/models/qwen3:8b`);
  assert.equal(((await one.body.json()) as Json).id, 'qwen3:8b');
  const none = await request(`${e.url}/v1/models/ghost`);
  assert.equal(none.statusCode, 404);
  assert.equal(((await none.body.json()) as { error: Json }).error.type, 'not_found_error');
  const completion = JSON.parse((await post(e, '/v1/completions', { model: 'llama3.2', prompt: 'p' })).text);
  assert.equal(completion.object, 'text_completion');
  assert.equal(completion.choices[0].text, 'Echo: p');
  const emb = JSON.parse((await post(e, '/v1/embeddings', { model: 'nomic-embed-text', input: 'x' })).text);
  assert.equal(emb.object, 'list');
  assert.equal(emb.data[0].object, 'embedding');
  assert.equal(emb.data[0].embedding.length, 768);
  const stream = await post(e, '/v1/responses', { model: 'llama3.2', input: 'hi', stream: true });
  assert.equal(stream.type, 'text/event-stream');
  const events = sseEvents(stream.text);
  assert.equal(events[0]?.event, 'response.created');
  assert.equal(events.at(-1)?.event, 'response.completed');
  for (const ev of events) assert.equal(JSON.parse(ev.data).type, ev.event);
  const done = JSON.parse(events.at(-1)?.data ?? '{}');
  assert.equal(done.response.output[0].content[0].text, 'Echo: hi');
  const plain = JSON.parse((await post(e, '/v1/responses', { model: 'llama3.2', input: 'hi' })).text);
  assert.equal(plain.object, 'response');
  assert.equal(plain.status, 'completed');
});

test('/v1/messages speaks Anthropic: message object, SSE events, error shape', async (t) => {
  const e = await emu(t);
  const body = { model: 'llama3.2', max_tokens: 64, messages: [{ role: 'user', content: 'yo' }] };
  const plain = await post(e, '/v1/messages', body);
  assert.equal(plain.type, 'application/json');
  const message = JSON.parse(plain.text);
  assert.equal(message.type, 'message');
  assert.match(message.id, /^msg_[0-9a-f]{24}$/);
  assert.deepEqual(message.content, [{ type: 'text', text: 'Echo: yo' }]);
  assert.equal(message.stop_reason, 'end_turn');
  assert.deepEqual(Object.keys(message.usage), ['input_tokens', 'output_tokens']);
  const streamed = await post(e, '/v1/messages', { ...body, stream: true });
  assert.equal(streamed.type, 'text/event-stream');
  const events = sseEvents(streamed.text);
  const names = [...new Set(events.map((ev) => ev.event))];
  assert.deepEqual(names, [
    'message_start',
    'content_block_start',
    'content_block_delta',
    'content_block_stop',
    'message_delta',
    'message_stop',
  ]);
  for (const ev of events) assert.equal(JSON.parse(ev.data).type, ev.event);
  const text = events
    .filter((ev) => ev.event === 'content_block_delta')
    .map((ev) => JSON.parse(ev.data).delta.text)
    .join('');
  assert.equal(text, 'Echo: yo');
  const bad = await post(e, '/v1/messages', { model: 'llama3.2', messages: body.messages });
  assert.equal(bad.status, 400);
  const err = JSON.parse(bad.text);
  assert.equal(err.type, 'error');
  assert.deepEqual(err.error, {
    type: 'invalid_request_error',
    message: 'max_tokens is required and must be positive',
  });
  const missing = await post(e, '/v1/messages', { ...body, model: 'ghost' });
  assert.deepEqual([missing.status, JSON.parse(missing.text).error.type], [404, 'not_found_error']);
});

test('the ollama npm client works against the emulator', async (t) => {
  const e = await emu(t);
  const ollama = new Ollama({ host: e.url });
  const list = await ollama.list();
  assert.ok(list.models.some((m) => m.name === 'llama3.2:latest'));
  let content = '';
  let final: Json | undefined;
  for await (const part of await ollama.chat({
    model: 'llama3.2',
    messages: [{ role: 'user', content: 'ping' }],
    stream: true,
  })) {
    content += part.message.content;
    if (part.done) final = part as unknown as Json;
  }
  assert.equal(content, 'Echo: ping');
  assert.equal(final?.done_reason, 'stop');
  const once_ = await ollama.chat({ model: 'llama3.2', messages: [{ role: 'user', content: 'ping' }] });
  assert.equal(once_.message.content, 'Echo: ping');
  const gen = await ollama.generate({ model: 'llama3.2', prompt: 'p' });
  assert.equal(gen.response, 'Echo: p');
  const emb = await ollama.embed({ model: 'nomic-embed-text', input: 'x' });
  assert.equal(emb.embeddings.length, 1);
  const show = await ollama.show({ model: 'llama3.2' });
  assert.equal(show.details.family, 'llama');
  const progress: string[] = [];
  for await (const p of await ollama.pull({ model: 'tinyllama', stream: true })) progress.push(p.status);
  assert.equal(progress.at(-1), 'success');
  await assert.rejects(
    ollama.chat({ model: 'ghost', messages: [] }),
    (err: Error & { status_code?: number }) => {
      assert.equal(err.status_code, 404);
      assert.equal(err.message, "model 'ghost' not found");
      return true;
    },
  );
  assert.equal(e.requests.at(-1)?.headers['content-type'], 'application/json');
});

test('the openai npm client works against the emulator', async (t) => {
  const e = await emu(t);
  const client = new OpenAI({ baseURL: `${e.url}/v1`, apiKey: 'x', maxRetries: 0 });
  const models = await client.models.list();
  assert.ok(models.data.some((m) => m.id === 'qwen3:8b'));
  const completion = await client.chat.completions.create({
    model: 'llama3.2',
    messages: [{ role: 'user', content: 'hi' }],
  });
  assert.equal(completion.choices[0]?.message.content, 'Echo: hi');
  const stream = await client.chat.completions.create({
    model: 'llama3.2',
    messages: [{ role: 'user', content: 'hi' }],
    stream: true,
    stream_options: { include_usage: true },
  });
  let text = '';
  let usage: unknown;
  for await (const chunk of stream) {
    text += chunk.choices[0]?.delta.content ?? '';
    if (chunk.usage) usage = chunk.usage;
  }
  assert.equal(text, 'Echo: hi');
  assert.ok(usage);
  const emb = await client.embeddings.create({ model: 'nomic-embed-text', input: ['a', 'b'] });
  assert.equal(emb.data.length, 2);
  const resp = await client.responses.create({ model: 'llama3.2', input: 'hello' });
  assert.equal(resp.output_text, 'Echo: hello');
  await assert.rejects(
    client.chat.completions.create({ model: 'ghost', messages: [{ role: 'user', content: 'x' }] }),
    (err: unknown) => {
      assert.ok(err instanceof OpenAI.NotFoundError);
      assert.equal(err.status, 404);
      assert.match(err.message, /model 'ghost' not found/);
      return true;
    },
  );
  assert.equal(e.requests.at(-1)?.headers.authorization, 'Bearer x');
});

test('emulator-main runs as a process, prints its URL and exits on SIGTERM', async () => {
  const main = fileURLToPath(new URL('./emulator-main.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', main, '--port', '0', '--chunks', '2'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    const lines = createInterface({ input: child.stdout });
    const [line] = (await once(lines, 'line')) as [string];
    const { url } = JSON.parse(line) as { url: string };
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
    const res = await request(`${url}/api/chat`, { method: 'POST', body: JSON.stringify(chatBody('cli')) });
    assert.equal(ndjson(await res.body.text()).length, 3);
  } finally {
    child.kill('SIGTERM');
  }
  const [code] = (await once(child, 'exit')) as [number | null];
  assert.equal(code, 0);
});

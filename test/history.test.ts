/**
 * History as a user relies on it: every request made with a known token leaves one
 * record holding the request, the whole answer reassembled from the stream and Ollama's
 * counters; refusals and failures too; nothing for unauthenticated attempts; the
 * token's history mode honoured.
 */
import assert from 'node:assert/strict';
import { type TestContext, test } from 'node:test';
import OpenAI from 'openai';
import { request } from 'undici';
import type { HistoryRecord } from '../src/history/history-record.js';
import {
  emulatorFor,
  eventually,
  ollamaClient,
  startCompanion,
  type TestCompanion,
} from './support/companion-harness.js';
import type { Emulator, EmulatorOptions } from './support/ollama-emulator.js';

async function setup(t: TestContext, options: EmulatorOptions = {}) {
  const emulator = await emulatorFor(t, options);
  const companion = await startCompanion(t, emulator.url);
  return { emulator, companion };
}

/** Every history record on disk, in start order, after writing what is pending. */
async function records(companion: TestCompanion): Promise<HistoryRecord[]> {
  await companion.companion.history.flush();
  return [...companion.companion.historyRepo.iterate({})];
}

async function recordsOf(companion: TestCompanion, tokenName: string): Promise<HistoryRecord[]> {
  return (await records(companion)).filter((r) => r.tokenName === tokenName);
}

/** The records of a token once there are `count` of them, all complete. */
function completeRecords(
  companion: TestCompanion,
  tokenName: string,
  count: number,
): Promise<HistoryRecord[]> {
  return eventually(async () => {
    const found = await recordsOf(companion, tokenName);
    return found.length === count && found.every((r) => r.outcome !== 'in_progress') ? found : undefined;
  });
}

async function onlyRecord(companion: TestCompanion, tokenName: string): Promise<HistoryRecord> {
  const [record] = await completeRecords(companion, tokenName, 1);
  return record!;
}

/** The token never reaches Ollama: not in headers, URL or body. */
function assertSecretNeverUpstream(emulator: Emulator, secret: string): void {
  for (const r of emulator.requests) {
    const seen = `${r.url}\n${JSON.stringify(r.headers)}\n${r.rawBody.toString('latin1')}`;
    assert.equal(seen.includes(secret), false, `the token reached Ollama on ${r.method} ${r.path}`);
  }
}

function assertNoSecretStored(record: HistoryRecord, secret: string): void {
  assert.equal(JSON.stringify(record).includes(secret), false, 'the token secret was stored in history');
}

async function metric(companion: TestCompanion, name: string): Promise<number> {
  const res = await request(`${companion.url}/metrics`);
  const text = await res.body.text();
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name} `) || line.startsWith(`${name}{`)) sum += Number(line.split(' ').at(-1));
  }
  return sum;
}

test('a streamed chat through the ollama client is recorded whole: request, answer, thinking, counters', async (t) => {
  const { emulator, companion } = await setup(t, { firstTokenDelayMs: 30, chunkDelayMs: 5, chunks: 4 });
  const secret = companion.token('laptop');
  const token = companion.companion.tokens.get('laptop');
  const client = ollamaClient(companion, secret);

  const messages = [
    { role: 'system', content: 'You are terse.' },
    { role: 'user', content: 'Why is the sky blue?' },
  ];
  const options = { temperature: 0.2, num_ctx: 4096, seed: 7 };
  const stream = await client.chat({ model: 'qwen3:8b', messages, options, stream: true });
  let content = '';
  let thinking = '';
  let chunks = 0;
  let final: Record<string, unknown> = {};
  for await (const part of stream) {
    chunks++;
    content += part.message.content;
    thinking += part.message.thinking ?? '';
    if (part.done) final = part as unknown as Record<string, unknown>;
  }
  assert.ok(chunks > 3, 'the answer came as a stream');
  assert.equal(content, 'Echo: Why is the sky blue?');
  assert.ok(thinking.length > 0, 'the emulated qwen3 thinks');

  const record = await onlyRecord(companion, 'laptop');
  assert.equal(record.tokenId, token.id);
  assert.equal(record.tokenPrefix, token.prefix);
  assert.ok(secret.startsWith(record.tokenPrefix ?? '?'), 'the prefix is the start of the token');
  assert.equal(record.method, 'POST');
  assert.equal(record.endpoint, '/api/chat');
  assert.equal(record.model, 'qwen3:8b');
  assert.equal(record.stream, true);
  assert.deepEqual(record.request, { model: 'qwen3:8b', messages, options, stream: true });
  assert.equal(record.answerContent, content);
  assert.equal(record.answerThinking, thinking);
  assert.equal(record.answerToolCalls, null);
  assert.equal(record.doneReason, 'stop');
  assert.equal(record.promptTokens, final.prompt_eval_count);
  assert.equal(record.completionTokens, final.eval_count);
  assert.equal(record.totalNs, final.total_duration);
  assert.equal(record.loadNs, final.load_duration);
  assert.equal(record.promptEvalNs, final.prompt_eval_duration);
  assert.equal(record.evalNs, final.eval_duration);
  assert.equal(record.status, 200);
  assert.equal(record.outcome, 'ok');
  assert.equal(record.error, null);
  assert.ok(record.ttftMs !== null && record.ttftMs !== undefined, 'time to first token recorded');
  assert.ok(record.ttftMs >= 25, `ttft ${record.ttftMs} ms includes the 30 ms before the first token`);
  assert.ok(record.durationMs !== undefined && record.durationMs >= record.ttftMs);
  assert.ok(record.finishedAt !== undefined && record.finishedAt >= record.startedAt);
  assert.match(record.clientAddr ?? '', /127\.0\.0\.1/);
  assert.match(record.userAgent ?? '', /^ollama-js\//);
  assert.equal(record.servedBy, companion.companion.nodeId);
  assert.equal(record.originNode, companion.companion.nodeId);
  assert.equal(record.originSeq, 1);
  assert.match(record.id, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  assert.equal(record.historyMode, 'full');
  assertNoSecretStored(record, secret);
  assertSecretNeverUpstream(emulator, secret);
});

test('tool calls of a streamed chat are recorded', async (t) => {
  const { emulator, companion } = await setup(t);
  const secret = companion.token('tools');
  const client = ollamaClient(companion, secret);
  const tools = [
    {
      type: 'function',
      function: {
        name: 'get_weather',
        description: 'Weather in a city',
        parameters: {
          type: 'object',
          properties: { city: { type: 'string' }, days: { type: 'integer' } },
          required: ['city'],
        },
      },
    },
  ];
  const stream = await client.chat({
    model: 'llama3.2',
    messages: [{ role: 'user', content: 'Weather in Paris?' }],
    tools,
    stream: true,
  });
  const calls: { name: string; arguments: unknown }[] = [];
  for await (const part of stream) {
    for (const call of part.message.tool_calls ?? []) {
      calls.push({ name: call.function.name, arguments: call.function.arguments });
    }
  }
  assert.equal(calls.length, 1, 'the emulator answered with a tool call');

  const record = await onlyRecord(companion, 'tools');
  assert.equal(record.outcome, 'ok');
  assert.deepEqual((record.request as { tools: unknown }).tools, tools);
  assert.deepEqual(
    record.answerToolCalls?.map((c) => {
      const call = c as { name: string; arguments: unknown };
      return { name: call.name, arguments: call.arguments };
    }),
    calls,
  );
  assertSecretNeverUpstream(emulator, secret);
});

test('an OpenAI SSE stream is reassembled: content, reasoning, tool calls and usage', async (t) => {
  const { emulator, companion } = await setup(t, { chunkDelayMs: 2, chunks: 6 });
  const secret = companion.token('openai');
  const client = new OpenAI({ baseURL: `${companion.url}/v1`, apiKey: secret, maxRetries: 0 });

  const stream = await client.chat.completions.create({
    model: 'qwen3:8b',
    messages: [{ role: 'user', content: 'Count to three' }],
    temperature: 0.5,
    stream: true,
    stream_options: { include_usage: true },
  });
  let content = '';
  let reasoning = '';
  let usage: OpenAI.CompletionUsage | undefined;
  for await (const chunk of stream) {
    const delta = chunk.choices[0]?.delta as { content?: string | null; reasoning?: string } | undefined;
    content += delta?.content ?? '';
    reasoning += delta?.reasoning ?? '';
    if (chunk.usage) usage = chunk.usage;
  }
  assert.equal(content, 'Echo: Count to three');
  assert.ok(reasoning.length > 0);
  assert.ok(usage, 'usage came in the last chunk');

  const record = await onlyRecord(companion, 'openai');
  assert.equal(record.endpoint, '/v1/chat/completions');
  assert.equal(record.model, 'qwen3:8b');
  assert.equal(record.stream, true);
  assert.equal(record.status, 200);
  assert.equal(record.outcome, 'ok');
  assert.equal(record.answerContent, content);
  assert.equal(record.answerThinking, reasoning);
  assert.equal(record.promptTokens, usage.prompt_tokens);
  assert.equal(record.completionTokens, usage.completion_tokens);
  assert.deepEqual((record.request as { messages: unknown }).messages, [
    { role: 'user', content: 'Count to three' },
  ]);
  assert.match(record.userAgent ?? '', /OpenAI\/JS/);
  assert.ok(record.ttftMs !== null && record.ttftMs !== undefined);

  const toolStream = await client.chat.completions.create({
    model: 'llama3.2',
    messages: [{ role: 'user', content: 'Weather in Oslo?' }],
    tools: [
      {
        type: 'function',
        function: {
          name: 'get_weather',
          parameters: { type: 'object', properties: { city: { type: 'string' } } },
        },
      },
    ],
    stream: true,
  });
  let argumentText = '';
  let toolName = '';
  for await (const chunk of toolStream) {
    for (const call of chunk.choices[0]?.delta.tool_calls ?? []) {
      toolName ||= call.function?.name ?? '';
      argumentText += call.function?.arguments ?? '';
    }
  }
  assert.equal(toolName, 'get_weather');
  const recorded = (await completeRecords(companion, 'openai', 2))[1]!;
  assert.equal(recorded.model, 'llama3.2');
  assert.equal(recorded.answerToolCalls?.length, 1);
  const call = recorded.answerToolCalls?.[0] as { name: string; arguments: unknown };
  assert.equal(call.name, 'get_weather');
  assert.deepEqual(call.arguments, JSON.parse(argumentText));
  assertSecretNeverUpstream(emulator, secret);
});

test('records have globally unique ids and a gapless per-node sequence 1..n', async (t) => {
  const { emulator, companion } = await setup(t, { chunkDelayMs: 15, chunks: 4 });
  const secret = companion.token('busy', { calls: { total: 13 } });
  const narrow = companion.token('narrow', { models: ['llama3.2'] });
  const client = ollamaClient(companion, secret);
  // A mix of long streams (started at one flush, finished at a later one), quick calls,
  // refusals and failures, all at once.
  const work: Promise<unknown>[] = [];
  for (let i = 0; i < 8; i++) {
    work.push(
      (async () => {
        const stream = await client.chat({
          model: 'llama3.2',
          messages: [{ role: 'user', content: `stream ${i}` }],
          stream: true,
        });
        for await (const _ of stream);
      })(),
    );
  }
  for (let i = 0; i < 4; i++) {
    work.push(client.generate({ model: 'llama3.2', prompt: `quick ${i}`, stream: false }));
  }
  work.push(client.list());
  work.push(
    ollamaClient(companion, narrow)
      .chat({ model: 'qwen3:8b', messages: [{ role: 'user', content: 'no' }] })
      .catch(() => undefined),
  );
  work.push(client.chat({ model: 'missing-model', messages: [] }).catch(() => undefined));
  await Promise.all(work);
  // Up to the quota of 13 model runs (8 streams + 4 quick = 12; the failed one, a 404 from
  // Ollama, gives its call back), then one over it.
  await client.generate({ model: 'llama3.2', prompt: 'last allowed', stream: false });
  await assert.rejects(client.generate({ model: 'llama3.2', prompt: 'over', stream: false }));

  const expected = 8 + 4 + 1 + 1 + 1 + 1 + 1;
  const all = await eventually(async () => {
    const found = await records(companion);
    return found.length === expected && found.every((r) => r.outcome !== 'in_progress') ? found : undefined;
  });
  const seqs = all.map((r) => r.originSeq).sort((a, b) => a - b);
  assert.deepEqual(
    seqs,
    Array.from({ length: expected }, (_, i) => i + 1),
  );
  assert.equal(new Set(all.map((r) => r.id)).size, expected, 'ids are unique');
  assert.ok(all.every((r) => r.originNode === companion.companion.nodeId));
  assertSecretNeverUpstream(emulator, secret);
});

test('refused requests (403 model, 403 scope, 429 quota) are recorded as refused and never reach Ollama', async (t) => {
  const { emulator, companion } = await setup(t);
  const secret = companion.token('limited', {
    models: ['llama3.2'],
    scopes: ['inference'],
    calls: { total: 1 },
  });
  const client = ollamaClient(companion, secret);

  await assert.rejects(
    client.chat({ model: 'qwen3:8b', messages: [{ role: 'user', content: 'forbidden model' }] }),
    (error: { status_code?: number }) => error.status_code === 403,
  );
  await assert.rejects(
    client.embed({ model: 'llama3.2', input: 'no embeddings scope' }),
    (error: { status_code?: number }) => error.status_code === 403,
  );
  await client.chat({
    model: 'llama3.2',
    messages: [{ role: 'user', content: 'the one call' }],
    stream: false,
  });
  await assert.rejects(
    client.chat({ model: 'llama3.2', messages: [{ role: 'user', content: 'one too many' }], stream: false }),
    (error: { status_code?: number }) => error.status_code === 429,
  );
  assert.equal(emulator.requests.filter((r) => r.path !== '/api/version').length, 1, 'only the allowed call');

  const all = await completeRecords(companion, 'limited', 4);
  const [model, scope, ok, quota] = all as [HistoryRecord, HistoryRecord, HistoryRecord, HistoryRecord];
  assert.equal(model.status, 403);
  assert.equal(model.outcome, 'refused');
  assert.equal(model.model, 'qwen3:8b');
  assert.match(model.error ?? '', /qwen3:8b/);
  assert.deepEqual((model.request as { messages: unknown }).messages, [
    { role: 'user', content: 'forbidden model' },
  ]);
  assert.equal(scope.status, 403);
  assert.equal(scope.outcome, 'refused');
  assert.equal(scope.endpoint, '/api/embed');
  assert.match(scope.error ?? '', /embeddings/);
  assert.equal(ok.outcome, 'ok');
  assert.equal(ok.answerContent, 'Echo: the one call');
  assert.equal(quota.status, 429);
  assert.equal(quota.outcome, 'refused');
  assert.ok(quota.error, 'the refusal says why');
  for (const r of all) assert.match(r.clientAddr ?? '', /127\.0\.0\.1/);
});

test('a request with a disabled token is refused with 403 and recorded as refused', async (t) => {
  const { emulator, companion } = await setup(t);
  const secret = companion.token('paused', { enabled: false });
  const client = ollamaClient(companion, secret);
  await assert.rejects(
    client.chat({
      model: 'llama3.2',
      messages: [{ role: 'user', content: 'am I still allowed?' }],
      stream: false,
    }),
    (error: { status_code?: number }) => error.status_code === 403,
  );
  assert.equal(emulator.requests.length, 0);
  const record = await onlyRecord(companion, 'paused');
  assert.equal(record.status, 403);
  assert.equal(record.outcome, 'refused');
  assert.match(record.error ?? '', /disabled/);
  // Refused from its headers, before a byte of its body was read: the model it named is unknown.
  assert.equal(record.model, null);
});

test('failed requests (upstream 404, 500, error mid-stream) are recorded with their error', async (t) => {
  const { emulator, companion } = await setup(t, { chunks: 5 });
  const secret = companion.token('failing');
  const client = ollamaClient(companion, secret);

  await assert.rejects(
    client.chat({ model: 'no-such-model', messages: [{ role: 'user', content: 'hi' }], stream: false }),
    (error: { status_code?: number }) => error.status_code === 404,
  );
  emulator.options.failMidStream = { afterChunks: 0, error: 'model runner crashed' };
  await assert.rejects(
    client.chat({ model: 'llama3.2', messages: [{ role: 'user', content: 'boom' }], stream: false }),
    (error: { status_code?: number }) => error.status_code === 500,
  );
  emulator.options.failMidStream = { afterChunks: 2, error: 'out of memory mid-answer' };
  let partial = '';
  await assert.rejects(async () => {
    const stream = await client.chat({
      model: 'llama3.2',
      messages: [{ role: 'user', content: 'a longer question' }],
      stream: true,
    });
    for await (const part of stream) partial += part.message.content;
  }, /out of memory mid-answer/);
  emulator.options.failMidStream = null;

  const all = await completeRecords(companion, 'failing', 3);
  const [notFound, crashed, cut] = all as [HistoryRecord, HistoryRecord, HistoryRecord];
  assert.equal(notFound.status, 404);
  assert.equal(notFound.outcome, 'error');
  assert.equal(notFound.model, 'no-such-model');
  assert.match(notFound.error ?? '', /not found/);
  assert.equal(crashed.status, 500);
  assert.equal(crashed.outcome, 'error');
  assert.match(crashed.error ?? '', /model runner crashed/);
  assert.equal(cut.status, 200);
  assert.equal(cut.outcome, 'error');
  assert.match(cut.error ?? '', /out of memory mid-answer/);
  assert.equal(cut.answerContent, partial, 'what was streamed before the error is kept');
});

test('a stream the client abandons is recorded as aborted, with what was sent so far', async (t) => {
  const { emulator, companion } = await setup(t, { chunkDelayMs: 40, chunks: 30 });
  const secret = companion.token('impatient');
  const client = ollamaClient(companion, secret);
  const stream = await client.chat({
    model: 'llama3.2',
    messages: [{ role: 'user', content: 'tell me everything you know about everything' }],
    stream: true,
  });
  let received = '';
  await assert.rejects(async () => {
    for await (const part of stream) {
      received += part.message.content;
      if (received.length > 0 && part.message.content !== '') stream.abort();
    }
  });
  assert.ok(received.length > 0);
  await emulator.waitFor((e) => e.stats.aborted === 1, 3000);

  const record = await onlyRecord(companion, 'impatient');
  assert.equal(record.outcome, 'aborted');
  assert.match(record.error ?? '', /client/);
  assert.ok(record.answerContent?.startsWith(received), 'the part the client received is kept');
  assert.notEqual(record.answerContent, 'Echo: tell me everything you know about everything');
});

test('unauthenticated attempts are not stored but counted in companion_unauthenticated_total', async (t) => {
  const { emulator, companion } = await setup(t);
  companion.token('someone');
  const before = await metric(companion, 'companion_unauthenticated_total');
  const attempts: Record<string, string>[] = [
    {},
    { authorization: 'Bearer oc_not-a-real-token' },
    { authorization: 'Bearer ollama' },
    { 'x-api-key': 'wrong' },
  ];
  for (const headers of attempts) {
    const res = await request(`${companion.url}/api/chat`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ model: 'llama3.2', messages: [{ role: 'user', content: 'let me in' }] }),
    });
    assert.equal(res.statusCode, 401);
    await res.body.dump();
  }
  const after = await metric(companion, 'companion_unauthenticated_total');
  assert.equal(after - before, attempts.length);
  await new Promise((resolve) => setTimeout(resolve, 60));
  assert.deepEqual(await records(companion), []);
  assert.equal(emulator.requests.length, 0);
});

test('history mode "metadata" keeps counters and timings but no request or answer content', async (t) => {
  const { companion } = await setup(t, { firstTokenDelayMs: 10 });
  const secret = companion.token('private', { historyMode: 'metadata' });
  const client = ollamaClient(companion, secret);
  const stream = await client.chat({
    model: 'qwen3:8b',
    messages: [{ role: 'user', content: 'a secret plan' }],
    options: { temperature: 0.1 },
    stream: true,
  });
  let final: Record<string, unknown> = {};
  for await (const part of stream) if (part.done) final = part as unknown as Record<string, unknown>;

  const record = await onlyRecord(companion, 'private');
  assert.equal(record.historyMode, 'metadata');
  assert.equal(record.endpoint, '/api/chat');
  assert.equal(record.model, 'qwen3:8b');
  assert.equal(record.status, 200);
  assert.equal(record.outcome, 'ok');
  assert.equal(record.promptTokens, final.prompt_eval_count);
  assert.equal(record.completionTokens, final.eval_count);
  assert.equal(record.totalNs, final.total_duration);
  assert.ok(record.ttftMs !== null && record.ttftMs !== undefined);
  assert.equal(record.request, null);
  assert.equal(record.answerContent, null);
  assert.equal(record.answerThinking, null);
  assert.equal(record.answerToolCalls, null);
  const raw = companion.companion.db.prepare('SELECT * FROM history WHERE id = ?').get(record.id) as Record<
    string,
    unknown
  >;
  assert.equal(JSON.stringify(raw).includes('secret plan'), false, 'the prompt is nowhere in the row');
  assert.equal(JSON.stringify(raw).includes('Echo'), false, 'the answer is nowhere in the row');
});

test('history mode "off" keeps nothing, yet the quota still counts', async (t) => {
  const { companion } = await setup(t);
  const secret = companion.token('ghost', { historyMode: 'off', calls: { total: 2 } });
  const client = ollamaClient(companion, secret);
  await client.generate({ model: 'llama3.2', prompt: 'one', stream: false });
  const stream = await client.generate({ model: 'llama3.2', prompt: 'two', stream: true });
  for await (const _ of stream);
  await assert.rejects(
    client.generate({ model: 'llama3.2', prompt: 'three', stream: false }),
    (error: { status_code?: number }) => error.status_code === 429,
  );
  await assert.rejects(
    client.chat({ model: 'missing', messages: [] }),
    (error: { status_code?: number }) => error.status_code === 429,
  );
  await new Promise((resolve) => setTimeout(resolve, 60));
  assert.deepEqual(await records(companion), []);
  const token = companion.companion.tokens.get('ghost');
  assert.equal(companion.companion.tokens.usage(token.id).total, 2);
});

test('large base64 images in a request are summarised in history, not stored, yet reach Ollama whole', async (t) => {
  const { emulator, companion } = await setup(t);
  const secret = companion.token('vision');
  const client = ollamaClient(companion, secret);
  const image = Buffer.alloc(300_000, 7).toString('base64');
  await client.chat({
    model: 'llama3.2',
    messages: [{ role: 'user', content: 'What is in this picture?', images: [image] }],
    stream: false,
  });
  const upstream = emulator.requests.find((r) => r.path === '/api/chat');
  const sent = (upstream!.body as { messages: { images: string[] }[] }).messages[0]?.images[0];
  assert.equal(sent, image, 'Ollama got the image unchanged');

  const record = await onlyRecord(companion, 'vision');
  const message = (record.request as { messages: { content: string; images: string[] }[] }).messages[0];
  assert.equal(message?.content, 'What is in this picture?');
  assert.equal(message?.images.length, 1);
  assert.notEqual(message?.images[0], image);
  assert.ok((message?.images[0]?.length ?? Infinity) < 200, `summary: ${message?.images[0]}`);
  const row = companion.companion.db
    .prepare('SELECT request_json FROM history WHERE id = ?')
    .get(record.id) as {
    request_json: string;
  };
  assert.ok(row.request_json.length < 2000, `the stored request is small (${row.request_json.length} chars)`);
});

/**
 * Ollama's answer breaking off in the middle of a line (its process dies, the network
 * drops): clients must still receive only whole lines or events, followed by an error
 * they can read in their own dialect, and history must say the answer was cut off.
 */
import assert from 'node:assert/strict';
import { type TestContext, test } from 'node:test';
import OpenAI from 'openai';
import { request } from 'undici';
import {
  emulatorFor,
  eventually,
  ollamaClient,
  startCompanion,
  type TestCompanion,
} from './support/companion-harness.js';

const CUT = /Ollama's answer was cut off mid-stream/;

async function setup(t: TestContext) {
  const emulator = await emulatorFor(t, { chunks: 6, cutMidStream: { afterChunks: 3 } });
  const companion = await startCompanion(t, emulator.url);
  const secret = companion.token('cut-user');
  return { emulator, companion, secret };
}

async function lastRecord(companion: TestCompanion, endpoint: string) {
  return eventually(() => {
    void companion.companion.history.flush();
    return [...companion.companion.historyRepo.iterate({})].find(
      (r) => r.endpoint === endpoint && r.outcome !== 'in_progress',
    );
    // Generous: on a loaded machine the writer may take a while; what is checked is the record's content.
  }, 10_000);
}

/** The body as received, until the companion ends it (or the connection fails). */
async function receive(
  companion: TestCompanion,
  secret: string,
  path: string,
  body: unknown,
): Promise<{ status: number; text: string; failed: boolean }> {
  const res = await request(`${companion.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  let text = '';
  let failed = false;
  try {
    for await (const chunk of res.body) text += chunk.toString();
  } catch {
    failed = true;
  }
  return { status: res.statusCode, text, failed };
}

test('a native stream cut mid-line ends with whole lines and an error line of its own', async (t) => {
  const { companion, secret } = await setup(t);

  const raw = await receive(companion, secret, '/api/chat', {
    model: 'llama3.2',
    messages: [{ role: 'user', content: 'tell me a long story' }],
  });
  assert.equal(raw.status, 200);
  assert.ok(raw.text.endsWith('\n'), `the body ends with a line break: ${JSON.stringify(raw.text)}`);
  const lines = raw.text.split('\n').slice(0, -1);
  const parsed = lines.map((line) => {
    assert.doesNotThrow(() => JSON.parse(line), `every line is JSON: ${JSON.stringify(line)}`);
    return JSON.parse(line) as { message?: { content: string }; error?: string };
  });
  assert.equal(parsed.length, 4, 'three whole chunks, then the error');
  assert.match(parsed.at(-1)?.error ?? '', CUT);

  // The ollama client raises the companion's error; it never meets a line it cannot parse.
  const warnings: unknown[] = [];
  const warn = console.warn;
  console.warn = (...args: unknown[]) => warnings.push(args);
  t.after(() => {
    console.warn = warn;
  });
  const client = ollamaClient(companion, secret);
  let streamed = '';
  await assert.rejects(async () => {
    const stream = await client.generate({ model: 'llama3.2', prompt: 'another long story', stream: true });
    for await (const part of stream) streamed += part.response;
  }, CUT);
  console.warn = warn;
  assert.deepEqual(warnings, [], 'the client saw no invalid JSON line');
  assert.ok(streamed.length > 0, 'the whole lines before the cut arrived');

  const record = await lastRecord(companion, '/api/generate');
  assert.equal(record.outcome, 'error');
  assert.match(record.error ?? '', CUT);
  assert.equal(record.answerContent, streamed, 'history keeps what the client received');
});

test('an OpenAI stream cut mid-event ends with an error event the openai client raises', async (t) => {
  const { companion, secret } = await setup(t);

  const raw = await receive(companion, secret, '/v1/chat/completions', {
    model: 'llama3.2',
    messages: [{ role: 'user', content: 'tell me a long story' }],
    stream: true,
  });
  assert.equal(raw.status, 200);
  assert.ok(raw.text.endsWith('\n\n'), `the body ends on an event boundary: ${JSON.stringify(raw.text)}`);
  const events = raw.text.split('\n\n').slice(0, -1);
  for (const event of events) {
    assert.match(event, /^data: /, `a whole event: ${JSON.stringify(event)}`);
    assert.doesNotThrow(() => JSON.parse(event.slice(6)), `its data is JSON: ${JSON.stringify(event)}`);
  }
  const last = JSON.parse(events.at(-1)?.slice(6) ?? '') as { error: { message: string; type: string } };
  assert.match(last.error.message, CUT);
  assert.equal(last.error.type, 'api_error');

  const openai = new OpenAI({ baseURL: `${companion.url}/v1`, apiKey: secret, maxRetries: 0 });
  let streamed = '';
  await assert.rejects(
    async () => {
      const stream = await openai.chat.completions.create({
        model: 'llama3.2',
        messages: [{ role: 'user', content: 'again, a long story' }],
        stream: true,
      });
      for await (const chunk of stream) streamed += chunk.choices[0]?.delta.content ?? '';
    },
    (error: Error) => error instanceof OpenAI.APIError && CUT.test(error.message),
  );
  assert.ok(streamed.length > 0, 'the whole events before the cut arrived');

  const record = await lastRecord(companion, '/v1/chat/completions');
  assert.equal(record.outcome, 'error');
  assert.match(record.error ?? '', CUT);
});

test('an Anthropic stream cut mid-event ends with an error event', async (t) => {
  const { companion, secret } = await setup(t);
  const raw = await receive(companion, secret, '/v1/messages', {
    model: 'llama3.2',
    max_tokens: 100,
    messages: [{ role: 'user', content: 'tell me a long story' }],
    stream: true,
  });
  assert.ok(raw.text.endsWith('\n\n'), `the body ends on an event boundary: ${JSON.stringify(raw.text)}`);
  const last = raw.text.split('\n\n').at(-2) ?? '';
  assert.match(last, /^event: error\ndata: /);
  const data = JSON.parse(last.slice(last.indexOf('data: ') + 6)) as { error: { message: string } };
  assert.match(data.error.message, CUT);
});

test('a one-piece answer cut mid-body fails the connection instead of hanging or passing as whole', async (t) => {
  const { companion, secret } = await setup(t);
  const raw = await receive(companion, secret, '/api/chat', {
    model: 'llama3.2',
    messages: [{ role: 'user', content: 'a short one' }],
    stream: false,
  });
  assert.ok(raw.failed, `the client sees the body break off: ${JSON.stringify(raw)}`);
  const record = await lastRecord(companion, '/api/chat');
  assert.equal(record.outcome, 'error');
  assert.match(record.error ?? '', CUT);
});

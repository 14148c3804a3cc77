/**
 * Bad input is refused by the companion before anything reaches Ollama: malformed or
 * mistyped JSON and missing models get a 400 in the route's error shape, oversized bodies
 * a 413, and path tricks never reach an endpoint the token may not use.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { test } from 'node:test';
import { Ollama } from 'ollama';
import OpenAI from 'openai';
import { request } from 'undici';
import { emulatorFor, startCompanion } from './support/companion-harness.js';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

async function post(url: string, secret: string, raw: string | Buffer): Promise<Answer> {
  const response = await request(url, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: raw,
  });
  return { status: response.statusCode, headers: response.headers, text: await response.body.text() };
}

/** The body is Ollama's error shape: exactly `{"error": "<message>"}`. */
function assertOllamaError(answer: Answer, status: number, pattern?: RegExp): void {
  assert.equal(answer.status, status, answer.text);
  assert.match(String(answer.headers['content-type']), /^application\/json/);
  const body = JSON.parse(answer.text) as Record<string, unknown>;
  assert.deepEqual(Object.keys(body), ['error']);
  assert.equal(typeof body.error, 'string');
  assert.ok((body.error as string).length > 0);
  if (pattern) assert.match(body.error as string, pattern);
}

/** The body is OpenAI's error shape: `{"error": {"message", "type", …}}`. */
function assertOpenAIError(answer: Answer, status: number, type: string): void {
  assert.equal(answer.status, status, answer.text);
  const body = JSON.parse(answer.text) as { error: { message: unknown; type: unknown } };
  assert.equal(typeof body.error.message, 'string');
  assert.equal(body.error.type, type);
}

test('malformed JSON and non-object bodies: 400 in Ollama’s shape, never forwarded', async (t) => {
  const emulator = await emulatorFor(t);
  const companion = await startCompanion(t, emulator.url);
  const secret = companion.token('sloppy', { scopes: ['inference', 'embeddings', 'read', 'show'] });

  const malformed = [
    '{"model": "llama3.2", ',
    '{model: "llama3.2"}',
    "{'model':'llama3.2'}",
    'not json',
    '{"a":1}}',
  ];
  for (const raw of malformed) {
    for (const path of ['/api/chat', '/api/generate', '/api/embed', '/api/show']) {
      assertOllamaError(await post(`${companion.url}${path}`, secret, raw), 400, /JSON/);
    }
  }
  for (const raw of ['[]', '[{"model":"llama3.2"}]', '"llama3.2"', '42', 'null', 'true']) {
    assertOllamaError(await post(`${companion.url}/api/chat`, secret, raw), 400, /JSON object/);
  }
  assertOllamaError(await post(`${companion.url}/api/chat`, secret, ''), 400);
  assert.equal(emulator.requests.length, 0, 'nothing reached Ollama');
});

test('wrong field types and a missing model: 400 in the route’s shape, never forwarded', async (t) => {
  const emulator = await emulatorFor(t);
  const companion = await startCompanion(t, emulator.url);
  const secret = companion.token('typo');
  const messages = [{ role: 'user', content: 'hi' }];

  const native: Array<[string, unknown, RegExp]> = [
    ['/api/chat', { model: 5, messages }, /"model" must be string/],
    ['/api/chat', { model: 'llama3.2', messages: 'x' }, /"messages" must be array/],
    ['/api/chat', { model: 'llama3.2', messages, stream: 'yes' }, /"stream" must be boolean/],
    ['/api/chat', { model: 'llama3.2', messages, options: 'fast' }, /"options" must be object/],
    ['/api/chat', { messages }, /model is required/],
    ['/api/chat', { model: '', messages }, /model is required/],
    ['/api/generate', { model: ['llama3.2'], prompt: 'x' }, /"model" must be string/],
    ['/api/generate', { model: 'llama3.2', prompt: 5 }, /"prompt"/],
    ['/api/generate', { prompt: 'x' }, /model is required/],
    ['/api/embed', { input: 'x' }, /model is required/],
    ['/api/embed', { model: { name: 'nomic-embed-text' }, input: 'x' }, /"model" must be string/],
  ];
  for (const [path, body, pattern] of native) {
    assertOllamaError(await post(`${companion.url}${path}`, secret, JSON.stringify(body)), 400, pattern);
  }

  const openai: Array<[string, unknown]> = [
    ['/v1/chat/completions', { model: 5, messages }],
    ['/v1/chat/completions', { model: 'llama3.2', messages: 'x' }],
    ['/v1/chat/completions', { model: 'llama3.2', messages, stream: 'yes' }],
    ['/v1/chat/completions', { messages }],
    ['/v1/completions', { prompt: 'x' }],
    ['/v1/embeddings', { input: 'x' }],
    ['/v1/chat/completions', [1, 2]],
  ];
  for (const [path, body] of openai) {
    assertOpenAIError(
      await post(`${companion.url}${path}`, secret, JSON.stringify(body)),
      400,
      'invalid_request_error',
    );
  }
  assertOpenAIError(
    await post(`${companion.url}/v1/chat/completions`, secret, '{"model":'),
    400,
    'invalid_request_error',
  );

  const anthropic = await post(
    `${companion.url}/v1/messages`,
    secret,
    JSON.stringify({ max_tokens: 5, messages }),
  );
  assert.equal(anthropic.status, 400);
  const anthropicBody = JSON.parse(anthropic.text) as {
    type: string;
    error: { type: string; message: string };
  };
  assert.equal(anthropicBody.type, 'error');
  assert.equal(anthropicBody.error.type, 'invalid_request_error');
  assert.match(anthropicBody.error.message, /model is required/);

  assert.equal(emulator.requests.length, 0, 'nothing reached Ollama');
});

test('the npm clients surface the 400 as an error carrying the message', async (t) => {
  const emulator = await emulatorFor(t);
  const companion = await startCompanion(t, emulator.url);
  const secret = companion.token('clients');

  const ollama = new Ollama({ host: companion.url, headers: { Authorization: `Bearer ${secret}` } });
  await assert.rejects(ollama.chat({ model: '', messages: [] }), (error: unknown) => {
    assert.equal((error as { status_code?: number }).status_code, 400);
    assert.match((error as Error).message, /model is required/);
    return true;
  });
  const openai = new OpenAI({ baseURL: `${companion.url}/v1`, apiKey: secret, maxRetries: 0 });
  await assert.rejects(
    openai.chat.completions.create({ model: 'llama3.2', messages: 'hi' as unknown as [] }),
    (error: unknown) => {
      assert.ok(error instanceof OpenAI.BadRequestError);
      assert.match(error.message, /messages/);
      return true;
    },
  );
  assert.equal(emulator.requests.length, 0);
});

test('an oversized body gets 413 in the route’s shape and is never forwarded', async (t) => {
  const emulator = await emulatorFor(t);
  const companion = await startCompanion(t, emulator.url, { bodyLimitBytes: 2048 });
  const secret = companion.token('big', { scopes: ['inference', 'embeddings', 'read', 'manage'] });
  const big = (content: string) =>
    JSON.stringify({ model: 'llama3.2', messages: [{ role: 'user', content }], stream: false });

  const small = await post(`${companion.url}/api/chat`, secret, big('x'.repeat(1000)));
  assert.equal(small.status, 200, 'a body under the limit passes');
  assertOllamaError(await post(`${companion.url}/api/chat`, secret, big('x'.repeat(4000))), 413);
  assertOllamaError(await post(`${companion.url}/api/generate`, secret, 'x'.repeat(100_000)), 413);
  assertOpenAIError(
    await post(`${companion.url}/v1/chat/completions`, secret, big('x'.repeat(4000))),
    413,
    'invalid_request_error',
  );
  assert.equal(emulator.requests.length, 1, 'only the small request reached Ollama');

  // Blob uploads stream through without the JSON body limit.
  const blob = Buffer.alloc(64 * 1024, 7);
  const digest = `sha256:${createHash('sha256').update(blob).digest('hex')}`;
  const upload = await post(`${companion.url}/api/blobs/${digest}`, secret, blob);
  assert.equal(upload.status, 201, upload.text);
  assert.equal(emulator.requests.at(-1)?.rawBody.length, blob.length);
});

interface RawAnswer {
  status: number;
  text: string;
}

/** Sends the request target exactly as written: undici and fetch would normalise it. */
function raw(
  base: string,
  target: string,
  headers: Record<string, string>,
  method = 'POST',
): Promise<RawAnswer> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        hostname,
        port,
        path: target,
        method,
        agent: false,
        headers: { 'content-type': 'application/json', ...headers },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          text += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on('error', reject);
    req.end(method === 'POST' || method === 'DELETE' ? '{"model":"llama3.2","stream":false}' : undefined);
  });
}

test('path tricks never reach a manage endpoint for a token without manage', async (t) => {
  const emulator = await emulatorFor(t);
  const companion = await startCompanion(t, emulator.url);
  const secret = companion.token('tricky');
  const auth = { authorization: `Bearer ${secret}` };
  const { host } = new URL(companion.url);

  const tricks = [
    '/api/../api/pull',
    '/api/chat/../pull',
    '/api/%70ull',
    '/api/pul%6c',
    '/%61pi/pull',
    '/api%2Fpull',
    '/api%2fpull',
    '/api/%2e%2e/api/pull',
    '/api/%2E%2E/api/pull',
    '//api/pull',
    '/api//pull',
    '///api/pull',
    '/API/PULL',
    '/api/PULL',
    '/Api/Pull',
    '/api/pull/',
    '/api/pull/.',
    '/api/./pull',
    '/./api/pull',
    '/api/pull%00',
    '/api/pull;x',
    '/api/pull%20',
    '/api\\pull',
    '/api\\..\\api\\pull',
    '\\api\\pull',
    '/api/pull\\',
    `/t/${secret}/../api/pull`,
    `/t/${secret}/%2e%2e/api/pull`,
    `/t/${secret}//api/pull`,
    `/t/${secret}/api/../api/pull`,
    '/t/x/../../api/pull',
    `http://${host}/api/pull`,
    '*',
  ];
  for (const target of tricks) {
    const answer = await raw(companion.url, target, auth);
    const shown = target.replace(secret, '<token>');
    assert.ok(answer.status >= 400 && answer.status < 500, `${shown}: ${answer.status}`);
    assert.ok(!answer.text.includes(secret), `${shown}: the answer echoes the secret`);
    const body = JSON.parse(answer.text) as { error?: unknown };
    assert.equal(typeof body.error, 'string', `${shown}: not Ollama's error shape: ${answer.text}`);
  }
  for (const target of ['/api/../api/delete', '/api/%64elete', '//api/delete', '/API/DELETE']) {
    const answer = await raw(companion.url, target, auth, 'DELETE');
    assert.ok(answer.status >= 400 && answer.status < 500, `DELETE ${target}: ${answer.status}`);
  }
  const direct = await raw(companion.url, '/api/pull', auth);
  assert.equal(direct.status, 403, 'the plain path is refused for its scope');

  const reached = emulator.requests.map((r) => `${r.method} ${r.url}`);
  assert.deepEqual(reached, [], 'no trick reached Ollama');

  // The same requests by a token with manage show the plain path does get through.
  const manager = companion.token('manager', { scopes: ['inference', 'read', 'manage'] });
  assert.equal((await raw(companion.url, '/api/pull', { authorization: `Bearer ${manager}` })).status, 200);
  assert.equal(emulator.requests.filter((r) => r.path === '/api/pull').length, 1);
});

test('path tricks on allowed endpoints are refused too, so routing only sees clean paths', async (t) => {
  const emulator = await emulatorFor(t);
  const companion = await startCompanion(t, emulator.url);
  const secret = companion.token('clean', { models: ['llama3*'] });
  const auth = { authorization: `Bearer ${secret}` };

  for (const target of ['/v1/models/qwen3%3A8b', '/v1/models/..%2Fmodels', '/v1//models', '/api/ta%67s']) {
    const answer = await raw(companion.url, target, auth, 'GET');
    assert.ok(answer.status >= 400 && answer.status < 500, `${target}: ${answer.status}`);
  }
  for (const target of ['/api/../api/chat', '/api/%63hat', '//api/chat', '/api/chat/']) {
    const answer = await raw(companion.url, target, auth);
    assert.ok(answer.status >= 400 && answer.status < 500, `${target}: ${answer.status}`);
    assert.deepEqual(Object.keys(JSON.parse(answer.text) as object), ['error']);
  }
  assert.equal(emulator.requests.length, 0, 'no trick reached Ollama');
  assert.equal(
    (await raw(companion.url, '/api/tags?x=..%2F', auth, 'GET')).status,
    200,
    'a query is not a path',
  );
});

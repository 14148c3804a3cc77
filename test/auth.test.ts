/**
 * Authentication as clients meet it: every way a token can arrive, placeholder keys,
 * 401s in each route's wire shape, unknown paths, the public status setting, secrets
 * kept out of logs, CLI changes reaching a running server, and expiry.
 */

import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { test } from 'node:test';
import { Ollama } from 'ollama';
import OpenAI from 'openai';
import { request } from 'undici';
import {
  BIN,
  emulatorFor,
  eventually,
  runCli,
  startCompanion,
  tempDir,
} from './support/companion-harness.js';
import type { Emulator } from './support/ollama-emulator.js';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

async function call(
  url: string,
  options: { method?: 'GET' | 'HEAD' | 'POST'; headers?: Record<string, string>; body?: unknown } = {},
): Promise<Answer> {
  const { method = options.body === undefined ? 'GET' : 'POST', headers = {}, body } = options;
  const response = await request(url, {
    method,
    headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.statusCode, headers: response.headers, text: await response.body.text() };
}

/** Sends the request target byte for byte (undici would normalise dot segments). */
function rawCall(base: string, target: string, headers: Record<string, string> = {}): Promise<number> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { hostname, port, path: target, method: 'POST', agent: false, headers },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end('{"model":"llama3.2"}');
  });
}

const chatBody = { model: 'llama3.2', messages: [{ role: 'user', content: 'hi' }], stream: false };
const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

/** Asserts that no recorded upstream request carries the secret anywhere. */
function assertSecretNeverForwarded(emulator: Emulator, secret: string): void {
  for (const r of emulator.requests) {
    const seen = `${r.url}\n${JSON.stringify(r.rawHeaders)}\n${r.rawBody.toString('utf8')}`;
    assert.ok(!seen.includes(secret), `the token reached Ollama in ${r.method} ${r.url}`);
  }
}

test('a token is accepted as Bearer, x-api-key, Basic password and /t/<token>/ path prefix', async (t) => {
  const emulator = await emulatorFor(t);
  const companion = await startCompanion(t, emulator.url);
  const secret = companion.token('laptop');

  const forms: Array<[string, string, Record<string, string>]> = [
    ['bearer', `${companion.url}/api/tags`, { authorization: `Bearer ${secret}` }],
    ['x-api-key', `${companion.url}/api/tags`, { 'x-api-key': secret }],
    ['basic password', `${companion.url}/api/tags`, { authorization: basic('anyone', secret) }],
    ['basic username only', `${companion.url}/api/tags`, { authorization: basic(secret, '') }],
    ['path prefix', `${companion.url}/t/${secret}/api/tags`, {}],
  ];
  for (const [form, url, headers] of forms) {
    const answer = await call(url, { headers });
    assert.equal(answer.status, 200, `${form}: ${answer.text}`);
    const names = (JSON.parse(answer.text) as { models: Array<{ name: string }> }).models.map((m) => m.name);
    assert.ok(names.includes('llama3.2:latest'), form);
  }
  const chat = await call(`${companion.url}/t/${secret}/api/chat`, { body: chatBody });
  assert.equal(chat.status, 200, chat.text);
  assert.match(chat.text, /Echo: hi/);

  assert.deepEqual(
    emulator.requests.map((r) => r.url),
    ['/api/tags', '/api/tags', '/api/tags', '/api/tags', '/api/tags', '/api/chat'],
    'the path prefix is removed before forwarding',
  );
  assertSecretNeverForwarded(emulator, secret);
});

test('URL userinfo (http://user:<token>@host) works as Basic auth, the way curl sends it', async (t) => {
  const emulator = await emulatorFor(t);
  const companion = await startCompanion(t, emulator.url);
  const secret = companion.token('curl-user');

  // undici.request does not turn URL userinfo into a header; curl and browsers do, like this.
  const withUserinfo = new URL(`${companion.url}/api/tags`);
  withUserinfo.username = 'x';
  withUserinfo.password = secret;
  const authorization = basic(
    decodeURIComponent(withUserinfo.username),
    decodeURIComponent(withUserinfo.password),
  );
  withUserinfo.username = '';
  withUserinfo.password = '';
  const answer = await call(withUserinfo.toString(), { headers: { authorization } });
  assert.equal(answer.status, 200, answer.text);
  assertSecretNeverForwarded(emulator, secret);
});

test('the ollama npm client works with the token in the host path (OLLAMA_HOST=<url>/t/<token>)', async (t) => {
  const emulator = await emulatorFor(t);
  const companion = await startCompanion(t, emulator.url);
  const secret = companion.token('cli');
  const ollama = new Ollama({ host: `${companion.url}/t/${secret}` });

  const list = await ollama.list();
  assert.ok(list.models.some((m) => m.name === 'llama3.2:latest'));
  let streamed = '';
  const stream = await ollama.chat({
    model: 'llama3.2',
    messages: [{ role: 'user', content: 'prefix' }],
    stream: true,
  });
  for await (const part of stream) streamed += part.message.content;
  assert.equal(streamed, 'Echo: prefix');
  const version = await ollama.version();
  assert.equal(version.version, emulator.options.version);

  assert.deepEqual(
    emulator.requests.map((r) => r.path),
    ['/api/tags', '/api/chat', '/api/version'],
  );
  assertSecretNeverForwarded(emulator, secret);
});

test('the ollama-python convention works: OLLAMA_API_KEY sent as a Bearer token', async (t) => {
  const emulator = await emulatorFor(t);
  const companion = await startCompanion(t, emulator.url);
  const env = { OLLAMA_HOST: companion.url, OLLAMA_API_KEY: companion.token('python') };
  // What ollama-python does with these variables: host from OLLAMA_HOST, Bearer from OLLAMA_API_KEY.
  const ollama = new Ollama({
    host: env.OLLAMA_HOST,
    headers: { Authorization: `Bearer ${env.OLLAMA_API_KEY}` },
  });

  const answer = await ollama.generate({ model: 'llama3.2', prompt: 'from python' });
  assert.equal(answer.response, 'Echo: from python');
  const embedded = await ollama.embed({ model: 'nomic-embed-text', input: 'vector' });
  assert.equal(embedded.embeddings.length, 1);
  assertSecretNeverForwarded(emulator, env.OLLAMA_API_KEY);
});

test('the OpenAI client authenticates with apiKey, and its placeholder key is refused', async (t) => {
  const emulator = await emulatorFor(t);
  const companion = await startCompanion(t, emulator.url);
  const secret = companion.token('openai');

  const openai = new OpenAI({ baseURL: `${companion.url}/v1`, apiKey: secret });
  const completion = await openai.chat.completions.create({
    model: 'llama3.2',
    messages: [{ role: 'user', content: 'sdk' }],
  });
  assert.equal(completion.choices[0]?.message.content, 'Echo: sdk');

  const placeholder = new OpenAI({ baseURL: `${companion.url}/v1`, apiKey: 'ollama', maxRetries: 0 });
  await assert.rejects(placeholder.models.list(), (error: unknown) => {
    assert.ok(error instanceof OpenAI.AuthenticationError);
    assert.equal(error.status, 401);
    return true;
  });
  assert.equal(emulator.requests.length, 1, 'the refused request never reached Ollama');
  assertSecretNeverForwarded(emulator, secret);
});

test('placeholder keys (ollama, na, local, default-key, empty) count as no token in every form', async (t) => {
  const emulator = await emulatorFor(t);
  const companion = await startCompanion(t, emulator.url);
  companion.token('real');

  for (const placeholder of ['ollama', 'na', 'local', 'default-key', '']) {
    const attempts: Array<[string, Record<string, string>]> = [
      [`${companion.url}/api/chat`, { authorization: `Bearer ${placeholder}` }],
      [`${companion.url}/api/chat`, { 'x-api-key': placeholder }],
      [`${companion.url}/api/chat`, { authorization: basic('user', placeholder) }],
      [`${companion.url}/api/chat`, { authorization: basic(placeholder, '') }],
    ];
    if (placeholder !== '') attempts.push([`${companion.url}/t/${placeholder}/api/chat`, {}]);
    for (const [url, headers] of attempts) {
      const answer = await call(url, { headers, body: chatBody });
      assert.equal(
        answer.status,
        401,
        `${JSON.stringify(placeholder)} via ${JSON.stringify(headers)} ${url}`,
      );
      assert.match(String(answer.headers['www-authenticate']), /^Bearer realm=/);
      // A Basic username next to a placeholder password is tried as a token, so only the status is fixed.
      if (!headers.authorization?.startsWith('Basic')) {
        assert.match((JSON.parse(answer.text) as { error: string }).error, /missing token/);
      }
    }
  }
  assert.equal(emulator.requests.length, 0, 'nothing reached Ollama');
});

test('no or a wrong token: 401 with WWW-Authenticate in the route’s own wire shape', async (t) => {
  const emulator = await emulatorFor(t);
  const companion = await startCompanion(t, emulator.url);
  companion.token('someone');
  const wrong = { authorization: 'Bearer oc_thisIsNotARealTokenAtAll000000000000000000000' };

  for (const headers of [{}, wrong]) {
    const native = await call(`${companion.url}/api/chat`, { headers, body: chatBody });
    assert.equal(native.status, 401);
    assert.match(String(native.headers['www-authenticate']), /^Bearer realm="ollama-companion"/);
    assert.match(String(native.headers['content-type']), /application\/json/);
    const nativeBody = JSON.parse(native.text) as Record<string, unknown>;
    assert.deepEqual(Object.keys(nativeBody), ['error']);
    assert.equal(typeof nativeBody.error, 'string');

    const openai = await call(`${companion.url}/v1/chat/completions`, { headers, body: chatBody });
    assert.equal(openai.status, 401);
    assert.match(String(openai.headers['www-authenticate']), /^Bearer /);
    const openaiBody = JSON.parse(openai.text) as { error: { message: string; type: string } };
    assert.equal(openaiBody.error.type, 'authentication_error');
    assert.equal(typeof openaiBody.error.message, 'string');

    const anthropic = await call(`${companion.url}/v1/messages`, {
      headers,
      body: { model: 'llama3.2', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] },
    });
    assert.equal(anthropic.status, 401);
    assert.match(String(anthropic.headers['www-authenticate']), /^Bearer /);
    const anthropicBody = JSON.parse(anthropic.text) as { type: string; error: { type: string } };
    assert.equal(anthropicBody.type, 'error');
    assert.equal(anthropicBody.error.type, 'authentication_error');

    const tags = await call(`${companion.url}/api/tags`, { headers });
    assert.equal(tags.status, 401);
    const models = await call(`${companion.url}/v1/models`, { headers });
    assert.equal(models.status, 401);
  }
  const wrongBody = JSON.parse((await call(`${companion.url}/api/tags`, { headers: wrong })).text) as {
    error: string;
  };
  assert.equal(wrongBody.error, 'invalid token');
  assert.equal(emulator.requests.length, 0, 'nothing reached Ollama');
});

test('the ollama client sees a 401 ResponseError without a token', async (t) => {
  const emulator = await emulatorFor(t);
  const companion = await startCompanion(t, emulator.url);
  const ollama = new Ollama({ host: companion.url });
  await assert.rejects(ollama.list(), (error: unknown) => {
    assert.equal((error as { status_code?: number }).status_code, 401);
    return true;
  });
  assert.equal(emulator.requests.length, 0);
});

test('unknown paths are refused with 404 even with a valid token, and never forwarded', async (t) => {
  const emulator = await emulatorFor(t);
  const companion = await startCompanion(t, emulator.url);
  const secret = companion.token('full', {
    scopes: ['inference', 'embeddings', 'read', 'show', 'manage', 'metrics'],
  });
  const auth = { authorization: `Bearer ${secret}` };

  const native = await call(`${companion.url}/api/unknown`, { headers: auth, body: {} });
  assert.equal(native.status, 404);
  assert.equal(typeof (JSON.parse(native.text) as { error: unknown }).error, 'string');
  const openai = await call(`${companion.url}/v1/unknown`, { headers: auth });
  assert.equal(openai.status, 404);
  assert.equal((JSON.parse(openai.text) as { error: { type: string } }).error.type, 'not_found_error');
  for (const path of ['/api/tags/extra', '/api', '/v1', '/api/show/x', '/debug/pprof/', '/T/x/api/tags']) {
    const answer = await call(`${companion.url}${path}`, { headers: auth });
    assert.equal(answer.status, 404, path);
  }
  // Known paths with a method Ollama does not serve there are refused too.
  assert.equal((await call(`${companion.url}/api/tags`, { headers: auth, body: {} })).status, 404);
  assert.equal((await call(`${companion.url}/api/chat`, { headers: auth })).status, 404);

  const prefixed = await call(`${companion.url}/t/${secret}/api/unknown`, { body: {} });
  assert.equal(prefixed.status, 404);
  assert.ok(!prefixed.text.includes(secret), 'the refusal does not echo the secret');
  assert.equal(emulator.requests.length, 0, 'nothing reached Ollama');
});

test('a bare /t/<token> base URL is the status endpoint and never echoes the secret', async (t) => {
  const emulator = await emulatorFor(t);
  const companion = await startCompanion(t, emulator.url);
  const secret = companion.token('base');

  const bare = await call(`${companion.url}/t/${secret}`);
  assert.equal(bare.status, 200, bare.text);
  assert.equal(bare.text, 'Ollama is running');
  const post = await call(`${companion.url}/t/${secret}`, { body: {} });
  assert.equal(post.status, 404);
  assert.ok(!post.text.includes(secret), `the secret came back in: ${post.text}`);
  assertSecretNeverForwarded(emulator, secret);
});

test('GET / and /api/version need a token by default', async (t) => {
  const emulator = await emulatorFor(t);
  const companion = await startCompanion(t, emulator.url);
  const secret = companion.token('status');

  for (const path of ['/', '/api/version']) {
    const anonymous = await call(`${companion.url}${path}`);
    assert.equal(anonymous.status, 401, path);
    assert.ok(anonymous.headers['www-authenticate'], path);
    assert.equal((await call(`${companion.url}${path}`, { method: 'HEAD' })).status, 401, path);
  }
  assert.equal(emulator.requests.length, 0);

  const root = await call(`${companion.url}/`, { headers: { authorization: `Bearer ${secret}` } });
  assert.equal(root.status, 200);
  assert.equal(root.text, 'Ollama is running');
  const version = await call(`${companion.url}/api/version`, { headers: { 'x-api-key': secret } });
  assert.equal(version.status, 200);
  assert.equal((JSON.parse(version.text) as { version: string }).version, emulator.options.version);
});

test('with publicStatus, GET|HEAD / and /api/version are public and nothing else is', async (t) => {
  const emulator = await emulatorFor(t);
  const companion = await startCompanion(t, emulator.url, { publicStatus: true });
  companion.token('someone');

  const root = await call(`${companion.url}/`);
  assert.equal(root.status, 200);
  assert.equal(root.text, 'Ollama is running');
  assert.equal((await call(`${companion.url}/`, { method: 'HEAD' })).status, 200);
  const version = await call(`${companion.url}/api/version`);
  assert.equal(version.status, 200);
  assert.equal((JSON.parse(version.text) as { version: string }).version, emulator.options.version);
  assert.equal((await call(`${companion.url}/api/version`, { method: 'HEAD' })).status, 200);
  assert.equal((await new Ollama({ host: companion.url }).version()).version, emulator.options.version);
  const forwarded = emulator.requests.length;

  for (const [path, body] of [
    ['/api/tags', undefined],
    ['/api/ps', undefined],
    ['/v1/models', undefined],
    ['/api/chat', chatBody],
    ['/api/generate', { model: 'llama3.2', prompt: 'x' }],
    ['/v1/chat/completions', chatBody],
  ] as const) {
    const answer = await call(`${companion.url}${path}`, { body });
    assert.equal(answer.status, 401, path);
    assert.ok(answer.headers['www-authenticate'], path);
  }
  assert.equal(emulator.requests.length, forwarded, 'no protected request was forwarded');
});

/** Starts the real executable and collects everything it prints. */
async function spawnServe(
  t: TestContext,
  args: string[],
): Promise<{ url: string; output: () => string; stop: () => Promise<void> }> {
  const child: ChildProcess = spawn(process.execPath, [BIN, 'serve', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    out += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    out += chunk.toString();
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  t.after(stop);
  const url = await eventually(() => {
    if (child.exitCode !== null) throw new Error(`serve exited early: ${out}`);
    for (const line of out.split('\n')) {
      if (!line.includes('companion listening')) continue;
      return (JSON.parse(line) as { url: string }).url;
    }
    return undefined;
  }, 10_000);
  return { url, output: () => out, stop };
}

test('token secrets never appear in the logs, whichever way they are sent', async (t) => {
  const emulator = await emulatorFor(t);
  const dataDir = tempDir(t);
  const created = await runCli(['token', 'create', '--name', 'logged', '--init', '--data-dir', dataDir]);
  assert.equal(created.code, 0, created.stderr);
  const secret = created.stdout.trim();
  assert.match(secret, /^oc_/);
  const wrong = `oc_${'W'.repeat(43)}`;
  const server = await spawnServe(t, [
    '--data-dir',
    dataDir,
    '--port',
    '0',
    '--upstream',
    emulator.url,
    '--log-level',
    'debug',
  ]);
  const { url } = server;

  const statuses: number[] = [];
  for (const token of [secret, wrong]) {
    const ways: Array<[string, Record<string, string>]> = [
      [`${url}/api/chat`, { authorization: `Bearer ${token}` }],
      [`${url}/api/chat`, { 'x-api-key': token }],
      [`${url}/api/chat`, { authorization: basic('user', token) }],
      [`${url}/t/${token}/api/chat`, {}],
      [`${url}/t/${token}/v1/chat/completions`, {}],
      [`${url}/t/${token}/api/pull`, {}],
      [`${url}/t/${token}/api/unknown`, {}],
      [`${url}/t/${token}`, {}],
    ];
    for (const [target, headers] of ways) {
      statuses.push((await call(target, { headers, body: { ...chatBody, name: 'x' } })).status);
    }
    statuses.push((await call(`${url}/t/${token}/api/tags`)).status);
    statuses.push(await rawCall(url, `/t/${token}/../api/pull`));
    statuses.push(await rawCall(url, `/t/${token}/api/%2e%2e/pull`));
    statuses.push((await call(`${url}/api/tags?key=${token}`, { headers: { 'x-api-key': token } })).status);
  }
  assert.ok(statuses.includes(200) && statuses.includes(401) && statuses.includes(403), String(statuses));
  // Records of the requests are logged before the process exits.
  await server.stop();
  const logs = server.output();
  assert.match(logs, /"msg":"request"/, 'requests are logged at all');
  assert.match(logs, new RegExp(`"token":"${secret.slice(0, 11)}"`), 'the public prefix identifies it');
  for (const leaked of [secret, secret.slice(11), wrong, wrong.slice(11)]) {
    assert.ok(!logs.includes(leaked), 'a token secret (or its hidden part) was written to the log');
  }
});

test('token create, update and revoke from the CLI reach the running server within a second', async (t) => {
  const emulator = await emulatorFor(t);
  const companion = await startCompanion(t, emulator.url);
  const dataDir = ['--data-dir', companion.dataDir];
  const created = await runCli(['token', 'create', '--name', 'live', '--json', ...dataDir]);
  assert.equal(created.code, 0, created.stderr);
  const secret = (JSON.parse(created.stdout) as { token: string }).token;
  const chatStatus = async (model: string) =>
    (
      await call(`${companion.url}/api/chat`, {
        headers: { authorization: `Bearer ${secret}` },
        body: { ...chatBody, model },
      })
    ).status;
  const becomes = (model: string, status: number) =>
    eventually(async () => ((await chatStatus(model)) === status ? true : undefined), 1000);

  await becomes('llama3.2', 200);

  const narrowed = await runCli(['token', 'update', 'live', '--models', 'qwen3:*', ...dataDir]);
  assert.equal(narrowed.code, 0, narrowed.stderr);
  await becomes('llama3.2', 403);
  assert.equal(await chatStatus('qwen3:8b'), 200);

  assert.equal((await runCli(['token', 'update', 'live', '--disable', ...dataDir])).code, 0);
  await becomes('qwen3:8b', 403);
  assert.equal((await runCli(['token', 'update', 'live', '--enable', ...dataDir])).code, 0);
  await becomes('qwen3:8b', 200);

  const revoked = await runCli(['token', 'revoke', 'live', ...dataDir]);
  assert.equal(revoked.code, 0, revoked.stderr);
  assert.ok(!revoked.stdout.includes(secret));
  await becomes('qwen3:8b', 401);
});

test('a token stops working once its expiry passes', async (t) => {
  const emulator = await emulatorFor(t);
  const companion = await startCompanion(t, emulator.url);
  const secret = companion.token('short-lived', { expiresAt: Date.now() + 400 });
  const tags = () => call(`${companion.url}/api/tags`, { headers: { authorization: `Bearer ${secret}` } });

  assert.equal((await tags()).status, 200);
  const expired = await eventually(async () => {
    const answer = await tags();
    return answer.status === 200 ? undefined : answer;
  }, 3000);
  assert.equal(expired.status, 401);
  assert.ok(expired.headers['www-authenticate']);
  assert.match((JSON.parse(expired.text) as { error: string }).error, /expired/);
  const forwarded = emulator.requests.length;
  assert.equal((await tags()).status, 401);
  assert.equal(emulator.requests.length, forwarded, 'nothing is forwarded after expiry');

  const pastDue = companion.token('already-expired', { expiresAt: Date.now() - 1000 });
  const refused = await call(`${companion.url}/api/chat`, {
    headers: { authorization: `Bearer ${pastDue}` },
    body: chatBody,
  });
  assert.equal(refused.status, 401);
});

test('the data directory keeps only a hash of the secret, even after the token was used', async (t) => {
  const emulator = await emulatorFor(t);
  const companion = await startCompanion(t, emulator.url);
  const secret = companion.token('stored');
  const answers = [
    await call(`${companion.url}/api/chat`, {
      headers: { authorization: `Bearer ${secret}` },
      body: chatBody,
    }),
    await call(`${companion.url}/t/${secret}/api/generate`, { body: { model: 'llama3.2', prompt: 'x' } }),
    await call(`${companion.url}/api/chat`, {
      headers: { 'x-api-key': secret },
      body: { model: 'qwen3:8b' },
    }),
  ];
  assert.deepEqual(
    answers.map((a) => a.status),
    [200, 200, 200],
  );
  void companion.companion.history.flush();
  await eventually(() => ([...companion.companion.historyRepo.iterate({})].length >= 3 ? true : undefined));

  const files = readdirSync(companion.dataDir, { recursive: true, withFileTypes: true }).filter((f) =>
    f.isFile(),
  );
  assert.ok(files.length > 0);
  for (const entry of files) {
    const file = join(entry.parentPath, entry.name);
    const bytes = readFileSync(file);
    for (const needle of [secret, secret.slice(11)]) {
      assert.equal(bytes.indexOf(needle), -1, `${file} holds the secret`);
    }
  }
});

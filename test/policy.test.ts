/**
 * Policy per token, as a user meets it: scopes, model names and globs on every wire,
 * strict call quotas and concurrency caps under concurrent load, listings that cost
 * nothing, disabled/revoked/expired tokens, and refusals counted in /metrics.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { Ollama } from 'ollama';
import OpenAI from 'openai';
import { Agent, request } from 'undici';
import {
  emulatorFor,
  eventually,
  runCli,
  startCompanion,
  type TestCompanion,
} from './support/companion-harness.js';
import { type Emulator, startEmulator } from './support/ollama-emulator.js';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

type Method = 'GET' | 'HEAD' | 'POST' | 'DELETE';

async function call(
  companion: TestCompanion,
  secret: string,
  method: Method,
  path: string,
  body?: unknown,
): Promise<Answer> {
  const raw = Buffer.isBuffer(body) ? body : body === undefined ? undefined : JSON.stringify(body);
  const response = await request(`${companion.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: raw,
  });
  return { status: response.statusCode, headers: response.headers, text: await response.body.text() };
}

const chat = (model: string, content = 'hi') => ({
  model,
  messages: [{ role: 'user', content }],
  stream: false,
});
const errorOf = (answer: Answer) => (JSON.parse(answer.text) as { error: string }).error;
const forwarded = (emulator: Emulator, path: string) =>
  emulator.requests.filter((r) => r.path === path).length;

const BLOB = Buffer.from('a small blob');
const BLOB_PATH = `/api/blobs/sha256:${createHash('sha256').update(BLOB).digest('hex')}`;

/** Every endpoint behind `manage`, with a body that would work if the scope were granted. */
const MANAGE: Array<[Method, string, unknown]> = [
  ['POST', '/api/pull', { model: 'llama3.2', stream: false }],
  ['POST', '/api/push', { model: 'llama3.2', stream: false }],
  ['POST', '/api/create', { model: 'mine', from: 'llama3.2', stream: false }],
  ['POST', '/api/copy', { source: 'llama3.2', destination: 'llama3.2-copy' }],
  ['DELETE', '/api/delete', { model: 'nomic-embed-text' }],
  ['HEAD', BLOB_PATH, undefined],
  ['POST', BLOB_PATH, BLOB],
];

test('default scopes allow inference, embeddings and listings; show and manage are refused by name', async (t) => {
  const emulator = await emulatorFor(t);
  const companion = await startCompanion(t, emulator.url);
  const secret = companion.token('default');

  const allowed: Array<[Method, string, unknown]> = [
    ['POST', '/api/chat', chat('llama3.2')],
    ['POST', '/api/generate', { model: 'llama3.2', prompt: 'x', stream: false }],
    ['POST', '/api/embed', { model: 'nomic-embed-text', input: 'x' }],
    ['POST', '/v1/chat/completions', chat('llama3.2')],
    ['POST', '/v1/embeddings', { model: 'nomic-embed-text', input: 'x' }],
    ['GET', '/api/tags', undefined],
    ['GET', '/api/ps', undefined],
    ['GET', '/api/version', undefined],
    ['GET', '/v1/models', undefined],
  ];
  for (const [method, path, body] of allowed) {
    const answer = await call(companion, secret, method, path, body);
    assert.equal(answer.status, 200, `${method} ${path}: ${answer.text}`);
  }

  const show = await call(companion, secret, 'POST', '/api/show', { model: 'llama3.2' });
  assert.equal(show.status, 403);
  assert.match(errorOf(show), /"show" scope/);
  for (const [method, path, body] of MANAGE) {
    const answer = await call(companion, secret, method, path, body);
    assert.equal(answer.status, 403, `${method} ${path}`);
    if (method !== 'HEAD') assert.match(errorOf(answer), /"manage" scope/, path);
  }
  const ollama = new Ollama({ host: companion.url, headers: { Authorization: `Bearer ${secret}` } });
  await assert.rejects(ollama.pull({ model: 'llama3.2' }), /"manage" scope/);
  await assert.rejects(ollama.delete({ model: 'llama3.2' }), /"manage" scope/);

  const reached = emulator.requests.map((r) => r.path);
  for (const path of ['/api/show', '/api/pull', '/api/push', '/api/create', '/api/copy', '/api/delete']) {
    assert.ok(!reached.includes(path), `${path} reached Ollama`);
  }
  assert.ok(!reached.some((p) => p.startsWith('/api/blobs/')), 'a blob request reached Ollama');
  assert.equal(emulator.options.models.length, 3, 'no model was created, copied or deleted');
});

test('show and manage work once granted', async (t) => {
  const emulator = await emulatorFor(t);
  const companion = await startCompanion(t, emulator.url);
  const secret = companion.token('admin', {
    scopes: ['inference', 'embeddings', 'read', 'show', 'manage'],
  });

  const show = await call(companion, secret, 'POST', '/api/show', { model: 'llama3.2' });
  assert.equal(show.status, 200, show.text);
  const expected: Record<string, number> = { [BLOB_PATH]: 404 };
  for (const [method, path, body] of MANAGE) {
    const answer = await call(companion, secret, method, path, body);
    const status = path === BLOB_PATH && method === 'POST' ? 201 : (expected[path] ?? 200);
    assert.equal(answer.status, status, `${method} ${path}: ${answer.text}`);
  }
  for (const path of ['/api/pull', '/api/push', '/api/create', '/api/copy', '/api/delete']) {
    assert.equal(forwarded(emulator, path), 1, path);
  }
  assert.equal(forwarded(emulator, BLOB_PATH), 2);
  const names = emulator.options.models.map((m) => m.name);
  assert.ok(names.includes('llama3.2-copy:latest') || names.includes('llama3.2-copy'), String(names));
  assert.ok(!names.includes('nomic-embed-text:latest'), 'the model was deleted');
});

test('a token limited to llama3* is refused other models, naming them, on every wire', async (t) => {
  const emulator = await emulatorFor(t);
  const companion = await startCompanion(t, emulator.url);
  const secret = companion.token('llama-only', { models: ['llama3*'] });

  assert.equal((await call(companion, secret, 'POST', '/api/chat', chat('llama3.2'))).status, 200);
  const openai = new OpenAI({ baseURL: `${companion.url}/v1`, apiKey: secret, maxRetries: 0 });
  const completion = await openai.chat.completions.create({
    model: 'llama3.2',
    messages: [{ role: 'user', content: 'ok' }],
  });
  assert.equal(completion.choices[0]?.message.content, 'Echo: ok');
  const anthropicOk = await call(companion, secret, 'POST', '/v1/messages', {
    model: 'llama3.2',
    max_tokens: 20,
    messages: [{ role: 'user', content: 'ok' }],
  });
  assert.equal(anthropicOk.status, 200, anthropicOk.text);
  const before = emulator.requests.length;

  for (const [path, body] of [
    ['/api/chat', chat('qwen3:8b')],
    ['/api/generate', { model: 'qwen3:8b', prompt: 'x' }],
    ['/api/embed', { model: 'nomic-embed-text', input: 'x' }],
    ['/api/embeddings', { model: 'nomic-embed-text', prompt: 'x' }],
  ] as const) {
    const answer = await call(companion, secret, 'POST', path, body);
    assert.equal(answer.status, 403, path);
    assert.equal(errorOf(answer), `this token may not use model "${body.model}"`, path);
  }
  await assert.rejects(
    openai.chat.completions.create({ model: 'qwen3:8b', messages: [{ role: 'user', content: 'x' }] }),
    (error: unknown) => {
      assert.ok(error instanceof OpenAI.PermissionDeniedError);
      assert.match(error.message, /qwen3:8b/);
      return true;
    },
  );
  await assert.rejects(
    openai.embeddings.create({ model: 'nomic-embed-text', input: 'x' }),
    /nomic-embed-text/,
  );
  await assert.rejects(openai.models.retrieve('qwen3:8b'), (error: unknown) => {
    assert.equal((error as { status?: number }).status, 403);
    return true;
  });
  const anthropic = await call(companion, secret, 'POST', '/v1/messages', {
    model: 'qwen3:8b',
    max_tokens: 20,
    messages: [{ role: 'user', content: 'x' }],
  });
  assert.equal(anthropic.status, 403);
  const anthropicError = JSON.parse(anthropic.text) as {
    type: string;
    error: { type: string; message: string };
  };
  assert.equal(anthropicError.type, 'error');
  assert.equal(anthropicError.error.type, 'permission_error');
  assert.match(anthropicError.error.message, /"qwen3:8b"/);
  assert.equal(emulator.requests.length, before, 'no refused request reached Ollama');

  const tags = JSON.parse((await call(companion, secret, 'GET', '/api/tags')).text) as {
    models: Array<{ name: string }>;
  };
  assert.deepEqual(
    tags.models.map((m) => m.name),
    ['llama3.2:latest'],
  );
  const models = await openai.models.list();
  assert.deepEqual(
    models.data.map((m) => m.id),
    ['llama3.2:latest'],
  );
});

test('qwen3:* and an exact llama3.2 rule match the way Ollama names models', async (t) => {
  const emulator = await emulatorFor(t);
  const companion = await startCompanion(t, emulator.url);
  const qwen = companion.token('qwen', { models: ['qwen3:*'] });
  const exact = companion.token('exact', { models: ['llama3.2'] });

  assert.equal((await call(companion, qwen, 'POST', '/api/chat', chat('qwen3:8b'))).status, 200);
  const refused = await call(companion, qwen, 'POST', '/api/chat', chat('llama3.2'));
  assert.equal(refused.status, 403);
  assert.match(errorOf(refused), /"llama3.2"/);

  for (const name of ['llama3.2', 'llama3.2:latest', 'registry.ollama.ai/library/llama3.2:latest']) {
    const answer = await call(companion, exact, 'POST', '/api/chat', chat(name));
    assert.equal(answer.status, 200, `${name}: ${answer.text}`);
  }
  for (const name of ['llama3.2:1b', 'llama3', 'qwen3:8b']) {
    const answer = await call(companion, exact, 'POST', '/api/chat', chat(name));
    assert.equal(answer.status, 403, name);
    assert.match(errorOf(answer), new RegExp(`"${name.replace('.', '\\.')}"`));
  }
  const tags = JSON.parse((await call(companion, exact, 'GET', '/api/tags')).text) as {
    models: Array<{ name: string }>;
  };
  assert.deepEqual(
    tags.models.map((m) => m.name),
    ['llama3.2:latest'],
  );
});

test('copy and create check every model they touch', async (t) => {
  const emulator = await emulatorFor(t);
  const companion = await startCompanion(t, emulator.url);
  const secret = companion.token('llama-manager', {
    models: ['llama3*'],
    scopes: ['inference', 'read', 'manage'],
  });

  const ok = await call(companion, secret, 'POST', '/api/copy', {
    source: 'llama3.2',
    destination: 'llama3-mine',
  });
  assert.equal(ok.status, 200, ok.text);
  assert.equal(forwarded(emulator, '/api/copy'), 1);

  const toOther = await call(companion, secret, 'POST', '/api/copy', {
    source: 'llama3.2',
    destination: 'qwen3:stolen',
  });
  assert.equal(toOther.status, 403);
  assert.match(errorOf(toOther), /"qwen3:stolen"/);
  const fromOther = await call(companion, secret, 'POST', '/api/copy', {
    source: 'qwen3:8b',
    destination: 'llama3-stolen',
  });
  assert.equal(fromOther.status, 403);
  assert.match(errorOf(fromOther), /"qwen3:8b"/);
  assert.equal(forwarded(emulator, '/api/copy'), 1, 'refused copies never reached Ollama');

  // A model built from another one gives access to it: `from` is checked too.
  const createdFromOther = await call(companion, secret, 'POST', '/api/create', {
    model: 'llama3-stolen',
    from: 'qwen3:8b',
    stream: false,
  });
  assert.equal(createdFromOther.status, 403);
  assert.match(errorOf(createdFromOther), /"qwen3:8b"/);
  const created = await call(companion, secret, 'POST', '/api/create', {
    model: 'llama3-custom',
    from: 'llama3.2',
    system: 'be brief',
    stream: false,
  });
  assert.equal(created.status, 200, created.text);
  assert.equal(forwarded(emulator, '/api/create'), 1);
});

test('a refused model cannot be smuggled past the rules under a differently cased key', async (t) => {
  const emulator = await emulatorFor(t);
  const companion = await startCompanion(t, emulator.url);
  const secret = companion.token('llama-only', {
    models: ['llama3*'],
    scopes: ['inference', 'read', 'manage'],
  });

  // Ollama decodes JSON with Go, which reads "Model" into the model field and lets the last key win.
  for (const [path, raw] of [
    ['/api/chat', '{"model":"llama3.2","Model":"qwen3:8b","messages":[],"stream":false}'],
    ['/api/generate', '{"model":"llama3.2","MODEL":"qwen3:8b","prompt":"x","stream":false}'],
    ['/v1/chat/completions', '{"model":"llama3.2","mOdel":"qwen3:8b","messages":[]}'],
    ['/api/copy', '{"source":"llama3.2","\u017fource":"qwen3:8b","destination":"llama3-x"}'],
  ] as const) {
    const answer = await call(companion, secret, 'POST', path, Buffer.from(raw));
    assert.ok(answer.status === 400 || answer.status === 403, `${path}: ${answer.status} ${answer.text}`);
  }
  const alone = await call(
    companion,
    secret,
    'POST',
    '/api/chat',
    Buffer.from('{"Model":"qwen3:8b","messages":[]}'),
  );
  assert.equal(alone.status, 403, 'a lone "Model" key is the model Ollama will run');
  assert.match(errorOf(alone), /"qwen3:8b"/);
  assert.equal(emulator.requests.length, 0, 'nothing reached Ollama');
});

test('a total quota is strict: with N calls left, exactly N of N+10 concurrent requests are forwarded', async (t) => {
  const emulator = await emulatorFor(t, { chunkDelayMs: 20 });
  const companion = await startCompanion(t, emulator.url);
  const secret = companion.token('quota', { calls: { total: 8 } });
  for (let i = 0; i < 3; i++) {
    assert.equal((await call(companion, secret, 'POST', '/api/chat', chat('llama3.2'))).status, 200);
  }
  const left = 5;

  const answers = await Promise.all(
    Array.from({ length: left + 10 }, (_, i) =>
      call(companion, secret, 'POST', '/api/chat', chat('llama3.2', `request ${i}`)),
    ),
  );
  const ok = answers.filter((a) => a.status === 200);
  const refused = answers.filter((a) => a.status === 429);
  assert.equal(ok.length, left);
  assert.equal(refused.length, 10);
  for (const answer of refused) {
    assert.equal(answer.headers['retry-after'], undefined, 'a lifetime quota does not come back by waiting');
    assert.match(errorOf(answer), /quota used up: 8 of 8 calls/);
  }
  assert.equal(forwarded(emulator, '/api/chat'), 3 + left, 'exactly the allowed requests reached Ollama');

  const later = await call(companion, secret, 'POST', '/api/chat', chat('llama3.2'));
  assert.equal(later.status, 429);
  assert.equal(forwarded(emulator, '/api/chat'), 3 + left);
});

test('a per-minute quota answers 429 with a Retry-After of at most 60 seconds', async (t) => {
  const emulator = await emulatorFor(t);
  const companion = await startCompanion(t, emulator.url);
  const secret = companion.token('per-minute', { calls: { minute: 2 } });
  // The quota counts per calendar minute: start early in one so the test cannot straddle two.
  const intoMinute = Date.now() % 60_000;
  if (intoMinute > 57_000) await new Promise((resolve) => setTimeout(resolve, 60_000 - intoMinute + 50));

  assert.equal((await call(companion, secret, 'POST', '/api/chat', chat('llama3.2'))).status, 200);
  assert.equal(
    (await call(companion, secret, 'POST', '/api/embed', { model: 'nomic-embed-text', input: 'x' })).status,
    200,
  );
  const native = await call(companion, secret, 'POST', '/api/chat', chat('llama3.2'));
  assert.equal(native.status, 429);
  const seconds = Number(native.headers['retry-after']);
  assert.ok(Number.isInteger(seconds) && seconds >= 1 && seconds <= 60, `Retry-After: ${seconds}`);
  assert.match(errorOf(native), /per minute/);

  const openai = new OpenAI({ baseURL: `${companion.url}/v1`, apiKey: secret, maxRetries: 0 });
  await assert.rejects(
    openai.chat.completions.create({ model: 'llama3.2', messages: [{ role: 'user', content: 'x' }] }),
    (error: unknown) => {
      assert.ok(error instanceof OpenAI.RateLimitError);
      const retryAfter = Number(error.headers?.get('retry-after'));
      assert.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After: ${retryAfter}`);
      return true;
    },
  );
  assert.equal(forwarded(emulator, '/api/chat') + forwarded(emulator, '/v1/chat/completions'), 1);
});

test('the concurrency cap refuses extra requests while others run, and frees up when they end', async (t) => {
  const emulator = await emulatorFor(t, { chunkDelayMs: 40, chunks: 8 });
  const companion = await startCompanion(t, emulator.url);
  const secret = companion.token('capped', { maxConcurrent: 2 });
  const streamed = (content: string) =>
    request(`${companion.url}/api/chat`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}` },
      body: JSON.stringify({ model: 'llama3.2', messages: [{ role: 'user', content }] }),
    });

  const running = [streamed('first answer'), streamed('second answer')];
  await emulator.waitFor((e) => e.stats.active === 2, 5000);
  const extra = await Promise.all(
    Array.from({ length: 4 }, (_, i) =>
      call(companion, secret, 'POST', '/api/chat', chat('llama3.2', `extra ${i}`)),
    ),
  );
  for (const answer of extra) {
    assert.equal(answer.status, 429);
    const seconds = Number(answer.headers['retry-after']);
    assert.ok(seconds >= 1, `Retry-After: ${answer.headers['retry-after']}`);
    assert.match(errorOf(answer), /concurrent/);
  }
  assert.equal(forwarded(emulator, '/api/chat'), 2, 'the extra requests never reached Ollama');
  for (const pending of running) {
    const response = await pending;
    assert.equal(response.statusCode, 200);
    const lines = (await response.body.text()).trim().split('\n');
    assert.equal((JSON.parse(lines.at(-1) ?? '{}') as { done?: boolean }).done, true);
  }

  const after = await call(companion, secret, 'POST', '/api/chat', chat('llama3.2', 'after'));
  assert.equal(after.status, 200, after.text);
  assert.match(after.text, /Echo: after/);
});

test('listings do not use up calls', async (t) => {
  const emulator = await emulatorFor(t);
  const companion = await startCompanion(t, emulator.url);
  const secret = companion.token('lister', { calls: { total: 2, minute: 2 } });

  for (let i = 0; i < 5; i++) {
    for (const path of ['/api/tags', '/api/ps', '/api/version', '/v1/models']) {
      assert.equal((await call(companion, secret, 'GET', path)).status, 200, path);
    }
  }
  assert.equal((await call(companion, secret, 'POST', '/api/chat', chat('llama3.2'))).status, 200);
  assert.equal((await call(companion, secret, 'POST', '/api/chat', chat('llama3.2'))).status, 200);
  assert.equal((await call(companion, secret, 'POST', '/api/chat', chat('llama3.2'))).status, 429);
  assert.equal((await call(companion, secret, 'GET', '/api/tags')).status, 200, 'listing still works');
});

test('a disabled token gets 403, a revoked one 401, an expired one 401', async (t) => {
  const emulator = await emulatorFor(t);
  const companion = await startCompanion(t, emulator.url);
  const { tokens, directory } = companion.companion;
  const secret = companion.token('lifecycle');
  const expired = companion.token('expired', { expiresAt: Date.now() - 1 });
  const chatWith = (s: string) => call(companion, s, 'POST', '/api/chat', chat('llama3.2'));

  assert.equal((await chatWith(secret)).status, 200);
  tokens.update('lifecycle', { enabled: false });
  directory.reload();
  const disabled = await chatWith(secret);
  assert.equal(disabled.status, 403);
  assert.match(errorOf(disabled), /disabled/);
  assert.equal((await call(companion, secret, 'GET', '/api/tags')).status, 403);

  tokens.update('lifecycle', { enabled: true });
  directory.reload();
  assert.equal((await chatWith(secret)).status, 200);

  tokens.revoke('lifecycle');
  directory.reload();
  const revoked = await chatWith(secret);
  assert.equal(revoked.status, 401);
  assert.ok(revoked.headers['www-authenticate']);
  assert.match(errorOf(revoked), /revoked/);

  const late = await chatWith(expired);
  assert.equal(late.status, 401);
  assert.match(errorOf(late), /expired/);
  assert.equal(forwarded(emulator, '/api/chat'), 2);
});

function counter(metrics: string, name: string, labels = ''): number {
  const line = metrics.split('\n').find((l) => l.startsWith(`${name}${labels} `));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
}

test('refusals are counted in companion_refusals_total by reason', async (t) => {
  const emulator = await emulatorFor(t, { chunkDelayMs: 30, chunks: 6 });
  const companion = await startCompanion(t, emulator.url);
  const scrape = async () => (await request(`${companion.url}/metrics`)).body.text();
  const before = await scrape();

  const narrow = companion.token('narrow', { models: ['llama3*'], calls: { total: 1 } });
  assert.equal((await call(companion, narrow, 'POST', '/api/pull', { model: 'llama3.2' })).status, 403);
  assert.equal((await call(companion, narrow, 'POST', '/api/show', { model: 'llama3.2' })).status, 403);
  assert.equal((await call(companion, narrow, 'POST', '/api/chat', chat('qwen3:8b'))).status, 403);
  assert.equal((await call(companion, narrow, 'POST', '/api/chat', chat('llama3.2'))).status, 200);
  assert.equal((await call(companion, narrow, 'POST', '/api/chat', chat('llama3.2'))).status, 429);
  const perMinute = companion.token('minute', { calls: { minute: 0 } });
  assert.equal((await call(companion, perMinute, 'POST', '/api/chat', chat('llama3.2'))).status, 429);
  const capped = companion.token('capped', { maxConcurrent: 1 });
  const running = call(companion, capped, 'POST', '/api/chat', chat('llama3.2'));
  await emulator.waitFor((e) => e.stats.active === 1, 5000);
  assert.equal((await call(companion, capped, 'POST', '/api/chat', chat('llama3.2'))).status, 429);
  assert.equal((await running).status, 200);
  const off = companion.token('off', { enabled: false });
  assert.equal((await call(companion, off, 'POST', '/api/chat', chat('llama3.2'))).status, 403);
  assert.equal((await call(companion, 'oc_wrong', 'POST', '/api/chat', chat('llama3.2'))).status, 401);

  const after = await scrape();
  const increase = (labels: string, name = 'companion_refusals_total') =>
    counter(after, name, labels) - counter(before, name, labels);
  assert.equal(increase('{reason="forbidden_scope"}'), 2);
  assert.equal(increase('{reason="forbidden_model"}'), 1);
  assert.equal(increase('{reason="quota_exceeded"}'), 1);
  assert.equal(increase('{reason="rate_limited"}'), 1);
  assert.equal(increase('{reason="concurrency_limited"}'), 1);
  assert.equal(increase('{reason="token_disabled"}'), 1);
  assert.equal(increase('', 'companion_unauthenticated_total'), 1);
});

test('calls used are saved while the server runs, whatever the token’s history mode', async (t) => {
  const emulator = await emulatorFor(t);
  const companion = await startCompanion(t, emulator.url);
  for (const historyMode of ['full', 'off'] as const) {
    const secret = companion.token(`history-${historyMode}`, { calls: { total: 10 }, historyMode });
    for (let i = 0; i < 2; i++) {
      assert.equal((await call(companion, secret, 'POST', '/api/chat', chat('llama3.2'))).status, 200);
    }
    // `token show` reads the database, as after a crash and restart the ledger would.
    const shown = await eventually(async () => {
      const result = await runCli([
        'token',
        'show',
        `history-${historyMode}`,
        '--json',
        '--data-dir',
        companion.dataDir,
      ]);
      const usage = (JSON.parse(result.stdout) as { usage: { total: number } }).usage;
      return usage.total === 2 ? usage : undefined;
    }, 2000).catch(() => undefined);
    assert.ok(shown, `history ${historyMode}: the 2 calls were not saved within 2 s`);
  }
});

test('refused, malformed and failed requests do not use up calls', async (t) => {
  const emulator = await emulatorFor(t);
  const companion = await startCompanion(t, emulator.url);
  const secret = companion.token('careful', { models: ['llama3*'], calls: { total: 1 } });

  assert.equal((await call(companion, secret, 'POST', '/api/chat', chat('qwen3:8b'))).status, 403);
  assert.equal((await call(companion, secret, 'POST', '/api/pull', { model: 'llama3.2' })).status, 403);
  assert.equal((await call(companion, secret, 'POST', '/api/chat', Buffer.from('{"model":'))).status, 400);
  assert.equal((await call(companion, secret, 'POST', '/api/chat', { messages: [] })).status, 400);
  assert.equal((await call(companion, secret, 'POST', '/api/chat', chat('llama3.2'))).status, 200);
  assert.equal((await call(companion, secret, 'POST', '/api/chat', chat('llama3.2'))).status, 429);

  // Ollama unreachable: the client gets a 502 and keeps its call.
  const down = await startEmulator();
  await down.close();
  const orphan = await startCompanion(t, down.url);
  const once = orphan.token('once', { calls: { total: 1 } });
  for (let i = 0; i < 3; i++) {
    assert.equal((await call(orphan, once, 'POST', '/api/chat', chat('llama3.2'))).status, 502);
  }
});

test('a client that gives up mid-answer frees its concurrency slot', async (t) => {
  const emulator = await emulatorFor(t, { chunkDelayMs: 100, chunks: 20 });
  const companion = await startCompanion(t, emulator.url);
  const secret = companion.token('quitter', { maxConcurrent: 1 });

  // Its own connection pool: the cancelled connection must not linger in the shared one.
  const agent = new Agent();
  t.after(() => agent.destroy());
  const controller = new AbortController();
  const response = await request(`${companion.url}/api/chat`, {
    dispatcher: agent,
    method: 'POST',
    headers: { authorization: `Bearer ${secret}` },
    body: JSON.stringify({ model: 'llama3.2', messages: [{ role: 'user', content: 'a long answer' }] }),
    signal: controller.signal,
  });
  assert.equal(response.statusCode, 200);
  await emulator.waitFor((e) => e.stats.active === 1, 5000);
  assert.equal((await call(companion, secret, 'POST', '/api/chat', chat('llama3.2'))).status, 429);
  controller.abort();
  await response.body.text().catch(() => undefined);

  emulator.options.chunkDelayMs = 0;
  const status = await eventually(async () => {
    const answer = await call(companion, secret, 'POST', '/api/chat', chat('llama3.2'));
    return answer.status === 200 ? answer.status : undefined;
  }, 1000);
  assert.equal(status, 200);
});

test('calls Ollama refuses (503 busy, 404 unknown model) give the call back', async (t) => {
  const emulator = await emulatorFor(t, { parallel: 1, maxQueue: 0 });
  const companion = await startCompanion(t, emulator.url);
  const twenty = companion.token('twenty', { calls: { total: 20 } });
  const daily = companion.token('daily', { calls: { day: 7 } });

  // Another client holds Ollama's only slot, so every call of this token meets a full queue.
  emulator.options.chunkDelayMs = 50;
  emulator.options.chunks = 200;
  const holder = new AbortController();
  const holding = request(`${companion.url}/api/chat`, {
    method: 'POST',
    headers: { authorization: `Bearer ${companion.token('holder')}` },
    body: JSON.stringify(chat('llama3.2', 'a long answer')),
    signal: holder.signal,
  }).then(
    (r) => r.body.text(),
    () => undefined,
  );
  await emulator.waitFor((e) => e.stats.active === 1, 5000);
  for (let i = 0; i < 20; i++) {
    const busy = await call(companion, twenty, 'POST', '/api/chat', chat('llama3.2', `busy ${i}`));
    assert.equal(busy.status, 503, busy.text);
  }
  holder.abort();
  await holding.catch(() => undefined);
  await emulator.waitFor((e) => e.stats.active === 0, 5000);
  emulator.options.chunkDelayMs = 0;
  emulator.options.chunks = 4;

  for (const model of ['llama3.3', 'lama3.2']) {
    const typo = await call(companion, daily, 'POST', '/api/chat', chat(model));
    assert.equal(typo.status, 404, typo.text);
  }
  const openai = new OpenAI({ baseURL: `${companion.url}/v1`, apiKey: daily, maxRetries: 0 });
  await assert.rejects(
    openai.chat.completions.create({ model: 'llama-typo', messages: [{ role: 'user', content: 'x' }] }),
    (error: unknown) => error instanceof OpenAI.NotFoundError,
  );

  const served = async (secret: string, n: number) => {
    let ok = 0;
    for (let i = 0; i < n; i++) {
      if ((await call(companion, secret, 'POST', '/api/chat', chat('llama3.2', `real ${i}`))).status === 200)
        ok++;
    }
    return ok;
  };
  const left = { twenty: await served(twenty, 21), daily: await served(daily, 8) };
  assert.deepEqual(left, { twenty: 20, daily: 7 }, 'calls still served after the refused ones');
});

test('a used-up lifetime quota says so and gives no retry hint; a window quota keeps Retry-After', async (t) => {
  const emulator = await emulatorFor(t);
  const companion = await startCompanion(t, emulator.url);
  const scrape = async () => (await request(`${companion.url}/metrics`)).body.text();
  const secret = companion.token('lifetime', { calls: { total: 2 } });
  assert.equal((await call(companion, secret, 'POST', '/api/chat', chat('llama3.2'))).status, 200);
  assert.equal((await call(companion, secret, 'POST', '/v1/chat/completions', chat('llama3.2'))).status, 200);

  const native = await call(companion, secret, 'POST', '/api/chat', chat('llama3.2'));
  assert.equal(native.status, 429);
  assert.equal(native.headers['retry-after'], undefined, 'no Retry-After for a quota that never resets');
  assert.equal(errorOf(native), 'token quota used up: 2 of 2 calls; an admin can raise it');

  const ollama = new Ollama({ host: companion.url, headers: { Authorization: `Bearer ${secret}` } });
  await assert.rejects(
    ollama.generate({ model: 'llama3.2', prompt: 'x', stream: false }),
    (error: Error & { status_code?: number }) => {
      assert.equal(error.status_code, 429);
      assert.match(error.message, /quota used up: 2 of 2 calls/);
      return true;
    },
  );

  // The OpenAI SDK retries a 429 twice by default; a quota that is used up must not invite that.
  const before = counter(await scrape(), 'companion_refusals_total', '{reason="quota_exceeded"}');
  const openai = new OpenAI({ baseURL: `${companion.url}/v1`, apiKey: secret });
  await assert.rejects(
    openai.chat.completions.create({ model: 'llama3.2', messages: [{ role: 'user', content: 'x' }] }),
    (error: unknown) => {
      assert.ok(error instanceof OpenAI.RateLimitError);
      assert.equal(error.headers?.get('retry-after'), null);
      assert.match(error.message, /token quota used up: 2 of 2 calls; an admin can raise it/);
      assert.equal(error.code, 'quota_exceeded');
      return true;
    },
  );
  const after = counter(await scrape(), 'companion_refusals_total', '{reason="quota_exceeded"}');
  assert.equal(after - before, 1, 'the client asked once');

  const hourly = companion.token('hourly', { calls: { hour: 1 } });
  assert.equal((await call(companion, hourly, 'POST', '/api/chat', chat('llama3.2'))).status, 200);
  const windowed = await call(companion, hourly, 'POST', '/api/chat', chat('llama3.2'));
  assert.equal(windowed.status, 429);
  const seconds = Number(windowed.headers['retry-after']);
  const untilHour = Math.ceil((3_600_000 - (Date.now() % 3_600_000)) / 1000);
  assert.ok(seconds >= 1 && seconds <= untilHour + 1, `Retry-After ${seconds}, hour ends in ${untilHour}`);
  assert.match(errorOf(windowed), /1 calls per hour/);
});

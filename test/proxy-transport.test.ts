/**
 * What travels between client, companion and Ollama: the Host header Ollama insists on,
 * credentials and Origin that must never reach it, CORS answered by the companion, 502s
 * when Ollama is down, cancellation when the client leaves, HTTPS, and pooled connections.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect as tlsConnect } from 'node:tls';
import { Ollama } from 'ollama';
import { Agent, request } from 'undici';
import {
  emulatorFor,
  eventually,
  startCompanion,
  type TestCompanion,
  tempDir,
} from './support/companion-harness.js';
import type { Emulator } from './support/ollama-emulator.js';

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  assert.ok(address && typeof address === 'object');
  return address.port;
}

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  const port = await listen(server);
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A TCP relay in front of the emulator that counts the connections the companion opens. */
async function connectionCounter(
  t: TestContext,
  target: Emulator,
): Promise<{ url: string; count(): number }> {
  let connections = 0;
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    connections++;
    const upstream = connect(target.port, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => {});
      s.on('close', () => sockets.delete(s));
    }
    client.pipe(upstream).pipe(client);
  });
  const port = await listen(server);
  t.after(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((resolve) => server.close(resolve));
  });
  return { url: `http://127.0.0.1:${port}`, count: () => connections };
}

function chatBody(content = 'hello', extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    model: 'llama3.2',
    messages: [{ role: 'user', content }],
    stream: false,
    ...extra,
  });
}

async function historyRows(companion: TestCompanion, endpoint: string) {
  return eventually(() => {
    void companion.companion.history.flush();
    const rows = [...companion.companion.historyRepo.iterate({})].filter(
      (r) => r.endpoint === endpoint && r.outcome !== 'in_progress',
    );
    return rows.length > 0 ? rows : undefined;
  });
}

test('a foreign Host header still works: the companion speaks to Ollama with Ollama’s own host', async (t) => {
  const emulator = await emulatorFor(t, { checkHost: true });
  const companion = await startCompanion(t, emulator.url);
  const secret = companion.token('host');
  const { port } = new URL(companion.url);
  const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/api/chat',
        headers: {
          host: 'ollama.example.com',
          authorization: `Bearer ${secret}`,
          'content-type': 'application/json',
        },
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          body += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.end(chatBody('via a domain name'));
  });
  assert.equal(answer.status, 200, answer.body);
  assert.equal(
    (JSON.parse(answer.body) as { message: { content: string } }).message.content,
    'Echo: via a domain name',
  );
  assert.equal(emulator.requests[0]?.headers.host, new URL(emulator.url).host);
});

test('credentials, cookies and Origin never reach Ollama, in any form the token arrives', async (t) => {
  const emulator = await emulatorFor(t);
  const companion = await startCompanion(t, emulator.url);
  const secret = companion.token('secret-keeper');
  const origin = 'http://localhost:3000';
  const forms: Array<{ path: string; headers: Record<string, string> }> = [
    { path: '/api/chat', headers: { authorization: `Bearer ${secret}` } },
    { path: '/api/chat', headers: { 'x-api-key': secret } },
    {
      path: '/api/chat',
      headers: { authorization: `Basic ${Buffer.from(`me:${secret}`).toString('base64')}` },
    },
    { path: `/t/${secret}/api/chat`, headers: {} },
  ];
  for (const form of forms) {
    const res = await request(`${companion.url}${form.path}`, {
      method: 'POST',
      headers: {
        ...form.headers,
        origin,
        cookie: `session=${secret}; theme=dark`,
        'proxy-authorization': `Bearer ${secret}`,
        'content-type': 'application/json',
      },
      body: chatBody(`form ${forms.indexOf(form)}`),
    });
    assert.equal(res.statusCode, 200, `${form.path} ${Object.keys(form.headers).join()}`);
    assert.equal(res.headers['access-control-allow-origin'], origin);
    await res.body.dump();
  }
  const ollama = new Ollama({ host: `${companion.url}/t/${secret}` });
  const viaClient = await ollama.chat({ model: 'llama3.2', messages: [{ role: 'user', content: 'client' }] });
  assert.equal(viaClient.message.content, 'Echo: client');

  assert.equal(emulator.requests.length, forms.length + 1);
  for (const seen of emulator.requests) {
    assert.equal(seen.path, '/api/chat');
    for (const name of ['authorization', 'x-api-key', 'cookie', 'origin', 'proxy-authorization']) {
      assert.equal(seen.headers[name], undefined, `${name} reached Ollama`);
    }
    const everything = [seen.url, seen.rawHeaders.join('\n'), seen.rawBody.toString('utf8')].join('\n');
    assert.ok(!everything.includes(secret), 'the token reached Ollama');
    assert.ok(!everything.includes(secret.slice(0, 12)), 'part of the token reached Ollama');
  }
});

test('CORS preflight from Ollama’s default origins is answered without a token', async (t) => {
  const emulator = await emulatorFor(t);
  const companion = await startCompanion(t, emulator.url);
  for (const origin of ['http://localhost:3000', 'app://obsidian.md']) {
    const res = await request(`${companion.url}/api/chat`, {
      method: 'OPTIONS',
      headers: {
        origin,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization,content-type',
      },
    });
    await res.body.dump();
    assert.ok(res.statusCode === 204 || res.statusCode === 200, `status ${res.statusCode} for ${origin}`);
    assert.equal(res.headers['access-control-allow-origin'], origin);
    assert.match(String(res.headers['access-control-allow-methods']), /POST/);
    assert.match(String(res.headers['access-control-allow-headers']).toLowerCase(), /authorization/);
  }
  assert.equal(emulator.requests.length, 0, 'preflights are answered by the companion');
});

test('a disallowed origin gets no CORS headers', async (t) => {
  const emulator = await emulatorFor(t);
  const companion = await startCompanion(t, emulator.url);
  const secret = companion.token('cors');
  const preflight = await request(`${companion.url}/api/chat`, {
    method: 'OPTIONS',
    headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
  });
  await preflight.body.dump();
  assert.equal(preflight.headers['access-control-allow-origin'], undefined);

  const actual = await request(`${companion.url}/api/version`, {
    headers: { origin: 'https://evil.example', authorization: `Bearer ${secret}` },
  });
  await actual.body.dump();
  assert.equal(actual.headers['access-control-allow-origin'], undefined);
});

test('a preflight from an origin not allowed is refused, naming the setting to change', async (t) => {
  const emulator = await emulatorFor(t);
  const companion = await startCompanion(t, emulator.url);
  const cases = [
    { path: '/api/chat', error: (body: { error: string }) => body.error },
    {
      path: '/v1/chat/completions',
      error: (body: { error: { message: string; type: string } }) => {
        assert.equal(body.error.type, 'permission_error');
        return body.error.message;
      },
    },
  ];
  for (const { path, error } of cases) {
    const res = await fetch(`${companion.url}${path}`, {
      method: 'OPTIONS',
      headers: { origin: 'https://notes.example.net', 'access-control-request-method': 'POST' },
    });
    assert.equal(res.status, 403, path);
    assert.equal(res.headers.get('access-control-allow-origin'), null);
    assert.equal(
      error(await res.json()),
      'origin https://notes.example.net is not allowed; add it to corsOrigins (--cors-origins / OLLAMA_COMPANION_CORS_ORIGINS)',
    );
  }
  // Not a preflight (no Origin): an unknown OPTIONS stays an unknown endpoint.
  const plain = await fetch(`${companion.url}/api/chat`, { method: 'OPTIONS' });
  assert.equal(plain.status, 404);
  await plain.body?.cancel();
  assert.equal(emulator.requests.length, 0);
});

test('a configured origin glob is allowed, and only what it matches', async (t) => {
  const emulator = await emulatorFor(t);
  const companion = await startCompanion(t, emulator.url, { corsOrigins: ['https://*.example.com'] });
  const secret = companion.token('glob');
  const allowed = await request(`${companion.url}/v1/chat/completions`, {
    method: 'OPTIONS',
    headers: { origin: 'https://notes.example.com', 'access-control-request-method': 'POST' },
  });
  await allowed.body.dump();
  assert.equal(allowed.headers['access-control-allow-origin'], 'https://notes.example.com');

  const lookalike = await request(`${companion.url}/v1/chat/completions`, {
    method: 'OPTIONS',
    headers: { origin: 'https://example.com.evil.net', 'access-control-request-method': 'POST' },
  });
  await lookalike.body.dump();
  assert.equal(lookalike.headers['access-control-allow-origin'], undefined);

  const call = await request(`${companion.url}/api/tags`, {
    headers: { origin: 'https://notes.example.com', authorization: `Bearer ${secret}` },
  });
  assert.equal(call.statusCode, 200);
  await call.body.dump();
  assert.equal(call.headers['access-control-allow-origin'], 'https://notes.example.com');
});

test('Ollama unreachable: 502 in each route’s wire shape', async (t) => {
  const port = await closedPort();
  const companion = await startCompanion(t, `http://127.0.0.1:${port}`);
  const secret = companion.token('down');
  const headers = { authorization: `Bearer ${secret}`, 'content-type': 'application/json' };
  const messages = [{ role: 'user', content: 'anyone?' }];

  const native = await request(`${companion.url}/api/chat`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ model: 'llama3.2', messages }),
  });
  assert.equal(native.statusCode, 502);
  const nativeBody = (await native.body.json()) as { error: unknown };
  assert.deepEqual(Object.keys(nativeBody), ['error']);
  assert.match(String(nativeBody.error), /cannot reach Ollama/);

  const openai = await request(`${companion.url}/v1/chat/completions`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ model: 'llama3.2', messages, stream: true }),
  });
  assert.equal(openai.statusCode, 502);
  const openaiBody = (await openai.body.json()) as { error: { message: unknown; type: unknown } };
  assert.equal(typeof openaiBody.error.message, 'string');
  assert.equal(typeof openaiBody.error.type, 'string');

  const anthropic = await request(`${companion.url}/v1/messages`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ model: 'llama3.2', max_tokens: 10, messages }),
  });
  assert.equal(anthropic.statusCode, 502);
  const anthropicBody = (await anthropic.body.json()) as {
    type: string;
    error: { type: unknown; message: unknown };
  };
  assert.equal(anthropicBody.type, 'error');
  assert.equal(typeof anthropicBody.error.message, 'string');

  const rows = await historyRows(companion, '/api/chat');
  assert.equal(rows[0]?.status, 502);
  assert.equal(rows[0]?.outcome, 'error');
});

test('a client that goes away mid-stream cancels the request to Ollama', async (t) => {
  const emulator = await emulatorFor(t, { chunks: 10, chunkDelayMs: 100 });
  const companion = await startCompanion(t, emulator.url);
  const secret = companion.token('leaver');
  const ollama = new Ollama({ host: companion.url, headers: { Authorization: `Bearer ${secret}` } });
  const stream = await ollama.chat({
    model: 'llama3.2',
    messages: [{ role: 'user', content: 'a long answer please' }],
    stream: true,
  });
  let parts = 0;
  await assert.rejects(async () => {
    for await (const part of stream) {
      assert.ok(part.message.content.length > 0);
      parts++;
      if (parts === 2) stream.abort();
    }
  });
  assert.equal(parts, 2);
  await emulator.waitFor((e) => e.stats.aborted === 1, 3000);
  assert.equal(emulator.stats.completed, 0);
  assert.equal(emulator.stats.inFlight, 0);

  const rows = await historyRows(companion, '/api/chat');
  assert.equal(rows[0]?.outcome, 'aborted');
});

/** A self-signed certificate for localhost, made with openssl. */
function selfSignedCertificate(t: TestContext): { cert: string; key: string } {
  const dir = tempDir(t);
  const key = join(dir, 'k.pem');
  const cert = join(dir, 'c.pem');
  const made = spawnSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-subj',
      '/CN=localhost',
      '-days',
      '1',
      '-keyout',
      key,
      '-out',
      cert,
    ],
    { encoding: 'utf8' },
  );
  assert.equal(made.status, 0, made.stderr);
  return { cert, key };
}

test('HTTPS with a certificate and key', async (t) => {
  const { cert, key } = selfSignedCertificate(t);
  const emulator = await emulatorFor(t, { chunks: 3 });
  const companion = await startCompanion(t, emulator.url, { tlsCert: cert, tlsKey: key });
  assert.match(companion.url, /^https:\/\//);
  const secret = companion.token('tls');
  const dispatcher = new Agent({ connect: { rejectUnauthorized: false } });
  t.after(() => dispatcher.close());

  const res = await request(`${companion.url}/api/chat`, {
    method: 'POST',
    dispatcher,
    headers: { authorization: `Bearer ${secret}` },
    body: JSON.stringify({ model: 'llama3.2', messages: [{ role: 'user', content: 'secure' }] }),
  });
  assert.equal(res.statusCode, 200);
  const lines = (await res.body.text()).trim().split('\n');
  const content = lines
    .map((l) => (JSON.parse(l) as { message: { content: string } }).message.content)
    .join('');
  assert.equal(content, 'Echo: secure');

  const anonymous = await request(`${companion.url}/api/tags`, { dispatcher });
  assert.equal(anonymous.statusCode, 401);
  await anonymous.body.dump();

  // The port speaks TLS only: plain HTTP gets no answer.
  await assert.rejects(
    request(`${companion.url.replace('https://', 'http://')}/api/version`, {
      headers: { authorization: `Bearer ${secret}` },
    }),
  );
  assert.equal(emulator.requests.length, 1);
});

test('HTTPS: a spare connection that never sent a request does not hold up a stop', async (t) => {
  const { cert, key } = selfSignedCertificate(t);
  const emulator = await emulatorFor(t);
  const companion = await startCompanion(t, emulator.url, {
    tlsCert: cert,
    tlsKey: key,
    shutdownGraceMs: 120_000,
  });
  const { hostname, port } = new URL(companion.url);
  // The handshake is done, as a browser's spare connection has it; no request follows.
  const spare = tlsConnect({ host: hostname, port: Number(port), rejectUnauthorized: false });
  spare.on('error', () => {});
  await new Promise((resolve) => spare.once('secureConnect', resolve));
  const closed = new Promise((resolve) => spare.once('close', resolve));

  const stopped = await Promise.race([
    companion.stop().then(() => true),
    sleep(10_000, false, { ref: false }),
  ]);
  assert.equal(stopped, true, 'the stop did not wait for the spare connection');
  await closed;
});

test('connections to Ollama are reused across requests', async (t) => {
  const emulator = await emulatorFor(t);
  const relay = await connectionCounter(t, emulator);
  const companion = await startCompanion(t, relay.url);
  const secret = companion.token('pool');
  for (let i = 0; i < 10; i++) {
    const res = await request(`${companion.url}/api/chat`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}` },
      body: chatBody(`request ${i}`),
    });
    assert.equal(res.statusCode, 200);
    await res.body.dump();
  }
  const res = await request(`${companion.url}/api/tags`, { headers: { authorization: `Bearer ${secret}` } });
  await res.body.dump();
  assert.equal(emulator.requests.length, 11);
  assert.ok(relay.count() <= 2, `11 sequential requests opened ${relay.count()} connections to Ollama`);
});

test('a client that leaves while its request waits in Ollama’s queue cancels it there', async (t) => {
  const emulator = await emulatorFor(t, { parallel: 1, chunks: 4, chunkDelayMs: 100 });
  const companion = await startCompanion(t, emulator.url);
  const secret = companion.token('impatient');
  const headers = { authorization: `Bearer ${secret}` };
  const first = request(`${companion.url}/api/chat`, {
    method: 'POST',
    headers,
    body: chatBody('first in line', { stream: true }),
  });
  await emulator.waitFor((e) => e.stats.active === 1);
  const leaving = new AbortController();
  const second = request(`${companion.url}/api/chat`, {
    method: 'POST',
    headers,
    body: chatBody('second in line', { stream: true }),
    signal: leaving.signal,
  });
  await emulator.waitFor((e) => e.stats.queued === 1);
  leaving.abort();
  await assert.rejects(second);
  await emulator.waitFor((e) => e.stats.aborted === 1 && e.stats.queued === 0);
  const firstAnswer = await first;
  assert.equal(firstAnswer.statusCode, 200);
  await firstAnswer.body.dump();
  await emulator.waitFor((e) => e.stats.completed === 1);

  const rows = await eventually(() => {
    void companion.companion.history.flush();
    const done = [...companion.companion.historyRepo.iterate({})].filter((r) => r.outcome !== 'in_progress');
    return done.length === 2 ? done : undefined;
  });
  assert.deepEqual(rows.map((r) => r.outcome).sort(), ['aborted', 'ok']);
});

test('Ollama going away mid-answer ends the stream with an error line', async (t) => {
  const emulator = await emulatorFor(t, { chunks: 10, chunkDelayMs: 100 });
  const companion = await startCompanion(t, emulator.url);
  const secret = companion.token('cut');
  const res = await request(`${companion.url}/api/chat`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}` },
    body: chatBody('cut me off', { stream: true }),
  });
  assert.equal(res.statusCode, 200);
  let text = '';
  let closing: Promise<void> | undefined;
  for await (const chunk of res.body) {
    text += String(chunk);
    if (text.includes('\n')) closing ??= emulator.close();
  }
  await closing;
  const lines = text.trim().split('\n');
  const last = JSON.parse(lines.at(-1) ?? '{}') as { error?: unknown; done?: boolean };
  assert.equal(typeof last.error, 'string', `last line: ${lines.at(-1)}`);
  assert.ok(lines.length < 11, 'the answer was cut');
  const rows = await historyRows(companion, '/api/chat');
  assert.equal(rows[0]?.outcome, 'error');
});

test('refusals and failures carry CORS headers, so browser apps can read them', async (t) => {
  const port = await closedPort();
  const companion = await startCompanion(t, `http://127.0.0.1:${port}`);
  const secret = companion.token('browser');
  const origin = 'app://obsidian.md';
  const unauthenticated = await request(`${companion.url}/api/tags`, { headers: { origin } });
  assert.equal(unauthenticated.statusCode, 401);
  assert.equal(unauthenticated.headers['access-control-allow-origin'], origin);
  await unauthenticated.body.dump();

  const unreachable = await request(`${companion.url}/api/tags`, {
    headers: { origin, authorization: `Bearer ${secret}` },
  });
  assert.equal(unreachable.statusCode, 502);
  assert.equal(unreachable.headers['access-control-allow-origin'], origin);
  await unreachable.body.dump();
});

test('Ollama silent past the upstream timeout: 504 in the route’s wire shape', async (t) => {
  // Ollama stays silent well past the timeout, so that the companion's abort reaches it
  // before it would have answered, however busy the machine is.
  const emulator = await emulatorFor(t, { firstTokenDelayMs: 5000 });
  const companion = await startCompanion(t, emulator.url, { upstreamTimeoutMs: 1000 });
  const secret = companion.token('patient');
  const res = await request(`${companion.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}` },
    body: JSON.stringify({ model: 'llama3.2', messages: [{ role: 'user', content: 'slow' }], stream: true }),
  });
  assert.equal(res.statusCode, 504);
  const body = (await res.body.json()) as { error: { message: unknown; type: unknown } };
  assert.match(String(body.error.message), /did not answer in time/);
  await emulator.waitFor((e) => e.stats.aborted === 1, 3500);
});

test('a request is answered the same whichever way it is routed inside the companion', async (t) => {
  const emulator = await emulatorFor(t);
  const companion = await startCompanion(t, emulator.url);
  const secret = companion.token('routes');
  const body = JSON.stringify({
    model: 'llama3.2',
    messages: [{ role: 'user', content: 'same' }],
    stream: false,
  });
  // Plain, with a query string, and with the token in the path: the last two take the
  // general route, the first the short one in front of it.
  const forms = [
    { path: '/api/chat', headers: { authorization: `Bearer ${secret}` } },
    { path: '/api/chat?via=query', headers: { authorization: `Bearer ${secret}` } },
    { path: `/t/${secret}/api/chat`, headers: {} },
  ];
  for (const form of forms) {
    const res = await request(`${companion.url}${form.path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...form.headers },
      body,
    });
    assert.equal(res.statusCode, 200, form.path.replace(secret, '…'));
    assert.equal(res.headers.vary, 'Origin');
    assert.equal(((await res.body.json()) as { message: { content: string } }).message.content, 'Echo: same');
    const refused = await request(`${companion.url}${form.path.replace(secret, 'oc_wrong')}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer oc_wrong' },
      body,
    });
    assert.equal(refused.statusCode, 401);
    assert.deepEqual(await refused.body.json(), { error: 'invalid token' });
  }
  assert.equal(emulator.requests.length, forms.length);
});

test('a client that leaves halfway through its body costs nothing and the server carries on', async (t) => {
  const emulator = await emulatorFor(t);
  const companion = await startCompanion(t, emulator.url);
  const secret = companion.token('halfway');
  const { port } = new URL(companion.url);
  const socket = connect(Number(port), '127.0.0.1');
  await new Promise((resolve) => socket.once('connect', resolve));
  socket.write(
    `POST /api/chat HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${secret}\r\n` +
      'Content-Type: application/json\r\nContent-Length: 500\r\n\r\n{"model":"llama3.2","mess',
  );
  await new Promise((resolve) => setTimeout(resolve, 50));
  socket.destroy();
  const ollama = new Ollama({ host: companion.url, headers: { Authorization: `Bearer ${secret}` } });
  const answer = await ollama.chat({ model: 'llama3.2', messages: [{ role: 'user', content: 'after' }] });
  assert.equal(answer.message.content, 'Echo: after');
  assert.equal(emulator.requests.length, 1, 'the cut request never reached Ollama');
});

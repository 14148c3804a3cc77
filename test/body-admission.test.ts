/**
 * Credentials and the route are checked from the headers, before any body is read: a
 * request without a valid token, without the scope, or for an unknown path is answered
 * while its body has not even been sent, and a refused body is never buffered. The body
 * limit holds while a body is read, not after. Clients here are raw sockets.
 */
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { emulatorFor, startCompanion, type TestCompanion } from './support/companion-harness.js';

const MB = 1024 * 1024;

interface RawClient {
  socket: Socket;
  received(): string;
  closed(): boolean;
}

async function open(companion: TestCompanion): Promise<RawClient> {
  const { port } = new URL(companion.url);
  const socket = connect(Number(port), '127.0.0.1');
  let text = '';
  let closed = false;
  socket.on('data', (chunk: Buffer) => {
    if (text.length < 4096) text += chunk.toString('latin1');
  });
  socket.on('error', () => {});
  socket.on('close', () => {
    closed = true;
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  return { socket, received: () => text, closed: () => closed };
}

/** The status line's code once the head arrived, or undefined after `ms`. */
async function statusWithin(client: RawClient, ms: number): Promise<number | undefined> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const match = /^HTTP\/1\.1 (\d{3})/.exec(client.received());
    if (match && client.received().includes('\r\n\r\n')) return Number(match[1]);
    if (client.closed()) break;
    await sleep(20);
  }
  const match = /^HTTP\/1\.1 (\d{3})/.exec(client.received());
  return match ? Number(match[1]) : undefined;
}

function head(method: string, target: string, headers: Record<string, string>): string {
  const lines = Object.entries({ host: '127.0.0.1', ...headers }).map(([k, v]) => `${k}: ${v}`);
  return `${method} ${target} HTTP/1.1\r\n${lines.join('\r\n')}\r\n\r\n`;
}

/** Writes `total` bytes of one shared buffer, waiting for the socket to drain, until done or closed. */
async function sendBody(socket: Socket, total: number, piece: Buffer): Promise<number> {
  let sent = 0;
  while (sent < total && !socket.destroyed) {
    const slice = total - sent >= piece.length ? piece : piece.subarray(0, total - sent);
    sent += slice.length;
    if (!socket.write(slice)) {
      await new Promise<void>((resolve) => {
        socket.once('drain', resolve);
        socket.once('close', resolve);
      });
    }
  }
  return sent;
}

test('a 60 MB body without a valid token gets its 401 from the headers alone, on every route', async (t) => {
  const emulator = await emulatorFor(t);
  const companion = await startCompanion(t, emulator.url);
  const digest = `sha256:${'0'.repeat(64)}`;
  const cases: Array<{ target: string; headers: Record<string, string> }> = [
    { target: '/api/chat', headers: {} },
    { target: '/api/chat?via=general', headers: {} },
    { target: '/v1/chat/completions', headers: { authorization: 'Bearer oc_wrong' } },
    { target: '/api/generate', headers: { origin: 'http://localhost:3000' } },
    { target: '/t/oc_wrong/api/chat', headers: {} },
    { target: `/api/blobs/${digest}`, headers: {} },
  ];
  const answers: Array<number | undefined> = [];
  for (const { target, headers } of cases) {
    const client = await open(companion);
    client.socket.write(
      head('POST', target, {
        'content-type': 'application/json',
        'content-length': String(60 * MB),
        ...headers,
      }),
    );
    answers.push(await statusWithin(client, 2000));
    client.socket.destroy();
  }
  assert.deepEqual(
    answers,
    cases.map(() => 401),
    `answers within 2 s, body unsent: ${JSON.stringify(answers)}`,
  );
  assert.equal(emulator.requests.length, 0);
});

test('a token without the scope, and a path no endpoint has, are refused before the body is sent', async (t) => {
  const emulator = await emulatorFor(t);
  const companion = await startCompanion(t, emulator.url);
  const reader = companion.token('reader', { scopes: ['read'] });
  const cases = [
    { target: '/api/pull', want: 403 },
    { target: '/api/chat', want: 403 },
    { target: '/api/pull?insecure=true', want: 403 },
    { target: '/api/nothing-here', want: 404 },
  ];
  const answers: Array<number | undefined> = [];
  for (const { target } of cases) {
    const client = await open(companion);
    client.socket.write(
      head('POST', target, {
        authorization: `Bearer ${reader}`,
        'content-type': 'application/json',
        'content-length': String(60 * MB),
      }),
    );
    answers.push(await statusWithin(client, 2000));
    client.socket.destroy();
  }
  assert.deepEqual(
    answers,
    cases.map((c) => c.want),
    `answers within 2 s, body unsent: ${JSON.stringify(answers)}`,
  );
  assert.equal(emulator.requests.length, 0);
});

test('ten 60 MB bodies sent without a token are refused and never buffered', async (t) => {
  const emulator = await emulatorFor(t);
  const companion = await startCompanion(t, emulator.url);
  const piece = Buffer.alloc(MB, 0x20);
  const baseline = process.memoryUsage().rss;
  let peak = baseline;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 10);
  t.after(() => clearInterval(sampler));

  const clients = await Promise.all(Array.from({ length: 10 }, () => open(companion)));
  await Promise.all(
    clients.map(async (client) => {
      client.socket.write(
        head('POST', '/api/chat', { 'content-type': 'application/json', 'content-length': String(60 * MB) }),
      );
      await sendBody(client.socket, 60 * MB, piece);
    }),
  );
  const statuses = await Promise.all(clients.map((c) => statusWithin(c, 5000)));
  clearInterval(sampler);
  peak = Math.max(peak, process.memoryUsage().rss);
  for (const client of clients) client.socket.destroy();
  assert.deepEqual(statuses, Array(10).fill(401));
  const grewMb = Math.round((peak - baseline) / MB);
  // Buffered, the bodies alone would take 600 MB; the test's own sockets and the
  // runtime's churn stay far below a quarter of that.
  assert.ok(grewMb < 150, `RSS grew by ${grewMb} MB while ten 60 MB bodies were refused`);
  assert.equal(emulator.requests.length, 0);
});

test('the body limit holds while reading: too long a Content-Length at once, a chunked body at the limit', async (t) => {
  const emulator = await emulatorFor(t);
  const companion = await startCompanion(t, emulator.url, { bodyLimitBytes: MB });
  const secret = companion.token('big');
  const auth = { authorization: `Bearer ${secret}`, 'content-type': 'application/json' };

  for (const target of ['/api/chat', '/api/chat?via=general']) {
    const announced = await open(companion);
    announced.socket.write(head('POST', target, { ...auth, 'content-length': String(2 * MB) }));
    assert.equal(await statusWithin(announced, 2000), 413, `${target}: refused before the body`);
    announced.socket.destroy();
  }

  // A chunked body that never ends: refused once it passes the limit, then the
  // connection is closed rather than read for ever.
  const endless = await open(companion);
  endless.socket.write(head('POST', '/api/chat', { ...auth, 'transfer-encoding': 'chunked' }));
  const chunk = Buffer.concat([
    Buffer.from(`${(64 * 1024).toString(16)}\r\n`),
    Buffer.alloc(64 * 1024, 0x20),
    Buffer.from('\r\n'),
  ]);
  let sent = 0;
  const started = Date.now();
  while (!endless.closed() && Date.now() - started < 6000) {
    if (!endless.socket.write(chunk)) {
      await Promise.race([new Promise((resolve) => endless.socket.once('drain', resolve)), sleep(50)]);
    }
    sent += chunk.length;
    if (sent % (16 * chunk.length) === 0) await sleep(1);
  }
  assert.match(endless.received(), /^HTTP\/1\.1 413/);
  assert.ok(
    endless.closed(),
    `the connection was still being read after 6 s and ${Math.round(sent / MB)} MB past a 1 MB limit`,
  );
  assert.equal(emulator.requests.length, 0);
});

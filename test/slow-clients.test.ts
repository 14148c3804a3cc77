/**
 * Slow and idle clients cannot hold the companion's sockets: headers that trickle in, a
 * connection that never speaks, a body that stops halfway and an idle kept-alive
 * connection are all closed at their timeouts; one address cannot open more than its
 * share of connections before it shows a token; a long upload that keeps sending is
 * never cut. Every client here is a raw socket, as an attacker's would be.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { emulatorFor, startCompanion, type TestCompanion } from './support/companion-harness.js';

/** Timeouts short enough for a test, each well apart from the others. */
const SHORT = { headersTimeoutMs: 400, bodyIdleTimeoutMs: 400, keepAliveTimeoutMs: 400 };

interface RawClient {
  socket: Socket;
  /** Everything the server sent so far. */
  received(): string;
  /** Resolves with the milliseconds from `open` to the close, or 'open' after `ms`. */
  closedWithin(ms: number): Promise<number | 'open'>;
}

async function open(companion: TestCompanion, localAddress?: string): Promise<RawClient> {
  const { port } = new URL(companion.url);
  const socket = connect({
    port: Number(port),
    host: '127.0.0.1',
    ...(localAddress ? { localAddress } : {}),
  });
  const opened = Date.now();
  let text = '';
  let closedAfter: number | undefined;
  socket.on('data', (chunk: Buffer) => {
    text += chunk.toString('latin1');
  });
  socket.on('error', () => {});
  socket.on('close', () => {
    closedAfter = Date.now() - opened;
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  return {
    socket,
    received: () => text,
    async closedWithin(ms) {
      const deadline = opened + ms;
      while (closedAfter === undefined && Date.now() < deadline) await sleep(20);
      return closedAfter ?? 'open';
    },
  };
}

/** Writes `text` one byte at a time, `gapMs` apart, until the socket closes. */
async function trickle(socket: Socket, text: string, gapMs: number): Promise<void> {
  for (const char of text) {
    if (socket.destroyed || socket.writableEnded) return;
    socket.write(char);
    await sleep(gapMs);
  }
}

function stillOpen(results: Array<number | 'open'>): number {
  return results.filter((r) => r === 'open').length;
}

test('headers sent a byte at a time, and connections that never speak, are closed at the header timeout', async (t) => {
  const emulator = await emulatorFor(t);
  const companion = await startCompanion(t, emulator.url, SHORT);
  const secret = companion.token('patient');

  const slow = await Promise.all(Array.from({ length: 20 }, () => open(companion)));
  const silent = await Promise.all(Array.from({ length: 20 }, () => open(companion)));
  const head = `GET /api/tags HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: ${'a'.repeat(400)}\r\n\r\n`;
  for (const client of slow) void trickle(client.socket, head, 50);

  // The timeout plus the server's checking interval, with room for a loaded machine.
  // A kept-alive connection whose next request trickles in is cut the same way.
  const kept = await open(companion);
  kept.socket.write(`GET /api/version HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${secret}\r\n\r\n`);
  for (let i = 0; i < 50 && !kept.received().includes('\r\n\r\n'); i++) await sleep(20);
  assert.match(kept.received(), /^HTTP\/1\.1 200/);
  void trickle(kept.socket, head, 50);
  slow.push(kept);

  const slowResults = await Promise.all(slow.map((c) => c.closedWithin(3000)));
  const silentResults = await Promise.all(silent.map((c) => c.closedWithin(3000)));
  assert.equal(
    stillOpen(slowResults),
    0,
    `${stillOpen(slowResults)} of ${slow.length} slow-header sockets open after 3 s`,
  );
  assert.equal(
    stillOpen(silentResults),
    0,
    `${stillOpen(silentResults)} of 20 silent sockets open after 3 s`,
  );
  assert.deepEqual(
    emulator.requests.map((r) => r.path),
    ['/api/version'],
    'only the complete request reached Ollama',
  );

  const ok = await request(`${companion.url}/api/tags`, { headers: { authorization: `Bearer ${secret}` } });
  assert.equal(ok.statusCode, 200, 'the server still answers');
  await ok.body.dump();
});

test('a request body that stops arriving is closed at the idle-body timeout', async (t) => {
  const emulator = await emulatorFor(t);
  const companion = await startCompanion(t, emulator.url, SHORT);
  const secret = companion.token('stalled');
  // One on the plain route, one on the general route (a query string), one chunked.
  const targets = ['/api/chat', '/api/chat?via=general'];
  const clients = await Promise.all(targets.map(() => open(companion)));
  targets.forEach((target, i) => {
    clients[i]!.socket.write(
      `POST ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${secret}\r\n` +
        'Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"model":"llama3.2",',
    );
  });
  const chunked = await open(companion);
  chunked.socket.write(
    `POST /api/chat HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${secret}\r\n` +
      'Transfer-Encoding: chunked\r\n\r\n5\r\n{"mod\r\n',
  );
  clients.push(chunked);

  const results = await Promise.all(clients.map((c) => c.closedWithin(3000)));
  assert.equal(stillOpen(results), 0, `${stillOpen(results)} of 3 stalled bodies open after 3 s`);
  assert.equal(emulator.requests.length, 0);
});

test('an idle kept-alive connection is closed at the keep-alive timeout', async (t) => {
  const emulator = await emulatorFor(t);
  const companion = await startCompanion(t, emulator.url, SHORT);
  const secret = companion.token('idle');
  const client = await open(companion);
  client.socket.write(
    `GET /api/version HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${secret}\r\n\r\n`,
  );
  const closed = await client.closedWithin(3000);
  assert.match(client.received(), /^HTTP\/1\.1 200/, 'the request was answered');
  assert.notEqual(closed, 'open', 'the idle connection was still open after 3 s');
});

test('one address cannot hold more connections than its cap before it shows a token', async (t) => {
  const emulator = await emulatorFor(t);
  const companion = await startCompanion(t, emulator.url, { maxUnauthenticatedPerAddress: 4 });
  const secret = companion.token('crowd');

  const held = await Promise.all(Array.from({ length: 4 }, () => open(companion)));
  const extra = await open(companion);
  assert.notEqual(await extra.closedWithin(1500), 'open', 'a fifth silent connection was let in');

  // Another address is not affected by this one's crowd.
  const neighbour = await open(companion, '127.0.0.2');
  neighbour.socket.write(`GET /api/version HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${secret}\r\n\r\n`);
  await sleep(300);
  assert.match(neighbour.received(), /^HTTP\/1\.1 200/);

  // A connection that showed a valid token no longer counts: its place is free again.
  held[0]!.socket.write(`GET /api/version HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${secret}\r\n\r\n`);
  await sleep(300);
  assert.match(held[0]!.received(), /^HTTP\/1\.1 200/);
  const next = await open(companion);
  next.socket.write(`GET /api/version HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${secret}\r\n\r\n`);
  await sleep(300);
  assert.match(next.received(), /^HTTP\/1\.1 200/, 'the freed place was given to a new connection');
  assert.equal(await held[1]!.closedWithin(0), 'open', 'connections under the cap are left alone');
  for (const client of [...held, neighbour, next]) client.socket.destroy();
});

test('a long blob upload that keeps sending outlasts every timeout and arrives whole', async (t) => {
  const emulator = await emulatorFor(t);
  const companion = await startCompanion(t, emulator.url, { ...SHORT, maxUnauthenticatedPerAddress: 1 });
  const secret = companion.token('uploader', { scopes: ['manage'] });
  const piece = Buffer.alloc(64 * 1024, 3);
  const pieces = 12;
  const blob = Buffer.concat(Array.from({ length: pieces }, () => piece));
  const digest = `sha256:${createHash('sha256').update(blob).digest('hex')}`;

  const client = await open(companion);
  client.socket.write(
    `POST /api/blobs/${digest} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${secret}\r\n` +
      `Content-Length: ${blob.length}\r\n\r\n`,
  );
  // About 2.4 s in all, six times the body and header timeouts, never idle for long.
  for (let i = 0; i < pieces; i++) {
    await sleep(200);
    client.socket.write(piece);
  }
  for (let waited = 0; !/\r\n\r\n/.test(client.received()) && waited < 3000; waited += 20) await sleep(20);
  assert.match(client.received(), /^HTTP\/1\.1 201/, client.received().slice(0, 200));
  assert.equal(emulator.requests.at(-1)?.rawBody.length, blob.length);
});

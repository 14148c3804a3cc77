/**
 * Stopping the real executable: SIGTERM lets a running answer finish and keeps its
 * record; `kill -9` mid-stream still leaves the request's start on disk, and the next
 * start marks it aborted.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { Ollama } from 'ollama';
import { emulatorFor, runCli, tempDir } from './support/companion-harness.js';
import type { Emulator } from './support/ollama-emulator.js';
import { serve } from './support/serve-process.js';

/** Resolves true when a new TCP connection to the URL is refused. */
function refused(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect({ host: hostname, port: Number(port) });
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'ECONNREFUSED'));
  });
}

interface HistoryRow {
  id: string;
  token_name: string;
  outcome: string;
  status: number | null;
  request_json: string | null;
  answer_content: string | null;
  completion_tokens: number | null;
  started_at: number;
  finished_at: number | null;
  error: string | null;
}

/** Reads history straight from the SQLite file, as a backup or another tool would. */
function rowsOnDisk(dataDir: string): HistoryRow[] {
  const db = new Database(join(dataDir, 'companion.db'));
  try {
    return db.prepare('SELECT * FROM history ORDER BY origin_seq').all() as HistoryRow[];
  } finally {
    db.close();
  }
}

async function createToken(dataDir: string, name: string): Promise<string> {
  const created = await runCli(['token', 'create', '--name', name, '--init', '--data-dir', dataDir]);
  assert.equal(created.code, 0, created.stderr);
  return created.stdout.trim();
}

async function slowEmulator(t: TestContext): Promise<Emulator> {
  const emulator = await emulatorFor(t, { chunkDelayMs: 80, chunks: 12 });
  return emulator;
}

test('SIGTERM mid-stream: the answer finishes, new connections are refused, exit 0, record complete', async (t) => {
  const emulator = await slowEmulator(t);
  const dataDir = tempDir(t);
  const secret = await createToken(dataDir, 'term');
  // A grace far longer than the test: the process must exit once the answer is done, not when it ends.
  const server = await serve(t, dataDir, emulator.url, { OLLAMA_COMPANION_SHUTDOWN_GRACE_MS: '120000' });
  const client = new Ollama({ host: server.url, headers: { Authorization: `Bearer ${secret}` } });

  const prompt = 'Tell me a long story about a lighthouse keeper';
  const stream = await client.chat({
    model: 'llama3.2',
    messages: [{ role: 'user', content: prompt }],
    stream: true,
  });
  let content = '';
  let done = false;
  let signalled = false;
  let refusedWhileStreaming = false;
  for await (const part of stream) {
    content += part.message.content;
    if (part.done) done = true;
    if (!signalled) {
      signalled = true;
      server.child.kill('SIGTERM');
      // The listener closes at once; the running stream goes on.
      const deadline = Date.now() + 2000;
      while (!refusedWhileStreaming && Date.now() < deadline) {
        refusedWhileStreaming = await refused(server.url);
        if (!refusedWhileStreaming) await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
  }
  assert.ok(refusedWhileStreaming, 'a new connection was refused while the stream still ran');
  assert.ok(done, 'the stream reached its final chunk');
  assert.equal(content, `Echo: ${prompt}`);

  const exit = await Promise.race([server.exited, sleep(10_000, undefined, { ref: false })]);
  assert.ok(exit, 'the process exits once the running answer is done');
  const { code, signal } = exit;
  assert.equal(signal, null);
  assert.equal(code, 0);
  assert.match(server.stdout(), /companion stopped/);
  assert.equal(server.stdout().includes(secret), false, 'the token never appears in the log');

  const rows = rowsOnDisk(dataDir);
  assert.equal(rows.length, 1);
  const row = rows[0]!;
  assert.equal(row.token_name, 'term');
  assert.equal(row.outcome, 'ok');
  assert.equal(row.status, 200);
  assert.equal(row.answer_content, content);
  assert.ok((row.completion_tokens ?? 0) > 0, 'Ollama’s final counters are kept');
  assert.ok(row.finished_at !== null);
  assert.match(row.request_json ?? '', /lighthouse keeper/);
});

test('SIGTERM with a stream longer than the grace period: the stream is cut, its record says so, exit 0', async (t) => {
  const emulator = await emulatorFor(t, { chunkDelayMs: 100, chunks: 60 });
  const dataDir = tempDir(t);
  const secret = await createToken(dataDir, 'grace');
  const server = await serve(t, dataDir, emulator.url, { OLLAMA_COMPANION_SHUTDOWN_GRACE_MS: '300' });
  const client = new Ollama({ host: server.url, headers: { Authorization: `Bearer ${secret}` } });
  const stream = await client.chat({
    model: 'llama3.2',
    messages: [{ role: 'user', content: 'Recite every digit of pi' }],
    stream: true,
  });
  let ended = 'ended';
  let content = '';
  try {
    for await (const part of stream) {
      content += part.message.content;
      if (server.child.exitCode === null && server.child.signalCode === null && !server.child.killed) {
        server.child.kill('SIGTERM');
      }
    }
  } catch {
    ended = 'cut';
  }
  assert.equal(ended, 'cut', 'the client saw its stream cut off after the grace period');
  const { code } = await server.exited;
  assert.equal(code, 0);
  const [row, ...others] = rowsOnDisk(dataDir);
  assert.equal(others.length, 0);
  assert.equal(row?.token_name, 'grace');
  assert.equal(row?.outcome, 'aborted', 'the record is complete and says the answer was cut');
  assert.equal(row?.error, "cut by the companion's shutdown", 'not blamed on the client');
  assert.ok(row?.finished_at !== null);
  assert.ok(content.length > 0);
  assert.ok(row?.answer_content?.startsWith(content), 'what reached the client is kept');
});

test('SIGTERM with a spare connection that never sent a request: exit 0 at once, not after the grace period', async (t) => {
  const emulator = await emulatorFor(t);
  const dataDir = tempDir(t);
  const server = await serve(t, dataDir, emulator.url, { OLLAMA_COMPANION_SHUTDOWN_GRACE_MS: '120000' });
  // Browsers open such connections ahead of need and may never use them.
  const { hostname, port } = new URL(server.url);
  const spare = connect({ host: hostname, port: Number(port) });
  await new Promise((resolve) => spare.once('connect', resolve));
  const closedByServer = new Promise<boolean>((resolve) => spare.once('close', () => resolve(true)));
  spare.on('error', () => {});

  server.child.kill('SIGTERM');
  const exit = await Promise.race([server.exited, sleep(10_000, undefined, { ref: false })]);
  assert.ok(exit, 'the process exits without waiting for the spare connection');
  assert.equal(exit.code, 0);
  assert.equal(await closedByServer, true);
});

test('kill -9 mid-stream leaves the request’s start on disk; the next start marks it aborted', async (t) => {
  const emulator = await emulatorFor(t, { chunkDelayMs: 100, chunks: 40 });
  const dataDir = tempDir(t);
  const secret = await createToken(dataDir, 'crash');
  const env = { OLLAMA_COMPANION_HISTORY_FLUSH_MS: '50' };
  const server = await serve(t, dataDir, emulator.url, env);
  const client = new Ollama({ host: server.url, headers: { Authorization: `Bearer ${secret}` } });

  const stream = await client.chat({
    model: 'llama3.2',
    messages: [{ role: 'user', content: 'Write an endless poem about the sea' }],
    stream: true,
  });
  const reading = (async () => {
    let chunks = 0;
    try {
      for await (const _ of stream) {
        chunks++;
        if (chunks === 1) {
          // Several flush intervals pass while the answer still streams.
          await new Promise((resolve) => setTimeout(resolve, 300));
          server.child.kill('SIGKILL');
        }
      }
      return 'ended';
    } catch {
      return 'cut';
    }
  })();
  const { signal } = await server.exited;
  assert.equal(signal, 'SIGKILL');
  assert.equal(await reading, 'cut', 'the client saw the stream cut off');

  const [row, ...others] = rowsOnDisk(dataDir);
  assert.equal(others.length, 0);
  assert.ok(row, 'the request left a record');
  assert.equal(row.token_name, 'crash');
  assert.equal(row.outcome, 'in_progress');
  assert.ok(row.started_at > 0);
  assert.match(row.request_json ?? '', /endless poem about the sea/);

  const restarted = await serve(t, dataDir, emulator.url, env);
  const [after] = rowsOnDisk(dataDir);
  assert.equal(after?.id, row.id);
  assert.equal(after?.outcome, 'aborted');
  assert.match(after?.error ?? '', /interrupted/);
  restarted.child.kill('SIGTERM');
  assert.equal((await restarted.exited).code, 0);
});

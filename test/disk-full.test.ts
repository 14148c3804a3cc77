/**
 * A full disk, made for real: the data dir on a small tmpfs, filled up while the real
 * executable serves traffic. Requests are still answered, history waits in memory, the
 * log and /metrics say what is happening once, and when space is freed writing resumes
 * by itself with nothing lost and the log giving its space back. A stop while the disk
 * is still full says what it loses and exits 1.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, statfsSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { Ollama } from 'ollama';
import { request } from 'undici';
import { emulatorFor, eventually, runCli } from './support/companion-harness.js';
import { logLines, onDisk, type ServeProcess, serve } from './support/serve-process.js';

const TMPFS_BYTES = 16 * 1024 * 1024;

/** A tmpfs of its own for the data dir, unmounted when the test ends. */
function smallDisk(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'companion-full-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${TMPFS_BYTES}`, 'tmpfs', dir]);
  t.after(() => {
    // Lazy: the companion may still hold its files open for a moment after being killed.
    execFileSync('umount', ['-l', dir]);
    rmSync(dir, { recursive: true, force: true });
  });
  return join(dir, 'data');
}

/** Fills the file system with one file until it refuses more; returns the file's path. */
function fillDisk(dataDir: string): string {
  const path = join(dataDir, '..', 'filler');
  const fd = openSync(path, 'w');
  const chunk = Buffer.alloc(64 * 1024, 1);
  try {
    for (;;) {
      try {
        writeSync(fd, chunk);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOSPC') break;
        throw error;
      }
    }
    // The last pages a 64 KB write could not take.
    for (;;) {
      try {
        if (writeSync(fd, chunk, 0, 512) === 0) break;
      } catch {
        break;
      }
    }
  } finally {
    closeSync(fd);
  }
  return path;
}

async function metrics(server: ServeProcess): Promise<Record<string, number>> {
  const res = await request(`${server.url}/metrics`);
  const out: Record<string, number> = {};
  for (const line of (await res.body.text()).split('\n')) {
    if (line.startsWith('#') || line === '') continue;
    const name = line.slice(0, line.search(/[ {]/));
    out[name] = (out[name] ?? 0) + Number(line.split(' ').at(-1));
  }
  return out;
}

async function signIn(server: ServeProcess) {
  const res = await request(`${server.url}/admin/api/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'alice', password: 'a long passphrase' }),
  });
  const body = (await res.body.json()) as { error?: { code: string; message: string } };
  const setCookie = res.headers['set-cookie'];
  const cookie = (Array.isArray(setCookie) ? setCookie[0] : setCookie)?.split(';')[0] ?? '';
  return { status: res.statusCode, body, cookie };
}

async function setup(t: TestContext) {
  const emulator = await emulatorFor(t);
  const dataDir = smallDisk(t);
  const created = await runCli(['token', 'create', '--name', 'full', '--data-dir', dataDir, '--init']);
  assert.equal(created.code, 0, created.stderr);
  const admin = await runCli(['admin', 'create', '--username', 'alice', '--data-dir', dataDir], {
    input: 'a long passphrase\n',
  });
  assert.equal(admin.code, 0, admin.stderr);
  const server = await serve(t, dataDir, emulator.url, { OLLAMA_COMPANION_HISTORY_FLUSH_MS: '50' });
  const secret = created.stdout.trim();
  const client = new Ollama({ host: server.url, headers: { Authorization: `Bearer ${secret}` } });
  let asked = 0;
  const ask = async () => {
    const prompt = `question ${++asked}: ${'why is the sea salty? '.repeat(20)}`;
    const answer = await client.generate({ model: 'llama3.2', prompt });
    assert.equal(answer.response, `Echo: ${prompt}`, 'answered while the disk is full');
    return prompt;
  };
  return { dataDir, server, ask };
}

/** Sends requests until the store fails to take their history; returns every prompt sent. */
async function askUntilFailing(server: ServeProcess, ask: () => Promise<string>): Promise<string[]> {
  const prompts: string[] = [];
  for (let i = 0; i < 2000; i++) {
    prompts.push(await ask());
    if (i % 10 === 9 && (await metrics(server)).companion_history_store_failing === 1) return prompts;
  }
  assert.fail('the store never failed: the disk did not fill');
}

test('disk full: requests are answered, history waits in memory and is written once space returns, with nothing lost', async (t) => {
  const { dataDir, server, ask } = await setup(t);
  const prompts = [await ask(), await ask()];
  await eventually(
    () =>
      (onDisk(dataDir, (db) => db.prepare('SELECT COUNT(*) AS n FROM history').get()) as { n: number }).n ===
        2 || undefined,
  );

  // An admin signed in before the disk fills up keeps working.
  const signedIn = await signIn(server);
  assert.equal(signedIn.status, 200);

  // Nothing left in the write-ahead log: the next write must grow it, and cannot.
  onDisk(dataDir, (db) => db.pragma('wal_checkpoint(TRUNCATE)'));
  const filler = fillDisk(dataDir);

  // Sign-in needs a session row: while the store cannot be written it is refused, clearly.
  const refused = await signIn(server);
  assert.equal(refused.status, 503, JSON.stringify(refused.body));
  assert.equal(refused.body.error?.code, 'store_unavailable');
  assert.match(refused.body.error?.message ?? '', /disk may be full/);
  const me = await request(`${server.url}/admin/api/me`, { headers: { cookie: signedIn.cookie } });
  assert.equal(me.statusCode, 200, await me.body.text());

  prompts.push(...(await askUntilFailing(server, ask)));
  for (let i = 0; i < 30; i++) prompts.push(await ask());
  await new Promise((resolve) => setTimeout(resolve, 300));

  const during = await metrics(server);
  assert.equal(during.companion_history_store_failing, 1, '/metrics says history is failing');
  const waiting = during.companion_history_queue_depth ?? 0;
  assert.ok(waiting > 0, `${waiting} records wait`);
  assert.ok((during.companion_history_queue_bytes ?? 0) > 0);
  assert.equal(during.companion_history_records_dropped_total ?? 0, 0, 'nothing dropped within the bound');

  // Space comes back: writing resumes by itself.
  rmSync(filler);
  const freed = statfsSync(dataDir).bavail * statfsSync(dataDir).bsize;
  await eventually(async () => {
    const after = await metrics(server);
    return after.companion_history_store_failing === 0 && after.companion_history_queue_depth === 0
      ? true
      : undefined;
  }, 15_000);

  const rows = onDisk(dataDir, (db) => db.prepare('SELECT request_json, outcome FROM history').all()) as {
    request_json: string;
    outcome: string;
  }[];
  const stored = new Set(
    rows
      .filter((r) => r.outcome === 'ok')
      .map((r) => (JSON.parse(r.request_json) as { prompt: string }).prompt),
  );
  const missing = prompts.filter((p) => !stored.has(p));
  assert.equal(
    missing.length,
    0,
    `${missing.length} of ${prompts.length} answered requests have no complete record`,
  );
  assert.equal(rows.length, prompts.length, 'each request is recorded once');
  const calls = onDisk(dataDir, (db) =>
    db.prepare("SELECT calls FROM token_usage WHERE window = 'total'").get(),
  ) as {
    calls: number;
  };
  assert.equal(calls.calls, prompts.length, 'usage counters are saved too');

  // The log said it once each way (a nearly full disk that takes a few batches meanwhile
  // is still one episode), and no retry collided with rows already written.
  const states = () =>
    logLines(server)
      .map((l) => l.msg)
      .filter((msg) => /^history store (failing|writable again)/.test(msg))
      .map((msg) => (msg.startsWith('history store failing') ? 'failing' : 'writable'));
  await eventually(() => (states().length >= 2 ? true : undefined));
  assert.deepEqual(states(), ['failing', 'writable'], 'one line when it failed, one when it recovered');
  assert.equal(server.stdout().includes('UNIQUE constraint'), false);

  // The log file gave the freed space back instead of keeping it.
  const wal = statSync(join(dataDir, 'companion.db-wal'), { throwIfNoEntry: false })?.size ?? 0;
  assert.ok(wal <= 4 * 1024 * 1024, `the write-ahead log holds ${wal} bytes`);
  const free = statfsSync(dataDir).bavail * statfsSync(dataDir).bsize;
  assert.ok(free >= freed / 2, `${free} bytes free of the ${freed} freed`);

  // Sign-in works again.
  assert.equal((await signIn(server)).status, 200);

  server.child.kill('SIGTERM');
  assert.equal((await server.exited).code, 0);
});

test('SIGTERM while the disk is still full: the log says how much history is lost, and the exit code is 1', async (t) => {
  const { dataDir, server, ask } = await setup(t);
  fillDisk(dataDir);
  const prompts = await askUntilFailing(server, ask);
  const waiting = (await metrics(server)).companion_history_queue_depth;
  assert.ok((waiting ?? 0) > 0);

  server.child.kill('SIGTERM');
  const exit = await server.exited;
  assert.equal(exit.code, 1, 'not a clean exit: history was lost');
  const lost = logLines(server).filter((l) => l.msg.startsWith('history store still failing at the stop'));
  assert.equal(lost.length, 1);
  assert.ok(
    (lost[0]!.records as number) > 0 && (lost[0]!.records as number) <= prompts.length,
    JSON.stringify(lost[0]),
  );
});

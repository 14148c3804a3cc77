/**
 * `ollama-companion store copy`: a SQLite data dir filled through the product's own paths
 * (the CLI, a served companion getting real requests, the admin API) moved into an empty
 * PostgreSQL database by the real executable; the counts it prints, the history the
 * PostgreSQL store then answers (the same as SQLite's on the same data), its refusals,
 * and the database password kept out of everything it prints.
 */
import assert from 'node:assert/strict';
import { type TestContext, test } from 'node:test';
import type { Message } from 'ollama';
import type { HistoryEnd, HistoryStart } from '../src/history/history-record.js';
import type { HistoryView } from '../src/history/history-search.js';
import { newRecordId } from '../src/history/record-id.js';
import { openDatabase } from '../src/store/database.js';
import { createHistoryRepository } from '../src/store/history-repository.js';
import { createMetaRepository } from '../src/store/meta-repository.js';
import { createPostgresHistoryStore } from '../src/store/postgres/history-store.js';
import { openPostgres } from '../src/store/postgres/open-postgres.js';
import { createSqliteHistoryReads } from '../src/store/sqlite/history-reads.js';
import { AdminClient, PASSWORD } from './support/admin-client.js';
import {
  type CliResult,
  emulatorFor,
  ollamaClient,
  runCli,
  startCompanion,
  tempDir,
} from './support/companion-harness.js';
import { freshPostgresDatabase, postgresSkip } from './support/postgres.js';

const SECRET_LINE = /^(oc_[A-Za-z0-9_-]{20,})\n$/;

function ok(result: CliResult, what: string): string {
  assert.equal(result.code, 0, `${what} failed: ${result.stderr}`);
  return result.stdout;
}

const passwordOf = (url: string) => decodeURIComponent(new URL(url).password);

/** The printed table as kind → [sqlite, postgresql]. */
function countsOf(stdout: string): Map<string, [number, number]> {
  const counts = new Map<string, [number, number]>();
  for (const line of stdout.split('\n')) {
    const match = /^([a-z][a-z ]*?)\s+(\d+)\s+(\d+)$/.exec(line);
    if (match) counts.set(match[1]!, [Number(match[2]), Number(match[3])]);
  }
  return counts;
}

function copy(url: string, dataDir: string) {
  return runCli(['store', 'copy', '--to', url, '--data-dir', dataDir], { timeoutMs: 120_000 });
}

/** A data dir with every kind of row, made as users make them. Returns what the test needs to know of it. */
async function filledDataDir(t: TestContext) {
  const dataDir = tempDir(t);
  const cli = (args: string[], input?: string) =>
    runCli([...args, '--data-dir', dataDir], input === undefined ? {} : { input });
  const [, alice] = SECRET_LINE.exec(
    ok(await cli(['token', 'create', '--name', 'alice', '--init']), 'create'),
  )!;
  const [, quota] = SECRET_LINE.exec(
    ok(
      await cli(['token', 'create', '--name', 'quota', '--max-calls', '2', '--models', 'llama3.2']),
      'create',
    ),
  )!;
  ok(await cli(['token', 'create', '--name', 'gone']), 'create');
  ok(await cli(['token', 'revoke', 'gone']), 'revoke');
  ok(
    await cli(['admin', 'create', '--username', 'root', '--role', 'owner'], `${PASSWORD}\n`),
    'admin create',
  );

  const emulator = await emulatorFor(t, { chunks: 3 });
  const server = await startCompanion(t, emulator.url, { dataDir });
  const ollama = ollamaClient(server, alice!);
  const messages: Message[] = [];
  for (const [i, content] of ['Tell me a story about otters', 'Make it longer', 'Now end it'].entries()) {
    messages.push({ role: 'user', content });
    if (i === 1) {
      let text = '';
      for await (const part of await ollama.chat({ model: 'llama3.2', messages, stream: true }))
        text += part.message.content;
      messages.push({ role: 'assistant', content: text });
    } else {
      messages.push((await ollama.chat({ model: 'llama3.2', messages, stream: false })).message);
    }
  }
  await ollama.generate({ model: 'qwen3:8b', prompt: 'my secret is quetzalcoatlus', stream: false });
  await ollama.generate({ model: 'qwen3:8b', prompt: 'plain words about rivers', stream: false });
  const limited = ollamaClient(server, quota!);
  for (let i = 0; i < 3; i++)
    await limited.generate({ model: 'llama3.2', prompt: `quota call ${i}`, stream: false }).catch(() => {});

  const owner = new AdminClient(server.url);
  assert.equal((await owner.login('root', 'not the password')).status, 401);
  assert.equal((await owner.login('root')).status, 200);
  assert.equal((await owner.call('PATCH', '/admin/api/settings', { historyMaxRecords: 5000 })).status, 200);
  await server.companion.history.flush();
  const page = await owner.call<{ items: { id: string }[] }>('GET', '/admin/api/history?q=quetzalcoatlus');
  const secretRecord = page.body.items[0]!;
  assert.equal((await owner.call('DELETE', `/admin/api/history/${secretRecord.id}`)).status, 200);
  await server.stop();
  return { dataDir, redactedId: secretRecord.id, threadTurn: messages.length };
}

const withoutSeq = ({ originSeq: _, ...view }: HistoryView) => view;

test('store copy moves every kind of row, and PostgreSQL answers the history as SQLite did', {
  skip: postgresSkip,
}, async (t) => {
  const { dataDir, redactedId } = await filledDataDir(t);
  const url = await freshPostgresDatabase(t);
  const password = passwordOf(url);

  const copied = await copy(url, dataDir);
  const stdout = ok(copied, 'store copy');
  assert.doesNotMatch(stdout + copied.stderr, new RegExp(password), 'no password in the output');
  assert.match(stdout, /postgres:\/\/[^:]+:\*\*\*@/, 'the target named without its password');
  const counts = countsOf(stdout);
  for (const kind of [
    'tokens',
    'usage rows',
    'admins',
    'sessions',
    'audit entries',
    'settings',
    'history records',
    'history events',
  ]) {
    const [source, target] = counts.get(kind) ?? assert.fail(`no "${kind}" row in:\n${stdout}`);
    assert.equal(target, source, `${kind}: copied as many as there are`);
    assert.ok(source > 0, `${kind}: the data dir has some`);
  }
  assert.deepEqual(counts.get('tokens'), [3, 3]);
  assert.deepEqual(counts.get('admins'), [1, 1]);
  assert.deepEqual(counts.get('login failures'), [1, 1]);

  // The same reads on both stores, over the same data.
  const db = openDatabase(dataDir);
  t.after(() => db.close());
  const sqlite = createSqliteHistoryReads(db);
  const pool = await openPostgres(url);
  t.after(() => pool.end());
  const postgres = createPostgresHistoryStore(pool, { nodeId: 'reader', url });

  const records = (await sqlite.search.search({}, { limit: 500 })).records;
  assert.equal(counts.get('history records')![0], records.length);
  const ended = records.filter((r) => r.outcome !== 'in_progress').length;
  const redacted = records.filter((r) => r.redactedAt !== null).length;
  assert.equal(redacted, 1);
  assert.equal(counts.get('history events')![1], records.length + ended + redacted);
  assert.equal(await postgres.count(), records.length);
  assert.deepEqual(await postgres.modelNames(), await sqlite.search.modelNames());

  const alice = records.find((r) => r.tokenName === 'alice')!.tokenId!;
  const filters = [
    {},
    { q: 'otters' },
    { q: '"tell me"' },
    { q: 'riv*' },
    { q: 'quota -longer' },
    { q: 'quetzalcoatlus' },
    { tokenId: alice },
    { models: ['qwen3:8b'] },
    { outcome: 'refused' as const },
    { statusClass: 4 },
    { endpoint: '/api/generate' },
  ];
  for (const filter of filters) {
    for (const order of ['desc', 'asc'] as const) {
      const want = await sqlite.search.search(filter, { limit: 3, order });
      const got = await postgres.search(filter, { limit: 3, order });
      assert.deepEqual(got.records.map(withoutSeq), want.records.map(withoutSeq), JSON.stringify(filter));
      assert.equal(got.next === null, want.next === null, `${JSON.stringify(filter)}: a next page alike`);
    }
  }
  // The records keep SQLite's order of writing in their node's sequence.
  const byId = new Map(records.map((r) => [r.id, r]));
  const copiedRecords = (await postgres.search({}, { limit: 500 })).records;
  const seqOrder = (list: HistoryView[]) =>
    [...list].sort((a, b) => a.originSeq - b.originSeq).map((r) => r.id);
  assert.deepEqual(seqOrder(copiedRecords), seqOrder([...byId.values()]));

  for (const record of records) {
    const want = await sqlite.threads.findThread(record.id);
    const got = await postgres.findThread(record.id);
    assert.deepEqual(got?.records.map(withoutSeq), want?.records.map(withoutSeq));
  }
  const conversation = await postgres.findThread(records.find((r) => r.parentId !== null)!.id);
  assert.ok((conversation?.records.length ?? 0) >= 2, 'the turns stay one conversation');

  const gone = await postgres.findById(redactedId);
  assert.ok(gone?.redactedAt, 'the redaction is copied');
  assert.equal(gone?.request, null);
  assert.equal((await postgres.search({ q: 'quetzalcoatlus' })).records.length, 0, 'its words stay gone');

  const since = Date.now() - 86_400_000;
  const until = Date.now() + 86_400_000;
  for (const by of ['day', 'hour', 'model', 'token'] as const)
    assert.deepEqual(await postgres.usage(by, since, until), await sqlite.usage.usage(by, since, until), by);

  // A second copy into the same database is refused, naming what is there, and changes nothing.
  const again = await copy(url, dataDir);
  assert.notEqual(again.code, 0);
  assert.equal(again.stdout, '');
  assert.match(again.stderr, /^error: the database at postgres:\/\/\S+ is not empty \(rows in tokens, /);
  assert.doesNotMatch(again.stderr, new RegExp(password));
  assert.equal(await postgres.count(), records.length);
});

test('store copy refuses a bad URL or no data dir in one line, and never shows the password', {
  skip: postgresSkip,
}, async (t) => {
  const dataDir = tempDir(t);
  ok(await runCli(['token', 'create', '--name', 'a', '--init', '--data-dir', dataDir]), 'create');
  const url = await freshPostgresDatabase(t);
  const password = passwordOf(url);
  const line = (result: CliResult, pattern: RegExp) => {
    assert.notEqual(result.code, 0);
    assert.equal(result.stdout, '');
    assert.match(result.stderr, /^error: [^\n]+\n$/, 'one line');
    assert.match(result.stderr, pattern);
    assert.doesNotMatch(result.stderr, new RegExp(password));
  };
  line(
    await copy('mysql://root:hunter2@db/x', dataDir),
    /starts with postgres:\/\/ .*mysql:\/\/root:\*\*\*@db\/x/,
  );
  assert.doesNotMatch((await copy('mysql://root:hunter2@db/x', dataDir)).stderr, /hunter2/);
  line(await copy('postgres://u:hunter2@[oops/x', dataDir), /not a valid database URL/);
  const wrong = new URL(url);
  wrong.password = 'wrong-password-here';
  const refused = await copy(wrong.toString(), dataDir);
  line(refused, /PostgreSQL at postgres:\/\/[^:]+:\*\*\*@.*password authentication failed/);
  assert.doesNotMatch(refused.stderr, /wrong-password-here/);
  line(await copy(url, tempDir(t)), /no companion database in/);
  const help = await runCli(['store', 'copy', '--help']);
  assert.match(help.stdout, /--to <url>/);
  assert.doesNotMatch(help.stdout, new RegExp(password));
});

const SIZE = 100_000;
const BATCH = 5_000;
const RUNNING = 10;

function startAt(i: number, at: number): HistoryStart {
  return {
    id: newRecordId(at),
    servedBy: 'node-x',
    tokenId: null,
    tokenName: null,
    tokenPrefix: null,
    method: 'POST',
    endpoint: '/api/generate',
    model: i % 2 ? 'llama3.2' : 'qwen3:8b',
    stream: false,
    startedAt: at,
    historyMode: 'full',
    request: { prompt: `question ${i} about topic${i % 97}` },
    clientAddr: '127.0.0.1',
    userAgent: 'bulk',
  };
}

function endAt(i: number, at: number): HistoryEnd {
  return {
    finishedAt: at + 40,
    ttftMs: 5,
    durationMs: 40,
    status: 200,
    outcome: 'ok',
    error: null,
    answerContent: `answer ${i} on topic${i % 97}`,
    answerThinking: null,
    answerToolCalls: null,
    answerSummary: null,
    doneReason: 'stop',
    promptTokens: 7,
    completionTokens: 9,
    totalNs: 40_000_000,
    loadNs: 1,
    promptEvalNs: 2,
    evalNs: 3,
  };
}

test(`store copy of ${SIZE.toLocaleString('en')} history records`, { skip: postgresSkip }, async (t) => {
  const dataDir = tempDir(t);
  const db = openDatabase(dataDir);
  const repo = createHistoryRepository(db, createMetaRepository(db).nodeId());
  const from = Date.now() - SIZE * 1000;
  for (let first = 0; first < SIZE; first += BATCH) {
    const finished = [];
    for (let i = first; i < first + BATCH; i++) {
      const at = from + i * 1000;
      finished.push({ start: startAt(i, at), end: endAt(i, at), startWritten: false });
    }
    repo.writeBatch({ started: [], finished });
  }
  // Requests a stopped server left running, and a redaction, as the last rows written.
  const running = Array.from({ length: RUNNING }, (_, i) => startAt(SIZE + i, Date.now() + i));
  repo.writeBatch({ started: running, finished: [] });
  const secret = (await createSqliteHistoryReads(db).search.search({ q: '"question 500"' })).records[0]!;
  await createSqliteHistoryReads(db).redaction.redact(secret.id, 'root', Date.now());
  db.close();
  const url = await freshPostgresDatabase(t);

  const started = performance.now();
  const stdout = ok(await copy(url, dataDir), 'store copy');
  t.diagnostic(`copied ${SIZE} records in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  const counts = countsOf(stdout);
  const records = SIZE + RUNNING;
  const events = 2 * SIZE + RUNNING + 1;
  assert.deepEqual(counts.get('history records'), [records, records]);
  assert.deepEqual(
    counts.get('history events'),
    [events, events],
    'start and end, a start alone, a redaction',
  );

  const pool = await openPostgres(url);
  t.after(() => pool.end());
  const postgres = createPostgresHistoryStore(pool, { nodeId: 'reader', url });
  const last = await postgres.search({ q: `"question ${SIZE - 1}"` });
  assert.deepEqual(
    last.records.map((r) => r.answerContent),
    [`answer ${SIZE - 1} on topic${(SIZE - 1) % 97}`],
  );
  assert.equal((await postgres.findById(running[0]!.id))?.outcome, 'in_progress');
  assert.equal(
    (await postgres.search({ q: '"question 500"' })).records.length,
    0,
    'the redacted text stays gone',
  );
  assert.ok((await postgres.findById(secret.id))?.redactedAt);
  const page = await postgres.search({ q: 'topic13' }, { limit: 1000 });
  assert.equal(page.records.length, 1000, 'a full page of the 1,031 matches');
  assert.notEqual(page.next, null);
});

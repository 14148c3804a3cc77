import assert from 'node:assert/strict';
import { type TestContext, test } from 'node:test';
import { freshPostgresDatabase, postgresSkip } from '../../../test/support/postgres.js';
import { type HistorySink, isStoreUnavailable, type WriteReceipt } from '../../history/history-writer.js';
import { chat, end, historyStoreContract, start, whole } from '../history-store-contract.test-helper.js';
import { createPostgresHistoryStore, type PostgresHistoryStore } from './history-store.js';
import { migratePostgres } from './migrate.js';
import { createPostgresPool, type PostgresPool } from './postgres-pool.js';

const skip = postgresSkip;

interface Opened {
  url: string;
  pool: PostgresPool;
  store: PostgresHistoryStore;
}

async function open(t: TestContext, nodeId = 'node-a', url?: string): Promise<Opened> {
  const at = url ?? (await freshPostgresDatabase(t));
  const pool = createPostgresPool(at);
  t.after(() => pool.end());
  if (!url) await migratePostgres(pool);
  return { url: at, pool, store: createPostgresHistoryStore(pool, { nodeId, url: at }) };
}

interface EventRow {
  node_id: string;
  seq: string;
  kind: string;
  record_id: string;
  payload: string;
}

async function events(pool: PostgresPool, nodeId?: string): Promise<EventRow[]> {
  const { rows } = await pool.query<EventRow>(
    `SELECT node_id, seq, kind, record_id, payload FROM history_events
     ${nodeId ? 'WHERE node_id = $1' : ''} ORDER BY node_id, seq`,
    nodeId ? [nodeId] : [],
  );
  return rows;
}

for (const { name, run } of historyStoreContract) {
  test(`PostgreSQL history: ${name}`, { skip }, async (t) => run((await open(t)).store));
}

test('each node numbers its events 1, 2, 3, … across batches; a record is start, end and redaction', {
  skip,
}, async (t) => {
  const { pool, store } = await open(t);
  const running = start('run', 1000, chat('still going'));
  await store.writeBatch({ started: [running], finished: [] });
  await store.writeBatch(
    whole([start('a', 2000, chat('one')), end('x')], [start('b', 3000, chat('two')), end('y')]),
  );
  await store.writeBatch({
    started: [start('c', 4000, chat('three'))],
    finished: [{ start: running, end: end('a finished answer'), startWritten: true }],
  });
  await store.redact('run', 'ada', 9000);
  const log = await events(pool, 'node-a');
  assert.deepEqual(
    log.map((e) => [Number(e.seq), e.kind, e.record_id]),
    [
      [1, 'start', 'run'],
      [2, 'start', 'a'],
      [3, 'end', 'a'],
      [4, 'start', 'b'],
      [5, 'end', 'b'],
      [6, 'start', 'c'],
      [7, 'end', 'run'],
      [8, 'redaction', 'run'],
    ],
  );
  assert.deepEqual(
    (await store.search({})).records.map((r) => [r.id, r.originNode, r.originSeq]),
    [
      ['c', 'node-a', 6],
      ['b', 'node-a', 4],
      ['a', 'node-a', 2],
      ['run', 'node-a', 1],
    ],
    'a record is numbered by its start event',
  );
  // The redaction erased the content from the record's earlier events too.
  const ofRun = log.filter((e) => e.record_id === 'run').map((e) => e.payload);
  assert.doesNotMatch(ofRun.join('\n'), /still going|finished answer/);
  assert.deepEqual(JSON.parse(ofRun[2]!), { by: 'ada' });
  const heads = await pool.query<{ head: string }>("SELECT head FROM history_heads WHERE node_id = 'node-a'");
  assert.equal(Number(heads.rows[0]?.head), 8);
});

test('a batch sent again after its commit changes nothing twice', { skip }, async (t) => {
  const { pool, store } = await open(t);
  const s = start('r', 1000, chat('hello'));
  const batch = { started: [s], finished: [] };
  await store.writeBatch(batch);
  await store.writeBatch(batch);
  const done = whole([start('w', 2000, chat('whole')), end('answer')]);
  await store.writeBatch(done);
  await store.writeBatch(done);
  const finish = { started: [], finished: [{ start: s, end: end('hi'), startWritten: true }] };
  await store.writeBatch(finish);
  await store.writeBatch(finish);
  assert.deepEqual(
    (await events(pool)).map((e) => `${e.seq}:${e.kind}:${e.record_id}`),
    ['1:start:r', '2:start:w', '3:end:w', '4:end:r'],
  );
  assert.equal(await store.count(), 2);
  assert.equal((await store.usage('day', 0, 86_400_000)).totals.requests, 2, 'each counted once');
});

test('two companions with their own pools write at once, each in its own sequence, into one search', {
  skip,
}, async (t) => {
  const a = await open(t, 'node-a');
  const b = await open(t, 'node-b', a.url);
  const at = 1_700_000_000_000;
  const batches = (node: string) =>
    Array.from({ length: 10 }, (_, n) =>
      whole(
        ...Array.from(
          { length: 5 },
          (_, i) =>
            [
              start(`${node}-${n}-${i}`, at + i, chat(`shared words ${node}`), { servedBy: node }),
              end('an answer'),
            ] as [ReturnType<typeof start>, ReturnType<typeof end>],
        ),
      ),
    );
  // Every record of both nodes falls in the same few milliseconds, so their search keys collide.
  await Promise.all([
    (async () => {
      for (const batch of batches('node-a')) await a.store.writeBatch(batch);
    })(),
    (async () => {
      for (const batch of batches('node-b')) await b.store.writeBatch(batch);
    })(),
  ]);
  for (const node of ['node-a', 'node-b']) {
    const log = await events(a.pool, node);
    assert.deepEqual(
      log.map((e) => Number(e.seq)),
      Array.from({ length: 100 }, (_, i) => i + 1),
      `${node}: gapless`,
    );
  }
  assert.equal(await a.store.count(), 100);
  assert.equal((await b.store.search({ q: 'shared' }, { limit: 1000 })).records.length, 100);
  const keys = await a.pool.query<{ n: string }>(
    'SELECT count(DISTINCT search_key) AS n FROM history_records',
  );
  assert.equal(Number(keys.rows[0]?.n), 100);
});

test('NUL characters in text are stored as U+FFFD; in JSON they come back as they were', {
  skip,
}, async (t) => {
  const { store } = await open(t);
  await store.writeBatch(
    whole([
      start('n', 1000, chat('nul\u0000inside'), { userAgent: 'agent\u0000x' }),
      end('answer\u0000here', { error: 'e\u0000' }),
    ]),
  );
  const view = await store.findById('n');
  assert.deepEqual(view?.request, chat('nul\u0000inside'));
  assert.equal(view?.userAgent, 'agent\uFFFDx');
  assert.equal(view?.answerContent, 'answer\uFFFDhere');
  assert.deepEqual(
    (await store.search({ q: 'inside' })).records.map((r) => r.id),
    ['n'],
  );
});

test('usage counters are kept per token, window and node; a token that is gone is left out', {
  skip,
}, async (t) => {
  const { pool, store } = await open(t);
  await pool.query(
    `INSERT INTO tokens (id, name, prefix, secret_hash, models, scopes, created_at, updated_at, origin_node)
     VALUES ('tok-1', 'one', 'oc_1', 'h', '["*"]', '["inference"]', 1, 1, 'node-a')`,
  );
  await store.writeBatch({ started: [], finished: [] }, [
    { tokenId: 'tok-1', window: 'minute', windowStart: 60_000, calls: 3 },
    { tokenId: 'gone', window: 'minute', windowStart: 60_000, calls: 1 },
  ]);
  await store.writeBatch(whole([start('r', 1000, null), end('x')]), [
    { tokenId: 'tok-1', window: 'minute', windowStart: 120_000, calls: 1, reserved: 2 },
    { tokenId: 'tok-1', window: 'total', windowStart: 0, calls: 4 },
  ]);
  const { rows } = await pool.query(
    'SELECT token_id, "window", node_id, window_start::int, calls::int, reserved::int FROM token_usage ORDER BY 2',
  );
  assert.deepEqual(rows, [
    { token_id: 'tok-1', window: 'minute', node_id: 'node-a', window_start: 120_000, calls: 1, reserved: 2 },
    { token_id: 'tok-1', window: 'total', node_id: 'node-a', window_start: 0, calls: 4, reserved: 4 },
  ]);
  assert.equal(
    (await store.usage('token', 0, 3_600_000)).series[0]?.label,
    'one',
    'a known token by its name',
  );
});

test('a record the database refuses fails its batch, not as the database being away', { skip }, async (t) => {
  const { store } = await open(t);
  const bad = whole([start('r', 1000, chat('x')), end('x', { promptTokens: 1.5 })]);
  const error = await store.writeBatch(bad).then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(error instanceof Error);
  assert.equal(isStoreUnavailable(error), false, 'the history writer splits the batch to find the record');
  assert.equal(await store.count(), 0, 'nothing of the batch is kept');
  await store.writeBatch(whole([start('ok', 2000, chat('fine')), end('x')]));
  assert.equal(await store.count(), 1, 'the next batch is written');
});

test('a database that is away is told as such, so the batch is kept for later', { skip }, async (t) => {
  const { url } = await open(t);
  const wrong = new URL(url);
  wrong.port = '1';
  const pool = createPostgresPool(wrong.toString());
  t.after(() => pool.end());
  const store = createPostgresHistoryStore(pool, { nodeId: 'node-a', url: wrong.toString() });
  const error = await store.writeBatch(whole([start('r', 1000, null), end('x')])).then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.equal(isStoreUnavailable(error), true);
  assert.doesNotMatch(String((error as Error).message), new RegExp(new URL(url).password));
});

test('records a stopped companion left running are closed as interrupted, each with an end event', {
  skip,
}, async (t) => {
  const { pool, store } = await open(t);
  await store.writeBatch({
    started: [start('r', 1000, chat('a')), start('other', 1000, chat('b'), { servedBy: 'node-b' })],
    finished: [],
  });
  assert.equal(await store.closeInterrupted('node-a', 5000), 1);
  assert.equal(await store.closeInterrupted('node-a', 5000), 0);
  const view = await store.findById('r');
  assert.equal(view?.outcome, 'aborted');
  assert.match(String(view?.error), /interrupted/);
  assert.equal((await store.findById('other'))?.outcome, 'in_progress');
  assert.deepEqual(
    (await events(pool)).map((e) => `${e.seq}:${e.kind}:${e.record_id}`),
    ['1:start:r', '2:start:other', '3:end:r'],
  );
});

test('a redaction erases the copies that later turns resent from their start events too', {
  skip,
}, async (t) => {
  const { pool, store } = await open(t);
  await store.writeBatch(
    whole(
      [start('p', 1000, chat('my password is hunter2')), end('noted hunter2')],
      [start('c', 2000, chat('my password is hunter2', 'noted hunter2', 'and the pin')), end('pin kept')],
    ),
  );
  await store.redact('p', 'ada', 5000);
  const log = await events(pool);
  assert.doesNotMatch(log.map((e) => e.payload).join('\n'), /hunter2/);
  assert.match(log.find((e) => e.record_id === 'c' && e.kind === 'start')?.payload ?? '', /and the pin/);
});

test('the store is a sink the history writer can hand batches to', { skip }, async (t) => {
  const { store } = await open(t);
  const sink: HistorySink = store;
  const receipt = await sink.writeBatch(whole([start('r', 1000, chat('hello')), end('hi')]), []);
  assert.equal(typeof (receipt as WriteReceipt).commitMs, 'number');
  assert.equal(await store.count(), 1);
});

test('retention deletes a record with its events; the sequence goes on after the head', {
  skip,
}, async (t) => {
  const { pool, store } = await open(t);
  await store.writeBatch(
    whole([start('old', 1000, chat('old words')), end('x')], [start('new', 9000, chat('new')), end('y')]),
  );
  const cut = (await store.retentionCut({ olderThan: 5000, maxRecords: null }))!;
  assert.equal(await store.deleteUpTo(cut, 10), 1);
  assert.deepEqual(
    (await events(pool)).map((e) => `${e.seq}:${e.kind}:${e.record_id}`),
    ['3:start:new', '4:end:new'],
  );
  await store.writeBatch(whole([start('next', 10_000, chat('next')), end('z')]));
  assert.deepEqual(
    (await events(pool)).map((e) => Number(e.seq)),
    [3, 4, 5, 6],
  );
});

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import type { HistoryEnd, HistoryStart } from '../history/history-record.js';
import { type Db, openDatabase } from './database.js';
import { createHistoryRepository, type HistoryRepository } from './history-repository.js';
import {
  createHistorySearchRepository,
  ftsQuery,
  type HistorySearchRepository,
} from './history-search-repository.js';

interface Store {
  db: Db;
  repo: HistoryRepository;
  search: HistorySearchRepository;
}

function open(t: TestContext): Store {
  const dir = mkdtempSync(join(tmpdir(), 'history-search-'));
  const db = openDatabase(dir);
  t.after(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { db, repo: createHistoryRepository(db, 'node-a'), search: createHistorySearchRepository(db) };
}

function start(
  id: string,
  startedAt: number,
  request: unknown,
  extra: Partial<HistoryStart> = {},
): HistoryStart {
  return {
    id,
    servedBy: 'node-a',
    tokenId: 'tok-1',
    tokenName: 'one',
    tokenPrefix: 'oc_1',
    method: 'POST',
    endpoint: '/api/chat',
    model: 'llama3.2',
    stream: true,
    startedAt,
    historyMode: 'full',
    request,
    clientAddr: null,
    userAgent: null,
    ...extra,
  };
}

function end(answer: string | null, extra: Partial<HistoryEnd> = {}): HistoryEnd {
  return {
    finishedAt: 0,
    ttftMs: 1,
    durationMs: 100,
    status: 200,
    outcome: 'ok',
    error: null,
    answerContent: answer,
    answerThinking: null,
    answerToolCalls: null,
    answerSummary: null,
    doneReason: 'stop',
    promptTokens: 10,
    completionTokens: 20,
    totalNs: null,
    loadNs: null,
    promptEvalNs: null,
    evalNs: null,
    ...extra,
  };
}

const chat = (...contents: string[]) => ({
  model: 'llama3.2',
  messages: contents.map((content, i) => ({ role: i % 2 === 0 ? 'user' : 'assistant', content })),
});

const ids = (store: Store, q?: string) => store.search.search(q ? { q } : {}).records.map((r) => r.id);

test('typed queries become safe FTS5 queries', () => {
  assert.deepEqual(ftsQuery('hello world'), { match: '"hello" "world"', terms: ['hello', 'world'] });
  assert.deepEqual(ftsQuery('"rye flour" levain*'), {
    match: '"rye flour" "levain"*',
    terms: ['rye flour', 'levain'],
  });
  assert.deepEqual(ftsQuery('bread -rye'), { match: '("bread") NOT ("rye")', terms: ['bread'] });
  assert.deepEqual(ftsQuery('say "hi'), { match: '"say" """hi"', terms: ['say', '"hi'] });
  assert.equal(ftsQuery('-only'), null, 'nothing to include');
  assert.equal(ftsQuery('*** ()'), null);
});

test('a batch continues the keys of the milliseconds an earlier batch wrote, in time order', (t) => {
  const store = open(t);
  const at = 1_700_000_000_000;
  const finished = (id: string, ms: number) => ({
    start: start(id, ms, chat(`question ${id}`)),
    end: end(`answer ${id}`),
    startWritten: false,
  });
  store.repo.writeBatch({ started: [], finished: [finished('a', at), finished('b', at)] });
  // A request that began before those ended after them; others share their millisecond or follow it.
  store.repo.writeBatch({
    started: [],
    finished: [finished('c', at - 1), finished('d', at), finished('e', at), finished('f', at + 1)],
  });
  store.repo.writeBatch({ started: [], finished: [finished('g', at + 1), finished('h', at + 2)] });
  assert.deepEqual(ids(store), ['h', 'g', 'f', 'e', 'd', 'b', 'a', 'c']);
  assert.deepEqual(ids(store, 'question'), ['h', 'g', 'f', 'e', 'd', 'b', 'a', 'c']);
});

test('records of the same millisecond keep their order; cursors page both ways', (t) => {
  const store = open(t);
  const at = 1_700_000_000_000;
  store.repo.writeBatch({
    started: [],
    finished: ['a', 'b', 'c', 'd', 'e'].map((id) => ({
      start: start(id, at, chat(`question ${id}`)),
      end: end(`answer ${id}`),
      startWritten: false,
    })),
  });
  assert.deepEqual(ids(store), ['e', 'd', 'c', 'b', 'a']);
  const first = store.search.search({ q: 'question' }, { limit: 2 });
  assert.deepEqual(
    first.records.map((r) => r.id),
    ['e', 'd'],
  );
  const second = store.search.search({ q: 'question' }, { limit: 2, cursor: first.next! });
  assert.deepEqual(
    second.records.map((r) => r.id),
    ['c', 'b'],
  );
  const up = store.search.search({}, { limit: 3, order: 'asc' });
  assert.deepEqual(
    up.records.map((r) => r.id),
    ['a', 'b', 'c'],
  );
  const upNext = store.search.search({}, { limit: 3, order: 'asc', cursor: up.next! });
  assert.deepEqual(
    upNext.records.map((r) => r.id),
    ['d', 'e'],
  );
  assert.equal(upNext.next, null);
  assert.deepEqual(
    store.search.search({ since: at, until: at + 1 }).records.length,
    5,
    'a time range covers its whole millisecond',
  );
  assert.equal(store.search.search({ since: at + 1 }).records.length, 0);
});

test('a set of model names filters pages in key order, both ways, with or without text', (t) => {
  const store = open(t);
  const at = 1_700_000_000_000;
  const models = ['llama3.2', 'qwen3:8b', 'llama3.2:latest', 'rare:1b'];
  store.repo.writeBatch({
    started: [],
    finished: Array.from({ length: 40 }, (_, i) => ({
      start: start(`r${String(i).padStart(2, '0')}`, at + i, chat(`question ${i}`), {
        model: i % 13 === 0 ? 'rare:1b' : (models[i % 3] as string),
      }),
      end: end(`answer ${i}`),
      startWritten: false,
    })),
  });
  assert.deepEqual(store.search.modelNames(), ['llama3.2', 'llama3.2:latest', 'qwen3:8b', 'rare:1b']);
  const want = (names: string[]) =>
    Array.from({ length: 40 }, (_, i) => i)
      .filter((i) => names.includes(i % 13 === 0 ? 'rare:1b' : (models[i % 3] as string)))
      .map((i) => `r${String(i).padStart(2, '0')}`);
  const all = (filter: Parameters<HistorySearchRepository['search']>[0], order: 'asc' | 'desc') => {
    const found: string[] = [];
    let cursor: string | undefined;
    do {
      const page = store.search.search(filter, { limit: 3, order, ...(cursor ? { cursor } : {}) });
      found.push(...page.records.map((r) => r.id));
      cursor = page.next ?? undefined;
    } while (cursor);
    return found;
  };
  for (const names of [['rare:1b'], ['llama3.2', 'rare:1b'], ['llama3.2', 'llama3.2:latest', 'qwen3:8b']]) {
    assert.deepEqual(all({ models: names }, 'asc'), want(names), `${names} oldest first`);
    assert.deepEqual(all({ models: names }, 'desc'), want(names).reverse(), `${names} newest first`);
    assert.deepEqual(all({ models: names, q: 'question' }, 'asc'), want(names), `${names} with text`);
  }
  const many = ['rare:1b', ...Array.from({ length: 30 }, (_, i) => `other${i}`)];
  assert.deepEqual(all({ models: many }, 'desc'), want(['rare:1b']).reverse(), 'a long list of names');
  assert.deepEqual(store.search.search({ models: [] }).records, [], 'no names, no records');
  assert.deepEqual(
    store.search.search({ models: ["x' OR 1=1 --"] }).records,
    [],
    'names are parameters, not SQL',
  );
});

test('a running request is found by its prompt, and by its answer once it ends', (t) => {
  const store = open(t);
  const s = start('r', 1000, chat('what about walruses'));
  store.repo.writeBatch({ started: [s], finished: [] });
  assert.deepEqual(ids(store, 'walruses'), ['r']);
  assert.equal(store.search.findById('r')?.outcome, 'in_progress');
  store.repo.writeBatch({
    started: [],
    finished: [{ start: s, end: end('They have tusks.'), startWritten: true }],
  });
  assert.deepEqual(ids(store, 'tusks'), ['r']);
  assert.deepEqual(ids(store, 'walruses'), ['r']);
});

test('a continuation written in the same batch as the exchange it continues joins its thread', (t) => {
  const store = open(t);
  const parent = start('p', 1000, chat('hi'));
  const child = start('c', 2000, chat('hi', 'Echo: hi', 'again'));
  const grandchild = start('g', 3000, chat('hi', 'Echo: hi', 'again', 'Echo: again', 'once more'));
  store.repo.writeBatch({
    started: [grandchild],
    finished: [
      { start: parent, end: end('Echo: hi'), startWritten: false },
      { start: child, end: end('Echo: again'), startWritten: false },
    ],
  });
  const thread = store.search.findThread('g');
  assert.deepEqual(
    thread?.records.map((r) => [r.id, r.parentId]),
    [
      ['p', null],
      ['c', 'p'],
      ['g', 'c'],
    ],
  );
  assert.equal(thread?.threadId, 'p');
});

test('a record redacted while it runs stays erased when its answer arrives', (t) => {
  const store = open(t);
  const s = start('r', 1000, chat('secret plans'));
  store.repo.writeBatch({ started: [s], finished: [] });
  store.search.redact('r', 'ada', 5000);
  store.repo.writeBatch({
    started: [],
    finished: [{ start: s, end: end('the secret answer'), startWritten: true }],
  });
  const view = store.search.findById('r');
  assert.equal(view?.answerContent, null);
  assert.equal(view?.request, null);
  assert.equal(view?.outcome, 'ok');
  assert.equal(view?.redactedBy, 'ada');
  assert.deepEqual(ids(store, 'secret'), []);
  while (store.search.purgeStep()) {}
  assert.equal(store.search.purgePending(), false);
});

test('records written without search fields (older data) are indexed by the backlog', (t) => {
  const store = open(t);
  store.repo.writeBatch({
    started: [],
    finished: [
      {
        start: start('old1', 1000, chat('ancient question')),
        end: end('ancient answer'),
        startWritten: false,
      },
      {
        start: start('old2', 2000, chat('ancient question', 'ancient answer', 'follow')),
        end: end('x'),
        startWritten: false,
      },
    ],
  });
  // What a database from before the search migration looks like.
  store.db.exec(`
    UPDATE history SET search_key = NULL, thread_id = NULL, parent_id = NULL, continuation_hash = NULL;
    DELETE FROM history_fts; DELETE FROM usage_hourly; DELETE FROM usage_daily;`);
  assert.deepEqual(ids(store, 'ancient'), []);
  assert.equal(store.search.indexBacklog(1), 1);
  assert.equal(store.search.indexBacklog(100), 1);
  assert.equal(store.search.indexBacklog(100), 0);
  assert.deepEqual(ids(store, 'ancient'), ['old1']);
  assert.equal(store.search.findById('old2')?.parentId, 'old1');
  assert.equal(store.search.usage('day', 0, 86_400_000).totals.requests, 2);
});

test('usage adds up per day, model and token, with averages and a p95 estimate', (t) => {
  const store = open(t);
  const day = 86_400_000;
  const t0 = Date.UTC(2025, 2, 10);
  const finished = [];
  for (let i = 0; i < 100; i++) {
    finished.push({
      start: start(`r${i}`, t0 + (i % 3) * day + i * 60_000, null, {
        model: i % 4 === 0 ? 'qwen3:8b' : 'llama3.2',
        tokenId: i < 10 ? 'tok-2' : 'tok-1',
      }),
      end: end('x', {
        durationMs: i < 95 ? 80 : 5000,
        outcome: i === 7 ? 'error' : i === 8 ? 'refused' : 'ok',
        status: i === 8 ? 429 : 200,
      }),
      startWritten: false as const,
    });
  }
  store.repo.writeBatch({ started: [], finished });

  const { series, totals } = store.search.usage('day', t0 - day, t0 + 4 * day);
  assert.deepEqual(
    series.map((p) => [p.key, p.requests]),
    [
      ['2025-03-09', 0],
      ['2025-03-10', 34],
      ['2025-03-11', 33],
      ['2025-03-12', 33],
      ['2025-03-13', 0],
    ],
  );
  assert.equal(totals.requests, 100);
  assert.equal(totals.errors, 1);
  assert.equal(totals.refused, 1);
  assert.equal(totals.promptTokens, 1000);
  assert.equal(totals.completionTokens, 2000);
  assert.equal(totals.avgLatencyMs, (95 * 80 + 5 * 5000) / 100);
  assert.ok(
    totals.p95LatencyMs !== null && totals.p95LatencyMs > 50 && totals.p95LatencyMs <= 100,
    `${totals.p95LatencyMs}`,
  );

  const models = store.search.usage('model', t0, t0 + 3 * day).series;
  assert.deepEqual(
    models.map((p) => [p.key, p.requests]),
    [
      ['llama3.2', 75],
      ['qwen3:8b', 25],
    ],
  );
  // A range that cuts days in the middle: whole days from the daily table, the edges by hour.
  const from = t0 + 12 * 3_600_000;
  const to = t0 + 2 * day + 5 * 3_600_000;
  const expected = finished.filter((r) => r.start.startedAt >= from && r.start.startedAt < to).length;
  assert.equal(store.search.usage('token', from, to).totals.requests, expected);
  assert.equal(store.search.usage('hour', from, to).totals.requests, expected);
});

test('retention deletes the oldest records in batches, by age and by count', (t) => {
  const store = open(t);
  store.repo.writeBatch({
    started: [],
    finished: Array.from({ length: 20 }, (_, i) => ({
      start: start(`r${i}`, 1000 * (i + 1), chat(`record number${i}`)),
      end: end('ok'),
      startWritten: false as const,
    })),
  });
  assert.equal(store.search.retentionCut({ olderThan: null, maxRecords: null }), null);
  assert.equal(store.search.retentionCut({ olderThan: 500, maxRecords: 50 }), null, 'nothing due');

  const byAge = store.search.retentionCut({ olderThan: 5500, maxRecords: null })!;
  assert.equal(store.search.deleteUpTo(byAge, 2), 2);
  assert.equal(store.search.deleteUpTo(byAge, 2), 2);
  assert.equal(store.search.deleteUpTo(byAge, 2), 1);
  assert.equal(store.search.deleteUpTo(byAge, 2), 0);
  assert.equal(store.search.count(), 15);
  assert.deepEqual(ids(store, 'number0'), [], 'deleted records leave the text index');

  const byCount = store.search.retentionCut({ olderThan: null, maxRecords: 10 })!;
  while (store.search.deleteUpTo(byCount, 3) > 0) {}
  assert.deepEqual(ids(store), ['r19', 'r18', 'r17', 'r16', 'r15', 'r14', 'r13', 'r12', 'r11', 'r10']);
  assert.equal(store.search.usage('day', 0, 86_400_000).totals.requests, 20, 'usage stays countable');
});

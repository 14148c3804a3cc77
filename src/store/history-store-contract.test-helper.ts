/**
 * What every history store must answer alike, whatever its backend: the same batches
 * written, the same searches (words, "phrases", prefix*, -exclusion, filters, paging both
 * ways), threads, redaction, retention and usage series, with the same results. Each
 * case gets an empty store from the backend's test file (SQLite's and PostgreSQL's run
 * them all), through this async shape of the store.
 */
import assert from 'node:assert/strict';
import type { HistoryEnd, HistoryStart } from '../history/history-record.js';
import type { RetentionLimits } from '../history/history-retention.js';
import type {
  HistoryPage,
  HistorySearchFilter,
  HistoryView,
  PageRequest,
} from '../history/history-search.js';
import type { UsageBy, UsagePoint } from '../history/usage-series.js';
import type { HistoryBatch } from './history-repository.js';

export interface ContractHistoryStore {
  writeBatch(batch: HistoryBatch): Promise<unknown>;
  search(filter: HistorySearchFilter, page?: PageRequest): Promise<HistoryPage>;
  findById(id: string): Promise<HistoryView | undefined>;
  modelNames(): Promise<string[]>;
  findThread(id: string, limit?: number): Promise<{ threadId: string; records: HistoryView[] } | undefined>;
  redact(id: string, by: string, at: number): Promise<HistoryView | undefined>;
  retentionCut(limits: RetentionLimits): Promise<number | null>;
  deleteUpTo(cut: number, batch: number): Promise<number>;
  usage(by: UsageBy, since: number, until: number): Promise<{ series: UsagePoint[]; totals: UsagePoint }>;
  count(): Promise<number>;
}

export interface ContractCase {
  name: string;
  run(store: ContractHistoryStore): Promise<void>;
}

export function start(
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

export function end(answer: string | null, extra: Partial<HistoryEnd> = {}): HistoryEnd {
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

export const chat = (...contents: string[]) => ({
  model: 'llama3.2',
  messages: contents.map((content, i) => ({ role: i % 2 === 0 ? 'user' : 'assistant', content })),
});

/** Finished records written whole, as most are. */
export const whole = (...records: [HistoryStart, HistoryEnd][]): HistoryBatch => ({
  started: [],
  finished: records.map(([s, e]) => ({ start: s, end: e, startWritten: false })),
});

const ids = async (store: ContractHistoryStore, filter: HistorySearchFilter = {}, page?: PageRequest) =>
  (await store.search(filter, page)).records.map((r) => r.id);

/** Every page of a search, followed by its cursors. */
async function all(
  store: ContractHistoryStore,
  filter: HistorySearchFilter,
  order: 'asc' | 'desc',
  limit = 3,
) {
  const found: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await store.search(filter, { limit, order, ...(cursor ? { cursor } : {}) });
    found.push(...page.records.map((r) => r.id));
    cursor = page.next ?? undefined;
  } while (cursor);
  return found;
}

export const historyStoreContract: ContractCase[] = [
  {
    name: 'records of the same millisecond keep their order; cursors page both ways',
    async run(store) {
      const at = 1_700_000_000_000;
      await store.writeBatch(
        whole(
          ...['a', 'b', 'c', 'd', 'e'].map(
            (id) =>
              [start(id, at, chat(`question ${id}`)), end(`answer ${id}`)] as [HistoryStart, HistoryEnd],
          ),
        ),
      );
      assert.deepEqual(await ids(store), ['e', 'd', 'c', 'b', 'a']);
      const first = await store.search({ q: 'question' }, { limit: 2 });
      assert.deepEqual(
        first.records.map((r) => r.id),
        ['e', 'd'],
      );
      assert.deepEqual(await ids(store, { q: 'question' }, { limit: 2, cursor: first.next! }), ['c', 'b']);
      const up = await store.search({}, { limit: 3, order: 'asc' });
      assert.deepEqual(
        up.records.map((r) => r.id),
        ['a', 'b', 'c'],
      );
      const upNext = await store.search({}, { limit: 3, order: 'asc', cursor: up.next! });
      assert.deepEqual(
        upNext.records.map((r) => r.id),
        ['d', 'e'],
      );
      assert.equal(upNext.next, null);
      assert.equal(
        (await ids(store, { since: at, until: at + 1 })).length,
        5,
        'a range covers its millisecond',
      );
      assert.equal((await ids(store, { since: at + 1 })).length, 0);
      await assert.rejects(store.search({}, { cursor: 'bm90IGEgY3Vyc29y' }), /invalid cursor/);
    },
  },
  {
    name: 'a set of model names filters pages in key order, both ways, with or without text',
    async run(store) {
      const at = 1_700_000_000_000;
      const models = ['llama3.2', 'qwen3:8b', 'llama3.2:latest', 'rare:1b'];
      const modelOf = (i: number) => (i % 13 === 0 ? 'rare:1b' : (models[i % 3] as string));
      const name = (i: number) => `r${String(i).padStart(2, '0')}`;
      await store.writeBatch(
        whole(
          ...Array.from(
            { length: 40 },
            (_, i) =>
              [start(name(i), at + i, chat(`question ${i}`), { model: modelOf(i) }), end(`answer ${i}`)] as [
                HistoryStart,
                HistoryEnd,
              ],
          ),
        ),
      );
      assert.deepEqual(await store.modelNames(), ['llama3.2', 'llama3.2:latest', 'qwen3:8b', 'rare:1b']);
      const want = (names: string[]) =>
        Array.from({ length: 40 }, (_, i) => i)
          .filter((i) => names.includes(modelOf(i)))
          .map(name);
      for (const names of [
        ['rare:1b'],
        ['llama3.2', 'rare:1b'],
        ['llama3.2', 'llama3.2:latest', 'qwen3:8b'],
      ]) {
        assert.deepEqual(await all(store, { models: names }, 'asc'), want(names), `${names} oldest first`);
        assert.deepEqual(
          await all(store, { models: names }, 'desc'),
          want(names).reverse(),
          `${names} newest first`,
        );
        assert.deepEqual(
          await all(store, { models: names, q: 'question' }, 'asc'),
          want(names),
          `${names} with text`,
        );
      }
      const many = ['rare:1b', ...Array.from({ length: 30 }, (_, i) => `other${i}`)];
      assert.deepEqual(
        await all(store, { models: many }, 'desc'),
        want(['rare:1b']).reverse(),
        'a long list',
      );
      assert.deepEqual((await store.search({ models: [] })).records, [], 'no names, no records');
      assert.deepEqual(
        (await store.search({ models: ["x' OR 1=1 --"] })).records,
        [],
        'names are parameters, not SQL',
      );
    },
  },
  {
    name: 'words, "phrases", prefix* and -exclusion find what FTS5 finds, case and accents aside',
    async run(store) {
      await store.writeBatch(
        whole(
          [start('bread', 1000, chat('How do I feed a rye flour levain?')), end('Feed it daily with water.')],
          [start('cake', 2000, chat('A cake with rye?')), end('Use flour from wheat, and CRÈME fraîche.')],
          [start('tea', 3000, chat('Which tea for the morning?')), end('Try Darjeeling; it is light.')],
          [start('model', 4000, chat('Is llama3.2 good at foo-bar tasks?')), end('Yes.')],
        ),
      );
      assert.deepEqual(await ids(store, { q: 'rye' }), ['cake', 'bread']);
      assert.deepEqual(await ids(store, { q: 'RYE Flour' }), ['cake', 'bread'], 'all words, in any field');
      assert.deepEqual(await ids(store, { q: '"rye flour"' }), ['bread'], 'a phrase is words in order');
      assert.deepEqual(await ids(store, { q: '"flour rye"' }), []);
      assert.deepEqual(await ids(store, { q: 'lev*' }), ['bread'], 'a prefix');
      assert.deepEqual(await ids(store, { q: 'lev' }), [], 'a word is whole without *');
      assert.deepEqual(await ids(store, { q: 'rye -levain' }), ['cake'], 'an exclusion');
      assert.deepEqual(await ids(store, { q: 'rye -"flour rye" -tea' }), ['cake', 'bread']);
      assert.deepEqual(await ids(store, { q: 'creme fraiche' }), ['cake'], 'accents are folded');
      assert.deepEqual(await ids(store, { q: 'CRÈME' }), ['cake']);
      assert.deepEqual(await ids(store, { q: 'darjeeling' }), ['tea'], 'answers are searched');
      assert.deepEqual(
        await ids(store, { q: 'llama3.2' }),
        ['model'],
        'a word of several tokens is a phrase',
      );
      assert.deepEqual(await ids(store, { q: 'foo-bar' }), ['model']);
      assert.deepEqual(await ids(store, { q: 'bar-foo' }), []);
      assert.deepEqual(await ids(store, { q: 'say "hi' }), [], 'an unclosed quote is no error');
      assert.deepEqual(await ids(store, { q: "o'reilly \\ & | ! <-> :*" }), [], 'operators are plain text');
      const page = await store.search({ q: '"rye flour" lev* -tea' });
      assert.deepEqual(page.terms, ['rye flour', 'lev']);
      assert.deepEqual(
        await ids(store, { q: '-only' }),
        ['model', 'tea', 'cake', 'bread'],
        'nothing to include: all',
      );
      assert.deepEqual(await ids(store, { q: 'rye', until: 2000 }), ['bread'], 'text and time together');
    },
  },
  {
    name: 'filters by token, endpoint, outcome, status and status class',
    async run(store) {
      await store.writeBatch(
        whole(
          [start('a', 1000, chat('one')), end('x')],
          [
            start('b', 2000, chat('two'), { tokenId: 'tok-2' }),
            end('x', { outcome: 'refused', status: 429 }),
          ],
          [
            start('c', 3000, { prompt: 'three' }, { endpoint: '/api/generate' }),
            end('x', { status: 500, outcome: 'error' }),
          ],
        ),
      );
      assert.deepEqual(await ids(store, { tokenId: 'tok-2' }), ['b']);
      assert.deepEqual(await ids(store, { endpoint: '/api/generate' }), ['c']);
      assert.deepEqual(await ids(store, { outcome: 'ok' }), ['a']);
      assert.deepEqual(await ids(store, { status: 429 }), ['b']);
      assert.deepEqual(await ids(store, { statusClass: 4 }), ['b']);
      assert.deepEqual(await ids(store, { statusClass: 5 }), ['c']);
      assert.deepEqual(await ids(store, { q: 'three' }), ['c'], 'a generate prompt is searched');
      assert.deepEqual(await ids(store, { tokenId: "tok-2' OR '1'='1" }), []);
    },
  },
  {
    name: 'a running request is found by its prompt, and by its answer once it ends',
    async run(store) {
      const s = start('r', 1000, chat('what about walruses'));
      await store.writeBatch({ started: [s], finished: [] });
      assert.deepEqual(await ids(store, { q: 'walruses' }), ['r']);
      assert.equal((await store.findById('r'))?.outcome, 'in_progress');
      assert.equal((await store.findById('r'))?.answerContent, undefined);
      await store.writeBatch({
        started: [],
        finished: [{ start: s, end: end('They have tusks.'), startWritten: true }],
      });
      assert.deepEqual(await ids(store, { q: 'tusks' }), ['r']);
      assert.deepEqual(await ids(store, { q: 'walruses' }), ['r']);
      const view = await store.findById('r');
      assert.equal(view?.outcome, 'ok');
      assert.equal(view?.answerContent, 'They have tusks.');
      assert.equal(view?.promptTokens, 10);
      assert.equal(view?.startedAt, 1000);
      assert.deepEqual(view?.request, chat('what about walruses'));
      assert.equal(await store.findById('nope'), undefined);
    },
  },
  {
    name: 'a continuation written in the same batch as the exchange it continues joins its thread',
    async run(store) {
      const parent = start('p', 1000, chat('hi'));
      const child = start('c', 2000, chat('hi', 'Echo: hi', 'again'));
      const grandchild = start('g', 3000, chat('hi', 'Echo: hi', 'again', 'Echo: again', 'once more'));
      await store.writeBatch({
        started: [grandchild],
        finished: [
          { start: parent, end: end('Echo: hi'), startWritten: false },
          { start: child, end: end('Echo: again'), startWritten: false },
        ],
      });
      const thread = await store.findThread('g');
      assert.deepEqual(
        thread?.records.map((r) => [r.id, r.parentId]),
        [
          ['p', null],
          ['c', 'p'],
          ['g', 'c'],
        ],
      );
      assert.equal(thread?.threadId, 'p');
      assert.equal(await store.findThread('nope'), undefined);
    },
  },
  {
    name: 'a continuation in a later batch joins the thread; another token starts its own',
    async run(store) {
      await store.writeBatch(whole([start('p', 1000, chat('hi')), end('Echo: hi')]));
      await store.writeBatch(
        whole(
          [start('c', 2000, chat('hi', 'Echo: hi', 'again')), end('Echo: again')],
          [start('o', 2500, chat('hi', 'Echo: hi', 'again'), { tokenId: 'tok-2' }), end('Echo: again')],
        ),
      );
      assert.deepEqual(
        (await store.findThread('p'))?.records.map((r) => r.id),
        ['p', 'c'],
      );
      assert.equal((await store.findById('c'))?.threadId, 'p');
      assert.equal((await store.findById('o'))?.threadId, 'o', 'a thread never crosses tokens');
      assert.deepEqual(
        (await store.findThread('p', 1))?.records.map((r) => r.id),
        ['p'],
      );
    },
  },
  {
    name: 'a redacted record keeps a tombstone, leaves search, and its copies in later turns go too',
    async run(store) {
      await store.writeBatch(
        whole(
          [start('p', 1000, chat('my password is hunter2')), end('noted hunter2')],
          [start('c', 2000, chat('my password is hunter2', 'noted hunter2', 'and the pin')), end('pin kept')],
        ),
      );
      assert.deepEqual(await ids(store, { q: 'hunter2' }), ['p']);
      const view = await store.redact('p', 'ada', 5000);
      assert.equal(view?.redactedBy, 'ada');
      assert.equal(view?.redactedAt, 5000);
      assert.equal(view?.request, null);
      assert.equal(view?.answerContent, null);
      assert.equal(view?.outcome, 'ok', 'its metadata stays');
      assert.deepEqual(await ids(store, { q: 'hunter2' }), []);
      assert.deepEqual(await ids(store, { q: 'password' }), []);
      const later = await store.findById('c');
      assert.doesNotMatch(JSON.stringify(later?.request), /hunter2/);
      assert.deepEqual(
        await ids(store, { q: 'pin' }),
        ['c'],
        'the later turn stays searchable for its own words',
      );
      const again = await store.redact('p', 'bob', 9000);
      assert.equal(again?.redactedBy, 'ada', 'idempotent');
      assert.equal(await store.redact('nope', 'ada', 1), undefined);
    },
  },
  {
    name: 'a record redacted while it runs stays erased when its answer arrives',
    async run(store) {
      const s = start('r', 1000, chat('secret plans'));
      await store.writeBatch({ started: [s], finished: [] });
      await store.redact('r', 'ada', 5000);
      await store.writeBatch({
        started: [],
        finished: [{ start: s, end: end('the secret answer'), startWritten: true }],
      });
      const view = await store.findById('r');
      assert.equal(view?.answerContent, null);
      assert.equal(view?.request, null);
      assert.equal(view?.outcome, 'ok');
      assert.equal(view?.redactedBy, 'ada');
      assert.deepEqual(await ids(store, { q: 'secret' }), []);
      assert.equal((await store.usage('day', 0, 86_400_000)).totals.requests, 1, 'it still counts');
    },
  },
  {
    name: 'usage adds up per day, model and token, with averages and a p95 estimate',
    async run(store) {
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
      await store.writeBatch({ started: [], finished });

      const { series, totals } = await store.usage('day', t0 - day, t0 + 4 * day);
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
      const models = (await store.usage('model', t0, t0 + 3 * day)).series;
      assert.deepEqual(
        models.map((p) => [p.key, p.requests]),
        [
          ['llama3.2', 75],
          ['qwen3:8b', 25],
        ],
      );
      const tokens = (await store.usage('token', t0, t0 + 3 * day)).series;
      assert.deepEqual(
        tokens.map((p) => [p.key, p.requests, p.label]),
        [
          ['tok-1', 90, 'tok-1'],
          ['tok-2', 10, 'tok-2'],
        ],
        'a token no longer known is labelled by its id',
      );
      // A range that cuts days in the middle: whole days from the daily table, the edges by hour.
      const from = t0 + 12 * 3_600_000;
      const to = t0 + 2 * day + 5 * 3_600_000;
      const expected = finished.filter((r) => r.start.startedAt >= from && r.start.startedAt < to).length;
      assert.equal((await store.usage('token', from, to)).totals.requests, expected);
      assert.equal((await store.usage('hour', from, to)).totals.requests, expected);
      const hours = (await store.usage('hour', t0, t0 + 2 * 3_600_000)).series;
      assert.deepEqual(
        hours.map((p) => p.key),
        ['2025-03-10T00:00Z', '2025-03-10T01:00Z'],
      );
    },
  },
  {
    name: 'retention deletes the oldest records in batches, by age and by count',
    async run(store) {
      await store.writeBatch(
        whole(
          ...Array.from(
            { length: 20 },
            (_, i) =>
              [start(`r${i}`, 1000 * (i + 1), chat(`record number${i}`)), end('ok')] as [
                HistoryStart,
                HistoryEnd,
              ],
          ),
        ),
      );
      assert.equal(await store.retentionCut({ olderThan: null, maxRecords: null }), null);
      assert.equal(await store.retentionCut({ olderThan: 500, maxRecords: 50 }), null, 'nothing due');
      const byAge = (await store.retentionCut({ olderThan: 5500, maxRecords: null }))!;
      assert.equal(await store.deleteUpTo(byAge, 2), 2);
      assert.equal(await store.deleteUpTo(byAge, 2), 2);
      assert.equal(await store.deleteUpTo(byAge, 2), 1);
      assert.equal(await store.deleteUpTo(byAge, 2), 0);
      assert.equal(await store.count(), 15);
      assert.deepEqual(await ids(store, { q: 'number0' }), [], 'deleted records leave the text index');
      assert.equal(await store.findById('r0'), undefined);

      const byCount = (await store.retentionCut({ olderThan: null, maxRecords: 10 }))!;
      while ((await store.deleteUpTo(byCount, 3)) > 0) {}
      assert.deepEqual(await ids(store), [
        'r19',
        'r18',
        'r17',
        'r16',
        'r15',
        'r14',
        'r13',
        'r12',
        'r11',
        'r10',
      ]);
      assert.equal((await store.usage('day', 0, 86_400_000)).totals.requests, 20, 'usage stays countable');
    },
  },
  {
    name: 'a finish whose running record retention deleted is dropped',
    async run(store) {
      const s = start('r', 1000, chat('running long'));
      await store.writeBatch({ started: [s], finished: [] });
      const cut = (await store.retentionCut({ olderThan: 2000, maxRecords: null }))!;
      assert.equal(await store.deleteUpTo(cut, 10), 1);
      await store.writeBatch({ started: [], finished: [{ start: s, end: end('late'), startWritten: true }] });
      assert.equal(await store.findById('r'), undefined);
      assert.equal(await store.count(), 0);
    },
  },
];

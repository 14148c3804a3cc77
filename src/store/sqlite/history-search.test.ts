import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CursorError, type HistorySearchFilter } from '../../history/history-search.js';
import { chat, end, ids, openHistoryStore, start } from './history-store.test-helper.js';

test('a batch continues the keys of the milliseconds an earlier batch wrote, in time order', async (t) => {
  const store = openHistoryStore(t);
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
  assert.deepEqual(await ids(store), ['h', 'g', 'f', 'e', 'd', 'b', 'a', 'c']);
  assert.deepEqual(await ids(store, 'question'), ['h', 'g', 'f', 'e', 'd', 'b', 'a', 'c']);
});

test('records of the same millisecond keep their order; cursors page both ways', async (t) => {
  const store = openHistoryStore(t);
  const { search } = store.reads;
  const at = 1_700_000_000_000;
  store.repo.writeBatch({
    started: [],
    finished: ['a', 'b', 'c', 'd', 'e'].map((id) => ({
      start: start(id, at, chat(`question ${id}`)),
      end: end(`answer ${id}`),
      startWritten: false,
    })),
  });
  assert.deepEqual(await ids(store), ['e', 'd', 'c', 'b', 'a']);
  const first = await search.search({ q: 'question' }, { limit: 2 });
  assert.deepEqual(
    first.records.map((r) => r.id),
    ['e', 'd'],
  );
  const second = await search.search({ q: 'question' }, { limit: 2, cursor: first.next! });
  assert.deepEqual(
    second.records.map((r) => r.id),
    ['c', 'b'],
  );
  const up = await search.search({}, { limit: 3, order: 'asc' });
  assert.deepEqual(
    up.records.map((r) => r.id),
    ['a', 'b', 'c'],
  );
  const upNext = await search.search({}, { limit: 3, order: 'asc', cursor: up.next! });
  assert.deepEqual(
    upNext.records.map((r) => r.id),
    ['d', 'e'],
  );
  assert.equal(upNext.next, null);
  assert.deepEqual(
    (await search.search({ since: at, until: at + 1 })).records.length,
    5,
    'a time range covers its whole millisecond',
  );
  assert.equal((await search.search({ since: at + 1 })).records.length, 0);
});

test('a set of model names filters pages in key order, both ways, with or without text', async (t) => {
  const store = openHistoryStore(t);
  const { search } = store.reads;
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
  assert.deepEqual(await search.modelNames(), ['llama3.2', 'llama3.2:latest', 'qwen3:8b', 'rare:1b']);
  const want = (names: string[]) =>
    Array.from({ length: 40 }, (_, i) => i)
      .filter((i) => names.includes(i % 13 === 0 ? 'rare:1b' : (models[i % 3] as string)))
      .map((i) => `r${String(i).padStart(2, '0')}`);
  const all = async (filter: HistorySearchFilter, order: 'asc' | 'desc') => {
    const found: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await search.search(filter, { limit: 3, order, ...(cursor ? { cursor } : {}) });
      found.push(...page.records.map((r) => r.id));
      cursor = page.next ?? undefined;
    } while (cursor);
    return found;
  };
  for (const names of [['rare:1b'], ['llama3.2', 'rare:1b'], ['llama3.2', 'llama3.2:latest', 'qwen3:8b']]) {
    assert.deepEqual(await all({ models: names }, 'asc'), want(names), `${names} oldest first`);
    assert.deepEqual(await all({ models: names }, 'desc'), want(names).reverse(), `${names} newest first`);
    assert.deepEqual(await all({ models: names, q: 'question' }, 'asc'), want(names), `${names} with text`);
  }
  const many = ['rare:1b', ...Array.from({ length: 30 }, (_, i) => `other${i}`)];
  assert.deepEqual(await all({ models: many }, 'desc'), want(['rare:1b']).reverse(), 'a long list of names');
  assert.deepEqual((await search.search({ models: [] })).records, [], 'no names, no records');
  assert.deepEqual(
    (await search.search({ models: ["x' OR 1=1 --"] })).records,
    [],
    'names are parameters, not SQL',
  );
});

test('a running request is found by its prompt, and by its answer once it ends', async (t) => {
  const store = openHistoryStore(t);
  const s = start('r', 1000, chat('what about walruses'));
  store.repo.writeBatch({ started: [s], finished: [] });
  assert.deepEqual(await ids(store, 'walruses'), ['r']);
  assert.equal((await store.reads.search.findById('r'))?.outcome, 'in_progress');
  store.repo.writeBatch({
    started: [],
    finished: [{ start: s, end: end('They have tusks.'), startWritten: true }],
  });
  assert.deepEqual(await ids(store, 'tusks'), ['r']);
  assert.deepEqual(await ids(store, 'walruses'), ['r']);
});

test('a cursor the store did not make is refused', async (t) => {
  const { search } = openHistoryStore(t).reads;
  await assert.rejects(search.search({}, { cursor: 'not-a-cursor' }), CursorError);
});

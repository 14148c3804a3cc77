import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chat, end, ids, openHistoryStore, start } from './history-store.test-helper.js';

test('records written without search fields (older data) are indexed by the backlog', async (t) => {
  const store = openHistoryStore(t);
  const { search, backfill, usage } = store.reads;
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
  store.forgetSearchFields();
  assert.deepEqual(await ids(store, 'ancient'), []);
  assert.equal(await backfill.indexBacklog(1), 1);
  assert.equal(await backfill.indexBacklog(100), 1);
  assert.equal(await backfill.indexBacklog(100), 0);
  assert.deepEqual(await ids(store, 'ancient'), ['old1']);
  assert.equal((await search.findById('old2'))?.parentId, 'old1');
  assert.equal((await usage.usage('day', 0, 86_400_000)).totals.requests, 2);
});

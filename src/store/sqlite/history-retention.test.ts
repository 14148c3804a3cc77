import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chat, end, ids, openHistoryStore, start } from './history-store.test-helper.js';

test('retention deletes the oldest records in batches, by age and by count', async (t) => {
  const store = openHistoryStore(t);
  const { search, retention, usage } = store.reads;
  store.repo.writeBatch({
    started: [],
    finished: Array.from({ length: 20 }, (_, i) => ({
      start: start(`r${i}`, 1000 * (i + 1), chat(`record number${i}`)),
      end: end('ok'),
      startWritten: false as const,
    })),
  });
  assert.equal(await retention.retentionCut({ olderThan: null, maxRecords: null }), null);
  assert.equal(await retention.retentionCut({ olderThan: 500, maxRecords: 50 }), null, 'nothing due');

  const byAge = (await retention.retentionCut({ olderThan: 5500, maxRecords: null }))!;
  assert.equal(await retention.deleteUpTo(byAge, 2), 2);
  assert.equal(await retention.deleteUpTo(byAge, 2), 2);
  assert.equal(await retention.deleteUpTo(byAge, 2), 1);
  assert.equal(await retention.deleteUpTo(byAge, 2), 0);
  assert.equal(await search.count(), 15);
  assert.deepEqual(await ids(store, 'number0'), [], 'deleted records leave the text index');

  const byCount = (await retention.retentionCut({ olderThan: null, maxRecords: 10 }))!;
  while ((await retention.deleteUpTo(byCount, 3)) > 0) {}
  assert.deepEqual(await ids(store), ['r19', 'r18', 'r17', 'r16', 'r15', 'r14', 'r13', 'r12', 'r11', 'r10']);
  assert.equal((await usage.usage('day', 0, 86_400_000)).totals.requests, 20, 'usage stays countable');
});

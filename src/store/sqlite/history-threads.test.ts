import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chat, end, openHistoryStore, start } from './history-store.test-helper.js';

test('a continuation written in the same batch as the exchange it continues joins its thread', async (t) => {
  const store = openHistoryStore(t);
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
  const thread = await store.reads.threads.findThread('g');
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

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

test('a turn whose start was written before the end of the turn it continues still joins its thread', async (t) => {
  const store = openHistoryStore(t);
  // A streamed answer ran long enough for its start to be written; the client's next turn
  // began at once, and its start was written before the first turn's end.
  const first = start('s1', 1000, chat('tell me a story'));
  const second = start('s2', 2000, chat('tell me a story', 'Echo: tell me a story', 'make it longer'));
  store.repo.writeBatch({ started: [first], finished: [] });
  store.repo.writeBatch({ started: [second], finished: [] });
  store.repo.writeBatch({
    started: [],
    finished: [{ start: first, end: end('Echo: tell me a story'), startWritten: true }],
  });
  store.repo.writeBatch({
    started: [],
    finished: [{ start: second, end: end('Echo: make it longer'), startWritten: true }],
  });
  const thread = await store.reads.threads.findThread('s2');
  assert.deepEqual(
    thread?.records.map((r) => [r.id, r.parentId]),
    [
      ['s1', null],
      ['s2', 's1'],
    ],
  );
});

test('both ends in one batch, the later turn started first: it joins the earlier turn', async (t) => {
  const store = openHistoryStore(t);
  const first = start('b1', 1000, chat('hello'));
  const second = start('b2', 2000, chat('hello', 'Echo: hello', 'and then'));
  store.repo.writeBatch({ started: [first, second], finished: [] });
  store.repo.writeBatch({
    started: [],
    finished: [
      { start: first, end: end('Echo: hello'), startWritten: true },
      { start: second, end: end('Echo: and then'), startWritten: true },
    ],
  });
  const thread = await store.reads.threads.findThread('b1');
  assert.deepEqual(
    thread?.records.map((r) => [r.id, r.parentId]),
    [
      ['b1', null],
      ['b2', 'b1'],
    ],
  );
});

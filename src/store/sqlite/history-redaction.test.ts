import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chat, end, ids, openHistoryStore, start } from './history-store.test-helper.js';

test('a record redacted while it runs stays erased when its answer arrives', async (t) => {
  const store = openHistoryStore(t);
  const { search, redaction } = store.reads;
  const s = start('r', 1000, chat('secret plans'));
  store.repo.writeBatch({ started: [s], finished: [] });
  await redaction.redact('r', 'ada', 5000);
  store.repo.writeBatch({
    started: [],
    finished: [{ start: s, end: end('the secret answer'), startWritten: true }],
  });
  const view = await search.findById('r');
  assert.equal(view?.answerContent, null);
  assert.equal(view?.request, null);
  assert.equal(view?.outcome, 'ok');
  assert.equal(view?.redactedBy, 'ada');
  assert.deepEqual(await ids(store, 'secret'), []);
  while (await redaction.purgeStep()) {}
  assert.equal(await redaction.purgePending(), false);
});

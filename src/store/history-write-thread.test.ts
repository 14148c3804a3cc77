import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { HistoryStart } from '../history/history-record.js';
import { openDatabase } from './database.js';
import { createHistoryRepository } from './history-repository.js';
import { startHistoryWriteThread } from './history-write-thread.js';

const start = (id: string): HistoryStart => ({
  id,
  servedBy: 'node-t',
  tokenId: null,
  tokenName: null,
  tokenPrefix: null,
  method: 'POST',
  endpoint: '/api/chat',
  model: 'llama3.2',
  stream: true,
  startedAt: Date.now(),
  historyMode: 'full',
  request: { messages: [{ role: 'user', content: `question ${id}` }] },
  clientAddr: '127.0.0.1',
  userAgent: 'test',
});

test('the writer thread writes batches in order, reports a failed one, and keeps going', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'writer-thread-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  openDatabase(dir).close();
  const thread = startHistoryWriteThread({ dataDir: dir, nodeId: 'node-t' });

  await thread.writeBatch({ started: [start('a')], finished: [] }, []);
  // Usage for a token that does not exist breaks a foreign key: the batch fails, as a rejection.
  await assert.rejects(
    thread.writeBatch({ started: [], finished: [] }, [
      { tokenId: 'no-such-token', window: 'total', windowStart: 0, calls: 1 },
    ]),
    /FOREIGN KEY/,
  );
  await thread.writeBatch({ started: [start('b')], finished: [] }, []);
  await thread.close();

  const db = openDatabase(dir);
  t.after(() => db.close());
  const rows = [...createHistoryRepository(db, 'node-t').iterate({})];
  assert.deepEqual(
    rows.map((r) => [r.id, r.originSeq, r.outcome]),
    [
      ['a', 1, 'in_progress'],
      ['b', 2, 'in_progress'],
    ],
  );
  await assert.rejects(thread.writeBatch({ started: [start('c')], finished: [] }, []), /closed/);
});

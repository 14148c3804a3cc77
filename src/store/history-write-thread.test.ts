import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { HistoryEnd, HistoryStart } from '../history/history-record.js';
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

test('every field of a record reaches the store through the writer thread as it was given', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'writer-thread-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  openDatabase(dir).close();
  const thread = startHistoryWriteThread({ dataDir: dir, nodeId: 'node-t' });
  const running = { ...start('running'), stream: null, userAgent: null, clientAddr: null };
  const done = { ...start('done'), tokenName: 'n', historyMode: 'metadata' as const, request: null };
  const end: HistoryEnd = {
    finishedAt: done.startedAt + 12,
    ttftMs: 3.25,
    durationMs: 11.5,
    status: 200,
    outcome: 'ok',
    error: null,
    answerContent: 'the answer',
    answerThinking: 'thought',
    answerToolCalls: [{ function: { name: 'f', arguments: { x: [1, 2] } } }],
    answerSummary: { done_reason: 'stop', nested: { a: null } },
    doneReason: 'stop',
    promptTokens: 7,
    completionTokens: 9,
    totalNs: 1e9,
    loadNs: 2,
    promptEvalNs: 3,
    evalNs: 4,
  };
  const later = { ...start('later'), startedAt: done.startedAt + 1 };
  const laterEnd: HistoryEnd = {
    ...end,
    finishedAt: later.startedAt + 5,
    outcome: 'error',
    error: 'broke',
    status: 502,
  };
  await thread.writeBatch(
    { started: [running, later], finished: [{ start: done, end, startWritten: false }] },
    [],
  );
  await thread.writeBatch(
    { started: [], finished: [{ start: later, end: laterEnd, startWritten: true }] },
    [],
  );
  await thread.close();

  const db = openDatabase(dir);
  t.after(() => db.close());
  const rows = new Map([...createHistoryRepository(db, 'node-t').iterate({})].map((r) => [r.id, r]));
  const { originNode: _n, originSeq: _s, ...runningRow } = rows.get('running')!;
  assert.deepEqual(runningRow, { ...running, outcome: 'in_progress' });
  const { originNode: _n2, originSeq: _s2, ...doneRow } = rows.get('done')!;
  assert.deepEqual(doneRow, { ...done, ...end });
  const { originNode: _n3, originSeq: _s3, ...laterRow } = rows.get('later')!;
  assert.deepEqual(laterRow, { ...later, ...laterEnd });
});

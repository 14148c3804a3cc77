import assert from 'node:assert/strict';
import { test } from 'node:test';
import pino from 'pino';
import type { HistoryBatch, HistoryRepository } from '../store/history-repository.js';
import type { UsageCount } from '../store/token-repository.js';
import type { HistoryEnd, HistoryStart } from './history-record.js';
import { HistoryWriter } from './history-writer.js';

const silent = pino({ level: 'silent' });

/** A repository that keeps every batch it was given, and fails while `failing` is set. */
function recordingRepo() {
  const batches: HistoryBatch[] = [];
  const repo = {
    batches,
    failing: false,
    attempts: 0,
    writeBatch(batch: HistoryBatch) {
      repo.attempts++;
      if (repo.failing) throw new Error('disk full');
      batches.push(structuredClone(batch));
    },
    iterate: () => [][Symbol.iterator](),
    findById: () => undefined,
    closeInterrupted: () => 0,
  };
  return repo satisfies HistoryRepository & Record<string, unknown>;
}

let counter = 0;
function start(overrides: Partial<HistoryStart> = {}): HistoryStart {
  counter++;
  return {
    id: `req-${counter}`,
    servedBy: 'node-a',
    tokenId: 'tok-1',
    tokenName: 'laptop',
    tokenPrefix: 'oc_abcd',
    method: 'POST',
    endpoint: '/api/chat',
    model: 'llama3.2',
    stream: true,
    startedAt: Date.now(),
    historyMode: 'full',
    request: { messages: [{ role: 'user', content: `hello ${counter}` }] },
    clientAddr: '127.0.0.1',
    userAgent: 'test',
    ...overrides,
  };
}

function end(overrides: Partial<HistoryEnd> = {}): HistoryEnd {
  return {
    finishedAt: Date.now(),
    ttftMs: 3,
    durationMs: 10,
    status: 200,
    outcome: 'ok',
    error: null,
    answerContent: 'Echo: hello',
    answerThinking: null,
    answerToolCalls: null,
    answerSummary: null,
    doneReason: 'stop',
    promptTokens: 4,
    completionTokens: 6,
    totalNs: 1000,
    loadNs: 10,
    promptEvalNs: 100,
    evalNs: 800,
    ...overrides,
  };
}

/** Every row a batch inserts or completes, by request id. */
function writes(batches: HistoryBatch[]) {
  return batches.flatMap((b) => [
    ...b.started.map((s) => ({ id: s.id, kind: 'start' as const })),
    ...b.finished.map((f) => ({
      id: f.start.id,
      kind: f.startWritten ? ('end' as const) : ('whole' as const),
    })),
  ]);
}

test('a request that ends before the flush is written once, complete, in one transaction', async () => {
  const repo = recordingRepo();
  const writer = new HistoryWriter(repo, 60_000, silent);
  const a = start();
  const b = start();
  writer.begin(a).finish(end({ answerContent: 'first' }));
  writer.begin(b).finish(end({ answerContent: 'second' }));
  assert.equal(writer.depth, 2);
  await writer.flush();
  assert.equal(repo.batches.length, 1, 'one batch, so one transaction');
  assert.deepEqual(writes(repo.batches), [
    { id: a.id, kind: 'whole' },
    { id: b.id, kind: 'whole' },
  ]);
  assert.deepEqual(
    repo.batches[0]!.finished.map((f) => f.end.answerContent),
    ['first', 'second'],
  );
  assert.equal(writer.depth, 0);
  await writer.flush();
  assert.equal(repo.batches.length, 1, 'nothing is written twice');
  await writer.close();
});

test('a long request gets its start written at a flush, then its end', async () => {
  const repo = recordingRepo();
  const writer = new HistoryWriter(repo, 60_000, silent);
  const long = start();
  const handle = writer.begin(long);
  await writer.flush();
  assert.deepEqual(writes(repo.batches), [{ id: long.id, kind: 'start' }]);
  assert.equal(writer.depth, 0, 'the start is on disk');
  await writer.flush();
  assert.equal(repo.batches.length, 1, 'a start is written only once');

  handle.finish(end({ answerContent: 'done at last' }));
  handle.finish(end({ answerContent: 'a second finish is ignored' }));
  await writer.flush();
  assert.deepEqual(writes(repo.batches), [
    { id: long.id, kind: 'start' },
    { id: long.id, kind: 'end' },
  ]);
  assert.equal(repo.batches[1]!.finished[0]!.end.answerContent, 'done at last');
  await writer.close();
});

test('the timer flushes on its own within flushMs', async () => {
  const repo = recordingRepo();
  const writer = new HistoryWriter(repo, 10, silent);
  const a = start();
  writer.begin(a).finish(end());
  const deadline = Date.now() + 2000;
  while (repo.batches.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  assert.deepEqual(writes(repo.batches), [{ id: a.id, kind: 'whole' }]);
  await writer.close();
});

test('a failing repository keeps the records for the next flush', async () => {
  const repo = recordingRepo();
  let flushed = 0;
  const writer = new HistoryWriter(repo, 60_000, silent, { onWritten: (n) => (flushed += n) });
  const done = start();
  const running = start();
  writer.begin(done).finish(end());
  const handle = writer.begin(running);

  repo.failing = true;
  await writer.flush();
  assert.equal(repo.attempts, 1);
  assert.equal(repo.batches.length, 0);
  assert.equal(writer.depth, 2, 'both records still wait');
  assert.equal(flushed, 0);

  repo.failing = false;
  await writer.flush();
  assert.deepEqual(writes(repo.batches), [
    { id: running.id, kind: 'start' },
    { id: done.id, kind: 'whole' },
  ]);
  assert.equal(writer.depth, 0);
  assert.equal(flushed, 2);

  // The start of the running request was written by the retry, so its end is an update.
  handle.finish(end());
  repo.failing = true;
  await writer.flush();
  repo.failing = false;
  await writer.flush();
  assert.deepEqual(writes(repo.batches).at(-1), { id: running.id, kind: 'end' });
  await writer.close();
});

test('a failed write retries on its own at the next flush', async () => {
  const repo = recordingRepo();
  const writer = new HistoryWriter(repo, 10, silent);
  repo.failing = true;
  const a = start();
  writer.begin(a).finish(end());
  const deadline = Date.now() + 2000;
  while (repo.attempts === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  repo.failing = false;
  while (repo.batches.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  assert.deepEqual(writes(repo.batches), [{ id: a.id, kind: 'whole' }]);
  await writer.close();
});

test('close() writes everything: finished records and the starts of running ones', async () => {
  const repo = recordingRepo();
  let usageAsked = 0;
  const writer = new HistoryWriter(repo, 60_000, silent, {
    usage: () => {
      usageAsked++;
      return [];
    },
  });
  const done = start();
  const running = start();
  writer.begin(done).finish(end());
  const handle = writer.begin(running);
  await writer.close();
  assert.deepEqual(writes(repo.batches), [
    { id: running.id, kind: 'start' },
    { id: done.id, kind: 'whole' },
  ]);
  assert.equal(writer.depth, 0);
  assert.ok(usageAsked >= 1, 'usage counters are persisted at the final flush');

  // A request that ends after close (cut by the shutdown) is written at once.
  handle.finish(end({ outcome: 'aborted', status: 499 }));
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(writes(repo.batches).at(-1), { id: running.id, kind: 'end' });
  assert.equal(writer.depth, 0);
});

test('usage counters travel with the batch; a failed write keeps them, newer values winning', async () => {
  const seen: UsageCount[][] = [];
  let failing = true;
  const sink = {
    writeBatch(_batch: HistoryBatch, usage: UsageCount[]) {
      if (failing) throw new Error('disk full');
      seen.push(usage);
    },
  };
  let next: UsageCount[] = [{ tokenId: 't', window: 'total', windowStart: 0, calls: 1 }];
  const writer = new HistoryWriter(sink, 60_000, silent, {
    usage: () => {
      const out = next;
      next = [];
      return out;
    },
  });
  await writer.flush();
  next = [{ tokenId: 't', window: 'total', windowStart: 0, calls: 2 }];
  failing = false;
  await writer.flush();
  assert.deepEqual(seen, [[{ tokenId: 't', window: 'total', windowStart: 0, calls: 2 }]]);
  await writer.close();
});

import assert from 'node:assert/strict';
import { type TestContext, test } from 'node:test';
import pino from 'pino';
import type { HistoryBatch, HistoryRepository } from '../store/history-repository.js';
import type { UsageCount } from '../store/token-repository.js';
import type { HistoryEnd, HistoryStart } from './history-record.js';
import { HistoryWriter, storeUnavailable, type WriteReceipt } from './history-writer.js';

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
      if (repo.failing) throw storeUnavailable(new Error('database or disk is full'));
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

/**
 * Virtual time for the scheduling tests: the writer's clock and every `setTimeout` move
 * only when the test advances them, one millisecond at a time, with pending promise
 * callbacks run in between, so a busy machine cannot change what the test sees.
 */
function virtualTime(t: TestContext) {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  let at = 0;
  const step = async () => {
    at += 1;
    t.mock.timers.tick(1);
    await new Promise((resolve) => setImmediate(resolve));
  };
  return {
    clock: () => at,
    async advance(ms: number) {
      for (let i = 0; i < ms; i++) await step();
    },
    /** Advances time until `promise` settles (at most a minute of virtual time). */
    async until(promise: Promise<unknown>) {
      let settled = false;
      void promise.finally(() => {
        settled = true;
      });
      for (let i = 0; i < 60_000 && !settled; i++) await step();
      assert.ok(settled, 'still waiting after a minute');
      await promise;
    },
  };
}

test('on the timer, a start is written only once its request has run for half of flushMs', async (t) => {
  const time = virtualTime(t);
  const repo = recordingRepo();
  const flushMs = 200;
  const writer = new HistoryWriter(repo, flushMs, silent, { clock: time.clock });
  const long = start();
  writer.begin(long);
  // A short request that ends at once makes a batch due before the long one's start is.
  const short = start();
  const handle = writer.begin(short);
  handle.finish(end());
  await time.advance(flushMs);
  assert.deepEqual(writes(repo.batches), [
    { id: short.id, kind: 'whole' },
    { id: long.id, kind: 'start' },
  ]);
  // The long request is still running: close without waiting for it to end.
  await time.until(writer.close(0));
});

test('the timer flushes on its own within flushMs', async (t) => {
  const time = virtualTime(t);
  const repo = recordingRepo();
  const writer = new HistoryWriter(repo, 10, silent, { clock: time.clock });
  const a = start();
  writer.begin(a).finish(end());
  await time.advance(10);
  assert.deepEqual(writes(repo.batches), [{ id: a.id, kind: 'whole' }]);
  await time.until(writer.close());
});

test('a store that cannot be written keeps the records for the next flush', async () => {
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
      if (failing) throw storeUnavailable(new Error('database or disk is full'));
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

/**
 * A sink that behaves like the writer thread: one transaction at a time, each taking
 * `ms`; batches handed over meanwhile wait and share the next one.
 */
function threadLikeSink(ms: number, commit: (batch: HistoryBatch) => void) {
  let queued: { batch: HistoryBatch; done: () => void }[] = [];
  let busy = false;
  const run = async () => {
    busy = true;
    while (queued.length > 0) {
      const now = queued;
      queued = [];
      await new Promise((resolve) => setTimeout(resolve, ms));
      for (const { batch, done } of now) {
        commit(batch);
        done();
      }
    }
    busy = false;
  };
  return {
    writeBatch(batch: HistoryBatch) {
      return new Promise<void>((done) => {
        queued.push({ batch, done });
        if (!busy) void run();
      });
    },
  };
}

/** A logger whose lines the test can read. */
function capturedLog() {
  const lines: { level: number; msg: string; [key: string]: unknown }[] = [];
  const log = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  return { log, lines, said: (text: string) => lines.filter((l) => l.msg.includes(text)).length };
}

/** A sink that refuses any batch holding one of `bad` (as a record the store rejects), unless reduced. */
function pickySink(bad: Set<string>, options: { evenReduced?: boolean } = {}) {
  const stored = new Map<string, { request: unknown; answer: string | null; summary: unknown }>();
  let attempts = 0;
  return {
    stored,
    get attempts() {
      return attempts;
    },
    writeBatch(batch: HistoryBatch) {
      attempts++;
      const all = [...batch.started, ...batch.finished.map((f) => f.start)];
      for (const s of all) {
        const reduced = typeof s.request === 'string' && s.request.startsWith('[not stored');
        if (bad.has(s.id) && (!reduced || options.evenReduced)) throw new Error('CHECK constraint failed');
      }
      for (const s of batch.started) stored.set(s.id, { request: s.request, answer: null, summary: null });
      for (const f of batch.finished)
        stored.set(f.start.id, {
          request: f.start.request,
          answer: f.end.answerContent,
          summary: f.end.answerSummary,
        });
    },
  };
}

test('one record the store rejects does not block the others: it is stored reduced, the rest as they were', async () => {
  const records = Array.from({ length: 9 }, () => start());
  const bad = records[4]!;
  const sink = pickySink(new Set([bad.id]));
  const dropped: string[] = [];
  let summarised = 0;
  const { log, said } = capturedLog();
  const writer = new HistoryWriter(sink, 60_000, log, {
    onDropped: (n, reason) => dropped.push(`${n} ${reason}`),
    onSummarised: (n) => (summarised += n),
  });
  for (const r of records) writer.begin(r).finish(end({ answerContent: `answer to ${r.id}` }));
  await writer.flush();
  assert.equal(writer.depth, 0, 'nothing is left waiting, so nothing is retried forever');
  assert.equal(sink.stored.size, 9);
  for (const r of records.filter((r) => r !== bad))
    assert.deepEqual(sink.stored.get(r.id)?.request, r.request, 'the others are stored as they were');
  const reduced = sink.stored.get(bad.id)!;
  assert.match(String(reduced.request), /^\[not stored: /, 'the reduced record says what is missing');
  assert.equal(reduced.answer, `answer to ${bad.id}`, 'its answer text is kept');
  assert.deepEqual(dropped, []);
  assert.equal(summarised, 1);
  assert.equal(said('stored reduced'), 1);

  // Later records are written at the next flush as usual.
  const later = start();
  writer.begin(later).finish(end());
  await writer.flush();
  assert.ok(sink.stored.has(later.id));
  await writer.close();
});

test('a record the store rejects even reduced is dropped and counted; the others are written', async () => {
  const records = Array.from({ length: 4 }, () => start());
  const bad = records[1]!;
  const sink = pickySink(new Set([bad.id]), { evenReduced: true });
  const dropped: string[] = [];
  const { log, said } = capturedLog();
  const writer = new HistoryWriter(sink, 60_000, log, {
    onDropped: (n, reason) => dropped.push(`${n} ${reason}`),
  });
  for (const r of records) writer.begin(r).finish(end());
  await writer.flush();
  assert.deepEqual(
    [...sink.stored.keys()].sort(),
    records
      .filter((r) => r !== bad)
      .map((r) => r.id)
      .sort(),
  );
  assert.deepEqual(dropped, ['1 unwritable']);
  assert.equal(said('dropped'), 1);
  assert.equal(writer.depth, 0);
  await writer.close();
});

test('a start that cannot be stored does not come back at every flush; its finish writes the whole record', async () => {
  const running = start();
  const sink = pickySink(new Set([running.id]), { evenReduced: true });
  const writer = new HistoryWriter(sink, 60_000, silent);
  const handle = writer.begin(running);
  await writer.flush();
  const attempts = sink.attempts;
  await writer.flush();
  assert.equal(sink.attempts, attempts, 'the failed start is not retried');
  assert.equal(writer.depth, 0);
  handle.finish(end());
  assert.equal(writer.depth, 1);
  await writer.flush();
  assert.equal(writer.depth, 0);
  await writer.close();
});

test('a request nested 100,000 levels deep is recorded with its deep part summarised', async () => {
  const deep = JSON.parse(`{"prompt":"x","options":{"a":${'['.repeat(100_000)}${']'.repeat(100_000)}}}`);
  const record = start({ endpoint: '/api/generate', request: deep });
  const batches: HistoryBatch[] = [];
  let summarised = 0;
  const writer = new HistoryWriter(
    // structuredClone as the writer thread's postMessage does, and JSON as the store does.
    { writeBatch: (batch) => void batches.push(JSON.parse(JSON.stringify(structuredClone(batch)))) },
    60_000,
    silent,
    { onSummarised: (n) => (summarised += n) },
  );
  const deepArguments = JSON.parse(`${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}`);
  writer.begin(record).finish(end({ answerToolCalls: [{ name: 'f', arguments: deepArguments }] }));
  await writer.flush();
  const stored = batches[0]!.finished[0]!;
  const request = stored.start.request as { prompt: string; options: { a: unknown } };
  assert.equal(request.prompt, 'x');
  assert.match(JSON.stringify(request.options.a), /nested deeper than 64 levels \(100002 in all\)/);
  assert.match(JSON.stringify(stored.end.answerToolCalls), /nested deeper than 64 levels/);
  assert.equal(summarised, 2);
  await writer.close();
});

/** A sink standing for a store on a full disk until `full` is cleared. */
function diskSink() {
  const stored: string[] = [];
  const counters: UsageCount[] = [];
  const sink = {
    full: true,
    attempts: 0,
    stored,
    counters,
    writeBatch(batch: HistoryBatch, usage: UsageCount[]) {
      sink.attempts++;
      if (sink.full) throw storeUnavailable(new Error('database or disk is full'));
      for (const s of batch.started) stored.push(`start ${s.id}`);
      for (const f of batch.finished) stored.push(`${f.startWritten ? 'end' : 'whole'} ${f.start.id}`);
      counters.push(...usage);
    },
  };
  return sink;
}

test('while the store is full records wait in memory up to a bound, and are written once it recovers, said once each way', async () => {
  const sink = diskSink();
  const { log, said } = capturedLog();
  const dropped: string[] = [];
  const writer = new HistoryWriter(
    sink,
    10,
    log,
    { onDropped: (n, reason) => dropped.push(`${n} ${reason}`) },
    { maxRecords: 50, retryMs: 20 },
  );
  const records = Array.from({ length: 60 }, () => start());
  for (const r of records) writer.begin(r).finish(end());
  assert.equal(writer.depth, 50, 'the backlog is bounded');
  assert.deepEqual(dropped, Array(10).fill('1 backlog_full'), 'the oldest are dropped and counted');
  await new Promise((resolve) => setTimeout(resolve, 200));
  assert.ok(writer.storeFailing);
  assert.ok(sink.attempts >= 3, `retried on its own (${sink.attempts} attempts)`);
  assert.equal(said('history store failing'), 1, 'said once, not per attempt');
  assert.equal(said('backlog full'), 1);

  sink.full = false;
  const deadline = Date.now() + 3000;
  while (writer.depth > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
  assert.equal(writer.storeFailing, false);
  assert.deepEqual(
    sink.stored,
    records.slice(10).map((r) => `whole ${r.id}`),
    'everything within the bound is written, in order',
  );
  assert.equal(said('writable again'), 1);
  await writer.close();
  assert.equal(writer.lost, 0);
});

test('the backlog is bounded by bytes as well as records', async () => {
  const sink = diskSink();
  const writer = new HistoryWriter(
    sink,
    60_000,
    silent,
    {},
    { maxRecords: 1000, maxBytes: 1024 * 1024, closeRetryMs: 0 },
  );
  await writer.flush(); // puts the writer in its failing state
  for (let i = 0; i < 100; i++) writer.begin(start()).finish(end({ answerContent: 'x'.repeat(100_000) }));
  assert.ok(writer.queuedBytes <= 1024 * 1024, `${writer.queuedBytes} bytes kept`);
  assert.ok(writer.depth >= 9 && writer.depth <= 10, `${writer.depth} records kept`);
  await writer.close();
});

test('close with the store still failing says what is lost and counts it', async () => {
  const sink = diskSink();
  const { log, said } = capturedLog();
  const writer = new HistoryWriter(
    sink,
    60_000,
    log,
    { usage: () => [{ tokenId: 't', window: 'total', windowStart: 0, calls: 3 }] },
    { retryMs: 20, closeRetryMs: 100 },
  );
  writer.begin(start()).finish(end());
  writer.begin(start()).finish(end());
  await writer.close();
  assert.equal(writer.lost, 3, 'two records and one usage counter');
  assert.equal(said('still failing at the stop'), 1);
  assert.ok(sink.attempts >= 2, 'close retried before giving up');
});

test('close retries a store that recovers meanwhile and loses nothing', async () => {
  const sink = diskSink();
  const writer = new HistoryWriter(sink, 60_000, silent, {}, { retryMs: 20, closeRetryMs: 2000 });
  const record = start();
  writer.begin(record).finish(end());
  setTimeout(() => {
    sink.full = false;
  }, 100);
  await writer.close();
  assert.equal(writer.lost, 0);
  assert.deepEqual(sink.stored, [`whole ${record.id}`]);
});

test('a record that becomes due while a slow batch is written is on disk within flushMs of its end', async (t) => {
  const time = virtualTime(t);
  const flushMs = 100;
  const committed = new Map<string, number>();
  // Transactions of 30 ms, one after the other, as a busy writer thread's can be.
  const writer = new HistoryWriter(
    threadLikeSink(30, (batch) => {
      for (const f of batch.finished) committed.set(f.start.id, time.clock());
    }),
    flushMs,
    silent,
    { clock: time.clock },
  );
  const ended = new Map<string, number>();
  // A record ends every 5 ms for a second.
  for (let i = 0; i < 200; i++) {
    const r = start();
    writer.begin(r).finish(end());
    ended.set(r.id, time.clock());
    await time.advance(5);
  }
  await time.until(writer.close());
  const lateness = [...ended].map(([id, at]) => committed.get(id)! - at);
  const worst = Math.max(...lateness);
  t.diagnostic(`the latest commit came ${worst} ms after its record's end`);
  assert.ok(worst <= flushMs, `a record was committed ${worst} ms after its end`);
});

test('a batch does not wait for the answer to the one before: commits stay within flushMs when answers come back late', async (t) => {
  const time = virtualTime(t);
  const flushMs = 100;
  const committed = new Map<string, number>();
  const writer = new HistoryWriter(
    {
      writeBatch(batch) {
        // Committed on arrival; the answer takes 150 ms to come back, as on a busy request thread.
        for (const f of batch.finished) committed.set(f.start.id, time.clock());
        return new Promise<WriteReceipt>((resolve) => setTimeout(() => resolve({ commitMs: 1 }), 150));
      },
    },
    flushMs,
    silent,
    { clock: time.clock },
  );
  const ended = new Map<string, number>();
  for (let i = 0; i < 100; i++) {
    const r = start();
    writer.begin(r).finish(end());
    ended.set(r.id, time.clock());
    await time.advance(5);
  }
  await time.until(writer.close());
  const worst = Math.max(...[...ended].map(([id, at]) => committed.get(id)! - at));
  t.diagnostic(`the latest commit came ${worst} ms after its record's end`);
  assert.ok(worst <= flushMs, `a record was committed ${worst} ms after its end`);
});

test('a finish whose start is on its way waits for that answer, then completes the row', async () => {
  const repo = recordingRepo();
  const writer = new HistoryWriter(
    {
      async writeBatch(batch: HistoryBatch) {
        await new Promise((resolve) => setTimeout(resolve, 30));
        repo.writeBatch(batch);
      },
    },
    10,
    silent,
  );
  const long = start();
  const handle = writer.begin(long);
  await new Promise((resolve) => setTimeout(resolve, 20)); // its start is on its way now
  handle.finish(end());
  await writer.close();
  assert.deepEqual(writes(repo.batches), [
    { id: long.id, kind: 'start' },
    { id: long.id, kind: 'end' },
  ]);
});

test('a refused batch puts back only counters no later batch carries', async () => {
  const written: number[] = [];
  let calls = 0;
  let value = 0;
  const writer = new HistoryWriter(
    {
      writeBatch(_batch: HistoryBatch, usage: UsageCount[]) {
        calls++;
        if (calls === 1)
          return new Promise<void>((_, reject) =>
            setTimeout(() => reject(storeUnavailable(new Error('disk I/O error'))), 60),
          );
        for (const u of usage) written.push(u.calls);
        return Promise.resolve();
      },
    },
    20,
    silent,
    { usage: () => (value > 0 ? [{ tokenId: 't', window: 'total', windowStart: 0, calls: value }] : []) },
    { retryMs: 20 },
  );
  value = 1;
  writer.requestFlush(); // the first batch carries 1 and is refused, late
  await new Promise((resolve) => setTimeout(resolve, 30));
  value = 2;
  writer.requestFlush(); // a second batch, sent meanwhile, carries 2
  await new Promise((resolve) => setTimeout(resolve, 200));
  value = 0;
  await writer.close();
  assert.equal(written.at(-1), 2, `the counter ends at its latest value (writes: ${written.join(', ')})`);
});

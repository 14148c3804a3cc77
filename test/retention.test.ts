/**
 * History retention as an admin sets it: with a maximum age or a maximum count in the
 * settings, the background job removes old and excess records (search no longer finds
 * them; usage charts still count them), in small batches while requests keep being
 * served.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { type TestContext, test } from 'node:test';
import { Ollama } from 'ollama';
import type { HistoryEnd, HistoryStart } from '../src/history/history-record.js';
import { RetentionJob } from '../src/history/retention-job.js';
import { type AdminClient, signedIn } from './support/admin-client.js';
import { emulatorFor, eventually, startCompanion, type TestCompanion } from './support/companion-harness.js';

const DAY = 86_400_000;

interface Setup {
  server: TestCompanion;
  admin: AdminClient;
  ollama: Ollama;
}

async function setup(t: TestContext): Promise<Setup> {
  const emulator = await emulatorFor(t, { chunks: 2 });
  const server = await startCompanion(t, emulator.url);
  const admin = await signedIn(server.url, server.companion, 'rita', 'admin');
  const ollama = new Ollama({
    host: server.url,
    headers: { Authorization: `Bearer ${server.token('keeper', { models: ['*'] })}` },
  });
  return { server, admin, ollama };
}

const ask = (ollama: Ollama, content: string) =>
  ollama.chat({ model: 'llama3.2', messages: [{ role: 'user', content }], stream: false });

function oldRecord(
  startedAt: number,
  word: string,
): { start: HistoryStart; end: HistoryEnd; startWritten: false } {
  return {
    startWritten: false,
    start: {
      id: randomUUID(),
      servedBy: 'elsewhere',
      tokenId: 'old-token',
      tokenName: 'old',
      tokenPrefix: 'oc_old',
      method: 'POST',
      endpoint: '/api/generate',
      model: 'llama3.2',
      stream: false,
      startedAt,
      historyMode: 'full',
      request: { model: 'llama3.2', prompt: `an old ${word} question` },
      clientAddr: null,
      userAgent: null,
    },
    end: {
      finishedAt: startedAt + 10,
      ttftMs: 1,
      durationMs: 10,
      status: 200,
      outcome: 'ok',
      error: null,
      answerContent: 'old answer',
      answerThinking: null,
      answerToolCalls: null,
      answerSummary: null,
      doneReason: 'stop',
      promptTokens: 1,
      completionTokens: 1,
      totalNs: null,
      loadNs: null,
      promptEvalNs: null,
      evalNs: null,
    },
  };
}

async function settled(server: TestCompanion, count: number): Promise<void> {
  await eventually(async () => {
    void server.companion.history.flush();
    return (await server.companion.historyReads.search.count()) === count ? true : undefined;
  });
}

async function listed(
  admin: AdminClient,
  query = '',
): Promise<{ prompt: string; tokenName: string | null }[]> {
  const answer = await admin.call<{ items: { prompt: string; tokenName: string | null }[] }>(
    'GET',
    `/admin/api/history?limit=200${query}`,
  );
  assert.equal(answer.status, 200, answer.text);
  return answer.body.items;
}

test('with historyMaxRecords set, only the newest records stay', async (t) => {
  const { server, admin, ollama } = await setup(t);
  for (let i = 1; i <= 6; i++) await ask(ollama, `question ${i}`);
  await settled(server, 6);

  const patched = await admin.call('PATCH', '/admin/api/settings', { historyMaxRecords: 3 });
  assert.equal(patched.status, 200, patched.text);
  // The companion's own job would get there within a minute; run a pass now.
  await server.companion.retention.runOnce();
  assert.deepEqual(
    (await listed(admin)).map((i) => i.prompt),
    ['question 6', 'question 5', 'question 4'],
  );
  assert.equal((await listed(admin, '&q=question')).length, 3, 'search sees only what is left');

  await ask(ollama, 'question 7');
  await settled(server, 4);
  await server.companion.retention.runOnce();
  assert.deepEqual(
    (await listed(admin)).map((i) => i.prompt),
    ['question 7', 'question 6', 'question 5'],
  );
  const usage = await admin.call<{ totals: { requests: number } }>('GET', '/admin/api/usage?by=day');
  assert.equal(usage.body.totals.requests, 7, 'usage still counts removed records');
});

test('with historyMaxAgeDays set, records older than that go and newer ones stay', async (t) => {
  const { server, admin, ollama } = await setup(t);
  const now = Date.now();
  server.companion.historyRepo.writeBatch({
    started: [],
    finished: [
      oldRecord(now - 45 * DAY, 'stale'),
      oldRecord(now - 31 * DAY, 'stale'),
      oldRecord(now - 10 * DAY, 'recent'),
    ],
  });
  await ask(ollama, 'fresh question');
  await settled(server, 4);

  // Nothing is removed while no limit is set.
  assert.deepEqual(await server.companion.retention.runOnce(), { indexed: 0, deleted: 0, purged: false });
  assert.equal(await server.companion.historyReads.search.count(), 4);

  const patched = await admin.call('PATCH', '/admin/api/settings', { historyMaxAgeDays: 30 });
  assert.equal(patched.status, 200, patched.text);
  await server.companion.retention.runOnce();
  assert.deepEqual(
    (await listed(admin)).map((i) => i.prompt),
    ['fresh question', 'an old recent question'],
  );
  assert.equal((await listed(admin, '&q=stale')).length, 0);
});

test('a large clean-up runs in small batches while requests keep being answered', async (t) => {
  const { server, ollama } = await setup(t);
  await server.companion.retention.stop(); // this test drives its own job
  const now = Date.now();
  const OLD = 20_000;
  server.companion.historyRepo.writeBatch({
    started: [],
    finished: Array.from({ length: OLD }, (_, i) => oldRecord(now - 100 * DAY + i * 1000, 'bulk')),
  });
  await server.companion.settings.write({ historyMaxAgeDays: 30 });
  const settings = { read: () => server.companion.settings.latest() };

  let batches = 0;
  const reads = server.companion.historyReads;
  const counting = {
    ...reads,
    retention: {
      ...reads.retention,
      deleteUpTo: (cut: number, batch: number) => {
        batches++;
        return reads.retention.deleteUpTo(cut, batch);
      },
    },
  };
  const job = new RetentionJob(counting, settings, server.companion.log, { batchSize: 50 });
  let passDone = false;
  const pass = job.runOnce().then((result) => {
    passDone = true;
    return result;
  });

  const answers = await Promise.all([1, 2, 3].map((i) => ask(ollama, `served during clean-up ${i}`)));
  assert.deepEqual(
    answers.map((a) => a.message.content),
    [1, 2, 3].map((i) => `Echo: served during clean-up ${i}`),
  );
  assert.equal(passDone, false, 'requests were answered between the batches of one pass');
  const result = await pass;
  assert.equal(result.deleted, OLD);
  assert.ok(batches > OLD / 50, `one transaction per 50 records (${batches})`);
  await settled(server, 3);
});

test('the job stops at a batch boundary when the server stops', async (t) => {
  const { server } = await setup(t);
  await server.companion.retention.stop(); // this test drives its own job
  const now = Date.now();
  server.companion.historyRepo.writeBatch({
    started: [],
    finished: Array.from({ length: 2000 }, (_, i) => oldRecord(now - 100 * DAY + i, 'bulk')),
  });
  await server.companion.settings.write({ historyMaxRecords: 1 });
  const settings = { read: () => server.companion.settings.latest() };
  const job = new RetentionJob(server.companion.historyReads, settings, server.companion.log, {
    batchSize: 10,
  });
  job.start();
  const pass = job.runOnce();
  await job.stop();
  const result = await pass;
  assert.ok(result.deleted < 1999, 'the pass ended early');
  assert.equal(
    await server.companion.historyReads.search.count(),
    2000 - result.deleted,
    'and what it did is consistent',
  );
});

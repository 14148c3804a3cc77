/**
 * Finding exchanges as an admin does: traffic goes through the companion with the real
 * `ollama` and `openai` clients, then the admin API searches it (full text over prompts
 * and answers), filters and pages it, shows conversations as threads, and redacts a
 * record so that its words are gone from search, from later turns and from the disk.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import type { Message } from 'ollama';
import OpenAI from 'openai';
import { tokenHistoryPage } from '../src/admin/history-listing.js';
import type { UsagePoint } from '../src/history/usage-series.js';
import { AdminClient, signedIn } from './support/admin-client.js';
import {
  emulatorFor,
  eventually,
  ollamaClient,
  startCompanion,
  type TestCompanion,
} from './support/companion-harness.js';
import { defaultModels, type Emulator } from './support/ollama-emulator.js';

interface Item {
  id: string;
  threadId: string;
  parentId: string | null;
  startedAt: string;
  tokenName: string | null;
  tokenId: string | null;
  model: string | null;
  endpoint: string;
  status: number | null;
  outcome: string;
  prompt: string;
  answer: string;
  snippet?: string;
  redactedAt: string | null;
}

interface Page {
  items: Item[];
  next: string | null;
}

interface FullRecord {
  id: string;
  threadId: string;
  parentId: string | null;
  request: { messages?: { role: string; content: string }[] } | null;
  answerContent: string | null;
  tokenName: string | null;
  promptTokens: number | null;
  redactedAt: string | null;
  redactedBy: string | null;
}

const ANSWERS: Record<string, string> = {
  'How do I bake sourdough bread?': 'Feed the levain twice daily and use some rye flour.',
  'What is the capital of France?': 'Paris is the capital.',
  'Recommend a café near the station': 'Try the little bistro with the blue door.',
};

interface Setup {
  emulator: Emulator;
  server: TestCompanion;
  admin: AdminClient;
}

async function setup(t: TestContext): Promise<Setup> {
  const emulator = await emulatorFor(t, {
    chunks: 3,
    answer: ({ prompt }) => ANSWERS[prompt] ?? `Echo: ${prompt}`,
  });
  const server = await startCompanion(t, emulator.url);
  const admin = await signedIn(server.url, server.companion, 'ada', 'admin');
  return { emulator, server, admin };
}

/** Waits until `count` records are stored and complete. */
async function settled(server: TestCompanion, count: number): Promise<void> {
  await eventually(async () => {
    void server.companion.history.flush();
    const { records } = await server.companion.historyReads.search.search({}, { limit: 1000 });
    return records.length === count && records.every((r) => r.outcome !== 'in_progress') ? true : undefined;
  });
}

async function history(admin: AdminClient, query: Record<string, string | number>): Promise<Page> {
  const qs = new URLSearchParams(Object.entries(query).map(([k, v]) => [k, String(v)])).toString();
  const answer = await admin.call<Page>('GET', `/admin/api/history?${qs}`);
  assert.equal(answer.status, 200, answer.text);
  return answer.body;
}

test('a word of the prompt or of the answer finds the exchange, case and accents ignored', async (t) => {
  const { server, admin } = await setup(t);
  const ollama = ollamaClient(server, server.token('baker', { models: ['*'] }));
  for (const content of Object.keys(ANSWERS)) {
    await ollama.chat({ model: 'llama3.2', messages: [{ role: 'user', content }], stream: true });
  }
  await ollama.generate({ model: 'llama3.2', prompt: 'Describe a lighthouse at dusk', stream: false });
  await settled(server, 4);

  const byPrompt = await history(admin, { q: 'sourdough' });
  assert.equal(byPrompt.items.length, 1);
  const bread = byPrompt.items[0]!;
  assert.equal(bread.prompt, 'How do I bake sourdough bread?');
  assert.equal(bread.answer, 'Feed the levain twice daily and use some rye flour.');
  assert.equal(bread.tokenName, 'baker');
  assert.match(bread.snippet ?? '', /sourdough/);

  const byAnswer = await history(admin, { q: 'LEVAIN' });
  assert.deepEqual(
    byAnswer.items.map((i) => i.id),
    [bread.id],
  );
  assert.deepEqual(
    (await history(admin, { q: 'cafe' })).items.map((i) => i.prompt),
    ['Recommend a café near the station'],
  );
  assert.deepEqual(
    (await history(admin, { q: 'lighthouse' })).items.map((i) => i.endpoint),
    ['/api/generate'],
  );
  assert.equal((await history(admin, { q: '"rye flour"' })).items.length, 1);
  assert.equal((await history(admin, { q: '"flour rye"' })).items.length, 0);
  assert.equal((await history(admin, { q: 'capital -sourdough' })).items.length, 1);
  assert.equal((await history(admin, { q: 'nonexistentword' })).items.length, 0);
  // Search syntax typed by a person never breaks the query.
  for (const q of ['AND', '"unclosed', 'prompt:', 'NEAR(', '*', '(sourdough', 'a OR']) {
    const answer = await admin.call<Page>('GET', `/admin/api/history?q=${encodeURIComponent(q)}`);
    assert.equal(answer.status, 200, `q=${q}: ${answer.text}`);
  }
});

test('filters by token, model, status and time, and pages newest first with an opaque cursor', async (t) => {
  const { server, admin } = await setup(t);
  const alice = ollamaClient(server, server.token('alice', { models: ['*'] }));
  const bob = ollamaClient(server, server.token('bob', { models: ['qwen3*'] }));
  for (let i = 0; i < 5; i++) {
    const messages = [{ role: 'user', content: `alice question ${i}` }];
    if (i % 2 === 0) for await (const _ of await alice.chat({ model: 'llama3.2', messages, stream: true }));
    else await alice.chat({ model: 'llama3.2', messages, stream: false });
  }
  await bob.chat({ model: 'qwen3:8b', messages: [{ role: 'user', content: 'bob question' }], stream: false });
  await assert.rejects(
    bob.chat({ model: 'llama3.2', messages: [{ role: 'user', content: 'bob forbidden' }], stream: false }),
    (error: { status_code?: number }) => error.status_code === 403,
  );
  await settled(server, 7);

  const all = await history(admin, { limit: 200 });
  assert.equal(all.items.length, 7);
  assert.equal(all.next, null);
  const times = all.items.map((i) => Date.parse(i.startedAt));
  assert.deepEqual(
    times,
    [...times].sort((a, b) => b - a),
    'newest first',
  );
  assert.equal(all.items[0]?.prompt, 'bob forbidden');

  const aliceId = server.companion.tokens.get('alice').id;
  const byId = await history(admin, { token: aliceId });
  assert.equal(byId.items.length, 5);
  assert.ok(byId.items.every((i) => i.tokenName === 'alice'));
  assert.deepEqual(
    (await history(admin, { token: 'alice' })).items.map((i) => i.id),
    byId.items.map((i) => i.id),
    'a token name works as well as its id',
  );
  assert.deepEqual(
    (await history(admin, { model: 'qwen3:8b' })).items.map((i) => i.prompt),
    ['bob question'],
  );
  for (const status of ['refused', '403', '4xx']) {
    const refused = await history(admin, { status });
    assert.deepEqual(
      refused.items.map((i) => [i.prompt, i.status, i.outcome]),
      [['bob forbidden', 403, 'refused']],
      `status=${status}`,
    );
  }
  assert.equal((await history(admin, { status: 'ok' })).items.length, 6);
  assert.deepEqual(
    (await history(admin, { q: 'question', token: 'bob' })).items.map((i) => i.prompt),
    ['bob question'],
  );

  const oldestFirst = [...all.items].reverse();
  const pivot = oldestFirst[3]!;
  const since = await history(admin, { since: pivot.startedAt });
  assert.ok(since.items.every((i) => Date.parse(i.startedAt) >= Date.parse(pivot.startedAt)));
  assert.ok(since.items.some((i) => i.id === pivot.id));
  const until = await history(admin, { until: pivot.startedAt });
  assert.ok(until.items.every((i) => Date.parse(i.startedAt) < Date.parse(pivot.startedAt)));
  assert.equal(since.items.length + until.items.length, 7);
  const sinceMs = await history(admin, { since: Date.parse(pivot.startedAt) });
  assert.deepEqual(
    sinceMs.items.map((i) => i.id),
    since.items.map((i) => i.id),
    'epoch milliseconds work as well as ISO times',
  );

  const paged: string[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const page: Page = await history(admin, { limit: 2, ...(cursor ? { cursor } : {}) });
    assert.ok(page.items.length <= 2);
    paged.push(...page.items.map((i) => i.id));
    cursor = page.next;
    pages++;
  } while (cursor && pages < 10);
  assert.equal(pages, 4);
  assert.deepEqual(
    paged,
    all.items.map((i) => i.id),
    'pages add up to the whole list, in the same order',
  );

  // What the token holders' own page uses: their records only, whatever token they name.
  const own = await tokenHistoryPage(server.companion, aliceId, { token: 'bob', limit: 3 });
  assert.equal(own.items.length, 3);
  assert.ok(own.items.every((i) => i.tokenName === 'alice'));
  const ownNext = await tokenHistoryPage(server.companion, aliceId, { cursor: own.next!, limit: 3 });
  assert.deepEqual(
    [...own.items, ...ownNext.items].map((i) => i.id),
    byId.items.map((i) => i.id),
  );
  assert.equal(ownNext.next, null);

  const bad = await admin.call('GET', '/admin/api/history?cursor=not-a-cursor');
  assert.equal(bad.status, 400);
  assert.deepEqual(bad.body, { error: { code: 'bad_request', message: 'invalid cursor' } });
  const badStatus = await admin.call('GET', '/admin/api/history?status=sideways');
  assert.equal(badStatus.status, 400);
  const badTime = await admin.call('GET', '/admin/api/history?since=yesterday-ish');
  assert.equal(badTime.status, 400);
});

test('the model filter takes the globs of token model rules; an exact name still works', async (t) => {
  const models = [
    ...defaultModels(),
    ...['llama3.2:1b', 'llama3.1:8b', 'gemma3:1b', 'hf.co/someone/tiny:1b', 'llama3_2:latest'].map(
      (name) => ({ name }),
    ),
  ];
  const emulator = await emulatorFor(t, { models });
  const server = await startCompanion(t, emulator.url);
  const admin = await signedIn(server.url, server.companion, 'gil', 'viewer');
  const ollama = ollamaClient(server, server.token('globber', { models: ['*'] }));
  const asked = ['llama3.2', 'llama3.2:latest', 'llama3.2:1b', 'llama3.1:8b', 'gemma3:1b', 'qwen3:8b'];
  for (const model of [...asked, 'hf.co/someone/tiny:1b', 'llama3_2']) {
    await ollama.generate({ model, prompt: `hello ${model}`, stream: false });
  }
  await settled(server, 8);

  const found = async (model: string) =>
    (await history(admin, { model, limit: 200 })).items.map((i) => i.model).sort();
  assert.deepEqual(
    await found('llama3.*'),
    ['llama3.1:8b', 'llama3.2', 'llama3.2:1b', 'llama3.2:latest'],
    'a glob over names',
  );
  assert.deepEqual(
    await found('*:1b'),
    ['gemma3:1b', 'llama3.2:1b'],
    'a glob over tags; `*` does not reach across the `/` of a registry name',
  );
  assert.deepEqual(await found('*/*/*:1b'), ['hf.co/someone/tiny:1b']);
  assert.deepEqual(
    await found('LLAMA3.?:*b'),
    ['llama3.1:8b', 'llama3.2:1b'],
    'case and `?` as in token rules',
  );
  assert.deepEqual(await found('qwen3:8b'), ['qwen3:8b'], 'an exact name');
  assert.deepEqual(
    await found('llama3.2'),
    ['llama3.2', 'llama3.2:latest'],
    'an exact name matches its `:latest` twin, as in token rules',
  );
  assert.deepEqual(await found('llama3_2'), ['llama3_2'], 'an underscore is a letter, not a wildcard');
  assert.deepEqual(await found('llama3%'), [], 'a percent sign is a letter, not a wildcard');
  assert.deepEqual(await found('*:latest'), ['llama3.2', 'llama3.2:latest', 'llama3_2']);
  assert.deepEqual(
    (await history(admin, { model: 'llama3.*', q: 'hello', limit: 200 })).items.length,
    4,
    'with a text search too',
  );
});

test('a multi-turn chat through the ollama client is one conversation; a new chat or another token is not', async (t) => {
  const { server, admin } = await setup(t);
  const secret = server.token('writer', { models: ['*'] });
  const ollama = ollamaClient(server, secret);
  const messages: Message[] = [{ role: 'system', content: 'You are terse.' }];
  const turnIds: string[] = [];
  for (const [i, content] of ['Tell me a story', 'Make it longer', 'Now end it'].entries()) {
    messages.push({ role: 'user', content });
    if (i === 1) {
      const stream = await ollama.chat({ model: 'llama3.2', messages, stream: true });
      let text = '';
      for await (const part of stream) text += part.message.content;
      messages.push({ role: 'assistant', content: text });
    } else {
      const answer = await ollama.chat({ model: 'llama3.2', messages, stream: false });
      messages.push(answer.message);
    }
  }
  // The same opening again is a new conversation; the same messages from another token are not ours.
  await ollama.chat({
    model: 'llama3.2',
    messages: [{ role: 'user', content: 'Tell me a story' }],
    stream: false,
  });
  const other = ollamaClient(server, server.token('copycat', { models: ['*'] }));
  await other.chat({ model: 'llama3.2', messages: messages.slice(0, 4), stream: false });
  // The openai client's conversations are grouped the same way.
  const openai = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: secret });
  const first = await openai.chat.completions.create({
    model: 'llama3.2',
    messages: [{ role: 'user', content: 'openai opening' }],
  });
  await openai.chat.completions.create({
    model: 'llama3.2',
    messages: [
      { role: 'user', content: 'openai opening' },
      { role: 'assistant', content: first.choices[0]?.message.content ?? '' },
      { role: 'user', content: 'openai follow-up' },
    ],
  });
  await settled(server, 7);

  const writer = (await history(admin, { token: 'writer', endpoint: '/api/chat' })).items.reverse();
  turnIds.push(...writer.slice(0, 3).map((i) => i.id));
  const thread = await admin.call<{ threadId: string; items: FullRecord[] }>(
    'GET',
    `/admin/api/threads/${turnIds[2]}`,
  );
  assert.equal(thread.status, 200);
  assert.equal(thread.body.threadId, turnIds[0]);
  assert.deepEqual(
    thread.body.items.map((r) => r.id),
    turnIds,
    'the three turns, oldest first',
  );
  assert.deepEqual(
    thread.body.items.map((r) => r.parentId),
    [null, turnIds[0], turnIds[1]],
  );
  assert.deepEqual(
    thread.body.items.map((r) => r.answerContent),
    ['Echo: Tell me a story', 'Echo: Make it longer', 'Echo: Now end it'],
  );
  const fromFirst = await admin.call<{ threadId: string; items: FullRecord[] }>(
    'GET',
    `/admin/api/threads/${turnIds[0]}`,
  );
  assert.deepEqual(
    fromFirst.body.items.map((r) => r.id),
    turnIds,
  );

  const restart = writer[3]!;
  assert.equal(restart.prompt, 'Tell me a story');
  assert.equal(restart.threadId, restart.id, 'a new opening starts its own thread');
  const copy = (await history(admin, { token: 'copycat' })).items[0]!;
  assert.equal(copy.threadId, copy.id, 'threads never cross tokens');
  const [opening, followUp] = (await history(admin, { endpoint: '/v1/chat/completions' })).items.reverse();
  assert.equal(followUp?.threadId, opening?.id);
  assert.equal(followUp?.prompt, 'openai follow-up', 'a turn is listed by what it added');

  const missing = await admin.call('GET', '/admin/api/threads/no-such-record');
  assert.equal(missing.status, 404);
});

test('redaction erases the content from the record, later turns, search and disk; a tombstone stays', async (t) => {
  const { server, admin } = await setup(t);
  const viewer = await signedIn(server.url, server.companion, 'vic', 'viewer');
  const ollama = ollamaClient(server, server.token('leaky', { models: ['*'] }));
  const messages: Message[] = [{ role: 'user', content: 'my password is quetzalcoatlus' }];
  const first = await ollama.chat({ model: 'llama3.2', messages, stream: false });
  messages.push(first.message, { role: 'user', content: 'tell me about pterosaurs' });
  await ollama.chat({ model: 'llama3.2', messages, stream: false });
  await settled(server, 2);

  const [secretItem] = (await history(admin, { q: 'quetzalcoatlus' })).items;
  assert.ok(secretItem, 'found before redaction');
  const laterItem = (await history(admin, { q: 'pterosaurs' })).items[0]!;
  assert.equal(laterItem.threadId, secretItem.id);

  const refused = await viewer.call('DELETE', `/admin/api/history/${secretItem.id}`);
  assert.equal(refused.status, 403);
  const noCsrf = await admin.call('DELETE', `/admin/api/history/${secretItem.id}`, undefined, {
    'x-csrf-token': 'wrong',
  });
  assert.equal(noCsrf.status, 403);
  assert.equal((await history(admin, { q: 'quetzalcoatlus' })).items.length, 1, 'refusals change nothing');

  const redacted = await admin.call<FullRecord>('DELETE', `/admin/api/history/${secretItem.id}`);
  assert.equal(redacted.status, 200, redacted.text);
  assert.equal(redacted.body.request, null);
  assert.equal(redacted.body.answerContent, null);
  assert.equal(redacted.body.redactedBy, 'ada');
  assert.ok(redacted.body.redactedAt);
  assert.equal(redacted.body.tokenName, 'leaky', 'the tombstone keeps who and when');
  assert.ok((redacted.body.promptTokens ?? 0) > 0, 'and the counters');

  assert.equal((await history(admin, { q: 'quetzalcoatlus' })).items.length, 0);
  const tombstone = (await history(admin, { token: 'leaky' })).items.find((i) => i.id === secretItem.id);
  assert.ok(tombstone?.redactedAt);
  assert.equal(tombstone.prompt, '');
  const later = await admin.call<FullRecord>('GET', `/admin/api/history/${laterItem.id}`);
  const laterText = JSON.stringify(later.body.request);
  assert.ok(!laterText.includes('quetzalcoatlus'), 'the copy in the next turn is erased too');
  assert.ok(laterText.includes('pterosaurs'), 'the next turn keeps its own words');
  assert.equal((await history(admin, { q: 'pterosaurs' })).items.length, 1);

  const again = await admin.call<FullRecord>('DELETE', `/admin/api/history/${secretItem.id}`);
  assert.equal(again.status, 200, 'redacting twice is harmless');
  assert.equal((await admin.call('DELETE', '/admin/api/history/no-such-record')).status, 404);

  const audit = await admin.call<{
    items: { action: string; targetId: string | null; adminUsername: string | null; outcome: string }[];
  }>('GET', '/admin/api/audit?limit=50');
  const entries = audit.body.items.filter((e) => e.targetId === secretItem.id);
  assert.ok(
    entries.some((e) => e.action === 'history.redact' && e.adminUsername === 'ada' && e.outcome === 'ok'),
  );
  assert.ok(entries.some((e) => e.adminUsername === 'vic' && e.outcome === 'denied'));

  // The background job rewrites the text index without the erased words; nothing is left on disk.
  await server.companion.retention.runOnce();
  for (const file of ['companion.db', 'companion.db-wal']) {
    let bytes: Buffer;
    try {
      bytes = readFileSync(join(server.dataDir, file));
    } catch {
      continue;
    }
    // The index stores words prefix-compressed, so look for a tail of the word as well.
    assert.equal(bytes.includes('quetzalcoatlus'), false, `${file} still holds the word`);
    assert.equal(bytes.includes('zalcoatlus'), false, `${file} still holds part of the word`);
  }
});

test('usage series for the dashboard count requests, errors, tokens and latency per day, model and token', async (t) => {
  const { server } = await setup(t);
  const viewer = await signedIn(server.url, server.companion, 'val', 'viewer');
  const alice = ollamaClient(server, server.token('alice', { models: ['*'] }));
  const bob = ollamaClient(server, server.token('bob', { models: ['qwen3*'] }));
  for (let i = 0; i < 3; i++)
    await alice.chat({ model: 'llama3.2', messages: [{ role: 'user', content: `q${i}` }] });
  await bob.chat({ model: 'qwen3:8b', messages: [{ role: 'user', content: 'hello' }] });
  await assert.rejects(bob.chat({ model: 'llama3.2', messages: [{ role: 'user', content: 'no' }] }));
  await settled(server, 5);

  type Usage = { by: string; since: string; until: string; series: UsagePoint[]; totals: UsagePoint };
  const byDay = await viewer.call<Usage>('GET', '/admin/api/usage?by=day');
  assert.equal(byDay.status, 200, byDay.text);
  assert.equal(byDay.body.by, 'day');
  assert.ok(byDay.body.series.length >= 30, 'one point per day of the default 30 days, zeros included');
  const today = byDay.body.series.at(-1)!;
  assert.equal(today.key, new Date().toISOString().slice(0, 10));
  assert.equal(today.requests, 5);
  assert.equal(today.refused, 1);
  assert.equal(today.errors, 0);
  assert.ok(today.promptTokens > 0 && today.completionTokens > 0);
  assert.ok(today.avgLatencyMs !== null && today.p95LatencyMs !== null);
  assert.deepEqual(byDay.body.totals.requests, 5);

  const byModel = await viewer.call<Usage>('GET', '/admin/api/usage?by=model');
  assert.deepEqual(
    byModel.body.series.map((p) => [p.key, p.requests]),
    [
      ['llama3.2', 4],
      ['qwen3:8b', 1],
    ],
    'busiest first',
  );
  const byToken = await viewer.call<Usage>('GET', '/admin/api/usage?by=token');
  assert.deepEqual(
    byToken.body.series.map((p) => [p.label, p.requests, p.refused]),
    [
      ['alice', 3, 0],
      ['bob', 2, 1],
    ],
  );
  const hour = await viewer.call<Usage>('GET', '/admin/api/usage?by=hour');
  assert.ok([24, 25].includes(hour.body.series.length), 'the clock hours the last 24 hours touch');
  const past = await viewer.call<Usage>(
    'GET',
    `/admin/api/usage?by=day&since=2020-01-01T00:00:00Z&until=2020-01-03T00:00:00Z`,
  );
  assert.deepEqual(
    past.body.series.map((p) => [p.key, p.requests]),
    [
      ['2020-01-01', 0],
      ['2020-01-02', 0],
    ],
  );

  assert.equal((await viewer.call('GET', '/admin/api/usage?by=week')).status, 400);
  assert.equal((await viewer.call('GET', '/admin/api/usage?since=2025-02-01&until=2025-01-01')).status, 400);
  assert.equal(
    (await viewer.call('GET', '/admin/api/usage?by=hour&since=2020-01-01')).status,
    400,
    'too many points',
  );
  const anonymous = await new AdminClient(server.url).call('GET', '/admin/api/usage');
  assert.equal(anonymous.status, 401);
});

test('the history and usage routes are in the OpenAPI description', async (t) => {
  const { server } = await setup(t);
  const doc = (await (await fetch(`${server.url}/admin/api/openapi.json`)).json()) as {
    paths: Record<string, Record<string, { parameters?: { name: string }[] }>>;
  };
  for (const [path, method] of [
    ['/admin/api/history', 'get'],
    ['/admin/api/history/{id}', 'get'],
    ['/admin/api/history/{id}', 'delete'],
    ['/admin/api/history/export', 'get'],
    ['/admin/api/threads/{id}', 'get'],
    ['/admin/api/usage', 'get'],
  ] as const) {
    assert.ok(doc.paths[path]?.[method], `${method.toUpperCase()} ${path} is documented`);
  }
  const params = doc.paths['/admin/api/history']?.get?.parameters?.map((p) => p.name) ?? [];
  for (const name of ['q', 'token', 'model', 'status', 'since', 'until', 'cursor', 'limit']) {
    assert.ok(params.includes(name), `query parameter ${name}`);
  }
});

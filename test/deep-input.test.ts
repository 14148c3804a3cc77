/**
 * History survives any request the proxy accepts: a body nested thousands of levels
 * deep (in `options`, in `prompt`, in a chat message's `content`) is answered, recorded
 * with its over-deep part summarised, and never stops the records of other requests or
 * the saving of usage counters. Over 16 KB, the same body still gets an answer on every
 * way in (the plain route, `/t/<token>/`, a request with an `Origin`).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import Database from 'better-sqlite3';
import { request } from 'undici';
import type { HistoryRecord } from '../src/history/history-record.js';
import { emulatorFor, eventually, ollamaClient, startCompanion } from './support/companion-harness.js';

const nested = (depth: number, inner = '"x"'): string => `${'['.repeat(depth)}${inner}${']'.repeat(depth)}`;

async function setup(t: TestContext) {
  const emulator = await emulatorFor(t);
  const companion = await startCompanion(t, emulator.url, {
    corsOrigins: ['http://localhost:3000'],
  });
  return { emulator, companion };
}

/** The records on disk for a token, read through a second connection as a backup would. */
function recordsOnDisk(dataDir: string, tokenName: string): { outcome: string; request: string | null }[] {
  const db = new Database(join(dataDir, 'companion.db'), { readonly: true });
  try {
    return db
      .prepare(
        'SELECT outcome, request_json AS request FROM history WHERE token_name = ? ORDER BY origin_seq',
      )
      .all(tokenName) as { outcome: string; request: string | null }[];
  } finally {
    db.close();
  }
}

function usageOnDisk(dataDir: string, tokenId: string): number {
  const db = new Database(join(dataDir, 'companion.db'), { readonly: true });
  try {
    const row = db
      .prepare("SELECT calls FROM token_usage WHERE token_id = ? AND window = 'total'")
      .get(tokenId) as { calls: number } | undefined;
    return row?.calls ?? 0;
  } finally {
    db.close();
  }
}

async function post(url: string, body: string, headers: Record<string, string> = {}) {
  const res = await request(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
    headersTimeout: 10_000,
    bodyTimeout: 10_000,
  });
  return { status: res.statusCode, text: await res.body.text() };
}

test('a body nested 5,000 levels deep is answered and recorded summarised; other requests and usage still get written', async (t) => {
  const { companion } = await setup(t);
  const secret = companion.token('deep');
  const other = companion.token('other');
  const auth = { authorization: `Bearer ${secret}` };

  // About 10 KB: under the 16 KB at which request bodies are inspected for large strings.
  const inOptions = `{"model":"llama3.2","prompt":"x","stream":false,"options":{"a":${nested(5000)}}}`;
  assert.ok(inOptions.length > 9_000 && inOptions.length < 16 * 1024);
  const answered = await post(`${companion.url}/api/generate`, inOptions, auth);
  assert.equal(answered.status, 200, answered.text);
  let ran = 1;

  // The same nesting where history reads text: the prompt, and a chat message's content.
  const inPrompt = `{"model":"llama3.2","prompt":${nested(5000)},"stream":false}`;
  const inContent = `{"model":"llama3.2","stream":false,"messages":[{"role":"user","content":${nested(5000)}}]}`;
  for (const [path, body] of [
    ['/api/generate', inPrompt],
    ['/api/chat', inContent],
  ] as const) {
    const res = await post(`${companion.url}${path}`, body, auth);
    // Ollama refuses a prompt or content that is not a string (400), and such a call is given back.
    assert.ok(res.status < 500, `${path}: ${res.status} ${res.text}`);
    if (res.status === 200) ran++;
  }

  // Someone else's ordinary request afterwards is recorded, with the deep ones before it.
  const answer = await ollamaClient(companion, other).generate({ model: 'llama3.2', prompt: 'still there?' });
  assert.equal(answer.response, 'Echo: still there?');
  const others = await eventually(() => {
    const rows = recordsOnDisk(companion.dataDir, 'other');
    return rows.length === 1 && rows[0]!.outcome === 'ok' ? rows : undefined;
  });
  assert.match(others[0]!.request ?? '', /still there\?/);

  const deep = await eventually(() => {
    const rows = recordsOnDisk(companion.dataDir, 'deep');
    return rows.length === 3 && rows.every((r) => r.outcome !== 'in_progress') ? rows : undefined;
  });
  const first = JSON.parse(deep[0]!.request ?? 'null') as {
    prompt: string;
    options: { a: unknown };
  };
  assert.equal(first.prompt, 'x', 'the rest of the request is kept as it was');
  // The over-deep part is summarised, and the record says so where the part was.
  assert.match(JSON.stringify(first.options.a), /nested deeper than \d+ levels/);

  // Usage counters keep being saved: the token's calls that Ollama ran are on disk.
  const tokenId = companion.companion.tokens.get('deep').id;
  await eventually(() => (usageOnDisk(companion.dataDir, tokenId) === ran ? true : undefined));

  // /metrics counts the records stored with parts left out; none was dropped.
  const metrics = await (await request(`${companion.url}/metrics`)).body.text();
  assert.match(metrics, /^companion_history_records_summarised_total 3$/m);
  assert.doesNotMatch(metrics, /^companion_history_records_dropped_total\{/m);
});

test('over 16 KB the deep body is answered on the plain route, under /t/<token>/ and with an Origin, and recorded', async (t) => {
  const { companion } = await setup(t);
  const secret = companion.token('deep-large');
  // 20,000 levels: 40 KB, so the request is searched for large strings to summarise.
  const body = `{"model":"llama3.2","prompt":"x","stream":false,"options":{"a":${nested(20_000)}}}`;
  assert.ok(body.length > 16 * 1024);

  const ways: [string, string, Record<string, string>][] = [
    ['plain route', `${companion.url}/api/generate`, { authorization: `Bearer ${secret}` }],
    ['path token', `${companion.url}/t/${secret}/api/generate`, {}],
    [
      'with an Origin',
      `${companion.url}/api/generate`,
      { authorization: `Bearer ${secret}`, origin: 'http://localhost:3000' },
    ],
  ];
  for (const [way, url, headers] of ways) {
    const res = await post(url, body, headers);
    assert.equal(res.status, 200, `${way}: ${res.status} ${res.text}`);
    assert.equal((JSON.parse(res.text) as { response: string }).response, 'Echo: x', way);
  }
  const rows = await eventually(() => {
    const found = recordsOnDisk(companion.dataDir, 'deep-large');
    return found.length === 3 && found.every((r) => r.outcome === 'ok') ? found : undefined;
  });
  for (const row of rows) assert.match(row.request ?? '', /nested deeper than \d+ levels/);
  const records: HistoryRecord[] = [...companion.companion.historyRepo.iterate({})];
  assert.equal(records.length, 3);
});

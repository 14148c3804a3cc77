import assert from 'node:assert/strict';
import { test } from 'node:test';
import { csvField, exportChunks, exportWriter } from './export-formats.js';
import type { HistoryView } from './history-search.js';

function view(overrides: Partial<HistoryView> = {}): HistoryView {
  return {
    id: 'r1',
    originNode: 'n',
    originSeq: 1,
    servedBy: 'n',
    tokenId: 't1',
    tokenName: 'alice',
    tokenPrefix: 'oc_abc',
    method: 'POST',
    endpoint: '/api/chat',
    model: 'llama3.2',
    stream: true,
    startedAt: Date.UTC(2025, 0, 2, 3, 4, 5),
    historyMode: 'full',
    request: { model: 'llama3.2', messages: [{ role: 'user', content: 'Why is the sky blue?' }] },
    clientAddr: '127.0.0.1',
    userAgent: 'test',
    outcome: 'ok',
    finishedAt: Date.UTC(2025, 0, 2, 3, 4, 6),
    ttftMs: 12.34,
    durationMs: 999.96,
    status: 200,
    error: null,
    answerContent: 'Rayleigh scattering.',
    answerThinking: null,
    answerToolCalls: null,
    answerSummary: null,
    doneReason: 'stop',
    promptTokens: 7,
    completionTokens: 3,
    totalNs: 1,
    loadNs: 1,
    promptEvalNs: 1,
    evalNs: 1,
    threadId: 'r1',
    parentId: null,
    redactedAt: null,
    redactedBy: null,
    ...overrides,
  };
}

test('CSV fields are quoted only when needed, quotes doubled, formulas defused', () => {
  assert.equal(csvField('plain'), 'plain');
  assert.equal(csvField('a,b'), '"a,b"');
  assert.equal(csvField('say "hi"'), '"say ""hi"""');
  assert.equal(csvField('two\nlines'), '"two\nlines"');
  assert.equal(csvField('=1+1'), "'=1+1");
  assert.equal(csvField('-5'), "'-5");
  assert.equal(csvField('@SUM(A1)'), "'@SUM(A1)");
  assert.equal(csvField('+1'), "'+1");
  assert.equal(csvField('=HYPERLINK("x")'), `"'=HYPERLINK(""x"")"`, 'defused, then quoted');
  assert.equal(csvField(-5), '-5', 'a number stays a number');
  assert.equal(csvField(null), '');
  assert.equal(csvField(42), '42');
});

test('a CSV row has every column, in the header order', () => {
  const writer = exportWriter('csv');
  const header = writer.head().trimEnd().split(',');
  const row = writer.record(view()).trimEnd();
  assert.equal(row.split(',').length, header.length);
  assert.ok(
    row.startsWith(
      'r1,2025-01-02T03:04:05.000Z,2025-01-02T03:04:06.000Z,alice,oc_abc,t1,/api/chat,llama3.2,200,ok,1000,12.3,7,3,r1,,,',
    ),
  );
  assert.ok(row.endsWith('Why is the sky blue?,Rayleigh scattering.,'));
});

test('Markdown shows each exchange as a section with its turn, answer, thinking and tool calls', () => {
  const text = exportWriter('markdown').record(
    view({
      answerThinking: 'Think\nharder',
      answerToolCalls: [{ function: { name: 'f', arguments: { a: '```' } } }],
    }),
  );
  assert.match(text, /^## 2025-01-02 03:04:05 UTC · llama3\.2 · \/api\/chat\n\n/);
  assert.match(
    text,
    /token \*\*alice\*\* · status 200 ok · 1000 ms · first token after 12 ms · 7 prompt \+ 3 completion tokens · id `r1`/,
  );
  assert.match(
    text,
    /### User\n\nWhy is the sky blue\?\n\n### Assistant \(thinking\)\n\n> Think\n> harder\n\n### Assistant\n\nRayleigh scattering\.\n/,
  );
  assert.match(text, /### Tool calls\n\n````json\n/, 'the fence is longer than any backtick run inside');
  assert.ok(text.endsWith('\n---\n\n'));
});

test('Markdown says when content was redacted or not kept', () => {
  const redacted = exportWriter('markdown').record(
    view({ request: null, answerContent: null, redactedAt: Date.UTC(2025, 1, 1), redactedBy: 'ada' }),
  );
  assert.match(redacted, /\*Content redacted on 2025-02-01T00:00:00\.000Z by ada\.\*/);
  assert.doesNotMatch(redacted, /### User/);
  const metadata = exportWriter('markdown').record(
    view({ historyMode: 'metadata', request: null, answerContent: null }),
  );
  assert.match(metadata, /\*Content not kept \(history mode: metadata\)\.\*/);
});

test('JSON Lines hold one record per line, with ISO times', async () => {
  const chunks: string[] = [];
  for await (const chunk of exportChunks('jsonl', [view(), view({ id: 'r2' })])) chunks.push(chunk);
  assert.equal(chunks.length, 2, 'one piece per record: nothing is gathered');
  const parsed = chunks.map((line) => JSON.parse(line));
  assert.deepEqual(
    parsed.map((r) => [r.id, r.startedAt, r.answerContent]),
    [
      ['r1', '2025-01-02T03:04:05.000Z', 'Rayleigh scattering.'],
      ['r2', '2025-01-02T03:04:05.000Z', 'Rayleigh scattering.'],
    ],
  );
});

test('Markdown names the conversation and the exchange continued; the text depends only on the records', async () => {
  const text = exportWriter('markdown').record(view({ id: 'r2', threadId: 'r1', parentId: 'r1' }));
  assert.match(text, / · id `r2` · thread `r1` · continues `r1`\n/);
  const once = async () => {
    let out = '';
    for await (const chunk of exportChunks('markdown', [view()])) out += chunk;
    return out;
  };
  const first = await once();
  await new Promise((resolve) => setTimeout(resolve, 5));
  assert.equal(await once(), first, 'no export time in the text');
  assert.ok(first.startsWith('# Ollama Companion history\n\n## 2025-01-02 03:04:05 UTC'));
});

test('CSV has the conversation and redaction columns', () => {
  const writer = exportWriter('csv');
  const header = writer.head().trimEnd().split(',');
  const row = writer.record(
    view({ id: 'r2', threadId: 'r1', parentId: 'r1', redactedAt: Date.UTC(2025, 1, 1) }),
  );
  const cells = row.trimEnd().split(',');
  const cell = (name: string) => cells[header.indexOf(name)];
  assert.equal(cell('thread_id'), 'r1');
  assert.equal(cell('parent_id'), 'r1');
  assert.equal(cell('redacted_at'), '2025-02-01T00:00:00.000Z');
});

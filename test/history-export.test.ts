/**
 * Exporting history as an admin does: JSON Lines, CSV and Markdown downloads of what
 * went through the companion (filters apply, quoting survives spreadsheets), and an
 * export of 100,000 records that streams over HTTP without the server holding it in
 * memory.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { type TestContext, test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Ollama } from 'ollama';
import { request } from 'undici';
import type { HistoryEnd, HistoryStart } from '../src/history/history-record.js';
import { type AdminClient, signedIn } from './support/admin-client.js';
import { emulatorFor, eventually, startCompanion, type TestCompanion } from './support/companion-harness.js';

/** RFC 4180: fields separated by commas, quoted fields may hold commas, quotes ("") and line breaks. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"' && field === '') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      i++;
    } else field += c;
  }
  if (field !== '' || row.length > 0) rows.push([...row, field]);
  return rows;
}

async function setup(t: TestContext): Promise<{ server: TestCompanion; admin: AdminClient }> {
  const emulator = await emulatorFor(t, { chunks: 2 });
  const server = await startCompanion(t, emulator.url);
  const admin = await signedIn(server.url, server.companion, 'eve', 'viewer');
  return { server, admin };
}

/** Downloads an export as a browser would, with the session cookie; the body as text. */
async function download(server: TestCompanion, admin: AdminClient, query: string) {
  const res = await request(`${server.url}/admin/api/history/export?${query}`, {
    headers: { cookie: `oc_admin=${admin.cookie}` },
  });
  return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
}

async function settled(server: TestCompanion, count: number): Promise<void> {
  await eventually(() => {
    void server.companion.history.flush();
    const { records } = server.companion.historySearch.search({}, { limit: 1000 });
    return records.length === count && records.every((r) => r.outcome !== 'in_progress') ? true : undefined;
  });
}

const TRICKY = 'Total, "net" and gross\nsecond line';
const FORMULA = '=HYPERLINK("http://evil.example","click")';

test('exports are JSON Lines, RFC 4180 CSV or Markdown, oldest first, filtered like the list', async (t) => {
  const { server, admin } = await setup(t);
  const ollama = new Ollama({
    host: server.url,
    headers: { Authorization: `Bearer ${server.token('exporter', { models: ['*'] })}` },
  });
  for (const content of ['first plain question', TRICKY, FORMULA]) {
    await ollama.chat({ model: 'llama3.2', messages: [{ role: 'user', content }], stream: false });
  }
  const other = new Ollama({
    host: server.url,
    headers: { Authorization: `Bearer ${server.token('someone-else', { models: ['*'] })}` },
  });
  await other.generate({ model: 'llama3.2', prompt: 'not in the filtered export', stream: false });
  await settled(server, 4);

  const jsonl = await download(server, admin, 'format=jsonl&token=exporter');
  assert.equal(jsonl.status, 200);
  assert.equal(jsonl.headers['content-type'], 'application/x-ndjson; charset=utf-8');
  assert.match(
    String(jsonl.headers['content-disposition']),
    /^attachment; filename="history-[\d-]+\.jsonl"$/,
  );
  const lines = jsonl.text
    .trimEnd()
    .split('\n')
    .map((line) => JSON.parse(line));
  assert.equal(lines.length, 3);
  assert.deepEqual(
    lines.map((r) => r.request.messages[0].content),
    ['first plain question', TRICKY, FORMULA],
    'oldest first, requests whole',
  );
  assert.deepEqual(
    lines.map((r) => r.answerContent),
    ['Echo: first plain question', `Echo: ${TRICKY}`, `Echo: ${FORMULA}`],
  );
  assert.ok(lines.every((r) => r.tokenName === 'exporter' && typeof r.startedAt === 'string'));

  const csv = await download(server, admin, 'format=csv&token=exporter');
  assert.equal(csv.status, 200);
  assert.equal(csv.headers['content-type'], 'text/csv; charset=utf-8');
  const rows = parseCsv(csv.text);
  const header = rows[0]!;
  assert.equal(rows.length, 4, 'a header and one row per exchange, line breaks inside fields kept');
  assert.ok(
    rows.every((row) => row.length === header.length),
    'every row has every column',
  );
  const column = (name: string) => rows.slice(1).map((row) => row[header.indexOf(name)]);
  assert.deepEqual(column('prompt'), ['first plain question', TRICKY, `'${FORMULA}`]);
  assert.deepEqual(column('answer')[1], `Echo: ${TRICKY}`);
  assert.deepEqual(column('token_name'), ['exporter', 'exporter', 'exporter']);
  assert.deepEqual(column('status'), ['200', '200', '200']);
  assert.ok(
    csv.text.includes('"Total, ""net"" and gross\nsecond line"'),
    'quotes doubled inside a quoted field',
  );

  const md = await download(server, admin, 'format=markdown&q=plain');
  assert.equal(md.status, 200);
  assert.equal(md.headers['content-type'], 'text/markdown; charset=utf-8');
  assert.match(md.text, /^# Ollama Companion history\n/);
  const sections = md.text.split('\n## ').slice(1);
  assert.equal(sections.length, 1, 'the search filter applies');
  assert.match(sections[0]!, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC · llama3\.2 · \/api\/chat\n/);
  assert.match(sections[0]!, /token \*\*exporter\*\* · status 200 ok/);
  assert.match(sections[0]!, /\n### User\n\nfirst plain question\n/);
  assert.match(sections[0]!, /\n### Assistant\n\nEcho: first plain question\n/);

  const all = await download(server, admin, 'format=markdown');
  assert.equal(all.text.split('\n## ').length - 1, 4);
  assert.match(
    all.text,
    /### User\n\nnot in the filtered export\n/,
    'a generate prompt is shown as the user turn',
  );

  const bad = await download(server, admin, 'format=xlsx');
  assert.equal(bad.status, 400);
  const anonymous = await request(`${server.url}/admin/api/history/export?format=jsonl`);
  assert.equal(anonymous.statusCode, 401);
  await anonymous.body.dump();
});

const RECORDS = 100_000;
const PADDING = 'lorem ipsum dolor sit amet '.repeat(30); // kept out of the text index

function bulkRecord(i: number, t0: number): { start: HistoryStart; end: HistoryEnd; startWritten: false } {
  const startedAt = t0 + i * 1000;
  return {
    startWritten: false,
    start: {
      id: randomUUID(),
      servedBy: 'bench',
      tokenId: 'bulk-token',
      tokenName: 'bulk',
      tokenPrefix: 'oc_bulk',
      method: 'POST',
      endpoint: '/api/generate',
      model: 'llama3.2',
      stream: false,
      startedAt,
      historyMode: 'full',
      request: { model: 'llama3.2', prompt: `question ${i}`, options: { note: PADDING } },
      clientAddr: '127.0.0.1',
      userAgent: 'bulk',
    },
    end: {
      finishedAt: startedAt + 40,
      ttftMs: 5,
      durationMs: 40,
      status: 200,
      outcome: 'ok',
      error: null,
      answerContent: `answer ${i}`,
      answerThinking: null,
      answerToolCalls: null,
      answerSummary: null,
      doneReason: 'stop',
      promptTokens: 10,
      completionTokens: 20,
      totalNs: 40_000_000,
      loadNs: 1,
      promptEvalNs: 1,
      evalNs: 1,
    },
  };
}

test('an export of 100,000 records streams over HTTP while the server holds only a little of it', async (t) => {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const { server, admin } = await setup(t);
  const t0 = Date.now() - RECORDS * 1000;
  // One transaction, built ten thousand records at a time to keep the test itself small.
  const { db, historyRepo } = server.companion;
  db.transaction(() => {
    for (let from = 0; from < RECORDS; from += 10_000) {
      const finished = Array.from({ length: 10_000 }, (_, i) => bulkRecord(from + i, t0));
      historyRepo.writeBatch({ started: [], finished });
    }
  })();

  const memory = () => {
    gc();
    const m = process.memoryUsage();
    return m.heapUsed + m.arrayBuffers;
  };
  const baseline = memory();
  const res = await request(`${server.url}/admin/api/history/export?format=jsonl`, {
    headers: { cookie: `oc_admin=${admin.cookie}` },
  });
  assert.equal(res.statusCode, 200);

  let bytes = 0;
  let lines = 0;
  let chunks = 0;
  let peak = 0;
  let first = '';
  let tail = '';
  for await (const chunk of res.body as AsyncIterable<Buffer>) {
    bytes += chunk.length;
    for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) lines++;
    if (first.length < 4096) first += chunk.toString('utf8', 0, Math.min(chunk.length, 4096));
    tail = (tail + chunk.toString('utf8')).slice(-8192);
    // A slow reader: pause now and then so the server runs into backpressure.
    if (++chunks % 200 === 0) {
      await new Promise((resolve) => setTimeout(resolve, 1));
      peak = Math.max(peak, memory() - baseline);
    }
  }
  assert.equal(lines, RECORDS, 'every record, one per line');
  assert.ok(bytes > 100 * 1024 * 1024, `the export is large (${bytes} bytes)`);
  assert.equal(JSON.parse(first.slice(0, first.indexOf('\n'))).request.prompt, 'question 0', 'oldest first');
  const lastLine = tail.trimEnd().split('\n').pop()!;
  assert.equal(JSON.parse(lastLine).answerContent, `answer ${RECORDS - 1}`);
  t.diagnostic(
    `${Math.round(bytes / 1024 / 1024)} MB exported; memory grew by at most ${Math.round(peak / 1024 / 1024)} MB`,
  );
  // Holding the export would take over 100 MB; streaming keeps the growth to a few pages.
  assert.ok(peak < 32 * 1024 * 1024, `memory grew by ${Math.round(peak / 1024 / 1024)} MB while streaming`);
});

/**
 * Exporting history as an admin does: JSON Lines, CSV and Markdown downloads of what
 * went through the companion (filters apply, quoting survives spreadsheets), and an
 * export of 100,000 records that streams over HTTP without the server holding it in
 * memory; the command line writes the same bytes as the API for the same filters.
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
import {
  emulatorFor,
  eventually,
  ollamaClient,
  runCli,
  startCompanion,
  type TestCompanion,
} from './support/companion-harness.js';
import { defaultModels } from './support/ollama-emulator.js';

/**
 * RFC 4180, strictly: records end in CRLF (the last one too), a field is either bare
 * (no quote, comma, CR or LF in it) or quoted (a quote inside doubled), and a closing
 * quote is followed by a comma or the end of the record. Anything else throws, so a
 * sloppy export fails here even where a forgiving spreadsheet would guess.
 */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  if (!text.endsWith('\r\n')) throw new Error('the last record does not end in CRLF');
  let i = 0;
  while (i < text.length) {
    const row: string[] = [];
    for (;;) {
      let field = '';
      if (text[i] === '"') {
        for (i++; ; i++) {
          if (i >= text.length) throw new Error('a quoted field is never closed');
          if (text[i] !== '"') field += text[i];
          else if (text[i + 1] === '"') {
            field += '"';
            i++;
          } else break;
        }
        i++;
      } else {
        for (; i < text.length && text[i] !== ',' && text[i] !== '\r'; i++) {
          if (text[i] === '"' || text[i] === '\n')
            throw new Error(`${JSON.stringify(text[i])} in a bare field at ${i}`);
          field += text[i];
        }
      }
      row.push(field);
      if (text[i] === ',') i++;
      else if (text[i] === '\r' && text[i + 1] === '\n') {
        i += 2;
        break;
      } else throw new Error(`${JSON.stringify(text[i])} after a field at ${i}`);
    }
    rows.push(row);
  }
  const width = rows[0]?.length;
  rows.forEach((row, n) => {
    if (row.length !== width) throw new Error(`record ${n} has ${row.length} fields, the header ${width}`);
  });
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
  await eventually(async () => {
    void server.companion.history.flush();
    const { records } = await server.companion.historyReads.search.search({}, { limit: 1000 });
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

/** Runs `history export` on the server's data dir; its stdout, after checking it succeeded. */
async function cliExport(server: TestCompanion, args: string[]): Promise<string> {
  const result = await runCli(['history', 'export', ...args, '--data-dir', server.dataDir]);
  assert.equal(result.code, 0, `history export ${args.join(' ')}: ${result.stderr}`);
  assert.equal(result.stderr, '');
  return result.stdout;
}

const ODD_CELLS = ['+SUM(A1:A9)', '-2+3', '@cmd', 'tab\tinside, and a \r\n Windows break'];

test('the CLI and the admin API export the same bytes, in every format and with every filter', async (t) => {
  const emulator = await emulatorFor(t, { chunks: 2, models: [...defaultModels(), { name: 'gemma3:1b' }] });
  const server = await startCompanion(t, emulator.url);
  const admin = await signedIn(server.url, server.companion, 'abe', 'admin');
  const ollama = ollamaClient(server, server.token('exporter', { models: ['*'] }));
  const first = [{ role: 'user' as const, content: TRICKY }];
  const reply = await ollama.chat({ model: 'llama3.2', messages: first, stream: false });
  await ollama.chat({
    model: 'llama3.2',
    messages: [...first, reply.message, { role: 'user', content: 'and a plain follow-up' }],
    stream: false,
  });
  await ollama.generate({ model: 'gemma3:1b', prompt: FORMULA, stream: false });
  for (const prompt of ODD_CELLS) await ollama.generate({ model: 'llama3.2:latest', prompt, stream: false });
  await ollamaClient(server, server.token('other', { models: ['*'] })).chat({
    model: 'qwen3:8b',
    messages: [{ role: 'user', content: 'a secret to erase' }],
    stream: false,
  });
  await settled(server, 8);
  const { records } = await server.companion.historyReads.search.search({}, { order: 'asc', limit: 100 });
  const erased = records.find((r) => r.tokenName === 'other')!;
  assert.equal((await admin.call('DELETE', `/admin/api/history/${erased.id}`)).status, 200);

  // The same filters, as the API's query and as the CLI's flags.
  const middle = records[3]!.startedAt;
  const filters: [Record<string, string>, string[]][] = [
    [{}, []],
    [{ token: 'exporter', model: 'llama3.*' }, ['--token', 'exporter', '--model', 'llama3.*']],
    [{ q: 'plain' }, ['--search', 'plain']],
    [
      { since: new Date(middle).toISOString(), until: new Date(erased.startedAt).toISOString() },
      ['--since', new Date(middle).toISOString(), '--until', new Date(erased.startedAt).toISOString()],
    ],
    [
      { endpoint: '/api/generate', status: 'ok', model: '*:1b' },
      ['--endpoint', '/api/generate', '--status', 'ok', '--model', '*:1b'],
    ],
  ];
  const exported: Record<string, string> = {};
  for (const format of ['jsonl', 'csv', 'markdown']) {
    for (const [query, flags] of filters) {
      const api = await download(server, admin, new URLSearchParams({ format, ...query }).toString());
      assert.equal(api.status, 200, api.text);
      const cli = await cliExport(server, ['--format', format, ...flags]);
      assert.equal(cli, api.text, `${format} ${flags.join(' ')}: the CLI writes what the API sends`);
      exported[`${format} ${flags.join(' ')}`] = cli;
    }
  }
  const count = (format: string, flags: string) => {
    const text = exported[`${format} ${flags}`]!;
    if (format === 'jsonl') return text.split('\n').length - 1;
    if (format === 'csv') return parseCsv(text).length - 1;
    return text.split('\n## ').length - 1;
  };
  for (const format of ['jsonl', 'csv', 'markdown']) {
    assert.deepEqual(
      filters.map(([, flags]) => count(format, flags.join(' '))),
      [8, 6, 1, 4, 1],
      `${format}: each filter keeps its records`,
    );
  }

  // JSON Lines: every field, times in ISO 8601, the conversation and redaction fields.
  const lines = exported['jsonl ']!.trimEnd()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
  for (const line of lines) {
    for (const field of ['threadId', 'parentId', 'redactedAt', 'redactedBy'])
      assert.ok(field in line, `${field} is in every record`);
    assert.match(String(line.startedAt), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  }
  assert.equal(lines[1]!.parentId, lines[0]!.id, 'the follow-up continues the first exchange');
  assert.equal(lines[1]!.threadId, lines[0]!.id);
  assert.match(String(lines[7]!.redactedAt), /^\d{4}-/);
  assert.equal(lines[7]!.request, null, 'a redacted record has no content');

  // CSV: a strict parse gives every prompt and answer back; formulas are defused.
  const rows = parseCsv(exported['csv ']!);
  const header = rows[0]!;
  const column = (name: string) => {
    assert.ok(header.includes(name), `column ${name}`);
    return rows.slice(1).map((row) => row[header.indexOf(name)]);
  };
  assert.deepEqual(column('prompt'), [
    TRICKY,
    'and a plain follow-up',
    `'${FORMULA}`,
    ...ODD_CELLS.map((cell) => (/^[-+@]/.test(cell) ? `'${cell}` : cell)),
    '',
  ]);
  assert.deepEqual(column('answer').slice(0, 2), [`Echo: ${TRICKY}`, 'Echo: and a plain follow-up']);
  assert.deepEqual(column('thread_id').slice(0, 2), [lines[0]!.id, lines[0]!.id]);
  assert.deepEqual(column('parent_id').slice(0, 2), ['', lines[0]!.id]);
  assert.deepEqual(
    column('redacted_at').map((at) => at !== ''),
    [false, false, false, false, false, false, false, true],
  );
  assert.deepEqual(column('model'), [
    'llama3.2',
    'llama3.2',
    'gemma3:1b',
    'llama3.2:latest',
    'llama3.2:latest',
    'llama3.2:latest',
    'llama3.2:latest',
    'qwen3:8b',
  ]);

  // Markdown: each exchange with what was asked and what came back.
  const sections = exported['markdown ']!.split('\n## ').slice(1);
  assert.match(sections[0]!, new RegExp(`### User\n\n${TRICKY}\n\n### Assistant\n\nEcho: ${TRICKY}\n`));
  assert.match(
    sections[1]!,
    /### User\n\nand a plain follow-up\n\n### Assistant\n\nEcho: and a plain follow-up\n/,
  );
  assert.ok(sections[1]!.includes(`continues \`${lines[0]!.id}\``), 'the parent is named');
  assert.ok(sections[1]!.includes(`thread \`${lines[0]!.id}\``), 'the thread is named');
  assert.match(sections[7]!, /\*Content redacted on \d{4}-\d\d-\d\dT[\d:.]+Z by abe\.\*/);
  assert.doesNotMatch(sections[7]!, /a secret to erase/);
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

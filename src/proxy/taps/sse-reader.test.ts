import assert from 'node:assert/strict';
import { test } from 'node:test';
import { framingOf, type ValueSink } from './framing.js';
import { LineSplitter } from './line-splitter.js';
import { SseReader } from './sse-reader.js';
import { chunkings } from './tap-feeding.test-helper.js';

interface Recorded {
  values: [string | null, unknown][];
  problems: string[];
}

function readSse(text: string): Recorded {
  let first: Recorded | undefined;
  for (const { name, chunks } of chunkings(Buffer.from(text, 'utf8'))) {
    const got: Recorded = { values: [], problems: [] };
    const sink: ValueSink = {
      value: (value, event) => got.values.push([event, value]),
      problem: (detail) => got.problems.push(detail),
      notJson: () => assert.fail('SSE has no whole-body text'),
    };
    const reader = new SseReader(sink, 1024);
    for (const chunk of chunks) reader.push(chunk);
    reader.end();
    if (first === undefined) first = got;
    else assert.deepEqual(got, first, `chunking "${name}"`);
  }
  assert.ok(first !== undefined);
  return first;
}

test('event names, multi-line data, comments, [DONE], and fields without a space', () => {
  const text = [
    ': keep-alive comment',
    'event: message_start',
    'data: {"a":',
    'data: 1}',
    '',
    'id: 7',
    'retry: 1000',
    'data:{"b":"ü"}',
    '',
    'event: ignored-without-data',
    '',
    'data: [DONE]',
    '',
  ].join('\n');
  assert.deepEqual(readSse(text), {
    values: [
      ['message_start', { a: 1 }],
      [null, { b: 'ü' }],
    ],
    problems: [],
  });
});

test('CRLF, lone CR and LF line endings all work, even mixed and split between chunks', () => {
  const text = 'event: x\r\ndata: {"n":1}\r\n\r\ndata: {"n":2}\r\rdata: {"n":3}\n\ndata: {"n":4}\r\n\r\n';
  assert.deepEqual(readSse(text).values, [
    ['x', { n: 1 }],
    [null, { n: 2 }],
    [null, { n: 3 }],
    [null, { n: 4 }],
  ]);
});

test('a byte-order mark is skipped; a last event without its blank line still counts', () => {
  assert.deepEqual(readSse('\uFEFFdata: {"ok":true}\n\ndata: {"last":1}').values, [
    [null, { ok: true }],
    [null, { last: 1 }],
  ]);
});

test('malformed data and over-long events are reported, and reading goes on', () => {
  const long = `data: "${'x'.repeat(2000)}"\n\n`;
  const got = readSse(`data: {nope\n\n${long}data: {"after":1}\n\n`);
  assert.deepEqual(got.values, [[null, { after: 1 }]]);
  assert.equal(got.problems.length, 2);
  assert.match(got.problems[0] ?? '', /malformed/);
  assert.match(got.problems[1] ?? '', /longer than|larger than/);
});

test('framing follows the content type', () => {
  assert.equal(framingOf('text/event-stream; charset=utf-8'), 'sse');
  assert.equal(framingOf('application/x-ndjson'), 'ndjson');
  assert.equal(framingOf('Application/X-NDJSON'), 'ndjson');
  assert.equal(framingOf('application/json; charset=utf-8'), 'json');
  assert.equal(framingOf(undefined), 'json');
  assert.equal(framingOf('text/plain'), 'json');
});

test('the line splitter joins a line spanning many chunks and drops only the over-long one', () => {
  const lines: [string, boolean][] = [];
  let overflows = 0;
  const splitter = new LineSplitter({
    crEndsLine: false,
    maxLine: 10,
    onLine: (line, terminated) => lines.push([line, terminated]),
    onOverflow: () => overflows++,
  });
  for (const piece of ['ab', 'c', 'd\r\n0123456', '789abc', 'def\nxy', 'z\n\nta', 'il'])
    splitter.push(Buffer.from(piece));
  splitter.end();
  assert.deepEqual(lines, [
    ['abcd', true],
    ['xyz', true],
    ['', true],
    ['tail', false],
  ]);
  assert.equal(overflows, 1);
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WholeFrames } from './whole-frames.js';

function feed(frames: WholeFrames, parts: string[]): string[] {
  return parts.map((p) => frames.take(Buffer.from(p))?.toString() ?? '');
}

test('NDJSON chunks that end a line pass as they are; a split line waits for its end', () => {
  const frames = new WholeFrames('ndjson');
  const chunk = Buffer.from('{"a":1}\n');
  assert.equal(frames.take(chunk), chunk, 'the same buffer, not a copy');
  assert.deepEqual(feed(frames, ['{"b":2}\n{"c', '":3', '}\n']), ['{"b":2}\n', '', '{"c":3}\n']);
  assert.equal(frames.rest(), undefined);
  assert.equal(frames.closing(), '');
});

test('after a cut the half line is dropped and the error starts a line of its own', () => {
  const frames = new WholeFrames('ndjson');
  assert.deepEqual(feed(frames, ['{"a":1}\n{"mod']), ['{"a":1}\n']);
  assert.equal(frames.closing(), '', 'what was sent ends on a line break');
  assert.equal(frames.rest(), undefined, 'closing drops the held part');
});

test('SSE waits for the blank line that ends an event, in any of its spellings', () => {
  const frames = new WholeFrames('sse');
  assert.deepEqual(feed(frames, ['data: 1\n\ndata: 2\n', '\ndata: 3\n']), ['data: 1\n\n', 'data: 2\n\n']);
  assert.deepEqual(feed(frames, ['\n']), ['data: 3\n\n']);
  assert.deepEqual(feed(frames, ['event: x\r\ndata: 4\r\n', '\r\n']), ['', 'event: x\r\ndata: 4\r\n\r\n']);
  assert.equal(frames.closing(), '');
});

test('a frame longer than the limit is let through, and closing then ends it first', () => {
  const ndjson = new WholeFrames('ndjson', 8);
  assert.deepEqual(feed(ndjson, ['{"a":"0123456789']), ['{"a":"0123456789']);
  assert.equal(ndjson.closing(), '\n');
  const sse = new WholeFrames('sse', 8);
  assert.deepEqual(feed(sse, ['data: 0123456789']), ['data: 0123456789']);
  assert.equal(sse.closing(), '\n\n');
});

test('an unterminated last frame of a stream that ended normally is sent as it is', () => {
  const frames = new WholeFrames('ndjson');
  assert.deepEqual(feed(frames, ['{"a":1}\n{"done":true}']), ['{"a":1}\n']);
  assert.equal(frames.rest()?.toString(), '{"done":true}');
});

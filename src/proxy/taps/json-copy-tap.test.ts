import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createAnswerTap } from './answer-tap.js';
import { assemble, feed, ndjson } from './tap-feeding.test-helper.js';

const JSON_TYPE = 'application/json; charset=utf-8';

test('a small JSON body is kept parsed', () => {
  const tags = {
    models: [
      {
        name: 'llama3.2:latest',
        model: 'llama3.2:latest',
        modified_at: '2025-05-04T17:37:44.706015396-07:00',
        size: 2_019_393_189,
        digest: 'a80c4f17acd55265feec403c7aef86be0c25983ab279d83f3bcd3abbcb5b8b72',
        details: { format: 'gguf', family: 'llama', parameter_size: '3.2B', quantization_level: 'Q4_K_M' },
      },
    ],
  };
  const answer = assemble('json', JSON_TYPE, 200, JSON.stringify(tags));
  assert.deepEqual(answer.summary, tags);
  assert.equal(answer.error, null);
  assert.equal(answer.content, '');
});

test('a body over 64 KiB is recorded as its size only', () => {
  const big = JSON.stringify({ license: 'é'.repeat(70_000) });
  const answer = feed(createAnswerTap('json', JSON_TYPE, 200), [Buffer.from(big)]);
  assert.deepEqual(answer.summary, { truncated: true, bytes: Buffer.byteLength(big) });
  assert.equal(answer.error, null);
});

test('plain text and empty bodies (GET /, HEAD /)', () => {
  assert.equal(
    assemble('json', 'text/plain; charset=utf-8', 200, 'Ollama is running').summary,
    'Ollama is running',
  );
  assert.equal(assemble('json', undefined, 200, '').summary, null);
});

test('pull progress (NDJSON): small streams kept whole, long ones as count and last status', () => {
  const NDJSON = 'application/x-ndjson';
  const small = ndjson(
    { status: 'pulling manifest' },
    { status: 'pulling dde5aa3fc5ff', digest: 'sha256:dde5aa3f', total: 2_019_377_376, completed: 1_024 },
    { status: 'success' },
  );
  assert.deepEqual(assemble('json', NDJSON, 200, small).summary, [
    { status: 'pulling manifest' },
    { status: 'pulling dde5aa3fc5ff', digest: 'sha256:dde5aa3f', total: 2_019_377_376, completed: 1_024 },
    { status: 'success' },
  ]);

  const progress = Array.from({ length: 2_000 }, (_, i) => ({
    status: 'pulling dde5aa3fc5ff',
    digest: 'sha256:dde5aa3fc5ffc17176b5e8bdc82f587b24b2678c6c66101bf7da77af9f7ccdff',
    total: 2_019_377_376,
    completed: i * 1_000_000,
  }));
  const long = ndjson(
    { status: 'pulling manifest' },
    ...progress,
    { status: 'verifying sha256 digest' },
    { status: 'success' },
  );
  const answer = feed(createAnswerTap('json', NDJSON, 200), [Buffer.from(long)]);
  assert.deepEqual(answer.summary, {
    truncated: true,
    bytes: Buffer.byteLength(long),
    lines: progress.length + 3,
    last: { status: 'success' },
  });
  assert.equal(answer.error, null);
});

test('a pull that fails mid-stream records the error line', () => {
  const body = ndjson({ status: 'pulling manifest' }, { error: 'pull model manifest: file does not exist' });
  const answer = assemble('json', 'application/x-ndjson', 200, body);
  assert.equal(answer.error, 'pull model manifest: file does not exist');
});

test('error statuses: JSON error body, text body, empty body', () => {
  const a = assemble('json', JSON_TYPE, 404, '{"error":"model \'x\' not found"}');
  assert.equal(a.error, "model 'x' not found");
  assert.deepEqual(a.summary, { error: "model 'x' not found" });
  assert.equal(
    assemble('json', 'text/plain', 405, 'Method Not Allowed').error,
    'HTTP 405: Method Not Allowed',
  );
  assert.equal(assemble('json', undefined, 500, '').error, 'HTTP 500');
});

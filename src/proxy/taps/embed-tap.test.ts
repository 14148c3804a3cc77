import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createAnswerTap } from './answer-tap.js';
import { assemble, feed } from './tap-feeding.test-helper.js';

const JSON_TYPE = 'application/json; charset=utf-8';

test('/api/embed: counts vectors and width, reads counters, keeps no vectors', () => {
  const body = JSON.stringify({
    model: 'all-minilm',
    embeddings: [
      [0.010071029, -0.0017594862, 0.05007221, 0.04692972],
      [-0.009802706, 0.060424678, 0.025257745, -0.0063859066],
      [1e-7, -2.5e-3, 0, 1],
    ],
    total_duration: 14_143_917,
    load_duration: 1_019_500,
    prompt_eval_count: 8,
  });
  const answer = assemble('ollama-embed', JSON_TYPE, 200, body);
  assert.deepEqual(answer.summary, { count: 3, dimensions: 4 });
  assert.equal(answer.promptTokens, 8);
  assert.equal(answer.timings.totalNs, 14_143_917);
  assert.equal(answer.timings.loadNs, 1_019_500);
  assert.equal(answer.content, '');
  assert.equal(answer.error, null);
});

test('/api/embed pretty-printed, and the legacy /api/embeddings shape', () => {
  const pretty = JSON.stringify(
    {
      model: 'm',
      embeddings: [
        [1, 2, 3],
        [4, 5, 6],
      ],
      prompt_eval_count: 2,
    },
    null,
    2,
  );
  assert.deepEqual(assemble('ollama-embed', JSON_TYPE, 200, pretty).summary, { count: 2, dimensions: 3 });
  const legacy = JSON.stringify({
    embedding: [0.5670403838157654, 0.009260174818336964, 0.23178744316101074],
  });
  assert.deepEqual(assemble('ollama-embed', JSON_TYPE, 200, legacy).summary, { count: 1, dimensions: 3 });
});

test('/v1/embeddings with float vectors and with base64 vectors', () => {
  const floats = JSON.stringify({
    object: 'list',
    data: [
      { object: 'embedding', embedding: [0.1, 0.2, 0.3, 0.4, 0.5], index: 0 },
      { object: 'embedding', embedding: [0.6, 0.7, 0.8, 0.9, 1.0], index: 1 },
    ],
    model: 'nomic-embed-text',
    usage: { prompt_tokens: 11, total_tokens: 11 },
  });
  const a = assemble('openai-embed', JSON_TYPE, 200, floats);
  assert.deepEqual(a.summary, { count: 2, dimensions: 5 });
  assert.equal(a.promptTokens, 11);

  const vector = (n: number) =>
    Buffer.from(new Float32Array(Array.from({ length: n }, (_, i) => i / 7)).buffer);
  const base64 = JSON.stringify({
    object: 'list',
    data: [0, 1, 2].map((index) => ({ object: 'embedding', embedding: vector(5).toString('base64'), index })),
    model: 'nomic-embed-text',
    usage: { prompt_tokens: 4, total_tokens: 4 },
  });
  const b = assemble('openai-embed', JSON_TYPE, 200, base64);
  assert.deepEqual(b.summary, { count: 3, dimensions: 5 });
  const wide = JSON.stringify({ data: [{ embedding: vector(768).toString('base64'), index: 0 }] });
  assert.deepEqual(assemble('openai-embed', JSON_TYPE, 200, wide).summary, { count: 1, dimensions: 768 });
});

test('an embeddings body far beyond 8 MiB is summarised without being kept', () => {
  const row = Array.from({ length: 1024 }, (_, i) => (Math.sin(i) / 3).toFixed(9)).join(',');
  const vectors = 1000;
  const text = `{"model":"bge-m3","embeddings":[${Array.from({ length: vectors }, () => `[${row}]`).join(',')}],"total_duration":987654321,"prompt_eval_count":4000}`;
  const bytes = Buffer.from(text);
  assert.ok(bytes.length > 8 * 1024 * 1024);
  const chunks: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i += 65_536) chunks.push(bytes.subarray(i, i + 65_536));
  const answer = feed(createAnswerTap('ollama-embed', JSON_TYPE, 200), chunks);
  assert.deepEqual(answer.summary, { count: vectors, dimensions: 1024 });
  assert.equal(answer.promptTokens, 4000);
  assert.equal(answer.timings.totalNs, 987_654_321);
  assert.equal(answer.error, null);
});

test('embedding errors: Ollama and OpenAI error bodies, plain text, empty', () => {
  const a = assemble('ollama-embed', JSON_TYPE, 400, '{"error":"input length exceeds the context length"}');
  assert.equal(a.error, 'input length exceeds the context length');
  assert.deepEqual(a.summary, { count: 0, dimensions: null });
  const b = assemble(
    'openai-embed',
    JSON_TYPE,
    404,
    '{"error":{"message":"model \\"x\\" not found, try pulling it first","type":"not_found_error","param":null,"code":null}}',
  );
  assert.equal(b.error, 'model "x" not found, try pulling it first');
  assert.equal(
    assemble('ollama-embed', 'text/plain', 404, '404 page not found').error,
    'HTTP 404: 404 page not found',
  );
  assert.equal(assemble('ollama-embed', undefined, 502, '').error, 'HTTP 502');
  assert.equal(
    assemble('ollama-embed', 'text/plain', 200, 'Ollama is running').error,
    'embeddings response is not JSON',
  );
});

test('garbage never throws: unbalanced brackets, stray quotes, binary', () => {
  const answer = assemble('ollama-embed', JSON_TYPE, 200, ']]}}{"a":[1,2,"x\\"],[[[');
  assert.deepEqual(answer.summary, { count: 0, dimensions: null });
  const binary = new Uint8Array(512).map((_, i) => (i * 37) & 0xff);
  assert.ok(feed(createAnswerTap('openai-embed', JSON_TYPE, 200), [binary]).summary);
});

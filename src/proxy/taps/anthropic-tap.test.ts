import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assemble, sse } from './tap-feeding.test-helper.js';

const SSE = 'text/event-stream';

const stream = sse(
  [
    'message_start',
    {
      type: 'message_start',
      message: {
        id: 'msg_01',
        type: 'message',
        role: 'assistant',
        model: 'qwen3:8b',
        content: [],
        stop_reason: null,
        usage: { input_tokens: 21, output_tokens: 1 },
      },
    },
  ],
  [
    'content_block_start',
    { type: 'content_block_start', index: 0, content_block: { type: 'thinking', thinking: '' } },
  ],
  [
    'content_block_delta',
    { type: 'content_block_delta', index: 0, delta: { type: 'thinking_delta', thinking: 'Need the ' } },
  ],
  [
    'content_block_delta',
    { type: 'content_block_delta', index: 0, delta: { type: 'thinking_delta', thinking: 'weather.' } },
  ],
  [
    'content_block_delta',
    { type: 'content_block_delta', index: 0, delta: { type: 'signature_delta', signature: 'c2ln' } },
  ],
  ['content_block_stop', { type: 'content_block_stop', index: 0 }],
  [
    'content_block_start',
    { type: 'content_block_start', index: 1, content_block: { type: 'text', text: '' } },
  ],
  ['ping', { type: 'ping' }],
  [
    'content_block_delta',
    { type: 'content_block_delta', index: 1, delta: { type: 'text_delta', text: 'Checking… ' } },
  ],
  [
    'content_block_delta',
    { type: 'content_block_delta', index: 1, delta: { type: 'text_delta', text: '☀️ in Paris' } },
  ],
  ['content_block_stop', { type: 'content_block_stop', index: 1 }],
  [
    'content_block_start',
    {
      type: 'content_block_start',
      index: 2,
      content_block: { type: 'tool_use', id: 'toolu_01', name: 'get_weather', input: {} },
    },
  ],
  [
    'content_block_delta',
    {
      type: 'content_block_delta',
      index: 2,
      delta: { type: 'input_json_delta', partial_json: '{"city": "Par' },
    },
  ],
  [
    'content_block_delta',
    {
      type: 'content_block_delta',
      index: 2,
      delta: { type: 'input_json_delta', partial_json: 'is", "days": 2}' },
    },
  ],
  ['content_block_stop', { type: 'content_block_stop', index: 2 }],
  [
    'message_delta',
    {
      type: 'message_delta',
      delta: { stop_reason: 'tool_use', stop_sequence: null },
      usage: { input_tokens: 21, output_tokens: 42 },
    },
  ],
  ['message_stop', { type: 'message_stop' }],
);

test('anthropic stream: thinking, text, a tool_use with streamed input, stop reason, usage', () => {
  const answer = assemble('anthropic', SSE, 200, stream);
  assert.deepEqual(answer, {
    content: 'Checking… ☀️ in Paris',
    thinking: 'Need the weather.',
    toolCalls: [{ id: 'toolu_01', name: 'get_weather', arguments: { city: 'Paris', days: 2 } }],
    doneReason: 'tool_use',
    promptTokens: 21,
    completionTokens: 42,
    timings: { totalNs: null, loadNs: null, promptEvalNs: null, evalNs: null },
    error: null,
    summary: null,
  });
});

test('anthropic events are recognised by their SSE event name when data lacks a type', () => {
  const body = sse(
    ['content_block_start', { index: 0, content_block: { type: 'text', text: 'Hi' } }],
    ['content_block_delta', { index: 0, delta: { type: 'text_delta', text: ' there' } }],
    ['message_delta', { delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 3 } }],
  );
  const answer = assemble('anthropic', SSE, 200, body);
  assert.equal(answer.content, 'Hi there');
  assert.equal(answer.doneReason, 'end_turn');
  assert.equal(answer.completionTokens, 3);
});

test('anthropic non-streamed message: content blocks in order', () => {
  const body = JSON.stringify({
    id: 'msg_02',
    type: 'message',
    role: 'assistant',
    model: 'qwen3:8b',
    content: [
      { type: 'thinking', thinking: 'Simple.', signature: 'x' },
      { type: 'text', text: 'Hallo 🇩🇪' },
      { type: 'tool_use', id: 'toolu_9', name: 'lookup', input: { q: 'Köln' } },
    ],
    stop_reason: 'tool_use',
    usage: { input_tokens: 8, output_tokens: 5 },
  });
  const answer = assemble('anthropic', 'application/json', 200, body);
  assert.equal(answer.content, 'Hallo 🇩🇪');
  assert.equal(answer.thinking, 'Simple.');
  assert.deepEqual(answer.toolCalls, [{ id: 'toolu_9', name: 'lookup', arguments: { q: 'Köln' } }]);
  assert.equal(answer.doneReason, 'tool_use');
  assert.equal(answer.promptTokens, 8);
  assert.equal(answer.completionTokens, 5);
});

test('anthropic error event mid-stream, and an error body', () => {
  const body =
    stream.slice(0, stream.indexOf('event: content_block_start')) +
    sse(['error', { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } }]);
  const a = assemble('anthropic', SSE, 200, body);
  assert.equal(a.error, 'Overloaded');
  assert.equal(a.promptTokens, 21);

  const b = assemble(
    'anthropic',
    'application/json',
    400,
    '{"type":"error","error":{"type":"invalid_request_error","message":"max_tokens: field required"},"request_id":"req_1"}',
  );
  assert.equal(b.error, 'max_tokens: field required');
});

test('a stream cut inside a tool input keeps the partial input as text', () => {
  const cut = stream.slice(0, stream.indexOf('is\\", \\"days'));
  const answer = assemble('anthropic', SSE, 200, cut.slice(0, cut.lastIndexOf('event:')));
  assert.deepEqual(answer.toolCalls, [{ id: 'toolu_01', name: 'get_weather', arguments: '{"city": "Par' }]);
  assert.equal(answer.doneReason, null);
});

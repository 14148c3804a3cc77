import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assemble, sse } from './tap-feeding.test-helper.js';

const SSE = 'text/event-stream';

let seq = 0;
const ev = (type: string, data: Record<string, unknown>): [string, unknown] => [
  type,
  { type, sequence_number: seq++, ...data },
];
const responseObject = (status: string, output: unknown[], usage: unknown) => ({
  id: 'resp_1',
  object: 'response',
  created_at: 1_700_000_000,
  status,
  model: 'gpt-oss:20b',
  output,
  error: null,
  usage,
});
const usage = { input_tokens: 17, output_tokens: 23, total_tokens: 40 };
const reasoningItem = {
  id: 'rs_1',
  type: 'reasoning',
  summary: [{ type: 'summary_text', text: 'Think first.' }],
};
const messageItem = {
  id: 'msg_1',
  type: 'message',
  status: 'completed',
  role: 'assistant',
  content: [{ type: 'output_text', text: 'Bonjour 🥐', annotations: [], logprobs: [] }],
};

test('responses stream (as Ollama emits it): reasoning summary, text, completed with usage', () => {
  const body = sse(
    ev('response.created', { response: responseObject('in_progress', [], null) }),
    ev('response.in_progress', { response: responseObject('in_progress', [], null) }),
    ev('response.output_item.added', {
      output_index: 0,
      item: { id: 'rs_1', type: 'reasoning', summary: [] },
    }),
    ev('response.reasoning_summary_text.delta', {
      item_id: 'rs_1',
      output_index: 0,
      summary_index: 0,
      delta: 'Think ',
    }),
    ev('response.reasoning_summary_text.delta', {
      item_id: 'rs_1',
      output_index: 0,
      summary_index: 0,
      delta: 'first.',
    }),
    ev('response.reasoning_summary_text.done', {
      item_id: 'rs_1',
      output_index: 0,
      summary_index: 0,
      text: 'Think first.',
    }),
    ev('response.output_item.done', { output_index: 0, item: reasoningItem }),
    ev('response.output_item.added', {
      output_index: 1,
      item: { id: 'msg_1', type: 'message', status: 'in_progress', role: 'assistant', content: [] },
    }),
    ev('response.content_part.added', {
      item_id: 'msg_1',
      output_index: 1,
      content_index: 0,
      part: { type: 'output_text', text: '' },
    }),
    ev('response.output_text.delta', {
      item_id: 'msg_1',
      output_index: 1,
      content_index: 0,
      delta: 'Bon',
      logprobs: [],
    }),
    ev('response.output_text.delta', {
      item_id: 'msg_1',
      output_index: 1,
      content_index: 0,
      delta: 'jour 🥐',
      logprobs: [],
    }),
    ev('response.output_text.done', {
      item_id: 'msg_1',
      output_index: 1,
      content_index: 0,
      text: 'Bonjour 🥐',
    }),
    ev('response.output_item.done', { output_index: 1, item: messageItem }),
    ev('response.completed', { response: responseObject('completed', [reasoningItem, messageItem], usage) }),
  );
  const answer = assemble('openai-responses', SSE, 200, body);
  assert.deepEqual(answer, {
    content: 'Bonjour 🥐',
    thinking: 'Think first.',
    toolCalls: [],
    doneReason: 'completed',
    promptTokens: 17,
    completionTokens: 23,
    timings: { totalNs: null, loadNs: null, promptEvalNs: null, evalNs: null },
    error: null,
    summary: null,
  });
});

test('responses stream with a function call: item, argument deltas, done', () => {
  const item = {
    id: 'fc_1',
    type: 'function_call',
    status: 'in_progress',
    call_id: 'call_7',
    name: 'get_weather',
    arguments: '',
  };
  const doneItem = { ...item, status: 'completed', arguments: '{"city":"Lyon"}' };
  const body = sse(
    ev('response.created', { response: responseObject('in_progress', [], null) }),
    ev('response.output_item.added', { output_index: 0, item }),
    ev('response.function_call_arguments.delta', { item_id: 'fc_1', output_index: 0, delta: '{"city":' }),
    ev('response.function_call_arguments.delta', { item_id: 'fc_1', output_index: 0, delta: '"Lyon"}' }),
    ev('response.function_call_arguments.done', {
      item_id: 'fc_1',
      output_index: 0,
      arguments: '{"city":"Lyon"}',
    }),
    ev('response.output_item.done', { output_index: 0, item: doneItem }),
    ev('response.completed', { response: responseObject('completed', [doneItem], usage) }),
  );
  const answer = assemble('openai-responses', SSE, 200, body);
  assert.deepEqual(answer.toolCalls, [{ id: 'call_7', name: 'get_weather', arguments: { city: 'Lyon' } }]);
  assert.equal(answer.content, '');
});

test('reasoning_text deltas count as thinking; a stream cut before completion keeps the deltas', () => {
  const body = sse(
    ev('response.reasoning_text.delta', {
      item_id: 'rs_2',
      output_index: 0,
      content_index: 0,
      delta: 'raw ',
    }),
    ev('response.reasoning_text.delta', {
      item_id: 'rs_2',
      output_index: 0,
      content_index: 0,
      delta: 'thoughts',
    }),
    ev('response.output_text.delta', {
      item_id: 'msg_2',
      output_index: 1,
      content_index: 0,
      delta: 'Half an ans',
    }),
  );
  const answer = assemble('openai-responses', SSE, 200, body);
  assert.equal(answer.thinking, 'raw thoughts');
  assert.equal(answer.content, 'Half an ans');
  assert.equal(answer.doneReason, null);
});

test('non-streamed response: output items give text, reasoning and function calls', () => {
  const body = JSON.stringify(
    responseObject(
      'completed',
      [
        reasoningItem,
        messageItem,
        {
          id: 'fc_2',
          type: 'function_call',
          status: 'completed',
          call_id: 'call_8',
          name: 'f',
          arguments: '{"a":[1]}',
        },
      ],
      usage,
    ),
  );
  const answer = assemble('openai-responses', 'application/json', 200, body);
  assert.equal(answer.content, 'Bonjour 🥐');
  assert.equal(answer.thinking, 'Think first.');
  assert.deepEqual(answer.toolCalls, [{ id: 'call_8', name: 'f', arguments: { a: [1] } }]);
  assert.equal(answer.doneReason, 'completed');
  assert.equal(answer.promptTokens, 17);
  assert.equal(answer.error, null);
});

test('response.failed, error events, and incomplete responses', () => {
  const failed = sse(
    ev('response.output_text.delta', { item_id: 'm', output_index: 0, content_index: 0, delta: 'Par' }),
    ev('response.failed', {
      response: {
        ...responseObject('failed', [], null),
        error: { code: 'server_error', message: 'runner crashed' },
      },
    }),
  );
  const a = assemble('openai-responses', SSE, 200, failed);
  assert.equal(a.error, 'runner crashed');
  assert.equal(a.doneReason, 'failed');
  assert.equal(a.content, 'Par');

  const errorEvent = sse(
    ev('error', { code: 'ERR_SOMETHING', message: 'Something went wrong', param: null }),
  );
  assert.equal(assemble('openai-responses', SSE, 200, errorEvent).error, 'Something went wrong');

  const incomplete = sse(
    ev('response.output_text.delta', { item_id: 'm', output_index: 0, content_index: 0, delta: 'Long' }),
    ev('response.incomplete', {
      response: {
        ...responseObject('incomplete', [], usage),
        incomplete_details: { reason: 'max_output_tokens' },
      },
    }),
  );
  const c = assemble('openai-responses', SSE, 200, incomplete);
  assert.equal(c.doneReason, 'incomplete');
  assert.equal(c.content, 'Long');
  assert.equal(c.error, null);
});

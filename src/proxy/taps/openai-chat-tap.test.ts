import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assemble, sse } from './tap-feeding.test-helper.js';

const SSE = 'text/event-stream';
const base = {
  id: 'chatcmpl-768',
  object: 'chat.completion.chunk',
  created: 1_744_445_346,
  model: 'qwen3:8b',
};
const chunk = (delta: unknown, finish: string | null = null) => ({
  ...base,
  system_fingerprint: 'fp_ollama',
  choices: [{ index: 0, delta, finish_reason: finish }],
});

test('openai chat stream from Ollama: reasoning, content, a tool call, usage, [DONE]', () => {
  const body = sse(
    [null, chunk({ role: 'assistant', content: '', reasoning: 'List the ' })],
    [null, chunk({ role: 'assistant', content: '', reasoning: 'directory.' })],
    [null, chunk({ role: 'assistant', content: 'Sure — 📂 ' })],
    [
      null,
      chunk({
        role: 'assistant',
        content: '',
        tool_calls: [
          {
            id: 'call_hk81qg8b',
            index: 0,
            type: 'function',
            function: { name: 'run_command', arguments: '{"command":"ls -la"}' },
          },
        ],
      }),
    ],
    [null, chunk({ role: 'assistant', content: '' }, 'tool_calls')],
    [null, { ...base, choices: [], usage: { prompt_tokens: 12, completion_tokens: 34, total_tokens: 46 } }],
    [null, '[DONE]'],
  );
  const answer = assemble('openai-chat', SSE, 200, body);
  assert.deepEqual(answer, {
    content: 'Sure — 📂 ',
    thinking: 'List the directory.',
    toolCalls: [{ id: 'call_hk81qg8b', name: 'run_command', arguments: { command: 'ls -la' } }],
    doneReason: 'tool_calls',
    promptTokens: 12,
    completionTokens: 34,
    timings: { totalNs: null, loadNs: null, promptEvalNs: null, evalNs: null },
    error: null,
    summary: null,
  });
});

test('tool-call arguments streamed in fragments (OpenAI style) are joined by index, with CRLF framing', () => {
  const body = sse(
    [null, chunk({ role: 'assistant', content: null })],
    [
      null,
      chunk({
        tool_calls: [
          { index: 0, id: 'call_a', type: 'function', function: { name: 'get_weather', arguments: '' } },
        ],
      }),
    ],
    [null, chunk({ tool_calls: [{ index: 0, function: { arguments: '{"loc' } }] })],
    [null, chunk({ tool_calls: [{ index: 0, function: { arguments: 'ation": "Paris, ' } }] })],
    [
      null,
      chunk({
        tool_calls: [{ index: 1, id: 'call_b', function: { name: 'get_time', arguments: '{"tz":' } }],
      }),
    ],
    [null, chunk({ tool_calls: [{ index: 0, function: { arguments: 'Île-de-France"}' } }] })],
    [null, chunk({ tool_calls: [{ index: 1, function: { arguments: '"CET"}' } }] })],
    [null, chunk({}, 'tool_calls')],
    [null, '[DONE]'],
  ).replaceAll('\n', '\r\n');
  const answer = assemble('openai-chat', SSE, 200, body);
  assert.deepEqual(answer.toolCalls, [
    { id: 'call_a', name: 'get_weather', arguments: { location: 'Paris, Île-de-France' } },
    { id: 'call_b', name: 'get_time', arguments: { tz: 'CET' } },
  ]);
  assert.equal(answer.content, '');
  assert.equal(answer.doneReason, 'tool_calls');
});

test('whole tool calls that reuse index 0 with new ids stay separate calls', () => {
  const call = (id: string, command: string) =>
    chunk({
      role: 'assistant',
      content: '',
      tool_calls: [
        { id, index: 0, type: 'function', function: { name: 'run', arguments: JSON.stringify({ command }) } },
      ],
    });
  const body = sse([null, call('call_1', 'ls')], [null, call('call_2', 'pwd')], [null, '[DONE]']);
  const answer = assemble('openai-chat', SSE, 200, body);
  assert.deepEqual(answer.toolCalls, [
    { id: 'call_1', name: 'run', arguments: { command: 'ls' } },
    { id: 'call_2', name: 'run', arguments: { command: 'pwd' } },
  ]);
});

test('arguments that never became valid JSON are kept as text', () => {
  const body = sse([
    null,
    chunk({ tool_calls: [{ index: 0, id: 'c', function: { name: 'f', arguments: '{"cut": "of' } }] }),
  ]);
  assert.deepEqual(assemble('openai-chat', SSE, 200, body).toolCalls, [
    { id: 'c', name: 'f', arguments: '{"cut": "of' },
  ]);
});

test('reasoning_content (vLLM, DeepSeek) counts as thinking', () => {
  const body = sse(
    [null, chunk({ reasoning_content: 'Hmm. ' })],
    [null, chunk({ reasoning_content: 'OK.' })],
    [null, chunk({ content: 'Done' }, 'stop')],
    [null, '[DONE]'],
  );
  const answer = assemble('openai-chat', SSE, 200, body);
  assert.equal(answer.thinking, 'Hmm. OK.');
  assert.equal(answer.content, 'Done');
  assert.equal(answer.doneReason, 'stop');
});

test('non-streamed chat completion: message, reasoning, tool calls, usage', () => {
  const body = JSON.stringify({
    id: 'chatcmpl-12',
    object: 'chat.completion',
    created: 1_744_445_346,
    model: 'qwen3:8b',
    system_fingerprint: 'fp_ollama',
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant',
          content: 'Voilà 🎉',
          reasoning: 'Trivial.',
          tool_calls: [
            { id: 'call_9', index: 0, type: 'function', function: { name: 'f', arguments: '{"x":1}' } },
          ],
        },
        finish_reason: 'tool_calls',
      },
    ],
    usage: { prompt_tokens: 9, completion_tokens: 4, total_tokens: 13 },
  });
  const answer = assemble('openai-chat', 'application/json', 200, body);
  assert.equal(answer.content, 'Voilà 🎉');
  assert.equal(answer.thinking, 'Trivial.');
  assert.deepEqual(answer.toolCalls, [{ id: 'call_9', name: 'f', arguments: { x: 1 } }]);
  assert.equal(answer.doneReason, 'tool_calls');
  assert.equal(answer.promptTokens, 9);
  assert.equal(answer.completionTokens, 4);
});

test('an error object in the stream, and an error body with a 404', () => {
  const streamed = sse(
    [null, chunk({ content: 'Hal' })],
    [
      null,
      {
        error: {
          message: 'model runner has unexpectedly stopped',
          type: 'api_error',
          param: null,
          code: null,
        },
      },
    ],
  );
  const a = assemble('openai-chat', SSE, 200, streamed);
  assert.equal(a.content, 'Hal');
  assert.equal(a.error, 'model runner has unexpectedly stopped');

  const body =
    '{"error":{"message":"model \\"nope\\" not found, try pulling it first","type":"not_found_error","param":null,"code":null}}\n';
  const b = assemble('openai-chat', 'application/json', 404, body);
  assert.equal(b.error, 'model "nope" not found, try pulling it first');
});

test('a bare {"error"} line written into an event stream is still seen', () => {
  const body = `${sse([null, chunk({ content: 'x' })])}{"error":"context canceled"}\n`;
  const answer = assemble('openai-chat', SSE, 200, body);
  assert.equal(answer.content, 'x');
  assert.equal(answer.error, 'context canceled');
});

test('openai completions: streamed text, zero usage on each chunk, real usage last', () => {
  const c = (text: string, finish: string | null) => ({
    id: 'cmpl-1',
    object: 'text_completion',
    created: 1,
    model: 'llama3.2',
    system_fingerprint: 'fp_ollama',
    choices: [{ text, index: 0, finish_reason: finish }],
    usage: { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 },
  });
  const body = sse(
    [null, c('Once upon', null)],
    [null, c(' a time…', null)],
    [null, c('', 'stop')],
    [
      null,
      {
        id: 'cmpl-1',
        object: 'text_completion',
        created: 1,
        model: 'llama3.2',
        choices: [],
        usage: { prompt_tokens: 5, completion_tokens: 6, total_tokens: 11 },
      },
    ],
    [null, '[DONE]'],
  );
  const answer = assemble('openai-completion', SSE, 200, body);
  assert.equal(answer.content, 'Once upon a time…');
  assert.equal(answer.doneReason, 'stop');
  assert.equal(answer.promptTokens, 5);
  assert.equal(answer.completionTokens, 6);

  const whole = JSON.stringify({
    id: 'cmpl-2',
    object: 'text_completion',
    choices: [{ text: 'Hi ✨', index: 0, finish_reason: 'length' }],
    usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 },
  });
  const b = assemble('openai-completion', 'application/json', 200, whole);
  assert.equal(b.content, 'Hi ✨');
  assert.equal(b.doneReason, 'length');
  assert.equal(b.promptTokens, 3);
});

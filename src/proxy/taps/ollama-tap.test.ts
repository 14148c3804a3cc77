import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createAnswerTap } from './answer-tap.js';
import { assemble, feed, ndjson } from './tap-feeding.test-helper.js';

const NDJSON = 'application/x-ndjson';
const at = '2025-08-15T21:38:23.714020953Z';

const chatStream = ndjson(
  {
    model: 'qwen3:8b',
    created_at: at,
    message: { role: 'assistant', content: '', thinking: 'The user' },
    done: false,
  },
  {
    model: 'qwen3:8b',
    created_at: at,
    message: { role: 'assistant', content: '', thinking: ' says hi.' },
    done: false,
  },
  { model: 'qwen3:8b', created_at: at, message: { role: 'assistant', content: 'Grüß dich' }, done: false },
  { model: 'qwen3:8b', created_at: at, message: { role: 'assistant', content: ' 👋🏽!' }, done: false },
  {
    model: 'qwen3:8b',
    created_at: at,
    message: { role: 'assistant', content: '' },
    done: true,
    done_reason: 'stop',
    total_duration: 5_589_157_167,
    load_duration: 3_013_701_500,
    prompt_eval_count: 26,
    prompt_eval_duration: 1_213_000_000,
    eval_count: 290,
    eval_duration: 1_325_000_000,
  },
);

test('ollama chat stream: content, thinking, counters and timings, under every chunking', () => {
  const answer = assemble('ollama', NDJSON, 200, chatStream);
  assert.deepEqual(answer, {
    content: 'Grüß dich 👋🏽!',
    thinking: 'The user says hi.',
    toolCalls: [],
    doneReason: 'stop',
    promptTokens: 26,
    completionTokens: 290,
    timings: {
      totalNs: 5_589_157_167,
      loadNs: 3_013_701_500,
      promptEvalNs: 1_213_000_000,
      evalNs: 1_325_000_000,
    },
    error: null,
    summary: null,
  });
});

test('ollama chat stream with tool calls keeps each call whole, arguments as objects', () => {
  const body = ndjson(
    {
      model: 'llama3.2',
      created_at: at,
      message: {
        role: 'assistant',
        content: '',
        tool_calls: [
          {
            id: 'call_k3x',
            function: { index: 0, name: 'get_weather', arguments: { city: 'Zürich', unit: 'c' } },
          },
        ],
      },
      done: false,
    },
    {
      model: 'llama3.2',
      created_at: at,
      message: {
        role: 'assistant',
        content: '',
        tool_calls: [{ function: { index: 1, name: 'get_time', arguments: {} } }],
      },
      done: false,
    },
    {
      model: 'llama3.2',
      created_at: at,
      message: { role: 'assistant', content: '' },
      done: true,
      done_reason: 'stop',
      eval_count: 31,
    },
  );
  const answer = assemble('ollama', NDJSON, 200, body);
  assert.deepEqual(answer.toolCalls, [
    { id: 'call_k3x', name: 'get_weather', arguments: { city: 'Zürich', unit: 'c' } },
    { name: 'get_time', arguments: {} },
  ]);
  assert.equal(answer.content, '');
  assert.equal(answer.completionTokens, 31);
});

test('ollama generate stream: response and thinking fields; the context array is ignored', () => {
  const body = ndjson(
    { model: 'gpt-oss:20b', created_at: at, response: '', thinking: 'Need', done: false },
    { model: 'gpt-oss:20b', created_at: at, response: '', thinking: ' three words.', done: false },
    { model: 'gpt-oss:20b', created_at: at, response: 'Fluffy, ', done: false },
    { model: 'gpt-oss:20b', created_at: at, response: 'quick, ears 🐇', done: false },
    {
      model: 'gpt-oss:20b',
      created_at: at,
      response: '',
      done: true,
      done_reason: 'length',
      context: [200_006, 17_360, 200_008, 3_575],
      prompt_eval_count: 70,
      eval_count: 12,
    },
  );
  const answer = assemble('ollama', NDJSON, 200, body);
  assert.equal(answer.content, 'Fluffy, quick, ears 🐇');
  assert.equal(answer.thinking, 'Need three words.');
  assert.equal(answer.doneReason, 'length');
  assert.equal(answer.promptTokens, 70);
  assert.equal(answer.completionTokens, 12);
  assert.equal(answer.timings.totalNs, null);
});

test('ollama non-streamed chat is one JSON object', () => {
  const body = JSON.stringify({
    model: 'llama3.2',
    created_at: at,
    message: { role: 'assistant', content: 'Ja – genau. ✅', thinking: 'short' },
    done_reason: 'stop',
    done: true,
    total_duration: 100,
    load_duration: 10,
    prompt_eval_count: 5,
    prompt_eval_duration: 20,
    eval_count: 7,
    eval_duration: 70,
  });
  const answer = assemble('ollama', 'application/json; charset=utf-8', 200, body);
  assert.equal(answer.content, 'Ja – genau. ✅');
  assert.equal(answer.thinking, 'short');
  assert.deepEqual(answer.timings, { totalNs: 100, loadNs: 10, promptEvalNs: 20, evalNs: 70 });
  assert.equal(answer.error, null);
});

test('an {"error"} line after the stream started is the error; what came before is kept', () => {
  const body =
    ndjson({
      model: 'llama3.2',
      created_at: at,
      message: { role: 'assistant', content: 'Partial' },
      done: false,
    }) + ndjson({ error: 'an error was encountered while running the model: unexpected EOF' });
  const answer = assemble('ollama', NDJSON, 200, body);
  assert.equal(answer.content, 'Partial');
  assert.equal(answer.error, 'an error was encountered while running the model: unexpected EOF');
  assert.equal(answer.doneReason, null);
});

test('a 404 error body gives its message', () => {
  const answer = assemble(
    'ollama',
    'application/json; charset=utf-8',
    404,
    '{"error":"model \\"llama9\\" not found, try pulling it first"}',
  );
  assert.equal(answer.error, 'model "llama9" not found, try pulling it first');
  assert.equal(answer.content, '');
});

test('an empty 403 (Ollama refusing a foreign Host) and a plain-text 404 still record an error', () => {
  assert.equal(assemble('ollama', undefined, 403, '').error, 'HTTP 403');
  assert.equal(
    assemble('ollama', 'text/plain', 404, '404 page not found').error,
    'HTTP 404: 404 page not found',
  );
});

test('a stream cut off mid-line keeps what arrived and says where it broke', () => {
  const full = chatStream;
  const cut = full.slice(0, full.indexOf('"done":true') - 10);
  const answer = assemble('ollama', NDJSON, 200, cut);
  assert.equal(answer.content, 'Grüß dich 👋🏽!');
  assert.equal(answer.doneReason, null);
  assert.equal(answer.error, 'stream ended inside a JSON line');
});

test('a final line without its line break still counts', () => {
  const answer = assemble('ollama', NDJSON, 200, chatStream.trimEnd());
  assert.equal(answer.doneReason, 'stop');
  assert.equal(answer.error, null);
});

test('malformed lines, CRLF endings and blank lines do not break the stream', () => {
  const body = [
    '{"message":{"role":"assistant","content":"A"},"done":false}\r\n',
    '\r\n',
    '{"message":{"content":"B"}\n',
    'not json at all\n',
    '{"message":{"role":"assistant","content":"C"},"done":true,"done_reason":"stop"}\r\n',
  ].join('');
  const answer = assemble('ollama', NDJSON, 200, body);
  assert.equal(answer.content, 'AC');
  assert.equal(answer.doneReason, 'stop');
  assert.equal(answer.error, 'malformed JSON line in stream');
});

test('values of unexpected shapes are ignored, never thrown on', () => {
  let body = ndjson(
    null,
    42,
    'text',
    [1, 2],
    { message: 'not an object' },
    { message: { content: 5, thinking: null, tool_calls: 'x' } },
    { message: { tool_calls: [null, { function: null }, { function: { name: 7 } }] } },
  );
  // 1e400 parses to Infinity, which no counter may take.
  body += '{"done":true,"done_reason":3,"eval_count":"many","total_duration":1e400}\n';
  const answer = assemble('ollama', NDJSON, 200, body);
  assert.equal(answer.content, '');
  assert.deepEqual(answer.toolCalls, [{ name: '', arguments: {} }]);
  assert.equal(answer.doneReason, null);
  assert.equal(answer.completionTokens, null);
  assert.equal(answer.timings.totalNs, null);
  assert.equal(answer.error, null);
});

test('an NDJSON stream sent without its content type is still read as a stream', () => {
  const answer = assemble('ollama', undefined, 200, chatStream);
  assert.equal(answer.content, 'Grüß dich 👋🏽!');
  assert.equal(answer.doneReason, 'stop');
});

test('a line longer than the bound is dropped and reported; later lines still count', () => {
  const tap = createAnswerTap('ollama', NDJSON, 200);
  const huge = `{"message":{"content":"${'x'.repeat(9 * 1024 * 1024)}"}}\n`;
  const tail = ndjson({ message: { content: 'after' }, done: true, done_reason: 'stop' });
  const bytes = Buffer.from(huge + tail);
  const chunks: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i += 65_536) chunks.push(bytes.subarray(i, i + 65_536));
  const answer = feed(tap, chunks);
  assert.equal(answer.content, 'after');
  assert.equal(answer.doneReason, 'stop');
  assert.match(answer.error ?? '', /longer than/);
});

test('a single JSON body over 8 MiB is not buffered and is reported', () => {
  const tap = createAnswerTap('ollama', 'application/json', 200);
  const big = Buffer.from(JSON.stringify({ message: { content: 'y'.repeat(9 * 1024 * 1024) }, done: true }));
  const answer = feed(tap, [big.subarray(0, 4_000_000), big.subarray(4_000_000)]);
  assert.equal(answer.content, '');
  assert.match(answer.error ?? '', /exceeds/);
});

test('push never throws and finish is idempotent', () => {
  const tap = createAnswerTap('ollama', NDJSON, 200);
  tap.push(Buffer.from('{"message":{"content":"ok"}}\n'));
  tap.push(new Uint8Array([0xff, 0xfe, 0x0a, 0xc3]));
  const first = tap.finish();
  assert.equal(first.content, 'ok');
  assert.equal(tap.finish(), first);
  tap.push(Buffer.from('{"message":{"content":"late"}}\n'));
  assert.equal(tap.finish().content, 'ok');
});

test('a non-streamed body cut off in transit says so', () => {
  const body = JSON.stringify({ message: { role: 'assistant', content: 'Hello' }, done: true }).slice(0, 30);
  const answer = assemble('ollama', 'application/json', 200, body);
  assert.equal(answer.error, 'response body is malformed or cut-off JSON');
  assert.equal(
    assemble('ollama', 'text/html', 200, '<html>proxy page</html>').error,
    'response body is not JSON',
  );
});

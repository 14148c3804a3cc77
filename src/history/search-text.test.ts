import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  answerText,
  conversationOf,
  MAX_INDEXED_CHARS,
  preview,
  promptText,
  snippet,
  textOf,
} from './search-text.js';

test('a chat request is indexed by its new turn only, so later turns do not repeat earlier words', () => {
  const first = {
    model: 'm',
    messages: [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'hello zebra' },
    ],
  };
  assert.equal(promptText('/api/chat', first), 'Be brief.\nhello zebra');
  const second = {
    model: 'm',
    messages: [
      ...first.messages,
      { role: 'assistant', content: 'Hi! Zebras are striped.' },
      { role: 'user', content: 'and giraffes?' },
    ],
  };
  assert.equal(promptText('/api/chat', second), 'and giraffes?');
});

test('text comes out of every wire shape: OpenAI parts, Anthropic blocks and system, Responses items', () => {
  assert.equal(
    textOf([
      { type: 'text', text: 'look at this' },
      { type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA' } },
    ]),
    'look at this',
  );
  const anthropic = {
    system: [{ type: 'text', text: 'You are a pirate.' }],
    messages: [
      {
        role: 'user',
        content: [
          { type: 'tool_result', tool_use_id: 't1', content: [{ type: 'text', text: '42 degrees' }] },
          { type: 'text', text: 'so, warm?' },
        ],
      },
    ],
  };
  assert.deepEqual(conversationOf('/v1/messages', anthropic), [
    { role: 'system', text: 'You are a pirate.' },
    { role: 'user', text: '42 degrees\nso, warm?' },
  ]);
  const responses = {
    instructions: 'Answer in French.',
    input: [
      { role: 'user', content: [{ type: 'input_text', text: 'weather?' }] },
      { type: 'function_call', name: 'weather', arguments: '{}' },
      { type: 'function_call_output', call_id: 'c', output: 'sunny' },
    ],
  };
  assert.deepEqual(conversationOf('/v1/responses', responses), [
    { role: 'system', text: 'Answer in French.' },
    { role: 'user', text: 'weather?' },
    { role: 'assistant', text: '' },
    { role: 'tool', text: 'sunny' },
  ]);
  assert.equal(promptText('/v1/responses', responses), 'sunny');
  assert.equal(promptText('/v1/responses', { input: 'plain string input' }), 'plain string input');
});

test('non-chat requests index their prompt, system, suffix and input; metadata-only records nothing', () => {
  assert.equal(
    promptText('/api/generate', { model: 'm', system: 'sys', prompt: 'def f(', suffix: 'return x' }),
    'sys\ndef f(\nreturn x',
  );
  assert.equal(promptText('/api/embed', { model: 'm', input: ['one', 'two'] }), 'one\ntwo');
  assert.equal(promptText('/v1/completions', { model: 'm', prompt: [1, 2, 3] }), '');
  assert.equal(promptText('/api/generate', null), '');
  assert.equal(answerText('the answer', 'some thinking'), 'the answer\nsome thinking');
  assert.equal(answerText(null, undefined), '');
});

test('very long text is indexed up to a limit', () => {
  const long = 'word '.repeat(MAX_INDEXED_CHARS);
  assert.equal(promptText('/api/generate', { prompt: long }).length, MAX_INDEXED_CHARS);
});

test('previews are one line; snippets show the first search word in context, accents ignored', () => {
  assert.equal(preview('  a\n\nb   c  '), 'a b c');
  assert.equal(preview('x'.repeat(300), 10), `${'x'.repeat(9)}…`);
  const text = `${'filler '.repeat(30)}the Café was closed ${'more '.repeat(30)}`;
  const found = snippet(text, ['cafe'], 10);
  assert.ok(found?.includes('Café was'), found);
  assert.ok(found?.startsWith('…') && found.endsWith('…'));
  assert.equal(snippet(text, ['absent']), undefined);
  assert.equal(snippet(text, []), undefined);
});

test('content nested far too deep gives no text and no stack overflow', () => {
  const deep = JSON.parse(`${'['.repeat(100_000)}"buried"${']'.repeat(100_000)}`);
  assert.equal(textOf(deep), '');
  assert.equal(promptText('/api/chat', { messages: [{ role: 'user', content: deep }] }), '');
  assert.equal(textOf([[['three levels']]]), 'three levels');
});

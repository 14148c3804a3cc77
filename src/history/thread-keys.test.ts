import assert from 'node:assert/strict';
import { test } from 'node:test';
import { continuationKey, lookupKey, redactionTexts, scrubConversation } from './thread-keys.js';

const turn1 = { model: 'm', messages: [{ role: 'user', content: 'Tell me a story' }] };
const answer1 = 'Once upon a time.';

test('a request that resends an exchange and its answer continues it', () => {
  assert.equal(lookupKey('tok', '/api/chat', turn1), null, 'a first turn continues nothing');
  const turn2 = {
    model: 'm',
    messages: [...turn1.messages, { role: 'assistant', content: answer1 }, { role: 'user', content: 'More' }],
  };
  assert.equal(lookupKey('tok', '/api/chat', turn2), continuationKey('tok', '/api/chat', turn1, answer1));
  assert.notEqual(
    lookupKey('tok', '/api/chat', turn2),
    continuationKey('tok', '/api/chat', turn1, 'A different answer.'),
  );
});

test('whitespace a client trims, thinking and tool-call details it drops do not break the match', () => {
  const turn2 = {
    messages: [
      { role: 'user', content: '  Tell me   a story\n' },
      { role: 'assistant', content: ` ${answer1}\n\n`, thinking: 'hmm', tool_calls: [] },
      { role: 'user', content: 'More' },
    ],
  };
  assert.equal(lookupKey('tok', '/api/chat', turn2), continuationKey('tok', '/api/chat', turn1, answer1));
});

test('a tool result continues the exchange that asked for the tool', () => {
  const asked = { messages: [{ role: 'user', content: 'weather in Paris?' }], tools: [{}] };
  const withResult = {
    messages: [
      ...asked.messages,
      { role: 'assistant', content: '', tool_calls: [{ function: { name: 'weather', arguments: {} } }] },
      { role: 'tool', content: 'sunny' },
    ],
  };
  assert.equal(lookupKey('tok', '/api/chat', withResult), continuationKey('tok', '/api/chat', asked, ''));
});

test('threads never cross tokens, and non-chat requests have no keys', () => {
  const turn2 = {
    messages: [...turn1.messages, { role: 'assistant', content: answer1 }, { role: 'user', content: 'x' }],
  };
  assert.notEqual(
    lookupKey('other', '/api/chat', turn2),
    continuationKey('tok', '/api/chat', turn1, answer1),
  );
  assert.equal(lookupKey(null, '/api/chat', turn2), null);
  assert.equal(continuationKey('tok', '/api/generate', { prompt: 'hi' }, 'hello'), null);
});

test('Anthropic requests match with their top-level system prompt', () => {
  const first = {
    system: 'Be a pirate.',
    messages: [{ role: 'user', content: [{ type: 'text', text: 'Ahoy' }] }],
  };
  const second = {
    system: 'Be a pirate.',
    messages: [
      ...first.messages,
      { role: 'assistant', content: [{ type: 'text', text: 'Arr!' }] },
      { role: 'user', content: 'Where is the treasure?' },
    ],
  };
  assert.equal(lookupKey('t', '/v1/messages', second), continuationKey('t', '/v1/messages', first, 'Arr!'));
});

test('scrubbing replaces the redacted texts in later requests and leaves the rest', () => {
  const later = {
    model: 'm',
    system: 'keep me',
    messages: [
      { role: 'user', content: 'my secret is 1234' },
      { role: 'assistant', content: 'Echo:  my secret is 1234' },
      { role: 'user', content: 'new question' },
    ],
  };
  const scrubbed = scrubConversation(later, redactionTexts(['my secret is 1234', 'Echo: my secret is 1234']));
  assert.deepEqual(scrubbed, {
    model: 'm',
    system: 'keep me',
    messages: [
      { role: 'user', content: '[redacted]' },
      { role: 'assistant', content: '[redacted]' },
      { role: 'user', content: 'new question' },
    ],
  });
  assert.equal(scrubConversation(later, redactionTexts(['nothing like it'])), undefined);
  assert.equal(scrubConversation(null, redactionTexts(['x'])), undefined);
});

test('keys stay what earlier versions stored, so a conversation continues across an upgrade', () => {
  const request = {
    model: 'm',
    messages: [
      { role: 'system', content: 'Be  brief.' },
      { role: 'user', content: 'Grüß  dich 😀' },
      { role: 'assistant', content: 'Hallo!' },
      { role: 'User', content: 'Und?' },
    ],
  };
  assert.equal(lookupKey('tok-1', '/api/chat', request), 'BKj3LgszwDSZjoqCPJc-DG6m-QAIEhKN');
  assert.equal(continuationKey('tok-1', '/api/chat', request, 'Gut.'), 'CHEPJWTQZxBbqgilkhSGxDhoh9H-GANn');
});

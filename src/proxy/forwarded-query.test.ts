import assert from 'node:assert/strict';
import { test } from 'node:test';
import { forwardedPath } from './forwarded-query.js';

const SECRET = 'oc_0d3xqAbcdefghijklmnopqrstuvwxyz0123456789AB';
const presented = () => SECRET;

test('a path without a query goes as it is, without asking for the token', () => {
  assert.equal(
    forwardedPath('/api/tags', () => assert.fail('not asked')),
    '/api/tags',
  );
});

test('credential names go in any case or spelling; other parameters keep their order and bytes', () => {
  assert.equal(
    forwardedPath('/api/tags?b=2&API_KEY=x&a=%20&Api-Key=y&api%5Fkey=z&key[]=k&c', presented),
    '/api/tags?b=2&a=%20&c',
  );
  assert.equal(
    forwardedPath('/api/tags?hf_token=1&Client_Secret=2&openai_api_key=3', presented),
    '/api/tags',
  );
  assert.equal(
    forwardedPath('/api/tags?max_tokens=5&keyword=x', presented),
    '/api/tags?max_tokens=5&keyword=x',
  );
});

test('a value holding the presented token, or any companion token, goes whatever its name', () => {
  const other = 'oc_ZZZZZZZZZZZZZZZZZZZZZZZZZZ';
  assert.equal(forwardedPath(`/api/tags?q=${SECRET}&page=2`, presented), '/api/tags?page=2');
  assert.equal(forwardedPath(`/api/tags?h=Bearer+${SECRET}`, presented), '/api/tags');
  assert.equal(
    forwardedPath(`/api/tags?x=${other}`, () => undefined),
    '/api/tags',
  );
  assert.equal(forwardedPath(`/api/tags?${SECRET}`, presented), '/api/tags');
  const short = () => 'plain-secret-123';
  assert.equal(forwardedPath('/api/tags?v=plain-secret-123&w=1', short), '/api/tags?w=1');
});

test('a malformed escape does not stop the check', () => {
  assert.equal(forwardedPath('/api/tags?token=%E0%A4%A&x=%zz', presented), '/api/tags?x=%zz');
});

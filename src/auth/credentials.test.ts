import assert from 'node:assert/strict';
import { test } from 'node:test';
import { splitPathToken, tokenFromHeaders } from './credentials.js';

const SECRET = 'oc_abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG';
const basic = (userinfo: string) => `Basic ${Buffer.from(userinfo).toString('base64')}`;

test('a token is read from Bearer, x-api-key and Basic (password, or a lone username)', () => {
  assert.equal(tokenFromHeaders({ authorization: `Bearer ${SECRET}` }), SECRET);
  assert.equal(tokenFromHeaders({ authorization: `bearer   ${SECRET}  ` }), SECRET);
  assert.equal(tokenFromHeaders({ 'x-api-key': SECRET }), SECRET);
  assert.equal(tokenFromHeaders({ authorization: basic(`x:${SECRET}`) }), SECRET);
  assert.equal(tokenFromHeaders({ authorization: basic(`${SECRET}:`) }), SECRET);
  assert.equal(tokenFromHeaders({ authorization: basic(SECRET) }), SECRET);
  assert.equal(tokenFromHeaders({}), undefined);
});

test('placeholder keys that clients send by default count as no token', () => {
  for (const placeholder of ['', 'ollama', 'OLLAMA', 'na', 'local', 'default-key', ' ']) {
    assert.equal(tokenFromHeaders({ authorization: `Bearer ${placeholder}` }), undefined, placeholder);
    assert.equal(tokenFromHeaders({ 'x-api-key': placeholder }), undefined, placeholder);
    assert.equal(tokenFromHeaders({ authorization: basic(`:${placeholder}`) }), undefined, placeholder);
    assert.equal(tokenFromHeaders({ authorization: basic(`${placeholder}:`) }), undefined, placeholder);
    assert.equal(splitPathToken(`/t/${placeholder}/api/tags`).token, undefined, placeholder);
  }
  assert.equal(tokenFromHeaders({ authorization: 'Bearer' }), undefined);
});

test('a placeholder in one place does not hide a real token in another', () => {
  assert.equal(tokenFromHeaders({ authorization: 'Bearer ollama', 'x-api-key': SECRET }), SECRET);
  assert.equal(tokenFromHeaders({ authorization: basic(`${SECRET}:ollama`) }), SECRET);
});

test('the /t/<token>/ prefix gives the token and the path the client meant', () => {
  assert.deepEqual(splitPathToken(`/t/${SECRET}/api/chat`), { url: '/api/chat', token: SECRET });
  assert.deepEqual(splitPathToken(`/t/${SECRET}/v1/models?x=1`), { url: '/v1/models?x=1', token: SECRET });
  assert.deepEqual(splitPathToken('/api/chat'), { url: '/api/chat', token: undefined });
  assert.deepEqual(splitPathToken('/t/'), { url: '/t/', token: undefined });
});

test('a bare /t/<token> is the root, so the secret never stays in the routed path', () => {
  assert.deepEqual(splitPathToken(`/t/${SECRET}`), { url: '/', token: SECRET });
  assert.deepEqual(splitPathToken(`/t/${SECRET}/`), { url: '/', token: SECRET });
  assert.deepEqual(splitPathToken(`/t/${SECRET}?x=1`), { url: '/?x=1', token: SECRET });
});

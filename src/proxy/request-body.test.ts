import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CompanionError } from '../errors/companion-error.js';
import { ENDPOINTS, type Endpoint } from './endpoint-catalogue.js';
import { parseRequest } from './request-body.js';

function endpoint(method: string, path: string): Endpoint {
  const found = ENDPOINTS.find((e) => e.method === method && e.path === path);
  assert.ok(found, `${method} ${path} is catalogued`);
  return found;
}

const chat = endpoint('POST', '/api/chat');
const parse = (e: Endpoint, body: string) => parseRequest(e, Buffer.from(body), {});
const isBadRequest = (pattern: RegExp) => (error: unknown) =>
  error instanceof CompanionError && error.status === 400 && pattern.test(error.message);

test('the model and stream flag are read from the body, with the route’s stream default', () => {
  assert.deepEqual(parse(chat, '{"model":"llama3.2","messages":[]}').models, ['llama3.2']);
  assert.equal(parse(chat, '{"model":"llama3.2"}').stream, true);
  assert.equal(parse(chat, '{"model":"llama3.2","stream":false}').stream, false);
  assert.equal(parse(endpoint('POST', '/v1/chat/completions'), '{"model":"m"}').stream, false);
});

test('malformed JSON, non-objects, wrong types and a missing model are 400s', () => {
  assert.throws(() => parse(chat, '{"model":'), isBadRequest(/invalid JSON/));
  assert.throws(() => parse(chat, ''), isBadRequest(/empty/));
  for (const body of ['[]', '"x"', '5', 'null', 'true']) {
    assert.throws(() => parse(chat, body), isBadRequest(/expected a JSON object/), body);
  }
  assert.throws(() => parse(chat, '{"model":5}'), isBadRequest(/"model" must be string/));
  assert.throws(() => parse(chat, '{"model":"m","messages":"x"}'), isBadRequest(/"messages" must be array/));
  assert.throws(() => parse(chat, '{"model":"m","stream":"yes"}'), isBadRequest(/"stream" must be boolean/));
  assert.throws(() => parse(chat, '{"messages":[]}'), isBadRequest(/model is required/));
  assert.throws(() => parse(chat, '{"model":"  "}'), isBadRequest(/model is required/));
});

test('keys are matched the way Ollama’s Go decoder matches them, regardless of case', () => {
  assert.deepEqual(parse(chat, '{"Model":"qwen3:8b"}').models, ['qwen3:8b']);
  assert.equal(parse(chat, '{"model":"m","STREAM":false}').stream, false);
  assert.throws(() => parse(chat, '{"MODEL":5}'), isBadRequest(/"model" must be string/));
  // Go folds the long s into "s": this key names the copy source.
  const copy = parse(endpoint('POST', '/api/copy'), '{"\u017fource":"a","destination":"b"}');
  assert.deepEqual(copy.models, ['a', 'b']);
});

test('two keys that Ollama would read into one field are refused', () => {
  for (const body of [
    '{"model":"llama3.2","Model":"qwen3:8b"}',
    '{"Model":"qwen3:8b","model":"llama3.2"}',
    '{"model":"a","MODEL":"b","model":"c"}',
    '{"model":"m","stream":false,"Stream":true}',
  ]) {
    assert.throws(() => parse(chat, body), isBadRequest(/both set/), body);
  }
});

test('a copy names both models, and a create names the model it is built from', () => {
  const copy = parse(endpoint('POST', '/api/copy'), '{"source":"llama3.2","destination":"mine"}');
  assert.deepEqual(copy.models, ['llama3.2', 'mine']);
  assert.throws(
    () => parse(endpoint('POST', '/api/copy'), '{"source":"llama3.2"}'),
    isBadRequest(/destination is required/),
  );
  const create = endpoint('POST', '/api/create');
  assert.deepEqual(parse(create, '{"model":"mine","from":"qwen3:8b"}').models, ['mine', 'qwen3:8b']);
  assert.deepEqual(parse(create, '{"model":"mine","files":{}}').models, ['mine']);
  assert.deepEqual(parse(endpoint('POST', '/api/pull'), '{"name":"llama3.2"}').models, ['llama3.2']);
});

test('routes without a JSON body take the model from the path, or name none', () => {
  const model = endpoint('GET', '/v1/models/:model');
  assert.deepEqual(parseRequest(model, undefined, { model: 'qwen3:8b' }).models, ['qwen3:8b']);
  assert.deepEqual(parseRequest(endpoint('GET', '/api/tags'), undefined, {}).models, []);
});

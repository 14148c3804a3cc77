import assert from 'node:assert/strict';
import { test } from 'node:test';
import { boundJson, MAX_STORED_DEPTH } from './bounded-json.js';

const nested = (depth: number): unknown => JSON.parse(`${'['.repeat(depth)}1${']'.repeat(depth)}`);

test('a value within bounds is returned itself, not copied', () => {
  const request = {
    model: 'llama3.2',
    messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }],
  };
  const bounded = boundJson(request);
  assert.equal(bounded.value, request);
  assert.equal(bounded.summarised, false);
  assert.ok(bounded.bytes > 'llama3.2'.length);
});

test('a value nested 200,000 levels deep is cut at the bound, and can then be copied and stored', () => {
  const bounded = boundJson({ prompt: 'x', options: { a: nested(200_000) } });
  assert.equal(bounded.summarised, true);
  // What overflowed the stack before: the writer thread's structured clone and JSON.stringify.
  const stored = JSON.stringify(structuredClone(bounded.value));
  assert.match(stored, /^\{"prompt":"x","options":\{"a":\[\[/);
  assert.match(stored, /"\[left out of history: nested deeper than 64 levels \(200002 in all\)\]"/);
  let depth = 0;
  let max = 0;
  // Brackets outside the note: the containers kept.
  for (const c of stored.replace(/"\[left out[^"]*"/, '0')) {
    if (c === '[' || c === '{') max = Math.max(max, ++depth);
    else if (c === ']' || c === '}') depth--;
  }
  assert.equal(max, MAX_STORED_DEPTH);
});

test('a copy keeps key order, siblings of the deep part, and a "__proto__" key as a plain key', () => {
  const value = JSON.parse(
    `{"z":1,"__proto__":{"polluted":true},"deep":${JSON.stringify(nested(10))},"a":[1,"two",null]}`,
  );
  const bounded = boundJson(value, { maxDepth: 4 });
  const copy = bounded.value as Record<string, unknown>;
  assert.deepEqual(Object.keys(copy), ['z', '__proto__', 'deep', 'a']);
  assert.deepEqual(copy.a, [1, 'two', null]);
  assert.equal(Object.getPrototypeOf(copy), Object.prototype);
  const stored = JSON.parse(JSON.stringify(copy)) as object;
  assert.deepEqual(Object.getOwnPropertyDescriptor(stored, '__proto__')?.value, { polluted: true });
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
});

test('strings can be replaced (large binary payloads summarised) without recursion', () => {
  const image = 'A'.repeat(100);
  const value = { images: [image, 'short'], nested: nested(50_000) };
  const bounded = boundJson(value, {
    replaceString: (s) => (s === image ? '[binary: 100 bytes]' : undefined),
  });
  assert.deepEqual((bounded.value as { images: string[] }).images, ['[binary: 100 bytes]', 'short']);
  assert.equal(bounded.summarised, true);
});

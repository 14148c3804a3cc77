import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ftsQuery } from './fts-query.js';

test('typed queries become safe FTS5 queries', () => {
  assert.deepEqual(ftsQuery('hello world'), { match: '"hello" "world"', terms: ['hello', 'world'] });
  assert.deepEqual(ftsQuery('"rye flour" levain*'), {
    match: '"rye flour" "levain"*',
    terms: ['rye flour', 'levain'],
  });
  assert.deepEqual(ftsQuery('bread -rye'), { match: '("bread") NOT ("rye")', terms: ['bread'] });
  assert.deepEqual(ftsQuery('say "hi'), { match: '"say" """hi"', terms: ['say', '"hi'] });
  assert.equal(ftsQuery('-only'), null, 'nothing to include');
  assert.equal(ftsQuery('*** ()'), null);
});

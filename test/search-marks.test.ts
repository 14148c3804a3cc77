/**
 * What the panel marks for a history search (web/src/lib/highlight.ts): the words the
 * full-text search matched, read the way the server reads the query and the text.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { matchRanges, searchTerms } from '../web/src/lib/highlight.js';

const marked = (q: string, text: string) =>
  matchRanges(text, searchTerms(q)).map(([s, e]) => text.slice(s, e));

test('whole words are marked, case and accents ignored, as the search matches them', () => {
  assert.deepEqual(marked('cafe STATION', 'Recommend a Café near the station, not a cafeteria'), [
    'Café',
    'station',
  ]);
  assert.deepEqual(marked('bread', 'breadcrumbs and bread.'), ['bread']);
});

test('prefixes, phrases and repeated matches are marked; excluded words are not', () => {
  assert.deepEqual(marked('zebra*', 'zebras and a zebracorn; zebr'), ['zebras', 'zebracorn']);
  assert.deepEqual(marked('"rye flour" -levain', 'Use rye  flour, then feed the levain with rye'), [
    'rye  flour',
  ]);
  assert.deepEqual(marked('"big red" red', 'a big red bus'), ['big red'], 'overlapping matches are one mark');
  assert.deepEqual(marked('-only', 'only this'), [], 'nothing to include, nothing marked');
  assert.deepEqual(marked('"unclosed', 'an unclosed quote'), ['unclosed']);
  assert.deepEqual(marked('<b>bold</b>', 'say <b>bold</b> here'), ['b>bold</b']);
});

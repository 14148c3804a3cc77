import assert from 'node:assert/strict';
import { test } from 'node:test';
import { freshPostgresDatabase, postgresSkip } from '../../../test/support/postgres.js';
import { MAX_INDEXED_CHARS } from '../../history/search-text.js';
import { searchQuery, searchVector, tokens } from './full-text.js';
import { createPostgresPool } from './postgres-pool.js';

test('text is cut into folded runs of letters and digits, as FTS5 unicode61 does', () => {
  assert.deepEqual(tokens('Crème Brûlée, llama3.2 foo-bar 東京タワー Ёлка'), [
    'creme',
    'brulee',
    'llama3',
    '2',
    'foo',
    'bar',
    '東京タワー',
    'елка',
  ]);
});

test('typed queries become tsquery literals that cannot be a syntax error', () => {
  assert.deepEqual(searchQuery('hello world'), { query: "'hello' & 'world'", terms: ['hello', 'world'] });
  assert.deepEqual(searchQuery('"rye flour" levain*'), {
    query: "('rye' <-> 'flour') & 'levain':*",
    terms: ['rye flour', 'levain'],
  });
  assert.deepEqual(searchQuery('bread -rye -"sour dough"'), {
    query: "'bread' & !('rye' | ('sour' <-> 'dough'))",
    terms: ['bread'],
  });
  assert.deepEqual(searchQuery("o'reilly*"), { query: "('o' <-> 'reilly':*)", terms: ["o'reilly"] });
  assert.equal(searchQuery('-only'), null, 'nothing to include');
  assert.equal(searchQuery('*** () & | !'), null);
});

test('PostgreSQL takes the literals of any text, up to the indexed size', {
  skip: postgresSkip,
}, async (t) => {
  const pool = createPostgresPool(await freshPostgresDatabase(t));
  t.after(() => pool.end());
  const many = Array.from({ length: MAX_INDEXED_CHARS / 8 }, (_, i) => `w${i.toString(36)}`).join(' ');
  const long = 'x'.repeat(MAX_INDEXED_CHARS);
  const repeated = 'same '.repeat(MAX_INDEXED_CHARS / 5);
  for (const [prompt, answer] of [
    [many, long],
    [repeated, `${'é'.repeat(3000)} \\ ' "`],
  ] as const) {
    const vector = searchVector(prompt, answer);
    const { rows } = await pool.query<{ ok: boolean }>('SELECT length($1::tsvector) > 0 AS ok', [vector]);
    assert.equal(rows[0]?.ok, true);
  }
  const match = async (prompt: string, answer: string, q: string) => {
    const query = searchQuery(q);
    const { rows } = await pool.query<{ m: boolean }>('SELECT $1::tsvector @@ $2::tsquery AS m', [
      searchVector(prompt, answer),
      query?.query,
    ]);
    return rows[0]?.m;
  };
  assert.equal(await match('the rye flour', '', '"rye flour"'), true);
  assert.equal(
    await match('the rye', 'flour is fine', '"rye flour"'),
    false,
    'no phrase across prompt and answer',
  );
  assert.equal(await match(long, '', `${'x'.repeat(3000)}`), true, 'a long word is cut alike on both sides');
  assert.equal(await match('Ünïcödé', '', 'unicode'), true);
});

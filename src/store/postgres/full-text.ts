/**
 * Full text on PostgreSQL, made to behave as SQLite's FTS5 table does (tokenizer
 * 'unicode61 remove_diacritics 2'): text is folded (lower case, diacritics removed) and
 * cut into runs of letters and digits here, in one place, for the records' tsvector and
 * for the queries alike, so a word matches on both backends for the same reasons. The
 * tsvector and the tsquery are passed as literals in bound parameters (`$1::tsvector`,
 * `$1::tsquery`): no text search configuration or parser of the server decides what a
 * word is, and what a person typed never becomes SQL.
 *
 * Query syntax (README, history search): words, "phrases", `prefix*`, `-word`. A word
 * that folds into several tokens (`foo-bar`, `llama3.2`) is a phrase of them, as FTS5
 * treats a quoted string; a prefix applies to the last token. The syntax itself is
 * parsed by the history module (`searchParts`), for both backends.
 */

import { searchParts } from '../../history/search-syntax.js';

/** A token is a run of these (FTS5 unicode61's default token categories L*, N*, Co). */
const TOKEN = /[\p{L}\p{N}\p{Co}]+/gu;

/** PostgreSQL's limits: lexeme bytes, positions, positions per lexeme, lexeme bytes per tsvector. */
const MAX_LEXEME_BYTES = 2046;
const MAX_POSITION = 16383;
const MAX_POSITIONS_PER_LEXEME = 255;
const MAX_VECTOR_BYTES = 1_000_000;

/** Lower case without diacritics; marks are dropped after canonical decomposition. */
export function fold(text: string): string {
  return text.normalize('NFD').replace(/\p{M}/gu, '').normalize('NFC').toLowerCase();
}

/** A lexeme cut to PostgreSQL's length at a character boundary (the index and queries cut alike). */
function clampLexeme(token: string): string {
  if (Buffer.byteLength(token) <= MAX_LEXEME_BYTES) return token;
  let out = '';
  let bytes = 0;
  for (const char of token) {
    const size = Buffer.byteLength(char);
    if (bytes + size > MAX_LEXEME_BYTES) break;
    out += char;
    bytes += size;
  }
  return out;
}

/** The tokens of `text`, as both the index and queries see them. */
export function tokens(text: string): string[] {
  return Array.from(fold(text).matchAll(TOKEN), (found) => clampLexeme(found[0]));
}

/** A lexeme quoted for tsvector and tsquery input: in single quotes, `'` doubled, `\` escaped. */
const quote = (lexeme: string): string => `'${lexeme.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;

/**
 * The tsvector literal of a record's text: the prompt's tokens with weight A, the
 * answer's with weight B after a gap, so a phrase never spans the two (as FTS5 columns).
 * Null when there is no token. Past PostgreSQL's limits, positions stop at its highest
 * and new lexemes are left out, as to_tsvector does.
 */
export function searchVector(prompt: string, answer: string): string | null {
  const positions = new Map<string, string[]>();
  let bytes = 0;
  let position = 0;
  const add = (text: string, weight: 'A' | 'B') => {
    for (const token of tokens(text)) {
      position = Math.min(position + 1, MAX_POSITION);
      let list = positions.get(token);
      if (!list) {
        const size = Buffer.byteLength(token);
        if (bytes + size > MAX_VECTOR_BYTES) continue;
        bytes += size;
        list = [];
        positions.set(token, list);
      }
      if (list.length < MAX_POSITIONS_PER_LEXEME) list.push(`${position}${weight}`);
    }
  };
  add(prompt, 'A');
  position = Math.min(position + 1, MAX_POSITION);
  add(answer, 'B');
  if (positions.size === 0) return null;
  const entries: string[] = [];
  for (const [lexeme, list] of positions) entries.push(`${quote(lexeme)}:${list.join(',')}`);
  return entries.join(' ');
}

export interface SearchQuery {
  /** A tsquery literal, for `search_vector @@ $n::tsquery`. */
  query: string;
  /** The plain words and phrases asked for, for highlighting. */
  terms: string[];
}

/** One word or phrase as a tsquery: its tokens in sequence, the last one a prefix if asked. */
function phrase(text: string, prefix: boolean): string | null {
  const parts = tokens(text).map(quote);
  if (parts.length === 0) return null;
  if (prefix) parts[parts.length - 1] += ':*';
  return parts.length === 1 ? parts[0]! : `(${parts.join(' <-> ')})`;
}

/**
 * What a person typed as a tsquery that cannot be a syntax error; null when it asks for
 * nothing to include (only exclusions, or no letters or digits), as SQLite's ftsQuery.
 */
export function searchQuery(q: string): SearchQuery | null {
  const include: string[] = [];
  const exclude: string[] = [];
  const terms: string[] = [];
  for (const { text, prefix, excluded } of searchParts(q)) {
    const part = phrase(text, prefix);
    if (part === null) continue;
    if (excluded) exclude.push(part);
    else {
      include.push(part);
      terms.push(text);
    }
  }
  if (include.length === 0) return null;
  const wanted = include.join(' & ');
  return { query: exclude.length ? `${wanted} & !(${exclude.join(' | ')})` : wanted, terms };
}

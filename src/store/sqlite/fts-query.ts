/**
 * What a person types into the search box (parsed by the history module's
 * `searchParts`), as an FTS5 MATCH expression.
 */
import { searchParts } from '../../history/search-syntax.js';

/**
 * Turns what a person typed into an FTS5 query that cannot be a syntax error: every
 * word and phrase is quoted; `word*` stays a prefix query; `-word` excludes. Null when
 * nothing is left to include.
 */
export function ftsQuery(q: string): { match: string; terms: string[] } | null {
  const include: string[] = [];
  const exclude: string[] = [];
  const terms: string[] = [];
  for (const { text, prefix, excluded } of searchParts(q)) {
    const quoted = `"${text.replace(/"/g, '""')}"${prefix ? '*' : ''}`;
    if (excluded) exclude.push(quoted);
    else {
      include.push(quoted);
      terms.push(text);
    }
  }
  if (include.length === 0) return null;
  const match = exclude.length ? `(${include.join(' ')}) NOT (${exclude.join(' OR ')})` : include.join(' ');
  return { match, terms };
}

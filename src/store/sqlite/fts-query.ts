/**
 * What a person types into the search box, as an FTS5 MATCH expression: the one place
 * that knows the query syntax the README documents (words, "phrases", prefix*, -word).
 */

/**
 * Turns what a person typed into an FTS5 query that cannot be a syntax error: every
 * word and phrase is quoted; `word*` stays a prefix query; `-word` excludes. Null when
 * nothing is left to include.
 */
export function ftsQuery(q: string): { match: string; terms: string[] } | null {
  const include: string[] = [];
  const exclude: string[] = [];
  const terms: string[] = [];
  for (const found of q.matchAll(/(-?)"([^"]*)"|(\S+)/g)) {
    const phrase = found[2];
    let word = found[3];
    let negated = found[1] === '-';
    if (word?.startsWith('-') && word.length > 1) {
      negated = true;
      word = word.slice(1);
    }
    const prefix = word?.endsWith('*') ?? false;
    const text = (phrase ?? word ?? '').replace(/\*+$/, '');
    // Text without letters or digits has no tokens: skip it rather than match nothing.
    if (!/[\p{L}\p{N}]/u.test(text)) continue;
    const quoted = `"${text.replace(/"/g, '""')}"${prefix ? '*' : ''}`;
    if (negated) exclude.push(quoted);
    else {
      include.push(quoted);
      terms.push(text);
    }
  }
  if (include.length === 0) return null;
  const match = exclude.length ? `(${include.join(' ')}) NOT (${exclude.join(' OR ')})` : include.join(' ');
  return { match, terms };
}

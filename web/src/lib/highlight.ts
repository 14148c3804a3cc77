/**
 * Where a history search matched, for marking it in the text: the query is read as the
 * server reads it (words, "phrases", prefix*, -excluded; see ftsQuery in the store) and
 * text is split into words as the full-text index splits it (letters and digits; case
 * and accents ignored). Marks are made only as DOM nodes and text, never from HTML.
 */

/** One thing to find: a run of words; with `prefix`, the last may continue. */
export interface SearchTerm {
  words: string[];
  prefix: boolean;
}

const WORD = /[\p{L}\p{N}\p{Co}]+/gu;

/** A word as the index compares it: accents removed, lower case. */
const fold = (word: string): string => word.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();

/** The terms of a query that a match contains (excluded words are never shown as matches). */
export function searchTerms(q: string): SearchTerm[] {
  const terms: SearchTerm[] = [];
  for (const found of q.matchAll(/(-?)"([^"]*)"|(\S+)/g)) {
    const phrase = found[2];
    let word = found[3];
    let negated = found[1] === '-';
    if (word?.startsWith('-') && word.length > 1) {
      negated = true;
      word = word.slice(1);
    }
    if (negated) continue;
    const prefix = word?.endsWith('*') ?? false;
    const words = [...(phrase ?? word ?? '').replace(/\*+$/, '').matchAll(WORD)].map((m) => fold(m[0]));
    if (words.length > 0) terms.push({ words, prefix });
  }
  return terms;
}

/** [start, end) ranges of `text` that match a term, in order, merged where they touch. */
export function matchRanges(text: string, terms: readonly SearchTerm[]): [number, number][] {
  if (terms.length === 0) return [];
  const words = [...text.matchAll(WORD)].map((m) => ({
    start: m.index,
    end: m.index + m[0].length,
    key: fold(m[0]),
  }));
  const found: [number, number][] = [];
  words.forEach((first, i) => {
    for (const term of terms) {
      const run = words.slice(i, i + term.words.length);
      if (run.length < term.words.length) continue;
      const matches = run.every(
        (got, j) =>
          got.key === term.words[j] ||
          (term.prefix && j === run.length - 1 && got.key.startsWith(term.words[j] as string)),
      );
      if (matches) found.push([first.start, (run[run.length - 1] as typeof first).end]);
    }
  });
  found.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const merged: [number, number][] = [];
  for (const range of found) {
    const last = merged[merged.length - 1];
    if (last && range[0] <= last[1]) last[1] = Math.max(last[1], range[1]);
    else merged.push([range[0], range[1]]);
  }
  return merged;
}

/**
 * Wraps each match inside `root`'s text nodes in a <mark>, built with createElement and
 * text nodes: the text stays text, whatever it holds. A match is found within one text
 * node (a phrase split by formatting is not marked).
 */
export function markMatches(root: Node, terms: readonly SearchTerm[]): void {
  if (terms.length === 0) return;
  const doc = root.ownerDocument ?? (root as Document);
  const walker = doc.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  const texts: Text[] = [];
  for (let node = walker.nextNode(); node; node = walker.nextNode()) texts.push(node as Text);
  for (const node of texts) {
    const text = node.data;
    const ranges = matchRanges(text, terms);
    if (ranges.length === 0) continue;
    const pieces = doc.createDocumentFragment();
    let at = 0;
    for (const [start, end] of ranges) {
      if (start > at) pieces.append(doc.createTextNode(text.slice(at, start)));
      const mark = doc.createElement('mark');
      mark.textContent = text.slice(start, end);
      pieces.append(mark);
      at = end;
    }
    if (at < text.length) pieces.append(doc.createTextNode(text.slice(at)));
    node.replaceWith(pieces);
  }
}

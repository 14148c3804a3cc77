/**
 * The history search box's syntax, as the README documents it: words, "phrases",
 * `prefix*`, and `-word` or `-"phrase"` to exclude. Each store turns these parts into
 * its own full-text query; parsing them in one place keeps the backends answering alike.
 */

export interface SearchPart {
  /** The word or phrase, without quotes, a leading `-` or a trailing `*`. */
  text: string;
  /** `word*`: matches words that start with the (last) word. */
  prefix: boolean;
  /** `-word`: records holding it are left out. */
  excluded: boolean;
}

/** The parts of what a person typed; text without letters or digits is skipped (it has no words). */
export function searchParts(q: string): SearchPart[] {
  const parts: SearchPart[] = [];
  for (const found of q.matchAll(/(-?)"([^"]*)"|(\S+)/g)) {
    const phrase = found[2];
    let word = found[3];
    let excluded = found[1] === '-';
    if (word?.startsWith('-') && word.length > 1) {
      excluded = true;
      word = word.slice(1);
    }
    const prefix = word?.endsWith('*') ?? false;
    const text = (phrase ?? word ?? '').replace(/\*+$/, '');
    if (!/[\p{L}\p{N}]/u.test(text)) continue;
    parts.push({ text, prefix, excluded });
  }
  return parts;
}

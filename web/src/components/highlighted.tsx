/**
 * Plain text with the matches of a search marked (<mark>), as text nodes and elements:
 * nothing in the text is ever read as HTML.
 */
import { matchRanges, type SearchTerm } from '../lib/highlight.js';

export function Highlighted({ text, terms }: { text: string; terms: readonly SearchTerm[] }) {
  const ranges = matchRanges(text, terms);
  if (ranges.length === 0) return <>{text}</>;
  const pieces = [];
  let at = 0;
  for (const [start, end] of ranges) {
    if (start > at) pieces.push(text.slice(at, start));
    pieces.push(<mark key={start}>{text.slice(start, end)}</mark>);
    at = end;
  }
  if (at < text.length) pieces.push(text.slice(at));
  return <>{pieces}</>;
}

/**
 * History: full-text search and filters over every token's requests, newest first,
 * with links to each conversation and export of the current selection. The filters live
 * in the query string; a change searches again, and the matches are marked.
 */
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import {
  type Filters,
  filtersFrom,
  filtersToQuery,
  HistoryFilters,
} from '../../components/history-filters.js';
import { HistoryList } from '../../components/history-list.js';
import { ErrorNote, Loading } from '../../components/notice.js';
import { api, messageOf, type Query, withQuery } from '../../lib/api.js';
import { dayEnd, dayStart } from '../../lib/format.js';
import { searchTerms } from '../../lib/highlight.js';
import { navigate, useLocation } from '../../lib/router.js';
import type { HistoryItem, Page, TokenView } from '../../lib/types.js';

export function apiFilters(filters: Filters): Query {
  return {
    q: filters.q.trim(),
    token: filters.token,
    model: filters.model.trim(),
    status: filters.status,
    since: dayStart(filters.since),
    until: dayEnd(filters.until),
  };
}

export function HistoryPage() {
  const location = useLocation();
  const filters = filtersFrom(location.query);
  const key = filtersToQuery(filters);
  const keyRef = useRef(key);
  keyRef.current = key;
  const [items, setItems] = useState<HistoryItem[] | null>(null);
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [tokens, setTokens] = useState<{ value: string; label: string }[]>([]);

  useEffect(() => {
    api.get<TokenView[] | { items: TokenView[] }>('/tokens').then(
      (answer) => {
        const list = Array.isArray(answer) ? answer : answer.items;
        setTokens(list.map((t) => ({ value: t.id, label: `${t.name} (${t.prefix})` })));
      },
      () => {},
    );
  }, []);

  // `key` stands for the filters: a new search whenever the query string changes. The
  // list shown stays until the new one arrives, and an answer to filters already left
  // behind (filters change as one types) is dropped.
  const [searching, setSearching] = useState(false);
  useEffect(() => {
    let current = true;
    setSearching(true);
    api.get<Page<HistoryItem>>('/history', { ...apiFilters(filters), limit: 50 }).then(
      (page) => {
        if (!current) return;
        setItems(page.items);
        setNext(page.next);
        setError(null);
        setSearching(false);
      },
      (e) => {
        if (!current) return;
        setError(messageOf(e));
        setSearching(false);
      },
    );
    return () => {
      current = false;
    };
  }, [key]);
  const terms = useMemo(() => searchTerms(filters.q), [filters.q]);

  const more = async () => {
    if (!next) return;
    const asked = key;
    try {
      const page = await api.get<Page<HistoryItem>>('/history', {
        ...apiFilters(filters),
        limit: 50,
        cursor: next,
      });
      // A page for filters already left behind would mix two searches.
      if (asked !== keyRef.current) return;
      setItems((old) => [...(old ?? []), ...page.items]);
      setNext(page.next);
    } catch (e) {
      setError(messageOf(e));
    }
  };

  const exportHref = (format: string) =>
    withQuery('/admin/api/history/export', { format, ...apiFilters(filters) });

  return (
    <section aria-labelledby="history-title" aria-busy={searching}>
      <div class="page-head">
        <h1 id="history-title">History</h1>
      </div>
      <HistoryFilters
        idPrefix="history"
        value={filters}
        tokens={tokens}
        // Typing updates the address in place; a choice or a search is a step Back can undo.
        onSearch={(f, change) => navigate(`/admin/history${filtersToQuery(f)}`, change === 'typed')}
      />
      <nav class="exports" aria-label="Export these results">
        Export:{' '}
        <a href={exportHref('jsonl')} download>
          JSONL
        </a>{' '}
        <a href={exportHref('csv')} download>
          CSV
        </a>{' '}
        <a href={exportHref('markdown')} download>
          Markdown
        </a>
      </nav>
      <ErrorNote error={error} />
      {items === null ? (
        !error && <Loading what="Searching" />
      ) : items.length === 0 ? (
        <p class="muted" role="status">
          Nothing found.
        </p>
      ) : (
        <>
          <p class="muted" role="status">
            {items.length}
            {next ? '+' : ''} result{items.length === 1 ? '' : 's'}
          </p>
          <HistoryList
            caption="History results"
            items={items}
            terms={terms}
            open={(item, content) => (
              <a href={`/admin/history/${encodeURIComponent(item.id)}${key}`} class="prompt-link">
                {content}
              </a>
            )}
          />
          {next && (
            <button type="button" onClick={more}>
              Load more
            </button>
          )}
        </>
      )}
    </section>
  );
}

/**
 * The search box and filters over history: full text, model (a name or a glob), status
 * and a date range (plus token for admins). A change applies by itself: a choice or a
 * date at once, typed text once typing pauses; Enter or Search applies at once. The
 * applied values live with the page (the admin page keeps them in its query string).
 */
import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';

export interface Filters {
  q: string;
  token: string;
  model: string;
  status: string;
  since: string;
  until: string;
}

export const EMPTY_FILTERS: Filters = { q: '', token: '', model: '', status: '', since: '', until: '' };

export function filtersFrom(query: URLSearchParams): Filters {
  const out = { ...EMPTY_FILTERS };
  for (const key of Object.keys(out) as (keyof Filters)[]) out[key] = query.get(key) ?? '';
  return out;
}

export function filtersToQuery(filters: Filters): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(filters)) if (value) params.set(key, value);
  const text = params.toString();
  return text ? `?${text}` : '';
}

const STATUSES: [string, string][] = [
  ['', 'Any'],
  ['ok', 'OK'],
  ['error', 'Error'],
  ['refused', 'Refused'],
  ['aborted', 'Aborted'],
  ['in_progress', 'Running'],
];

/** How a change was made: typed (applied after a pause), chosen, or asked for (Search). */
export type FilterChange = 'typed' | 'chosen' | 'submitted';

/** How long typing must pause before what was typed applies. */
export const TYPING_PAUSE_MS = 300;

interface Props {
  idPrefix: string;
  value: Filters;
  onSearch: (filters: Filters, change: FilterChange) => void;
  tokens?: { value: string; label: string }[];
  children?: ComponentChildren;
}

export function HistoryFilters({ idPrefix, value, onSearch, tokens, children }: Props) {
  const [draft, setDraft] = useState(value);
  // The latest draft, for a pending timer to apply (state in its closure would be stale).
  const latest = useRef(value);
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const applied = filtersToQuery(value);
  // What this form last applied. The page renders again with it (and with equal copies
  // of it when a list or the token names arrive) while the person may be typing on:
  // only filters applied from elsewhere (Back, a link) replace the draft, or typing is lost.
  const sent = useRef(applied);
  useEffect(() => {
    if (applied === sent.current) return;
    sent.current = applied;
    clearTimeout(timer.current);
    latest.current = value;
    setDraft(value);
  }, [applied]);
  useEffect(() => () => clearTimeout(timer.current), []);

  const apply = (filters: Filters, change: FilterChange) => {
    clearTimeout(timer.current);
    const query = filtersToQuery(filters);
    if (query === sent.current && change !== 'submitted') return;
    sent.current = query;
    onSearch(filters, change);
  };
  const set = (key: keyof Filters, change: 'typed' | 'chosen') => (event: Event) => {
    const filters = { ...latest.current, [key]: (event.currentTarget as HTMLInputElement).value };
    latest.current = filters;
    setDraft(filters);
    clearTimeout(timer.current);
    if (change === 'chosen') apply(filters, change);
    else timer.current = setTimeout(() => apply(latest.current, 'typed'), TYPING_PAUSE_MS);
  };
  const id = (name: string) => `${idPrefix}-${name}`;
  return (
    <search>
      <form
        class="filters card"
        onSubmit={(e) => {
          e.preventDefault();
          apply(latest.current, 'submitted');
        }}
      >
        <div class="search-row">
          <label for={id('q')} class="sr-only">
            Search prompts and answers
          </label>
          <input
            id={id('q')}
            type="search"
            placeholder="Search prompts and answers"
            value={draft.q}
            onInput={set('q', 'typed')}
          />
          <button type="submit" class="primary">
            Search
          </button>
        </div>
        <div class="grid filter-grid">
          {tokens && (
            <div>
              <label for={id('token')}>Token</label>
              <select id={id('token')} value={draft.token} onChange={set('token', 'chosen')}>
                <option value="">All tokens</option>
                {tokens.map((t) => (
                  <option key={t.value} value={t.value}>
                    {t.label}
                  </option>
                ))}
              </select>
            </div>
          )}
          <div>
            <label for={id('model')}>Model</label>
            <input
              id={id('model')}
              value={draft.model}
              onInput={set('model', 'typed')}
              placeholder="any, or a glob: llama3.*"
              spellcheck={false}
              autoCapitalize="off"
            />
          </div>
          <div>
            <label for={id('status')}>Status</label>
            <select id={id('status')} value={draft.status} onChange={set('status', 'chosen')}>
              {STATUSES.map(([v, label]) => (
                <option key={v} value={v}>
                  {label}
                </option>
              ))}
            </select>
          </div>
          <div>
            <label for={id('since')}>From</label>
            <input id={id('since')} type="date" value={draft.since} onInput={set('since', 'chosen')} />
          </div>
          <div>
            <label for={id('until')}>To</label>
            <input id={id('until')} type="date" value={draft.until} onInput={set('until', 'chosen')} />
          </div>
        </div>
        {children}
      </form>
    </search>
  );
}

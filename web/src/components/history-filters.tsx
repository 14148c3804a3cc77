/**
 * The search box and filters over history: full text, model, status and a date range
 * (plus token for admins). The values live in the page's query string.
 */
import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';

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

interface Props {
  idPrefix: string;
  value: Filters;
  onSearch: (filters: Filters) => void;
  tokens?: { value: string; label: string }[];
  children?: ComponentChildren;
}

export function HistoryFilters({ idPrefix, value, onSearch, tokens, children }: Props) {
  const [draft, setDraft] = useState(value);
  // Reset the draft only when the applied filters change, not whenever the page renders
  // again with an equal copy of them (a list or token names arriving), or typing is lost.
  const applied = filtersToQuery(value);
  useEffect(() => setDraft(value), [applied]);
  const set = (key: keyof Filters) => (event: Event) =>
    setDraft((d) => ({ ...d, [key]: (event.currentTarget as HTMLInputElement).value }));
  const id = (name: string) => `${idPrefix}-${name}`;
  return (
    <search>
      <form
        class="filters card"
        onSubmit={(e) => {
          e.preventDefault();
          onSearch(draft);
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
            onInput={set('q')}
          />
          <button type="submit" class="primary">
            Search
          </button>
        </div>
        <div class="grid filter-grid">
          {tokens && (
            <div>
              <label for={id('token')}>Token</label>
              <select id={id('token')} value={draft.token} onChange={set('token')}>
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
            <input id={id('model')} value={draft.model} onInput={set('model')} placeholder="any" />
          </div>
          <div>
            <label for={id('status')}>Status</label>
            <select id={id('status')} value={draft.status} onChange={set('status')}>
              {STATUSES.map(([v, label]) => (
                <option key={v} value={v}>
                  {label}
                </option>
              ))}
            </select>
          </div>
          <div>
            <label for={id('since')}>From</label>
            <input id={id('since')} type="date" value={draft.since} onInput={set('since')} />
          </div>
          <div>
            <label for={id('until')}>To</label>
            <input id={id('until')} type="date" value={draft.until} onInput={set('until')} />
          </div>
        </div>
        {children}
      </form>
    </search>
  );
}

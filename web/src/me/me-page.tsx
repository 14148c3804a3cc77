/**
 * The token holder's own page: paste the token (kept only in this tab's sessionStorage),
 * then see its limits and usage, search its own history, read an exchange and export.
 * Talks only to /api/companion/me, with the token as a Bearer credential.
 */
import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { ExchangeView } from '../components/exchange-view.js';
import { EMPTY_FILTERS, type Filters, HistoryFilters } from '../components/history-filters.js';
import { HistoryList } from '../components/history-list.js';
import { ErrorNote, Loading } from '../components/notice.js';
import { QuotaBars } from '../components/quota-bars.js';
import { ApiError, messageOf, type Query, requestJson, withQuery } from '../lib/api.js';
import { itemMessages } from '../lib/exchange.js';
import { dateTime, dayEnd, dayStart, toMillis } from '../lib/format.js';
import { searchTerms } from '../lib/highlight.js';
import type { HistoryItem, MeAnswer } from '../lib/types.js';

const STORAGE_KEY = 'ollama-companion.token';

function stored(): string {
  try {
    return sessionStorage.getItem(STORAGE_KEY) ?? '';
  } catch {
    return '';
  }
}

const query = (f: Filters): Query => ({
  q: f.q.trim(),
  model: f.model.trim(),
  status: f.status,
  since: dayStart(f.since),
  until: dayEnd(f.until),
});

function TokenForm({ onToken, error }: { onToken: (token: string) => void; error: string | null }) {
  const [value, setValue] = useState('');
  return (
    <main id="main" class="center">
      <section class="card narrow" aria-labelledby="me-title">
        <h1 id="me-title">My token</h1>
        <p class="muted">See your usage, limits and history. The token stays in this browser tab only.</p>
        <form
          onSubmit={(e) => {
            e.preventDefault();
            if (value.trim()) onToken(value.trim());
          }}
        >
          <label for="me-token">Your token</label>
          <input
            id="me-token"
            type="password"
            autoComplete="off"
            spellcheck={false}
            required
            value={value}
            onInput={(e) => setValue(e.currentTarget.value)}
          />
          <ErrorNote error={error} />
          <button type="submit" class="primary">
            Show my usage
          </button>
        </form>
      </section>
    </main>
  );
}

async function download(token: string, format: string, filters: Filters): Promise<void> {
  const response = await fetch(withQuery('/api/companion/me/export', { format, ...query(filters) }), {
    headers: { authorization: `Bearer ${token}` },
    cache: 'no-store',
  });
  if (!response.ok)
    throw new ApiError(response.status, 'export_failed', `export failed (${response.status})`);
  const blob = await response.blob();
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = `history.${format === 'markdown' ? 'md' : format}`;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/**
 * The whole stored record of one of the token's own exchanges (lists carry only the
 * start of prompt and answer): the token's export, narrowed to the millisecond the
 * exchange started, holds it.
 */
async function fullRecord(token: string, item: HistoryItem): Promise<HistoryItem> {
  const at = toMillis(item.startedAt);
  if (at === null) return item;
  const response = await fetch(
    withQuery('/api/companion/me/export', { format: 'jsonl', since: at, until: at + 1 }),
    { headers: { authorization: `Bearer ${token}` }, cache: 'no-store' },
  );
  if (!response.ok) return item;
  for (const line of (await response.text()).split('\n')) {
    if (!line.trim()) continue;
    const record = JSON.parse(line) as HistoryItem;
    if (record.id === item.id) return record;
  }
  return item;
}

/**
 * What a token holder can do about a refused token, from the companion's 401/403 messages
 * (`token revoked`, `token expired`, `token disabled`, `invalid token`); null for other errors.
 */
function refusalOf(error: ApiError): string | null {
  if (error.status === 403 && /disabled/.test(error.message))
    return 'This token is disabled; ask an admin to enable it again.';
  if (error.status !== 401) return null;
  if (/revoked|expired/.test(error.message))
    return 'This token was revoked or has expired; ask an admin for a new one.';
  return 'This token is not known here; check that you pasted all of it.';
}

export function MePage() {
  const [token, setToken] = useState(stored);
  const [data, setData] = useState<MeAnswer | null>(null);
  const [items, setItems] = useState<HistoryItem[]>([]);
  const [next, setNext] = useState<string | null>(null);
  const [filters, setFilters] = useState<Filters>(EMPTY_FILTERS);
  const [selected, setSelected] = useState<HistoryItem | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  // Filters change as one types: only the answer to the latest request is shown.
  const latestRequest = useRef(0);
  const terms = useMemo(() => searchTerms(filters.q), [filters.q]);

  const forget = useCallback((why: string | null = null) => {
    try {
      sessionStorage.removeItem(STORAGE_KEY);
    } catch {
      // Storage may be disabled; nothing to forget then.
    }
    setToken('');
    setData(null);
    setItems([]);
    setSelected(null);
    setError(why);
  }, []);

  const fetchPage = useCallback(
    async (cursor?: string) => {
      const request = ++latestRequest.current;
      setBusy(true);
      try {
        const answer = await requestJson<MeAnswer>(
          'GET',
          withQuery('/api/companion/me', { ...query(filters), cursor }),
          {
            headers: { authorization: `Bearer ${token}` },
          },
        );
        if (request !== latestRequest.current) return;
        setData(answer);
        setItems((old) => (cursor ? [...old, ...answer.history.items] : answer.history.items));
        setNext(answer.history.next);
        setError(null);
      } catch (e) {
        if (request !== latestRequest.current) return;
        const refused = e instanceof ApiError ? refusalOf(e) : null;
        if (refused) forget(refused);
        else setError(messageOf(e));
      } finally {
        if (request === latestRequest.current) setBusy(false);
      }
    },
    [token, filters, forget],
  );

  useEffect(() => {
    if (token) fetchPage();
  }, [token, fetchPage]);

  useEffect(() => {
    document.title = 'My token · Ollama Companion';
  }, []);

  if (!token) {
    return (
      <TokenForm
        error={error}
        onToken={(value) => {
          try {
            sessionStorage.setItem(STORAGE_KEY, value);
          } catch {
            // Without storage the token lives only in memory.
          }
          setToken(value);
        }}
      />
    );
  }

  const info = data?.token;
  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <span class="brand">Ollama Companion</span>
        <div class="who">
          {info && (
            <span>
              {info.name} <code>{info.prefix}</code>
            </span>
          )}
          <button type="button" class="link" onClick={() => forget()}>
            Forget token
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        <h1>My token</h1>
        <ErrorNote error={error} />
        {!info ? (
          !error && <Loading />
        ) : (
          <>
            <section class="card" aria-labelledby="me-limits">
              <h2 id="me-limits">Limits and usage</h2>
              <dl class="facts">
                <div>
                  <dt>Models</dt>
                  <dd>{info.models.join(', ')}</dd>
                </div>
                <div>
                  <dt>Scopes</dt>
                  <dd>{info.scopes.join(', ')}</dd>
                </div>
                <div>
                  <dt>Expires</dt>
                  <dd>{info.expiresAt ? dateTime(info.expiresAt) : 'never'}</dd>
                </div>
                <div>
                  <dt>History kept</dt>
                  <dd>{info.historyMode}</dd>
                </div>
              </dl>
              <QuotaBars limits={info.limits} usage={info.usage} all />
            </section>
            <section aria-labelledby="me-history">
              <h2 id="me-history">My history</h2>
              <HistoryFilters idPrefix="me" value={filters} onSearch={(f) => setFilters(f)} />
              <div class="exports">
                Export:{' '}
                {['jsonl', 'csv', 'markdown'].map((format) => (
                  <button
                    key={format}
                    type="button"
                    class="link"
                    onClick={() => download(token, format, filters).catch((e) => setError(messageOf(e)))}
                  >
                    {format === 'jsonl' ? 'JSONL' : format === 'csv' ? 'CSV' : 'Markdown'}
                  </button>
                ))}
              </div>
              {selected && (
                <section class="selected" aria-label="Selected exchange">
                  <ExchangeView item={selected} messages={itemMessages(selected)} current terms={terms} />
                  <button type="button" onClick={() => setSelected(null)}>
                    Close
                  </button>
                </section>
              )}
              {items.length === 0 ? (
                <p class="muted" role="status">
                  {busy ? 'Loading…' : 'Nothing found.'}
                </p>
              ) : (
                <HistoryList
                  caption="My requests"
                  items={items}
                  showToken={false}
                  terms={terms}
                  open={(item, content) => (
                    <button
                      type="button"
                      class="link prompt-link"
                      onClick={async () => {
                        setSelected(item);
                        window.scrollTo(0, 0);
                        const full = await fullRecord(token, item).catch(() => item);
                        setSelected((current) => (current?.id === item.id ? full : current));
                      }}
                    >
                      {content}
                    </button>
                  )}
                />
              )}
              {next && (
                <button type="button" disabled={busy} onClick={() => fetchPage(next)}>
                  Load more
                </button>
              )}
            </section>
          </>
        )}
      </main>
    </>
  );
}

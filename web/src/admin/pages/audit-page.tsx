/**
 * The audit log: every admin action, from the panel, the API or the command line — who
 * did it, to what (by name), what changed in words, when, from where, and its outcome.
 * Filters (actor, action, outcome, a date range) live in the query string and apply as
 * soon as one changes.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { ErrorNote, Loading } from '../../components/notice.js';
import { api, messageOf } from '../../lib/api.js';
import { dateTime, dayEnd, dayStart, isoAttr } from '../../lib/format.js';
import { navigate, useLocation } from '../../lib/router.js';
import type { AuditEntry, AuditFacets, Page } from '../../lib/types.js';

interface AuditFilters {
  actor: string;
  action: string;
  outcome: string;
  since: string;
  until: string;
}

const KEYS: (keyof AuditFilters)[] = ['actor', 'action', 'outcome', 'since', 'until'];

function filtersFrom(query: URLSearchParams): AuditFilters {
  const out = { actor: '', action: '', outcome: '', since: '', until: '' };
  for (const key of KEYS) out[key] = query.get(key) ?? '';
  return out;
}

function toQuery(filters: AuditFilters): string {
  const params = new URLSearchParams();
  for (const key of KEYS) if (filters[key]) params.set(key, filters[key]);
  const text = params.toString();
  return text ? `?${text}` : '';
}

/** What a target is, by name when the log knows it: "token laptop", "admin victor". */
function targetText(entry: AuditEntry): string {
  if (!entry.targetType) return '—';
  const name = entry.targetName ?? (entry.targetId ? `#${entry.targetId.slice(0, 8)}` : '');
  return name ? `${entry.targetType} ${name}` : entry.targetType;
}

/** The families of actions in the log ("token.*"), for the action filter. */
function families(actions: string[]): string[] {
  const seen = new Set<string>();
  for (const action of actions) {
    const dot = action.indexOf('.');
    if (dot > 0) seen.add(`${action.slice(0, dot)}.*`);
  }
  return [...seen].sort();
}

export function AuditPage() {
  const location = useLocation();
  const filters = filtersFrom(location.query);
  const key = toQuery(filters);
  const [items, setItems] = useState<AuditEntry[] | null>(null);
  const [loading, setLoading] = useState(false);
  const keyRef = useRef(key);
  keyRef.current = key;
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [facets, setFacets] = useState<AuditFacets>({ actors: [], actions: [] });

  const apiQuery = () => ({
    actor: filters.actor,
    action: filters.action,
    outcome: filters.outcome,
    since: dayStart(filters.since),
    until: dayEnd(filters.until),
    limit: 100,
  });

  useEffect(() => {
    api.get<AuditFacets>('/audit/facets').then(setFacets, () => {});
  }, []);

  // `key` stands for the filters: a new list whenever the query string changes. The
  // rows on screen stay until the new ones arrive, so the table does not blink, and an
  // answer for filters that have since changed is dropped.
  useEffect(() => {
    let current = true;
    setError(null);
    setLoading(true);
    api.get<Page<AuditEntry>>('/audit', apiQuery()).then(
      (page) => {
        if (!current) return;
        setItems(page.items);
        setNext(page.next);
        setLoading(false);
      },
      (e) => {
        if (!current) return;
        setError(messageOf(e));
        setLoading(false);
      },
    );
    return () => {
      current = false;
    };
  }, [key]);

  const more = async () => {
    if (!next) return;
    const asked = key;
    try {
      const page = await api.get<Page<AuditEntry>>('/audit', { ...apiQuery(), cursor: next });
      // A page for filters already left behind would mix two lists.
      if (asked !== keyRef.current) return;
      setItems((old) => [...(old ?? []), ...page.items]);
      setNext(page.next);
    } catch (e) {
      setError(messageOf(e));
    }
  };

  const apply = (name: keyof AuditFilters) => (event: Event) =>
    navigate(
      `/admin/audit${toQuery({ ...filters, [name]: (event.currentTarget as HTMLInputElement).value })}`,
      true,
    );
  const filtered = KEYS.some((k) => filters[k]);
  // A value in the address that the log does not list (yet) stays selectable.
  const actorOptions = facets.actors.map((a) => a.actor);
  if (filters.actor && filters.actor !== 'cli' && !actorOptions.includes(filters.actor))
    actorOptions.push(filters.actor);
  const actionOptions = [...families(facets.actions), ...facets.actions];
  if (filters.action && !actionOptions.includes(filters.action)) actionOptions.push(filters.action);

  return (
    <section aria-labelledby="audit-title" aria-busy={loading}>
      <div class="page-head">
        <h1 id="audit-title">Audit log</h1>
      </div>
      <search>
        <form class="filters card" onSubmit={(e) => e.preventDefault()}>
          <div class="grid filter-grid">
            <div>
              <label for="audit-actor">Who</label>
              <select id="audit-actor" value={filters.actor} onChange={apply('actor')}>
                <option value="">Anyone</option>
                <option value="cli">Command line (any user)</option>
                {actorOptions.map((actor) => (
                  <option key={actor} value={actor}>
                    {actor}
                  </option>
                ))}
              </select>
            </div>
            <div>
              <label for="audit-action">Action</label>
              <select id="audit-action" value={filters.action} onChange={apply('action')}>
                <option value="">Every action</option>
                {actionOptions.map((action) => (
                  <option key={action} value={action}>
                    {action.endsWith('.*') ? `${action.slice(0, -2)} (all)` : action}
                  </option>
                ))}
              </select>
            </div>
            <div>
              <label for="audit-outcome">Outcome</label>
              <select id="audit-outcome" value={filters.outcome} onChange={apply('outcome')}>
                <option value="">Any</option>
                <option value="ok">ok</option>
                <option value="denied">denied</option>
                <option value="failed">failed</option>
              </select>
            </div>
            <div>
              <label for="audit-since">From</label>
              <input id="audit-since" type="date" value={filters.since} onChange={apply('since')} />
            </div>
            <div>
              <label for="audit-until">To</label>
              <input id="audit-until" type="date" value={filters.until} onChange={apply('until')} />
            </div>
          </div>
          {filtered && (
            <p>
              <a href="/admin/audit">Clear the filters</a>
            </p>
          )}
        </form>
      </search>
      <ErrorNote error={error} />
      {items === null ? (
        !error && <Loading what="Loading the audit log" />
      ) : items.length === 0 ? (
        <p class="muted" role="status">
          {filtered ? 'No entries match these filters.' : 'No admin actions yet.'}
        </p>
      ) : (
        <>
          <div class="table-wrap">
            <table class="audit cards">
              <caption class="sr-only">Admin actions, newest first</caption>
              <thead>
                <tr>
                  <th scope="col">When</th>
                  <th scope="col">Who</th>
                  <th scope="col">Action</th>
                  <th scope="col">Target</th>
                  <th scope="col">Outcome</th>
                  <th scope="col">From</th>
                  <th scope="col">Details</th>
                </tr>
              </thead>
              <tbody>
                {items.map((entry) => (
                  <tr key={entry.id}>
                    <td data-label="When">
                      <time dateTime={isoAttr(entry.at)}>{dateTime(entry.at)}</time>
                    </td>
                    <td data-label="Who">{entry.actor ?? entry.adminUsername ?? '—'}</td>
                    <td data-label="Action">
                      <code>{entry.action}</code>
                    </td>
                    <td data-label="Target">{targetText(entry)}</td>
                    <td data-label="Outcome">
                      <span class={`badge ${entry.outcome === 'ok' ? 'ok' : 'bad'}`}>{entry.outcome}</span>
                    </td>
                    <td data-label="From">
                      {entry.actorKind === 'cli' ? 'command line' : (entry.ip ?? '—')}
                    </td>
                    <td data-label="Details" class="details">
                      {entry.summary ?? ''}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
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

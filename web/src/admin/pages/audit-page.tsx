/** The audit log: every admin action, who did it, when, from where, and its outcome. */
import { useEffect, useState } from 'preact/hooks';
import { ErrorNote, Loading } from '../../components/notice.js';
import { api, messageOf } from '../../lib/api.js';
import { dateTime, isoAttr } from '../../lib/format.js';
import type { AuditEntry, Page } from '../../lib/types.js';

function details(value: unknown): string {
  if (value === null || value === undefined) return '';
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return text === '{}' ? '' : text;
}

export function AuditPage() {
  const [items, setItems] = useState<AuditEntry[] | null>(null);
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);

  const load = async (cursor?: string) => {
    try {
      const page = await api.get<Page<AuditEntry>>('/audit', { limit: 100, cursor });
      setItems((old) => (cursor ? [...(old ?? []), ...page.items] : page.items));
      setNext(page.next);
    } catch (e) {
      setError(messageOf(e));
    }
  };
  useEffect(() => {
    load();
  }, []);

  return (
    <section aria-labelledby="audit-title">
      <div class="page-head">
        <h1 id="audit-title">Audit log</h1>
      </div>
      <ErrorNote error={error} />
      {items === null ? (
        !error && <Loading what="Loading the audit log" />
      ) : items.length === 0 ? (
        <p class="muted">No admin actions yet.</p>
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
                    <td data-label="Who">{entry.adminUsername ?? '—'}</td>
                    <td data-label="Action">
                      <code>{entry.action}</code>
                    </td>
                    <td data-label="Target">
                      {entry.targetType ? `${entry.targetType} ${entry.targetId ?? ''}` : '—'}
                    </td>
                    <td data-label="Outcome">
                      <span class={`badge ${entry.outcome === 'ok' ? 'ok' : 'bad'}`}>{entry.outcome}</span>
                    </td>
                    <td data-label="From">{entry.ip ?? '—'}</td>
                    <td data-label="Details" class="details">
                      {details(entry.details)}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          {next && (
            <button type="button" onClick={() => load(next)}>
              Load more
            </button>
          )}
        </>
      )}
    </section>
  );
}

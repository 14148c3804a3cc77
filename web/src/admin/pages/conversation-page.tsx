/**
 * One conversation: every exchange of the thread the chosen record belongs to, oldest
 * first, with the chosen one marked and the matches of the search it was found by
 * highlighted. Admins can redact an exchange (its content is erased; a tombstone stays).
 */
import { useCallback, useEffect, useMemo, useState } from 'preact/hooks';
import { ExchangeView } from '../../components/exchange-view.js';
import { ErrorNote, Loading, OkNote } from '../../components/notice.js';
import { api, messageOf } from '../../lib/api.js';
import { newMessages } from '../../lib/exchange.js';
import { searchTerms } from '../../lib/highlight.js';
import { useLocation } from '../../lib/router.js';
import type { HistoryItem, Session, Thread } from '../../lib/types.js';

function Redact({ item, onDone }: { item: HistoryItem; onDone: (error?: string) => void }) {
  const [confirming, setConfirming] = useState(false);
  if (item.redactedAt) return null;
  if (!confirming) {
    return (
      <button type="button" class="danger small" onClick={() => setConfirming(true)}>
        Redact
      </button>
    );
  }
  return (
    <span class="confirm">
      <button
        type="button"
        class="danger small"
        onClick={async () => {
          try {
            await api.delete(`/history/${encodeURIComponent(item.id)}`);
            onDone();
          } catch (e) {
            onDone(messageOf(e));
          }
        }}
      >
        Erase content
      </button>
      <button type="button" class="small" onClick={() => setConfirming(false)}>
        Keep
      </button>
    </span>
  );
}

export function ConversationPage({ id, session }: { id: string; session: Session }) {
  const location = useLocation();
  const [thread, setThread] = useState<Thread | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  const canRedact = session.admin.role !== 'viewer';
  // The history page's filters come along in the query string.
  const q = location.query.get('q') ?? '';
  const terms = useMemo(() => searchTerms(q), [q]);

  const load = useCallback(async () => {
    try {
      setThread(await api.get<Thread>(`/threads/${encodeURIComponent(id)}`));
    } catch (e) {
      setError(messageOf(e));
    }
  }, [id]);
  useEffect(() => {
    setThread(null);
    load();
  }, [load]);

  useEffect(() => {
    if (thread) document.getElementById(`x-${id}`)?.scrollIntoView({ block: 'start' });
  }, [thread, id]);

  const back = `/admin/history${location.query.toString() ? `?${location.query.toString()}` : ''}`;
  const items = thread?.items ?? [];
  return (
    <section aria-labelledby="conv-title">
      <p>
        <a href={back}>← Back to history</a>
      </p>
      <div class="page-head">
        <h1 id="conv-title">Conversation</h1>
        {thread && (
          <span class="muted">
            {items.length} exchange{items.length === 1 ? '' : 's'}
            {items[0]?.tokenName ? ` · token ${items[0].tokenName}` : ''}
          </span>
        )}
      </div>
      <ErrorNote error={error} />
      <OkNote message={message} />
      {!thread ? (
        !error && <Loading what="Loading the conversation" />
      ) : (
        <div class="thread">
          {items.map((item, i) => (
            <ExchangeView
              key={item.id}
              item={item}
              messages={newMessages(item, items[i - 1])}
              current={item.id === id}
              terms={terms}
              actions={
                canRedact ? (
                  <Redact
                    item={item}
                    onDone={(failure) => {
                      if (failure) setError(failure);
                      else {
                        setMessage('The exchange was redacted.');
                        load();
                      }
                    }}
                  />
                ) : null
              }
            />
          ))}
        </div>
      )}
    </section>
  );
}

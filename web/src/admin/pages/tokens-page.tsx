/**
 * Tokens: the list with state and quota bars; creating one (its secret is shown once,
 * with a copy button); editing, disabling and revoking. Viewers see the list only.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { ErrorNote, Loading, OkNote } from '../../components/notice.js';
import { QuotaBars } from '../../components/quota-bars.js';
import { api, messageOf } from '../../lib/api.js';
import { dateTime, isoAttr, plural } from '../../lib/format.js';
import { stateOf } from '../../lib/token-fields.js';
import type { CreatedToken, Session, TokenView } from '../../lib/types.js';
import { useAdminList } from '../../lib/use-admin-list.js';
import { TokenForm } from '../token-form.js';

type Editor = { mode: 'closed' } | { mode: 'create' } | { mode: 'edit'; token: TokenView };

async function copyText(text: string, input: HTMLInputElement | null): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    // No clipboard API (plain HTTP on another host): select the text for Ctrl+C.
    input?.select();
    return document.execCommand?.('copy') ?? false;
  }
}

function SecretOnce({ created, onDone }: { created: CreatedToken; onDone: () => void }) {
  const input = useRef<HTMLInputElement>(null);
  const [copied, setCopied] = useState<string | null>(null);
  useEffect(() => input.current?.focus(), []);
  return (
    <section class="card secret" aria-labelledby="secret-title">
      <h2 id="secret-title">Token “{created.name}” created</h2>
      <p>
        Copy the secret now. <strong>It is not shown again</strong>; only its prefix{' '}
        <code>{created.prefix}</code> is kept.
      </p>
      <label for="new-secret">Secret</label>
      <div class="copy-row">
        <input
          id="new-secret"
          ref={input}
          readOnly
          value={created.token}
          onFocus={(e) => e.currentTarget.select()}
        />
        <button
          type="button"
          class="primary"
          onClick={async () =>
            setCopied((await copyText(created.token, input.current)) ? 'Copied.' : 'Press Ctrl+C to copy.')
          }
        >
          Copy
        </button>
      </div>
      <OkNote message={copied} />
      <p class="hint">
        Use it as <code>Authorization: Bearer …</code>, as the API key of OpenAI clients, or as{' '}
        <code>OLLAMA_API_KEY</code>.
      </p>
      <button type="button" onClick={onDone}>
        I have stored it
      </button>
    </section>
  );
}

function TokenRow({
  token,
  canChange,
  onEdit,
  onChanged,
  onError,
}: {
  token: TokenView;
  canChange: boolean;
  onEdit: () => void;
  onChanged: (message: string) => void;
  onError: (message: string) => void;
}) {
  const [confirming, setConfirming] = useState(false);
  const state = stateOf(token);
  const run = async (action: () => Promise<unknown>, message: string) => {
    try {
      await action();
      onChanged(message);
    } catch (e) {
      onError(messageOf(e));
    }
  };
  const path = `/tokens/${encodeURIComponent(token.id)}`;
  return (
    <tr>
      <th scope="row" data-label="Name">
        {token.name}
        <div class="muted small">
          <code>{token.prefix}</code>
        </div>
      </th>
      <td data-label="State">
        <span class={`badge ${state === 'active' ? 'ok' : state === 'disabled' ? 'info' : 'bad'}`}>
          {state}
        </span>
      </td>
      <td data-label="Models">{token.models.join(', ')}</td>
      <td data-label="Scopes">{token.scopes.join(', ')}</td>
      <td data-label="Usage">
        <QuotaBars limits={token.limits} usage={token.usage} />
        {token.usage ? (
          <div class="muted small">{plural(token.usage.total ?? 0, 'call')} in total</div>
        ) : null}
      </td>
      <td data-label="Expires">
        {token.expiresAt ? (
          <time dateTime={isoAttr(token.expiresAt)}>{dateTime(token.expiresAt)}</time>
        ) : (
          'never'
        )}
      </td>
      <td data-label="Actions">
        <div class="row-actions">
          {canChange && state !== 'revoked' && (
            <>
              <button type="button" onClick={onEdit} aria-label={`Edit ${token.name}`}>
                Edit
              </button>
              <button
                type="button"
                aria-label={`${token.enabled ? 'Disable' : 'Enable'} ${token.name}`}
                onClick={() =>
                  run(
                    () => api.patch(path, { enabled: !token.enabled }),
                    `Token ${token.name} ${token.enabled ? 'disabled' : 'enabled'}.`,
                  )
                }
              >
                {token.enabled ? 'Disable' : 'Enable'}
              </button>
              {confirming ? (
                <span class="confirm">
                  <button
                    type="button"
                    class="danger"
                    onClick={() => run(() => api.delete(path), `Token ${token.name} revoked.`)}
                  >
                    Revoke now
                  </button>
                  <button type="button" onClick={() => setConfirming(false)}>
                    Keep
                  </button>
                </span>
              ) : (
                <button
                  type="button"
                  class="danger"
                  aria-label={`Revoke ${token.name}`}
                  onClick={() => setConfirming(true)}
                >
                  Revoke
                </button>
              )}
            </>
          )}
          <a
            href={`/admin/history?token=${encodeURIComponent(token.id)}`}
            aria-label={`History of ${token.name}`}
          >
            History
          </a>
        </div>
      </td>
    </tr>
  );
}

export function TokensPage({ session }: { session: Session }) {
  const canChange = session.admin.role !== 'viewer';
  const [editor, setEditor] = useState<Editor>({ mode: 'closed' });
  const [created, setCreated] = useState<CreatedToken | null>(null);
  const [showRevoked, setShowRevoked] = useState(false);
  const {
    items: tokens,
    error,
    setError,
    message,
    setMessage,
    changed,
    reload,
  } = useAdminList<TokenView>('/tokens');

  const visible = (tokens ?? []).filter((t) => showRevoked || stateOf(t) !== 'revoked');
  return (
    <section aria-labelledby="tokens-title">
      <div class="page-head">
        <h1 id="tokens-title">Tokens</h1>
        {canChange && editor.mode === 'closed' && !created && (
          <button type="button" class="primary" onClick={() => setEditor({ mode: 'create' })}>
            New token
          </button>
        )}
      </div>
      {created && <SecretOnce created={created} onDone={() => setCreated(null)} />}
      {editor.mode === 'create' && (
        <TokenForm
          onCancel={() => setEditor({ mode: 'closed' })}
          onSubmit={async (body) => {
            try {
              const answer = await api.post<CreatedToken>('/tokens', body);
              setEditor({ mode: 'closed' });
              setCreated(answer);
              setMessage(null);
              reload();
            } catch (e) {
              throw new Error(messageOf(e));
            }
          }}
        />
      )}
      {editor.mode === 'edit' && (
        <TokenForm
          token={editor.token}
          onCancel={() => setEditor({ mode: 'closed' })}
          onSubmit={async (body) => {
            try {
              await api.patch(`/tokens/${encodeURIComponent(editor.token.id)}`, body);
              setEditor({ mode: 'closed' });
              changed(`Token ${String(body.name)} saved.`);
            } catch (e) {
              throw new Error(messageOf(e));
            }
          }}
        />
      )}
      <ErrorNote error={error} />
      <OkNote message={message} />
      <label class="check">
        <input
          type="checkbox"
          checked={showRevoked}
          onChange={(e) => setShowRevoked(e.currentTarget.checked)}
        />
        Show revoked tokens
      </label>
      {tokens === null ? (
        !error && <Loading what="Loading tokens" />
      ) : visible.length === 0 ? (
        <p class="muted">No tokens yet.</p>
      ) : (
        <div class="table-wrap">
          <table class="tokens cards">
            <caption class="sr-only">Tokens</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">State</th>
                <th scope="col">Models</th>
                <th scope="col">Scopes</th>
                <th scope="col">Usage</th>
                <th scope="col">Expires</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {visible.map((t) => (
                <TokenRow
                  key={t.id}
                  token={t}
                  canChange={canChange}
                  onEdit={() => {
                    setEditor({ mode: 'edit', token: t });
                    window.scrollTo(0, 0);
                  }}
                  onChanged={changed}
                  onError={setError}
                />
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

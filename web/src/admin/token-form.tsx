/**
 * Creating or editing a token with every policy field: models (cloud models only when
 * granted: "Allow cloud models" adds their patterns to the field), scopes, call quotas
 * per window, concurrency, expiry, history mode and the enabled flag. Empty quota
 * fields mean "no limit".
 */
import { useState } from 'preact/hooks';
import { ErrorNote } from '../components/notice.js';
import { dateTime, toMillis } from '../lib/format.js';
import { HISTORY_MODES, limitOf, SCOPES, WINDOW_LABELS } from '../lib/token-fields.js';
import { type TokenLimits, type TokenView, WINDOWS } from '../lib/types.js';

type Expiry = 'keep' | 'never' | '7d' | '30d' | '90d' | 'date';

interface Props {
  token?: TokenView;
  onSubmit: (body: Record<string, unknown>) => Promise<void>;
  onCancel: () => void;
}

const numberOrNull = (text: string): number | null => (text.trim() === '' ? null : Number(text));

/** The patterns that grant every cloud model ("*" alone means every local model). */
const CLOUD_PATTERNS = ['*-cloud', '*:cloud'];

const modelList = (text: string): string[] =>
  text
    .split(/[\s,]+/)
    .map((m) => m.trim())
    .filter(Boolean);

/** The models field with the cloud patterns added or taken out, the rest as typed. */
function withCloud(text: string, on: boolean): string {
  const rest = modelList(text).filter((m) => !CLOUD_PATTERNS.includes(m));
  return (on ? [...rest, ...CLOUD_PATTERNS] : rest).join(', ');
}

export function TokenForm({ token, onSubmit, onCancel }: Props) {
  const editing = token !== undefined;
  const prefix = editing ? 'edit' : 'new';
  const [name, setName] = useState(token?.name ?? '');
  const [models, setModels] = useState((token?.models ?? ['*']).join(', '));
  const [scopes, setScopes] = useState<string[]>(token?.scopes ?? ['inference', 'embeddings', 'read']);
  const [limits, setLimits] = useState<Record<string, string>>(() => {
    const out: Record<string, string> = {};
    for (const w of WINDOWS) out[w] = String(limitOf(token?.limits, w) ?? '');
    out.maxConcurrent = String(token?.limits.maxConcurrent ?? '');
    return out;
  });
  const [expiry, setExpiry] = useState<Expiry>(editing ? 'keep' : 'never');
  const [expiryDate, setExpiryDate] = useState('');
  const [historyMode, setHistoryMode] = useState(token?.historyMode ?? 'full');
  const [enabled, setEnabled] = useState(token?.enabled ?? true);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const toggleScope = (scope: string, on: boolean) =>
    setScopes((s) => (on ? [...new Set([...s, scope])] : s.filter((x) => x !== scope)));

  const submit = async (event: Event) => {
    event.preventDefault();
    const body: Record<string, unknown> = {
      name: name.trim(),
      models: modelList(models),
      scopes,
      historyMode,
      enabled,
    };
    // The same shape as the token's answer: `limits` with a key per window and the cap.
    const limitsBody: TokenLimits = { maxConcurrent: numberOrNull(limits.maxConcurrent ?? '') };
    for (const w of WINDOWS) limitsBody[w] = numberOrNull(limits[w] ?? '');
    body.limits = limitsBody;
    if (expiry === 'never') body.expiresAt = null;
    else if (expiry === 'date') {
      if (!expiryDate) {
        setError('Choose the expiry date.');
        return;
      }
      body.expiresAt = new Date(`${expiryDate}T23:59:59`).toISOString();
    } else if (expiry !== 'keep') body.expires = expiry;
    setBusy(true);
    setError(null);
    try {
      await onSubmit(body);
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  };

  const current = toMillis(token?.expiresAt);
  const cloudAllowed = CLOUD_PATTERNS.every((p) => modelList(models).includes(p));
  return (
    <form class="card token-form" onSubmit={submit} aria-labelledby={`${prefix}-token-title`}>
      <h2 id={`${prefix}-token-title`}>{editing ? `Edit token ${token.name}` : 'New token'}</h2>
      <div class="grid form-grid">
        <div>
          <label for={`${prefix}-name`}>Name</label>
          <input
            id={`${prefix}-name`}
            required
            maxLength={64}
            pattern="[A-Za-z0-9][A-Za-z0-9._@\-]*"
            value={name}
            onInput={(e) => setName(e.currentTarget.value)}
            aria-describedby={`${prefix}-name-hint`}
          />
          <p id={`${prefix}-name-hint`} class="hint">
            Letters, digits, “.”, “_”, “@” or “-”.
          </p>
        </div>
        <div>
          <label for={`${prefix}-models`}>Models</label>
          <input
            id={`${prefix}-models`}
            value={models}
            onInput={(e) => setModels(e.currentTarget.value)}
            aria-describedby={`${prefix}-models-hint`}
          />
          <p id={`${prefix}-models-hint`} class="hint">
            Names or globs, separated by commas: <code>llama3*</code>, <code>qwen3:*</code>; <code>*</code>{' '}
            for all local models. Cloud models (<code>…:cloud</code>, <code>…-cloud</code>) run on your
            ollama.com account: name them, or tick the box to add <code>*-cloud</code>, <code>*:cloud</code>.
          </p>
          <label class="check">
            <input
              type="checkbox"
              checked={cloudAllowed}
              onChange={(e) => setModels((m) => withCloud(m, e.currentTarget.checked))}
            />
            Allow cloud models
          </label>
        </div>
      </div>
      <fieldset>
        <legend>Scopes</legend>
        <div class="checks">
          {SCOPES.map((scope) => (
            <label key={scope} class="check">
              <input
                type="checkbox"
                name="scopes"
                value={scope}
                checked={scopes.includes(scope)}
                onChange={(e) => toggleScope(scope, e.currentTarget.checked)}
              />
              {scope}
            </label>
          ))}
        </div>
      </fieldset>
      <fieldset>
        <legend>Limits (empty = no limit)</legend>
        <div class="grid limits-grid">
          {WINDOWS.map((w) => (
            <div key={w}>
              <label for={`${prefix}-limits-${w}`}>{WINDOW_LABELS[w]}</label>
              <input
                id={`${prefix}-limits-${w}`}
                type="number"
                min={0}
                step={1}
                inputMode="numeric"
                value={limits[w]}
                onInput={(e) => {
                  const value = e.currentTarget.value;
                  setLimits((l) => ({ ...l, [w]: value }));
                }}
              />
            </div>
          ))}
          <div>
            <label for={`${prefix}-limits-maxConcurrent`}>Concurrent requests</label>
            <input
              id={`${prefix}-limits-maxConcurrent`}
              type="number"
              min={1}
              step={1}
              inputMode="numeric"
              value={limits.maxConcurrent}
              onInput={(e) => {
                const value = e.currentTarget.value;
                setLimits((l) => ({ ...l, maxConcurrent: value }));
              }}
            />
          </div>
        </div>
      </fieldset>
      <div class="grid form-grid">
        <div>
          <label for={`${prefix}-expiry`}>Expires</label>
          <select
            id={`${prefix}-expiry`}
            value={expiry}
            onChange={(e) => setExpiry(e.currentTarget.value as Expiry)}
          >
            {editing && <option value="keep">Keep ({current === null ? 'never' : dateTime(current)})</option>}
            <option value="never">Never</option>
            <option value="7d">In 7 days</option>
            <option value="30d">In 30 days</option>
            <option value="90d">In 90 days</option>
            <option value="date">On a date…</option>
          </select>
          {expiry === 'date' && (
            <>
              <label for={`${prefix}-expiry-date`}>Expiry date</label>
              <input
                id={`${prefix}-expiry-date`}
                type="date"
                required
                value={expiryDate}
                onInput={(e) => setExpiryDate(e.currentTarget.value)}
              />
            </>
          )}
        </div>
        <div>
          <label for={`${prefix}-history`}>History</label>
          <select
            id={`${prefix}-history`}
            value={historyMode}
            onChange={(e) => setHistoryMode(e.currentTarget.value)}
          >
            {HISTORY_MODES.map((m) => (
              <option key={m} value={m}>
                {m === 'full' ? 'Full (prompts and answers)' : m === 'metadata' ? 'Metadata only' : 'Off'}
              </option>
            ))}
          </select>
        </div>
      </div>
      <label class="check">
        <input type="checkbox" checked={enabled} onChange={(e) => setEnabled(e.currentTarget.checked)} />
        Enabled
      </label>
      <ErrorNote error={error} />
      <div class="actions">
        <button type="submit" class="primary" disabled={busy}>
          {busy ? 'Saving…' : editing ? 'Save changes' : 'Create token'}
        </button>
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}

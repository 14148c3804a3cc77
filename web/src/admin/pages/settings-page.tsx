/** Runtime settings that are safe to change live: history retention and session idle time. */
import { useEffect, useState } from 'preact/hooks';
import { ErrorNote, Loading, OkNote } from '../../components/notice.js';
import { api, messageOf } from '../../lib/api.js';
import type { Session, Settings } from '../../lib/types.js';

const text = (value: number | null | undefined) =>
  value === null || value === undefined ? '' : String(value);
const numberOrNull = (value: string) => (value.trim() === '' ? null : Number(value));

export function SettingsPage({ session }: { session: Session }) {
  const canChange = session.admin.role !== 'viewer';
  const [loaded, setLoaded] = useState<Settings | null>(null);
  const [maxAge, setMaxAge] = useState('');
  const [maxRecords, setMaxRecords] = useState('');
  const [idle, setIdle] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [message, setMessage] = useState<string | null>(null);

  const show = (s: Settings) => {
    setLoaded(s);
    setMaxAge(text(s.historyMaxAgeDays));
    setMaxRecords(text(s.historyMaxRecords));
    setIdle(text(s.sessionIdleMinutes));
  };
  useEffect(() => {
    api.get<Settings>('/settings').then(show, (e) => setError(messageOf(e)));
  }, []);

  const submit = async (event: Event) => {
    event.preventDefault();
    setError(null);
    setMessage(null);
    try {
      const body: Partial<Settings> = {
        historyMaxAgeDays: numberOrNull(maxAge),
        historyMaxRecords: numberOrNull(maxRecords),
      };
      if (idle.trim() !== '') body.sessionIdleMinutes = Number(idle);
      show(await api.patch<Settings>('/settings', body));
      setMessage('Settings saved.');
    } catch (e) {
      setError(messageOf(e));
    }
  };

  return (
    <section aria-labelledby="settings-title">
      <div class="page-head">
        <h1 id="settings-title">Settings</h1>
      </div>
      {!loaded ? (
        error ? (
          <ErrorNote error={error} />
        ) : (
          <Loading what="Loading settings" />
        )
      ) : (
        <form class="card" onSubmit={submit}>
          <fieldset disabled={!canChange}>
            <legend>History retention</legend>
            <p class="hint">
              Older or surplus records are removed by a background job. Empty means keep everything.
            </p>
            <div class="grid form-grid">
              <div>
                <label for="set-max-age">Keep history for (days)</label>
                <input
                  id="set-max-age"
                  type="number"
                  min={1}
                  step={1}
                  inputMode="numeric"
                  value={maxAge}
                  onInput={(e) => setMaxAge(e.currentTarget.value)}
                />
              </div>
              <div>
                <label for="set-max-records">Keep at most (records)</label>
                <input
                  id="set-max-records"
                  type="number"
                  min={1}
                  step={1}
                  inputMode="numeric"
                  value={maxRecords}
                  onInput={(e) => setMaxRecords(e.currentTarget.value)}
                />
              </div>
            </div>
          </fieldset>
          <fieldset disabled={!canChange}>
            <legend>Admin sessions</legend>
            <label for="set-idle">Sign out after idle (minutes)</label>
            <input
              id="set-idle"
              type="number"
              min={1}
              step={1}
              inputMode="numeric"
              required
              value={idle}
              onInput={(e) => setIdle(e.currentTarget.value)}
            />
          </fieldset>
          <ErrorNote error={error} />
          <OkNote message={message} />
          {canChange ? (
            <button type="submit" class="primary">
              Save settings
            </button>
          ) : (
            <p class="muted">Viewers cannot change settings.</p>
          )}
        </form>
      )}
    </section>
  );
}

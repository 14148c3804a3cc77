/**
 * Creating the first owner through the one-time setup link. The setup token arrives in
 * the URL fragment (`/admin/setup#<token>`, never sent to servers or logs) or as
 * `?token=`; it is taken out of the address bar as soon as it has been read. The page
 * asks the server at once whether the link is valid, so a wrong or expired link says so
 * before anyone fills in the form.
 */
import { useEffect, useState } from 'preact/hooks';
import { ErrorNote, Loading } from '../../components/notice.js';
import { ApiError, api, messageOf } from '../../lib/api.js';
import { navigate } from '../../lib/router.js';
import type { Session } from '../../lib/types.js';

function readSetupToken(): string {
  const fromHash = decodeURIComponent(window.location.hash.replace(/^#/, ''));
  const fromQuery = new URLSearchParams(window.location.search).get('token') ?? '';
  return (fromHash || fromQuery).trim();
}

export function SetupPage({ onSignedIn }: { onSignedIn: (session: Session) => void }) {
  const [setupToken] = useState(() => {
    const token = readSetupToken();
    if (token) window.history.replaceState(null, '', '/admin/setup');
    return token;
  });
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [confirm, setConfirm] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [needed, setNeeded] = useState(true);
  /** Whether the server accepts the link: undefined while asking, else true or its refusal. */
  const [link, setLink] = useState<true | string | undefined>(undefined);

  useEffect(() => {
    api.get<{ setupNeeded: boolean }>('/setup').then(
      (answer) => setNeeded(answer.setupNeeded),
      () => {},
    );
    if (!setupToken) return;
    api.post<{ valid: true }>('/setup/check', { setupToken }).then(
      () => setLink(true),
      (e) => {
        // Setup done already: the note below says so and links to sign-in.
        if (e instanceof ApiError && e.status === 409) setNeeded(false);
        setLink(messageOf(e));
      },
    );
  }, []);

  const submit = async (event: Event) => {
    event.preventDefault();
    if (password !== confirm) {
      setError('The two passwords differ.');
      return;
    }
    setBusy(true);
    setError(null);
    try {
      // The server signs the new owner in and answers the session.
      const session = await api.post<Session>('/setup', { setupToken, username, password });
      onSignedIn(session);
      navigate('/admin/', true);
    } catch (e) {
      setError(messageOf(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <main id="main" class="center">
      <section class="card narrow" aria-labelledby="setup-title">
        <h1 id="setup-title">Create the first owner</h1>
        {!needed ? (
          <p class="note">
            The first owner exists already. <a href="/admin/">Sign in</a> instead.
          </p>
        ) : setupToken && link === undefined ? (
          <Loading what="Checking the setup link" />
        ) : setupToken && link !== true ? (
          <p class="note error" role="alert">
            {link}
          </p>
        ) : setupToken ? (
          <form onSubmit={submit}>
            <p class="muted">This one-time link creates the owner account. It expires an hour after start.</p>
            <label for="setup-username">Username</label>
            <input
              id="setup-username"
              autoComplete="username"
              required
              value={username}
              onInput={(e) => setUsername(e.currentTarget.value)}
            />
            <label for="setup-password">Password (at least 10 characters)</label>
            <input
              id="setup-password"
              type="password"
              autoComplete="new-password"
              minLength={10}
              required
              value={password}
              onInput={(e) => setPassword(e.currentTarget.value)}
            />
            <label for="setup-confirm">Repeat the password</label>
            <input
              id="setup-confirm"
              type="password"
              autoComplete="new-password"
              minLength={10}
              required
              value={confirm}
              onInput={(e) => setConfirm(e.currentTarget.value)}
            />
            <ErrorNote error={error} />
            <button type="submit" class="primary" disabled={busy}>
              {busy ? 'Creating…' : 'Create owner and sign in'}
            </button>
          </form>
        ) : (
          <p class="note error" role="alert">
            This page needs the setup link printed by the companion at start (it ends with
            <code>#</code> and a code). Or create an admin with <code>ollama-companion admin create</code>.
          </p>
        )}
      </section>
    </main>
  );
}

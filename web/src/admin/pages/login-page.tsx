/** Sign-in with username and password; the server sets the session cookie. */
import { useState } from 'preact/hooks';
import { ErrorNote } from '../../components/notice.js';
import { api, messageOf } from '../../lib/api.js';
import type { Session } from '../../lib/types.js';

export function LoginPage({ onSignedIn }: { onSignedIn: (session: Session) => void }) {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const session = await api.post<Session>('/login', { username, password });
      setPassword('');
      onSignedIn(session);
    } catch (e) {
      setError(messageOf(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <main id="main" class="center">
      <section class="card narrow" aria-labelledby="login-title">
        <h1 id="login-title">Sign in</h1>
        <p class="muted">Ollama Companion administration</p>
        <form onSubmit={submit}>
          <label for="login-username">Username</label>
          <input
            id="login-username"
            name="username"
            autoComplete="username"
            required
            value={username}
            onInput={(e) => setUsername(e.currentTarget.value)}
          />
          <label for="login-password">Password</label>
          <input
            id="login-password"
            name="password"
            type="password"
            autoComplete="current-password"
            required
            value={password}
            onInput={(e) => setPassword(e.currentTarget.value)}
          />
          <ErrorNote error={error} />
          <button type="submit" class="primary" disabled={busy}>
            {busy ? 'Signing in…' : 'Sign in'}
          </button>
        </form>
      </section>
    </main>
  );
}

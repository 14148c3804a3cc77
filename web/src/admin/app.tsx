/**
 * The admin panel's shell: finds out who is signed in, shows the sign-in or setup page
 * when nobody is (or, while no admin exists at all, how to create the first one), and
 * otherwise the page for the current path inside the layout.
 */
import { useEffect, useState } from 'preact/hooks';
import { Loading } from '../components/notice.js';
import { api } from '../lib/api.js';
import { interceptLinks, useLocation } from '../lib/router.js';
import type { Session } from '../lib/types.js';
import { Layout } from './layout.js';
import { AdminsPage } from './pages/admins-page.js';
import { AuditPage } from './pages/audit-page.js';
import { ConversationPage } from './pages/conversation-page.js';
import { DashboardPage } from './pages/dashboard-page.js';
import { HistoryPage } from './pages/history-page.js';
import { LoginPage } from './pages/login-page.js';
import { NoAdminPage } from './pages/no-admin-page.js';
import { SettingsPage } from './pages/settings-page.js';
import { SetupPage } from './pages/setup-page.js';
import { TokensPage } from './pages/tokens-page.js';

export const BASE = '/admin';

function Page({ path, session }: { path: string; session: Session }) {
  const conversation = /^\/history\/([^/]+)$/.exec(path);
  if (conversation?.[1])
    return <ConversationPage id={decodeURIComponent(conversation[1])} session={session} />;
  switch (path) {
    case '/':
      return <DashboardPage />;
    case '/tokens':
      return <TokensPage session={session} />;
    case '/history':
      return <HistoryPage />;
    case '/admins':
      return <AdminsPage session={session} />;
    case '/audit':
      return <AuditPage />;
    case '/settings':
      return <SettingsPage session={session} />;
    default:
      return (
        <section aria-labelledby="nf">
          <h1 id="nf">Page not found</h1>
          <p>
            <a href={`${BASE}/`}>Back to the dashboard</a>
          </p>
        </section>
      );
  }
}

export function App() {
  const location = useLocation();
  const [session, setSession] = useState<Session | null | undefined>(undefined);
  /** Whether no admin exists yet; asked only when nobody is signed in. */
  const [setupNeeded, setSetupNeeded] = useState<boolean | undefined>(undefined);

  useEffect(() => interceptLinks(`${BASE}/`), []);
  useEffect(() => {
    api.onUnauthorized = () => {
      api.csrfToken = '';
      setSession(null);
    };
    api.get<Session>('/me').then(
      (s) => {
        api.csrfToken = s.csrfToken;
        setSession(s);
      },
      () => setSession(null),
    );
  }, []);
  // Asked again each time nobody is signed in: an admin may have been created meanwhile.
  useEffect(() => {
    if (session !== null) return;
    let current = true;
    setSetupNeeded(undefined);
    api.get<{ setupNeeded: boolean }>('/setup').then(
      (answer) => current && setSetupNeeded(answer.setupNeeded),
      () => current && setSetupNeeded(false),
    );
    return () => {
      current = false;
    };
  }, [session]);

  const path = location.path.startsWith(BASE) ? location.path.slice(BASE.length) || '/' : '/';
  const signedIn = (s: Session) => {
    api.csrfToken = s.csrfToken;
    setSession(s);
  };

  if (path === '/setup') return <SetupPage onSignedIn={signedIn} />;
  if (session === undefined || (session === null && setupNeeded === undefined)) {
    return (
      <main id="main" class="center">
        <Loading />
      </main>
    );
  }
  if (session === null) {
    return setupNeeded ? <NoAdminPage /> : <LoginPage onSignedIn={signedIn} />;
  }
  return (
    <Layout session={session} path={path} onSignedOut={() => setSession(null)}>
      <Page path={path} session={session} />
    </Layout>
  );
}

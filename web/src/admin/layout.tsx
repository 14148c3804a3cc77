/** Header with navigation and the signed-in admin, and the main landmark for the page. */
import type { ComponentChildren } from 'preact';
import { useEffect, useRef } from 'preact/hooks';
import { api } from '../lib/api.js';
import type { Session } from '../lib/types.js';

const NAV: [string, string][] = [
  ['/', 'Dashboard'],
  ['/tokens', 'Tokens'],
  ['/history', 'History'],
  ['/admins', 'Admins'],
  ['/audit', 'Audit log'],
  ['/settings', 'Settings'],
];

interface Props {
  session: Session;
  path: string;
  onSignedOut: () => void;
  children: ComponentChildren;
}

export function Layout({ session, path, onSignedOut, children }: Props) {
  const main = useRef<HTMLElement>(null);
  const section = path.startsWith('/history') ? '/history' : path;
  const title = NAV.find(([p]) => p === section)?.[1] ?? 'Admin';

  useEffect(() => {
    document.title = `${title} · Ollama Companion`;
  }, [title]);

  // After a client-side page change, screen readers and keyboards start at the new content.
  const first = useRef(true);
  useEffect(() => {
    if (first.current) first.current = false;
    else main.current?.focus({ preventScroll: true });
  }, [path]);

  const signOut = async () => {
    try {
      await api.post('/logout');
    } finally {
      api.csrfToken = '';
      onSignedOut();
    }
  };

  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <a class="brand" href="/admin/">
          Ollama Companion
        </a>
        <nav aria-label="Main">
          <ul>
            {NAV.map(([p, label]) => (
              <li key={p}>
                <a href={`/admin${p === '/' ? '/' : p}`} aria-current={section === p ? 'page' : undefined}>
                  {label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <div class="who">
          <span>
            {session.admin.username} <span class="badge info">{session.admin.role}</span>
          </span>
          <button type="button" class="link" onClick={signOut}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main" ref={main} tabIndex={-1}>
        {children}
      </main>
    </>
  );
}

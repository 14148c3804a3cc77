/**
 * A small admin API client for tests: talks HTTP with undici, keeps the session cookie
 * itself as a browser would, and sends the CSRF token on state-changing calls.
 */
import { type Dispatcher, request } from 'undici';
import { createAdmin } from '../../src/auth/admin-accounts.js';
import type { Admin, AdminRole } from '../../src/auth/admin-store.js';
import type { Companion } from '../../src/server/companion.js';

export const PASSWORD = 'correct horse battery';

export interface Answer<T = unknown> {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: T;
  text: string;
}

/** The cookie attributes from a Set-Cookie header, keyed lower-case. */
export function cookieAttributes(header: string): {
  name: string;
  value: string;
  attrs: Map<string, string>;
} {
  const [pair = '', ...rest] = header.split(';').map((part) => part.trim());
  const eq = pair.indexOf('=');
  const attrs = new Map<string, string>();
  for (const attr of rest) {
    const i = attr.indexOf('=');
    attrs.set((i === -1 ? attr : attr.slice(0, i)).toLowerCase(), i === -1 ? '' : attr.slice(i + 1));
  }
  return { name: pair.slice(0, eq), value: pair.slice(eq + 1), attrs };
}

export class AdminClient {
  cookie: string | undefined;
  csrf: string | undefined;
  /** Set-Cookie headers of the last answer. */
  lastSetCookie: string[] = [];

  constructor(
    readonly base: string,
    readonly options: { dispatcher?: Dispatcher } = {},
  ) {}

  async call<T = Record<string, unknown>>(
    method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<Answer<T>> {
    const sent: Record<string, string> = { ...headers };
    if (this.cookie) sent.cookie = `oc_admin=${this.cookie}`;
    if (this.csrf && method !== 'GET' && !('x-csrf-token' in headers)) sent['x-csrf-token'] = this.csrf;
    if (body !== undefined) sent['content-type'] = 'application/json';
    const res = await request(`${this.base}${path}`, {
      method,
      headers: sent,
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      ...(this.options.dispatcher ? { dispatcher: this.options.dispatcher } : {}),
    });
    const text = await res.body.text();
    const setCookie = res.headers['set-cookie'];
    this.lastSetCookie = setCookie === undefined ? [] : Array.isArray(setCookie) ? setCookie : [setCookie];
    for (const header of this.lastSetCookie) {
      const { name, value, attrs } = cookieAttributes(header);
      if (name !== 'oc_admin') continue;
      const expired =
        value === '' ||
        attrs.get('max-age') === '0' ||
        (attrs.has('expires') && Date.parse(attrs.get('expires')!) < Date.now());
      this.cookie = expired ? undefined : value;
    }
    let parsed: unknown = text;
    if (String(res.headers['content-type'] ?? '').includes('json') && text !== '') parsed = JSON.parse(text);
    return { status: res.statusCode, headers: res.headers, body: parsed as T, text };
  }

  /** Signs in; keeps the cookie and the CSRF token. */
  async login(
    username: string,
    password = PASSWORD,
  ): Promise<Answer<{ csrfToken: string; admin: { id: string; username: string; role: AdminRole } }>> {
    const answer = await this.call<{
      csrfToken: string;
      admin: { id: string; username: string; role: AdminRole };
    }>('POST', '/admin/api/login', { username, password });
    if (answer.status === 200) this.csrf = answer.body.csrfToken;
    return answer;
  }
}

/** Creates an account directly in the companion's database, as `admin create` does. */
export function addAdmin(
  companion: Companion,
  username: string,
  role: AdminRole,
  password = PASSWORD,
): Promise<Admin> {
  return createAdmin(companion.admins, username, password, role);
}

/** A signed-in client for a new account of the given role. */
export async function signedIn(
  base: string,
  companion: Companion,
  username: string,
  role: AdminRole,
): Promise<AdminClient> {
  await addAdmin(companion, username, role);
  const client = new AdminClient(base);
  const answer = await client.login(username);
  if (answer.status !== 200)
    throw new Error(`sign-in as ${username} failed: ${answer.status} ${answer.text}`);
  return client;
}

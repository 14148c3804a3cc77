/**
 * The request target sent to Ollama: the client's path and query, minus any query
 * parameter that carries a credential. Some clients put their key in the URL
 * (`?api_key=`, `?key=`, `?token=` …); Ollama has no use for it and would keep it in
 * its logs. A parameter goes when its name looks like a credential, or when its value
 * holds the token the request presented or anything shaped like a companion token.
 * Everything else passes in its original order and spelling.
 */

/** Names (lower case, without `-` and `_`) that carry a credential whatever their value. */
const CREDENTIAL_NAMES = new Set([
  'key',
  'apikey',
  'xapikey',
  'auth',
  'authorization',
  'bearer',
  'token',
  'accesstoken',
  'password',
  'passwd',
  'pwd',
  'pass',
  'secret',
  'jwt',
  'credential',
  'credentials',
  'session',
  'sessionid',
  'signature',
  'sig',
]);

/** Name endings that mark a credential too: `hf_token`, `client_secret`, `openai_api_key`. */
const CREDENTIAL_SUFFIXES = ['token', 'secret', 'password', 'apikey', 'accesskey', 'privatekey'];

/** A companion token: `oc_` and 43 base64url characters (a shorter run is still refused). */
const COMPANION_TOKEN = /(?:^|[^A-Za-z0-9_-])oc_[A-Za-z0-9_-]{16,}/;

function decoded(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    return text;
  }
}

function credentialName(rawName: string): boolean {
  const name = decoded(rawName)
    .toLowerCase()
    .replace(/[-_\s]/g, '');
  // `api_key[]` and `auth[user]` are the same parameter to many servers.
  const bare = name.replace(/\[.*$/, '');
  return CREDENTIAL_NAMES.has(bare) || CREDENTIAL_SUFFIXES.some((suffix) => bare.endsWith(suffix));
}

function credentialValue(rawValue: string, secret: string | undefined): boolean {
  const value = decoded(rawValue);
  if (COMPANION_TOKEN.test(value)) return true;
  return secret !== undefined && secret !== '' && (value.includes(secret) || rawValue.includes(secret));
}

/**
 * `url` (path and query) as it may go to Ollama.
 * @param presented the token the request presented, if any, wherever it came from; asked
 *   only when there is a query, so plain paths cost nothing.
 */
export function forwardedPath(url: string, presented: () => string | undefined): string {
  const mark = url.indexOf('?');
  if (mark === -1) return url;
  const secret = presented();
  const path = url.slice(0, mark);
  const kept: string[] = [];
  for (const part of url.slice(mark + 1).split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const name = eq === -1 ? part : part.slice(0, eq);
    const value = eq === -1 ? '' : part.slice(eq + 1);
    if (credentialName(name) || credentialValue(value, secret) || credentialValue(name, secret)) continue;
    kept.push(part);
  }
  return kept.length === 0 ? path : `${path}?${kept.join('&')}`;
}

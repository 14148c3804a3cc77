/**
 * Finds the token a request carries. Real clients differ: `Authorization: Bearer`,
 * `x-api-key`, Basic auth with the token as password (URL userinfo), or a `/t/<token>/`
 * path prefix for clients that accept only a base URL. Placeholder keys that clients
 * send by default count as no token.
 */
import type { IncomingHttpHeaders } from 'node:http';

const PLACEHOLDERS = new Set([
  '',
  'ollama',
  'na',
  'n/a',
  'local',
  'default-key',
  'none',
  'null',
  'undefined',
]);

/** The `/t/<token>` prefix: the token ends at the next slash, at the query, or with the path. */
const PATH_PREFIX = /^\/t\/([^/?#]+)(?=[/?#]|$)/;

function meaningful(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  return PLACEHOLDERS.has(v.toLowerCase()) ? undefined : v;
}

/** The token from headers, or undefined when none (or only a placeholder) was sent. */
export function tokenFromHeaders(headers: IncomingHttpHeaders): string | undefined {
  const authorization = headers.authorization;
  if (authorization) {
    const space = authorization.indexOf(' ');
    const scheme = (space === -1 ? authorization : authorization.slice(0, space)).toLowerCase();
    const value = space === -1 ? '' : authorization.slice(space + 1);
    if (scheme === 'bearer') {
      const token = meaningful(value);
      if (token) return token;
    } else if (scheme === 'basic') {
      const decoded = Buffer.from(value.trim(), 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      // The token is the password; a client that knows only a username sends it alone.
      const token =
        meaningful(colon === -1 ? decoded : decoded.slice(colon + 1)) ?? meaningful(decoded.slice(0, colon));
      if (token) return token;
    }
  }
  const apiKey = headers['x-api-key'];
  return meaningful(Array.isArray(apiKey) ? apiKey[0] : apiKey);
}

/**
 * Splits `/t/<token>/api/chat` into the token and the path clients meant; `/t/<token>`
 * alone is the root. URLs without the prefix come back unchanged with no token.
 */
export function splitPathToken(url: string): { url: string; token: string | undefined } {
  const match = PATH_PREFIX.exec(url);
  if (!match) return { url, token: undefined };
  let token: string | undefined;
  try {
    token = meaningful(decodeURIComponent(match[1]!));
  } catch {
    token = undefined;
  }
  const rest = url.slice(match[0].length);
  return { url: rest.startsWith('/') ? rest : `/${rest}`, token };
}

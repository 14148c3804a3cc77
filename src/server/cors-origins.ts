/**
 * Which browser origins may call the companion: Ollama's own defaults (localhost in
 * every form, app://, file://, tauri://, vscode webviews) plus configured globs; and the
 * answer to a preflight from any other origin.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { CompanionError } from '../errors/companion-error.js';

const OLLAMA_DEFAULT_ORIGINS = [
  'http://localhost',
  'https://localhost',
  'http://localhost:*',
  'https://localhost:*',
  'http://127.0.0.1',
  'https://127.0.0.1',
  'http://127.0.0.1:*',
  'https://127.0.0.1:*',
  'http://0.0.0.0',
  'https://0.0.0.0',
  'http://0.0.0.0:*',
  'https://0.0.0.0:*',
  'app://*',
  'file://*',
  'tauri://*',
  'vscode-webview://*',
  'vscode-file://*',
];

function globToRegExp(glob: string): RegExp {
  const escaped = glob.replace(/[.+^${}()|[\]\\?]/g, '\\$&').replace(/\*/g, '.*');
  return new RegExp(`^${escaped}$`, 'i');
}

export function createOriginMatcher(extra: readonly string[]): (origin: string) => boolean {
  if (extra.includes('*')) return () => true;
  const patterns = [...OLLAMA_DEFAULT_ORIGINS, ...extra].map(globToRegExp);
  return (origin) => patterns.some((p) => p.test(origin));
}

/** A CORS preflight names its origin and the method it asks for; a plain OPTIONS does neither. */
export function isPreflight(method: string, headers: IncomingHttpHeaders): boolean {
  return (
    method === 'OPTIONS' &&
    typeof headers.origin === 'string' &&
    headers['access-control-request-method'] !== undefined
  );
}

/**
 * The answer to a preflight from an origin not allowed: a refusal naming the origin and
 * the setting that would allow it (allowed origins are answered by the CORS layer).
 */
export function refusedOrigin(origin: string): CompanionError {
  return new CompanionError(
    'forbidden_origin',
    403,
    `origin ${origin.slice(0, 200)} is not allowed; add it to corsOrigins (--cors-origins / OLLAMA_COMPANION_CORS_ORIGINS)`,
  );
}

/**
 * Cleans the request path before routing. A `/t/<token>/` prefix is taken off (the
 * token goes to authentication, never to logs), and paths that try tricks — dot
 * segments, encoded characters, double or back slashes — are refused outright, so
 * routing only ever sees a path that means exactly one endpoint.
 */
import type { IncomingMessage } from 'node:http';
import { splitPathToken } from '../auth/credentials.js';

const PATH_TOKEN = Symbol('companion.pathToken');
const PATH_REJECTED = Symbol('companion.pathRejected');

type Tagged = IncomingMessage & { [PATH_TOKEN]?: string; [PATH_REJECTED]?: true };

/** Characters an Ollama route, model name or blob digest can need. */
const SAFE_PATH = /^\/[A-Za-z0-9._:@+\-/]*$/;

function isSafe(path: string): boolean {
  return SAFE_PATH.test(path) && !path.includes('//') && !/(^|\/)\.{1,2}(\/|$)/.test(path);
}

/** Fastify's rewriteUrl hook: returns the URL to route. */
export function rewriteUrl(req: IncomingMessage): string {
  const original = req.url ?? '/';
  const { url, token } = splitPathToken(original);
  const tagged = req as Tagged;
  if (token !== undefined) tagged[PATH_TOKEN] = token;
  const query = url.indexOf('?');
  const path = query === -1 ? url : url.slice(0, query);
  if (!isSafe(path)) {
    tagged[PATH_REJECTED] = true;
    return '/__companion_rejected_path';
  }
  return url;
}

export function pathToken(req: IncomingMessage): string | undefined {
  return (req as Tagged)[PATH_TOKEN];
}

export function pathRejected(req: IncomingMessage): boolean {
  return (req as Tagged)[PATH_REJECTED] === true;
}

/**
 * The upstream watch's probe over HTTP: `GET /api/version` on Ollama with a short
 * timeout, through the pool of quick calls (a full model-run pool must not make Ollama
 * look down, and the check needs no connection of its own). Credentials never travel
 * with it; the Host header is the upstream's own.
 */
import { type Dispatcher, request } from 'undici';
import type { VersionProbe } from './upstream-watch.js';

/** Tells the companion's own health checks apart from the requests it forwards. */
export const HEALTH_CHECK_USER_AGENT = 'ollama-companion-health-check';

const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

export function httpVersionProbe(upstream: string, timeoutMs: number, pool: Dispatcher): VersionProbe {
  const url = `${upstream.replace(/\/$/, '')}/api/version`;
  return async () => {
    let status: number;
    let text: string;
    try {
      const res = await request(url, {
        dispatcher: pool,
        headers: { 'user-agent': HEALTH_CHECK_USER_AGENT },
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
        signal: AbortSignal.timeout(timeoutMs),
      });
      status = res.statusCode;
      text = await res.body.text();
    } catch (error) {
      const code = (error as { code?: string }).code;
      const timedOut =
        (code !== undefined && TIMEOUT_CODES.has(code)) || (error as Error).name === 'TimeoutError';
      if (timedOut) throw new Error(`no answer within ${timeoutMs} ms`, { cause: error });
      throw error;
    }
    if (status !== 200) throw new Error(`HTTP ${status} from /api/version`);
    let version: unknown;
    try {
      version = (JSON.parse(text) as { version?: unknown }).version;
    } catch {
      version = undefined;
    }
    if (typeof version !== 'string') throw new Error('/api/version did not answer like Ollama');
    return version;
  };
}

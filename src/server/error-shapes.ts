/**
 * The one place that turns a CompanionError into bytes, in the dialect of the route:
 * Ollama (`{"error":"…"}`), OpenAI (`{"error":{message,type,…}}`), Anthropic
 * (`{"type":"error","error":{type,message}}`) or the admin API. Errors after a stream
 * began become one more line or event of that stream.
 */
import type { CompanionError } from '../errors/companion-error.js';

export type ErrorDialect = 'ollama' | 'openai' | 'anthropic' | 'admin';

const GENERIC_5XX = 'internal error';

function typeFor(status: number): string {
  if (status === 400 || status === 413 || status === 422) return 'invalid_request_error';
  if (status === 401) return 'authentication_error';
  if (status === 403) return 'permission_error';
  if (status === 404) return 'not_found_error';
  if (status === 429) return 'rate_limit_error';
  return 'api_error';
}

export function publicMessage(error: CompanionError): string {
  return error.expose ? error.message : GENERIC_5XX;
}

export function errorBody(dialect: ErrorDialect, error: CompanionError): string {
  const message = publicMessage(error);
  switch (dialect) {
    case 'ollama':
      return JSON.stringify({ error: message });
    case 'openai':
      return JSON.stringify({
        error: { message, type: typeFor(error.status), param: null, code: error.code },
      });
    case 'anthropic':
      return JSON.stringify({ type: 'error', error: { type: typeFor(error.status), message } });
    case 'admin':
      return JSON.stringify({ error: { code: error.code, message } });
  }
}

export function errorHeaders(error: CompanionError): Record<string, string> {
  const headers: Record<string, string> = {
    'content-type': 'application/json; charset=utf-8',
    ...error.headers,
  };
  if (error.retryAfterSeconds !== undefined) headers['retry-after'] = String(error.retryAfterSeconds);
  return headers;
}

/**
 * The error as the last piece of a stream that already started: one NDJSON line or one
 * SSE event. It is a frame of its own only if what was sent before it ends on a frame
 * boundary; the proxy keeps streams that way (proxy/whole-frames.ts).
 */
export function streamErrorChunk(
  dialect: ErrorDialect,
  framing: 'ndjson' | 'sse',
  error: CompanionError,
): string {
  const body = errorBody(dialect, error);
  if (framing === 'ndjson') return `${body}\n`;
  return dialect === 'anthropic' ? `event: error\ndata: ${body}\n\n` : `data: ${body}\n\n`;
}

/**
 * The one error type the companion throws on purpose. Each carries a stable `code`, the
 * HTTP status it maps to, and whether its message may be shown to the client. The error
 * responder turns it into the wire shape of the route that failed (Ollama, OpenAI,
 * Anthropic or admin); nothing else builds error bodies.
 */
export type ErrorCode =
  | 'bad_request'
  | 'payload_too_large'
  | 'unauthenticated'
  | 'forbidden_scope'
  | 'forbidden_model'
  | 'forbidden_origin'
  | 'token_disabled'
  | 'token_expired'
  | 'not_found'
  | 'method_not_allowed'
  | 'quota_exceeded'
  | 'rate_limited'
  | 'concurrency_limited'
  | 'upstream_unreachable'
  | 'upstream_timeout'
  | 'upstream_cut'
  | 'upstream_busy'
  | 'shutting_down'
  | 'store_unavailable'
  | 'conflict'
  | 'csrf_failed'
  | 'forbidden_role'
  | 'throttled'
  | 'setup_refused'
  | 'internal';

export interface CompanionErrorOptions {
  /** Seconds after which a retry can succeed; becomes `Retry-After`. */
  retryAfterSeconds?: number;
  /** Extra response headers (e.g. `WWW-Authenticate`). */
  headers?: Record<string, string>;
  cause?: unknown;
}

export class CompanionError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  /** False for 5xx internals: the client sees a generic message, the log keeps the detail. */
  readonly expose: boolean;
  readonly retryAfterSeconds: number | undefined;
  readonly headers: Record<string, string>;

  constructor(code: ErrorCode, status: number, message: string, options: CompanionErrorOptions = {}) {
    super(message, { cause: options.cause });
    this.name = 'CompanionError';
    this.code = code;
    this.status = status;
    this.expose =
      status < 500 ||
      code === 'upstream_unreachable' ||
      code === 'upstream_timeout' ||
      code === 'upstream_cut' ||
      code === 'upstream_busy' ||
      code === 'store_unavailable';
    this.retryAfterSeconds = options.retryAfterSeconds;
    this.headers = options.headers ?? {};
  }
}

export const badRequest = (message: string): CompanionError =>
  new CompanionError('bad_request', 400, message);

export const notFound = (message = 'not found'): CompanionError =>
  new CompanionError('not_found', 404, message);

/**
 * The one way the pages talk to the server: JSON over fetch, same origin only. State
 * changes carry the session's CSRF token in `x-csrf-token`; a 401 anywhere sends the
 * admin back to the sign-in page.
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly retryAfter: string | null = null,
  ) {
    super(message);
  }
}

export type Query = Record<string, string | number | null | undefined>;

/** `path?a=1&b=2`, leaving out empty values. */
export function withQuery(path: string, query: Query = {}): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined && value !== null && value !== '') params.set(key, String(value));
  }
  const text = params.toString();
  return text ? `${path}?${text}` : path;
}

async function errorFrom(response: Response): Promise<ApiError> {
  let code = `http_${response.status}`;
  let message = response.statusText || `request failed (${response.status})`;
  try {
    const body = (await response.json()) as { error?: unknown };
    const error = body.error;
    if (typeof error === 'string') message = error;
    else if (error && typeof error === 'object') {
      const { code: c, message: m } = error as { code?: unknown; message?: unknown };
      if (typeof c === 'string') code = c;
      if (typeof m === 'string') message = m;
    }
  } catch {
    // Not JSON: keep the status text.
  }
  return new ApiError(response.status, code, message, response.headers.get('retry-after'));
}

export async function requestJson<T>(
  method: string,
  path: string,
  options: { body?: unknown; headers?: Record<string, string> } = {},
): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json', ...options.headers };
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(path, {
    method,
    headers,
    credentials: 'same-origin',
    cache: 'no-store',
    ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
  });
  if (!response.ok) throw await errorFrom(response);
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  return (text ? JSON.parse(text) : undefined) as T;
}

/** Client for /admin/api/*, holding the CSRF token of the current session. */
export class AdminApi {
  csrfToken = '';
  onUnauthorized: () => void = () => {};

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = {};
    if (method !== 'GET' && method !== 'HEAD' && this.csrfToken) headers['x-csrf-token'] = this.csrfToken;
    try {
      return await requestJson<T>(method, `/admin/api${path}`, { body, headers });
    } catch (error) {
      if (error instanceof ApiError && error.status === 401 && !path.startsWith('/login'))
        this.onUnauthorized();
      throw error;
    }
  }

  get<T>(path: string, query?: Query): Promise<T> {
    return this.call<T>('GET', withQuery(path, query));
  }
  post<T>(path: string, body: unknown = {}): Promise<T> {
    return this.call<T>('POST', path, body);
  }
  patch<T>(path: string, body: unknown): Promise<T> {
    return this.call<T>('PATCH', path, body);
  }
  delete<T>(path: string): Promise<T> {
    return this.call<T>('DELETE', path);
  }
}

export const api = new AdminApi();

export function messageOf(error: unknown): string {
  if (error instanceof ApiError) {
    // The companion's own refusals say when to try again; only a bare 429 needs the header's figure.
    if (error.status === 429 && error.retryAfter && !/try again/.test(error.message))
      return `${error.message} (try again in ${error.retryAfter} s)`;
    return error.message;
  }
  return error instanceof Error ? error.message : String(error);
}

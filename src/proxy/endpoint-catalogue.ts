/**
 * Every Ollama endpoint the companion lets through, in one table: who may call it
 * (scope), where its model name is, which wire shape its errors take, and how its
 * answer is reassembled for history. A path not in this table is refused.
 */
import type { Scope } from '../policy/token.js';
import type { AnswerFormat } from './taps/answer-tap.js';

/** The error and framing dialect a route speaks. */
export type Wire = 'ollama' | 'openai' | 'anthropic';

/**
 * Where a route's model names are: the JSON body (`model`, or legacy `name`), a path
 * parameter, both ends of a copy, or a created model and the model it is built `from`.
 */
export type ModelSource = 'body' | 'param' | 'copy' | 'create' | 'none';

/** Model lists that are narrowed to what the token may use. */
export type ListFilter = 'ollama-models' | 'openai-models';

export interface Endpoint {
  method: 'GET' | 'HEAD' | 'POST' | 'DELETE';
  path: string;
  scope: Scope;
  wire: Wire;
  model: ModelSource;
  /** Whether a call counts against the token's call quotas (model runs do; listings do not). */
  countsAsCall: boolean;
  /** The value of `stream` when the request omits it. */
  streamDefault: boolean;
  answer: AnswerFormat;
  body: 'json' | 'none' | 'stream';
  /**
   * Ollama answers at once, without running a model or moving one (status, listings,
   * show, copy, delete, a blob check): such calls have their own few connections to
   * Ollama, so they never wait behind model runs.
   */
  quick: boolean;
  listFilter?: ListFilter;
  /** Answered without a token when the `publicStatus` setting is on. */
  statusEndpoint?: boolean;
}

type Row = Pick<Endpoint, 'method' | 'path' | 'scope'> & Partial<Endpoint>;

function ollama(row: Row): Endpoint {
  const endpoint = {
    wire: 'ollama' as const,
    model: 'none' as const,
    countsAsCall: false,
    streamDefault: false,
    answer: 'json' as const,
    body: row.method === 'POST' || row.method === 'DELETE' ? ('json' as const) : ('none' as const),
    ...row,
  };
  // Model runs count as calls; pulls, pushes and creates stream progress; uploads stream in.
  const quick = !endpoint.countsAsCall && !endpoint.streamDefault && endpoint.body !== 'stream';
  return { quick, ...endpoint };
}

function openai(row: Row): Endpoint {
  return ollama({ wire: 'openai', ...row });
}

export const ENDPOINTS: readonly Endpoint[] = [
  // Status: "Ollama is running" and the version.
  ollama({ method: 'GET', path: '/', scope: 'read', statusEndpoint: true }),
  ollama({ method: 'HEAD', path: '/', scope: 'read', statusEndpoint: true }),
  ollama({ method: 'GET', path: '/api/version', scope: 'read', statusEndpoint: true }),
  ollama({ method: 'HEAD', path: '/api/version', scope: 'read', statusEndpoint: true }),
  // Native inference and embeddings.
  ollama({
    method: 'POST',
    path: '/api/generate',
    scope: 'inference',
    model: 'body',
    countsAsCall: true,
    streamDefault: true,
    answer: 'ollama',
  }),
  ollama({
    method: 'POST',
    path: '/api/chat',
    scope: 'inference',
    model: 'body',
    countsAsCall: true,
    streamDefault: true,
    answer: 'ollama',
  }),
  ollama({
    method: 'POST',
    path: '/api/embed',
    scope: 'embeddings',
    model: 'body',
    countsAsCall: true,
    answer: 'ollama-embed',
  }),
  ollama({
    method: 'POST',
    path: '/api/embeddings',
    scope: 'embeddings',
    model: 'body',
    countsAsCall: true,
    answer: 'ollama-embed',
  }),
  // Listings, narrowed to the token's models.
  ollama({ method: 'GET', path: '/api/tags', scope: 'read', listFilter: 'ollama-models' }),
  ollama({ method: 'HEAD', path: '/api/tags', scope: 'read' }),
  ollama({ method: 'GET', path: '/api/ps', scope: 'read', listFilter: 'ollama-models' }),
  ollama({ method: 'POST', path: '/api/show', scope: 'show', model: 'body' }),
  // Model management: the endpoints behind most of Ollama's CVEs, only with `manage`.
  ollama({ method: 'POST', path: '/api/pull', scope: 'manage', model: 'body', streamDefault: true }),
  ollama({ method: 'POST', path: '/api/push', scope: 'manage', model: 'body', streamDefault: true }),
  ollama({ method: 'POST', path: '/api/create', scope: 'manage', model: 'create', streamDefault: true }),
  ollama({ method: 'POST', path: '/api/copy', scope: 'manage', model: 'copy' }),
  ollama({ method: 'DELETE', path: '/api/delete', scope: 'manage', model: 'body' }),
  ollama({ method: 'HEAD', path: '/api/blobs/:digest', scope: 'manage', body: 'none' }),
  ollama({ method: 'POST', path: '/api/blobs/:digest', scope: 'manage', body: 'stream' }),
  // OpenAI-compatible.
  openai({
    method: 'POST',
    path: '/v1/chat/completions',
    scope: 'inference',
    model: 'body',
    countsAsCall: true,
    answer: 'openai-chat',
  }),
  openai({
    method: 'POST',
    path: '/v1/completions',
    scope: 'inference',
    model: 'body',
    countsAsCall: true,
    answer: 'openai-completion',
  }),
  openai({
    method: 'POST',
    path: '/v1/responses',
    scope: 'inference',
    model: 'body',
    countsAsCall: true,
    answer: 'openai-responses',
  }),
  openai({
    method: 'POST',
    path: '/v1/embeddings',
    scope: 'embeddings',
    model: 'body',
    countsAsCall: true,
    answer: 'openai-embed',
  }),
  openai({ method: 'GET', path: '/v1/models', scope: 'read', listFilter: 'openai-models' }),
  openai({ method: 'GET', path: '/v1/models/:model', scope: 'read', model: 'param' }),
  // Anthropic-compatible.
  openai({
    method: 'POST',
    path: '/v1/messages',
    scope: 'inference',
    wire: 'anthropic',
    model: 'body',
    countsAsCall: true,
    answer: 'anthropic',
  }),
];

/** The wire shape for errors on a path that matched no endpoint. */
export function wireForPath(path: string): Wire {
  if (path.startsWith('/v1/messages')) return 'anthropic';
  return path.startsWith('/v1/') ? 'openai' : 'ollama';
}

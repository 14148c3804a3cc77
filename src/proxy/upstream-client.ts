/**
 * The connection pools to Ollama. Requests go out with only the headers Ollama needs —
 * never the client's credentials, cookies or Origin, nor a credential in the query
 * (forwarded-query.ts) — and with `Host` set to the upstream's own host, because Ollama
 * on loopback refuses foreign Host headers.
 *
 * Two pools: a few connections for quick calls (status, listings, show), which Ollama
 * answers at once, and the model-run pool, shared fairly among tokens by
 * `UpstreamSlots`. However long the model runs, a listing never waits behind them.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import { Agent, type Dispatcher } from 'undici';
import { CompanionError } from '../errors/companion-error.js';
import { forwardedPath } from './forwarded-query.js';
import { type SlotLimits, UpstreamSlots } from './upstream-slots.js';

/** Connections for quick calls: Ollama answers each at once, so a few carry them all. */
const QUICK_CONNECTIONS = 16;

/** Ollama's own answer when its queue is full; clients already know to retry on it. */
const BUSY_MESSAGE = 'server busy, please try again.  maximum pending requests exceeded';
const BUSY_RETRY_SECONDS = 5;

/** Request headers passed on to Ollama; everything else stays with the companion. */
const FORWARDED_REQUEST_HEADERS = [
  'content-type',
  'accept',
  'user-agent',
  'anthropic-version',
  'anthropic-beta',
];

/** Response headers that describe one hop, or that the companion answers itself (CORS). */
const DROPPED_RESPONSE_HEADERS = new Set([
  'connection',
  'keep-alive',
  'transfer-encoding',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'upgrade',
  'access-control-allow-origin',
  'access-control-allow-credentials',
  'access-control-allow-headers',
  'access-control-allow-methods',
  'access-control-expose-headers',
  'access-control-max-age',
  'vary',
]);

/** Ollama's answer head: its status line's headers, minus the dropped ones. */
export interface UpstreamHead {
  contentType: string | undefined;
  /** Name/value pairs, flat (`[name, value, name, value, …]`), names lower-cased. */
  fields: string[];
}

function upstreamHead(raw: Buffer[]): UpstreamHead {
  const fields: string[] = [];
  let contentType: string | undefined;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!.toString('latin1').toLowerCase();
    if (DROPPED_RESPONSE_HEADERS.has(name)) continue;
    const value = raw[i + 1]!.toString('latin1');
    if (name === 'content-type') contentType = value;
    fields.push(name, value);
  }
  return { contentType, fields };
}

export interface UpstreamSink {
  /** Status and headers arrived; the body follows. */
  onStart(status: number, head: UpstreamHead): void;
  /** A body chunk; return false to pause until `resume` is called. */
  onData(chunk: Buffer, resume: () => void): boolean;
  onEnd(): void;
  /** The connection failed or was cut, before or after `onStart`. */
  onError(error: Error): void;
}

export interface UpstreamRequest {
  method: string;
  /** Path and query as the client sent them; credentials in the query are taken out here. */
  path: string;
  /** The token the client presented (header or path prefix), so a query carrying it is cleaned. */
  presentedToken?: () => string | undefined;
  clientHeaders: IncomingHttpHeaders;
  body: Buffer | Readable | null;
  /** A quick call (see the endpoint catalogue): it goes through the quick pool. */
  quick: boolean;
  /** Who a model-run connection is held for (the token's id), for its fair share. */
  holder: string;
}

/** The model-run pool's size, a token's share of it, and how long a request may wait. */
export type PoolLimits = SlotLimits;

export interface UpstreamCall {
  /** Cuts the upstream request (the client went away). */
  abort(reason: Error): void;
}

const noToken = (): undefined => undefined;

export class UpstreamClient {
  private readonly quickAgent: Agent;
  private readonly modelAgent: Agent;
  private readonly slots: UpstreamSlots;
  private readonly host: string;

  constructor(
    readonly origin: string,
    timeoutMs: number,
    limits: PoolLimits,
  ) {
    this.host = new URL(origin).host;
    const agent = (connections: number) =>
      new Agent({
        keepAliveTimeout: 30_000,
        keepAliveMaxTimeout: 600_000,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
        connections,
      });
    this.quickAgent = agent(QUICK_CONNECTIONS);
    this.modelAgent = agent(limits.capacity);
    this.slots = new UpstreamSlots(limits);
  }

  /** The pool quick calls go through; the health check's probe shares its connections. */
  get quickPool(): Dispatcher {
    return this.quickAgent;
  }

  /**
   * Sends a request: a quick call at once, a model run when a slot of the model-run
   * pool is free to its holder. One that waits longer than the pool's wait limit fails
   * through `sink.onError` with a 503 CompanionError in Ollama's "server busy" words.
   */
  send(request: UpstreamRequest, sink: UpstreamSink): UpstreamCall {
    if (request.quick) return this.dispatch(this.quickAgent, request, sink, () => {});
    let call: UpstreamCall | undefined;
    const cancel = this.slots.acquire(
      request.holder,
      (release) => {
        call = this.dispatch(this.modelAgent, request, sink, release);
      },
      () =>
        sink.onError(
          new CompanionError('upstream_busy', 503, BUSY_MESSAGE, { retryAfterSeconds: BUSY_RETRY_SECONDS }),
        ),
    );
    return {
      abort(reason) {
        if (call) {
          call.abort(reason);
          return;
        }
        // Still waiting for a slot: nothing was sent, the request just leaves the queue.
        cancel();
        sink.onError(reason);
      },
    };
  }

  private dispatch(
    agent: Agent,
    request: UpstreamRequest,
    sink: UpstreamSink,
    release: () => void,
  ): UpstreamCall {
    const headers: Record<string, string> = { host: this.host };
    for (const name of FORWARDED_REQUEST_HEADERS) {
      const value = request.clientHeaders[name];
      if (typeof value === 'string') headers[name] = value;
    }
    // undici's own handler interface (raw header bytes, resume callback): the newer
    // controller-style interface goes through an adapter that costs a header parse and
    // two extra calls per chunk on the hot path.
    let abortUpstream: ((reason: Error) => void) | undefined;
    let pendingAbort: Error | undefined;
    let resumeUpstream: () => void = () => {};
    const handler: Dispatcher.DispatchHandler = {
      onConnect(abort) {
        abortUpstream = abort;
        if (pendingAbort) abort(pendingAbort);
      },
      onHeaders(status, rawHeaders, resume) {
        if (status < 200) return true; // 1xx informational
        resumeUpstream = resume;
        sink.onStart(status, upstreamHead(rawHeaders));
        return true;
      },
      onData(chunk) {
        return sink.onData(chunk, resumeUpstream);
      },
      onComplete() {
        release();
        sink.onEnd();
      },
      onError(error) {
        release();
        sink.onError(error);
      },
    };
    agent.dispatch(
      {
        origin: this.origin,
        method: request.method as Dispatcher.HttpMethod,
        path: forwardedPath(request.path, request.presentedToken ?? noToken),
        headers,
        body: request.body,
      },
      handler,
    );
    return {
      abort(reason) {
        if (abortUpstream) abortUpstream(reason);
        else pendingAbort = reason;
      },
    };
  }

  /** Model-run slots held and requests waiting for one. */
  get usage(): { inUse: number; waiting: number } {
    return this.slots.usage;
  }

  async close(): Promise<void> {
    await Promise.all([this.quickAgent.close(), this.modelAgent.close()]);
  }
}
